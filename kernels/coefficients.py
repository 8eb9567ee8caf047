"""Each optimiser's step as one named coefficient record: its options, the learning rate and the
step count t folded into the numbers its kernel multiplies by (bias corrections, the first step's
momentum, the decayed rate), so every kernel table takes ``(p, g, slots, c)`` and reads ``c`` by
name (core/optim.py builds the record each step; kernels/numba_epoch.py builds a chunk's at once).

A record is a dict of fields named in ``FIELDS``. Every field is a Python float for a step on the
host, an array of one value a step for a chunk (``lr`` and ``t`` arrays), or a device value (a
traced JAX scalar, a CuPy scalar under a CUDA graph) where the rate or t lives on the device:
the builders use arithmetic that works on each. The formulas, with g' = gs·g + wd·θ:

    sgd        buf ← μ·buf + damp·g';  θ ← θ − lr·(a·g' + b·buf)   (plain: μ = 0; first step: μ = 0, damp = 1)
    sutskever  v ← μv − lr·g';  θ ← θ + a·v − b·g'
    adam       θ ← θ·decay;  m ← (s_m·m + s_g·g') + w(g' − m);  v ← β₂v + (1−β₂)g'²;  θ ← θ − a·m/(√v/B + ε)
    adagrad    s ← s + g'²;  θ ← θ − lr·g'/(√(s + ε_in) + ε_out)
    adadelta   E_g ← ρE_g + (1−ρ)g'²;  Δ = √(E_Δ + ε)/√(E_g + ε)·g';  E_Δ ← ρE_Δ + (1−ρ)Δ²;  θ ← θ − lr·Δ
    rmsprop    v ← αv + (1−α)g'²;  ḡ ← (s_a·ḡ + s_g·g') + w(g' − ḡ);  r = √(v − ḡ²) + ε;  θ ← θ − lr·(μb + g'/r)
"""

from __future__ import annotations

import functools

import numpy as np

#: the fields of the one record every optimiser's loop reads by name (each fills its own; the rest
#: are 0): one record type per float dtype, so the compiled epoch stays one kernel
FIELDS = (
    "lr", "mu", "damp", "wd", "a", "b", "B", "w", "beta2", "one_minus_beta2", "eps", "eps_in", "eps_out",
    "decay", "s_m", "s_g", "s_a", "rho", "one_minus_rho", "alpha", "one_minus_alpha", "gs",
)  # fmt: skip

#: each field's position in a record seen as a flat array of its dtype
POSITION = {name: j for j, name in enumerate(FIELDS)}


@functools.cache
def record_dtype(dtype) -> np.dtype:
    """The record's structured dtype, every field in ``dtype`` (made once per dtype: building it
    took 8 µs, per step on the step path)."""
    return np.dtype([(name, dtype) for name in FIELDS])


def records(values: dict, dtype, steps: int = 1) -> np.ndarray:
    """``steps`` records of ``dtype`` from a builder's ``values`` (per field: a scalar, or one value
    a step); fields it does not name are 0."""
    out = np.zeros(steps, dtype=record_dtype(dtype))
    for name, value in values.items():
        out[name] = value
    return out


def lerp_coefficients(w):
    """(s_a, s_b, c) with lerp(a, b, w) = (s_a·a + s_b·b) + c·(b − a), evaluated from the nearer
    end as PyTorch's lerp: a + w(b − a) if w < 0.5 else b − (1 − w)(b − a)."""
    return (1.0, 0.0, w) if w < 0.5 else (0.0, 1.0, -(1.0 - w))


#: not numbers.Number: an ABC's isinstance took 195 ns against 70 (timeit), some nine checks a step
_HOST = (int, float, np.ndarray, np.generic)


def _host(x) -> bool:
    return isinstance(x, _HOST)


def _floats(x):
    """A host rate as a Python float (or float64 array); a device value as it is."""
    if type(x) is float or not _host(x):
        return x
    return float(x) if getattr(x, "ndim", 0) == 0 else np.asarray(x, dtype=np.float64)


def _pow(x, y):
    """x ** y: for host scalars Python's float power (libm's pow); element by element where one is
    a host array, by libm's pow in a compiled loop (NumPy's own power differs from it in the last
    bit for ~5% of β**t), so a chunk's records have the bits of one step's; on the device, its own."""
    if not (_host(x) and _host(y)) or (getattr(x, "ndim", 0) == 0 and getattr(y, "ndim", 0) == 0):
        return x**y
    from .numba_kernels import POWERS  # a chunk of steps: the compiled epoch, which has numba

    n = max(np.size(x), np.size(y))
    out = np.empty(n)
    x, y = (np.full(n, v, dtype=np.float64) if np.ndim(v) == 0 else np.asarray(v, dtype=np.float64) for v in (x, y))
    POWERS(x, y, out)
    return out


def _in_rate_dtype(x, lr):
    """A step count's factor in the rate's dtype where the rate lives on the device, before the
    rate meets it: the same rounding whether t is a host number or a device scalar (a CUDA graph's),
    and whatever the array library's promotion of a Python float."""
    if _host(lr):
        return x
    dtype = getattr(lr, "dtype", None)
    if isinstance(x, float):
        return np.dtype(dtype).type(x)
    return x if getattr(x, "dtype", None) == dtype else x.astype(dtype)


def _first_step(t, first, later):
    """``first`` on step 1, ``later`` after it: per element for a host array of steps; for a
    device t, as (t = 1)·first + (t ≠ 1)·later (one of the two products is 0)."""
    if not _host(t):
        return (t == 1) * first + (t != 1) * later
    return (first if t == 1 else later) if getattr(t, "ndim", 0) == 0 else np.where(np.asarray(t) == 1, first, later)


def sgd(lr, wd=0.0, gs=1.0):
    """Plain SGD: θ ← θ − lr·g (the ``sgd`` loop with its buffer multiplied by 0)."""
    return dict(lr=_floats(lr), mu=0.0, damp=0.0, wd=wd, a=1.0, b=0.0, gs=gs)


def momentum(lr, t, mu, dampening=0.0, nesterov=False, wd=0.0, gs=1.0):
    """PyTorch's momentum at step t: b ← g on the first step, then μb + (1−τ)g; θ − lr·b, or
    θ − lr(g + μb) with Nesterov."""
    mu_b, damp = _first_step(t, 0.0, mu), _first_step(t, 1.0, 1.0 - dampening)
    a, b = (1.0, mu) if nesterov else (0.0, 1.0)
    return dict(lr=_floats(lr), mu=mu_b, damp=damp, wd=wd, a=a, b=b, gs=gs)


def sutskever(lr, mu, nesterov=False, wd=0.0, gs=1.0):
    """Sutskever's momentum (scikit-learn, Keras): v ← μv − lr·g; θ ← θ + v (Nesterov: θ + μv − lr·g)."""
    lr = _floats(lr)
    a, b = (mu, lr) if nesterov else (1.0, 0.0)
    return dict(lr=lr, mu=mu, wd=wd, a=a, b=b, gs=gs)


def adam(lr, t, beta1, beta2, eps, wd, decoupled, eps_uncorrected, gs=1.0):
    """Adam at step t, the bias corrections here: a = lr/(1−β₁ᵗ), B = √(1−β₂ᵗ); with ε on the
    uncorrected root (scikit-learn, Keras) a = lr·√(1−β₂ᵗ)/(1−β₁ᵗ), B = 1. AdamW (``decoupled``):
    θ·(1 − lr·wd) first (decay) and no L2 in g."""
    lr = _floats(lr)
    bc1 = _in_rate_dtype(1.0 - _pow(beta1, t), lr)
    bc2_sqrt = _in_rate_dtype(_pow(1.0 - _pow(beta2, t), 0.5), lr)
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


def adagrad(lr, t, lr_decay=0.0, eps=1e-10, wd=0.0, eps_inside=False, gs=1.0):
    """Adagrad at step t: the decayed rate lr/(1 + (t−1)·lr_decay); ε inside the root (Keras,
    optax) or outside it (PyTorch)."""
    lr = _floats(lr)
    clr = lr / _in_rate_dtype(1.0 + (t - 1) * lr_decay, lr)
    return dict(lr=clr, eps_in=eps if eps_inside else 0.0, eps_out=0.0 if eps_inside else eps, wd=wd, gs=gs)


def adadelta(lr, rho=0.9, eps=1e-6, wd=0.0, gs=1.0):
    """AdaDelta (ε inside both roots, PyTorch's)."""
    return dict(lr=_floats(lr), rho=rho, one_minus_rho=1.0 - rho, eps=eps, wd=wd, gs=gs)


def rmsprop(lr, alpha=0.99, eps=1e-8, wd=0.0, momentum=0.0, centered=False, gs=1.0):
    """RMSprop: the centred mean's lerp folded in as Adam's (all zero when not centred)."""
    s_a, s_g, w = lerp_coefficients(1.0 - alpha) if centered else (0.0, 0.0, 0.0)
    return dict(
        lr=_floats(lr),
        alpha=alpha,
        one_minus_alpha=1.0 - alpha,
        eps=eps,
        wd=wd,
        mu=momentum,
        w=w,
        s_a=s_a,
        s_g=s_g,
        gs=gs,
    )
