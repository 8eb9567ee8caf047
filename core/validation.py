"""Checks of what users hand in: each failure is a ValueError that names the argument,
the offending value and what was expected, raised before any state changes."""

from __future__ import annotations

import contextlib
import contextvars
import numbers
import os
import stat

from ..backends.host import np

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def regular_file(path):
    """Refuse a path that leads (through links) to anything but a regular file, before opening it:
    a FIFO would block the read forever and a device (/dev/zero) never end. A missing path passes
    (the caller's open says so)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path}: is {kind_of(mode)}; expected a regular file")


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` ``mode`` is, in words ("a directory", "a FIFO (named pipe)", …)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((k for test, k in _KINDS if test(mode)), "not a regular file")


def features(X, n_features: int | None, dtype, name: str = "X", allow_nan: bool = False):
    """``X`` as a host (n, n_features) float array of ``dtype`` with finite entries
    (any number of columns when ``n_features`` is None; NaN kept, as missing, with ``allow_nan``)."""
    cols = "" if n_features is None else f" with {n_features} columns"
    try:
        X = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name} could not be read as an array ({exc}); expected a 2-D array of numbers{cols}"
        ) from None
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {X.dtype}; expected real numbers (bool, int or float) in a 2-D array{cols}")
    if X.ndim != 2:
        hint = " (use X.reshape(-1, 1) for a single feature)" if X.ndim == 1 else ""
        raise ValueError(
            f"{name} has shape {X.shape}; expected a 2-D array (n, {'d' if n_features is None else n_features}){hint}"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} has shape {X.shape}; expected at least one row and one column")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features (columns) but the network's input layer has {n_features}")
    with np.errstate(over="ignore"):
        X = np.asarray(X, dtype=dtype)
    if all_finite(X):
        return X
    bad = ~np.isfinite(X)
    if allow_nan:
        bad &= ~np.isnan(X)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}[{i}, {j}] is {X[i, j]} (after conversion to {np.dtype(dtype).name}); "
            "expected finite numbers: remove or impute NaN/inf, rescale huge values"
        )
    return X


_FINITE = contextvars.ContextVar("finite", default=None)


@contextlib.contextmanager
def each_array_checked_once():
    """Within this block an array ``all_finite`` found finite is not summed again (a fit's table,
    its column plan and its matrix used to check one input four times). The arrays are held until
    the block ends, so their ids stay theirs; the caller does not write into them meanwhile."""
    token = _FINITE.set({})
    try:
        yield
    finally:
        _FINITE.reset(token)


#: up to this many entries ``all_finite`` sums them on one thread, above it by BLAS's row sums:
#: BLAS's threads, asleep after an idle moment, cost more to wake than a small table takes to sum
#: (``python bench/finite_bench.py``, 2-core VM, float32, cold: 12,800 × 30 0.55 ms against 1.03,
#: 1,000 × 30 0.29 against 0.49; 1,280 × 784 1.41 against 0.94, warm 0.45 against 0.15)
ONE_THREAD_SUM = 1 << 19


def all_finite(X) -> bool:
    """True when every entry of the float matrix ``X`` is finite, from one sum of them all (up to
    ``ONE_THREAD_SUM`` entries: one pass on one thread) or from its row sums X·1 (one
    multithreaded BLAS pass, no mask: at 5120 × 784 float32 0.3 ms against 2 ms for
    ``isfinite(X).all()``). A NaN or ±inf entry makes the sum NaN or ±inf, so True is exact;
    False can also mean a sum overflowed, which the caller's exact check sorts out."""
    if X.size == 0:
        return True
    seen = _FINITE.get()
    if seen is not None and seen.get(id(X)) is X:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if X.size <= ONE_THREAD_SUM or X.size == X.shape[0]:  # one column: X·1 would be a slow BLAS copy
            finite = bool(np.isfinite(np.add.reduce(X, axis=None)))
        else:
            finite = bool(np.isfinite(X.reshape(X.shape[0], -1) @ np.ones(X.size // X.shape[0], dtype=X.dtype)).all())
    if finite and seen is not None:
        seen[id(X)] = X
    return finite


def positive_int(value, name: str, allow_none: bool = False):
    """``value`` as an int ≥ 1 (or None when allowed), else a ValueError naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        expected = "a positive integer" + (" or None" if allow_none else "")
        raise ValueError(f"{name}={value!r} is invalid; expected {expected}")
    return int(value)


def seed(value):
    """A seed for the host generator: a non-negative int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"seed={value!r} is invalid; expected a non-negative integer")
    return int(value)


def layer_sizes(layers) -> list:
    """``layers`` = [n_in, hidden..., n_out] as a list of ints ≥ 1, at least two of them; n_in and
    n_out may be None (sized from the first training data: its encoded columns, its classes)."""
    try:
        sizes = list(layers)
    except TypeError:
        sizes = None

    def ok(s, end):
        return (s is None and end) or (not isinstance(s, bool) and isinstance(s, numbers.Integral) and s >= 1)

    if not sizes or len(sizes) < 2 or not all(ok(s, i in (0, len(sizes) - 1)) for i, s in enumerate(sizes)):
        raise ValueError(
            f"layers={layers!r} is invalid; expected a list of at least two positive "
            "integers [n_inputs, hidden..., n_outputs], e.g. [30, 16, 1] (n_inputs and "
            "n_outputs may be None: sized from the training data)"
        )
    return [None if s is None else int(s) for s in sizes]


def non_negative(value, name: str) -> float:
    """``value`` as a finite float ≥ 0, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0 or value == float("inf"):
        raise ValueError(f"{name}={value!r} is invalid; expected a finite number >= 0")
    return float(value)
