"""Multi-process JAX (jax.distributed, two processes on localhost, gloo on the CPU): data-parallel
training equals one process on the same global batches (float64, 1e-10), and `reseau train
--distributed` runs."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import reseau
from reseau import optim

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("jax", reason="JAX is not installed")

SCRIPT = r"""
import sys
import time
import numpy as np
import reseau
from reseau import optim
index = reseau.backends.get("jax").initialize_distributed(timeout=60)
rng = np.random.default_rng(0)
X, y = rng.normal(size=(48, 5)), rng.integers(0, 3, 48)
m = reseau.MLP([5, 8, 6, 3], hidden=["tanh", "relu"], backend="jax", dtype="float64", seed=1, dropout=0.3,
               l2=0.01, normalize=None)
h = m.fit(X, y, epochs=3, batch_size=16, optimizer=optim.Adam(0.01), data_parallel=True)
if index == 0:
    np.savez(sys.argv[1], *[a for pair in m.get_weights() for a in pair], loss=np.array(h["loss"]))
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(args, cwd):
    port = _free_port()
    procs = []
    for pid in range(2):
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{port}",
            "JAX_NUM_PROCESSES": "2",
            "JAX_PROCESS_ID": str(pid),
            "XLA_FLAGS": "",
            "JAX_PLATFORMS": "cpu",
        }  # CPU processes talking through gloo, also where a GPU is present
        procs.append(
            subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    outs = []
    try:
        for p in procs:
            outs.append(p.communicate(timeout=240))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return [(p.returncode, o, e) for p, (o, e) in zip(procs, outs)]


def test_two_processes_equal_one(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    results = _launch([sys.executable, str(script), str(tmp_path / "w.npz")], tmp_path)
    for code, out, err in results:
        assert code == 0, err[-2000:]
    got = np.load(tmp_path / "w.npz")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(48, 5)), rng.integers(0, 3, 48)
    ref = reseau.MLP(
        [5, 8, 6, 3],
        hidden=["tanh", "relu"],
        backend="numpy",
        dtype="float64",
        seed=1,
        dropout=0.3,
        l2=0.01,
        normalize=None,
    )
    h = ref.fit(X, y, epochs=3, batch_size=16, optimizer=optim.Adam(0.01))
    for i, a in enumerate(a for pair in ref.get_weights() for a in pair):
        np.testing.assert_allclose(got[f"arr_{i}"], a, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got["loss"], h["loss"], rtol=1e-10)


def test_reseau_train_distributed(tmp_path):
    # python -m reseau: the same command line, also from a checkout that is not installed
    results = _launch(
        [sys.executable, "-m", "reseau", "train", "--distributed", "--epochs", "15", "--batch-size", "32", "--quiet"],
        tmp_path,
    )
    for code, out, err in results:
        assert code == 0, err[-2000:]
    assert results[0][1].count("test accuracy") == 1 and "test accuracy" not in results[1][1]  # process 0 reports
    assert float(results[0][1].split("test accuracy ")[1].split()[0]) > 0.9


def test_missing_settings_are_named(monkeypatch):
    for key in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(key, raising=False)
    from reseau.cli import main

    assert main(["train", "--distributed", "--quiet"]) == 2


def test_a_process_that_never_starts_gives_a_clear_error_not_a_hang(tmp_path):
    script = tmp_path / "alone.py"
    script.write_text("import reseau\nreseau.backends.get('jax').initialize_distributed(timeout=5)\n")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JAX_COORDINATOR_ADDRESS": f"127.0.0.1:{_free_port()}",
        "JAX_NUM_PROCESSES": "2",
        "JAX_PROCESS_ID": "1",
    }  # process 0 (the coordinator) never comes
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "could not join the run coordinated at" in out.stderr
    assert "nothing listens there" in out.stderr


def test_processes_with_different_settings_are_refused(tmp_path):
    script = tmp_path / "mismatch.py"
    script.write_text(SCRIPT.replace("seed=1,", "seed=1 + index,"))
    results = _launch([sys.executable, str(script), str(tmp_path / "w.npz")], tmp_path)
    for code, out, err in results:
        assert code != 0 and "the JAX processes were given different models, data or settings" in err


def test_a_process_whose_arguments_fail_stops_every_process_promptly(tmp_path):
    """Process 1 is given epochs=0: it raises its own error, and process 0, instead of waiting for a
    partner that will never step, learns of the failure in the settings exchange."""
    script = tmp_path / "bad_args.py"
    script.write_text(SCRIPT.replace("epochs=3,", "epochs=3 if index == 0 else 0,"))
    t0 = time.monotonic()
    results = _launch([sys.executable, str(script), str(tmp_path / "w.npz")], tmp_path)
    assert time.monotonic() - t0 < 120
    assert results[1][0] != 0 and "epochs=0" in results[1][2]
    assert results[0][0] != 0 and "JAX process 1 failed its argument checks" in results[0][2]
