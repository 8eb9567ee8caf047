"""CuPy kernels: ``cupy.ElementwiseKernel``s (type placeholder T covers float32 and float64) for
the fused elementwise ops, cuBLAS GEMMs into preallocated outputs, and nothing that reads a
value back to the host: the learning rate is read on the device (``raw T lr``) and losses stay
device scalars until the epoch ends.

Outputs of an ElementwiseKernel are read-modify-write (``T p, T m, T v``), so one Adam kernel
updates the parameters and both moments in one pass. Kernels compile on first use (NVRTC) and
are cached by CuPy under ~/.cupy/kernel_cache.
"""

from __future__ import annotations

import math

import cupy as cp
import numpy as np

from . import cublas
from .reference import ELU_ALPHA, LEAKY_SLOPE, SELU_ALPHA, SELU_SCALE, Reference

#: float32 → bfloat16 (round to nearest even), kept as its 16 bits: the operands of a bf16 GEMM
_TO_BF16 = cp.ElementwiseKernel(
    "float32 x",
    "uint16 y",
    "y = __bfloat16_as_ushort(__float2bfloat16_rn(x))",
    "reseau_to_bf16",
    preamble="#include <cuda_bf16.h>",
)

_SIG = "(z >= (T)0 ? (T)1 / ((T)1 + exp(-z)) : exp(z) / ((T)1 + exp(z)))"
FORWARD = {  # a = g(z)
    "identity": "z",
    "sigmoid": _SIG,
    "tanh": "tanh(z)",
    "relu": "(z > (T)0 ? z : (T)0)",
    "leaky_relu": f"(z > (T)0 ? z : (T){LEAKY_SLOPE} * z)",
    "elu": f"(z > (T)0 ? z : (T){ELU_ALPHA} * expm1(z))",
    "selu": f"(z > (T)0 ? (T){SELU_SCALE} * z : (T){SELU_SCALE * SELU_ALPHA} * expm1(z))",
    "gelu": f"((T)0.5 * z * ((T)1 + erf(z * (T){math.sqrt(0.5)})))",
    "silu": f"(z * {_SIG})",
    "softplus": "(max(z, (T)0) + log1p(exp(-fabs(z))))",
}
GRAD = {  # dZ = d · g'(z), with a = g(z)
    "identity": "d",
    "sigmoid": "d * a * ((T)1 - a)",
    "tanh": "d * ((T)1 - a * a)",
    "relu": "(a > (T)0 ? d : (T)0)",
    "leaky_relu": f"(z > (T)0 ? d : (T){LEAKY_SLOPE} * d)",
    "elu": f"(z > (T)0 ? d : d * (a + (T){ELU_ALPHA}))",
    "selu": f"(z > (T)0 ? (T){SELU_SCALE} * d : d * (a + (T){SELU_SCALE * SELU_ALPHA}))",
    "gelu": (
        f"d * ((T)0.5 * ((T)1 + erf(z * (T){math.sqrt(0.5)})) + "
        f"z * (T){1 / math.sqrt(2 * math.pi)} * exp((T)-0.5 * z * z))"
    ),
    "silu": f"d * {_SIG} * ((T)1 + z * ((T)1 - {_SIG}))",
    "softplus": f"d * {_SIG}",
}

_BIAS_ACT = {
    name: cp.ElementwiseKernel("T x, T b", "T zout, T a", f"T z = x + b; zout = z; a = {expr};", f"reseau_bias_{name}")
    for name, expr in FORWARD.items()
}
_ACT_GRAD = {
    name: cp.ElementwiseKernel("T d, T z, T a", "T out", f"out = {expr};", f"reseau_grad_{name}")
    for name, expr in GRAD.items()
}
_SIGMOID_BCE = cp.ElementwiseKernel(
    "T z, T y, T scale",
    "T out, T loss",
    f"loss = max(z, (T)0) - y * z + log1p(exp(-fabs(z))); out = scale * ({_SIG} - y);",
    "reseau_sigmoid_bce",
)
_IDENTITY_MSE = cp.ElementwiseKernel(
    "T z, T y, T scale", "T out, T loss", "T e = z - y; loss = (T)0.5 * e * e; out = scale * e;", "reseau_identity_mse"
)


def _step_kernel(in_params, out_params, body, name):
    """An optimiser kernel that applies its update only where the device flag ``ok[0]`` is set
    (the divergence guard: a bad step leaves parameters and state untouched, with no host sync).
    Compiled without FMA contraction (``--fmad=false``) and handed the complements 1 − β computed
    on the host in float64, as the reference computes them, every operation rounds as the
    reference's separate array operations do: centered RMSprop's v − ḡ², which cancels, differed by
    3e-4 relative on an H200 until both. The kernels are memory-bound: in two H200 runs Adam on
    16.8 M parameters moved 2651 GB/s without contraction, 2545 GB/s with it."""
    return cp.ElementwiseKernel(
        in_params + ", raw bool ok", out_params, f"if (ok[0]) {{ {body} }}", name, options=("--fmad=false",)
    )


# ---- optimiser steps: the record's fields (kernels/coefficients.py) by name; g ← gs·g + wd·θ first
# (coupled L2). A field that depends on the rate or a device step count is a device scalar (0-d,
# broadcast), the others are values: a CUDA graph's replay reads the rate in effect ---------------
_SGD = _step_kernel("T g, T gs, T lr, T wd", "T p", "p = p - lr * (gs * g + wd * p);", "reseau_sgd")
_MOMENTUM = _step_kernel(
    "T g0, T gs, T lr, T mu, T damp, T wd, T a, T b",
    "T p, T buf",
    "T g = gs * g0 + wd * p; buf = mu * buf + damp * g; p = p - lr * (a * g + b * buf);",
    "reseau_momentum",
)
_SUTSKEVER = _step_kernel(
    "T g0, T gs, T lr, T mu, T wd, T a, T b",
    "T p, T v",
    "T g = gs * g0 + wd * p; v = mu * v - lr * g; p = p + a * v - b * g;",
    "reseau_sutskever",
)
_ADAGRAD = _step_kernel(
    "T g0, T gs, T lr, T eps_in, T eps_out, T wd",
    "T p, T s",
    "T g = gs * g0 + wd * p; s = s + g * g; p = p - lr * (g / (sqrt(s + eps_in) + eps_out));",
    "reseau_adagrad",
)
_ADADELTA = _step_kernel(
    "T g0, T gs, T lr, T rho, T rho_c, T eps, T wd",
    "T p, T eg, T ed",
    "T g = gs * g0 + wd * p; eg = rho * eg + rho_c * g * g;"
    "T delta = sqrt(ed + eps) / sqrt(eg + eps) * g; ed = rho * ed + rho_c * delta * delta;"
    "p = p - lr * delta;",
    "reseau_adadelta",
)
_ADAM = _step_kernel(
    "T g0, T gs, T a, T B, T s_m, T w, T beta2, T beta2_c, T eps, T wd, T decay, bool amsgrad",
    "T p, T m, T v, T vmax",
    """
    T g = gs * g0 + wd * p;
    p = p * decay;
    m = s_m == (T)1 ? m + w * (g - m) : g + (g - m) * w;
    v = beta2 * v + beta2_c * g * g;
    T r = v;
    if (amsgrad) { vmax = max(vmax, v); r = vmax; }
    p = p - a * (m / (sqrt(r) / B + eps));
    """,
    "reseau_adam",
)
_RMSPROP = _step_kernel(
    "T g0, T gs, T lr, T alpha, T alpha_c, T s_a, T w, T eps, T wd, T mu, bool centered, bool momentum",
    "T p, T v, T ga, T buf",
    """
    T g = gs * g0 + wd * p;
    v = alpha * v + alpha_c * g * g;
    T avg;
    if (centered) {
        ga = s_a == (T)1 ? ga + w * (g - ga) : g + (g - ga) * w;
        avg = sqrt(v - ga * ga) + eps;
    } else {
        avg = sqrt(v) + eps;
    }
    if (momentum) { buf = mu * buf + g / avg; p = p - lr * buf; }
    else p = p - lr * (g / avg);
    """,
    "reseau_rmsprop",
)


def _on_device(t) -> bool:
    """Whether the step count is a device scalar (a captured CUDA graph keeps it there)."""
    return isinstance(t, cp.ndarray)


_HASH = """
__device__ inline unsigned int reseau_hash(unsigned int x) {
    x ^= x >> 16; x *= 0x85EBCA6Bu; x ^= x >> 13; x *= 0xC2B2AE35u; return x ^ (x >> 16);
}
"""
# the reference's dropout_bits: key from (seed, step, layer), then one hash per element index
_BITS = (
    "unsigned int key = reseau_hash(layer * 0x9E3779B1u + 0x7F4A7C15u);"
    "key = reseau_hash(step ^ key); key = reseau_hash(seed ^ key);"
    "unsigned int bits = reseau_hash(((unsigned int)i + base) * 0x85EBCA77u ^ key);"
)
_DROPOUT_BITS = cp.ElementwiseKernel(
    "uint32 step, uint32 seed, uint32 layer, uint32 base",
    "uint32 out",
    _BITS + "out = bits;",
    "reseau_dropout_bits",
    preamble=_HASH,
)
_DROPOUT_MASK = cp.ElementwiseKernel(
    "uint32 step, uint32 seed, uint32 layer, uint32 base, uint32 threshold, T inv_keep",
    "T m",
    _BITS + "m = bits < threshold ? inv_keep : (T)0;",
    "reseau_dropout_mask",
    preamble=_HASH,
)
_SUM_SQUARES = cp.ReductionKernel("T x", "T y", "x * x", "a + b", "y = a", "0", "reseau_sum_squares")


def _fields(p, c):
    """``f(name)``: the record's field as a kernel argument of p's dtype (a device scalar cast on
    the device, a value as a scalar of the dtype; a field the builder left out is 0)."""

    def f(name):
        x = c.get(name, 0.0)
        return x.astype(p.dtype, copy=False) if isinstance(x, cp.ndarray) else p.dtype.type(x)

    return f


def _u32(v):
    """A uint32 kernel argument: a host integer (wrapped mod 2³²) or a device scalar."""
    return v.astype(cp.uint32) if _on_device(v) else np.uint32(int(v) % (1 << 32))


class CupyKernels(Reference):
    in_place = True

    def __init__(self, backend, precision="fp32"):
        super().__init__(backend, precision)
        self._scratch_cache = {}
        self._ok = self._true = cp.ones((), dtype=bool)  # the optimiser kernels' gate (see ``gated``)
        self.blas = cublas.for_current_device(cp)  # GEMMs a CUDA graph can record (None: cupy.matmul)
        if precision != "fp32" and self.blas is None:
            raise ValueError(
                f"precision={precision!r} on cupy sets cuBLAS's types through reseau's own handle, "
                "and libcublas was not found beside CuPy; use precision='fp32'"
            )

    def _matmul(self, A, B, out):
        """out ← A · B through reseau's cuBLAS handle (kernels/cublas.py), in the table's precision:
        fp32 (SGEMM in true float32), tf32 (SGEMM with TF32 tensor-op math), bf16 (both operands
        rounded to bfloat16 into kept buffers, then cublasGemmEx with float32 output and float32
        accumulation)."""
        if self.blas is None:
            return cp.matmul(A, B, out=out)
        if self.precision == "bf16" and out.dtype == cp.float32:
            A16 = self._scratch("bf16.a", A.shape, cp.uint16)
            B16 = self._scratch("bf16.b", B.shape, cp.uint16)
            _TO_BF16(A, A16)
            _TO_BF16(B, B16)
            return self.blas.matmul_bf16(A16, B16, out)
        return self.blas.matmul(A, B, out, tf32=self.precision == "tf32")

    def matmul(self, A, B):
        """A · B in the table's precision (the un-buffered path: predict, evaluate)."""
        out = cp.empty((A.shape[0], B.shape[1]), dtype=A.dtype)
        return self._matmul(A, B, out)

    def step_ok(self, loss, g):
        """isfinite(L) ∧ isfinite(g·g) as a device boolean (one reduction; no host sync)."""
        return cp.isfinite(loss) & cp.isfinite(_SUM_SQUARES(g))

    # ---- dropout: one kernel, the step count by value or on the device --------------------------

    def dropout_bits(self, shape, seed, step, layer, row0=0):
        out = cp.empty(shape, dtype=cp.uint32)
        _DROPOUT_BITS(_u32(step), _u32(seed), _u32(layer), _u32(row0 * shape[1]), out)
        return out

    def dropout_mask(self, shape, seed, step, layer, keep, dtype, row0=0):
        out = cp.empty(shape, dtype=dtype)
        threshold = np.uint32(min(int(keep * 2.0**32), 2**32 - 1))
        _DROPOUT_MASK(
            _u32(step), _u32(seed), _u32(layer), _u32(row0 * shape[1]), threshold, out.dtype.type(1.0 / keep), out
        )
        return out

    def gated(self, ok, update, params, state):
        """Run ``update()`` with every optimiser kernel reading the device flag ``ok``: where it is
        false the kernels write nothing, so params and state stay as they were, in place."""
        self._ok = ok
        try:
            return update()
        finally:
            self._ok = self._true

    def _scratch(self, tag, shape, dtype, make=cp.empty):
        """A buffer kept from call to call, made once from CuPy's default pool, also when the first
        call runs under a CUDA graph's pool: a graph's pool holds the temporaries its replays write,
        and a kept buffer there could share their memory (core/cuda_graph.py)."""
        key = (tag, shape, dtype)
        buf = self._scratch_cache.get(key)
        if buf is None:
            with cp.cuda.using_allocator(cp.get_default_memory_pool().malloc):
                buf = self._scratch_cache[key] = make(shape, dtype=dtype)
        return buf

    def _dummy(self, p, tag="dummy"):
        """A stand-in buffer for a state slot an option switches off (never read)."""
        return self._scratch(tag, p.shape, p.dtype)

    def _rows(self, n):
        return self._scratch("rows", n, cp.int64, make=lambda n, dtype: cp.arange(n, dtype=dtype))

    # ---- layers -----------------------------------------------------------------------------

    def dense_forward(self, name, A_prev, W, b, out=None):
        if out is None:
            return super().dense_forward(name, A_prev, W, b)
        Z, A = out
        self._matmul(A_prev, W, Z)
        _BIAS_ACT[name](Z, b, Z, A)
        return Z, A

    def activation_grad(self, name, dA, Z, A, out=None):
        if out is None:
            return super().activation_grad(name, dA, Z, A)
        _ACT_GRAD[name](dA, Z, A, out)
        return out

    def dense_backward(self, A_prev, dZ, W, need_dA_prev=True, out=None):
        if out is None:
            return super().dense_backward(A_prev, dZ, W, need_dA_prev)
        dW, db, dA_prev = out
        self._matmul(A_prev.T, dZ, dW)
        cp.sum(dZ, axis=0, out=db)  # as the reference sums (1ᵀdZ as a GEMM differed by 1e-4 where columns cancel)
        if need_dA_prev:
            self._matmul(dZ, W.T, dA_prev)
        return dW, db, dA_prev if need_dA_prev else None

    def gather(self, X, idx, out=None):
        if out is None:
            return super().gather(X, idx)
        return cp.take(X, idx, axis=0, out=out)

    # ---- output heads: the loss stays a device scalar ------------------------------------------

    def head_loss(self, name, Z, Y, scale=1.0, out=None):
        if out is None or name not in ("softmax", "sigmoid", "identity"):  # Poisson: the reference's
            return super().head_loss(name, Z, Y, scale)
        n = Z.shape[0]
        if name == "softmax":
            m = self._scratch("m", (n, 1), Z.dtype)
            s = self._scratch("s", (n, 1), Z.dtype)
            rows = self._rows(n)
            cp.max(Z, axis=1, keepdims=True, out=m)
            cp.subtract(Z, m, out=out)
            z_y = out[rows, Y]
            cp.exp(out, out=out)
            cp.sum(out, axis=1, keepdims=True, out=s)
            cp.divide(out, s, out=out)
            out[rows, Y] -= 1
            cp.multiply(out, Z.dtype.type(scale), out=out)
            cp.log(s, out=s)
            return (s.sum() - z_y.sum()) / n, out
        loss = self._scratch("loss", Z.shape, Z.dtype)
        kernel = _SIGMOID_BCE if name == "sigmoid" else _IDENTITY_MSE
        kernel(Z, Y, Z.dtype.type(scale), out, loss)
        return loss.sum() / n, out

    # ---- optimiser steps: one kernel each, the record's fields as its arguments ----------------

    def sgd_step(self, p, g, slots, c):
        f = _fields(p, c)
        _SGD(g, f("gs"), f("lr"), f("wd"), self._ok, p)
        return p, slots

    def momentum_step(self, p, g, slots, c):
        f = _fields(p, c)
        _MOMENTUM(g, f("gs"), f("lr"), f("mu"), f("damp"), f("wd"), f("a"), f("b"), self._ok, p, slots[0])
        return p, slots

    def sutskever_step(self, p, g, slots, c):
        f = _fields(p, c)
        _SUTSKEVER(g, f("gs"), f("lr"), f("mu"), f("wd"), f("a"), f("b"), self._ok, p, slots[0])
        return p, slots

    def adagrad_step(self, p, g, slots, c):
        f = _fields(p, c)
        _ADAGRAD(g, f("gs"), f("lr"), f("eps_in"), f("eps_out"), f("wd"), self._ok, p, slots[0])
        return p, slots

    def adadelta_step(self, p, g, slots, c):
        f = _fields(p, c)
        _ADADELTA(g, f("gs"), f("lr"), f("rho"), f("one_minus_rho"), f("eps"), f("wd"), self._ok, p, *slots)
        return p, slots

    def adam_step(self, p, g, slots, c):
        (m, v, vmax), f = slots, _fields(p, c)
        _ADAM(
            g, f("gs"), f("a"), f("B"), f("s_m"), f("w"), f("beta2"), f("one_minus_beta2"), f("eps"), f("wd"),
            f("decay"), vmax is not None, self._ok, p, m, v, vmax if vmax is not None else self._dummy(p),
        )  # fmt: skip
        return p, slots

    def rmsprop_step(self, p, g, slots, c):
        (v, g_avg, buf), f = slots, _fields(p, c)
        _RMSPROP(
            g, f("gs"), f("lr"), f("alpha"), f("one_minus_alpha"), f("s_a"), f("w"), f("eps"), f("wd"), f("mu"),
            g_avg is not None, buf is not None, self._ok, p, v,
            g_avg if g_avg is not None else self._dummy(p, "g_avg"), buf if buf is not None else self._dummy(p, "buf"),
        )  # fmt: skip
        return p, slots

    def clip_by_global_norm(self, g, max_norm):
        norm = cp.sqrt(cp.sum(g * g))
        cp.multiply(g, cp.minimum(g.dtype.type(max_norm) / (norm + g.dtype.type(1e-6)), 1), out=g)
        return g
