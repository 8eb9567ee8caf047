"""numba kernels for the NumPy backend (extra ``reseau[cpu]``): each fused op is one pass.

- bias-add + activation forward, dZ = dA ⊙ g' backward: one loop over the batch each;
- softmax / sigmoid / identity head: loss, output and dZ = scale·(A − Y) in one loop;
- every optimiser step: one loop over the flat parameter, gradient and state buffers.

Loops run in parallel over rows or chunks (``prange``) when the array is large enough to pay
for the threads, serially otherwise. Constants reach the loops as a tuple of the array's
dtype, so float32 stays float32 end to end. GEMMs stay with BLAS (``np.matmul(out=...)``).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit, prange

from . import reference as ref
from .numpy_kernels import NumpyKernels

PARALLEL_MIN = 1 << 16  # elements from which a loop runs on all cores
OPT_BLOCK = 1 << 13     # elements per parallel optimiser block

CODES = {name: i for i, name in enumerate(
    ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus"))}
# K: constants in the array's dtype
_K = (0.0, 0.5, 1.0, ref.LEAKY_SLOPE, ref.ELU_ALPHA, ref.SELU_SCALE, ref.SELU_SCALE * ref.SELU_ALPHA,
      math.sqrt(0.5), 1.0 / math.sqrt(2.0 * math.pi))


@functools.lru_cache(maxsize=None)
def constants(dtype):
    t = np.dtype(dtype).type
    return tuple(t(c) for c in _K)


@njit(inline="always", cache=True)
def _sigmoid(z, K):
    e = np.exp(-abs(z))
    return K[2] / (K[2] + e) if z >= K[0] else e / (K[2] + e)


@njit(inline="always", cache=True)
def _g(code, z, K):
    if code == 0:
        return z
    if code == 1:
        return _sigmoid(z, K)
    if code == 2:
        return np.tanh(z)
    if code == 3:
        return z if z > K[0] else K[0]
    if code == 4:
        return z if z > K[0] else K[3] * z
    if code == 5:
        return z if z > K[0] else K[4] * np.expm1(z)
    if code == 6:
        return K[5] * z if z > K[0] else K[6] * np.expm1(z)
    if code == 7:
        return K[1] * z * (K[2] + math.erf(z * K[7]))
    if code == 8:
        return z * _sigmoid(z, K)
    return max(z, K[0]) + np.log1p(np.exp(-abs(z)))


@njit(inline="always", cache=True)
def _dg(code, d, z, a, K):
    if code == 0:
        return d
    if code == 1:
        return d * a * (K[2] - a)
    if code == 2:
        return d * (K[2] - a * a)
    if code == 3:
        return d if a > K[0] else K[0]
    if code == 4:
        return d if z > K[0] else K[3] * d
    if code == 5:
        return d if z > K[0] else d * (a + K[4])
    if code == 6:
        return K[5] * d if z > K[0] else d * (a + K[6])
    if code == 7:
        return d * (K[1] * (K[2] + math.erf(z * K[7])) + z * K[8] * np.exp(-K[1] * z * z))
    if code == 8:
        s = _sigmoid(z, K)
        return d * s * (K[2] + z * (K[2] - s))
    return d * _sigmoid(z, K)


def _bias_act(Z, b, A, code, K):
    n, k = Z.shape
    for i in prange(n):
        for j in range(k):
            z = Z[i, j] + b[j]
            Z[i, j] = z
            A[i, j] = _g(code, z, K)


def _act_grad(dA, Z, A, out, code, K):
    n, k = dA.shape
    for i in prange(n):
        for j in range(k):
            out[i, j] = _dg(code, dA[i, j], Z[i, j], A[i, j], K)


def _softmax_ce(Z, y, scale, out, row_loss):
    """Per row: loss = logsumexp(z) − z_y; dZ = scale·(softmax(z) − onehot(y)). ``out`` may be Z."""
    n, k = Z.shape
    for i in prange(n):
        m = Z[i, 0]
        for j in range(1, k):
            m = max(m, Z[i, j])
        z_y = Z[i, y[i]]
        s = Z[i, 0] * 0
        for j in range(k):
            e = np.exp(Z[i, j] - m)
            out[i, j] = e
            s += e
        row_loss[i] = np.log(s) + m - z_y
        w = scale / s
        for j in range(k):
            out[i, j] *= w
        out[i, y[i]] -= scale


def _sigmoid_bce(Z, Y, scale, out, row_loss, K):
    """Per row: loss = Σ max(z,0) − y·z + log1p(e^(−|z|)); dZ = scale·(σ(z) − y)."""
    n, k = Z.shape
    for i in prange(n):
        acc = K[0]
        for j in range(k):
            z, t = Z[i, j], Y[i, j]
            acc += max(z, K[0]) - t * z + np.log1p(np.exp(-abs(z)))
            out[i, j] = scale * (_sigmoid(z, K) - t)
        row_loss[i] = acc


def _identity_mse(Z, Y, scale, out, row_loss, K):
    """Per row: loss = ½‖z − y‖²; dZ = scale·(z − y)."""
    n, k = Z.shape
    for i in prange(n):
        acc = K[0]
        for j in range(k):
            d = Z[i, j] - Y[i, j]
            acc += d * d
            out[i, j] = scale * d
        row_loss[i] = K[1] * acc


def _adam(p, g, m, v, vmax, c, flags):
    """c = (lr/bc1, √bc2 or lr·√bc2/bc1, β₁ lerp weight, β₂, 1−β₂, ε, wd, decay factor);
    flags = (coupled wd, amsgrad, eps on the uncorrected root, lerp from the near end)."""
    coupled, ams, keras, near = flags
    n = p.shape[0]
    for blk in prange((n + OPT_BLOCK - 1) // OPT_BLOCK):
        for i in range(blk * OPT_BLOCK, min(n, (blk + 1) * OPT_BLOCK)):
            gi = g[i]
            pi = p[i] * c[7]
            if coupled:
                gi += c[6] * p[i]
            mi = m[i] + c[2] * (gi - m[i]) if near else gi - (gi - m[i]) * c[2]
            vi = c[3] * v[i] + c[4] * gi * gi
            m[i] = mi
            v[i] = vi
            if ams:
                vi = max(vmax[i], vi)
                vmax[i] = vi
            if keras:
                p[i] = pi - c[1] * (mi / (np.sqrt(vi) + c[5]))
            else:
                p[i] = pi - c[0] * (mi / (np.sqrt(vi) / c[1] + c[5]))


def _sgd(p, g, buf, c, flags):
    """c = (lr, μ, 1−τ, wd); flags = (momentum, first step, nesterov, sutskever)."""
    mom, first, nesterov, sutskever = flags
    n = p.shape[0]
    for blk in prange((n + OPT_BLOCK - 1) // OPT_BLOCK):
        for i in range(blk * OPT_BLOCK, min(n, (blk + 1) * OPT_BLOCK)):
            gi = g[i] + c[3] * p[i]
            if not mom:
                p[i] = p[i] - c[0] * gi
            elif sutskever:
                b = c[1] * buf[i] - c[0] * gi
                buf[i] = b
                p[i] = p[i] + c[1] * b - c[0] * gi if nesterov else p[i] + b
            else:
                b = gi if first else c[1] * buf[i] + c[2] * gi
                buf[i] = b
                p[i] = p[i] - c[0] * (gi + c[1] * b if nesterov else b)


def _adagrad(p, g, s, c, eps_inside):
    """c = (clr, ε, wd)"""
    n = p.shape[0]
    for blk in prange((n + OPT_BLOCK - 1) // OPT_BLOCK):
        for i in range(blk * OPT_BLOCK, min(n, (blk + 1) * OPT_BLOCK)):
            gi = g[i] + c[2] * p[i]
            si = s[i] + gi * gi
            s[i] = si
            d = np.sqrt(si + c[1]) if eps_inside else np.sqrt(si) + c[1]
            p[i] = p[i] - c[0] * (gi / d)


def _adadelta(p, g, Eg, Ed, c):
    """c = (lr, ρ, 1−ρ, ε, wd)"""
    n = p.shape[0]
    for blk in prange((n + OPT_BLOCK - 1) // OPT_BLOCK):
        for i in range(blk * OPT_BLOCK, min(n, (blk + 1) * OPT_BLOCK)):
            gi = g[i] + c[4] * p[i]
            e = c[1] * Eg[i] + c[2] * gi * gi
            Eg[i] = e
            delta = np.sqrt(Ed[i] + c[3]) / np.sqrt(e + c[3]) * gi
            Ed[i] = c[1] * Ed[i] + c[2] * delta * delta
            p[i] = p[i] - c[0] * delta


def _rmsprop(p, g, v, g_avg, buf, c, flags):
    """c = (lr, α, 1−α, ε, wd, μ, lerp weight); flags = (centered, momentum, lerp from the near end)"""
    centered, mom, near = flags
    n = p.shape[0]
    for blk in prange((n + OPT_BLOCK - 1) // OPT_BLOCK):
        for i in range(blk * OPT_BLOCK, min(n, (blk + 1) * OPT_BLOCK)):
            gi = g[i] + c[4] * p[i]
            vi = c[1] * v[i] + c[2] * gi * gi
            v[i] = vi
            if centered:
                a = g_avg[i]
                a = a + c[6] * (gi - a) if near else gi - (gi - a) * c[6]
                g_avg[i] = a
                avg = np.sqrt(vi - a * a) + c[3]
            else:
                avg = np.sqrt(vi) + c[3]
            if mom:
                b = c[5] * buf[i] + gi / avg
                buf[i] = b
                p[i] = p[i] - c[0] * b
            else:
                p[i] = p[i] - c[0] * (gi / avg)


def _compile(fn):
    """(serial, parallel) compiled versions of one loop."""
    return njit(cache=True)(fn), njit(cache=True, parallel=True)(fn)


_BIAS_ACT, _ACT_GRAD = _compile(_bias_act), _compile(_act_grad)
_SOFTMAX_CE, _SIGMOID_BCE, _IDENTITY_MSE = _compile(_softmax_ce), _compile(_sigmoid_bce), _compile(_identity_mse)
_ADAM, _SGD, _ADAGRAD, _ADADELTA, _RMSPROP = (_compile(f) for f in (_adam, _sgd, _adagrad, _adadelta, _rmsprop))


def _pick(pair, size):
    return pair[1] if size >= PARALLEL_MIN else pair[0]


class NumbaKernels(NumpyKernels):
    def _typed(self, dtype, *values):
        t = np.dtype(dtype).type
        return tuple(t(x) for x in values)

    def dense_forward(self, name, A_prev, W, b, out=None):
        if out is None:
            return super().dense_forward(name, A_prev, W, b)
        Z, A = out
        np.matmul(A_prev, W, out=Z)
        _pick(_BIAS_ACT, Z.size)(Z, b, A, CODES[name], constants(Z.dtype))
        return Z, A

    def activation_grad(self, name, dA, Z, A, out=None):
        if out is None:
            return super().activation_grad(name, dA, Z, A)
        _pick(_ACT_GRAD, dA.size)(dA, Z, A, out, CODES[name], constants(dA.dtype))
        return out

    def head_loss(self, name, Z, Y, scale=1.0, out=None):
        if out is None:
            return super().head_loss(name, Z, Y, scale)
        n = Z.shape[0]
        row_loss = self._scratch("row_loss", (n,), Z.dtype)
        scale = Z.dtype.type(scale)
        if name == "softmax":
            _pick(_SOFTMAX_CE, Z.size)(Z, Y, scale, out, row_loss)
        elif name == "sigmoid":
            _pick(_SIGMOID_BCE, Z.size)(Z, Y, scale, out, row_loss, constants(Z.dtype))
        else:
            _pick(_IDENTITY_MSE, Z.size)(Z, Y, scale, out, row_loss, constants(Z.dtype))
        return Z.dtype.type(row_loss.sum(dtype=np.float64) / n), out

    # ---- optimiser steps: one pass each ---------------------------------------------------------

    def sgd_step(self, p, g, lr, wd=0.0):
        _pick(_SGD, p.size)(p, g, p, self._typed(p.dtype, lr, 0, 0, wd), (False, False, False, False))
        return p

    def momentum_step(self, p, g, buf, lr, t, mu, dampening=0.0, nesterov=False, wd=0.0):
        c = self._typed(p.dtype, lr, mu, 1.0 - dampening, wd)
        _pick(_SGD, p.size)(p, g, buf, c, (True, t == 1, bool(nesterov), False))
        return p, buf

    def sutskever_step(self, p, g, v, lr, mu, nesterov=False, wd=0.0):
        c = self._typed(p.dtype, lr, mu, 1.0, wd)
        _pick(_SGD, p.size)(p, g, v, c, (True, False, bool(nesterov), True))
        return p, v

    def adagrad_step(self, p, g, s, lr, t, lr_decay=0.0, eps=1e-10, wd=0.0, eps_inside=False):
        c = self._typed(p.dtype, float(lr) / (1.0 + (t - 1) * lr_decay), eps, wd)
        _pick(_ADAGRAD, p.size)(p, g, s, c, bool(eps_inside))
        return p, s

    def adadelta_step(self, p, g, Eg, Ed, lr, rho=0.9, eps=1e-6, wd=0.0):
        _pick(_ADADELTA, p.size)(p, g, Eg, Ed, self._typed(p.dtype, lr, rho, 1.0 - rho, eps, wd))
        return p, Eg, Ed

    def adam_step(self, p, g, m, v, vmax, lr, t, beta1=0.9, beta2=0.999, eps=1e-8, wd=0.0,
                  decoupled=False, amsgrad=False, eps_uncorrected=False):
        lr = float(lr)
        bc1, bc2_sqrt = 1.0 - beta1 ** t, (1.0 - beta2 ** t) ** 0.5
        w = 1.0 - beta1
        near = w < 0.5
        c = self._typed(p.dtype, lr / bc1, lr * bc2_sqrt / bc1 if eps_uncorrected else bc2_sqrt,
                        w if near else 1.0 - w, beta2, 1.0 - beta2, eps, wd,
                        1.0 - lr * wd if decoupled else 1.0)
        flags = (bool(wd) and not decoupled, bool(amsgrad), bool(eps_uncorrected), near)
        _pick(_ADAM, p.size)(p, g, m, v, vmax if amsgrad else m, c, flags)
        return p, m, v, vmax

    def rmsprop_step(self, p, g, v, g_avg, buf, lr, alpha=0.99, eps=1e-8, wd=0.0, momentum=0.0,
                     centered=False):
        w = 1.0 - alpha
        near = w < 0.5
        c = self._typed(p.dtype, lr, alpha, 1.0 - alpha, eps, wd, momentum, w if near else 1.0 - w)
        _pick(_RMSPROP, p.size)(p, g, v, g_avg if centered else v, buf if momentum else v, c,
                                (bool(centered), bool(momentum), near))
        return p, v, g_avg, buf
