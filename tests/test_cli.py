"""The command line, run as a user would run it."""

import re
import subprocess
import sys

import pytest

from reseau.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "reseau", *args], capture_output=True, text=True,
                          timeout=300)


def test_main_job_reaches_the_target_accuracy():
    """`reseau train` with no options: the notes' network on breast cancer, >= 0.95 on the test part."""
    out = run("train")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\nepoch ") == 100  # per-epoch progress
    assert "network [30, 16, 1], hidden tanh, output sigmoid, init xavier" in out.stdout
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", out.stdout).group(1))
    assert accuracy >= 0.95


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_train_options(backend, capsys):
    pytest.importorskip(backend, reason=f"{backend} is not installed")
    code = main(["train", "--data", "digits", "--layers", "32", "--activation", "relu", "--init", "he",
                 "--epochs", "15", "--batch-size", "64", "--lr", "0.2", "--seed", "1",
                 "--backend", backend, "--dtype", "float64", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "network [64, 32, 10]" in out and f"backend {backend}, float64" in out
    assert "epoch" not in out.split("\n", 2)[2]  # --quiet: no progress lines
    assert float(re.search(r"test accuracy (\d\.\d+)", out).group(1)) > 0.9


def test_full_batch_option(capsys):
    assert main(["train", "--batch-size", "full", "--epochs", "3", "--quiet"]) == 0
    assert "batch size full" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["train", "--epochs", "0"], "'0' is not a positive integer"),
    (["train", "--batch-size", "-2"], "'-2' is not a positive integer or 'full'"),
    (["train", "--layers", "16,x"], "is not a list of positive integers"),
    (["train", "--backend", "torch"], "invalid choice: 'torch'"),
    (["train", "--data", "mnist"], "invalid choice: 'mnist'"),
])
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
    assert info.returncode == 0 and re.search(r"^numpy\s+\d", info.stdout, re.M)
