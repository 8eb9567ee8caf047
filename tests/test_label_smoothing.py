"""Label smoothing (core/regularization.py, ``smoothing_shift`` in kernels/reference.py): the
training loss with targets (1 − ε)T + ε/K written out here in float64, against central
differences, PyTorch's CrossEntropyLoss(label_smoothing=ε) where installed, with row weights, on
every backend and kernel table; the identity head refused; saved, loaded and pickled."""

import pickle

import numpy as np
import pytest
from conftest import to_np
from test_gradients import _data, numeric_gradient, relative_error, with_random_biases

from reseau import MLP, load
from reseau.core.network import loss_and_grads

CASES = [([5, 6, 1], "tanh", "sigmoid"), ([4, 5, 3], "relu", "softmax"), ([4, 5, 2], "sigmoid", "sigmoid")]


def _smoothed_loss(Z, Y, head, eps, w=None):
    """−Σ_k T′_k log p_k (softmax) or the cross-entropy with y′ = (1 − ε)y + ε/2 (sigmoid), per row,
    averaged (or weighted by w/Σw)."""
    if head == "softmax":
        k = Z.shape[1]
        T = (1 - eps) * np.eye(k)[Y] + eps / k
        logp = Z - Z.max(axis=1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
        ell = -(T * logp).sum(axis=1)
    else:
        T = (1 - eps) * Y + eps / 2
        ell = (np.logaddexp(0, Z) - T * Z).sum(axis=1)
    r = np.full(len(Z), 1 / len(Z)) if w is None else w / w.sum()
    return float(np.sum(r * ell))


def _model(backend, sizes, hidden, head, eps, kernels=None):
    return with_random_biases(
        MLP(
            sizes,
            hidden=hidden,
            output=head,
            backend=backend.name,
            dtype="float64",
            seed=1,
            kernels=kernels,
            label_smoothing=eps,
        )
    )


@pytest.mark.parametrize("weighted", [False, True], ids=["mean", "weighted"])
@pytest.mark.parametrize("sizes,hidden,head", CASES, ids=lambda c: str(c))
def test_smoothed_loss_and_gradient_match_the_written_out_loss(backend, sizes, hidden, head, weighted):
    model = _model(backend, sizes, hidden, head, 0.15)
    X, y = _data(sizes, head)
    w = np.random.default_rng(3).uniform(0.0, 3.0, size=len(X)) if weighted else None
    Xd, Yd = backend.asarray(X, dtype=model.dtype), backend.asarray(model.encode_targets(y))
    Wd = None if w is None else backend.asarray(w, dtype=model.dtype)
    fn = backend.jit(
        lambda p, X, Y, w: loss_and_grads(
            model.kern, model.layout, model.activations, model.output, p, X, Y, reg=model.regularization, w=w
        )
    )
    loss, grads = fn(model.params, Xd, Yd, Wd)
    Yh = np.asarray(model.encode_targets(y))
    assert abs(float(to_np(backend, loss)) - _smoothed_loss(_logits(model, X), Yh, head, 0.15, w)) < 1e-12

    def loss_at(p):
        return float(to_np(backend, fn(backend.asarray(p, dtype=model.dtype), Xd, Yd, Wd)[0]))

    assert relative_error(to_np(backend, grads), numeric_gradient(loss_at, to_np(backend, model.params))) < 1e-6


G = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z))}


def _logits(model, X):
    """Z⁽ᴸ⁾ written out in float64 NumPy."""
    *hidden, (W, b) = model.get_weights()
    A = X
    for (Wl, bl), name in zip(hidden, model.hidden):
        A = G[name](A @ Wl + bl)
    return A @ W + b


def test_softmax_smoothing_matches_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install 'reseau[crosscheck]')")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 3, 20)
    model = MLP([3, 5, 3], dtype="float64", label_smoothing=0.2, kernels="reference", seed=0)
    loss, g = loss_and_grads(
        model.kern,
        model.layout,
        model.activations,
        model.output,
        model.params,
        X,
        y.astype(np.int32),
        reg=model.regularization,
    )
    W = [torch.tensor(a, requires_grad=True) for pair in model.get_weights() for a in pair]
    z = torch.relu(torch.tensor(X) @ W[0] + W[1]) @ W[2] + W[3]
    ref = torch.nn.CrossEntropyLoss(label_smoothing=0.2)(z, torch.tensor(y))
    ref.backward()
    assert abs(float(loss) - ref.item()) < 1e-14
    np.testing.assert_allclose(np.asarray(g), np.concatenate([w.grad.numpy().ravel() for w in W]), rtol=0, atol=1e-15)


@pytest.mark.parametrize("head", ["sigmoid", "softmax"])
def test_every_kernel_table_trains_the_same_smoothed_trajectory(head):
    sizes = [4, 6, 1 if head == "sigmoid" else 3]
    X, y = _data(sizes, head, n=60)
    runs = []
    for kernels in ("reference", None):
        m = MLP(sizes, output=head, dtype="float64", seed=5, kernels=kernels, label_smoothing=0.1, normalize=None)
        h = m.fit(X, y, epochs=3, batch_size=16, optimizer="adam", lr=0.01)
        runs.append((m.params, h["loss"]))
    np.testing.assert_allclose(np.asarray(runs[0][0]), np.asarray(runs[1][0]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=0, atol=1e-12)


def test_smoothing_zero_is_the_plain_loss_and_smoothing_changes_the_trajectory():
    X, y = _data([4, 6, 3], "softmax", n=60)
    params = []
    for eps in (0.0, 0.0, 0.1):
        m = MLP([4, 6, 3], dtype="float64", seed=5, label_smoothing=eps)
        m.fit(X, y, epochs=2, batch_size=16)
        params.append(np.asarray(m.params))
    np.testing.assert_array_equal(params[0], params[1])
    assert np.abs(params[0] - params[2]).max() > 1e-4


def test_evaluate_reports_the_plain_cross_entropy():
    X, y = _data([4, 6, 3], "softmax", n=60)
    a = MLP([4, 6, 3], dtype="float64", seed=5, label_smoothing=0.3)
    a.fit(X, y, epochs=2)
    b = MLP([4, 6, 3], dtype="float64", seed=5)
    b.set_weights(a.get_weights())
    b.columns, b.classes = a.columns, a.classes
    assert a.evaluate(X, y)["loss"] == pytest.approx(b.evaluate(X, y)["loss"], abs=1e-14)


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan"), True, "0.1"])
def test_bad_smoothing_is_refused(bad):
    with pytest.raises(ValueError, match=r"label_smoothing=.* is invalid; expected a number in \[0, 1\)"):
        MLP([3, 4, 2], label_smoothing=bad)


def test_smoothing_a_regression_is_refused_before_anything_changes():
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = X @ np.array([1.0, 2.0, -1.0])
    with pytest.raises(ValueError, match="label_smoothing=0.1 applies to classes .* output is identity"):
        MLP([3, 4, 1], output="identity", label_smoothing=0.1)
    m = MLP([None, 4, None], label_smoothing=0.1)
    with pytest.raises(ValueError, match="label_smoothing=0.1 applies to classes"):
        m.fit(X, y)
    assert m.layout is None and m.columns is None and m.epoch == 0


def test_smoothing_is_saved_loaded_and_pickled(tmp_path):
    X, y = _data([4, 6, 3], "softmax", n=60)
    m = MLP([None, 6, None], dtype="float64", seed=5, label_smoothing=0.1)
    m.fit(X, y, epochs=1)
    m.save(tmp_path / "m.rsu")
    for other in (load(tmp_path / "m.rsu"), pickle.loads(pickle.dumps(m))):
        assert other.label_smoothing == 0.1
        np.testing.assert_array_equal(np.asarray(other.predict(X)), np.asarray(m.predict(X)))
    c = pickle.loads(pickle.dumps(m))
    m.fit(X, y, epochs=1)
    c.fit(X, y, epochs=1)
    np.testing.assert_array_equal(np.asarray(c.params), np.asarray(m.params))
