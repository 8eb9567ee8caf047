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

__all__ = ["Reference", "for_backend", "variant_of", "variants"]

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


def for_backend(backend, variant: str | None = None) -> Reference:
    """The kernel table for ``backend``: the fastest available, or the ``variant`` named."""
    options = variants(backend)
    if variant is None:
        variant = options[0]
        if variant == "numba" and os.environ.get("RESEAU_NUMBA", "1") == "0":
            variant = "numpy"
    elif variant not in options:
        raise ValueError(f"kernels={variant!r} cannot run on the {backend.name} backend here; "
                         f"expected one of {', '.join(options)}")
    key = (backend.name, variant)
    if key not in _cache:
        _cache[key] = _make(variant, backend)
    return _cache[key]


def variant_of(kern) -> str:
    """The name of a kernel table that ``for_backend`` made ("numba", "numpy", "jax", ...)."""
    for (_, variant), table in _cache.items():
        if table is kern:
            return variant
    raise ValueError(f"{type(kern).__name__} is not a kernel table made by for_backend")


def _make(variant, backend):
    if variant == "numba":
        from .numba_kernels import NumbaKernels
        return NumbaKernels(backend)
    if variant == "numpy":
        from .numpy_kernels import NumpyKernels
        return NumpyKernels(backend)
    if variant == "jax":
        from .jax_kernels import JaxKernels
        return JaxKernels(backend)
    if variant == "cupy":
        from .cupy_kernels import CupyKernels
        return CupyKernels(backend)
    return Reference(backend)
