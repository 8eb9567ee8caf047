"""The command line as a newcomer meets it (issue: the target named, guards that name the likely
mistake, answers in the task's units): each test runs the CLI on a table written as people export
them and reads what the screen says."""

import csv

import numpy as np
import pytest

from reseau import load
from reseau.cli import main


def _passengers(path, n=300, seed=0):
    """A Titanic-like export: a row index, a name, numbers with gaps, text classes; 'survived'
    is not the last column."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["", "rownames", "survived", "sex", "age", "passengerClass"])
        for i in range(n):
            sex, cls = rng.choice(["female", "male"]), rng.choice(["1st", "2nd", "3rd"])
            p = 0.2 + 0.5 * (sex == "female") + 0.2 * (cls == "1st")
            age = "" if rng.random() < 0.1 else f"{rng.uniform(1, 70):.1f}"
            w.writerow([i, f"Passenger {i}, Mr. X", "yes" if rng.random() < p else "no", sex, age, cls])
    return path


def test_train_names_the_target_and_says_when_it_took_the_last_column(tmp_path, capsys):
    data = _passengers(tmp_path / "titanic.csv")
    assert main(["train", "--data", str(data), "--epochs", "2", "--quiet", "--save", str(tmp_path / "m.reseau")]) == 0
    out, err = capsys.readouterr()
    assert "no --target given: predicting the last column, 'passengerClass'; name the column" in err
    assert out.splitlines()[0] == "target 'passengerClass': classification, 3 classes (1st, 2nd, 3rd)"
    assert main(["train", "--data", str(data), "--target", "survived", "--epochs", "2", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "no --target given" not in err
    assert out.splitlines()[0] == "target 'survived': classification, 2 classes (no, yes)"
    assert (
        main(["train", "--data", str(data), "--target", "survived", "--epochs", "1", "--quiet", "--dropout", "0.3"])
        == 0
    )
    network = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("network"))
    assert network.endswith("(2/n, n training rows), dropout 0.3") and "; l2 0.0" in network


def test_the_model_file_keeps_the_target_and_evaluate_uses_it(tmp_path, capsys):
    data, model = _passengers(tmp_path / "titanic.csv"), tmp_path / "m.reseau"
    args = ["train", "--data", str(data), "--target", "survived", "--epochs", "3", "--quiet", "--save", str(model)]
    assert main(args) == 0
    assert load(model).target_name == "survived"
    capsys.readouterr()
    assert main(["evaluate", str(model), "--data", str(data)]) == 0  # no --target: the model's own
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "target 'survived': classification, 2 classes (no, yes)"
    assert "every one of its 300 rows scored" in out and "accuracy" in out
    rows = list(csv.reader(open(data)))
    without = tmp_path / "no_target.csv"
    with open(without, "w", newline="") as f:
        csv.writer(f).writerows([[c for j, c in enumerate(r) if j != 2] for r in rows])
    assert main(["evaluate", str(model), "--data", str(without)]) == 2
    err = capsys.readouterr().err
    assert f"--data {without} has no column 'survived', the target {model} was trained to predict" in err
    assert "--target" in err


def test_fit_records_the_name_of_a_pandas_target():
    pd = pytest.importorskip("pandas", reason="pandas is not installed")
    from reseau import MLP

    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
    model = MLP([None, 4, None], seed=0)
    model.fit(X, pd.Series(np.arange(40) % 2, name="label"), epochs=1)
    assert model.target_name == "label"
    model.fit(X.to_numpy(), np.arange(40) % 2, epochs=1)  # no name: the one it had stays
    assert model.target_name == "label"


def _table(path, header, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def test_a_quantity_asked_to_be_classes_is_refused_in_one_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [[f"{x:.3f}", f"{300 + 1000 * x + rng.normal():.2f}"] for x in rng.uniform(0, 5, 400)]
    data = _table(tmp_path / "prices.csv", ["carat", "price"], rows)
    assert main(["train", "--data", str(data), "--target", "price", "--task", "classify", "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "'price' has 400 distinct values in 400 rows, more than 80 classes; a quantity? give --task regress" in err
    assert "--max-classes 400" in err
    # the bound is the user's to raise
    args = ["train", "--data", str(data), "--target", "price", "--task", "classify", "--max-classes", "400"]
    assert main([*args, "--epochs", "1", "--quiet", "--test-size", "0", "--val-size", "0"]) == 0


def test_a_named_row_number_is_dropped_with_a_note(tmp_path, capsys):
    """R's exports carry 'rownames' 1..n: on rows sorted by class it gives the answer away."""
    rng = np.random.default_rng(1)
    rows = [[i + 1, f"{rng.normal():.3f}", "a" if i < 100 else "b"] for i in range(200)]
    data = _table(tmp_path / "sorted.csv", ["rownames", "x", "label"], rows)
    assert main(["train", "--data", str(data), "--epochs", "30", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "dropped column 'rownames', a row number (1..200); rename it to keep it as a feature" in err
    assert "1 columns" in out or "1 column" in out
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy < 0.8  # x is noise: without the row number nothing predicts the label
    kept = _table(tmp_path / "kept.csv", ["row_position", "x", "label"], rows)  # another name: a feature
    assert main(["train", "--data", str(kept), "--epochs", "2", "--quiet"]) == 0
    assert "row number" not in capsys.readouterr().err


def test_a_class_of_one_row_is_pointed_out(tmp_path, capsys):
    rng = np.random.default_rng(2)
    labels = ["yes", "no", "maybe"]
    rows = [[f"{rng.normal():.3f}", labels[i % 3]] for i in range(90)] + [["0.5", "yse"]]
    data = _table(tmp_path / "typo.csv", ["x", "answer"], rows)
    assert main(["train", "--data", str(data), "--epochs", "2", "--quiet", "--test-size", "0"]) == 0
    assert "'answer': class 'yse' has 1 row: a typo, or too few to learn?" in capsys.readouterr().err


def test_training_that_ends_still_improving_says_so(tmp_path, capsys):
    assert main(["train", "--epochs", "5", "--quiet", "--lr", "0.0001"]) == 0
    assert "the validation loss was still falling at the last epoch (5): more epochs (--epochs) may help" in (
        capsys.readouterr().err
    )


def test_regression_reads_in_the_targets_units(tmp_path, capsys):
    """Per-epoch lines show the validation RMSE and R² (not ½·MSE in squared units) and the time
    an epoch takes; the test line and evaluate give the same names as model.evaluate."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 5, 400)
    data = _table(tmp_path / "prices.csv", ["carat", "price"], [[f"{a:.3f}", f"{300 + 1000 * a:.2f}"] for a in x])
    model = tmp_path / "m.reseau"
    assert main(["train", "--data", str(data), "--target", "price", "--epochs", "3", "--save", str(model)]) == 0
    out = capsys.readouterr().out
    epochs = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 3 and all("val_rmse" in e and "val_r2" in e and "ms/epoch" in e for e in epochs)
    assert not any("val_mse" in e or "val_loss" in e for e in epochs)
    assert "test rmse " in out and ", r2 " in out
    assert main(["evaluate", str(model), "--data", str(data)]) == 0
    scored = capsys.readouterr().out.splitlines()[-1]
    names = [part.split()[0] for part in scored.split("; ")[1].split(", ")]
    assert names == list(load(model).evaluate(np.c_[x], 300 + 1000 * x)) == ["loss", "mse", "rmse", "r2"]


def test_a_terminal_of_size_zero_gets_lines(monkeypatch, capsys):
    """A terminal that reports 0 × 0 (some CI runners, `script`): lines, not a bar drawn into nothing."""
    import io
    import shutil

    from reseau.core.callbacks import ProgressBar

    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=None: shutil.os.terminal_size((0, 0)))
    bar = ProgressBar(2, file=io.StringIO())
    assert bar.bar is None
    bar.update({"epoch": 1, "loss": 0.5, "accuracy": 0.75, "seconds": 0.01})
    assert capsys.readouterr().out.startswith("epoch 1/2  loss 0.5000  accuracy 0.7500  10.0 ms/epoch")


def test_files_of_the_wrong_kind_are_named_as_what_they_are(tmp_path, capsys):
    pytest.importorskip("onnx", reason="onnx is not installed (reseau[onnx])")
    data, model, onnx_file = _passengers(tmp_path / "t.csv"), tmp_path / "m.reseau", tmp_path / "m.onnx"
    assert (
        main(["train", "--data", str(data), "--target", "survived", "--epochs", "1", "--quiet", "--save", str(model)])
        == 0
    )
    assert main(["export", str(model), str(onnx_file)]) == 0
    disguised = tmp_path / "model_as.csv"
    disguised.write_bytes(model.read_bytes())
    capsys.readouterr()
    cases = [
        (["train", "--data", str(onnx_file)], "this is an ONNX model, not a data table; run it with onnxruntime"),
        (["train", "--data", str(disguised)], "this is a reseau model file, not a data table; give it as the model"),
        (["predict", str(onnx_file), str(data)], "this is an ONNX model, not a reseau model file"),
        (["evaluate", str(data), "--data", str(data)], "this is text (a CSV?), not a reseau model file"),
    ]
    for args, expected in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert expected in err and "UTF-8" not in err and "header length" not in err, err
    xlsx = tmp_path / "book.xlsx"
    xlsx.write_bytes(b"PK\x03\x04" + b"\x00" * 60)
    assert main(["train", "--data", str(xlsx)]) == 2
    assert (
        "an Excel workbook (.xlsx, a zip archive), not a data table; save the sheet as CSV" in capsys.readouterr().err
    )


def test_parquet_under_a_csv_name_is_read_as_parquet(tmp_path, capsys):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is not installed")
    import pyarrow as pa

    rng = np.random.default_rng(4)
    x = rng.normal(size=200)
    path = tmp_path / "exported.csv"  # Parquet bytes, a CSV name
    pq.write_table(pa.table({"x": x, "y": (x > 0).astype(int)}), path)
    assert main(["train", "--data", str(path), "--epochs", "20", "--quiet"]) == 0
    assert float(capsys.readouterr().out.split("test accuracy ")[1].split()[0]) > 0.8


def test_advice_speaks_the_command_lines_language(tmp_path, capsys):
    """Divergence advice names CLI options (and --clip-norm exists); --proba on a quantity says to
    drop it; the API keeps its own words."""
    from reseau import MLP
    from reseau.core.guard import TrainingDivergedError

    assert main(["train", "--optimizer", "sgd", "--lr", "1e30", "--normalize", "none", "--epochs", "2", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "training diverged" in err and "--lr" in err and "--clip-norm 1.0" in err and "--on-divergence skip" in err
    assert "clip_norm=" not in err and "normalize='minmax'" not in err
    assert main(["train", "--clip-norm", "1.0", "--epochs", "2", "--quiet"]) == 0
    assert "clip_norm=1.0" in capsys.readouterr().out
    with pytest.raises(TrainingDivergedError, match=r"clip_norm=\.\.\.\), or on_divergence='skip'"):
        X = np.random.default_rng(0).normal(size=(64, 3)) * 1e3
        MLP([3, 4, 1], normalize=None, seed=0).fit(X, (X[:, 0] > 0).astype(int), optimizer="sgd", lr=1e30, epochs=2)
    rng = np.random.default_rng(5)
    data = _table(tmp_path / "q.csv", ["a", "v"], [[f"{a:.3f}", f"{2 * a:.3f}"] for a in rng.normal(size=100)])
    model = tmp_path / "q.reseau"
    assert main(["train", "--data", str(data), "--epochs", "1", "--quiet", "--save", str(model)]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(data), "--proba"]) == 2
    assert (
        "predicts a quantity (a regression), which has no class probabilities; drop --proba" in capsys.readouterr().err
    )


def test_imputation_is_noted_once_for_the_training_rows(tmp_path, capsys):
    data, model = _passengers(tmp_path / "t.csv"), tmp_path / "m.reseau"
    assert (
        main(["train", "--data", str(data), "--target", "survived", "--epochs", "2", "--quiet", "--save", str(model)])
        == 0
    )
    err = capsys.readouterr().err
    assert err.count("imputed") == 1 and "of the training rows in 1 column (age)" in err
    assert "X: " not in err and "left out column 'rownames'" in err
    assert main(["predict", str(model), str(data), "--output", str(tmp_path / "p.csv")]) == 0
    assert "imputed" not in capsys.readouterr().err


def test_every_option_of_every_command_has_help_and_a_readable_default():
    from reseau.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices  # argparse's own table
    for name, sub in commands.items():
        assert sub.description or name in ("export", "info"), name
        for action in sub._actions:
            if action.dest == "help":
                continue
            assert action.help, f"reseau {name} {action.option_strings or action.dest}: no help"
            repeatable = type(action).__name__ == "_AppendAction"
            if action.option_strings and action.nargs != 0 and not repeatable and name != "export":
                assert "default" in action.help or action.required, f"reseau {name} {action.option_strings}"
            assert action.help.count("default") <= 1, f"reseau {name} {action.option_strings}: {action.help}"
    train_help = commands["train"].format_help()
    assert "('cosine', [])" not in train_help and "(default: cosine)" in train_help
    assert "Parquet" in train_help and "LeCun for SELU" in train_help


def test_info_labels_its_lines(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backends (name, version, the devices it computes on):" in out and "devices: cpu" in out
    assert all(line.startswith("BLAS (") for line in out.splitlines() if line.startswith("BLAS"))
    assert "for CUDA 13 use" not in out


def test_bench_prints_a_table_a_reader_can_read(tmp_path, capsys):
    out_dir = tmp_path / "report"
    args = ["bench", "--sizes", "S", "--quick", "--no-memory", "--no-accuracy", "--out", str(out_dir)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "{" not in out.split("median ms")[0]  # no environment JSON before the table
    assert "lower is better" in out and "higher is better" in out
    written = out.strip().splitlines()[-1]
    assert written.startswith(f"written to {out_dir}/: report.json, report.md, table.txt")
    assert ("chart.png" in written) == (out_dir / "chart.png").exists()


@pytest.mark.parametrize("target, expected_columns", [("survived", ["yes"]), ("passengerClass", ["1st", "2nd", "3rd"])])
def test_onnx_files_say_what_each_output_column_is(tmp_path, capsys, target, expected_columns):
    """The graph's metadata names the target, the task, the classes and each output column; the
    columns onnxruntime returns are those classes' probabilities (checked against predict_proba)."""
    pytest.importorskip("onnx", reason="onnx is not installed (reseau[onnx])")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (reseau[onnx])")
    import json

    import onnx

    data, model_path, onnx_path = _passengers(tmp_path / "t.csv"), tmp_path / "m.reseau", tmp_path / "m.onnx"
    args = ["train", "--data", str(data), "--target", target, "--epochs", "3", "--quiet", "--save", str(model_path)]
    assert main(args) == 0
    assert main(["export", str(model_path), str(onnx_path)]) == 0
    assert f"P({target} = {expected_columns[0]!r})" in capsys.readouterr().out
    meta = {p.key: p.value for p in onnx.load(onnx_path).metadata_props}
    assert meta["target_name"] == target and meta["task"] == "classify"
    assert json.loads(meta["output_columns"]) == expected_columns
    model = load(model_path)
    rows = {"sex": ["female", "male"], "age": [30.0, 60.0], "passengerClass": ["1st", "3rd"], "survived": ["yes", "no"]}
    import pandas as pd

    frame = pd.DataFrame({k: v for k, v in rows.items() if k in model.feature_names})
    session = ort.InferenceSession(str(onnx_path))
    feeds = {
        i.name: np.asarray(frame[i.name], dtype=object if i.type == "tensor(string)" else np.float32).reshape(-1, 1)
        for i in session.get_inputs()
    }
    P = session.run(None, feeds)[0]
    proba = model.predict_proba(frame)
    expected = proba.reshape(len(frame), -1) if len(expected_columns) > 1 else proba.reshape(-1, 1)
    np.testing.assert_allclose(P, expected, atol=1e-5)  # column j is P(output_columns[j])
