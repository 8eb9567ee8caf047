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

import math
import os

import numba
import numpy as np
from numba import njit, prange

from . import numba_math as nm
from .coefficients import POSITION, record_dtype
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
    Four loops over the outputs, each of which vectorises (one loop doing it all did not), into
    one float64 scratch, then the rows' sums in order: each output's loss in float64, summed row by
    row (``out`` may be Z: it is written last). A 30-16-1 batch's 64 float32 outputs: 0.88 µs a
    call, against 1.04 with a scratch array for each part and 1.3 in one loop."""
    n, k = Z.shape
    N = n * k
    z, y = Z.reshape(N), Y.reshape(N)
    S = np.empty(3 * N, np.float64)  # [0, N): e^(−|z|), then dZ; [N, 2N): each loss; [2N, 3N): missed
    one, T = Z.dtype.type(1), Z.dtype.type
    for q in range(N):
        S[q] = nm.exp_neg(abs(z[q]))
    for q in range(N):
        zq = z[q]
        relu = np.float64(zq) if zq > 0 else np.float64(zq * one * 0)  # max(z, 0), z's NaN and −0 kept
        S[N + q] = relu - np.float64(y[q] * zq) + np.float64(nm.log1p_unit(T(S[q])))
    for q in range(N):
        S[2 * N + q] = (z[q] >= 0) != (y[q] > 0.5)
    for q in range(N):
        e = T(S[q])  # exact: the value was of Z's dtype
        S[q] = scale * ((one if z[q] >= 0 else e) / (one + e) - y[q])  # σ(z) from e^(−|z|)
    total, right = 0.0, 0
    for i in range(n):
        acc, wrong = 0.0, 0.0
        for j in range(k):
            acc += S[N + i * k + j]
            wrong += S[2 * N + i * k + j]
            out[i, j] = S[i * k + j]
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
    m ← lerp(m, g, 1−β₁) as (s_m·m + s_g·g) + w(g − m) (see kernels/coefficients.py's ``lerp_coefficients``);
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


def _powers(x, y, out):
    for i in range(out.shape[0]):
        out[i] = x[i] ** y[i]  # libm's pow, the function Python's float power calls


#: x ** y element by element with libm's pow (kernels/coefficients.py's chunks of steps)
POWERS = njit(cache=True)(_powers)


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

    # ---- optimiser steps: one pass each over the flat buffers, the record read by name ----------

    def sgd_step(self, p, g, slots, c):
        SGD(p, g, self._zeros_like("buf", p), self._coefficients(p.dtype, c))
        return p, slots

    def momentum_step(self, p, g, slots, c):
        SGD(p, g, slots[0], self._coefficients(p.dtype, c))
        return p, slots

    def sutskever_step(self, p, g, slots, c):
        SUTSKEVER(p, g, slots[0], self._coefficients(p.dtype, c))
        return p, slots

    def adagrad_step(self, p, g, slots, c):
        ADAGRAD(p, g, slots[0], self._coefficients(p.dtype, c))
        return p, slots

    def adadelta_step(self, p, g, slots, c):
        ADADELTA(p, g, *slots, self._coefficients(p.dtype, c))
        return p, slots

    def adam_step(self, p, g, slots, c):
        (m, v, vmax), r = slots, self._coefficients(p.dtype, c)
        if vmax is not None:
            ADAM_AMSGRAD(p, g, m, v, vmax, r)
        else:
            ADAM(p, g, m, v, r)
        return p, slots

    def rmsprop_step(self, p, g, slots, c):
        v, g_avg, buf = slots
        ga = g_avg if g_avg is not None else self._zeros_like("g_avg", p)
        b = buf if buf is not None else self._zeros_like("buf", p)  # read as 0·b: stale NaN bits would poison it
        RMSPROP(p, g, v, ga, b, self._coefficients(p.dtype, c))
        return p, slots
