"""numba kernels for the NumPy backend (extra ``reseau[cpu]``): each fused op is one pass.

- bias-add + ReLU / leaky ReLU forward, and their dZ = dA ⊙ g' backward: one loop each
  (tanh and sigmoid stay with NumPy's SIMD ufuncs, which beat a scalar libm loop);
- softmax / sigmoid / identity head: loss, output and dZ = scale·(A − Y) in one loop;
- the bias gradient db = Σ_rows dZ, row after row as NumPy sums it;
- every optimiser step: one loop over the flat parameter, gradient and state buffers. Each
  optimiser's options are folded into coefficients (e.g. Nesterov or not: g·a + b·c), so the
  loop has no branches and vectorises.

Elementwise loops are compiled with ``parallel=True`` (``prange``): numba then tells LLVM the
arrays do not overlap and the loops vectorise, which the serial pipeline does not do. (The heads,
row by row, are compiled serially and return their sums; their e^(−x) and log1p come from
kernels/numba_math.py, arithmetic instead of libm's scalar calls.)
The parallel loops run on ``THREADS`` numba threads (default 1, ``RESEAU_NUMBA_THREADS`` to change): right after a GEMM,
OpenBLAS's worker threads keep spinning on the other cores, and a second numba thread fighting
them made the M step 40x slower and the L step 1.2x slower here (bench/results/). The count is
set on the calling thread when the kernels start and as each ``fit`` starts. Constants reach
the loops in the array's dtype, so float32 stays float32 end to end. GEMMs stay with BLAS.
"""

from __future__ import annotations

import functools
import math
import os

import numba
import numpy as np
from numba import njit, prange

from . import numba_math as nm
from .numpy_kernels import NumpyKernels


def _bias_relu(Z, b, A):
    n, k = Z.shape
    for i in prange(n):
        for j in range(k):
            z = Z[i, j] + b[j]
            A[i, j] = z if z > 0 else z * 0


def _bias_leaky(Z, b, A, slope):
    n, k = Z.shape
    for i in prange(n):
        for j in range(k):
            z = Z[i, j] + b[j]
            Z[i, j] = z
            A[i, j] = z if z > 0 else slope * z


def _bias(Z, b):
    n, k = Z.shape
    for i in prange(n):
        for j in range(k):
            Z[i, j] += b[j]


def _relu_grad(dA, A, out):
    n, k = dA.shape
    for i in prange(n):
        for j in range(k):
            out[i, j] = dA[i, j] if A[i, j] > 0 else dA[i, j] * 0


def _leaky_grad(dA, Z, out, slope):
    n, k = dA.shape
    for i in prange(n):
        for j in range(k):
            out[i, j] = dA[i, j] if Z[i, j] > 0 else slope * dA[i, j]


def _softmax_ce(Z, y, scale, out):
    """Per row: loss = logsumexp(z) − z_y; dZ = scale·(softmax(z) − onehot(y)); right = (argmax z
    = y, the first maximum as numpy's argmax). Returns (Σ rows' losses in float64, rows right).
    ``out`` may be Z."""
    n, k = Z.shape
    total, right = 0.0, 0
    for i in range(n):
        m, arg = Z[i, 0], 0
        for j in range(1, k):
            if Z[i, j] > m:
                m, arg = Z[i, j], j
        right += 1 if arg == y[i] else 0
        z_y = Z[i, y[i]]
        s = Z[i, 0] * 0
        for j in range(k):
            e = nm.exp_neg(m - Z[i, j])
            out[i, j] = e
            s += e
        total += np.float64(np.log(s) + m - z_y)
        w = scale / s
        for j in range(k):
            out[i, j] *= w
        out[i, y[i]] -= scale
    return total, right


def _sigmoid_bce(Z, Y, scale, out):
    """Per row: loss = Σ max(z,0) − y·z + log1p(e^(−|z|)); dZ = scale·(σ(z) − y); right = every
    output's (z ≥ 0) = (y > ½). Returns (Σ rows' losses in float64, rows right). e^(−|z|) and
    log1p from kernels/numba_math.py (arithmetic: libm's log1pf was 8% of a 30-16-1 step).
    Four loops over the outputs, each of which vectorises (one loop doing it all did not: a
    30-16-1 batch's 64 outputs took 1.3 µs, now 0.8), then the rows' sums in order: each output's
    loss in float64, summed row by row (``out`` may be Z: it is written last)."""
    n, k = Z.shape
    N = n * k
    z, y = Z.reshape(N), Y.reshape(N)
    ell, E, miss = np.empty(N, np.float64), np.empty(N, Z.dtype), np.empty(N, np.int8)
    one = Z.dtype.type(1)
    for q in range(N):
        E[q] = nm.exp_neg(abs(z[q]))
    for q in range(N):
        zq = z[q]
        relu = np.float64(zq) if zq > 0 else np.float64(zq * one * 0)  # max(z, 0), z's NaN and −0 kept
        ell[q] = relu - np.float64(y[q] * zq) + np.float64(nm.log1p_unit(E[q]))
    for q in range(N):
        miss[q] = (z[q] >= 0) != (y[q] > 0.5)
    for q in range(N):
        e = E[q]
        E[q] = scale * ((one if z[q] >= 0 else e) / (one + e) - y[q])  # σ(z) from e^(−|z|)
    total, right = 0.0, 0
    for i in range(n):
        acc, wrong = 0.0, 0
        for j in range(k):
            acc += ell[i * k + j]
            wrong += miss[i * k + j]
            out[i, j] = E[i * k + j]
        total += acc
        right += 1 if wrong == 0 else 0
    return total, right


def _identity_mse(Z, Y, scale, out):
    """Per row: loss = ½‖z − y‖²; dZ = scale·(z − y). Returns (Σ rows' losses in float64, 0)."""
    n, k = Z.shape
    total = 0.0
    for i in range(n):
        acc = Z[i, 0] * 0
        for j in range(k):
            d = Z[i, j] - Y[i, j]
            acc += d * d
            out[i, j] = scale * d
        total += np.float64(acc / 2)
    return total, 0


@njit(cache=True, inline="always")
def ADAM_FIELDS(c):
    """Adam's fields of the record ``c`` (the one record of a one-record array: typed at once each
    call, where a record scalar leaked a type a call), in ``_adam``'s order."""
    return c.a, c.B, c.w, c.beta2, c.one_minus_beta2, c.eps, c.wd, c.decay, c.s_m, c.s_g, c.gs


def _adam(p, g, m, v, c):
    """c: the record with a, B, w, β₂, 1−β₂, ε, wd, decay, s_m, s_g, gs: g ← gs·g + wd·θ; θ ← θ·decay;
    m ← lerp(m, g, 1−β₁) as (s_m·m + s_g·g) + w(g − m) (see ``lerp_coefficients``);
    v ← β₂v + (1−β₂)g²; θ ← θ − a·m/(√v/B + ε)."""
    a, B, w, b2, one_b2, eps, wd, decay, s_m, s_g, gs = ADAM_FIELDS(c[0])  # read once: the loop vectorises
    for i in prange(p.shape[0]):
        gi = gs * g[i] + wd * p[i]
        mi = (s_m * m[i] + s_g * gi) + w * (gi - m[i])
        vi = b2 * v[i] + one_b2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = p[i] * decay - a * (mi / (np.sqrt(vi) / B + eps))


def _adam_amsgrad(p, g, m, v, vmax, c):
    """As ``_adam``, with v̂ ← max(v̂, v) in the root. (A separate loop: numba lets LLVM assume
    array arguments do not alias, so v cannot stand in for v̂.)"""
    a, B, w, b2, one_b2, eps, wd, decay, s_m, s_g, gs = ADAM_FIELDS(c[0])  # read once: the loop vectorises
    for i in prange(p.shape[0]):
        gi = gs * g[i] + wd * p[i]
        mi = (s_m * m[i] + s_g * gi) + w * (gi - m[i])
        vi = b2 * v[i] + one_b2 * gi * gi
        m[i] = mi
        v[i] = vi
        vh = max(vmax[i], vi)
        vmax[i] = vh
        p[i] = p[i] * decay - a * (mi / (np.sqrt(vh) / B + eps))


def _sgd(p, g, buf, c):
    """c: the record with lr, μ, 1−τ (damp), wd, a, b, gs: g ← gs·g + wd·θ; b ← μb + (1−τ)g;
    θ ← θ − lr·(a·g + b·buf)."""
    c = c[0]  # its fields read once before the loop, which then vectorises (see ADAM_FIELDS)
    lr, mu, damp, wd, a, b, gs = c.lr, c.mu, c.damp, c.wd, c.a, c.b, c.gs
    for i in prange(p.shape[0]):
        gi = gs * g[i] + wd * p[i]
        bi = mu * buf[i] + damp * gi
        buf[i] = bi
        p[i] = p[i] - lr * (a * gi + b * bi)


def _sutskever(p, g, v, c):
    """c: the record with lr, μ, wd, a, b, gs: v ← μv − lr·g; θ ← θ + a·v − b·g."""
    c = c[0]  # its fields read once before the loop, which then vectorises (see ADAM_FIELDS)
    lr, mu, wd, a, b, gs = c.lr, c.mu, c.wd, c.a, c.b, c.gs
    for i in prange(p.shape[0]):
        gi = gs * g[i] + wd * p[i]
        vi = mu * v[i] - lr * gi
        v[i] = vi
        p[i] = p[i] + a * vi - b * gi


def _adagrad(p, g, s, c):
    """c: the record with lr (the decayed rate clr), ε inside, ε outside, wd, gs: s ← s + g²;
    θ ← θ − clr·g/(√(s + ε_in) + ε_out)."""
    c = c[0]  # its fields read once before the loop, which then vectorises (see ADAM_FIELDS)
    clr, eps_in, eps_out, wd, gs = c.lr, c.eps_in, c.eps_out, c.wd, c.gs
    for i in prange(p.shape[0]):
        gi = gs * g[i] + wd * p[i]
        si = s[i] + gi * gi
        s[i] = si
        p[i] = p[i] - clr * (gi / (np.sqrt(si + eps_in) + eps_out))


def _adadelta(p, g, Eg, Ed, c):
    """c: the record with lr, ρ, 1−ρ, ε, wd, gs."""
    c = c[0]  # its fields read once before the loop, which then vectorises (see ADAM_FIELDS)
    lr, rho, one_rho, eps, wd, gs = c.lr, c.rho, c.one_minus_rho, c.eps, c.wd, c.gs
    for i in prange(p.shape[0]):
        gi = gs * g[i] + wd * p[i]
        e = rho * Eg[i] + one_rho * gi * gi
        Eg[i] = e
        delta = np.sqrt(Ed[i] + eps) / np.sqrt(e + eps) * gi
        Ed[i] = rho * Ed[i] + one_rho * delta * delta
        p[i] = p[i] - lr * delta


def _rmsprop(p, g, v, g_avg, buf, c):
    """c: the record with lr, α, 1−α, ε, wd, μ, w, s_a, s_g, gs: v ← αv + (1−α)g²; ḡ ← (s_a·ḡ + s_g·g) + w(g − ḡ)
    (all zero when not centered); b ← μb + g/(√(v − ḡ²) + ε); θ ← θ − lr·b."""
    c = c[0]  # its fields read once before the loop, which then vectorises (see ADAM_FIELDS)
    lr, alpha, one_alpha, eps, wd, mu, w, s_a, s_g, gs = (
        c.lr,
        c.alpha,
        c.one_minus_alpha,
        c.eps,
        c.wd,
        c.mu,
        c.w,
        c.s_a,
        c.s_g,
        c.gs,
    )
    for i in prange(p.shape[0]):
        gi = gs * g[i] + wd * p[i]
        vi = alpha * v[i] + one_alpha * gi * gi
        v[i] = vi
        a = (s_a * g_avg[i] + s_g * gi) + w * (gi - g_avg[i])
        g_avg[i] = a
        bi = mu * buf[i] + gi / (np.sqrt(vi - a * a) + eps)
        buf[i] = bi
        p[i] = p[i] - lr * bi


@njit(cache=True)
def ROW_MAX_SUBTRACT(Z):
    """Z ← Z − max per row (softmax's shift, one pass a row: NumPy's max over 10 columns
    reduces row by row at a call's cost)."""
    for i in range(Z.shape[0]):
        m = Z[i, 0]
        for j in range(1, Z.shape[1]):
            m = max(m, Z[i, j])
        for j in range(Z.shape[1]):
            Z[i, j] -= m


@njit(cache=True)
def ROW_NORMALIZE(E):
    """E ← E / Σ per row (softmax's division)."""
    for i in range(E.shape[0]):
        s = E[i, 0]
        for j in range(1, E.shape[1]):
            s += E[i, j]
        for j in range(E.shape[1]):
            E[i, j] /= s


@njit(cache=True)
def COLUMN_SUMS(dZ, db):
    """db = Σ_rows dZ, row after row: the order NumPy's ``add.reduce(dZ, axis=0)`` sums a C-order
    array with two or more columns in (a single column it sums pairwise), so the results are
    the same bits, at 2.5 µs against 6 µs for M's 128 × 256 (a NumPy call's overhead)."""
    n, k = dZ.shape
    for j in range(k):
        db[j] = dZ[0, j]
    for i in range(1, n):
        for j in range(k):
            db[j] += dZ[i, j]


@njit(cache=True, fastmath={"reassoc", "contract"})
def SUM_SQUARES(g):
    """Σ g² in g's dtype, the additions reordered so the loop vectorises (NaN and inf propagate:
    only reassociation is allowed, not fastmath's no-NaN assumptions)."""
    acc = g.dtype.type(0)
    for i in range(g.shape[0]):
        acc += g[i] * g[i]
    return acc


THREADS = min(int(os.environ.get("RESEAU_NUMBA_THREADS", "1")), numba.config.NUMBA_NUM_THREADS)


def _compile(*fns):
    """Each loop compiled once per machine (numba's on-disk cache). ``parallel=True`` even with one
    thread: measured A/B on M (784-256-256-10), its loops step in 1.86 ms against 3.46 ms for plain
    ones, at the price of ~0.4 s to load them at start-up (the CLI keeps short runs off numba)."""
    return [njit(cache=True, parallel=True)(fn) for fn in fns]


BIAS_RELU, BIAS_LEAKY, BIAS, RELU_GRAD, LEAKY_GRAD = _compile(_bias_relu, _bias_leaky, _bias, _relu_grad, _leaky_grad)
# serial: no parallel launch (M's 128 × 10 softmax: 9.5 µs against 11.3)
SOFTMAX_CE, SIGMOID_BCE, IDENTITY_MSE = (njit(cache=True)(fn) for fn in (_softmax_ce, _sigmoid_bce, _identity_mse))
ADAM, ADAM_AMSGRAD, SGD, SUTSKEVER, ADAGRAD, ADADELTA, RMSPROP = _compile(
    _adam, _adam_amsgrad, _sgd, _sutskever, _adagrad, _adadelta, _rmsprop
)
HEADS = {"softmax": SOFTMAX_CE, "sigmoid": SIGMOID_BCE, "identity": IDENTITY_MSE}
#: the plain loops, for compiling again elsewhere (kernels/numba_epoch.py: serially, inside one epoch)
LOOPS = {
    "bias_relu": _bias_relu,
    "bias_leaky": _bias_leaky,
    "bias": _bias,
    "relu_grad": _relu_grad,
    "leaky_grad": _leaky_grad,
    "adam": _adam,
    "adam_amsgrad": _adam_amsgrad,
    "sgd": _sgd,
    "sutskever": _sutskever,
    "adagrad": _adagrad,
    "adadelta": _adadelta,
    "rmsprop": _rmsprop,
}
LEAKY_SLOPE = 0.01


def lerp_coefficients(w):
    """(s_a, s_b, c) with lerp(a, b, w) = (s_a·a + s_b·b) + c·(b − a), evaluated from the nearer
    end as the reference's ``lerp``: a + w(b − a) if w < 0.5 else b − (1 − w)(b − a)."""
    return (1.0, 0.0, w) if w < 0.5 else (0.0, 1.0, -(1.0 - w))


# ---- each optimiser's options and step folded into its loop's coefficients (the step path and
# the compiled epoch, kernels/numba_epoch.py, both build them here; the compiled epoch passes a
# chunk's rates and step numbers as arrays and stacks the columns) ------------------------------


def _powers(x, y, out):
    for i in range(out.shape[0]):
        out[i] = x[i] ** y[i]  # libm's pow, the function Python's float power calls


POWERS = njit(cache=True)(_powers)


def _pow(x, y):
    """x ** y, element by element where one is a 1-d array: libm's pow each time, as Python's float
    power (NumPy's own differs from it in the last bit for ~5% of β**t), so both paths get the
    same bits; arrays in a compiled loop (a Python loop over an epoch's steps cost 13 µs a call)."""
    if np.ndim(x) == 0 and np.ndim(y) == 0:
        return x**y
    n = max(np.size(x), np.size(y))
    out = np.empty(n)
    x, y = (np.full(n, v, dtype=np.float64) if np.ndim(v) == 0 else np.asarray(v, dtype=np.float64) for v in (x, y))
    POWERS(x, y, out)
    return out


def _floats(x):
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=np.float64)


def _first_step(t, first, later):
    """``first`` on step 1, ``later`` after it (per element for an array of steps)."""
    return (first if t == 1 else later) if np.ndim(t) == 0 else np.where(np.asarray(t) == 1, first, later)


def sgd_coefficients(lr, wd=0.0, gs=1.0):
    """``_sgd``'s record for plain SGD: θ ← θ − lr·g (the momentum buffer multiplied by 0)."""
    return dict(lr=lr, mu=0.0, damp=0.0, wd=wd, a=1.0, b=0.0, gs=gs)


def momentum_coefficients(lr, t, mu, dampening=0.0, nesterov=False, wd=0.0, gs=1.0):
    """``_sgd``'s record for step t: b ← g on the first step, then μb + (1−τ)g; Nesterov θ − lr(g + μb)."""
    mu_b, damp = _first_step(t, 0.0, mu), _first_step(t, 1.0, 1.0 - dampening)
    a, b = (1.0, mu) if nesterov else (0.0, 1.0)
    return dict(lr=lr, mu=mu_b, damp=damp, wd=wd, a=a, b=b, gs=gs)


def sutskever_coefficients(lr, mu, nesterov=False, wd=0.0, gs=1.0):
    """``_sutskever``'s record: v ← μv − lr·g; θ ← θ + v (Nesterov: θ + μv − lr·g)."""
    a, b = (mu, _floats(lr)) if nesterov else (1.0, 0.0)
    return dict(lr=lr, mu=mu, wd=wd, a=a, b=b, gs=gs)


def adam_coefficients(lr, t, beta1, beta2, eps, wd, decoupled, eps_uncorrected, gs=1.0):
    """``_adam``'s record for step t: the bias corrections folded into a and B by the caller (see ``Adam``)."""
    lr = _floats(lr)
    bc1, bc2_sqrt = 1.0 - _pow(beta1, t), _pow(1.0 - _pow(beta2, t), 0.5)
    a, B = (lr * bc2_sqrt / bc1, 1.0) if eps_uncorrected else (lr / bc1, bc2_sqrt)
    s_m, s_g, w = lerp_coefficients(1.0 - beta1)
    return dict(
        a=a,
        B=B,
        w=w,
        beta2=beta2,
        one_minus_beta2=1.0 - beta2,
        eps=eps,
        wd=0.0 if decoupled else wd,
        decay=1.0 - lr * wd if decoupled else 1.0,
        s_m=s_m,
        s_g=s_g,
        gs=gs,
    )


def adagrad_coefficients(lr, t, lr_decay=0.0, eps=1e-10, wd=0.0, eps_inside=False, gs=1.0):
    """``_adagrad``'s record for step t: the decayed rate lr/(1 + (t−1)·lr_decay), ε inside or outside."""
    clr = _floats(lr) / (1.0 + (t - 1) * lr_decay)
    return dict(lr=clr, eps_in=eps if eps_inside else 0.0, eps_out=0.0 if eps_inside else eps, wd=wd, gs=gs)


def adadelta_coefficients(lr, rho=0.9, eps=1e-6, wd=0.0, gs=1.0):
    """``_adadelta``'s record."""
    return dict(lr=lr, rho=rho, one_minus_rho=1.0 - rho, eps=eps, wd=wd, gs=gs)


def rmsprop_coefficients(lr, alpha=0.99, eps=1e-8, wd=0.0, momentum=0.0, centered=False, gs=1.0):
    """``_rmsprop``'s record: the centred mean's lerp folded in as Adam's (all zero when not centred)."""
    s_a, s_g, w = lerp_coefficients(1.0 - alpha) if centered else (0.0, 0.0, 0.0)
    return dict(
        lr=lr, alpha=alpha, one_minus_alpha=1.0 - alpha, eps=eps, wd=wd, mu=momentum, w=w, s_a=s_a, s_g=s_g, gs=gs
    )


#: the fields of the one coefficient record every optimiser's loop reads by name (each fills its own;
#: the rest stay 0): one record type per float dtype, so the compiled epoch stays one kernel
FIELDS = (
    "lr", "mu", "damp", "wd", "a", "b", "B", "w", "beta2", "one_minus_beta2", "eps", "eps_in", "eps_out",
    "decay", "s_m", "s_g", "s_a", "rho", "one_minus_rho", "alpha", "one_minus_alpha", "gs",
)  # fmt: skip


#: each field's position in a record seen as a flat array of its dtype
POSITION = {name: j for j, name in enumerate(FIELDS)}


@functools.cache
def record_dtype(dtype) -> np.dtype:
    """The coefficient record's structured dtype, every field in ``dtype`` (made once per dtype:
    building it took 8 µs, per step on the step path)."""
    return np.dtype([(name, dtype) for name in FIELDS])


def records(values: dict, dtype, steps: int = 1) -> np.ndarray:
    """``steps`` records of ``dtype`` from a builder's ``values`` (per field: a scalar, or one value
    a step); fields it does not name are 0."""
    out = np.zeros(steps, dtype=record_dtype(dtype))
    for name, value in values.items():
        out[name] = value
    return out


class NumbaKernels(NumpyKernels):
    """The in-place NumPy kernels, with the ops numba does better replaced by one-pass loops."""

    compiled_epoch = True  # kernels/numba_epoch.py runs whole epochs with these loops

    def __init__(self, backend):
        super().__init__(backend)
        self.prepare()

    def prepare(self):
        """Run this thread's numba loops on THREADS threads (called as each fit starts)."""
        numba.set_num_threads(THREADS)

    def step_ok(self, loss, g):
        """isfinite(L) ∧ isfinite(g·g), the sum in one vectorised loop (at M 8 µs; BLAS's dot 14 µs)."""
        return math.isfinite(loss) and math.isfinite(SUM_SQUARES(g))

    def _coefficients(self, dtype, values: dict):
        """The builder's ``values`` as a one-record array of ``dtype``, reused (an array: numba types
        it at once, where a tuple of 11 scalars cost 6 µs a step to build and type at S)."""
        c = self._scratch("coefficients", (1,), record_dtype(dtype))
        flat = c.view(dtype)  # the record's fields as one flat array: 0.6 µs a step, a record assignment 1.3
        flat[:] = 0
        for name, value in values.items():
            flat[POSITION[name]] = value
        return c

    def _zeros_like(self, tag, p):
        """A zero buffer standing in for an optimiser slot that an option switches off (never an
        alias of another argument: numba's loops assume their arrays do not overlap)."""
        buf = self._scratch(tag, p.shape, p.dtype)
        buf[...] = 0
        return buf

    def head_output_into(self, name, Z):
        """Softmax over Z in place: the shift and the division in row loops, e^z by NumPy (its
        vectorised exp; numba's calls libm's one value at a time). The row sums add left to right
        where NumPy's pairwise sum may group them otherwise: the last bit can differ."""
        if name != "softmax" or not Z.flags.c_contiguous:
            return super().head_output_into(name, Z)
        ROW_MAX_SUBTRACT(Z)
        np.exp(Z, out=Z)
        ROW_NORMALIZE(Z)
        return Z

    def dense_forward(self, name, A_prev, W, b, out=None):
        if out is None or name not in ("relu", "leaky_relu", "identity"):
            return super().dense_forward(name, A_prev, W, b, out)
        Z, A = out
        np.matmul(A_prev, W, out=Z)
        if name == "relu":
            BIAS_RELU(Z, b, A)
        elif name == "leaky_relu":
            BIAS_LEAKY(Z, b, A, Z.dtype.type(LEAKY_SLOPE))
        else:
            BIAS(Z, b)
            if A is not Z:
                np.copyto(A, Z)
        return Z, A

    def _column_sums(self, dZ, db):
        if dZ.shape[1] < 2 or not dZ.flags.c_contiguous:  # where NumPy sums otherwise than row by row
            return super()._column_sums(dZ, db)
        COLUMN_SUMS(dZ, db)

    def activation_grad(self, name, dA, Z, A, out=None):
        if out is None or name not in ("relu", "leaky_relu"):
            return super().activation_grad(name, dA, Z, A, out)
        if name == "relu":
            RELU_GRAD(dA, A, out)
        else:
            LEAKY_GRAD(dA, Z, out, dA.dtype.type(LEAKY_SLOPE))
        return out

    def head_loss(self, name, Z, Y, scale=1.0, out=None):
        if out is None or name not in HEADS:
            return super().head_loss(name, Z, Y, scale)
        return self.head_loss_count(name, Z, Y, scale, out)[:2]

    def head_loss_count(self, name, Z, Y, scale=1.0, out=None):
        """One fused pass per row: the loss, dZ into ``out`` and whether the row is classified right."""
        if out is None or name not in HEADS:  # the reference's (the estimators' Poisson head)
            return super().head_loss_count(name, Z, Y, scale)
        total, right = HEADS[name](Z, Y, Z.dtype.type(scale), out)
        return Z.dtype.type(total / Z.shape[0]), out, right

    # ---- optimiser steps: one pass each, options folded into coefficients -----------------------

    def sgd_step(self, p, g, lr, wd=0.0, gs=1.0):
        SGD(p, g, self._zeros_like("buf", p), self._coefficients(p.dtype, sgd_coefficients(lr, wd, gs)))
        return p

    def momentum_step(self, p, g, buf, lr, t, mu, dampening=0.0, nesterov=False, wd=0.0, gs=1.0):
        c = momentum_coefficients(lr, t, mu, dampening, nesterov, wd, gs)
        SGD(p, g, buf, self._coefficients(p.dtype, c))
        return p, buf

    def sutskever_step(self, p, g, v, lr, mu, nesterov=False, wd=0.0, gs=1.0):
        SUTSKEVER(p, g, v, self._coefficients(p.dtype, sutskever_coefficients(lr, mu, nesterov, wd, gs)))
        return p, v

    def adagrad_step(self, p, g, s, lr, t, lr_decay=0.0, eps=1e-10, wd=0.0, eps_inside=False, gs=1.0):
        c = adagrad_coefficients(lr, t, lr_decay, eps, wd, eps_inside, gs)
        ADAGRAD(p, g, s, self._coefficients(p.dtype, c))
        return p, s

    def adadelta_step(self, p, g, Eg, Ed, lr, rho=0.9, eps=1e-6, wd=0.0, gs=1.0):
        ADADELTA(p, g, Eg, Ed, self._coefficients(p.dtype, adadelta_coefficients(lr, rho, eps, wd, gs)))
        return p, Eg, Ed

    def adam_step(
        self,
        p,
        g,
        m,
        v,
        vmax,
        lr,
        t,
        beta1=0.9,
        beta2=0.999,
        eps=1e-8,
        wd=0.0,
        decoupled=False,
        amsgrad=False,
        eps_uncorrected=False,
        gs=1.0,
    ):
        c = self._coefficients(p.dtype, adam_coefficients(lr, t, beta1, beta2, eps, wd, decoupled, eps_uncorrected, gs))
        if amsgrad:
            ADAM_AMSGRAD(p, g, m, v, vmax, c)
        else:
            ADAM(p, g, m, v, c)
        return p, m, v, vmax

    def rmsprop_step(self, p, g, v, g_avg, buf, lr, alpha=0.99, eps=1e-8, wd=0.0, momentum=0.0, centered=False, gs=1.0):
        ga = g_avg if centered else self._zeros_like("g_avg", p)
        b = buf if momentum else self._zeros_like("buf", p)  # read as 0·b: stale NaN bits would poison it
        c = self._coefficients(p.dtype, rmsprop_coefficients(lr, alpha, eps, wd, momentum, centered, gs))
        RMSPROP(p, g, v, ga, b, c)
        return p, v, g_avg, buf
