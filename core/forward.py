"""What the model answers from its forward pass outside training (core/inference.py: chunk by
chunk into one result): predictions, probabilities and metrics; and ‖dW⁽ˡ⁾‖ per layer (gradient
norms), compiled on JAX.
"""

from __future__ import annotations

import math

from ..backends.host import np
from . import heads, targets, validation, weights
from .inference import Inference
from .network import loss_and_grads


def chunk_loss(kern, head, Z, Y, w=None):
    """(summed loss, right rows) of a chunk's logits Z; with row weights w: (Σ wᵢℓᵢ, Σ wᵢ·rightᵢ)."""
    xp = kern.xp
    if w is not None:
        ell, _ = kern.head_rows(head, Z, Y)
        return xp.sum(w * ell), xp.sum(w * kern.rows_correct(head, Z, Y))
    loss, _ = kern.head_loss(head, Z, Y)
    return loss * Z.shape[0], kern.n_correct(head, Z, Y)


def make_grad_norms(backend, kern, layout, activations, head):
    """``norms(params, X, Y)``: ‖dW⁽ˡ⁾‖₂ per layer of the mean data loss on (X, Y)."""
    xp = kern.xp

    def norms(params, X, Y):
        _, grads = loss_and_grads(kern, layout, activations, head, params, X, Y)
        return xp.stack([xp.sqrt(xp.sum(dW * dW)) for dW, _ in layout.unflatten(xp, grads)])

    return backend.jit(norms)


class Forward:
    """A built model's forward passes: ``inference`` (core/inference.py) and ``grad_norms()``
    (compiled on first use)."""

    def __init__(self, model):
        self.args = (model.backend, model.kern, model.layout, model.activations, model.output)
        self.inference = Inference(model)
        self.norms = None

    def grad_norms(self):
        if self.norms is None:
            self.norms = make_grad_norms(*self.args)
        return self.norms


def output(model, X):
    """The head's output A for ``X`` (checked once, through the model's plan) as a host array."""
    with validation.each_array_checked_once():
        Xh = model.contract.host_inputs(X, model.given(), order="F")
    return model.forward.inference.output(model.params, Xh)


def hidden_outputs(model, X) -> list:
    """Each hidden layer's A⁽ˡ⁾ = g(Z⁽ˡ⁾) for ``X`` (through the model's plan), as NumPy arrays: the
    training forward pass without dropout (core/network.py)."""
    cache = model.network.run(model.kern, model.contract.inputs(X, model.given()))
    return [model.backend.to_numpy(A).copy() for _, _, A, _ in cache[:-1]]


def predict_proba(model, X):
    """P(y=1) of shape (n,) for one sigmoid output, (n, k) otherwise, as a NumPy array."""
    if not heads.is_classifier(model.output):
        raise ValueError(
            "predict_proba needs a classifier (output 'sigmoid' or 'softmax'); "
            "this network has output='identity': use predict"
        )
    A = output(model, X)
    return A[:, 0] if A.shape[1] == 1 and model.output == "sigmoid" else A


def predict(model, X):
    """Class labels (through the model's classes) or values (in the target's units)."""
    return answers(model, output(model, X))


def answers(model, A):
    """What ``predict`` answers from the head's output A: class labels (through the model's
    classes) or values (in the target's units)."""
    P = heads.predictions(np, model.output, A)
    if model.target_scale is not None:
        return model.target_scale.inverse(P).astype(P.dtype)
    return P if model.classes is None or P.ndim != 1 else targets.decode(P, model.classes)


def evaluate(model, X, y, sample_weight=None) -> dict:
    """``metrics`` of (X, y) given as the user has them: checked, encoded, on the device."""
    with validation.each_array_checked_once():
        Xd = model.contract.inputs(X, model.given())
    Y = model.contract.targets(y, Xd.shape[0], model.given())
    w = weights.sample_weights(sample_weight, Xd.shape[0])
    Yd = model.backend.asarray(Y if model.target_scale is None else model.target_scale.forward(Y))
    return metrics(model, Xd, Yd, None if w is None else model.backend.asarray(w, dtype=model.dtype))


def metrics(model, X, Y, w=None) -> dict:
    """{"loss", "accuracy"} (classifiers) or {"loss", "mse", "rmse", "r2"} (in the target's own
    units; R² = 1 − Σ(y − ŷ)²/Σ(y − ȳ)² over every output) of the current parameters on device
    arrays; with row weights w, weighted means (n becomes Σw, each row counts wᵢ)."""
    bk, n = model.backend, X.shape[0]
    loss, correct = 0.0, 0.0
    for a, b, Z in model.forward.inference.logits(model.params, X):
        l, c = chunk_loss(model.kern, model.output, Z, Y[a:b], None if w is None else w[a:b])
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
    for a, b, Z in model.forward.inference.logits(model.params, X):  # identity head: the output is Z
        D = model.backend.to_numpy(Z - Y[a:b].reshape(b - a, -1))
        rows = np.sum((D.astype(np.float64) * model.target_scale.std) ** 2, axis=1)
        sse += float(np.sum(rows if w is None else rows * model.backend.to_numpy(w[a:b])))
    return sse
