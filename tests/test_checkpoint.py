"""Checkpoints and exact resume: a fit resumed from any checkpoint ends with the weights, optimiser
state and history of the uninterrupted run; checkpoints survive SIGKILL mid-write."""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import to_np

from reseau import MLP, load, optim
from reseau.core import checkpoint, serialize


def _data(n=50, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] - X[:, 1] > 0).astype(int)


def _model(backend="numpy", **kw):
    return MLP([3, 5, 1], backend=backend, dtype="float64", seed=0, dropout=0.2, **{"normalize": None, **kw})


def _fit_args(X, y):
    return dict(
        epochs=4,
        batch_size=8,
        optimizer="adam",
        lr=0.01,
        validation_data=(X[:10], y[:10]),
        schedule=optim.CosineAnnealing(T_max=30, per="step"),
    )


def _only(directory, source):
    """A directory holding just the checkpoint file ``source`` (as if the run died right after it)."""
    directory.mkdir()
    os.link(source, directory / source.name)
    return directory


def _assert_same_run(a, b, exact):
    check = (
        np.testing.assert_array_equal if exact else (lambda x, y: np.testing.assert_allclose(x, y, rtol=0, atol=1e-12))
    )
    check(to_np(a.backend, a.params), to_np(b.backend, b.params))
    for key in ("m", "v", "lr"):
        check(
            to_np(a.backend, a.opt_state.optimizer_state()[key]), to_np(b.backend, b.opt_state.optimizer_state()[key])
        )
    assert a.step_count == b.step_count and a.epoch == b.epoch
    for key in ("loss", "val_loss", "accuracy", "lr"):
        if exact:
            assert a.history[key] == b.history[key], key
        else:
            np.testing.assert_allclose(a.history[key], b.history[key], rtol=1e-12)


def test_resume_from_any_step_ends_as_the_uninterrupted_run(backend, tmp_path):
    """Dropout, Adam, a per-step schedule, a short last batch: resumed from the checkpoint after any
    step (mid-epoch or at an epoch's end) the run ends bit-identical on numpy along the same path
    (the full run checkpoints after each step, so it steps one by one: so does the resumed one
    here), to 1e-12 on jax and where the resumed fit runs compiled epochs on numpy."""
    X, y = _data()
    full = _model(backend.name)
    full.fit(X, y, checkpoint=tmp_path / "all", checkpoint_every=1, checkpoint_keep=1000, **_fit_args(X, y))
    files = sorted((tmp_path / "all").glob("step-*.ckpt"))
    assert len(files) == 4 * 7  # 50 rows in batches of 8: 7 steps an epoch
    picks = files if backend.name == "numpy" else files[::4]
    for f in picks:
        resumed = _model(backend.name)
        step_by_step = {"compile_epoch": False} if backend.name == "numpy" else {}
        resumed.fit(X, y, resume=_only(tmp_path / f"one-{f.stem}", f), **_fit_args(X, y), **step_by_step)
        _assert_same_run(full, resumed, exact=backend.name == "numpy")
    if backend.name == "numpy":  # compiled epochs after the resumed epoch: the same run to rounding
        resumed = _model(backend.name)
        resumed.fit(X, y, resume=_only(tmp_path / "compiled", files[3]), **_fit_args(X, y))
        assert resumed.steps.path.startswith("compiled epochs")
        _assert_same_run(full, resumed, exact=False)


def test_resume_keeps_early_stopping_and_plateau_state(tmp_path):
    X, y = _data(80)
    args = dict(
        epochs=30,
        batch_size=16,
        optimizer="sgd",
        lr=0.3,
        validation_split=0.25,
        patience=3,
        schedule=optim.ReduceOnPlateau(factor=0.5, patience=1, threshold=0.05),
    )
    full = _model()
    h = full.fit(X, y, checkpoint=tmp_path / "all", checkpoint_keep=1000, **args)
    assert h.stopped_epoch is not None and h.best_epoch < h.stopped_epoch and min(h["lr"]) < 0.3
    for f in sorted((tmp_path / "all").glob("step-*.ckpt")):
        resumed = _model()
        hr = resumed.fit(X, y, resume=_only(tmp_path / f"one-{f.stem}", f), **args)
        np.testing.assert_array_equal(resumed.params, full.params)
        assert {k: v for k, v in hr.items() if k != "seconds"} == {k: v for k, v in h.items() if k != "seconds"}
        assert (hr.best_epoch, hr.stopped_epoch) == (h.best_epoch, h.stopped_epoch)


def test_compiled_epochs_checkpoint_at_epoch_ends_and_resume(tmp_path):
    pytest.importorskip("jax", reason="JAX is not installed (pip install 'reseau[jax]')")
    X, y = _data(48)
    args = dict(epochs=5, batch_size=8, optimizer="adam", lr=0.01, compile_epoch=True)
    full = _model("jax")
    full.fit(X, y, checkpoint=tmp_path / "all", checkpoint_every=10, checkpoint_keep=1000, **args)
    steps = sorted(int(f.stem.split("-")[1]) for f in (tmp_path / "all").glob("step-*.ckpt"))
    assert steps == [12, 24, 30]  # the epochs that crossed a multiple of 10 steps, and the end
    resumed = _model("jax")
    resumed.fit(X, y, resume=_only(tmp_path / "one", tmp_path / "all" / "step-000000000012.ckpt"), **args)
    np.testing.assert_allclose(
        to_np(resumed.backend, resumed.params), to_np(full.backend, full.params), rtol=0, atol=1e-12
    )


def test_only_the_newest_checkpoints_are_kept(tmp_path):
    X, y = _data()
    _model().fit(X, y, epochs=3, batch_size=8, checkpoint=tmp_path, checkpoint_every=2, checkpoint_keep=2)
    assert sorted(f.name for f in tmp_path.iterdir()) == ["step-000000000020.ckpt", "step-000000000021.ckpt"]


def test_a_checkpoint_is_also_a_model_file(tmp_path):
    X, y = _data()
    model = _model()
    model.fit(X, y, epochs=2, checkpoint=tmp_path)
    newest = checkpoint.latest(tmp_path)[0]
    again = load(newest)
    np.testing.assert_array_equal(again.params, model.params)
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning(tmp_path):
    X, y = _data()
    _model().fit(X, y, epochs=2, batch_size=25, checkpoint=tmp_path, checkpoint_every=1)
    newest = tmp_path / "step-000000000004.ckpt"
    data = bytearray(newest.read_bytes())
    data[-3] ^= 0xFF
    newest.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="checksum"):
        found = checkpoint.latest(tmp_path)
    assert found[0].name == "step-000000000003.ckpt"


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(lr=0.02), "different fit"),
        (dict(batch_size=16), "different fit"),
        (dict(data_seed=1), "different fit"),
    ],
)
def test_resume_refuses_a_checkpoint_of_another_fit(tmp_path, change, message):
    X, y = _data()
    _model().fit(X, y, epochs=2, batch_size=8, optimizer="adam", lr=0.01, checkpoint=tmp_path)
    args = dict(epochs=2, batch_size=8, optimizer="adam", lr=0.01)
    if "data_seed" in change:
        X, y = _data(seed=change.pop("data_seed"))
    args.update(change)
    fresh = _model()
    before = fresh.params.copy()
    with pytest.raises(ValueError, match=message):
        fresh.fit(X, y, resume=tmp_path, **args)
    np.testing.assert_array_equal(fresh.params, before)
    assert fresh.step_count == 0 and fresh.optimizer is None


def test_resume_refuses_another_network(tmp_path):
    X, y = _data()
    _model().fit(X, y, epochs=1, checkpoint=tmp_path)
    with pytest.raises(ValueError, match="different fit"):
        MLP([3, 6, 1], dtype="float64", seed=0, dropout=0.2, normalize=None).fit(X, y, epochs=1, resume=tmp_path)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(resume="MISSING"), r"resume='.*MISSING' holds no checkpoint"),
        (dict(checkpoint="FILE"), r"checkpoint='.*FILE': is a regular file; expected a directory"),
        (
            dict(checkpoint="DIR", checkpoint_every=0),
            r"checkpoint_every=0 is invalid; expected a positive integer or None",
        ),
        (dict(checkpoint="DIR", checkpoint_every=2.5), r"checkpoint_every=2.5 is invalid"),
        (dict(checkpoint="DIR", checkpoint_keep=0), r"checkpoint_keep=0 is invalid"),
        (dict(checkpoint=3), r"checkpoint=3 is not a directory path"),
    ],
)
def test_bad_checkpoint_arguments_are_clear_errors(tmp_path, kwargs, message):
    (tmp_path / "FILE").write_text("x")
    kwargs = {k: str(tmp_path / v) if isinstance(v, str) else v for k, v in kwargs.items()}
    X, y = _data()
    model = _model()
    before = model.params.copy()
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, epochs=1, **kwargs)
    np.testing.assert_array_equal(model.params, before)
    assert not (tmp_path / "DIR").exists()


CHILD = """
import os, sys
import numpy as np
from reseau import MLP
directory, out = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
model = MLP([4, 8, 1], dtype="float64", seed=0, dropout=0.1, kernels="numpy", normalize=None)
has = os.path.isdir(directory) and any(f.endswith(".ckpt") for f in os.listdir(directory))
model.fit(X, y, epochs=200, batch_size=8, optimizer="adam", lr=0.01, checkpoint=directory,
          checkpoint_every=1, checkpoint_keep=3, resume=directory if has else None)
np.save(out, model.params)
"""


def _newest_step(directory):
    steps = [int(f.name[5:-5]) for f in directory.glob("step-*.ckpt")] if directory.is_dir() else []
    return max(steps, default=-1)


def _child(tmp_path, directory, out):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    return subprocess.Popen(
        [sys.executable, str(script), str(directory), str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def test_sigkill_during_saves_always_leaves_a_loadable_checkpoint_and_resume_is_exact(tmp_path):
    """Kill the trainer (SIGKILL) at random moments, most of them inside a save (one per step);
    each time the newest complete checkpoint loads; resuming after every kill still ends with the
    uninterrupted run's weights, bit for bit."""
    reference = _child(tmp_path, tmp_path / "ref", tmp_path / "ref.npy")
    assert reference.wait(timeout=120) == 0, reference.stderr.read().decode()
    rng = random.Random(0)
    directory, newest = tmp_path / "run", -1
    kills = mid_write = 0
    for i in range(15):
        proc = _child(tmp_path, directory, tmp_path / "out.npy")
        deadline = time.monotonic() + 60
        while _newest_step(directory) <= newest and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)  # until this run has saved something new
        if i % 2:  # at a random moment
            time.sleep(rng.uniform(0.0, 0.002))
        else:  # as soon as a write is seen under way
            while not any(directory.glob(".step-*.tmp")) and proc.poll() is None and time.monotonic() < deadline:
                pass
        if proc.poll() is not None:
            break  # finished before the kill
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kills += 1
        mid_write += any(directory.glob(".step-*.tmp"))  # killed between the temporary file and the rename
        f, tensors, description = checkpoint.latest(directory)
        assert description["checkpoint"]["step"] > newest  # progress, never back
        newest = description["checkpoint"]["step"]
        params = checkpoint.flat_params(tensors, 2)
        assert params.shape == (4 * 8 + 8 + 8 + 1,) and np.isfinite(params).all()
        assert len(list(directory.glob("step-*.ckpt"))) <= 4  # the newest 3, and at most one being pruned
    print(f"{kills} kills, {mid_write} inside a write")
    assert kills == 15 and mid_write >= 5
    final = _child(tmp_path, directory, tmp_path / "out.npy")
    assert final.wait(timeout=120) == 0, final.stderr.read().decode()
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), np.load(tmp_path / "ref.npy"))


def test_serialized_integer_and_scalar_tensors_round_trip(tmp_path):
    tensors = {
        "order": np.arange(7, dtype=np.int64),
        "lr": np.asarray(0.25, dtype=np.float32),
        "idx": np.arange(3, dtype=np.int32),
    }
    serialize.write(tmp_path / "t.bin", tensors, {"x": 1})
    back, d = serialize.read(tmp_path / "t.bin")
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k], v)
