"""A chunk of training steps (a whole epoch's full mini-batches) in one compiled call, on the CPU.

One or several epochs, their row orders one after another in ``order``; per step i of an epoch
(rows ``order[i·bs : (i+1)·bs]`` of its order, the last batch shorter where bs does not divide
the rows, gathered into a batch buffer):

    forward    Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾W⁽ˡ⁾ + b⁽ˡ⁾, A⁽ˡ⁾ = g⁽ˡ⁾(Z⁽ˡ⁾)         (np.dot → BLAS, then the bias/activation loop)
    head       L, dZ⁽ᴸ⁾ = r ⊙ (A⁽ᴸ⁾ − Y), rows right          (r = 1/rows, or w/Σw with row weights)
    backward   dW = A⁽ˡ⁻¹⁾ᵀdZ, db = Σ_rows dZ, dA = dZ Wᵀ, dZ⁽ˡ⁻¹⁾ = dA ⊙ g′
    penalty    L += (l2/2)ΣW² + l1Σ|W|, g += l2·W + l1·sign(W)   (weights only; ``per_rows``: l2/Σw, scikit-learn's α)
    guard      ok = isfinite(L) ∧ isfinite(g·g); "stop": the first bad step ends the chunk
    clip       (clip > 0) g's scale min(clip/(‖g‖ + 1e-6), 1), PyTorch's clip_grad_norm_
    update     one optimiser loop over the flat buffers, its coefficient record C[i] (fields read by name)

Every loop is the one the step path runs (``kernels/numba_kernels.py``'s plain functions, compiled
here without ``parallel``: one thread, BLAS keeps its own), so each formula stays in one place.
One generic kernel: the activations, head and optimiser arrive as small integer codes and the
optimiser's options as one named coefficient record a step (one record type for every optimiser),
so it compiles once per dtype (``cache=True``: a second process loads it from disk). The step
path stays the reference it is tested against.
"""

from __future__ import annotations

import math
import types

import numpy as np
from numba import njit
from numba import types as nbtypes
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array

from . import numba_kernels as nk
from . import numba_math as nm

ACTIVATIONS = {"identity": 0, "relu": 1, "leaky_relu": 2, "tanh": 3, "sigmoid": 4}
HEADS = {"sigmoid": 0, "softmax": 1, "identity": 2}
#: sgd: plain, momentum and Nesterov (PyTorch's form); each code's loop is numba_kernels.LOOPS[name]
OPTIMIZERS = {"sgd": 0, "sutskever": 1, "adam": 2, "adam_amsgrad": 3, "adagrad": 4, "adadelta": 5, "rmsprop": 6}
OPTIMIZERS_ORDER = ("adam", "adam_amsgrad", "sgd", "sutskever", "adagrad", "adadelta", "rmsprop")
STOP, SKIP, APPLY = 0, 1, 2  # the guard's modes; APPLY: every step applied (scikit-learn's way)
BOOK = ("loss_sum", "rows", "skipped", "first_bad", "bad_loss", "correct")

#: NumPy's error model: a float division by zero gives inf or NaN (the guard's business) instead of a
#: check that raises, which kept every loop holding a division (Adam, tanh) from vectorising
_serial = njit(cache=True, error_model="numpy")
_inlined = njit(cache=True, error_model="numpy", inline="always")


def _serial_copy(name):
    """``nk.LOOPS[name]`` compiled serially as a function of its own name: numba's disk cache keys a
    function by its file, name and bytecode, not by its flags, so compiling the loop itself here
    would share (and load) the step path's ``parallel=True`` build, whose thread launch costs
    ~1.5 µs a call and which cannot run where numba's parallel runtime was not started."""
    fn = nk.LOOPS[name]
    copy = types.FunctionType(fn.__code__, fn.__globals__, f"serial{fn.__name__}", fn.__defaults__, fn.__closure__)
    copy.__qualname__ = copy.__name__
    return _serial(copy)


BIAS_RELU, BIAS_LEAKY, BIAS, RELU_GRAD, LEAKY_GRAD = (
    _serial_copy(name) for name in ("bias_relu", "bias_leaky", "bias", "relu_grad", "leaky_grad")
)
SOFTMAX_CE, SIGMOID_BCE, IDENTITY_MSE = nk.SOFTMAX_CE, nk.SIGMOID_BCE, nk.IDENTITY_MSE
ADAM, ADAM_AMSGRAD, SGD, SUTSKEVER, ADAGRAD, ADADELTA, RMSPROP = (_serial_copy(name) for name in OPTIMIZERS_ORDER)


@_serial
def _activate(code, Z, b, A):
    """A = g(Z + b) as the step path computes it (relu: Z keeps the product; the others add b to
    Z; sigmoid as ½ tanh(z/2) + ½, as NumPy's kernels), tanh by kernels/numba_math.py's ``tanh``,
    whose loops vectorise (within 2 ulp of tanh in float64, 2.5 in float32)."""
    if code == 1:
        BIAS_RELU(Z, b, A)
        return
    if code == 2:
        BIAS_LEAKY(Z, b, A, Z.dtype.type(nk.LEAKY_SLOPE))
        return
    BIAS(Z, b)
    if code == 0:
        A[:] = Z
        return
    half = Z.dtype.type(0.5)
    u, v = (Z.dtype.type(1), Z.dtype.type(0)) if code == 3 else (half, half)  # g(z) = u·tanh(u·z) + v
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            A[i, j] = nm.tanh(Z[i, j] * u) * u + v


@_serial
def _activation_grad(code, dA, Z, A, out):
    """dZ = dA ⊙ g′ into ``out`` (which may be Z): relu from A, leaky relu from Z, tanh 1 − A²,
    sigmoid (1 − A)A, in the step path's order of operations."""
    if code == 1:
        RELU_GRAD(dA, A, out)
        return
    if code == 2:
        LEAKY_GRAD(dA, Z, out, dA.dtype.type(nk.LEAKY_SLOPE))
        return
    one = A.dtype.type(1)
    for i in range(dA.shape[0]):
        for j in range(dA.shape[1]):
            a = A[i, j]
            out[i, j] = (
                dA[i, j] * (one - a * a) if code == 3 else (dA[i, j] * ((one - a) * a) if code == 4 else dA[i, j])
            )


@_inlined
def _head(code, Z, Yb, yb, r, weighted):
    """(L, rows right), dZ written over Z: one call over the batch (scale r[0] = 1/rows), or one per
    row with its share rᵢ = wᵢ/Σw (L = Σ rᵢℓᵢ)."""
    if not weighted:
        if code == 0:
            total, right = SIGMOID_BCE(Z, Yb, r[0], Z)
        elif code == 1:
            total, right = SOFTMAX_CE(Z, yb, r[0], Z)
        else:
            total, right = IDENTITY_MSE(Z, Yb, r[0], Z)
        return total / Z.shape[0], right
    loss, right = 0.0, 0
    for i in range(Z.shape[0]):
        if code == 0:
            ell, ok = SIGMOID_BCE(Z[i : i + 1], Yb[i : i + 1], r[i], Z[i : i + 1])
        elif code == 1:
            ell, ok = SOFTMAX_CE(Z[i : i + 1], yb[i : i + 1], r[i], Z[i : i + 1])
        else:
            ell, ok = IDENTITY_MSE(Z[i : i + 1], Yb[i : i + 1], r[i], Z[i : i + 1])
        loss += r[i] * ell
        right += ok
    return loss, right


@_serial
def _penalty(P, G, lay, l1, l2):
    """(l2/2)ΣW² + l1Σ|W| over the weights, and g += l2·W + l1·sign(W) there."""
    total = 0.0
    c1, c2 = P.dtype.type(l1), P.dtype.type(l2)
    for l in range(lay.shape[0]):
        for i in range(lay[l, 0], lay[l, 0] + lay[l, 2] * lay[l, 3]):
            w = P[i]
            total += 0.5 * l2 * w * w + l1 * abs(w)
            G[i] = G[i] + c2 * w + c1 * np.sign(w)
    return total


@_serial
def _update(code, P, G, S1, S2, S3, c):
    """The optimiser's loop over the flat buffers, its slots S1, S2, S3 in its own order."""
    if code == 2:
        ADAM(P, G, S1, S2, c)
    elif code == 3:
        ADAM_AMSGRAD(P, G, S1, S2, S3, c)
    elif code == 1:
        SUTSKEVER(P, G, S1, c)
    elif code == 4:
        ADAGRAD(P, G, S1, c)
    elif code == 5:
        ADADELTA(P, G, S1, S2, c)
    elif code == 6:
        RMSPROP(P, G, S1, S2, S3, c)
    else:
        SGD(P, G, S1, c)


@_serial
def _clip(G, c, clip):
    """Gradient clipping as the step path does it (PyTorch's): scale = min(clip/(‖g‖ + 1e-6), 1),
    applied as the loop's gradient scale (the record's gs) where below 1."""
    coef = clip / (np.float64(np.sqrt(np.dot(G, G))) + 1e-6)  # the norm in G's dtype, as NumPy's
    if coef < 1.0:
        c[0].gs = coef


def _view_codegen(ndim):
    """The code of a view of shape args[2:] of the flat array args[0] from element args[1]: an
    array made without a reference to buf's memory. A slice of a numba array takes one (an atomic
    increment, and a decrement when it dies: ~100 a step of S, 1.2 µs of its 6.5, NRT_incref
    counted with gdb); these views live inside one call of the epoch, whose arguments keep the
    memory alive."""

    def codegen(context, builder, sig, args):
        buf = sig.args[0]
        src = make_array(buf)(context, builder, args[0])
        out = make_array(sig.return_type)(context, builder)
        itemsize = context.get_constant(nbtypes.intp, context.get_abi_sizeof(context.get_data_type(buf.dtype)))
        dims = [context.cast(builder, v, t, nbtypes.intp) for v, t in zip(args[2:], sig.args[2:])]
        strides = [itemsize] if ndim == 1 else [builder.mul(dims[1], itemsize), itemsize]
        data = builder.gep(src.data, [context.cast(builder, args[1], sig.args[1], nbtypes.intp)])
        populate_array(out, data=data, shape=dims, strides=strides, itemsize=itemsize, meminfo=None)
        return out._getvalue()

    return codegen


@intrinsic
def _span(typingctx, buf, start, n):
    """buf[start : start + n] (see ``_view_codegen``)."""
    return nbtypes.Array(buf.dtype, 1, "C")(buf, start, n), _view_codegen(1)


@intrinsic
def _block(typingctx, buf, start, rows, cols):
    """buf[start : start + rows·cols] as a (rows, cols) C-order array (see ``_view_codegen``)."""
    return nbtypes.Array(buf.dtype, 2, "C")(buf, start, rows, cols), _view_codegen(2)


@_inlined
def _gather(X, Yf, yi, w, rows, xb, Yb, yb, r):
    """The batch's inputs, targets and row shares r (1/rows, or w/Σw); returns Σw (the rows without weights)."""
    m, d, k = rows.shape[0], X.shape[1], Yb.shape[1]
    for i in range(m):  # element by element: a slice assignment per row cost 4x as much
        row = rows[i]
        for j in range(d):
            xb[i, j] = X[row, j]
        if yb.shape[0] > 0:
            yb[i] = yi[row]
        for j in range(k):
            Yb[i, j] = Yf[row, j]
        r[i] = X.dtype.type(1.0 / m)
    if w.shape[0] == 0:
        return X.dtype.type(m)
    s = X.dtype.type(0)
    for i in range(m):
        s += w[rows[i]]
    for i in range(m):
        r[i] = w[rows[i]] / s if s > 0 else w[rows[i]]
    return s


_U32 = 0xFFFFFFFF


@njit(cache=True, inline="always")
def _hash(x):
    """The murmur3 finaliser on a uint32 held in an int64 (kernels/reference.py's ``hash_uint32``)."""
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & _U32
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & _U32
    return x ^ (x >> 16)


@_serial
def _dropout(A, D, M, seed, step, layer, threshold, scale):
    """Inverted dropout as kernels/reference.py's ``dropout_mask``: bits = h(index·0x85EBCA77 ⊕ key),
    key = h(seed ⊕ h(step ⊕ h(layer·0x9E3779B1 + 0x7F4A7C15))); M = 1/keep where bits < keep·2³²,
    else 0; D = A·M (the next layer's input)."""
    key = _hash((layer * 0x9E3779B1 + 0x7F4A7C15) & _U32)
    key = _hash((step & _U32) ^ key)
    key = _hash((seed & _U32) ^ key)
    one, zero, k = A.dtype.type(scale), A.dtype.type(0), A.shape[1]
    for i in range(A.shape[0]):
        for j in range(k):
            bits = _hash((((i * k + j) & _U32) * 0x85EBCA77 & _U32) ^ key)
            M[i, j] = one if bits < threshold else zero
            D[i, j] = A[i, j] * M[i, j]


@_inlined
def _forward(P, lay, acts, drop, seed, step, xb, Zbuf, Abuf, Dbuf, Mbuf, starts):
    """Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾W⁽ˡ⁾ (BLAS), then the bias and activation loop, layer by layer (the output
    layer's Z only: the head applies its activation); a layer with dropout (``drop`` its 1/keep,
    ``lay[l, 4]`` its threshold) hands the next its dropped output D."""
    m, A_prev = xb.shape[0], xb
    for l in range(lay.shape[0]):
        W = _block(P, lay[l, 0], lay[l, 2], lay[l, 3])
        Z, A = _block(Zbuf, starts[l], m, lay[l, 3]), _block(Abuf, starts[l], m, lay[l, 3])
        np.dot(A_prev, W, Z)
        b = _span(P, lay[l, 1], lay[l, 3])
        if l == lay.shape[0] - 1:
            BIAS(Z, b)  # the head reads Z
        else:
            _activate(acts[l], Z, b, A)
        A_prev = A
        if drop[l] > 0:
            A_prev = _block(Dbuf, starts[l], m, lay[l, 3])
            _dropout(A, A_prev, _block(Mbuf, starts[l], m, lay[l, 3]), seed, step, l, lay[l, 4], drop[l])


@_inlined
def _backward(P, G, lay, acts, drop, xb, Zbuf, Abuf, Dbuf, Mbuf, dA, starts, dZ):
    """dW = A_prevᵀdZ (BLAS; A_prev the dropped output where dropout), db = Σ_rows dZ, dA = dZ Wᵀ
    (⊙ the mask), dZ⁽ˡ⁻¹⁾ = dA ⊙ g′ written over Z⁽ˡ⁻¹⁾."""
    m = xb.shape[0]
    for l in range(lay.shape[0] - 1, -1, -1):
        n_in, n_out = lay[l, 2], lay[l, 3]
        A_in = xb if l == 0 else _block(Dbuf if drop[l - 1] > 0 else Abuf, starts[l - 1], m, n_in)
        np.dot(A_in.T, dZ, _block(G, lay[l, 0], n_in, n_out))
        nk.COLUMN_SUMS(dZ, _span(G, lay[l, 1], n_out))
        if l > 0:
            W = _block(P, lay[l, 0], n_in, n_out)
            dAl = _block(dA, 0, m, n_in)
            np.dot(dZ, W.T, dAl)
            if drop[l - 1] > 0:
                dAl *= _block(Mbuf, starts[l - 1], m, n_in)
            Zp = _block(Zbuf, starts[l - 1], m, n_in)
            _activation_grad(acts[l - 1], dAl, Zp, _block(Abuf, starts[l - 1], m, n_in), Zp)  # Z⁽ˡ⁻¹⁾ read no more
            dZ = Zp


@_serial
def epoch(X, Yf, yi, w, order, bs, P, G, S, lay, acts, drop, head, opt, C, hyper, step0, book):
    """Run len(C) steps of batch ``bs``: ``book.shape[0]`` epochs, each over its own ``order``
    (``order`` holds them one after another) in ceil(rows/bs) steps, the last shorter where bs does
    not divide the rows; the first step numbered ``step0`` (see the module docstring). ``S``: the
    optimiser's slots; ``lay`` rows (W start, b start, n_in, n_out, dropout threshold); ``drop``:
    each layer's 1/keep (0: no dropout); ``hyper``: (l1, l2, l2 per rows, clip, guard mode, dropout
    seed). ``book`` (float64, a row an epoch: loss_sum, rows, skipped, first_bad, bad_loss,
    correct) gathers the guard's record (first_bad −1: none). Returns the steps run."""
    L, dtype = lay.shape[0], X.dtype
    l1, l2, per_rows, clip, mode, seed = hyper[0], hyper[1], hyper[2] > 0, hyper[3], int(hyper[4]), int(hyper[5])
    n = order.shape[0] // book.shape[0]  # rows an epoch
    per_epoch = (n + bs - 1) // bs
    starts = np.zeros(L + 1, dtype=np.int64)
    for l in range(L):
        starts[l + 1] = starts[l] + bs * lay[l, 3]
    Zbuf, Abuf, dA = np.empty(starts[L], dtype), np.empty(starts[L], dtype), np.empty(bs * lay[:, 2].max(), dtype)
    n_drop = starts[L] if drop.max() > 0 else 0
    Dbuf, Mbuf = np.empty(n_drop, dtype), np.empty(n_drop, dtype)
    softmax, weighted, d = head == 1, w.shape[0] > 0, lay[0, 2]
    k = 0 if softmax else Yf.shape[1]
    xbuf, Ybuf, yb, rbuf = (
        np.empty(bs * d, dtype),
        np.empty(bs * k, dtype),
        np.empty(bs if softmax else 0, yi.dtype),
        np.empty(bs, dtype),
    )
    for step in range(C.shape[0]):
        e, j = step // per_epoch, step % per_epoch
        rows = _span(order, e * n + j * bs, min(bs, n - j * bs))  # the epoch's last batch may be short
        m, b = rows.shape[0], book[e]
        xb, Yb, r = _block(xbuf, 0, m, d), _block(Ybuf, 0, m, k), _span(rbuf, 0, m)
        ym = _span(yb, 0, min(m, yb.shape[0]))  # the labels (softmax), else empty
        total = _gather(X, Yf, yi, w, rows, xb, Yb, ym, r)
        _forward(P, lay, acts, drop, seed, step0 + step, xb, Zbuf, Abuf, Dbuf, Mbuf, starts)
        ZL = _block(Zbuf, starts[L - 1], m, lay[L - 1, 3])
        loss, right = _head(head, ZL, Yb, ym, r, weighted)
        _backward(P, G, lay, acts, drop, xb, Zbuf, Abuf, Dbuf, Mbuf, dA, starts, ZL)
        loss = dtype.type(loss)
        if l1 != 0 or l2 != 0:
            loss = loss + dtype.type(_penalty(P, G, lay, l1, l2 / total if per_rows else l2))
        ok = mode == APPLY or (math.isfinite(loss) and math.isfinite(nk.SUM_SQUARES(G)))
        if ok and (mode == SKIP or b[3] < 0):
            if clip > 0:
                _clip(G, C[step : step + 1], clip)
            _update(opt, P, G, S[0], S[1], S[2], C[step : step + 1])
            b[0], b[1], b[5] = b[0] + np.float64(loss) * m, b[1] + m, b[5] + right
        elif not ok:
            b[2] += 1
            if b[3] < 0:
                b[3], b[4] = step0 + step, loss
        if not ok and mode == STOP:
            return step + 1
    return C.shape[0]
