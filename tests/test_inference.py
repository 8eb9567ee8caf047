"""The inference path (core/inference.py): its outputs against the training forward pass written
out independently (core/network.py's ``forward`` with new arrays, then the head's output) to 1e-12
in float64 and float32 rounding, for every kernel table, head and hidden activation, through the
column plan (a text column, missing cells) and target scaling; chunk boundaries; workspaces reused
and nothing concatenated; one finiteness pass per call; JAX compiling one program per row bucket."""

import numpy as np
import pytest

from reseau import MLP
from reseau.core import inference
from reseau.core.network import forward as training_forward

HEADS = {"softmax": 3, "sigmoid": 1, "identity": 2}
HIDDEN = ["relu", "leaky_relu", "tanh", "sigmoid", "identity"]
KERNELS = ["reference", "numpy", "numba"]


def _model(head, hidden, kernels="numba", dtype="float64", backend="numpy", n=61, **kw):
    if kernels == "numba":
        pytest.importorskip("numba", reason="numba is not installed (pip install 'reseau[cpu]')")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 5))
    y = {"softmax": rng.integers(0, 3, n), "sigmoid": rng.integers(0, 2, n), "identity": rng.normal(size=(n, 2))}
    model = MLP([5, 9, 7, HEADS[head]], hidden=hidden, output=head, dtype=dtype, seed=1, normalize=None,
                kernels=kernels, backend=backend, **kw)  # fmt: skip
    model.fit(X, y[head], epochs=2, batch_size=16, verbose=0)
    return model, X


def _expected(model, X):
    """The head's output by the training forward pass (new arrays, no workspace), in float64."""
    Xd = model.backend.asarray(np.asarray(X, dtype=model.dtype_name))
    layers = model.layout.unflatten(model.kern.xp, model.params)
    Z = training_forward(model.kern, layers, model.activations, Xd)[-1][1]
    return model.backend.to_numpy(model.kern.head_output(model.output, Z)).astype(np.float64)


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("head", list(HEADS))
def test_outputs_equal_the_training_forward_pass(head, hidden, kernels):
    model, X = _model(head, hidden, kernels)
    model.forward.inference.rows = 16  # 61 rows: three full chunks and a short one
    got = model.forward.inference.output(model.params, X)
    np.testing.assert_allclose(got, _expected(model, X), rtol=1e-12, atol=1e-15)
    if head != "identity":
        want = _expected(model, X)
        np.testing.assert_allclose(model.predict_proba(X), want[:, 0] if head == "sigmoid" else want, rtol=1e-12)


@pytest.mark.parametrize("head", list(HEADS))
def test_float32_within_its_rounding(head):
    model, X = _model(head, "tanh", dtype="float32")
    got = model.forward.inference.output(model.params, X.astype(np.float32))
    np.testing.assert_allclose(got, _expected(model, X), rtol=2e-6, atol=2e-7)


@pytest.mark.parametrize("head", list(HEADS))
def test_jax_buckets_give_the_same_numbers_and_compile_once_per_bucket(head):
    pytest.importorskip("jax", reason="JAX is not installed (pip install 'reseau[jax]')")
    model, X = _model(head, "relu", kernels=None, backend="jax", n=300)
    inf = model.forward.inference
    want = _expected(model, X)
    for n in (300, 299, 257, 200, 130, 129):  # buckets 512 (300 .. 257) and 256 (200 .. 129)
        np.testing.assert_allclose(inf.output(model.params, X[:n]), want[:n], rtol=1e-5, atol=1e-6)
    assert inf._program("output")._cache_size() == 2


@pytest.mark.parametrize("head", list(HEADS))
def test_every_backend_gives_the_numpy_numbers_to_1e_12(backend, head):
    """The same weights on each backend present (CuPy where a GPU is usable: its fused kernels and
    workspaces; JAX: its buckets) give the reference kernels' outputs, and predict the same."""
    cpu, X = _model(head, "tanh", kernels="reference")
    other = MLP([5, 9, 7, HEADS[head]], hidden="tanh", output=head, dtype="float64", normalize=None,
                backend=backend.name)  # fmt: skip
    other.build(X, np.zeros(len(X), dtype=int) if head != "identity" else np.zeros((len(X), 2)))
    other.set_weights(cpu.get_weights())
    other.classes, other.target_scale = cpu.classes, cpu.target_scale
    other.forward.inference.rows = min(other.forward.inference.rows, 16)
    got = other.forward.inference.output(other.params, X)
    np.testing.assert_allclose(got, _expected(cpu, X), rtol=1e-12, atol=1e-15)
    if head == "identity":
        np.testing.assert_allclose(other.predict(X), cpu.predict(X), rtol=1e-12)
    else:
        np.testing.assert_array_equal(other.predict(X), cpu.predict(X))


def test_chunk_rows_follow_the_cache_and_stay_bounded():
    # 2 MiB L2, float32, 64-100-10: (64 + 200 + 10) · 4 bytes a row, 1 MiB → 956 → 896 rows
    assert inference.chunk_rows([64, 100, 10], 4, l2=2 << 20) == 896
    assert inference.chunk_rows([784, 4096, 10], 4, l2=2 << 20) == 256  # the floor
    assert inference.chunk_rows([3, 2**22, 2], 4, l2=2 << 20) == 1  # a huge layer: the memory bound
    assert inference.chunk_rows([5, 3, 1], 8, l2=1 << 30) == inference.MAX_CHUNK_ELEMENTS // 5
    assert inference.l2_cache_bytes() >= 1 << 16
    assert [inference.pad_rows(n) for n in (1, 64, 65, 129, 8192)] == [64, 64, 128, 256, 8192]


def test_workspaces_are_reused_and_results_written_in_place(monkeypatch):
    model, X = _model("softmax", "relu")
    inf = model.forward.inference
    inf.rows = 16
    first = inf.output(model.params, X)
    buffers = [b for pair in inf._buffers() for b in pair]

    def no_concatenation(*a, **k):
        raise AssertionError("the inference path concatenated")

    monkeypatch.setattr(np, "concatenate", no_concatenation)
    into = np.full((len(X), 3), np.nan)
    assert inf.output(model.params, X, into=into) is into
    np.testing.assert_array_equal(into, first)
    assert all(a is b for a, b in zip(buffers, (b for pair in inf._buffers() for b in pair)))


def test_one_finiteness_pass_per_predict_and_a_bad_cell_named(row_sums):
    model, X = _model("sigmoid", "relu", dtype="float32")
    X = X.astype(np.float32)
    row_sums.clear()  # the fit's own
    model.predict(X)
    model.predict_proba(X)
    assert row_sums == [5, 5]
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match=r"X\[3, 1\] is inf"):
        model.predict(X)


def test_column_plan_and_target_scaling_through_the_inference_path():
    pd = pytest.importorskip("pandas", reason="pandas is not installed (pip install 'reseau[sklearn]')")
    rng = np.random.default_rng(3)
    n = 80
    frame = pd.DataFrame(
        {
            "size": rng.normal(50, 10, n),
            "colour": rng.choice(["red", "green", "blue"], n),
            "weight": np.where(rng.random(n) < 0.2, np.nan, rng.normal(3, 1, n)),
        }
    )
    y = frame["size"] * 10 + rng.normal(0, 1, n)
    model = MLP([None, 6, 1], output="identity", dtype="float64", seed=0)
    model.fit(frame, y, epochs=3, batch_size=16, verbose=0)
    Xm = model.device_inputs(frame)  # the plan's matrix, as training sees it
    layers = model.layout.unflatten(model.kern.xp, model.params)
    Z = training_forward(model.kern, layers, model.activations, Xm)[-1][1]
    want = model.target_scale.inverse(np.asarray(Z))[:, 0]
    model.forward.inference.rows = 16
    np.testing.assert_allclose(model.predict(frame), want, rtol=1e-12)
    metrics = model.evaluate(frame, y)
    rmse = float(np.sqrt(np.mean((want - y.to_numpy()) ** 2)))
    assert metrics["rmse"] == pytest.approx(rmse, rel=1e-10)


def test_threads_predicting_at_once_get_their_own_numbers():
    """A model shared by threads (a web server, the playground's page beside its training thread):
    each thread has its own workspace, so concurrent predictions equal one thread's (they once
    overwrote each other's activations)."""
    import threading

    model, X = _model("softmax", "relu", dtype="float32", n=400)
    X = np.repeat(X, 25, axis=0).astype(np.float32)
    model.forward.inference.rows = 256
    want = model.predict_proba(X)
    wrong = []

    def predict():
        for _ in range(20):
            if not np.array_equal(model.predict_proba(X), want):
                wrong.append(1)

    threads = [threading.Thread(target=predict) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong
