"""Shared fixtures: every backend present, with a stated reason for the ones that are not."""

import importlib.util

import numpy as np
import pytest

import reseau


def _skip_reason(name):
    if name == "jax" and importlib.util.find_spec("jax") is None:
        return "JAX is not installed (pip install 'reseau[jax]')"
    if name == "cupy":
        if importlib.util.find_spec("cupy") is None:
            return "CuPy is not installed (pip install 'reseau[cuda12]' on a CUDA machine)"
        import cupy

        if not cupy.is_available():
            return "cupy.is_available() is False: no usable CUDA GPU here"
    return None


BACKENDS = [
    pytest.param(name, marks=pytest.mark.skipif(_skip_reason(name) is not None, reason=_skip_reason(name) or ""))
    for name in reseau.backends.NAMES
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each backend present (numpy and jax in CI, cupy where a GPU is usable)."""
    return reseau.backends.get(request.param)


def _kernel_params():
    params = []
    for name in reseau.backends.NAMES:
        reason = _skip_reason(name)
        variants = ["reference"] if reason else reseau.kernels.variants(reseau.backends.get(name))
        for variant in variants:
            params.append(
                pytest.param(
                    (name, variant),
                    id=f"{name}-{variant}",
                    marks=pytest.mark.skipif(reason is not None, reason=reason or ""),
                )
            )
    return params


KERNELS = _kernel_params()


@pytest.fixture(params=KERNELS)
def kern(request):
    """Each kernel table that runs here: reference, in-place NumPy and numba on numpy; jax; cupy."""
    name, variant = request.param
    return reseau.kernels.for_backend(reseau.backends.get(name), variant)


@pytest.fixture
def kern64(kern):
    """A kernel table with float64 switched on for its backend (``kern64.backend``)."""
    kern.backend.float_dtype("float64")
    return kern


def to_np(backend, x):
    return np.asarray(backend.to_numpy(x), dtype=np.float64)


@pytest.fixture
def row_sums(monkeypatch):
    """The widths of the inputs core/validation.all_finite sums (the length of the all-ones vector
    its row sums multiply by, or the columns of the matrix it sums whole), in order: how many
    times an input was checked for finite values."""
    from reseau.core import validation

    widths, real_ones = [], np.ones

    class Counting:
        def __getattr__(self, name):
            return getattr(np, name)

        def ones(self, *a, **k):
            widths.append(a[0])
            return real_ones(*a, **k)

        class add:  # noqa: N801 - stands in for np.add
            @staticmethod
            def reduce(X, *a, **k):
                if k.get("axis", 0) is None:  # the whole matrix summed at once
                    widths.append(X.shape[1] if X.ndim == 2 else 1)
                return np.add.reduce(X, *a, **k)

    monkeypatch.setattr(validation, "np", Counting())
    return widths
