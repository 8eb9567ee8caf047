"""Array backends: a registry and one module per library (NumPy, CuPy, JAX).

``get(name)`` returns the backend object that the rest of reseau works through:

- ``xp``: the array-API namespace (array-api-compat's wrapper for NumPy/CuPy,
  ``jax.numpy`` for JAX);
- ``asarray(x, dtype)`` / ``to_numpy(x)``: move data to and from the device;
- ``sync(x)``: wait until ``x`` (or all queued work) is computed, for honest timing;
- ``jit(fn, donate_argnums)``: ``jax.jit`` on JAX, the identity elsewhere;
- ``float_dtype(name)``: float32 or float64 (JAX: float64 switches on x64);
- ``erf(x)``: the error function, which the array API does not have.

The name may be "numpy", "jax", "cupy" or "auto" (cupy when a GPU is usable, else
numpy); ``None`` reads the ``RESEAU_BACKEND`` environment variable, then "auto".
"""

from __future__ import annotations

import importlib
import os

from .base import Backend, BackendUnavailableError

NAMES = ("numpy", "jax", "cupy")
_MODULES = {"numpy": "numpy_backend", "jax": "jax_backend", "cupy": "cupy_backend"}
_cache: dict[str, Backend] = {}

__all__ = ["Backend", "BackendUnavailableError", "NAMES", "get", "available", "mpi_rank", "workers"]


def get(name: str | Backend | None = None) -> Backend:
    """The backend called ``name`` ("numpy", "jax", "cupy", "auto"; None: $RESEAU_BACKEND or "auto")."""
    if isinstance(name, Backend):
        return name
    if name is None:
        name = os.environ.get("RESEAU_BACKEND", "").strip() or "auto"
        where = "environment variable RESEAU_BACKEND"
    else:
        where = "backend"
    if not isinstance(name, str) or name.lower() not in NAMES + ("auto",):
        raise ValueError(
            f"{where}={name!r} is not a backend; expected one of {', '.join(repr(n) for n in NAMES + ('auto',))}"
        )
    name = name.lower()
    if name == "auto":
        name = "cupy" if _cupy_usable() else "numpy"
    if name not in _cache:
        module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
        _cache[name] = module.create()
    return _cache[name]


def available() -> dict[str, str]:
    """Each backend name mapped to "ok" or the reason it cannot be used here."""
    status = {}
    for name in NAMES:
        try:
            get(name)
            status[name] = "ok"
        except BackendUnavailableError as exc:
            status[name] = str(exc)
    return status


def workers(backend: str | None) -> int:
    """How many split every batch of a data-parallel run: JAX's devices, else the MPI ranks."""
    if backend == "jax":
        return get("jax").device_count()
    from . import mpi

    return mpi.world().size


def mpi_rank() -> int:
    """This process's MPI rank (0 outside mpirun, or where mpi4py is missing)."""
    try:
        from . import mpi

        return mpi.world().rank
    except BackendUnavailableError:
        return 0


def _cupy_usable() -> bool:
    try:
        get("cupy")
    except BackendUnavailableError:
        return False
    return True
