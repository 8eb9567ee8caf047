"""scikit-learn's MLP objective on reseau's network: what ``reseau.sklearn`` trains, as a step
of the Trainer (``sklearn_step``), a full-batch objective for L-BFGS (``make_objective``) and
the output activations its predictions apply (``output``).

On a batch of n rows with sample weights w (w = 1 without them) and r = w / Σw:

    L = Σᵢ rᵢ·ℓ(zᵢ, yᵢ) + ½·α·ΣW² / Σw,     dZ⁽ᴸ⁾ = r ⊙ (A − Y),     dW += α·W / Σw

so with w = 1 (Σw = n) dW = (A_prevᵀdZ + αW)/n, scikit-learn's alpha (weights only, biases
unpenalised). ℓ, summed over the outputs, per output activation ("out"):

| out | A | ℓ(z, y) |
|---|---|---|
| logistic | σ(z) | softplus(z) − y·z (binary cross-entropy, from the logits) |
| softmax | softmax(z) | logsumexp(z) − y·z (cross-entropy, y one-hot) |
| identity | z | ½(z − y)² |
| exp | eᶻ | y·log(y/A) − y + A (half the Poisson deviance) |

Each A is the canonical link of its ℓ, so dZ = A − Y at the output for all four (the notes'
formula). The rest of backward is ``core/network.py``'s, on the model's kernels and backend.
"""

from __future__ import annotations

from . import guard, network
from .state import is_leaves
from .workspace import Workspaces

#: the output activations, and the reseau head that predicts with the same A (exp: identity, then eᶻ)
OUTPUTS = {"logistic": "sigmoid", "softmax": "softmax", "identity": "identity", "exp": "identity"}


def output(xp, out: str, Z):
    """A = the output activation of the logits Z."""
    if out == "logistic":
        return 1.0 / (1.0 + xp.exp(-Z))
    if out == "softmax":
        E = xp.exp(Z - xp.max(Z, axis=1, keepdims=True))
        return E / xp.sum(E, axis=1, keepdims=True)
    if out == "exp":
        return xp.exp(Z)
    return Z


def row_losses(xp, out: str, Z, Y, A):
    """ℓ per row (summed over the outputs), from the logits where that is stable."""
    if out == "logistic":
        per = xp.maximum(Z, 0.0) - Y * Z + xp.log1p(xp.exp(-xp.abs(Z)))
    elif out == "softmax":
        m = xp.max(Z, axis=1, keepdims=True)
        lse = m + xp.log(xp.sum(xp.exp(Z - m), axis=1, keepdims=True))
        per = Y * (lse - Z)
    elif out == "exp":
        y_log_y = xp.where(Y > 0, Y * xp.log(xp.where(Y > 0, Y, 1.0)), 0.0)
        per = y_log_y - Y * Z - Y + A
    else:
        D = Z - Y
        per = 0.5 * D * D
    return xp.sum(per, axis=1)


def n_correct(xp, out: str, Z, Y):
    """Rows the logits Z classify right: argmax z = argmax y (softmax, Y one-hot), every
    output's z ≥ 0 ⇔ y = 1 (logistic, also multilabel); 0 for the regressors' outputs."""
    if out == "softmax":
        return xp.sum(xp.astype(xp.argmax(Z, axis=1) == xp.argmax(Y, axis=1), Z.dtype))
    if out == "logistic":
        return xp.sum(xp.astype(xp.all((Z >= 0) == (Y > 0.5), axis=1), Z.dtype))
    return 0


def make_objective(model, out: str, workspaces=None, count=False):
    """``objective(params, X, Y, r, l2, step) -> (L, gradient)`` for the network of ``model``
    (its kernels, layout, hidden activations and dropout) with output activation ``out``; r the
    rows' weights (summing to 1), l2 = α/Σw; ``step`` picks the dropout masks. ``count=True``
    adds a third result, the rows classified right (``n_correct``). With in-place kernels (NumPy,
    CuPy) every intermediate lives in the buffers of ``workspaces`` (made here when not given)
    and the gradient lands in one flat buffer, reused by the next call; parameters given as
    leaves (Layout.split) get the gradient as leaves."""
    kern, layout, activations, reg = model.kern, model.layout, model.activations, model.regularization
    xp = kern.xp
    if workspaces is None and kern.in_place:
        workspaces = Workspaces(kern, layout, activations, model.dtype)

    def objective(params, X, Y, r, l2, step):
        ws = None if workspaces is None else workspaces.get(X.shape[0], Y)
        layers = layout.unflatten(xp, params) if ws is None else ws.layers(xp, params)
        mask = None if reg is None or not reg.dropout_on else reg.mask_fn(kern, step)
        cache = network.forward(kern, layers, activations, X, ws, mask)
        Z = cache[-1][1]
        A = output(xp, out, Z)
        loss = xp.sum(r * row_losses(xp, out, Z, Y, A))
        correct = n_correct(xp, out, Z, Y) if count else None
        grads = network.backward(kern, layers, activations, cache, (A - Y) * r[:, None], ws)
        for (W, _), (dW, _) in zip(layers, grads):  # ½·l2·ΣW², dW += l2·W: weights only
            loss = loss + 0.5 * l2 * xp.sum(W * W)
        if ws is not None:
            for (W, _), (dW, _) in zip(layers, grads):
                dW += l2 * W  # views of ws.grad
            g = ws.grad
        else:
            g = [a for (W, _), (dW, db) in zip(layers, grads) for a in (dW + l2 * W, db)]
            g = tuple(g) if is_leaves(params) else kern.pack(g)
        return (loss, g, correct) if count else (loss, g)

    return objective


def sklearn_step(model, out: str, alpha: float, optimizer, workspaces=None, on_divergence="apply"):
    """The estimators' training step in the Trainer's form (core/steps.py):
    ``step(params, state, X, Y, t, w=None) -> (params, state, L)`` with r = w/Σw (1/n without
    weights) and l2 = α/Σw, the update through the divergence guard (core/guard.py) in mode
    ``on_divergence``: by default "apply", every step applied as scikit-learn applies them (the
    estimators check the weights after the fit); or reseau's "stop" or "skip"."""
    objective = make_objective(model, out, workspaces, count=True)
    kern, dtype, xp = model.kern, model.dtype, model.kern.xp

    def step(params, state, X, Y, t, w=None):
        n = X.shape[0]
        if w is None:
            r, l2 = xp.full((n,), 1.0 / n, dtype=dtype), alpha / n
        else:
            total = xp.sum(w)
            r, l2 = w / total, alpha / total
        loss, g, correct = objective(params, X, Y, r, l2, t)
        params, state = guard.guarded_update(
            kern, optimizer, params, g, state, t, loss, loss, n, on_divergence, 1.0, correct
        )
        return params, state, loss

    return step
