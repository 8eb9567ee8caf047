"""NumPy on the CPU, through array-api-compat's namespace.

Where array-api-compat is missing, NumPy's own namespace serves, with ``concat`` and ``astype``
filled in where an older NumPy lacks them.
"""

from __future__ import annotations

import math

import numpy as np

from .base import LibraryNamespace

try:
    import array_api_compat.numpy as xp_numpy
except ImportError:
    xp_numpy = LibraryNamespace(np)

from .base import Backend  # noqa: E402

try:  # scipy is optional: its erf is a vectorised ufunc
    from scipy.special import erf as _scipy_erf
except ImportError:  # pragma: no cover - depends on the environment
    _scipy_erf = None

_math_erf = np.frompyfunc(math.erf, 1, 1)


class NumpyBackend(Backend):
    name = "numpy"
    extra = "cpu"
    xp = xp_numpy
    host = True

    def erf(self, x):
        """erf(x), elementwise (scipy.special.erf when installed, else math.erf per element)."""
        if _scipy_erf is not None:
            return _scipy_erf(x)
        return _math_erf(x).astype(x.dtype)

    def quiet(self):
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")

    def version(self) -> str:
        return np.__version__


def create() -> NumpyBackend:
    return NumpyBackend()
