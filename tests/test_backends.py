"""The backend registry and the contract each backend meets."""

import sys

import numpy as np
import pytest
from conftest import to_np

from reseau import backends


def test_names_and_auto(monkeypatch):
    assert backends.get("numpy").name == "numpy"
    assert backends.get("NumPy") is backends.get("numpy")
    monkeypatch.setattr(backends, "_cupy_usable", lambda: False)
    assert backends.get("auto").name == "numpy"


def test_environment_variable(monkeypatch):
    pytest.importorskip("jax", reason="JAX is not installed")
    monkeypatch.setenv("RESEAU_BACKEND", "jax")
    assert backends.get(None).name == "jax"
    monkeypatch.setenv("RESEAU_BACKEND", "numpy")
    assert backends.get(None).name == "numpy"


@pytest.mark.parametrize("name,extra", [("jax", "jax"), ("cupy", "cuda12")])
def test_missing_library_names_the_extra(monkeypatch, name, extra):
    monkeypatch.setitem(sys.modules, name, None)  # makes `import name` fail
    monkeypatch.setattr(backends, "_cache", {})
    with pytest.raises(backends.BackendUnavailableError, match=rf'pip install "reseau\[{extra}\]"'):
        backends.get(name)
    assert "unavailable" not in backends.available()["numpy"]
    assert "reseau[" in backends.available()[name]


def test_roundtrip_and_dtypes(backend):
    host = np.arange(6.0).reshape(2, 3)
    for dtype in ("float32", "float64"):
        x = backend.asarray(host, dtype=backend.float_dtype(dtype))
        back = backend.to_numpy(x)
        assert isinstance(back, np.ndarray) and back.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(back, host)
    assert backend.sync(x) is not None


def test_float64_is_really_float64(backend):
    """JAX silently keeps float32 unless x64 is on: asking for float64 must switch it on."""
    x = backend.asarray(np.array([1.0 + 2.0**-40]), dtype=backend.float_dtype("float64"))
    assert to_np(backend, x)[0] != 1.0


def test_copy_is_independent(backend):
    x = backend.asarray(np.ones(4), dtype=backend.float_dtype("float64"))
    y = backend.copy(x)
    x = x * 2  # (in-place on NumPy/CuPy would also leave y alone)
    np.testing.assert_array_equal(backend.to_numpy(y), np.ones(4))


def test_erf(backend):
    import math

    z = np.linspace(-4, 4, 41)
    got = to_np(backend, backend.erf(backend.asarray(z, dtype=backend.float_dtype("float64"))))
    np.testing.assert_allclose(got, [math.erf(v) for v in z], rtol=1e-14, atol=1e-16)


def test_numpy_erf_without_scipy(monkeypatch):
    import math

    from reseau.backends import numpy_backend

    monkeypatch.setattr(numpy_backend, "_scipy_erf", None)
    got = backends.get("numpy").erf(np.array([-1.0, 0.5], dtype=np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [math.erf(-1.0), math.erf(0.5)], rtol=1e-7)


def test_jit_is_identity_on_numpy():
    f = lambda a: a  # noqa: E731
    assert backends.get("numpy").jit(f, donate_argnums=(0,)) is f


def test_devices_and_version(backend):
    assert backend.devices() and backend.version()


def test_source_tree_runs_without_install_and_without_array_api_compat(tmp_path):
    """The GPU images have no array-api-compat and nothing installed: the plain namespaces serve."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys; sys.modules['array_api_compat'] = None; sys.path.insert(0, sys.argv[1]); "
        "import reseau; from reseau.core import network; "
        "assert reseau.backends.get('numpy').xp.__name__ == 'numpy'; "
        "m = reseau.MLP([4, 5, 3], dtype='float64', seed=0); import numpy as np; "
        "r = np.random.default_rng(0); X = r.normal(size=(20, 4)); y = r.integers(0, 3, 20); "
        "m.fit(X, y, epochs=3, batch_size=8, lr=0.1); print(repr(m.get_weights()[0][0][0, 0]))"
    )
    plain = subprocess.run(
        [sys.executable, "-S", "-c", code, str(root)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(Path(np.__file__).parents[1])},
        timeout=120,
    )
    assert plain.returncode == 0, plain.stderr
    from reseau import MLP

    m = MLP([4, 5, 3], dtype="float64", seed=0)
    r = np.random.default_rng(0)
    X, y = r.normal(size=(20, 4)), r.integers(0, 3, 20)
    m.fit(X, y, epochs=3, batch_size=8, lr=0.1)
    assert float(plain.stdout.strip().removeprefix("np.float64(").rstrip(")")) == m.get_weights()[0][0][0, 0]
