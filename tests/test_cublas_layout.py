"""kernels/cublas.py maps row-major products onto cuBLAS's column-major GEMM: checked here on the
host, against a stand-in library that does what the cuBLAS documentation says cublas<t>gemm does, on the arrays'
real memory (no GPU needed). The same calls on a real GPU are
checked by the CuPy kernel tests."""

import ctypes
from types import SimpleNamespace

import numpy as np
import pytest

from reseau.kernels import cublas


class Dev:
    """A host array dressed as a CuPy one (shape, flags, dtype, data.ptr)."""

    def __init__(self, a):
        self.a = a

    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    size = property(lambda self: self.a.size)
    flags = property(lambda self: self.a.flags)
    data = property(lambda self: SimpleNamespace(ptr=self.a.ctypes.data))
    T = property(lambda self: Dev(self.a.T))

    def reshape(self, *shape):
        return Dev(self.a.reshape(*shape))

    def ravel(self):
        return Dev(self.a.ravel())


def _column_major(ptr, dtype, rows, cols, ld):
    """The rows×cols column-major matrix with leading dimension ld stored at ptr."""
    count = ld * (cols - 1) + rows
    ctype = ctypes.c_float if np.dtype(dtype) == np.float32 else ctypes.c_double
    flat = np.ctypeslib.as_array((ctype * count).from_address(ptr))
    return np.lib.stride_tricks.as_strided(flat, (rows, cols), (flat.itemsize, ld * flat.itemsize))


def _bf16_column_major(ptr, rows, cols, ld):
    """A column-major matrix of bfloat16 (16-bit) values at ptr, as float32."""
    count = ld * (cols - 1) + rows
    bits = np.ctypeslib.as_array((ctypes.c_uint16 * count).from_address(ptr))
    values = (bits.astype(np.uint32) << 16).view(np.float32)
    return np.lib.stride_tricks.as_strided(values, (rows, cols), (values.itemsize, ld * values.itemsize))


def _to_bf16(x):
    """float32 → bfloat16 bits, rounded to nearest even (what __float2bfloat16_rn does)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


class FakeLibrary:
    """cublas<S|D>gemm_v2 as documented, plus the handle calls; records the calls."""

    def __init__(self):
        self.calls = []
        for name, dt in (("cublasSgemm_v2", np.float32), ("cublasDgemm_v2", np.float64)):
            setattr(self, name, self._gemm(dt))
        for name in ("cublasCreate_v2", "cublasSetStream_v2", "cublasSetWorkspace_v2"):
            setattr(self, name, self._record(name))
        self.cublasGemmEx = lambda *args: self._gemm_ex(*args)  # functions: ctypes sets argtypes on them
        self.cublasSetMathMode = lambda handle, mode: self.calls.append(f"math {mode}") or 0

    def _gemm_ex(
        self,
        handle,
        transa,
        transb,
        m,
        n,
        k,
        alpha,
        A,
        a_type,
        lda,
        B,
        b_type,
        ldb,
        beta,
        C,
        c_type,
        ldc,
        compute_type,
        algo,
    ):
        """cublasGemmEx as documented, for bf16 A and B (CUDA_R_16BF), float32 C (CUDA_R_32F),
        float32 accumulation (CUBLAS_COMPUTE_32F)."""
        assert (a_type, b_type, c_type, compute_type) == (
            cublas.CUDA_R_16BF,
            cublas.CUDA_R_16BF,
            cublas.CUDA_R_32F,
            cublas.COMPUTE_32F,
        )
        self.calls.append("gemm_ex")
        a = _bf16_column_major(A, *((m, k) if transa == 0 else (k, m)), lda)
        b = _bf16_column_major(B, *((k, n) if transb == 0 else (n, k)), ldb)
        opA, opB = (a if transa == 0 else a.T), (b if transb == 0 else b.T)
        al, be = (_column_major(p, np.float32, 1, 1, 1)[0, 0] for p in (alpha, beta))
        c = _column_major(C, np.float32, m, n, ldc)
        c[...] = al * (opA.astype(np.float64) @ opB) + (be * c if be else 0)
        return 0

    def _record(self, name):
        def call(*args):
            self.calls.append(name)
            return 0

        return call

    def _gemm(self, dt):
        def gemm(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
            self.calls.append("gemm")
            a = _column_major(A, dt, *((m, k) if transa == 0 else (k, m)), lda)
            b = _column_major(B, dt, *((k, n) if transb == 0 else (n, k)), ldb)
            opA, opB = (a if transa == 0 else a.T), (b if transb == 0 else b.T)
            al, be = (_column_major(p, dt, 1, 1, 1)[0, 0] for p in (alpha, beta))
            c = _column_major(C, dt, m, n, ldc)
            c[...] = al * (opA.astype(np.float64) @ opB) + (be * c if be else 0)
            return 0

        return gemm


class FakeCupy:
    uint8 = np.uint8

    def __init__(self):
        self.stream = SimpleNamespace(ptr=1234)
        self.cuda = SimpleNamespace(get_current_stream=lambda: self.stream)
        self.matmul_calls = 0

    def empty(self, n, dtype):
        return Dev(np.empty(n, dtype=dtype))

    def matmul(self, A, B, out):
        self.matmul_calls += 1
        out.a[...] = A.a @ B.a
        return out


@pytest.fixture
def blas():
    cp, lib = FakeCupy(), FakeLibrary()
    return cublas.Cublas(cp, lib=lib), cp, lib


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("m, k, n", [(7, 5, 3), (1, 9, 4), (6, 1, 2), (5, 8, 1), (1, 1, 1)])
def test_gemm_equals_the_row_major_product(blas, dtype, ta, tb, m, k, n):
    """C-contiguous operands and .T views (F-contiguous), odd and unit sizes, output poisoned."""
    b_, cp, lib = blas
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    A = rng.normal(size=(k, m) if ta else (m, k)).astype(dtype)
    B = rng.normal(size=(n, k) if tb else (k, n)).astype(dtype)
    A_dev, B_dev = (Dev(A).T if ta else Dev(A)), (Dev(B).T if tb else Dev(B))
    out = Dev(np.full((m, n), np.nan, dtype=dtype))
    b_.matmul(A_dev, B_dev, out)
    want = A_dev.a.astype(np.float64) @ B_dev.a.astype(np.float64)
    np.testing.assert_allclose(out.a, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
    assert cp.matmul_calls == 0 and lib.calls.count("gemm") == 1


def test_the_stream_is_set_with_the_workspace_and_only_when_it_changes(blas):
    b_, cp, lib = blas
    A, B = Dev(np.ones((2, 3))), Dev(np.ones((3, 4)))
    out = Dev(np.empty((2, 4)))
    for _ in range(3):
        b_.matmul(A, B, out)
    cp.stream = SimpleNamespace(ptr=99)  # another stream (a graph's capture stream)
    b_.matmul(A, B, out)
    assert [c for c in lib.calls if c != "gemm"] == ["cublasCreate_v2"] + [
        "cublasSetStream_v2",
        "cublasSetWorkspace_v2",
    ] * 2


def test_what_cublas_cannot_take_goes_to_cupy_matmul(blas):
    b_, cp, lib = blas
    A = Dev(np.ones((4, 6))[:, ::2])  # neither C- nor F-contiguous
    out = Dev(np.empty((4, 2)))
    b_.matmul(A, Dev(np.ones((3, 2))), out)
    b_.matmul(
        Dev(np.ones((4, 3), dtype=np.float16)),
        Dev(np.ones((3, 2), dtype=np.float16)),
        Dev(np.empty((4, 2), dtype=np.float16)),
    )
    assert cp.matmul_calls == 2 and "gemm" not in lib.calls
    np.testing.assert_array_equal(out.a, 3.0)


@pytest.mark.parametrize("m, k, n", [(7, 5, 3), (1, 9, 4), (6, 1, 2), (5, 8, 1)])
def test_bf16_gemm_ex_equals_the_product_of_the_rounded_operands(blas, m, k, n):
    b_, cp, lib = blas
    rng = np.random.default_rng(m + 10 * k + 100 * n)
    A, B = rng.normal(size=(m, k)).astype(np.float32), rng.normal(size=(k, n)).astype(np.float32)
    A16, B16 = _to_bf16(A), _to_bf16(B)
    out = Dev(np.full((m, n), np.nan, dtype=np.float32))
    b_.matmul_bf16(Dev(A16), Dev(B16), out)
    rounded = [(M.astype(np.uint32) << 16).view(np.float32).astype(np.float64) for M in (A16, B16)]
    np.testing.assert_allclose(out.a, rounded[0] @ rounded[1], rtol=1e-6, atol=1e-6)
    assert np.abs(rounded[0] - A).max() > 0  # bf16 rounding really happened
    assert lib.calls.count("gemm_ex") == 1


def test_tf32_switches_the_math_mode_only_when_it_changes(blas):
    b_, cp, lib = blas
    A, B = Dev(np.ones((2, 3), np.float32)), Dev(np.ones((3, 4), np.float32))
    out = Dev(np.empty((2, 4), np.float32))
    b_.matmul(A, B, out)  # fp32: the default mode, nothing to set
    b_.matmul(A, B, out, tf32=True)
    b_.matmul(A, B, out, tf32=True)
    b_.matmul(A, B, out)  # back to true float32
    modes = [c for c in lib.calls if c.startswith("math")]
    assert modes == [f"math {cublas.TF32_TENSOR_OP_MATH}", f"math {cublas.DEFAULT_MATH}"]
    np.testing.assert_array_equal(out.a, 3.0)
