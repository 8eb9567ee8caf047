"""The forward passes of a built network outside training, compiled on JAX: the summed loss and
right rows of a chunk (evaluate), the head's output (predict), ‖dW⁽ˡ⁾‖ per layer (gradient
norms); and what the model answers with them (predictions, probabilities, metrics), chunk by
chunk so memory stays bounded.
"""

from __future__ import annotations

import math

from ..backends.host import np
from . import contract, heads, targets, weights
from .network import logits, loss_and_grads

#: rows per evaluation chunk are chosen so a chunk holds about this many activations
EVAL_CHUNK_ELEMENTS = 1 << 22


def make_evaluate(backend, kern, layout, activations, head):
    """``evaluate(params, X, Y, w=None) -> (summed loss, correct rows)`` as device scalars; with
    row weights w: (Σ wᵢℓᵢ, Σ wᵢ·rightᵢ)."""
    xp = kern.xp

    def evaluate(params, X, Y, w=None):
        Z = logits(kern, layout.unflatten(xp, params), activations, X)
        if w is not None:
            ell, _ = kern.head_rows(head, Z, Y)
            return xp.sum(w * ell), xp.sum(w * kern.rows_correct(head, Z, Y))
        loss, _ = kern.head_loss(head, Z, Y)
        correct = kern.n_correct(head, Z, Y)
        return loss * X.shape[0], correct

    return backend.jit(evaluate)


def make_grad_norms(backend, kern, layout, activations, head):
    """``norms(params, X, Y)``: ‖dW⁽ˡ⁾‖₂ per layer of the mean data loss on (X, Y)."""
    xp = kern.xp

    def norms(params, X, Y):
        _, grads = loss_and_grads(kern, layout, activations, head, params, X, Y)
        return xp.stack([xp.sqrt(xp.sum(dW * dW)) for dW, _ in layout.unflatten(xp, grads)])

    return backend.jit(norms)


def make_output(backend, kern, layout, activations, head):
    """``output(params, X) -> A``, the head's output (probabilities or values)."""

    def output(params, X):
        return kern.head_output(head, logits(kern, layout.unflatten(kern.xp, params), activations, X))

    return backend.jit(output)


def chunks(n_rows: int, width: int):
    """(start, stop) row ranges that keep each chunk near EVAL_CHUNK_ELEMENTS activations."""
    size = max(1, EVAL_CHUNK_ELEMENTS // max(1, width))
    return [(a, min(a + size, n_rows)) for a in range(0, n_rows, size)]


class Forward:
    """A built model's compiled forward passes: ``evaluate`` and ``output``, and ``grad_norms()``
    (compiled on first use)."""

    def __init__(self, model):
        self.args = (model.backend, model.kern, model.layout, model.activations, model.output)
        self.evaluate, self.output = make_evaluate(*self.args), make_output(*self.args)
        self.norms = None

    def grad_norms(self):
        if self.norms is None:
            self.norms = make_grad_norms(*self.args)
        return self.norms


def output(model, X):
    """The head's output A for ``X`` (checked, through the model's plan), on the device."""
    Xd = contract.inputs(model, X)
    parts = [model.forward.output(model.params, Xd[a:b]) for a, b in chunks(Xd.shape[0], max(model.sizes))]
    return parts[0] if len(parts) == 1 else model.kern.xp.concat(parts, axis=0)


def hidden_outputs(model, X) -> list:
    """Each hidden layer's A⁽ˡ⁾ = g(Z⁽ˡ⁾) for ``X`` (through the model's plan), as NumPy arrays: the
    training forward pass without dropout (core/network.py)."""
    from .network import forward as network_forward

    Xd = contract.inputs(model, X)
    layers = model.layout.unflatten(model.kern.xp, model.params)
    cache = network_forward(model.kern, layers, model.activations, Xd)
    return [model.backend.to_numpy(A).copy() for _, _, A, _ in cache[:-1]]


def predict_proba(model, X):
    """P(y=1) of shape (n,) for one sigmoid output, (n, k) otherwise, as a NumPy array."""
    if not heads.is_classifier(model.output):
        raise ValueError(
            "predict_proba needs a classifier (output 'sigmoid' or 'softmax'); "
            "this network has output='identity': use predict"
        )
    A = model.backend.to_numpy(output(model, X))
    return A[:, 0] if A.shape[1] == 1 and model.output == "sigmoid" else A


def predict(model, X):
    """Class labels (through the model's classes) or values (in the target's units)."""
    P = model.backend.to_numpy(heads.predictions(model.kern.xp, model.output, output(model, X)))
    if model.target_scale is not None:
        return model.target_scale.inverse(P).astype(P.dtype)
    return P if model.classes is None or P.ndim != 1 else targets.decode(P, model.classes)


def evaluate(model, X, y, sample_weight=None) -> dict:
    """``metrics`` of (X, y) given as the user has them: checked, encoded, on the device."""
    Xd = contract.inputs(model, X)
    Y = contract.targets_of(model, y, Xd.shape[0])
    w = weights.sample_weights(sample_weight, Xd.shape[0])
    Yd = model.backend.asarray(Y if model.target_scale is None else model.target_scale.forward(Y))
    return metrics(model, Xd, Yd, None if w is None else model.backend.asarray(w, dtype=model.dtype))


def metrics(model, X, Y, w=None) -> dict:
    """{"loss", "accuracy"} (classifiers) or {"loss", "mse", "rmse", "r2"} (in the target's own
    units; R² = 1 − Σ(y − ŷ)²/Σ(y − ȳ)² over every output) of the current parameters on device
    arrays; with row weights w, weighted means (n becomes Σw, each row counts wᵢ)."""
    bk, n = model.backend, X.shape[0]
    loss, correct = 0.0, 0.0
    for a, b in chunks(n, max(model.sizes)):
        l, c = model.forward.evaluate(model.params, X[a:b], Y[a:b], None if w is None else w[a:b])
        loss, correct = loss + l, correct + c
    if w is not None:
        n = float(bk.to_numpy(model.kern.xp.sum(w)))
    loss = float(bk.to_numpy(loss)) / n
    if heads.is_classifier(model.output):
        return {"loss": loss, "accuracy": float(bk.to_numpy(correct)) / n}
    if model.target_scale is not None:
        loss = 0.5 * _scaled_sse(model, X, Y, w) / n
    mse = 2.0 * loss / model.sizes[-1]
    sst = _total_squares(model, Y, w)
    r2 = 1.0 - 2.0 * loss * n / sst if sst > 0 else float("nan")
    return {"loss": loss, "mse": mse, "rmse": math.sqrt(mse), "r2": r2}


def _total_squares(model, Y, w):
    """Σ wᵢ‖yᵢ − ȳ‖² in the target's own units (ȳ the weighted mean): R²'s denominator, over every
    target column as scikit-learn's ``r2_score`` with ``multioutput="variance_weighted"``."""
    Yh = model.backend.to_numpy(Y).astype(np.float64).reshape(Y.shape[0], -1)
    if model.target_scale is not None:
        Yh = model.target_scale.inverse(Yh)
    wh = np.ones(Yh.shape[0]) if w is None else model.backend.to_numpy(w).astype(np.float64)
    mean = (wh[:, None] * Yh).sum(axis=0) / wh.sum()
    return float((wh[:, None] * (Yh - mean) ** 2).sum())


def _scaled_sse(model, X, Y, w):
    """Σ wᵢ‖(z − y')·σ‖²: the squared error in the target's own units (σ the target scale)."""
    sse = 0.0
    for a, b in chunks(X.shape[0], max(model.sizes)):
        D = model.backend.to_numpy(model.forward.output(model.params, X[a:b]) - Y[a:b].reshape(b - a, -1))
        rows = np.sum((D.astype(np.float64) * model.target_scale.std) ** 2, axis=1)
        sse += float(np.sum(rows if w is None else rows * model.backend.to_numpy(w[a:b])))
    return sse
