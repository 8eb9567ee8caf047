"""cuBLAS GEMMs called through a handle of reseau's own, so that a CUDA graph can record them.

CuPy refuses every cuBLAS call while a stream is being captured (its wrapper raises
NotImplementedError), although cuBLAS records into graphs when the handle works in a workspace
the caller owns (``cublasSetWorkspace``; ``cublasSetStream`` drops it, so both are set together).
The CuPy kernels call ``cublas<S|D>gemm`` here eagerly and under capture alike, so a replayed step
computes exactly what the eager step computes. TF32 stays off: the handle keeps the default math
mode, true float32, as ``cupy.matmul`` does.

Row-major C (m×n) = A (m×k) · B (k×n) is, in cuBLAS's column-major terms, Cᵀ = Bᵀ · Aᵀ: a
C-contiguous operand is its own transpose there (op N), an F-contiguous one (a ``.T`` view) is
read transposed (op T).
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

OP_N, OP_T = 0, 1
DEFAULT_MATH, TF32_TENSOR_OP_MATH = 0, 3  # cublasMath_t
CUDA_R_32F, CUDA_R_16BF = 0, 14  # cudaDataType
COMPUTE_32F, GEMM_DEFAULT = 68, -1  # cublasComputeType_t, cublasGemmAlgo_t
WORKSPACE_BYTES = 32 << 20  # what cuBLAS asks for on Hopper; more than enough before it
_NAMES = ("libcublas.so.13", "libcublas.so.12", "libcublas.so")
_GEMM_ARGS = (
    [ctypes.c_void_p]
    + [ctypes.c_int] * 5
    + [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
    ]
)


def _library(cp):
    """The libcublas CuPy loaded (found in /proc/self/maps), else one found by name."""
    cp.cuda.device.get_cublas_handle()  # makes CuPy load its cuBLAS
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if os.path.basename(path).startswith("libcublas.so"):
                    return ctypes.CDLL(path)
    except OSError:
        pass
    for name in _NAMES:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise OSError("libcublas was not found beside CuPy")


def _check(status, what):
    if status != 0:
        raise RuntimeError(f"cuBLAS {what} failed with status {status}")


def _layout(M):
    """(op, ld) for reading row-major M through cuBLAS, or None where M is neither C- nor
    F-contiguous."""
    if M.flags.c_contiguous:
        return OP_N, max(1, M.shape[1])
    if M.flags.f_contiguous:
        return OP_T, max(1, M.shape[0])
    return None


class Cublas:
    """One cuBLAS handle (with its own workspace) for the current device."""

    def __init__(self, cp, lib=None):
        self._cp = cp
        self.lib = lib = _library(cp) if lib is None else lib
        for gemm in (lib.cublasSgemm_v2, lib.cublasDgemm_v2):
            gemm.argtypes, gemm.restype = _GEMM_ARGS, ctypes.c_int
        lib.cublasGemmEx.argtypes = (
            [ctypes.c_void_p]
            + [ctypes.c_int] * 5
            + [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]  # α, A
            + [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]  # B
            + [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]  # β, C
            + [ctypes.c_int, ctypes.c_int]
        )  # compute type, algorithm
        lib.cublasGemmEx.restype = ctypes.c_int
        lib.cublasSetMathMode.argtypes, lib.cublasSetMathMode.restype = [ctypes.c_void_p, ctypes.c_int], ctypes.c_int
        self._math = DEFAULT_MATH
        lib.cublasCreate_v2.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
        lib.cublasSetStream_v2.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.cublasSetWorkspace_v2.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
        self.handle = ctypes.c_void_p()
        _check(lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        self.workspace = cp.empty(WORKSPACE_BYTES, dtype=cp.uint8)
        self._stream = None
        self._gemm = {
            np.dtype(np.float32): (lib.cublasSgemm_v2, ctypes.c_float(1.0), ctypes.c_float(0.0)),
            np.dtype(np.float64): (lib.cublasDgemm_v2, ctypes.c_double(1.0), ctypes.c_double(0.0)),
        }

    def _bind(self):
        """Point the handle at the current stream (and its workspace back at ours)."""
        stream = self._cp.cuda.get_current_stream().ptr
        if stream != self._stream:
            _check(self.lib.cublasSetStream_v2(self.handle, stream), "cublasSetStream")
            _check(
                self.lib.cublasSetWorkspace_v2(self.handle, self.workspace.data.ptr, WORKSPACE_BYTES),
                "cublasSetWorkspace",
            )
            self._stream = stream

    def _set_math(self, mode):
        """The handle's math mode (tensor-op TF32 or plain float32), set only when it changes: one
        handle serves every kernel table of the device, fp32 and tf32 models alike."""
        if mode != self._math:
            _check(self.lib.cublasSetMathMode(self.handle, mode), "cublasSetMathMode")
            self._math = mode

    def matmul_bf16(self, A16, B16, out):
        """out (float32) ← A · B for C-contiguous bfloat16 operands (their uint16 bits), products
        summed in float32: cublasGemmEx, as ``torch.autocast(bfloat16)`` runs a linear layer."""
        (m, k), n = A16.shape, B16.shape[1]
        self._bind()
        one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)
        _check(
            self.lib.cublasGemmEx(
                self.handle,
                OP_N,
                OP_N,
                n,
                m,
                k,
                ctypes.addressof(one),
                B16.data.ptr,
                CUDA_R_16BF,
                max(1, n),
                A16.data.ptr,
                CUDA_R_16BF,
                max(1, k),
                ctypes.addressof(zero),
                out.data.ptr,
                CUDA_R_32F,
                max(1, n),
                COMPUTE_32F,
                GEMM_DEFAULT,
            ),
            "cublasGemmEx",
        )
        return out

    def matmul(self, A, B, out, tf32=False):
        """out ← A · B (float32 or float64, out C-contiguous; float32 on TF32 tensor cores with
        ``tf32``); falls back to ``cupy.matmul`` for anything else (which cannot be recorded in a
        graph)."""
        gemm = self._gemm.get(out.dtype)
        a, b = _layout(A), _layout(B)
        if (
            gemm is None
            or a is None
            or b is None
            or not out.flags.c_contiguous
            or A.dtype != out.dtype
            or B.dtype != out.dtype
            or A.shape[1] != B.shape[0]
            or out.shape != (A.shape[0], B.shape[1])
        ):
            return self._cp.matmul(A, B, out=out)
        (m, k), n = A.shape, B.shape[1]
        self._bind()
        self._set_math(TF32_TENSOR_OP_MATH if tf32 and out.dtype == np.float32 else DEFAULT_MATH)
        fn, one, zero = gemm
        _check(
            fn(
                self.handle,
                b[0],
                a[0],
                n,
                m,
                k,
                ctypes.addressof(one),
                B.data.ptr,
                b[1],
                A.data.ptr,
                a[1],
                ctypes.addressof(zero),
                out.data.ptr,
                max(1, n),
            ),
            "gemm",
        )
        return out


_HANDLES: dict[int, Cublas] = {}


def for_current_device(cp):
    """The Cublas of the current device, made on first use; None where libcublas cannot be
    loaded (then the kernels use ``cupy.matmul`` and a step cannot be recorded in a graph)."""
    device = cp.cuda.Device().id
    if device not in _HANDLES:
        try:
            _HANDLES[device] = Cublas(cp)
        except (OSError, AttributeError, RuntimeError):
            _HANDLES[device] = None
    return _HANDLES[device]
