"""Every fast kernel against kernels/reference.py on every backend and kernel table present,
float32 and float64, sizes that are multiples of nothing, output buffers poisoned with NaN."""

import tracemalloc

import numpy as np
import pytest
from conftest import to_np

from reseau import MLP, optim
from reseau.core.activations import ACTIVATIONS
from reseau.kernels import Reference

DTYPES = ["float32", "float64"]
TOL = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-14)}
SHAPES = [(7, 11, 13), (257, 5, 263)]  # (n, n_in, n_out); the second is big enough for parallel loops


def _arrays(kern, dtype, *host):
    bk = kern.backend
    return [bk.asarray(np.array(h, copy=True), dtype=bk.float_dtype(dtype)) for h in host]


def _poison(kern, dtype, shape):
    return kern.backend.asarray(np.full(shape, np.nan), dtype=kern.backend.float_dtype(dtype))


def _close(kern, got, want, dtype):
    np.testing.assert_allclose(to_np(kern.backend, got), to_np(kern.backend, want), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=["small", "large"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_dense_forward_and_activation_grad(kern, dtype, shape, name):
    n, n_in, n_out = shape
    rng = np.random.default_rng(0)
    A_prev, W, b, dA = _arrays(
        kern,
        dtype,
        rng.normal(size=(n, n_in)),
        rng.normal(size=(n_in, n_out)),
        rng.normal(size=n_out),
        rng.normal(size=(n, n_out)),
    )
    ref = Reference(kern.backend)
    Z_ref, A_ref = ref.dense_forward(name, A_prev, W, b)
    A_buf = _poison(kern, dtype, (n, n_out))
    Z_buf = A_buf if name in kern.GRAD_FROM_A else _poison(kern, dtype, (n, n_out))
    Z, A = kern.dense_forward(name, A_prev, W, b, out=(Z_buf, A_buf))
    _close(kern, A, A_ref, dtype)
    if name not in kern.GRAD_FROM_A:
        _close(kern, Z, Z_ref, dtype)
    dZ_ref = ref.activation_grad(name, dA, Z_ref, A_ref)
    dZ = kern.activation_grad(name, dA, Z, A, out=_poison(kern, dtype, (n, n_out)))
    _close(kern, dZ, dZ_ref, dtype)
    dZ_inplace = kern.activation_grad(name, kern.backend.copy(dA), Z, A, out=None)
    _close(kern, dZ_inplace, dZ_ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=["small", "large"])
def test_dense_backward(kern, dtype, shape):
    n, n_in, n_out = shape
    rng = np.random.default_rng(1)
    A_prev, dZ, W = _arrays(
        kern, dtype, rng.normal(size=(n, n_in)), rng.normal(size=(n, n_out)), rng.normal(size=(n_in, n_out))
    )
    want = Reference(kern.backend).dense_backward(A_prev, dZ, W)
    out = (_poison(kern, dtype, (n_in, n_out)), _poison(kern, dtype, (n_out,)), _poison(kern, dtype, (n, n_in)))
    for got, ref in zip(kern.dense_backward(A_prev, dZ, W, out=out), want):
        _close(kern, got, ref, dtype)
    assert kern.dense_backward(A_prev, dZ, W, need_dA_prev=False, out=out)[2] is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_out", [1, 2, 10, 263])
def test_numba_bias_gradient_has_numpys_bits(dtype, n_out):
    """numba's column sums add the rows in the order NumPy does (one column: NumPy's own sum)."""
    import reseau

    host = reseau.backends.get("numpy")
    if "numba" not in reseau.kernels.variants(host):
        pytest.skip("numba is not installed (pip install 'reseau[cpu]')")
    fast, plain = (reseau.kernels.for_backend(host, variant) for variant in ("numba", "numpy"))
    rng = np.random.default_rng(4)
    for n in (1, 7, 128, 1000):
        A_prev, dZ, W = (rng.normal(size=s).astype(dtype) for s in ((n, 5), (n, n_out), (5, n_out)))
        dbs = []
        for kern in (plain, fast):
            out = (np.full((5, n_out), np.nan, dtype), np.full(n_out, np.nan, dtype), np.full((n, 5), np.nan, dtype))
            dbs.append(kern.dense_backward(A_prev, dZ, W, out=out)[1].copy())
        np.testing.assert_array_equal(dbs[1], dbs[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(9, 3), (6001, 11)], ids=["small", "large"])
@pytest.mark.parametrize("head", ["sigmoid", "softmax", "identity", "poisson"])
@pytest.mark.parametrize("alias", [False, True], ids=["out", "in-place"])
def test_head_loss(kern, dtype, shape, head, alias):
    n, k = shape
    rng = np.random.default_rng(2)
    Z_host = rng.normal(scale=3.0, size=shape)
    bk = kern.backend
    if head == "softmax":
        Y = bk.asarray(rng.integers(0, k, n).astype(np.int32))
    elif head == "poisson":  # the estimators' head (reseau.sklearn): the reference's on every table
        Y = _arrays(kern, dtype, rng.poisson(2.0, size=shape).astype(np.float64))[0]
    else:
        Y = _arrays(kern, dtype, (rng.random(shape) < 0.5) * 1.0 if head == "sigmoid" else rng.normal(size=shape))[0]
    (Z,) = _arrays(kern, dtype, Z_host)
    loss_ref, dZ_ref = Reference(bk).head_loss(head, Z, Y, scale=1.0 / n)
    Z_in = _arrays(kern, dtype, Z_host)[0]
    out = Z_in if alias else _poison(kern, dtype, shape)
    loss, dZ = kern.head_loss(head, Z_in, Y, scale=1.0 / n, out=out)
    _close(kern, dZ, dZ_ref, dtype)
    np.testing.assert_allclose(float(to_np(bk, loss)), float(to_np(bk, loss_ref)), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather(kern, dtype):
    rng = np.random.default_rng(3)
    (X,) = _arrays(kern, dtype, rng.normal(size=(31, 7)))
    idx = kern.backend.asarray(rng.permutation(31)[:13].astype(np.int32))
    got = kern.gather(X, idx, out=_poison(kern, dtype, (13, 7)))
    _close(kern, got, Reference(kern.backend).gather(X, idx), dtype)


OPT_CASES = {  # optimiser kernel calls: (the optimiser whose record and slots they take, step t)
    "sgd": (lambda: optim.SGD(0.05, weight_decay=0.01), 1),
    "momentum_first": (lambda: optim.SGD(0.05, momentum=0.9, dampening=0.2, weight_decay=0.01), 1),
    "momentum": (lambda: optim.SGD(0.05, momentum=0.9, dampening=0.2), 5),
    "nesterov": (lambda: optim.NAG(0.05, momentum=0.8, weight_decay=0.01), 5),
    "sutskever": (lambda: optim.SGD(0.05, momentum=0.9, form="sutskever", weight_decay=0.01), 1),
    "sutskever_nag": (lambda: optim.NAG(0.05, momentum=0.9, form="sutskever"), 1),
    "adagrad": (lambda: optim.Adagrad(0.05, lr_decay=0.1, eps=1e-10, weight_decay=0.01), 3),
    "adagrad_keras": (lambda: optim.Adagrad(0.05, eps=1e-7, form="keras"), 3),
    "adadelta": (lambda: optim.Adadelta(0.05, rho=0.9, eps=1e-6, weight_decay=0.01), 1),
    "adam": (lambda: optim.Adam(0.05, weight_decay=0.01), 4),
    "adam_low_beta": (lambda: optim.Adam(0.05, betas=(0.3, 0.9)), 4),
    "adamw_amsgrad": (lambda: optim.AdamW(0.05, weight_decay=0.1, amsgrad=True), 4),
    "adam_keras": (lambda: optim.Adam(0.05, eps=1e-7, form="keras"), 2),
    "rmsprop": (lambda: optim.RMSprop(0.05, weight_decay=0.01), 1),
    "rmsprop_centered_momentum": (lambda: optim.RMSprop(0.05, alpha=0.9, momentum=0.7, centered=True), 1),
    "rmsprop_low_alpha": (lambda: optim.RMSprop(0.05, alpha=0.3, centered=True), 1),
}


def _opt_step(kern, dtype, case, size, gs=1.0, seed=4):
    """``run(k)``: the case's kernel step on table k, over fresh copies of one set of buffers (θ, g,
    and the optimiser's slots in its kernel's order, None where switched off)."""
    opt, t = OPT_CASES[case][0](), OPT_CASES[case][1]
    rng = np.random.default_rng(seed)
    host = {name: rng.random(size) for name in opt.kernel_slots if name in opt.slots}
    if "g_avg" in host:  # v ≥ ḡ² keeps the centered root real
        host["v"] = host["v"] + host["g_avg"] ** 2
    p, g = rng.normal(size=size), rng.normal(size=size)
    lr = kern.backend.asarray(opt.lr, dtype=kern.backend.float_dtype(dtype))

    def run(k):
        P, G, *S = _arrays(kern, dtype, p, g, *host.values())
        slots, given = [], iter(S)
        for name in opt.kernel_slots:
            slots.append(next(given) if name in host else None)
        return getattr(k, opt.kernel)(P, G, tuple(slots), opt.coefficients(lr, t, gs))

    return run


def _compare(kern, dtype, got, want):
    (p, slots), (p_ref, slots_ref) = got, want
    _close(kern, p, p_ref, dtype)
    assert [s is None for s in slots] == [s is None for s in slots_ref]
    for s, s_ref in zip(slots, slots_ref):
        if s_ref is not None:
            _close(kern, s, s_ref, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1001, 70001])
@pytest.mark.parametrize("case", OPT_CASES)
@pytest.mark.parametrize("gs", [1.0, 0.5], ids=["g", "g/2"])
def test_optimizer_step(kern, dtype, size, case, gs):
    """Each table's step from the optimiser's own record and slots, against the reference's."""
    run = _opt_step(kern, dtype, case, size, gs)
    _compare(kern, dtype, run(kern), run(Reference(kern.backend)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ["rmsprop", "sgd", "adam"])
def test_switched_off_slots_never_read_stale_scratch(kern, dtype, case):
    """A slot an option switches off (RMSprop's momentum buffer, ...) is a scratch buffer: poisoned
    with NaN between two steps, the step must not read it (it once did, as 0·NaN)."""
    cache = getattr(kern, "_scratch_cache", None)
    if cache is None:
        pytest.skip(f"{type(kern).__name__} keeps no scratch buffers")
    run = _opt_step(kern, dtype, case, 301, seed=5)
    run(kern)
    for buf in cache.values():
        if getattr(buf, "dtype", None) is not None and buf.dtype.kind == "f":
            buf[...] = np.nan
    _compare(kern, dtype, run(kern), run(Reference(kern.backend)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_by_global_norm(kern, dtype):
    rng = np.random.default_rng(5)
    (g,) = _arrays(kern, dtype, rng.normal(size=1001))
    want = Reference(kern.backend).clip_by_global_norm(kern.backend.copy(g), 2.0)
    _close(kern, kern.clip_by_global_norm(g, 2.0), want, dtype)
    norm = float(np.linalg.norm(to_np(kern.backend, want)))
    assert norm == pytest.approx(2.0, rel=1e-5)


def _fast_variants():
    from reseau import backends, kernels

    return [v for v in kernels.variants(backends.get("numpy")) if v != "reference"]


@pytest.mark.parametrize("variant", _fast_variants())
@pytest.mark.parametrize(
    "hidden,output,optimizer",
    [
        (["relu", "tanh"], "softmax", optim.Adam(1e-2)),
        (["sigmoid", "gelu"], "sigmoid", optim.NAG(0.1, weight_decay=1e-3)),
        (["elu", "leaky_relu"], "identity", optim.RMSprop(1e-2, centered=True, momentum=0.5)),
        (["selu", "silu"], "softmax", optim.Adadelta()),
        (["softplus", "identity"], "sigmoid", optim.Adagrad(0.05, clip_norm=1.0)),
    ],
)
def test_training_with_fast_kernels_equals_the_reference_path(variant, hidden, output, optimizer):
    rng = np.random.default_rng(6)
    X = rng.normal(size=(53, 6))
    k = {"softmax": 4, "sigmoid": 1, "identity": 2}[output]
    y = (
        rng.integers(0, k, 53)
        if output == "softmax"
        else (rng.integers(0, 2, 53) if output == "sigmoid" else rng.normal(size=(53, 2)))
    )
    runs = []
    for kernels in ("reference", variant):
        model = MLP([6, 9, 8, k], hidden=hidden, output=output, dtype="float64", seed=3, kernels=kernels)
        h = model.fit(
            X, y, epochs=6, batch_size=16, optimizer=optimizer, schedule=optim.CosineAnnealing(30, per="step")
        )
        runs.append((model.get_weights(), h["loss"]))
    (w_ref, l_ref), (w, loss) = runs
    for (W0, b0), (W1, b1) in zip(w_ref, w):
        np.testing.assert_allclose(W1, W0, rtol=0, atol=1e-10)
        np.testing.assert_allclose(b1, b0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(loss, l_ref, rtol=1e-10)


@pytest.mark.parametrize("variant", _fast_variants())
@pytest.mark.parametrize("hidden,output", [("relu", "softmax"), ("tanh", "sigmoid")])
def test_steady_state_steps_allocate_nothing(variant, hidden, output):
    import gc

    rng = np.random.default_rng(7)
    k = 3 if output == "softmax" else 1
    X = rng.normal(size=(512, 20)).astype(np.float32)
    y = rng.integers(0, max(k, 2), 512)
    model = MLP([20, 256, 128, k], hidden=hidden, output=output, kernels=variant)
    model.fit(X, y, epochs=1, batch_size=128, optimizer=optim.Adam(1e-3))  # compile, allocate workspaces
    Xd, Yd = model.backend.asarray(X[:128]), model.backend.asarray(model.encode_targets(y[:128]))
    step, params, state = model.training_step()
    for t in range(100):
        params, state, _ = step(params, state, Xd, Yd, 10 + t)
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for t in range(100):
        params, state, loss = step(params, state, Xd, Yd, 110 + t)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    for t in range(1000):
        params, state, loss = step(params, state, Xd, Yd, 210 + t)
    gc.collect()
    later, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # no growth: NumPy's cache of small freed buffers may keep a few hundred bytes, but a leak of
    # even 8 bytes a step would show as 8 KB over the next 1000 steps
    assert current - base < 4096, current - base
    assert later - current < 2048, later - current
    # and no temporary near the size of an activation (128×256 float32 = 128 KiB) or of the
    # parameters (38 531 float32 = 150 KiB): only small Python objects come and go
    assert peak - base < 64 * 1024, peak - base
    assert np.isfinite(float(loss))


def test_scratch_buffers_are_each_threads_own():
    """A kernel table is shared by every model on its backend; its scratch buffers (the optimiser's
    temporary, the numba coefficient record) are per thread, so two fits in two threads (the
    playground's race, a thread pool) never write into one another's temporaries."""
    import threading

    from reseau import backends, kernels

    kern = kernels.for_backend(backends.get("numpy"), "numpy")
    mine = kern._scratch("opt", (8,), np.float32)
    assert kern._scratch("opt", (8,), np.float32) is mine  # reused within a thread
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(kern._scratch("opt", (8,), np.float32)))
    thread.start()
    thread.join()
    assert theirs[0] is not mine and theirs[0].shape == mine.shape
