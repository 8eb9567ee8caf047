"""Data-parallel training on JAX over 2 simulated CPU devices equals single-device training on
the same global batches (float64, 1e-10), with and without dropout."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import reseau

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, os, sys
import numpy as np, jax
import reseau
from reseau import optim
assert len(jax.devices()) == 2, jax.devices()
from reseau.core import steps
steps.StepForm.LEAVES_FROM = int(sys.argv[1])  # 0: step on leaves, as large models do
rng = np.random.default_rng(0)
X, y = rng.normal(size=(48, 5)), rng.integers(0, 3, 48)
out = {}
for dropout in (0.0, 0.3):
    weights = []
    for dp in (False, True):
        m = reseau.MLP([5, 8, 6, 3], hidden=["tanh", "relu"], backend="jax", dtype="float64", seed=1,
                       dropout=dropout, l2=0.01, normalize=None)
        m.fit(X, y, epochs=3, batch_size=16, optimizer=optim.Adam(0.01),
              schedule=optim.ExponentialDecay(0.9, per="step"), data_parallel=dp, validation_data=(X[:8], y[:8]))
        weights.append([a for pair in m.get_weights() for a in pair])
        if dp:
            bk = m.backend
            xb, yb = bk.shard_rows(bk.asarray(X[:16])), bk.shard_rows(bk.asarray(m.encode_targets(y[:16])))
            lowered = m.training_step()[0].lower(bk.replicate(m.params), bk.replicate(m.opt_state), xb, yb, 0)
            hlo = lowered.compile().as_text()
            out["all_reduce"] = "all-reduce" in hlo
            out["predict_ok"] = m.predict(X).shape == (48,)
    out[str(dropout)] = max(float(np.abs(a - b).max()) for a, b in zip(*weights))
print(json.dumps(out))
"""


@pytest.mark.parametrize("leaves_from", [0, 1 << 40], ids=["leaves", "flat"])
def test_two_devices_equal_one(leaves_from):
    pytest.importorskip("jax", reason="JAX is not installed")
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "PYTHONPATH": str(ROOT),
        "JAX_PLATFORMS": "cpu",
    }  # simulated CPU devices, also where a GPU is present
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(leaves_from)], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = __import__("json").loads(out.stdout.strip().splitlines()[-1])
    assert result["0.0"] < 1e-10 and result["0.3"] < 1e-10
    assert result["all_reduce"] and result["predict_ok"]  # XLA sums the gradient across the devices


def test_uneven_batches_and_other_backends_are_refused(monkeypatch):
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 2
    pytest.importorskip("jax", reason="JAX is not installed")
    model = reseau.MLP([3, 1], backend="jax", normalize=None)
    monkeypatch.setattr(model.backend, "device_count", lambda: 4)  # as on a 4-device host
    before = model.get_weights()[0][0]
    with pytest.raises(ValueError, match=r"batches of \[6\] rows do not split evenly over 4 devices"):
        model.fit(X, y, batch_size=8, data_parallel=True, epochs=1)  # 30 rows: batches of 8 and a last of 6
    np.testing.assert_array_equal(model.get_weights()[0][0], before)
    assert model.step_count == 0
    with pytest.raises(ValueError, match="compile_epoch=True cannot be combined"):
        model.fit(X[:16], y[:16], batch_size=8, data_parallel=True, compile_epoch=True)
