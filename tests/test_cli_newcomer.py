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
