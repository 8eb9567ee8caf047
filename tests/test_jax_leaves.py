"""JAX steps large models on leaves (one array per W and b, Layout.split) instead of the flat
buffer: the same training, to rounding, with every feature that touches the gradient."""

import numpy as np
import pytest

pytest.importorskip("jax", reason="JAX is not installed (pip install 'reseau[jax]')")

from reseau import MLP, TrainingDivergedError, optim  # noqa: E402
from reseau.core import steps  # noqa: E402
from reseau.core.layout import Layout  # noqa: E402


def _fit(monkeypatch, leaves_from, opt, tmp_path=None, **kw):
    monkeypatch.setattr(steps.StepForm, "LEAVES_FROM", leaves_from)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    model = MLP([4, 6, 5, 3], hidden=["tanh", "relu"], backend="jax", dtype="float64", seed=0, **kw)
    h = model.fit(X, y, epochs=3, batch_size=8, optimizer=opt, validation_data=(X[:8], y[:8]), checkpoint=tmp_path)
    assert steps.StepForm(model.backend, model.kern, model.network, model.training).leaves == (leaves_from == 0)
    return model, h


@pytest.mark.parametrize(
    "opt, kw",
    [
        (lambda: optim.Adam(0.01, amsgrad=True, clip_norm=0.5), dict(dropout=0.2)),
        (lambda: optim.SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3), dict(l1=1e-3, l2=1e-2)),
        (lambda: optim.RMSprop(0.01, centered=True, momentum=0.5), {}),
        (lambda: optim.Adadelta(1.0), {}),
        (lambda: optim.Adagrad(0.05), dict(l2=1e-3)),
    ],
)
def test_leaves_train_as_the_flat_buffer(monkeypatch, opt, kw):
    flat, h_flat = _fit(monkeypatch, 1 << 40, opt(), **kw)
    leaves, h_leaves = _fit(monkeypatch, 0, opt(), **kw)
    np.testing.assert_allclose(np.asarray(leaves.params), np.asarray(flat.params), rtol=1e-12, atol=1e-14)
    for key, value in flat.opt_state.buffers().items():
        np.testing.assert_allclose(
            np.asarray(leaves.opt_state.buffers()[key]), np.asarray(value), rtol=1e-12, atol=1e-14
        )
    np.testing.assert_allclose(h_leaves["loss"], h_flat["loss"], rtol=1e-12)
    assert leaves.params.shape == (leaves.layout.size,)  # the model holds flat buffers between fits


def test_leaves_checkpoint_and_resume(monkeypatch, tmp_path):
    full, _ = _fit(monkeypatch, 0, optim.Adam(0.01), tmp_path / "ck", dropout=0.2)
    files = sorted((tmp_path / "ck").glob("step-*.ckpt"))
    monkeypatch.setattr(steps.StepForm, "LEAVES_FROM", 0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    resumed = MLP([4, 6, 5, 3], hidden=["tanh", "relu"], backend="jax", dtype="float64", seed=0, dropout=0.2)
    resumed.fit(
        X, y, epochs=3, batch_size=8, optimizer=optim.Adam(0.01), validation_data=(X[:8], y[:8]), resume=files[0].parent
    )  # the newest: the end of the run
    np.testing.assert_array_equal(np.asarray(resumed.params), np.asarray(full.params))


def test_leaves_divergence_keeps_the_last_good_step(monkeypatch):
    monkeypatch.setattr(steps.StepForm, "LEAVES_FROM", 0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)) * 1e3, rng.normal(size=20) * 1e3
    model = MLP([3, 8, 1], output="identity", backend="jax", dtype="float64", seed=0, normalize=None)
    with pytest.raises(TrainingDivergedError, match=r"at step 1 of 1 in epoch \d+"):
        model.fit(X, y, epochs=200, batch_size=None, optimizer="sgd", lr=10.0)
    assert model.epoch >= 1 and model.step_count == model.epoch
    good = MLP([3, 8, 1], output="identity", backend="jax", dtype="float64", seed=0, normalize=None)
    good.fit(X, y, epochs=model.epoch, batch_size=None, optimizer="sgd", lr=10.0)
    np.testing.assert_array_equal(np.asarray(model.params), np.asarray(good.params))


def test_split_and_join_are_inverse():
    import jax.numpy as jnp

    layout = Layout([3, 4, 2])
    flat = jnp.arange(layout.size, dtype=jnp.float32)
    leaves = layout.split(jnp, flat)
    assert [a.shape for a in leaves] == [(3, 4), (4,), (4, 2), (2,)]
    np.testing.assert_array_equal(np.asarray(layout.join(jnp, leaves)), np.asarray(flat))
    assert layout.unflatten(jnp, leaves)[1][0] is leaves[2]
