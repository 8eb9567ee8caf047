"""scikit-learn's MLP objective on reseau's network: what ``reseau.sklearn`` trains.

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

from . import network
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


def make_objective(model, out: str):
    """``objective(params, X, Y, r, l2, step) -> (L, flat gradient)`` for the network of ``model``
    (its kernels, layout, hidden activations and dropout) with output activation ``out``; r the
    rows' weights (summing to 1), l2 = α/Σw; ``step`` picks the dropout masks. With in-place
    kernels (NumPy, CuPy) every intermediate lives in preallocated buffers and the gradient lands
    in one flat buffer, reused by the next call."""
    kern, layout, activations, reg = model.kern, model.layout, model.activations, model.regularization
    xp = kern.xp
    workspaces = Workspaces(kern, layout, activations, model.dtype) if kern.in_place else None

    def objective(params, X, Y, r, l2, step):
        ws = None if workspaces is None else workspaces.get(X.shape[0], Y)
        layers = layout.unflatten(xp, params) if ws is None else ws.layers(xp, params)
        mask = None if reg is None or not reg.dropout_on else reg.mask_fn(kern, step)
        cache = network.forward(kern, layers, activations, X, ws, mask)
        Z = cache[-1][1]
        A = output(xp, out, Z)
        loss = xp.sum(r * row_losses(xp, out, Z, Y, A))
        grads = network.backward(kern, layers, activations, cache, (A - Y) * r[:, None], ws)
        for (W, _), (dW, _) in zip(layers, grads):  # ½·l2·ΣW², dW += l2·W: weights only
            loss = loss + 0.5 * l2 * xp.sum(W * W)
        if ws is not None:
            for (W, _), (dW, _) in zip(layers, grads):
                dW += l2 * W  # views of ws.grad
            return loss, ws.grad
        return loss, kern.pack([g for (W, _), (dW, db) in zip(layers, grads) for g in (dW + l2 * W, db)])

    return objective


def make_step(model, out: str, optimizer):
    """One update: ``step(params, state, X, Y, r, l2, t) -> (params, state, L)``, compiled on JAX;
    ``state`` is the optimiser's ``{"lr": α, **slots}``, t the updates made before this one."""
    objective = make_objective(model, out)
    kern = model.kern

    def step(params, state, X, Y, r, l2, t):
        loss, g = objective(params, X, Y, r, l2, t)
        params, state = optimizer.update(kern, params, g, state, t)
        return params, state, loss

    return model.backend.jit(step)


def make_forward(model, out: str):
    """``forward(params, X) -> A``: the network's output, compiled on JAX."""
    kern, layout, activations = model.kern, model.layout, model.activations

    def forward(params, X):
        Z = network.logits(kern, layout.unflatten(kern.xp, params), activations, X)
        return output(kern.xp, out, Z)

    return model.backend.jit(forward)
