"""The divergence guard: a step with a non-finite loss or gradient is never applied; "stop" keeps
the weights of the last good step and names where it happened, "skip" drops the step."""

import re

import numpy as np
import pytest
from conftest import to_np

from reseau import MLP, TrainingDivergedError
from reseau.core import checkpoint, guard, optim
from reseau.core.state import StepState


def _weights(model):
    return [a for pair in model.get_weights() for a in pair]


def _exploding(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(20, 3)) * 1e3, rng.normal(size=20) * 1e3


def test_stop_keeps_the_weights_of_the_last_good_step(backend):
    """Batch gradient descent takes one step per epoch: the run that diverges in epoch e must hold
    exactly the weights of a run told to stop after e − 1 epochs."""
    X, y = _exploding()
    kw = dict(batch_size=None, optimizer="sgd", lr=10.0)
    model = MLP([3, 8, 1], output="identity", backend=backend.name, dtype="float64", seed=0, normalize=None)
    with pytest.raises(TrainingDivergedError, match="the weights of the last good step were kept") as info:
        model.fit(X, y, epochs=200, **kw)
    message = str(info.value)
    assert "lower learning rate" in message and "normalize=" in message and "on_divergence='skip'" in message
    epoch = int(re.search(r"in epoch (\d+)", message).group(1))
    assert re.search(r"at step 1 of 1 in epoch", message) and epoch > 1
    assert model.step_count == epoch - 1 and model.epoch == epoch - 1
    good = MLP([3, 8, 1], output="identity", backend=backend.name, dtype="float64", seed=0, normalize=None)
    good.fit(X, y, epochs=epoch - 1, **kw)
    for a, b in zip(_weights(model), _weights(good)):
        np.testing.assert_array_equal(a, b)
    assert all(np.isfinite(a).all() for a in _weights(model))


def _one_bad_row(n=12, row=5):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(n, 3)), rng.normal(size=n)
    X[row] = 1e30  # finite in float32, but its squared error overflows: the loss of its step is inf
    return X, y


@pytest.mark.parametrize("kernels", [None, "reference"])
def test_stop_mid_epoch_names_the_step_and_keeps_the_step_before(backend, kernels, tmp_path):
    """SGD, one row per step: the bad row's place in the epoch's shuffle is the step named, and the
    weights kept are those the checkpoint after the step before it recorded."""
    if kernels == "reference" and backend.name != "numpy":
        pytest.skip("the reference table on numpy is the case of interest; jax has one table")
    X, y = _one_bad_row()
    model = MLP([3, 4, 1], output="identity", backend=backend.name, seed=0, kernels=kernels, normalize=None)
    replica = np.random.default_rng()
    replica.bit_generator.state = model.rng.bit_generator.state
    order = replica.permutation(len(X))
    position = int(np.flatnonzero(order == 5)[0]) + 1
    with pytest.raises(TrainingDivergedError, match=f"loss became inf at step {position} of 12 in epoch 1 "):
        model.fit(
            X,
            y,
            epochs=3,
            batch_size=1,
            optimizer="adam",
            lr=0.01,
            checkpoint=tmp_path,
            checkpoint_every=1,
            checkpoint_keep=100,
        )
    assert model.step_count == position - 1
    if position > 1:
        from reseau.core import serialize

        tensors, _ = serialize.read(tmp_path / f"step-{position - 1:012d}.ckpt")
        np.testing.assert_array_equal(to_np(backend, model.params), checkpoint.flat_params(tensors, 2))
        np.testing.assert_array_equal(to_np(backend, model.opt_state.slots["m"]), tensors["state.m"])
    assert not (tmp_path / f"step-{position:012d}.ckpt").exists()


def test_skip_drops_bad_steps_and_goes_on(backend):
    X, y = _one_bad_row()
    model = MLP([3, 4, 1], output="identity", backend=backend.name, seed=0, normalize=None)
    h = model.fit(X, y, epochs=4, batch_size=1, optimizer="adam", lr=0.01, on_divergence="skip")
    assert h["skipped_steps"] == [1, 1, 1, 1] and model.step_count == 48
    assert all(np.isfinite(a).all() for a in _weights(model)) and all(np.isfinite(h["loss"]))
    assert h["loss"][-1] < h["loss"][0]


def test_skip_averages_the_loss_over_the_applied_steps():
    """With every row the same, each applied step's loss is known: the epoch's loss is their mean."""
    X = np.ones((6, 2))
    X[2] = 1e30
    y = np.zeros(6)
    model = MLP([2, 1], output="identity", dtype="float32", seed=0, normalize=None)
    W0 = model.get_weights()
    h = model.fit(X, y, epochs=1, batch_size=1, optimizer="sgd", lr=1e-9, on_divergence="skip")
    ((W, b),) = W0
    first = 0.5 * float((np.ones(2) @ W + b)[0]) ** 2  # lr 1e-9: every applied step has about this loss
    assert h["skipped_steps"] == [1] and h["loss"][0] == pytest.approx(first, rel=1e-6)


def test_an_epoch_of_nothing_but_bad_steps_is_an_error_and_changes_nothing():
    X, y = _one_bad_row()
    model = MLP([3, 4, 1], output="identity", seed=0, normalize=None)
    before = _weights(model)
    with pytest.raises(TrainingDivergedError, match=r"every step of epoch 1 .*\(1 skipped\)"):
        model.fit(X, y, epochs=2, batch_size=None, on_divergence="skip")
    for a, b in zip(before, _weights(model)):
        np.testing.assert_array_equal(a, b)


def test_on_divergence_is_checked():
    model = MLP([3, 4, 1], seed=0, normalize=None)
    with pytest.raises(ValueError, match="on_divergence='ignore' is not a mode; expected 'stop'"):
        model.fit(np.zeros((4, 3)), [0, 1, 0, 1], on_divergence="ignore")


@pytest.mark.parametrize("bad", ["nan", "inf", "huge"])
def test_the_guard_leaves_params_and_state_untouched(kern64, bad):
    """Each kernel table: a non-finite (or float32-overflowing) gradient with a finite loss is
    refused; params and every state buffer keep their values; the bookkeeping records it."""
    kern = kern64
    bk = kern.backend
    dtype = bk.float_dtype("float32" if bad == "huge" else "float64")
    rng = np.random.default_rng(0)
    p0, g0 = rng.normal(size=37), rng.normal(size=37)
    g0[11] = {"nan": np.nan, "inf": np.inf, "huge": 1e20}[bad]
    opt = optim.Adam(0.1)
    params = bk.asarray(p0.astype(np.float32 if bad == "huge" else np.float64), dtype=dtype)
    state = StepState.of(opt.init(kern, params), guard.fresh(bk, dtype))
    state.slots["m"] = state.slots["m"] + 0.5
    before = {k: to_np(bk, v).copy() for k, v in state.optimizer_state().items()}
    p_before = to_np(bk, params).copy()
    grads = bk.asarray(g0.astype(p_before.dtype), dtype=dtype)
    loss = bk.asarray(np.asarray(1.25, dtype=p_before.dtype), dtype=dtype)
    for mode in guard.MODES:
        with np.errstate(over="ignore"):  # g·g overflows on purpose ("huge")
            new_p, new_s = guard.guarded_update(kern, opt, params, grads, state, 7, loss, loss, 4, mode)
        np.testing.assert_array_equal(to_np(bk, new_p), p_before)
        for key in ("lr", "m", "v"):
            np.testing.assert_array_equal(to_np(bk, new_s.optimizer_state()[key]), before[key])
        book = guard.read(bk, new_s)
        assert book == {"loss_sum": 0.0, "rows": 0, "skipped": 1, "first_bad": 7, "bad_loss": 1.25, "correct": 0.0}


def test_the_guard_applies_a_good_step_exactly_as_the_optimiser(kern64):
    kern = kern64
    bk = kern.backend
    dtype = bk.float_dtype("float64")
    rng = np.random.default_rng(0)
    p0, g0 = rng.normal(size=37), rng.normal(size=37)
    opt = optim.Adam(0.1)
    mk = lambda: bk.asarray(p0.copy(), dtype=dtype)  # noqa: E731
    plain_p, plain_s = opt.update(kern, mk(), bk.asarray(g0, dtype=dtype), opt.init(kern, mk()), 0)
    params = mk()
    state = StepState.of(opt.init(kern, params), guard.fresh(bk, dtype))
    loss = bk.asarray(np.asarray(0.5), dtype=dtype)
    new_p, new_s = guard.guarded_update(kern, opt, params, bk.asarray(g0, dtype=dtype), state, 0, loss, loss, 3, "stop")
    # JAX runs the guarded update compiled (lax.cond), the plain one op by op: equal to rounding
    same = (
        np.testing.assert_array_equal
        if bk.name != "jax"
        else (lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-15, atol=0))
    )
    same(to_np(bk, new_p), to_np(bk, plain_p))
    same(to_np(bk, new_s.slots["v"]), to_np(bk, plain_s["v"]))
    assert guard.read(bk, new_s) == {
        "loss_sum": 1.5,
        "rows": 3,
        "skipped": 0,
        "first_bad": -1,
        "bad_loss": 0.0,
        "correct": 0.0,
    }
