"""Each activation g against a scalar statement of its formula, and g' against central
differences of g in float64, on every backend present."""

import math

import numpy as np
import pytest
from conftest import to_np

from reseau.core.activations import ACTIVATIONS, check_hidden

# Points away from the kinks of relu-like functions (a central difference across a kink is wrong).
Z_HOST = np.concatenate([np.linspace(-6.0, -0.01, 23), np.linspace(0.013, 7.0, 19), [-40.0, -15.0, 15.0, 40.0]])

SELU_A, SELU_L = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sig(z):
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


SCALAR = {  # an independent statement of each g, one number at a time, with the math module
    "identity": lambda z: z,
    "sigmoid": _sig,
    "tanh": math.tanh,
    "relu": lambda z: z if z > 0 else 0.0,
    "leaky_relu": lambda z: z if z > 0 else 0.01 * z,
    "elu": lambda z: z if z > 0 else math.exp(z) - 1.0,
    "selu": lambda z: SELU_L * (z if z > 0 else SELU_A * (math.exp(z) - 1.0)),
    "gelu": lambda z: 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0))),
    "silu": lambda z: z * _sig(z),
    "softplus": lambda z: math.log1p(math.exp(z)) if z < 30 else z + math.log1p(math.exp(-z)),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_scalar_formula(kern64, name):
    backend = kern64.backend
    Z = backend.asarray(Z_HOST, dtype=backend.float_dtype("float64"))
    A = to_np(backend, kern64.activation(name, Z))
    expected = np.array([SCALAR[name](float(z)) for z in Z_HOST])
    np.testing.assert_allclose(A, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_derivative_matches_central_differences(kern64, name):
    backend = kern64.backend
    f64 = backend.float_dtype("float64")
    Z = backend.asarray(Z_HOST, dtype=f64)
    rng = np.random.default_rng(3)
    dA_host = rng.normal(size=Z_HOST.shape)
    dA = backend.asarray(dA_host, dtype=f64)
    dZ = to_np(backend, kern64.activation_grad(name, dA, Z, kern64.activation(name, Z)))
    h = 1e-6
    plus = to_np(backend, kern64.activation(name, backend.asarray(Z_HOST + h, dtype=f64)))
    minus = to_np(backend, kern64.activation(name, backend.asarray(Z_HOST - h, dtype=f64)))
    numeric = dA_host * (plus - minus) / (2 * h)
    rel = np.linalg.norm(dZ - numeric) / (np.linalg.norm(dZ) + np.linalg.norm(numeric))
    assert rel < 1e-8, rel


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturating_derivatives_are_bounded(kern64, name):
    """σ' ≤ 1/4 and tanh' ≤ 1: the factors whose products vanish in deep networks."""
    backend = kern64.backend
    f64 = backend.float_dtype("float64")
    Z = backend.asarray(np.linspace(-10, 10, 2001), dtype=f64)
    ones = backend.asarray(np.ones(2001), dtype=f64)
    g1 = to_np(backend, kern64.activation_grad(name, ones, Z, kern64.activation(name, Z)))
    assert g1.max() == pytest.approx(0.25 if name == "sigmoid" else 1.0, rel=1e-12)
    assert g1.min() < 1e-4


def test_sigmoid_does_not_overflow(kern64):
    backend = kern64.backend
    Z = backend.asarray(np.array([-1000.0, -745.0, 0.0, 745.0, 1000.0]), dtype=backend.float_dtype("float64"))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        A = to_np(backend, kern64.activation("sigmoid", Z))
    np.testing.assert_array_equal(A[[0, 2, 3, 4]], [0.0, 0.5, 1.0, 1.0])
    assert 0.0 <= A[1] < 1e-300


def test_float32_stays_float32(backend):
    kern = __import__("reseau").kernels.for_backend(backend)
    f32 = backend.float_dtype("float32")
    Z = backend.asarray(Z_HOST, dtype=f32)
    for name in ACTIVATIONS:
        A = kern.activation(name, Z)
        dZ = kern.activation_grad(name, Z, Z, A)
        assert backend.to_numpy(A).dtype == np.float32, name
        assert backend.to_numpy(dZ).dtype == np.float32, name


def test_hidden_names_are_checked():
    assert check_hidden("tanh", 2) == ["tanh", "tanh"]
    assert check_hidden(["relu", "tanh"], 2) == ["relu", "tanh"]
    with pytest.raises(ValueError, match="hidden='swish'.*expected one of"):
        check_hidden("swish", 1)
    with pytest.raises(ValueError, match="2 hidden layers"):
        check_hidden(["relu"], 2)
