"""Elementary functions from arithmetic alone, for the numba loops (kernels/numba_kernels.py,
kernels/numba_epoch.py): libm's scalar tanh, exp and log1p are calls a loop cannot vectorise
(and log1pf alone took 8% of a 30-16-1 step), these are a few multiply-adds a loop can.

Each is a plain function (tested and callable from Python) in a float64 form and a float32 form
(float32 arithmetic end to end: twice the lanes, half the terms). The common reduction: a value
y = k·ln 2 + r with |r| ≤ ln 2/2, e^r by its Taylor series, 2ᵏ made from k's bits (``pow2``).
Accuracy against the exact value (tests/test_numba_math.py): tanh within 2 ulp (float32 2.5),
``exp_neg`` 1 ulp (float32 1.1), ``log1p_unit`` 3 ulp (float32 2.6). ``tanh``, ``exp_neg`` and
``log1p_unit`` take either dtype: compiled, the form of the argument's dtype is chosen once.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

#: ln 2 split so that k·LN2_HI is exact for the k met here (Cody and Waite's reduction)
LN2_HI, LN2_LO, INV_LN2 = 6.93147180369123816490e-01, 1.90821492927058770002e-10, 1.44269504088896338700e00
F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, F13, F14 = (1.0 / math.factorial(n) for n in range(2, 15))  # 1/n!

_f32 = np.float32
L2H32, L2L32, IL2_32, CAP32 = _f32(0.693145751953125), _f32(1.428606765330187e-06), _f32(INV_LN2), _f32(18.0)
G2, G3, G4, G5, G6, G7, G8 = (_f32(1.0 / math.factorial(n)) for n in range(2, 9))  # 1/n! in float32
ONE32, TWO32, HALF32 = _f32(1.0), _f32(2.0), _f32(0.5)

#: 2/(2n+1): log1p(e) = 2·atanh(s) = Σ 2s²ⁿ⁺¹/(2n+1), s = e/(2 + e) ≤ 1/3 for e ≤ 1
H = tuple(2.0 / (2 * n + 1) for n in range(17))
H32 = tuple(_f32(c) for c in H[:8])
#: e^(−y) is below the smallest subnormal from here on (float64, float32)
EXP_CAP, EXP_CAP32 = 745.2, _f32(104.0)


def pow2(k):
    """2ᵏ for an integral float k in [−1075, 1023] (float32: [−150, 127]), in k's dtype; compiled,
    from k's bits (the exponent field), in two factors below the normal range. A NaN k gives 1
    (its callers' NaN passes through their other factor)."""
    v = math.ldexp(1.0, int(k)) if k == k else 1.0
    return k.dtype.type(v) if isinstance(k, np.floating) else v


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float whose bits are ``bits`` (int64 → float64, int32 → float32)."""
    fty = types.float64 if bits.bitwidth == 64 else types.float32

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType() if bits.bitwidth == 64 else ir.FloatType())

    return fty(bits), codegen


@overload(pow2, inline="always")
def _pow2_compiled(k):
    if k == types.float32:

        def pow2_32(k):
            k = k if k == k else _f32(0.0)  # NaN: converting it to an integer is undefined
            low = k < _f32(-126.0)  # subnormal: 2^(k+64) · 2^(−64), both factors exact
            e = np.int32(k + _f32(64.0)) if low else np.int32(k)
            s = _float_from_bits(np.int32((e + np.int32(127)) << np.int32(23)))
            return s * _f32(5.421010862427522e-20) if low else s

        return pow2_32

    def pow2_64(k):
        k = k if k == k else 0.0
        low = k < -1022.0  # 2^(k+128) · 2^(−128)
        e = np.int64(k + 128.0) if low else np.int64(k)
        s = _float_from_bits(np.int64((e + np.int64(1023)) << np.int64(52)))
        return s * 2.938735877055719e-39 if low else s

    return pow2_64


def tanh64(x):
    """tanh x = sign(x)·e/(e + 2), e = expm1(2|x|), in float64: 2|x| = k·ln 2 + r, then
    e = 2ᵏ·expm1(r) + (2ᵏ − 1), expm1(r) by its Taylor series to r¹⁴/14!. Within 2 ulp of tanh
    (NumPy's: 1); 1 from |x| = 20 on (tanh rounds to 1 from 19.06); NaN passes through."""
    z = np.float64(x)
    y = 2.0 * abs(z)
    y = 40.0 if y > 40.0 else y
    k = np.floor(y * INV_LN2 + 0.5)
    r = (y - k * LN2_HI) - k * LN2_LO
    p = (((((((((((((F14 * r + F13) * r + F12) * r + F11) * r + F10) * r + F9) * r + F8) * r + F7) * r + F6) * r + F5)
            * r + F4) * r + F3) * r + F2) * r + 1.0) * r  # fmt: skip
    s = pow2(k)
    e = s * p + (s - 1.0)
    return math.copysign(1.0 if y >= 40.0 else e / (e + 2.0), z)  # NaN: the division


def tanh32(x):
    """``tanh64`` in float32 arithmetic for a float32 x: expm1's series to r⁸/8!, ln 2 split for
    float32, 2|x| capped at 18 (tanh 9 is 1 − 1 ulp). Within 2.5 ulp of tanh (NumPy's: 1.4)."""
    y = TWO32 * abs(x)
    y = CAP32 if y > CAP32 else y
    k = np.floor(y * IL2_32 + HALF32)
    r = (y - k * L2H32) - k * L2L32
    p = ((((((G8 * r + G7) * r + G6) * r + G5) * r + G4) * r + G3) * r + G2) * r * r + r
    s = pow2(k)
    e = s * p + (s - ONE32)
    return math.copysign(e / (e + TWO32), x)


def exp_neg64(x):
    """e^(−x) for x ≥ 0 in float64 (0 from x = 745.2 on, NaN passes through): −x = k·ln 2 + r,
    e^r by its series to r¹⁴/14!, times 2ᵏ."""
    x = EXP_CAP if x > EXP_CAP else x
    k = np.floor(0.5 - x * INV_LN2)
    r = (-x - k * LN2_HI) - k * LN2_LO
    p = (((((((((((((F14 * r + F13) * r + F12) * r + F11) * r + F10) * r + F9) * r + F8) * r + F7) * r + F6) * r + F5)
            * r + F4) * r + F3) * r + F2) * r + 1.0) * r + 1.0  # fmt: skip
    return 0.0 if x >= EXP_CAP else p * pow2(k)


def exp_neg32(x):
    """``exp_neg64`` in float32 arithmetic for a float32 x ≥ 0: the series to r⁸/8! (0 from x = 104 on)."""
    x = EXP_CAP32 if x > EXP_CAP32 else x
    k = np.floor(HALF32 - x * IL2_32)
    r = (-x - k * L2H32) - k * L2L32
    p = (((((((G8 * r + G7) * r + G6) * r + G5) * r + G4) * r + G3) * r + G2) * r + ONE32) * r + ONE32
    return _f32(0.0) if x >= EXP_CAP32 else p * pow2(k)


def log1p_unit64(x):
    """log(1 + x) for 0 ≤ x ≤ 1 in float64: 2·atanh(s), s = x/(2 + x) ≤ 1/3, its series to s³³."""
    s = x / (2.0 + x)
    t = s * s
    h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15, h16 = H
    q = ((((((((h16 * t + h15) * t + h14) * t + h13) * t + h12) * t + h11) * t + h10) * t + h9) * t + h8) * t + h7
    return s * (((((((q * t + h6) * t + h5) * t + h4) * t + h3) * t + h2) * t + h1) * t + h0)


def log1p_unit32(x):
    """``log1p_unit64`` in float32 arithmetic for a float32 x: the series to s¹⁵."""
    s = x / (TWO32 + x)
    t = s * s
    h0, h1, h2, h3, h4, h5, h6, h7 = H32
    return s * (((((((h7 * t + h6) * t + h5) * t + h4) * t + h3) * t + h2) * t + h1) * t + h0)


def _by_dtype(f64, f32):
    """One function of a float: ``f32`` for a float32, else ``f64`` (compiled: chosen by type)."""

    def either(x):
        return f32(x) if isinstance(x, np.float32) else f64(x)

    overload(either, inline="always")(lambda x: f32 if x == types.float32 else f64)
    either.__name__ = either.__qualname__ = f64.__name__.removesuffix("64")
    either.__doc__ = f"``{f64.__name__}`` or ``{f32.__name__}`` by the argument's dtype."
    return either


tanh = _by_dtype(tanh64, tanh32)
exp_neg = _by_dtype(exp_neg64, exp_neg32)
log1p_unit = _by_dtype(log1p_unit64, log1p_unit32)
