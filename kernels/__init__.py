"""Fused hot loops: ``reference`` (the readable spec) and, per backend, the ops it speeds up.

``for_backend(backend)`` returns the kernel table for a backend: an object whose methods
are the hot operations (activation forward and gradient, dense forward and backward,
loss heads, optimiser steps). A backend's module overrides only what it makes faster;
everything else falls back to :class:`reference.Reference` (Thinc's pattern).

| backend | table | how |
|---|---|---|
| numpy | ``NumbaKernels`` when numba is installed (``reseau[cpu]``), else ``NumpyKernels`` | one fused loop per op / in-place ufuncs with ``out=`` |
| jax | ``JaxKernels`` | plain jnp; XLA fuses each whole step under ``jax.jit`` |
| cupy | ``CupyKernels`` | ``cupy.ElementwiseKernel``s, cuBLAS GEMMs into preallocated outputs |

``RESEAU_NUMBA=0`` keeps the NumPy backend off numba.
"""

from __future__ import annotations

import importlib.util
import os

from .reference import Reference

__all__ = ["PRECISIONS", "Reference", "check_precision", "for_backend", "for_run", "variant_of", "variants"]

_cache: dict[tuple[str, str], Reference] = {}


def variants(backend) -> list[str]:
    """The kernel tables that can run on ``backend`` here, fastest first."""
    if backend.name == "numpy":
        found = importlib.util.find_spec("numba") is not None
        return (["numba"] if found else []) + ["numpy", "reference"]
    if backend.name == "cupy":
        return ["cupy", "reference"]
    if backend.name == "jax":
        return ["jax", "reference"]
    return ["reference"]


#: the GEMMs' arithmetic: fp32 (true float32, or the model's float64), tf32 (TF32 tensor cores),
#: bf16 (bfloat16 operands, float32 sums); weights, gradients, optimiser state, the loss and softmax
#: stay in the model's dtype in every one
PRECISIONS = ("fp32", "tf32", "bf16")
#: which backend's kernel tables run which precision
SUPPORTED = {"numpy": ("fp32",), "jax": PRECISIONS, "cupy": PRECISIONS}


def check_precision(precision, backend, dtype_name="float32") -> str:
    """``precision`` checked against the backend and dtype, or a ValueError saying what runs where."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r} is invalid; expected one of {', '.join(PRECISIONS)}")
    if precision != "fp32" and precision not in SUPPORTED.get(backend.name, ("fp32",)):
        raise ValueError(
            f"precision={precision!r} runs on the jax and cupy backends; the {backend.name} backend "
            "computes every GEMM in the model's dtype (precision='fp32')"
        )
    if precision != "fp32" and dtype_name != "float32":
        raise ValueError(
            f"precision={precision!r} rounds float32 GEMM operands; with dtype={dtype_name!r} use precision='fp32'"
        )
    return precision


def for_backend(backend, variant: str | None = None, precision: str = "fp32") -> Reference:
    """The kernel table for ``backend``: the fastest available, or the ``variant`` named; its
    GEMMs in ``precision`` (PRECISIONS)."""
    options = variants(backend)
    if variant is None:
        variant = options[0]
        if variant == "numba" and os.environ.get("RESEAU_NUMBA", "1") == "0":
            variant = "numpy"
    elif variant not in options:
        raise ValueError(
            f"kernels={variant!r} cannot run on the {backend.name} backend here; expected one of {', '.join(options)}"
        )
    if precision != "fp32" and variant not in ("jax", "cupy"):
        raise ValueError(
            f"precision={precision!r} needs the {backend.name} backend's own kernels, not kernels={variant!r}"
        )
    key = (backend.name, variant, precision)
    if key not in _cache:
        _cache[key] = _make(variant, backend, precision)
    return _cache[key]


def variant_of(kern) -> str:
    """The name of a kernel table that ``for_backend`` made ("numba", "numpy", "jax", ...)."""
    for (_, variant, _), table in _cache.items():
        if table is kern:
            return variant
    raise ValueError(f"{type(kern).__name__} is not a kernel table made by for_backend")


def _make(variant, backend, precision="fp32"):
    if variant == "numba":
        from .numba_kernels import NumbaKernels

        return NumbaKernels(backend)
    if variant == "numpy":
        from .numpy_kernels import NumpyKernels

        return NumpyKernels(backend)
    if variant == "jax":
        from .jax_kernels import JaxKernels

        return JaxKernels(backend, precision)
    if variant == "cupy":
        from .cupy_kernels import CupyKernels

        return CupyKernels(backend, precision)
    return Reference(backend)


#: parameters × rows × epochs below which the NumPy kernels beat numba's start-up (~0.7 s to import
#: numba and load its cached loops, against ~25 % less time a step; measured on the CI machine kind)
NUMBA_WORTH = 1e11
#: steps from which numba pays on a small network too, through its compiled epochs
#: (core/compiled_epoch.py): `reseau train --data digits --epochs 1000 --early-stopping none`
#: (40,000 steps) took 2.39 s wall against 4.87 s on the NumPy kernels; scikit-learn's diabetes
#: (10 steps an epoch, 1,000 epochs: 10,000 steps, the per-epoch work unchanged) 1.43 s against
#: 1.30 s. From 20,000 steps the start-up is repaid
NUMBA_STEPS = 20_000


def for_run(backend: str | None, sizes, n_rows: int, batch_size: int | None, epochs: int) -> str | None:
    """The kernels a whole run should take: None (the backend's fastest) for long runs; "numpy"
    for short ones on the NumPy backend, where numba's start-up would cost more than its faster
    steps save (a command line's one-off run; a library user keeps the model's own choice)."""
    params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    name = backend or os.environ.get("RESEAU_BACKEND") or "auto"
    if name != "numpy" and not (name == "auto" and importlib.util.find_spec("cupy") is None):
        return None  # another backend, or auto where CuPy may take a GPU
    steps = -(-n_rows // min(batch_size or n_rows, n_rows)) * epochs
    return None if params * n_rows * epochs >= NUMBA_WORTH or steps >= NUMBA_STEPS else "numpy"
