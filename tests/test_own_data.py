"""Your own data, as a new user has it: scikit-learn's bundled public data sets (iris, wine,
diabetes, breast cancer) written out at test time as the untidy files people have — an id column,
reordered columns, `;`, a byte-order mark, missing cells, a text feature, an integer regression
target, string labels in pandas — each judged by the model's accuracy or R², not only that it ran."""

import csv
import inspect
import io
import warnings

import numpy as np
import pytest

import reseau
from reseau import datasets
from reseau.cli import build_parser, main
from reseau.core import targets
from reseau.core.defaults import DEFAULTS

sk_datasets = pytest.importorskip(
    "sklearn.datasets", reason="scikit-learn is not installed (pip install 'reseau[sklearn]')"
)
pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install 'reseau[test]')")


def _iris_frame(seed=0):
    """Iris with string species, an id column, a text feature that carries signal and 6 empty cells."""
    d = sk_datasets.load_iris(as_frame=True)
    df = d.frame.drop(columns="target")
    df.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    df["species"] = np.asarray(d.target_names)[d.target]
    df["size"] = np.where(df["petal_length"] > 4.8, "large", np.where(df["petal_length"] > 2.5, "medium", "small"))
    df.insert(0, "id", [f"p{k:03d}" for k in range(len(df))])
    g = np.random.default_rng(seed)
    for col in ("sepal_length", "sepal_width", "petal_width"):
        df.loc[g.choice(len(df), 2, replace=False), col] = np.nan
    return df


def _write_untidy(df, path, sep=";", bom=True):
    text = df.to_csv(index=False, sep=sep, na_rep="", lineterminator="\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def _accuracy(predicted, truth):
    return float(np.mean(np.asarray(predicted) == np.asarray(truth)))


# ---- the Python API on pandas tables --------------------------------------------------------


def test_pandas_iris_with_string_labels_text_feature_and_missing_cells():
    df = _iris_frame()
    train, test = df.iloc[::2], df.iloc[1::2]
    X, y = train.drop(columns=["id", "species"]), train["species"]
    model = reseau.MLP([None, 16, None], seed=0)
    with pytest.warns(reseau.DataWarning, match=r"imputed \d+ missing cells? of the training rows in \d+ columns?"):
        model.fit(X, y, epochs=200, optimizer="adam", lr=0.01)
    assert model.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width", "size"]
    assert model.classes == ["setosa", "versicolor", "virginica"] and model.sizes == [7, 16, 3]
    Xt = test.drop(columns=["id", "species"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reseau.DataWarning)
        predicted = model.predict(Xt)
        assert predicted.dtype.kind == "U" and set(predicted) <= set(model.classes)
        assert _accuracy(predicted, test["species"]) >= 0.9
        # columns matched by name: any order gives the same predictions
        np.testing.assert_array_equal(model.predict(Xt[Xt.columns[::-1]]), predicted)
        assert model.evaluate(Xt, test["species"])["accuracy"] == pytest.approx(_accuracy(predicted, test["species"]))
    assert "one-hot (size: 3)" in model.summary() and "classes: 'setosa'" in model.summary()


def test_columns_are_matched_by_name_missing_and_extra_ones_named():
    df = _iris_frame()
    X, y = df.drop(columns=["id", "species"]), df["species"]
    model = reseau.MLP([None, 8, None], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reseau.DataWarning)
        model.fit(X, y, epochs=2)
        with pytest.raises(ValueError, match=r"X has no column 'petal_width'; the model was fitted on columns"):
            model.predict(X.drop(columns="petal_width"))
    with pytest.warns(reseau.DataWarning, match=r"ignoring column 'id'"):
        model.predict(df.drop(columns="species"))
    with pytest.raises(ValueError, match=r"X has 4 features \(columns\) but the model's input has 5"):
        model.predict(np.zeros((3, 4)))


def test_unseen_categories_are_zeros_with_a_warning_or_an_error():
    df = _iris_frame().dropna()
    X, y = df.drop(columns=["id", "species"]), df["species"]
    new = X.iloc[:4].copy()
    new["size"] = ["huge", "small", "huge", "medium"]
    lenient = reseau.MLP([None, 8, None], seed=0)
    lenient.fit(X, y, epochs=3)
    with pytest.warns(reseau.DataWarning, match=r"2 cells of size held categories not seen in training"):
        lenient.predict(new)
    strict = reseau.MLP([None, 8, None], handle_unknown="error", seed=0)
    strict.fit(X, y, epochs=3)
    with pytest.raises(ValueError, match=r"column 'size', row 0: category 'huge' was not seen in training"):
        strict.predict(new)


def test_impute_none_refuses_missing_cells_precisely():
    df = _iris_frame()
    model = reseau.MLP([None, 8, None], impute=None, seed=0)
    with pytest.raises(ValueError, match=r"X column 'sepal_length', row \d+: missing value"):
        model.fit(df.drop(columns=["id", "species"]), df["species"], epochs=1)
    assert model.columns is None and model.layout is None  # nothing changed


def test_imputation_uses_training_medians_on_arrays_too():
    X = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0], [4.0, 40.0]])
    model = reseau.MLP([2, 3, 1], normalize=None, dtype="float64", seed=0)
    with pytest.warns(reseau.DataWarning, match=r"imputed 1 missing cell of the training rows in 1 column \(x1\)"):
        model.fit(X, [0, 1, 0, 1], epochs=1)
    assert model.columns.fill == [2.5, 30.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the filling the model was trained to do: no note at each predict
        filled = model.predict_proba(np.array([[2.0, np.nan]]))
    np.testing.assert_allclose(filled, model.predict_proba(np.array([[2.0, 30.0]])))


def test_text_in_a_plain_array_is_one_hot_encoded():
    X = np.array([["red", 1.0], ["green", 2.0], ["red", 3.0], ["blue", 4.0]], dtype=object)
    model = reseau.MLP([None, 4, 1], normalize=None, dtype="float64", seed=0)
    model.fit(X, [1, 0, 1, 0], epochs=1)
    assert model.sizes[0] == 4 and model.columns.categories[0] == ["blue", "green", "red"]
    np.testing.assert_array_equal(model.columns.transform(X[:2]), [[0, 0, 1, 1.0], [0, 1, 0, 2.0]])


def test_arrow_tables_and_boolean_targets():
    pa = pytest.importorskip("pyarrow", reason="pyarrow is not installed")
    d = sk_datasets.load_breast_cancer()
    table = pa.table({name: d.data[:, j] for j, name in enumerate(d.feature_names)})
    y = d.target.astype(bool)
    model = reseau.MLP([None, 16, None], seed=0)
    model.fit(table, y, epochs=60)
    predicted = model.predict(table)
    assert predicted.dtype == bool and model.classes == [False, True]
    assert _accuracy(predicted, y) >= 0.95


def test_polars_frames_through_arrow():
    pl = pytest.importorskip("polars", reason="polars is not installed")
    df = _iris_frame().dropna()
    X = pl.from_pandas(df.drop(columns=["id", "species"]))
    model = reseau.MLP([None, 16, None], seed=0)
    model.fit(X, pl.Series(df["species"].tolist()), epochs=100, optimizer="adam", lr=0.02)
    assert model.feature_names == list(X.columns)
    assert _accuracy(model.predict(X), df["species"]) >= 0.9


def test_a_model_file_keeps_names_plan_and_labels(tmp_path):
    df = _iris_frame().dropna()
    X, y = df.drop(columns=["id", "species"]), df["species"]
    model = reseau.MLP([None, 8, None], seed=0)
    model.fit(X, y, epochs=20)
    model.save(tmp_path / "iris.model")
    loaded = reseau.load(tmp_path / "iris.model")
    assert loaded.feature_names == model.feature_names and loaded.classes == model.classes
    np.testing.assert_array_equal(loaded.predict(X[X.columns[::-1]]), model.predict(X))


# ---- targets decided right ------------------------------------------------------------------


def test_the_target_rule():
    diabetes = sk_datasets.load_diabetes(scaled=False).target.astype(int)
    assert len(np.unique(diabetes)) > 200 and targets.task(diabetes) == "regress"
    assert targets.task(sk_datasets.load_digits().target) == "classify"
    assert targets.task(np.array(["a", "b"])) == "classify" and targets.task(np.array([True, False])) == "classify"
    assert targets.task(np.array([0.5, 1.0])) == "regress"
    assert targets.task(diabetes, "classify") == "classify"
    with pytest.raises(ValueError, match="task='regress' needs numeric targets"):
        targets.task(np.array(["a", "b"]), "regress")


def test_one_table_of_defaults():
    signature = inspect.signature(reseau.MLP)
    for name in ("hidden", "init", "normalize", "impute", "handle_unknown", "dtype", "seed"):
        assert signature.parameters[name].default == DEFAULTS[name], name
    fit = inspect.signature(reseau.MLP.fit)
    assert fit.parameters["epochs"].default == DEFAULTS["epochs"]
    assert fit.parameters["batch_size"].default == DEFAULTS["batch_size"]
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    from reseau.cli import TRAIN_OPTIONS

    for name in ("hidden", "normalize", "impute", "optimizer", "lr", "epochs", "batch_size", "dtype", "seed"):
        option = "activation" if name == "hidden" else name
        assert TRAIN_OPTIONS[option][1] == DEFAULTS[name], name
    assert TRAIN_OPTIONS["layers"][1] == list(DEFAULTS["hidden_layers"])
    assert train is not None
    # the API's plain fit uses the same learning rate as the CLI
    model = reseau.MLP([2, 2, 1])
    model.fit(np.array([[0.0, 1.0], [1.0, 0.0]]), [0, 1], epochs=1)
    assert model.optimizer.lr == DEFAULTS["lr"]


# ---- the command line on untidy files -------------------------------------------------------


def _cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_trains_on_an_untidy_iris_file_and_predicts_by_name(tmp_path, capsys):
    path = _write_untidy(_iris_frame(), tmp_path / "iris.csv")
    code, out, err = _cli(
        capsys,
        "train",
        "--data",
        str(path),
        "--target",
        "species",
        "--drop",
        "id",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--epochs",
        "150",
        "--save",
        str(tmp_path / "m"),
        "--quiet",
    )
    assert code == 0, err
    assert "5 columns, 3 classes" in out and "one-hot (size: 3)" in out
    assert "reseau: note: imputed" in err
    assert float(out.split("test accuracy ")[1].split()[0]) >= 0.9
    # the same file, columns reordered, target and id still there: predictions by name, id carried
    df = _iris_frame()
    shuffled = df[["species", "petal_width", "size", "id", "sepal_width", "petal_length", "sepal_length"]]
    _write_untidy(shuffled, tmp_path / "new.csv", sep=",", bom=False)
    _write_untidy(df, tmp_path / "same.csv")
    outputs = []
    for name in ("new.csv", "same.csv"):
        code, _, err = _cli(
            capsys,
            "predict",
            str(tmp_path / "m"),
            str(tmp_path / name),
            "--drop",
            "species",
            "--keep",
            "id",
            "-o",
            str(tmp_path / f"{name}.out"),
        )
        assert code == 0, err
        outputs.append(list(csv.reader(open(tmp_path / f"{name}.out"))))
    assert outputs[0] == outputs[1] and outputs[0][0] == ["id", "prediction"]
    assert [r[0] for r in outputs[0][1:]] == list(df["id"])
    assert _accuracy([r[1] for r in outputs[0][1:]], df["species"]) >= 0.9
    # and in Python the CLI's model predicts the labels, not class indices
    loaded = reseau.load(tmp_path / "m")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reseau.DataWarning)
        assert set(loaded.predict(df.drop(columns=["id", "species"]))) <= {"setosa", "versicolor", "virginica"}
    code, out, _ = _cli(
        capsys, "evaluate", str(tmp_path / "m"), "--data", str(path), "--target", "species", "--drop", "id"
    )
    assert code == 0 and float(out.split("accuracy ")[1].split(",")[0]) >= 0.9


def test_cli_integer_target_with_many_values_is_a_regression(tmp_path, capsys):
    d = sk_datasets.load_diabetes(as_frame=True, scaled=False)
    df = d.frame.copy()
    df["target"] = df["target"].astype(int)
    df.insert(0, "patient", range(1000, 1000 + len(df)))
    df.to_csv(tmp_path / "diabetes.csv", index=False, sep="\t")
    args = ("train", "--data", str(tmp_path / "diabetes.csv"), "--drop", "patient")
    code, out, err = _cli(capsys, *args, "--quiet")  # the defaults: targets standardised for training
    assert code == 0, err
    assert "output identity" in out
    assert float(out.split(", r2 ")[1].split(",")[0]) >= 0.4
    code, out, err = _cli(capsys, *args, "--epochs", "2", "--output", "identity", "--quiet")
    assert code == 0 and "output identity" in out
    code, out, err = _cli(capsys, *args, "--epochs", "2", "--task", "classify", "--quiet")
    assert code == 2 and "a quantity? give --task regress (or --max-classes" in err  # 214 classes in 442 rows
    code, out, err = _cli(capsys, *args, "--epochs", "2", "--task", "classify", "--max-classes", "300", "--quiet")
    assert code == 0 and "output softmax" in out


def test_cli_wine_with_text_labels_missing_cells_and_no_header(tmp_path, capsys):
    d = sk_datasets.load_wine()
    X = d.data.copy()
    X[
        np.random.default_rng(0).choice(X.size, 20, replace=False) // X.shape[1],
        np.random.default_rng(1).choice(X.shape[1], 20),
    ] = np.nan
    rows = [[("" if np.isnan(v) else repr(float(v))) for v in x] + [f"cultivar_{c}"] for x, c in zip(X, d.target)]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="|").writerows(rows)
    (tmp_path / "wine.txt").write_text(buffer.getvalue())
    code, out, err = _cli(capsys, "train", "--data", str(tmp_path / "wine.txt"), "--epochs", "100", "--quiet")
    assert code == 0, err
    assert "13 columns, 3 classes" in out
    assert float(out.split("test accuracy ")[1].split()[0]) >= 0.9
    code, out, err = _cli(capsys, "train", "--data", str(tmp_path / "wine.txt"), "--impute", "none", "--quiet")
    assert code == 2 and "missing value" in err


def test_cli_validation_part_is_not_the_test_part(capsys):
    code, out, _ = _cli(capsys, "train", "--epochs", "2")
    assert code == 0
    assert "399 training, 57 validation and 113 test examples" in out


def test_cli_options_are_never_abbreviated(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--drop"])
    with pytest.raises(SystemExit):
        main(["train", "--dropo", "0.1"])
    assert "unrecognized arguments: --dropo" in capsys.readouterr().err


def test_a_first_row_of_numbers_is_data_not_a_header(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text("1e400,2,0\n3,4,1\n5,6,0\n")
    with pytest.raises(ValueError, match=r"noheader\.csv, line 1, column 'x0': '1e400' is not a finite number"):
        datasets.load_file(path)
    path.write_text("1e30,2,0\n3,4,1\n5,6,0\n")
    assert datasets.load_file(path).X.shape == (3, 2)


def test_parquet_and_feather(tmp_path):
    pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed")
    df = _iris_frame().dropna()
    df.to_parquet(tmp_path / "iris.parquet")
    df.to_feather(tmp_path / "iris.feather")
    for name in ("iris.parquet", "iris.feather"):
        d = datasets.load_file(tmp_path / name, target="species", drop=["id"])
        assert d.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width", "size"]
        labels = np.asarray(d.target_names)[d.y]
        assert list(labels) == list(df["species"])
        model = reseau.MLP([None, 16, None], seed=0)
        model.fit(d.table, labels, epochs=100, optimizer="adam", lr=0.02)
        assert _accuracy(model.predict(d.table), labels) >= 0.9


# ---- CSV dialects round-trip through the reader (property-based) ----------------------------

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install 'reseau[test]')")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

WORDS = st.text(alphabet="abcdefgh xyz,;|\"'é", min_size=1, max_size=6).filter(
    lambda w: (
        w.strip()
        and w.strip().lower() not in datasets.readers.MISSING
        and not w[0].isspace()
        and not w[-1].isspace()
        and w.strip() == w
    )
)
NUMBERS = st.floats(-1e6, 1e6, allow_nan=False, width=64).map(lambda v: round(v, 3))


@st.composite
def dialect_tables(draw):
    n_rows = draw(st.integers(2, 12))
    kinds = draw(st.lists(st.sampled_from(["number", "word"]), min_size=2, max_size=5))
    kinds[0] = "number"  # a numeric column under a text header makes the header detectable
    names = draw(
        st.lists(st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=len(kinds), max_size=len(kinds), unique=True)
    )
    cols = [draw(st.lists(NUMBERS if k == "number" else WORDS, min_size=n_rows, max_size=n_rows)) for k in kinds]
    return names, kinds, cols


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    table=dialect_tables(),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    bom=st.booleans(),
    crlf=st.booleans(),
    quote_all=st.booleans(),
)
def test_csv_dialects_round_trip(tmp_path, table, delimiter, bom, crlf, quote_all):
    names, kinds, cols = table
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        lineterminator="\r\n" if crlf else "\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(names)
    writer.writerows(zip(*cols))
    path = tmp_path / "dialect.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode())
    read = datasets.read_table(path)
    assert read.column_names == names
    for name, kind, col in zip(names, kinds, cols):
        values = read.column(name).to_pylist()
        if kind == "number":
            np.testing.assert_allclose(np.asarray(values, dtype=float), col, rtol=1e-12)
        elif all(_number_like(w) for w in col):
            np.testing.assert_allclose(np.asarray(values, dtype=float), np.asarray(col, dtype=float))
        else:
            assert [str(v) for v in values] == col


def _number_like(text):
    try:
        float(text)
        return True
    except ValueError:
        return False
