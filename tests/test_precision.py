"""GEMM precision as a model option (fp32 / tf32 / bf16): bfloat16 operands with float32 sums,
float32 weights, gradients, optimiser state, loss and softmax; stated as tolerances against fp32,
never bit-equality. JAX runs every option on the CPU; CuPy's run where a GPU is usable."""

import numpy as np
import pytest
from conftest import _skip_reason

import reseau
from reseau import datasets

JAX = pytest.mark.skipif(_skip_reason("jax") is not None, reason=_skip_reason("jax") or "")
GPU_BACKENDS = [
    pytest.param(name, marks=pytest.mark.skipif(_skip_reason(name) is not None, reason=_skip_reason(name) or ""))
    for name in ("jax", "cupy")
]


def _digits():
    X, y = datasets.load("digits")
    return datasets.train_test_split(X, y, test_size=0.25, seed=0)


@JAX
def test_bf16_gemm_rounds_both_operands_and_sums_in_float32():
    kern = reseau.kernels.for_backend(reseau.backends.get("jax"), precision="bf16")
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(33, 70)).astype(np.float32), rng.normal(size=(70, 17)).astype(np.float32)
    got = np.asarray(kern.matmul(kern.xp.asarray(A), kern.xp.asarray(B)))
    import jax.numpy as jnp

    rounded = [np.asarray(jnp.asarray(M).astype(jnp.bfloat16).astype(jnp.float32), dtype=np.float64) for M in (A, B)]
    want = rounded[0] @ rounded[1]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # float32 sums of exact bf16 products
    assert np.abs(want - A.astype(np.float64) @ B).max() > 1e-3  # and bf16 rounding is really there


@pytest.mark.parametrize("backend", GPU_BACKENDS)
@pytest.mark.parametrize("precision", ["tf32", "bf16"])
def test_each_step_s_loss_stays_within_tolerance_of_fp32(backend, precision):
    """Same seed, same batches: the per-step loss of tf32 / bf16 training is within 1 % of fp32's
    (on a CPU, JAX's tf32 is true float32: equal losses)."""
    X_train, _, y_train, _ = _digits()
    runs = {}
    for p in ("fp32", precision):
        model = reseau.MLP([64, 128, 64, 10], seed=0, backend=backend, precision=p)
        losses = []
        model.fit(
            X_train[:640],
            y_train[:640],
            epochs=3,
            batch_size=64,
            optimizer="adam",
            lr=3e-3,
            callback=lambda record: losses.append(record["loss"]),
        )
        runs[p] = np.array(losses)
        assert model.get_weights()[0][0].dtype == np.float32
        assert all(np.asarray(v).dtype == np.float32 for v in model.opt_state.slots.values())
    relative = np.abs(runs[precision] - runs["fp32"]) / runs["fp32"]
    assert relative.max() < 1e-2, relative
    if precision == "tf32" and backend == "jax" and reseau.backends.get("jax").devices()[0].startswith("cpu"):
        np.testing.assert_array_equal(runs["tf32"], runs["fp32"])


@pytest.mark.parametrize("backend", GPU_BACKENDS)
def test_bf16_reaches_fp32_s_accuracy_on_digits(backend):
    X_train, X_test, y_train, y_test = _digits()
    accuracy = {}
    for p in ("fp32", "bf16"):
        model = reseau.MLP([64, 128, 10], seed=0, backend=backend, precision=p)
        model.fit(X_train, y_train, epochs=30, batch_size=32, optimizer="adam", lr=3e-3)
        accuracy[p] = (model.predict(X_test) == y_test).mean()
    assert accuracy["fp32"] > 0.95 and abs(accuracy["bf16"] - accuracy["fp32"]) <= 0.005, accuracy


@JAX
def test_the_file_records_the_precision_and_other_backends_load_it(tmp_path):
    X_train, X_test, y_train, _ = _digits()
    model = reseau.MLP([64, 32, 10], seed=0, backend="jax", precision="bf16")
    model.fit(X_train, y_train, epochs=3, batch_size=64, optimizer="adam", lr=3e-3)
    model.save(tmp_path / "m.reseau")
    _, description = reseau.core.serialize.read(tmp_path / "m.reseau")
    assert description["precision"] == "bf16"
    assert reseau.load(tmp_path / "m.reseau", backend="jax").precision == "bf16"
    on_numpy = reseau.load(tmp_path / "m.reseau", backend="numpy")  # numpy runs fp32 on the same weights
    assert on_numpy.precision == "fp32"
    np.testing.assert_allclose(on_numpy.predict_proba(X_test), model.predict_proba(X_test), atol=2e-2)
    assert "precision='bf16'" in repr(model) and "bf16 GEMMs" in model.summary()


@JAX
def test_checkpoints_resume_and_the_guard_holds_in_bf16(tmp_path):
    X_train, _, y_train, _ = _digits()
    X, y = X_train[:256], y_train[:256]
    whole = reseau.MLP([64, 32, 10], seed=0, backend="jax", precision="bf16")
    whole.fit(X, y, epochs=4, batch_size=64, optimizer="adam", lr=3e-3)
    first = reseau.MLP([64, 32, 10], seed=0, backend="jax", precision="bf16")
    first.fit(X, y, epochs=2, batch_size=64, optimizer="adam", lr=3e-3, checkpoint=tmp_path / "ck")
    resumed = reseau.MLP([64, 32, 10], seed=0, backend="jax", precision="bf16")
    resumed.fit(
        X, y, epochs=4, batch_size=64, optimizer="adam", lr=3e-3, checkpoint=tmp_path / "ck", resume=tmp_path / "ck"
    )
    for (W, _), (W2, _) in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(W, W2, rtol=1e-6, atol=1e-7)
    wild = reseau.MLP([64, 32, 10], seed=0, backend="jax", precision="bf16")
    with pytest.raises(reseau.TrainingDivergedError):
        wild.fit(X, y, epochs=3, batch_size=64, optimizer="sgd", lr=1e38)
    assert all(np.isfinite(W).all() and np.isfinite(b).all() for W, b in wild.get_weights())


def test_numpy_says_what_it_runs():
    with pytest.raises(ValueError, match="precision='bf16' runs on the jax and cupy backends"):
        reseau.MLP([4, 2], backend="numpy", precision="bf16")
    with pytest.raises(ValueError, match="precision='tf32' runs on the jax and cupy backends"):
        reseau.MLP([4, 2], backend="numpy", precision="tf32")
    with pytest.raises(ValueError, match="precision='fp16' is invalid"):
        reseau.MLP([4, 2], precision="fp16")


@JAX
def test_bf16_with_float64_is_refused_and_pickles_keep_the_precision():
    import pickle

    with pytest.raises(ValueError, match="with dtype='float64' use precision='fp32'"):
        reseau.MLP([4, 2], backend="jax", dtype="float64", precision="bf16")
    model = reseau.MLP([4, 3, 2], backend="jax", precision="bf16", seed=0)
    twin = pickle.loads(pickle.dumps(model))
    assert twin.precision == "bf16" and twin.kern.precision == "bf16"


@JAX
def test_cli_trains_in_bf16_on_jax_and_refuses_it_on_numpy(capsys):
    from reseau.cli import main

    assert main(["train", "--backend", "jax", "--precision", "bf16", "--epochs", "3", "--quiet"]) == 0
    assert main(["train", "--backend", "numpy", "--precision", "bf16", "--epochs", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "precision='bf16'" in err[0]
