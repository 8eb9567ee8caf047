"""The command line, run as a user would run it."""

import re
import subprocess
import sys

import numpy as np
import pytest

from reseau.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "reseau", *args], capture_output=True, text=True, timeout=300)


def test_main_job_reaches_the_target_accuracy():
    """`reseau train` with no options: the notes' two-layer network on breast cancer (the defaults:
    relu, He, robust scaling, Adam on a cosine schedule, the best epoch kept), >= 0.95 on the test part."""
    out = run("train")
    assert out.returncode == 0, out.stderr
    stopped = re.search(r"early stopping after epoch (\d+); best epoch (\d+)", out.stdout)
    assert out.stdout.count("\nepoch ") == (int(stopped.group(1)) if stopped else 100)  # per-epoch progress
    assert "network [30, 16, 1], hidden relu, output sigmoid, init he" in out.stdout
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", out.stdout).group(1))
    assert accuracy >= 0.95


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_train_options(backend, capsys):
    pytest.importorskip(backend, reason=f"{backend} is not installed")
    code = main(
        [
            "train",
            "--data",
            "digits",
            "--layers",
            "32",
            "--activation",
            "relu",
            "--init",
            "he",
            "--epochs",
            "15",
            "--batch-size",
            "64",
            "--lr",
            "0.2",
            "--seed",
            "1",
            "--backend",
            backend,
            "--dtype",
            "float64",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "network [64, 32, 10]" in out and f"backend {backend}, float64" in out
    assert "epoch" not in out.split("\n", 3)[3]  # --quiet: no progress lines after the four header lines
    assert float(re.search(r"test accuracy (\d\.\d+)", out).group(1)) > 0.9


def test_full_batch_option(capsys):
    assert main(["train", "--batch-size", "full", "--epochs", "3", "--quiet"]) == 0
    assert "batch size full" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "--epochs", "0"], "'0' is not a positive integer"),
        (["train", "--batch-size", "-2"], "'-2' is not a positive integer or 'full'"),
        (["train", "--layers", "16,x"], "is not a list of positive integers"),
        (["train", "--backend", "torch"], "invalid choice: 'torch'"),
        (["train", "--data", "mnist"], "--data 'mnist' is not a bundled data set"),
    ],
)
def test_bad_options_exit_2_with_a_message(args, message):
    out = run(*args)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_library_errors_exit_2_without_traceback():
    out = run("train", "--lr", "-1", "--quiet")
    assert out.returncode == 2
    assert "reseau: error: lr=-1.0 is not a learning rate" in out.stderr and "Traceback" not in out.stderr


def test_help_and_info():
    help_text = run("train", "--help").stdout
    for option in ("--backend", "--epochs", "--lr", "--batch-size", "--seed", "--data"):
        assert option in help_text
    info = run("info")
    assert info.returncode == 0 and re.search(r"^  numpy\s+\d", info.stdout, re.M)


def test_config_file_and_command_line_override(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(
        'data = "digits"\nlayers = [32]\nactivation = "relu"\ninit = "he"\n'
        'optimizer = "adam"\nlr = 0.01\nepochs = 50\nbatch-size = 64\n'
    )
    assert main(["train", "--config", str(config), "--epochs", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "network [64, 32, 10], hidden relu, output softmax, init he" in out
    assert "Adam(lr=0.01" in out and "4 epochs" in out and "batch size 64" in out


@pytest.mark.parametrize(
    "text,message",
    [
        ("epochs = 0\n", "epochs = 0: 0 is not a positive integer"),
        ('colour = "red"\n', "unknown option 'colour'"),
        ('activation = "swish"\n', "activation = 'swish'; expected one of"),
        ("epochs = \n", "cannot read it as TOML"),
    ],
)
def test_bad_config_files(tmp_path, capsys, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    assert main(["train", "--config", str(config), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_save_evaluate_predict_round_trip(tmp_path, capsys):
    model = tmp_path / "bc.model"
    assert (
        main(
            [
                "train",
                "--epochs",
                "20",
                "--quiet",
                "--save",
                str(model),
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--schedule",
                "cosine",
                "--warmup",
                "2",
                "--dropout",
                "0.1",
                "--l2",
                "1e-4",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", str(model), "--data", "breast_cancer"]) == 0
    out = capsys.readouterr().out
    assert float(re.search(r"accuracy (\d\.\d+)", out).group(1)) > 0.9
    import gzip
    from importlib import resources

    raw = resources.files("reseau.datasets").joinpath("data", "breast_cancer.csv.gz").read_bytes()
    data = tmp_path / "bc.csv"
    data.write_bytes(gzip.decompress(raw))
    preds = tmp_path / "preds.csv"
    assert main(["predict", str(model), str(data), "--drop", "target", "--proba", "--output", str(preds)]) == 0
    lines = preds.read_text().splitlines()
    assert lines[0] == "prediction,p_0,p_1" and len(lines) == 570
    first = lines[1].split(",")
    assert first[0] in ("0", "1") and abs(float(first[1]) + float(first[2]) - 1) < 1e-6


def test_text_labels_from_a_csv_come_back_as_text(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    names = np.array(["cat", "dog", "owl"])[np.argmax(X @ [[1, -1, 0], [0, 1, -1]] + [0, 0, 0.1], 1)]
    csv_path = tmp_path / "animals.csv"
    csv_path.write_text("a,b,kind\n" + "".join(f"{a},{b},{k}\n" for (a, b), k in zip(X, names)))
    model = tmp_path / "animals.model"
    assert (
        main(
            [
                "train",
                "--data",
                str(csv_path),
                "--target",
                "kind",
                "--epochs",
                "40",
                "--quiet",
                "--optimizer",
                "adam",
                "--lr",
                "0.05",
                "--save",
                str(model),
            ]
        )
        == 0
    )
    assert "3 classes" in capsys.readouterr().out
    assert main(["predict", str(model), str(csv_path), "--drop", "kind"]) == 0
    predicted = capsys.readouterr().out.splitlines()[1:]
    assert set(predicted) <= {"cat", "dog", "owl"} and np.mean(np.array(predicted) == names) > 0.8


def test_generated_data_plot_and_early_stopping(tmp_path, capsys):
    png = tmp_path / "moons.png"
    assert (
        main(
            [
                "train",
                "--data",
                "moons",
                "--layers",
                "32,32",
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--epochs",
                "300",
                "--early-stopping",
                "5",
                "--plot",
                str(png),
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "early stopping after epoch" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_regression_targets(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=200)
    path = tmp_path / "reg.npz"
    np.savez(path, X=X, y=y)
    assert (
        main(
            [
                "train",
                "--data",
                str(path),
                "--normalize",
                "standard",
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--epochs",
                "100",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    mse = float(re.search(r"test mse (\S+),", out).group(1))
    assert "output identity" in out and mse < 0.05 * y.var()  # R² above 0.95


def test_progress_bar_on_a_terminal(monkeypatch, capsys):
    pytest.importorskip("tqdm", reason="tqdm is not installed (pip install 'reseau[cli]')")
    from reseau.callbacks import ProgressBar

    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    bar = ProgressBar(3)
    for e in range(3):
        bar.update({"epoch": e + 1, "loss": 0.5, "accuracy": 0.9, "lr": 0.1, "seconds": 0.0})
    bar.close()
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=0.5000" in err and "acc=0.9000" in err


@pytest.mark.parametrize("width", [60, 80, 132])
def test_the_progress_bar_fits_the_terminal(width):
    pytest.importorskip("tqdm", reason="tqdm is not installed (pip install 'reseau[cli]')")
    import io

    from reseau.callbacks import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(100, file=out, width=width)
    for e in range(100):
        bar.update(
            {
                "epoch": e + 1,
                "loss": 0.123456,
                "accuracy": 0.9,
                "val_loss": 0.2,
                "val_accuracy": 0.88,
                "lr": 0.1,
                "seconds": 0.0,
            }
        )
    bar.close()
    lines = [line for chunk in out.getvalue().split("\r") for line in chunk.split("\n") if line.strip()]
    assert lines and all(len(line) <= width for line in lines), max(map(len, lines))
    last = lines[-1]
    bar_cells = last.split("|")[1]
    assert len(bar_cells) >= 10 and set(bar_cells) <= {"#", "█"} and "loss=0.1235" in last  # a real bar, the loss


def test_ctrl_c_prints_one_line_saves_the_last_epoch_and_exits_130(tmp_path):
    """SIGINT in the middle of `reseau train --save`: one line on stderr, no traceback, exit 130,
    and the saved model is the last completed epoch's."""
    import signal
    import time

    args = [
        sys.executable,
        "-m",
        "reseau",
        "train",
        "--data",
        "digits",
        "--epochs",
        "100000",
        "--early-stopping",
        "none",
        "--quiet",
        "--save",
        str(tmp_path / "m.reseau"),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert re.match(r"reseau: interrupted in epoch (\d+) \(after \d+ steps\); the model of epoch (\d+) saved", err)
    from reseau import load

    saved = load(tmp_path / "m.reseau")
    assert saved.epoch == int(re.search(r"the model of epoch (\d+)", err).group(1)) >= 1
    assert saved.step_count == saved.epoch * 40  # 1257 training rows in batches of 32


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "--data", "nowhere.csv"], "is not a bundled data set"),
        (["train", "--schedule", "linear"], "is not a schedule"),
        (["train", "--optimizer", "adam", "--momentum", "0.9"], "--momentum does not apply to the adam optimiser"),
        (["train", "--dropout", "1.2"], "is not a rate in [0, 1)"),
    ],
)
def test_more_bad_options(args, message):
    out = run(*args, "--quiet")
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr


def test_train_checkpoints_and_resumes_to_the_same_model(tmp_path, capsys):
    """`reseau train --checkpoint D --checkpoint-every N`, then `--resume` from a checkpoint in the
    middle of the run: the saved model files are byte-identical."""
    common = [
        "train",
        "--epochs",
        "4",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--dropout",
        "0.1",
        "--quiet",
        "--dtype",
        "float64",
        "--backend",
        "numpy",
    ]
    full = tmp_path / "full"
    assert (
        main(common + ["--checkpoint", str(full), "--checkpoint-every", "5", "--save", str(tmp_path / "full.model")])
        == 0
    )
    kept = sorted(f.name for f in full.glob("step-*.ckpt"))
    assert kept == ["step-000000000045.ckpt", "step-000000000050.ckpt", "step-000000000052.ckpt"]  # 13 a epoch
    middle = tmp_path / "middle"
    middle.mkdir()
    (middle / kept[0]).write_bytes((full / kept[0]).read_bytes())
    assert main(common + ["--checkpoint", str(middle), "--resume", "--save", str(tmp_path / "resumed.model")]) == 0
    from reseau import load

    a, b = load(tmp_path / "full.model"), load(tmp_path / "resumed.model")
    np.testing.assert_array_equal(a.params, b.params)
    assert a.history["loss"] == b.history["loss"] and len(a.history["loss"]) == 4


def test_resume_needs_a_checkpoint_directory():
    out = run("train", "--resume", "--quiet")
    assert out.returncode == 2 and "--resume continues from the checkpoints in --checkpoint DIR" in out.stderr


def test_train_on_divergence_option(tmp_path):
    """Rows whose squared error overflows float32: --on-divergence stop (the default) ends with a clear
    message (no traceback) and exit code 1; skip drops those steps and trains."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    X[::5] = 1e30
    y = X[:, 0] - X[:, 1]
    y[::5] = 0.0
    data = tmp_path / "huge.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", header="a,b,y", comments="")
    common = (
        "train",
        "--data",
        str(data),
        "--normalize",
        "none",
        "--activation",
        "relu",
        "--batch-size",
        "1",
        "--epochs",
        "2",
        "--quiet",
    )
    out = run(*common)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert re.search(r"training diverged: the loss became inf at step \d+ of 42 in epoch 1", out.stderr)
    out = run(*common, "--on-divergence", "skip")
    assert out.returncode == 0, out.stderr
    assert "test mse" in out.stdout
    out = run(*common, "--on-divergence", "ignore")
    assert out.returncode == 2 and "invalid choice: 'ignore'" in out.stderr


def test_a_resumed_run_counts_its_epochs_from_where_it_stopped(tmp_path, capsys):
    common = ["train", "--epochs", "3", "--backend", "numpy", "--checkpoint"]
    assert main(common + [str(tmp_path / "all"), "--quiet"]) == 0
    first = sorted((tmp_path / "all").glob("step-*.ckpt"))[0]  # the end of epoch 1
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / first.name).write_bytes(first.read_bytes())
    capsys.readouterr()
    assert main(common + [str(tmp_path / "one"), "--resume"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["2/3", "3/3"]


def test_version_has_one_source():
    import tomllib
    from pathlib import Path

    import reseau

    declared = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["version"]
    assert reseau.__version__ == declared
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"reseau {declared}"
    assert run("info").stdout.startswith(f"reseau {declared}, Python")


def test_output_paths_are_checked_before_training(tmp_path):
    out = run("train", "--epochs", "50", "--save", str(tmp_path / "missing" / "m.reseau"))
    assert out.returncode == 2 and "epoch" not in out.stdout  # refused before the first epoch
    assert "--save" in out.stderr and "does not exist" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "m.reseau").mkdir()
    out = run("train", "--plot", str(tmp_path / "m.reseau"))
    assert out.returncode == 2 and "--plot" in out.stderr and "is a directory" in out.stderr
    assert main(["train", "--epochs", "1", "--quiet", "--save", str(tmp_path / "ok.reseau")]) == 0
    out = run(
        "predict",
        str(tmp_path / "ok.reseau"),
        str(tmp_path / "none.csv"),
        "--output",
        str(tmp_path / "missing" / "p.csv"),
    )
    assert out.returncode == 2 and "--output" in out.stderr and "does not exist" in out.stderr


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "reseau", "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `reseau info | head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and "Traceback" not in err and "BrokenPipe" not in err


def test_files_are_written_with_the_users_umask(tmp_path):
    import os
    import stat

    import reseau

    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    old = os.umask(0o022)
    try:
        model = reseau.MLP([3, 4, 1], seed=0)
        model.fit(X, y, epochs=2, batch_size=10, checkpoint=tmp_path / "ck")
        model.save(tmp_path / "m.reseau")
        os.umask(0o077)
        model.save(tmp_path / "private.reseau")
    finally:
        os.umask(old)
    modes = [stat.S_IMODE(p.stat().st_mode) for p in [tmp_path / "m.reseau", *(tmp_path / "ck").glob("*.ckpt")]]
    assert modes and all(m == 0o644 for m in modes), [oct(m) for m in modes]
    assert stat.S_IMODE((tmp_path / "private.reseau").stat().st_mode) == 0o600


def test_long_runs_of_small_networks_take_numba_and_its_compiled_epochs(monkeypatch):
    """`reseau train` loads numba (and its compiled epochs) where the run is long enough to repay
    its start-up: NUMBA_STEPS steps, or NUMBA_WORTH parameters × rows × epochs; short runs keep
    the NumPy kernels (``reseau.kernels.for_run``, the policy the CLI applies)."""
    from reseau.kernels import for_run as policy

    def for_run(o, n_in, n_rows):
        return policy(o["backend"], [n_in, *o["layers"], 10], n_rows, o["batch_size"], o["epochs"])

    monkeypatch.delenv("RESEAU_BACKEND", raising=False)
    o = {"layers": [16], "backend": "numpy", "batch_size": 32, "epochs": 100}
    assert for_run(o, 64, 1257) == "numpy"  # 4,000 steps
    assert for_run({**o, "epochs": 600}, 64, 1257) is None  # 24,000 steps
    assert for_run({**o, "epochs": 600, "batch_size": None}, 64, 1257) == "numpy"  # full batches


def test_predict_in_blocks_equals_one_pass_and_names_the_files_row(tmp_path, capsys, monkeypatch):
    """``reseau predict`` converts, predicts and writes BLOCK_ROWS rows at a time: with 7-row
    blocks, a 30-row file gives the model's one-pass predictions and probabilities, kept columns
    beside them; a text label holding a comma is quoted; a bad cell in the fourth block is named by
    its row in the file, and the output file it would have replaced is left as it was."""
    import reseau
    import reseau.cli.predict as cli_predict

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    kinds = np.array(["plain", "with, comma"])[(X[:, 0] > 0).astype(int)]
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("id,a,b,c\n" + "".join(f"r{i},{a},{b},{c}\n" for i, (a, b, c) in enumerate(X)))
    model = reseau.MLP([None, 5, None], seed=0, impute=None)
    import pandas as pd

    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model.fit(frame, kinds, epochs=30, lr=0.05, verbose=0)
    model.save(tmp_path / "m.reseau")
    monkeypatch.setattr(cli_predict, "BLOCK_ROWS", 7)
    out = tmp_path / "p.csv"
    assert main(["predict", str(tmp_path / "m.reseau"), str(csv_path), "--keep", "id", "--proba", "-o", str(out)]) == 0
    import csv

    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["id", "prediction", "p_plain", "p_with, comma"] and len(rows) == 31
    assert [r[0] for r in rows[1:]] == [f"r{i}" for i in range(30)]
    assert [r[1] for r in rows[1:]] == list(model.predict(frame))
    P = model.predict_proba(frame)
    np.testing.assert_allclose([[float(r[2]), float(r[3])] for r in rows[1:]], np.c_[1 - P, P], rtol=1e-6)
    assert '"with, comma"' in out.read_text()
    before = out.read_bytes()
    lines = csv_path.read_text().splitlines()
    lines[24] = lines[24].split(",")[0] + ",,1,2"  # row 23 of the data (line 25): a missing cell
    csv_path.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "m.reseau"), str(csv_path), "--keep", "id", "-o", str(out)]) == 2
    assert "column 'a', row 23: missing value" in capsys.readouterr().err
    assert out.read_bytes() == before


def test_a_blocks_row_numbers_count_from_the_file_and_quoted_names_stay():
    """The rows a block's message names are shifted by the block's start; a column named "row 3"
    or a quoted cell holding "[1, 2]" is not."""
    from reseau.cli.predict import _rows_from

    assert _rows_from("X column 'row 3', row 7: 'a [1, 2]' is not a number", 100) == (
        "X column 'row 3', row 107: 'a [1, 2]' is not a number"
    )
    assert _rows_from("X[3, 1] is inf (after conversion to float32)", 65536).startswith("X[65539, 1] is inf")
    assert _rows_from("X column 'a', row 7: missing value", 0) == "X column 'a', row 7: missing value"
