"""The contract every backend meets; the NumPy-flavoured defaults live here."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

FLOAT_DTYPES = ("float32", "float64")


class BackendUnavailableError(RuntimeError):
    """The library behind a backend is missing or has no usable device."""


class Backend:
    """One array library seen through the array API, plus the few things the standard lacks.

    Subclasses set ``name``, ``xp`` and ``extra`` (the pip extra that installs the library),
    define ``erf(x)`` (the error function, not in the array API) and override what differs
    from NumPy.
    """

    name = "base"
    extra = ""
    xp: Any = None
    #: whether arrays live in host memory, so reading a scalar back costs nothing (NumPy)
    host = False

    def float_dtype(self, name: str):
        """The library's dtype object for "float32" or "float64"."""
        if name not in FLOAT_DTYPES:
            raise ValueError(f"dtype={name!r} is not supported; expected 'float32' or 'float64'")
        return getattr(self.xp, name)

    def asarray(self, x, dtype=None):
        """``x`` (host or device) as an array of this backend, on its device."""
        return self.xp.asarray(x, dtype=dtype)

    def to_numpy(self, x) -> np.ndarray:
        """``x`` as a host NumPy array (a copy when it lives on a device)."""
        return np.asarray(x)

    def copy(self, x):
        """An independent copy of ``x`` (survives donation of ``x``)."""
        return self.xp.asarray(x, copy=True)

    def sync(self, x=None):
        """Block until ``x`` (or all queued work) is computed; returns ``x``."""
        return x

    def process_count(self) -> int:
        """Processes in a multi-process run of this backend (JAX); 1 elsewhere."""
        return 1

    def process_index(self) -> int:
        return 0

    def jit(self, fn: Callable, donate_argnums: tuple[int, ...] = ()) -> Callable:
        """Compile ``fn`` where the library can (JAX); the identity elsewhere."""
        return fn

    def fori_loop(self, n, body, carry):
        """carry ← body(i, carry) for i = 0 … n−1 (a compiled loop on JAX)."""
        for i in range(n):
            carry = body(i, carry)
        return carry

    def dynamic_rows(self, X, start, size):
        """Rows start … start+size−1 of X, ``start`` possibly a traced value."""
        return X[start : start + size]

    def quiet(self):
        """A context in which overflow and invalid-value warnings are not printed (training
        checks the loss for NaN/inf itself and says what went wrong)."""
        return contextlib.nullcontext()

    def devices(self) -> list[str]:
        """Human-readable names of the devices this backend computes on."""
        return ["cpu"]

    def version(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"<reseau backend {self.name!r}>"


class LibraryNamespace:
    """An array library's own namespace standing in for array-api-compat's wrapper (absent on
    some GPU images), with the few array-API names older releases lack filled in."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    def concat(self, arrays, axis=0):
        return self._module.concatenate(arrays, axis=axis)

    def astype(self, x, dtype, copy=True):
        return x.astype(dtype, copy=copy)

    @property
    def __name__(self):
        return self._module.__name__


def unavailable(backend: str, extra: str, why: str, note: str = "") -> BackendUnavailableError:
    """The error for a backend that cannot be used, naming the extra to install (``note``: which
    machines that extra is for, and the alternative)."""
    return BackendUnavailableError(
        f'backend {backend!r} is not available: {why}. Install it with: pip install "reseau[{extra}]"'
        + (f" ({note})" if note else "")
    )
