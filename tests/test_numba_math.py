"""kernels/numba_math.py, compiled as the loops use it, against exact references: math.tanh and
math.exp / math.log1p in float64 (correctly rounded to within 1 ulp), and float64's value of the
same function for the float32 forms; special values; the dtype each form keeps."""

import math

import numpy as np
import pytest

pytest.importorskip("numba", reason="numba is not installed (pip install 'reseau[cpu]')")

from reseau.kernels import numba_math as nm  # noqa: E402


def _loop(fn):
    """``fn`` over an array in a compiled loop (a plain function compiled here; the dtype-chosen
    ``tanh``, ``exp_neg`` and ``log1p_unit`` called as compiled code calls them)."""
    from numba import njit

    scalar = fn if fn in (nm.tanh, nm.exp_neg, nm.log1p_unit) else njit(error_model="numpy")(fn)

    @njit(error_model="numpy")
    def loop(x, out):
        for i in range(x.shape[0]):
            out[i] = scalar(x[i])

    def run(x):
        out = np.empty_like(x)
        loop(x, out)
        return out

    return run


def _ulps(got, exact, dtype):
    return np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(dtype)).astype(np.float64)


def _tanh_inputs(dtype, n=200_000):
    rng = np.random.default_rng(0)
    wide = rng.uniform(-25, 25, n)
    small = np.sign(rng.standard_normal(n)) * np.exp(rng.uniform(np.log(1e-30), np.log(25), n))
    return np.concatenate([wide, small, [0.0, 1e-300, 0.3466, 0.55, 9.0, 18.9, 19.1]]).astype(dtype)


def _exp_inputs(dtype, top, n=200_000):
    """e^(−x) over [0, top]: uniform, log-spaced from tiny, and where the result turns subnormal."""
    rng = np.random.default_rng(1)
    return np.concatenate(
        [rng.uniform(0, top, n), np.exp(rng.uniform(np.log(1e-30), np.log(top), n)), np.linspace(top - 40, top, 5001)]
    ).astype(dtype)


def test_tanh_is_within_2_ulp_in_float64():
    """2 ulp of ours + the reference's own rounding; zeros keep their sign, ±inf give ±1, NaN passes."""
    tanh = _loop(nm.tanh64)
    x = _tanh_inputs(np.float64)
    exact = np.array([math.tanh(v) for v in x.tolist()])
    assert _ulps(tanh(x), exact, np.float64).max() <= 3
    special = tanh(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 40.0, -40.0]))
    assert special[0] == 0 and not np.signbit(special[0]) and np.signbit(special[1])
    assert list(special[2:4]) == [1.0, -1.0] and np.isnan(special[4]) and list(special[5:]) == [1.0, -1.0]


def test_tanh32_is_within_3_ulp_and_stays_float32():
    tanh32 = _loop(nm.tanh32)
    x = _tanh_inputs(np.float32)
    got = tanh32(x)
    assert got.dtype == np.float32
    assert _ulps(got, np.tanh(x.astype(np.float64)), np.float32).max() <= 3
    special = tanh32(np.array([-0.0, np.inf, -np.inf, np.nan], dtype=np.float32))
    assert np.signbit(special[0]) and list(special[1:3]) == [1.0, -1.0] and np.isnan(special[3])


def test_exp_neg_is_within_1_ulp_in_float64_down_to_the_subnormals():
    x = _exp_inputs(np.float64, 745.0)
    exact = np.array([math.exp(-v) for v in x.tolist()])
    got = _loop(nm.exp_neg64)(x)
    assert _ulps(got, exact, np.float64).max() <= 2  # 1 of ours + the reference's rounding
    assert got[exact < 2.3e-308].size > 100  # the subnormal range was met
    special = _loop(nm.exp_neg64)(np.array([0.0, 745.2, 800.0, np.inf, np.nan]))
    assert list(special[:4]) == [1.0, 0.0, 0.0, 0.0] and np.isnan(special[4])


def test_exp_neg32_is_within_2_ulp_and_stays_float32():
    x = _exp_inputs(np.float32, 103.0)
    got = _loop(nm.exp_neg32)(x)
    assert got.dtype == np.float32
    assert _ulps(got, np.exp(-x.astype(np.float64)), np.float32).max() <= 2
    special = _loop(nm.exp_neg32)(np.array([0.0, 104.0, np.inf, np.nan], dtype=np.float32))
    assert list(special[:3]) == [1.0, 0.0, 0.0] and np.isnan(special[3])


@pytest.mark.parametrize("dtype, limit", [(np.float64, 4), (np.float32, 3)])
def test_log1p_unit_is_within_3_ulp_on_0_1(dtype, limit):
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.uniform(0, 1, 200_000), np.exp(rng.uniform(np.log(1e-300), 0, 20_000)), [0.0, 1.0]])
    x = x.astype(dtype)
    got = _loop(nm.log1p_unit64 if dtype == np.float64 else nm.log1p_unit32)(x)
    exact = np.array([math.log1p(v) for v in x.astype(np.float64).tolist()])
    assert got.dtype == dtype and got[-2] == 0.0
    assert _ulps(got, exact, dtype).max() <= limit  # 3 (float32 2.6) + the reference's rounding


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_dtype_chosen_forms_are_the_forms_of_that_dtype(dtype):
    """Compiled, ``tanh``/``exp_neg``/``log1p_unit`` run the form of the argument's dtype (bit for bit);
    from Python, the same value."""
    x = np.linspace(0, 5, 1001).astype(dtype)
    for either, f64, f32 in (
        (nm.tanh, nm.tanh64, nm.tanh32),
        (nm.exp_neg, nm.exp_neg64, nm.exp_neg32),
        (nm.log1p_unit, nm.log1p_unit64, nm.log1p_unit32),
    ):
        form = f32 if dtype == np.float32 else f64
        got = _loop(either)(x)
        assert got.dtype == dtype and np.array_equal(got, _loop(form)(x)), either.__name__
        assert float(either(x[7])) == float(got[7]), either.__name__


def test_pow2_from_bits_matches_ldexp_over_the_whole_range():
    from numba import njit

    @njit
    def powers(k):
        out = np.empty_like(k)
        for i in range(k.shape[0]):
            out[i] = nm.pow2(k[i])
        return out

    k64, k32 = np.arange(-1074.0, 1024.0), np.arange(-149.0, 128.0, dtype=np.float32)
    assert np.array_equal(powers(k64), np.ldexp(1.0, k64.astype(int)))
    assert np.array_equal(powers(k32), np.ldexp(np.float32(1), k32.astype(int)).astype(np.float32))
    assert powers(np.array([np.nan]))[0] == 1.0 and nm.pow2(float("nan")) == 1.0
