"""Backward propagation of whole networks (depth 1-4, every head, every activation) against
central differences of the loss in float64."""

import numpy as np
import pytest
from conftest import to_np

from reseau import MLP
from reseau.core.activations import ACTIVATIONS
from reseau.core.network import loss_and_grads

CASES = [  # (sizes, hidden activations, head)
    ([4, 3], [], "sigmoid"),
    ([5, 6, 1], ["tanh"], "sigmoid"),
    ([4, 5, 3, 3], ["relu", "sigmoid"], "softmax"),
    ([3, 4, 5, 4, 2], ["elu", "gelu", "silu"], "identity"),
    ([3, 5, 4, 6, 3], ["leaky_relu", "selu", "softplus"], "softmax"),
    ([2, 4, 4, 4, 2], ["identity", "tanh", "relu"], "sigmoid"),
]


def _data(sizes, head, n=9, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    k = sizes[-1]
    if head == "softmax":
        return X, rng.integers(0, k, size=n)
    if head == "sigmoid":
        return X, (rng.random((n, k)) < 0.5).astype(float)[:, 0] if k == 1 else (rng.random((n, k)) < 0.5) * 1.0
    return X, rng.normal(size=(n, k)) if k > 1 else rng.normal(size=n)


def with_random_biases(model, seed=0):
    """Non-zero biases: a row whose units are all dead would otherwise sit exactly on relu's kink."""
    rng = np.random.default_rng(seed)
    model.set_weights([(W, rng.normal(scale=0.5, size=b.shape)) for W, b in model.get_weights()])
    return model


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


def numeric_gradient(loss_at, p, h=1e-6):
    g = np.zeros_like(p)
    for i in range(p.size):
        e = np.zeros_like(p)
        e[i] = h
        g[i] = (loss_at(p + e) - loss_at(p - e)) / (2 * h)
    return g


@pytest.mark.parametrize("sizes,hidden,head", CASES, ids=lambda c: str(c))
def test_network_gradient_matches_central_differences(backend, sizes, hidden, head):
    model = with_random_biases(
        MLP(sizes, hidden=hidden or "relu", output=head, backend=backend.name, dtype="float64", seed=1)
    )
    X, y = _data(sizes, head)
    Xd = backend.asarray(X, dtype=model.dtype)
    Yd = backend.asarray(model.encode_targets(y))
    fn = backend.jit(lambda p, X, Y: loss_and_grads(model.kern, model.layout, model.activations, model.output, p, X, Y))
    p0 = to_np(backend, model.params)
    _, grads = fn(model.params, Xd, Yd)

    def loss_at(p):
        return float(to_np(backend, fn(backend.asarray(p, dtype=model.dtype), Xd, Yd)[0]))

    err = relative_error(to_np(backend, grads), numeric_gradient(loss_at, p0))
    assert err < 1e-6, err


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_inside_a_network(backend, activation):
    sizes, head = [3, 4, 3, 2], "softmax"
    model = with_random_biases(
        MLP(sizes, hidden=activation, output=head, backend=backend.name, dtype="float64", seed=2)
    )
    X, y = _data(sizes, head, seed=5)
    Xd = backend.asarray(X, dtype=model.dtype)
    Yd = backend.asarray(model.encode_targets(y))
    fn = backend.jit(lambda p: loss_and_grads(model.kern, model.layout, model.activations, model.output, p, Xd, Yd))
    _, grads = fn(model.params)
    numeric = numeric_gradient(
        lambda p: float(to_np(backend, fn(backend.asarray(p, dtype=model.dtype))[0])), to_np(backend, model.params)
    )
    assert relative_error(to_np(backend, grads), numeric) < 1e-6


def test_gradient_layout_follows_the_notes(backend):
    """dW = A_prevᵀdZ/n and db = mean(dZ) land at W's and b's places in the flat buffer."""
    model = MLP([3, 2], hidden=[], output="identity", backend=backend.name, dtype="float64", seed=0)
    X = np.arange(12.0).reshape(4, 3) / 10
    Y = np.ones((4, 2))
    W, b = model.get_weights()[0]
    dZ = X @ W + b - Y
    _, grads = loss_and_grads(
        model.kern,
        model.layout,
        model.activations,
        model.output,
        model.params,
        backend.asarray(X, dtype=model.dtype),
        backend.asarray(Y, dtype=model.dtype),
    )
    np.testing.assert_allclose(to_np(backend, grads), np.concatenate([(X.T @ dZ / 4).ravel(), dZ.mean(0)]), rtol=1e-14)
