"""Public data written at test time as the files people export from Excel, pandas, R and European
spreadsheets, read by reseau as a new user would (the Python API and the CLI, defaults), each model
judged against what pandas + scikit-learn get from the same file (accuracy or R² on held-out rows).

Shapes: ``;`` with decimal commas; ``$5,100.00``, ``35%``, ``1,400``; cp1252 and UTF-16 text; a date
column dropped at train; pandas' position names (``0,1,2,3,species``); pandas' index column; Excel's
trailing empty columns; a headerless file to predict; 0/1 Series, 0.0/1.0 floats and booleans as
targets; labels differing in case and spaces; a name column; a category column of integer codes;
a first row beyond any sample, 100,000 columns, a bad byte on the last line.
"""

import csv
import warnings

import numpy as np
import pytest

import reseau
from reseau import datasets
from reseau.cli import main

sk_datasets = pytest.importorskip(
    "sklearn.datasets", reason="scikit-learn is not installed (pip install 'reseau[sklearn]')"
)
pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install 'reseau[test]')")
from sklearn.compose import make_column_transformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402


def _wine(label_text=True):
    d = sk_datasets.load_wine(as_frame=True)
    df = d.frame.copy()
    if label_text:
        df["target"] = np.asarray(d.target_names)[d.target]
    return df


def _sklearn_accuracy(X, y, train, test):
    """What scikit-learn gets from the same table: imputer + scaler + one-hot, logistic regression."""
    numbers = X.select_dtypes("number").columns.tolist()
    others = [c for c in X.columns if c not in numbers]
    prep = make_column_transformer(
        (make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        (OneHotEncoder(handle_unknown="ignore"), others),
    )
    model = make_pipeline(prep, LogisticRegression(max_iter=2000)).fit(X.iloc[train], y.iloc[train])
    return float(np.mean(model.predict(X.iloc[test]) == y.iloc[test].to_numpy()))


def _split(n, seed=0):
    order = np.random.default_rng(seed).permutation(n)
    return order[: int(0.7 * n)], order[int(0.7 * n) :]


def _reseau_accuracy(X, y, train, test, **fit):
    model = reseau.MLP([None, 16, None], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reseau.DataWarning)
        model.fit(X.iloc[train], np.asarray(y)[train], epochs=fit.pop("epochs", 150), optimizer="adam", lr=0.01, **fit)
        predicted = model.predict(X.iloc[test])
    return model, float(np.mean(predicted == np.asarray(y)[test]))


def _notes(record):
    return [str(w.message) for w in record if issubclass(w.category, reseau.DataWarning)]


# ---- numbers as people write them --------------------------------------------------------------


def test_european_numbers_read_as_numbers_and_the_model_matches_scikit_learn(tmp_path):
    df = _wine()
    path = tmp_path / "wine_eu.csv"
    path.write_text(df.to_csv(index=False, sep=";", decimal=","), encoding="utf-8")
    with pytest.warns(reseau.DataWarning, match=r"numbers read with a decimal comma \(14,23 as 14\.23\)"):
        d = datasets.load_file(path, target="target")
    assert d.X.shape == (178, 13) and d.X.dtype == np.float64  # 13 numbers, not 877 one-hot inputs
    np.testing.assert_allclose(d.X, df.drop(columns="target").to_numpy())
    reference = pd.read_csv(path, sep=";", decimal=",")
    train, test = _split(len(df))
    X = reference.drop(columns="target")
    ours = _reseau_accuracy(X, reference["target"], train, test)[1]
    assert ours >= 0.9 and ours >= _sklearn_accuracy(X, reference["target"], train, test) - 0.05
    # given rather than detected, and the other way round
    assert datasets.load_file(path, target="target", decimal=",").X.shape == (178, 13)
    assert datasets.read_table(path, decimal=".").column("alcohol").type == "string"


def test_european_thousands_and_currency_in_a_semicolon_file(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("item;price;share\na;1.234,50 €;12,5%\nb;99,00 €;7%\nc;12.000,00 €;80,5%\n", encoding="utf-8")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        table = datasets.read_table(path)
    assert table.column("price").to_pylist() == [1234.5, 99.0, 12000.0]
    assert table.column("share").to_pylist() == pytest.approx([0.125, 0.07, 0.805])
    assert any("column 'price': read '1.234,50 €' as 1234.5" in n for n in _notes(record))


def _shop(n=600, seed=0):
    g = np.random.default_rng(seed)
    price, rate, qty = g.uniform(100, 9000, n), g.uniform(0, 1, n), g.integers(500, 5000, n)
    buy = price / 9000 + rate - qty / 10000 + g.normal(0, 0.1, n) > 0.75
    return pd.DataFrame(
        {
            "price": [f"${p:,.2f}" for p in price],
            "rate": [f"{r * 100:.0f}%" for r in rate],
            "qty": [f"{q:,}" for q in qty],
            "buy": np.where(buy, "yes", "no"),
        }
    )


def test_currency_percent_and_thousands_read_as_numbers_said_once_per_column(tmp_path):
    df = _shop()
    path = tmp_path / "shop.csv"
    df.to_csv(path, index=False)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        d = datasets.load_file(path, target="buy")
    notes = _notes(record)
    assert len(notes) == 3 and any(f"column 'price': read {df.price[0]!r} as" in n for n in notes)
    assert d.X.shape == (600, 3) and d.X.dtype == np.float64
    assert d.X[0, 1] == pytest.approx(int(df.rate[0][:-1]) / 100)
    # pandas needs to be told: thousands=",", then the symbols stripped by hand
    reference = pd.read_csv(path, thousands=",")
    reference["price"] = reference["price"].str.lstrip("$").str.replace(",", "").astype(float)
    reference["rate"] = reference["rate"].str.rstrip("%").astype(float) / 100
    np.testing.assert_allclose(d.X, reference.drop(columns="buy").to_numpy())
    train, test = _split(len(df))
    X = pd.DataFrame(d.X, columns=d.feature_names)
    ours = _reseau_accuracy(X, reference["buy"], train, test)[1]
    assert ours >= _sklearn_accuracy(reference.drop(columns="buy"), reference["buy"], train, test) - 0.05


def test_a_column_of_numbers_with_a_stray_word_is_an_error_naming_line_column_and_cell(tmp_path):
    df = _shop(300)
    df.loc[137, "price"] = "call us"
    path = tmp_path / "shop.csv"
    df.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"shop\.csv, line 139, column 'price': 'call us' is not a number"):
        datasets.load_file(path, target="buy")
    assert main(["train", "--data", str(path), "--target", "buy", "--quiet"]) == 2


def test_missing_markers_still_read_as_missing_beside_decorated_numbers(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('price,y\n"$1,200.00",0\nNA,1\n?,0\n"$30.00",1\n', encoding="utf-8")
    with pytest.warns(reseau.DataWarning):
        assert datasets.read_table(path).column("price").to_pylist() == [1200.0, None, None, 30.0]


# ---- encodings --------------------------------------------------------------------------------


def test_a_cp1252_file_names_the_line_and_the_option_that_reads_it(tmp_path, capsys):
    df = _wine()
    df["region"] = np.where(df.index % 2, "Côte", "Rhône")
    path = tmp_path / "wine.csv"
    df.to_csv(path, index=False, encoding="cp1252")
    with pytest.raises(
        ValueError,
        match=r"wine\.csv, line 2: not valid UTF-8 text; it reads as cp1252 "
        r"\(.*Rhône.*\): give encoding='cp1252' \(--encoding cp1252",
    ):
        datasets.load_file(path, target="target")
    d = datasets.load_file(path, target="target", encoding="cp1252")
    assert set(d.table.column("region").to_pylist()) == {"Côte", "Rhône"}
    assert main(["train", "--data", str(path), "--target", "target", "--quiet"]) == 2
    assert "--encoding cp1252" in capsys.readouterr().err
    model = tmp_path / "m.reseau"
    assert (
        main(
            [
                "train",
                "--data",
                str(path),
                "--target",
                "target",
                "--quiet",
                "--encoding",
                "cp1252",
                "--save",
                str(model),
            ]
        )
        == 0
    )
    assert "test accuracy" in capsys.readouterr().out
    out = tmp_path / "p.csv"
    assert (
        main(["predict", str(model), str(path), "--encoding", "cp1252", "--drop", "target", "--output", str(out)]) == 0
    )
    assert main(["evaluate", str(model), "--data", str(path), "--target", "target", "--encoding", "cp1252"]) == 0
    assert np.mean(pd.read_csv(out)["prediction"].to_numpy() == df["target"].to_numpy()) >= 0.9
    with pytest.raises(ValueError, match=r"encoding='klingon' is not a known text encoding"):
        datasets.read_table(path, encoding="klingon")


def test_a_bad_byte_on_the_last_line_is_named_whatever_the_file_size(tmp_path):
    lines = ["a,b,c"] + [f"{i},{i * 2},x{i % 3}" for i in range(20000)]
    lines[-1] = lines[-1][:-2] + "café"
    path = tmp_path / "late.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(ValueError, match=r"late\.csv, line 20001: not valid UTF-8 text.*encoding='cp1252'"):
        datasets.read_table(path)
    assert datasets.read_table(path, encoding="latin-1").column("c").to_pylist()[-1] == "café"


def test_excel_unicode_text_utf16_with_tabs_is_read(tmp_path):
    df = _wine()
    path = tmp_path / "wine.txt"
    path.write_bytes(df.to_csv(index=False, sep="\t").encode("utf-16"))  # what Excel's "Unicode Text" writes
    d = datasets.load_file(path, target="target")
    assert d.X.shape == (178, 13)
    np.testing.assert_allclose(d.X, df.drop(columns="target").to_numpy())


# ---- headers and columns ----------------------------------------------------------------------


def test_pandas_position_names_are_a_header(tmp_path, capsys):
    iris = sk_datasets.load_iris()
    frame = pd.DataFrame(iris.data)
    frame["species"] = np.asarray(iris.target_names)[iris.target]
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)  # 0,1,2,3,species
    d = datasets.load_file(path, target="species")
    assert d.feature_names == ["0", "1", "2", "3"] and d.target_names == list(iris.target_names)
    # 300 epochs: at the default 100, iris's 105 training rows make 400 Adam steps on a cosine schedule,
    # too few (0.867 against scikit-learn's 0.978; a known weakness of epoch-counted defaults on tiny tables)
    assert main(["train", "--data", str(path), "--target", "species", "--quiet", "--epochs", "300"]) == 0
    accuracy = float(capsys.readouterr().out.split("test accuracy ")[1].split()[0])
    reference = pd.read_csv(path)
    train, test = _split(150)
    assert accuracy >= _sklearn_accuracy(reference.drop(columns="species"), reference["species"], train, test) - 0.1
    # all numbers, the position names above them: a header too; a first data row is not
    pd.DataFrame(iris.data).to_csv(tmp_path / "n.csv", index=False)
    assert datasets.read_table(tmp_path / "n.csv").num_rows == 150
    np.savetxt(tmp_path / "plain.csv", iris.data, delimiter=",", fmt="%g")
    assert datasets.read_table(tmp_path / "plain.csv").num_rows == 150


def test_pandas_index_column_is_dropped_with_a_note_and_new_rows_predicted_well(tmp_path):
    df = _wine()
    train, test = _split(len(df), seed=1)
    df.iloc[train].reset_index(drop=True).to_csv(tmp_path / "train.csv")  # the index, header cell empty
    df.iloc[test].to_csv(tmp_path / "test.csv")  # the index of the rows a split left
    with pytest.warns(reseau.DataWarning, match=r"dropped the first column, a row index \(0\.\.123, no name\)"):
        d = datasets.load_file(tmp_path / "train.csv", target="target")
    assert d.feature_names == list(df.columns[:-1])
    model = reseau.MLP([None, 16, None], seed=0)
    model.fit(d.table, d.labels, epochs=150, optimizer="adam", lr=0.01)
    # the test file's index holds what the split left: dropped, not a feature
    with pytest.warns(reseau.DataWarning, match=r"a row index \(distinct integers, no name\)"):
        new = datasets.load_file(tmp_path / "test.csv", target="target")
    assert float(np.mean(model.predict(new.table) == new.labels)) >= 0.9
    # R's write.csv: quoted row names 1..n under an empty name
    pd.read_csv(tmp_path / "train.csv", index_col=0).set_axis(range(1, 125)).to_csv(tmp_path / "r.csv")
    with pytest.warns(reseau.DataWarning, match=r"a row index \(1\.\.124, no name\)"):
        assert datasets.load_file(tmp_path / "r.csv", target="target").X.shape == (124, 13)


def test_excel_trailing_empty_columns_dropped_in_one_note(tmp_path):
    df = _wine()
    lines = df.to_csv(index=False).splitlines()
    path = tmp_path / "excel.csv"
    path.write_text("\r\n".join(line + ",,," for line in lines) + "\r\n", encoding="utf-8-sig")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        d = datasets.load_file(path, target="target")
    notes = _notes(record)
    assert notes == [f"{path}: dropped 3 empty columns without a name"]
    assert d.X.shape == (178, 13) and d.feature_names == list(df.columns[:-1])


def test_duplicate_names_stay_an_error(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match=r"dup\.csv, line 1: column 'a' appears 2 times"):
        datasets.read_table(path)


def test_no_decision_rests_on_a_sample(tmp_path):
    g = np.random.default_rng(0)
    # a first data row longer than any sample: 10,000 numbers of 8 characters
    A = g.normal(size=(40, 10_000)).round(4)
    y = (A[:, 0] > 0).astype(int)
    path = tmp_path / "long.csv"
    with open(path, "w") as f:
        f.write(",".join(f"c{j}" for j in range(A.shape[1])) + ",y\n")
        for i in range(len(A)):
            f.write(",".join(f"{v:.4f}" for v in A[i]) + f",{y[i]}\n")
    d = datasets.load_file(path, target="y")
    assert d.X.shape == (40, 10_000) and d.feature_names[:2] == ["c0", "c1"]
    np.testing.assert_allclose(d.X, A)
    # 100,000 columns, two rows
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{j}" for j in range(100_000)) + "\n" + ",".join(["1"] * 100_000) + "\n")
    table = datasets.read_table(wide)
    assert table.num_columns == 100_000 and table.num_rows == 1
    # a text cell long after the start of a column of numbers: the column is text, named when stray
    path = tmp_path / "late_word.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i % 2}\n" for i in range(200_000)) + "oops,1\n")
    with pytest.raises(ValueError, match=r"late_word\.csv, line 200002, column 'a': 'oops' is not a number"):
        datasets.read_table(path)


def test_a_model_trained_without_a_date_column_predicts_the_same_file(tmp_path, capsys):
    d = sk_datasets.load_breast_cancer(as_frame=True)
    df = d.frame.copy()
    df.insert(0, "date", pd.date_range("2020-01-01", periods=len(df)).strftime("%Y-%m-%d"))
    path, model, out = tmp_path / "cancer.csv", tmp_path / "m.reseau", tmp_path / "p.csv"
    df.to_csv(path, index=False)
    assert main(["train", "--data", str(path), "--drop", "date", "--quiet", "--save", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(path), "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert "ignoring columns 'date', 'target'" in err
    assert np.mean(pd.read_csv(out)["prediction"].to_numpy() == df["target"].to_numpy()) >= 0.95
    # used as a feature, a date is refused, naming it
    assert main(["train", "--data", str(path), "--quiet"]) == 2
    assert "column 'date' has type date32" in capsys.readouterr().err


def test_a_headerless_file_is_predicted_by_position_its_width_checked(tmp_path, capsys):
    digits = sk_datasets.load_digits(as_frame=True).frame
    path, model = tmp_path / "digits.csv", tmp_path / "m.reseau"
    digits.to_csv(path, index=False)
    assert main(["train", "--data", str(path), "--quiet", "--save", str(model)]) == 0
    digits.drop(columns="target").to_csv(tmp_path / "x.csv", index=False, header=False)
    assert main(["predict", str(model), str(tmp_path / "x.csv"), "--output", str(tmp_path / "p.csv")]) == 0
    assert np.mean(pd.read_csv(tmp_path / "p.csv")["prediction"].to_numpy() == digits["target"].to_numpy()) >= 0.9
    digits.iloc[:, :10].to_csv(tmp_path / "narrow.csv", index=False, header=False)
    capsys.readouterr()
    assert main(["predict", str(model), str(tmp_path / "narrow.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert "narrow.csv: X has 10 features (columns) but the model's input has 64" in err
    assert "... and 59 more" in err and len(err) <= 300
    # the Python API alike: a plain array by position
    m = reseau.load(model)
    X = digits.drop(columns="target").to_numpy(dtype=float)
    assert np.mean(m.predict(X) == digits["target"].to_numpy()) >= 0.9


def test_errors_naming_many_columns_stay_short():
    frame = pd.DataFrame(np.zeros((4, 80)), columns=[f"feature_{j}" for j in range(80)])
    model = reseau.MLP([None, 4, None], seed=0)
    model.fit(frame, [0, 1, 0, 1], epochs=1)
    with pytest.raises(ValueError) as err:
        model.predict(frame.drop(columns=[f"feature_{j}" for j in range(60)]))
    assert len(str(err.value)) <= 300 and "... and 54 more" in str(err.value) and "... and 75 more" in str(err.value)


# ---- columns by kind --------------------------------------------------------------------------


def test_a_category_column_of_integer_codes_is_one_hot_encoded():
    g = np.random.default_rng(0)
    n = 900
    store = g.integers(1, 10, n)
    y = np.isin(store, [2, 5, 7]).astype(int)
    frame = pd.DataFrame({"store": pd.Categorical(store), "noise": g.normal(size=n)})
    train, test = _split(n)
    model, ours = _reseau_accuracy(frame, y, train, test)
    assert model.columns.kinds == ["category", "number"] and len(model.columns.categories[0]) == 9
    assert ours >= _sklearn_accuracy(frame, pd.Series(y), train, test) - 0.01 and ours >= 0.99
    # an Arrow dictionary column alike, and integer codes at predict
    import pyarrow as pa

    table = pa.table({"store": pa.array(store.astype(np.int64)).dictionary_encode(), "noise": frame.noise})
    other = reseau.MLP([None, 4, None], seed=0)
    other.fit(table, y, epochs=1)
    assert other.columns.kinds[0] == "category"
    plain = frame.assign(store=store)
    assert np.mean(model.predict(plain.iloc[test]) == y[test]) == ours


def test_a_name_column_is_left_out_with_a_warning_not_a_dense_matrix(tmp_path):
    g = np.random.default_rng(0)
    n = 21_000
    frame = pd.DataFrame(
        {"name": [f"customer {i}" for i in range(n)], "x": g.normal(size=n), "plan": g.choice(["basic", "pro"], n)}
    )
    y = (frame.x > 0).astype(int)
    with pytest.warns(
        reseau.DataWarning,
        match=r"left out column 'name': text with a distinct value on nearly "
        r"every row \(more than 20 distinct values, on at least 50% of the rows\)",
    ):
        model = reseau.MLP([None, 8, None], seed=0)
        model.fit(frame, y, epochs=5, optimizer="adam", lr=0.01)
    assert model.sizes[0] == 3 and model.feature_names == ["x", "plan"]
    assert np.mean(model.predict(frame.iloc[:2000]) == y[:2000]) >= 0.95
    # the saved model predicts the same table, and a table without the name, silently
    model.save(tmp_path / "m.reseau")
    restored = reseau.load(tmp_path / "m.reseau")
    with warnings.catch_warnings():
        warnings.simplefilter("error", reseau.DataWarning)
        restored.predict(frame.drop(columns="name").iloc[:10])
        restored.predict(frame.iloc[:10])


def test_the_encoded_width_beyond_memory_is_refused_naming_the_column(monkeypatch):
    from reseau.core import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 1 << 20)  # a 1 MiB machine
    frame = pd.DataFrame({"city": [f"c{i % 500}" for i in range(2000)], "x": np.arange(2000.0)})
    model = reseau.MLP([None, 4, None], seed=0)
    with pytest.raises(
        ValueError,
        match=r"X: one-hot encoding makes 501 input features; 2000 rows of them need "
        r"0\.0 GiB, more than half the 0\.0 GiB of memory available; column 'city' alone has 500 "
        r"categories: drop it",
    ):
        model.fit(frame, np.arange(2000) % 2, epochs=1)
    assert model.layout is None and model.columns is None


# ---- targets ----------------------------------------------------------------------------------


def test_a_pandas_series_of_integer_labels_is_classes():
    d = sk_datasets.load_breast_cancer(as_frame=True)
    train, test = _split(len(d.target))
    model, ours = _reseau_accuracy(d.data, d.target, train, test, epochs=60)
    assert model.output == "sigmoid" and model.classes == [0, 1]
    predicted = model.predict(d.data.iloc[test])
    assert predicted.dtype.kind == "i" and set(predicted) <= {0, 1}
    assert ours >= _sklearn_accuracy(d.data, d.target, train, test) - 0.03


def test_float_targets_of_zeros_and_ones_are_classes(tmp_path):
    d = sk_datasets.load_breast_cancer()
    path = tmp_path / "cancer.csv"
    np.savetxt(path, np.column_stack([d.data, d.target]), delimiter=",")  # the target as 0.000000e+00 ...
    loaded = datasets.load_file(path)
    assert loaded.y.dtype.kind == "f"
    model = reseau.MLP([None, 16, None], seed=0)
    model.fit(loaded.X, loaded.y, epochs=30, optimizer="adam", lr=0.01)
    assert model.output == "sigmoid" and model.classes == [0.0, 1.0]
    assert np.mean(model.predict(loaded.X) == d.target) >= 0.95
    assert main(["train", "--data", str(path), "--quiet"]) == 0


def test_a_boolean_target_comes_back_as_booleans():
    d = sk_datasets.load_breast_cancer(as_frame=True)
    y = d.target > 0
    model = reseau.MLP([None, 8, None], seed=0)
    model.fit(d.data, y, epochs=20, optimizer="adam", lr=0.01)
    predicted = model.predict(d.data)
    assert predicted.dtype == bool and np.mean(predicted == y.to_numpy()) >= 0.9


def test_labels_differing_in_case_or_spaces_are_named_in_one_warning():
    g = np.random.default_rng(0)
    X = g.normal(size=(120, 2))
    labels = np.array(["Yes", "yes ", "YES", "no"] * 30, dtype=object)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model = reseau.MLP([None, 4, None], seed=0)
        model.fit(X, labels, epochs=1)
    notes = _notes(record)
    assert len(notes) == 1
    assert "stripped the spaces around 1 label ('yes ')" in notes[0]
    assert "labels that differ only in case are separate classes: 'YES', 'Yes', 'yes'" in notes[0]
    assert model.classes == ["YES", "Yes", "no", "yes"]
    assert model.evaluate(X, labels)["accuracy"] >= 0  # "yes " is the class "yes" at evaluate too


def test_task_takes_the_words_scikit_learn_users_write():
    assert reseau.MLP([None, 4, None], task="regression").task == "regress"
    assert reseau.MLP([None, 4, None], task="classification").task == "classify"
    with pytest.raises(ValueError, match=r"task='sort' is invalid; expected None, 'classify' \(or 'classification'\)"):
        reseau.MLP([None, 4, None], task="sort")


def test_cli_reads_the_decimal_option(tmp_path, capsys):
    df = _wine()
    path = tmp_path / "wine.csv"
    path.write_text(df.to_csv(index=False, sep="|", decimal=","), encoding="utf-8")
    assert main(["train", "--data", str(path), "--target", "target", "--decimal", ",", "--quiet"]) == 0
    assert "13 input columns -> 13 features" in capsys.readouterr().out
    with open(path, newline="") as f:
        assert next(csv.reader(f, delimiter="|"))[0] == "alcohol"
