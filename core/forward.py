"""What the model answers from its forward pass outside training (core/inference.py: chunk by
chunk into one result): predictions, probabilities and metrics; and ‖dW⁽ˡ⁾‖ per layer (gradient
norms), compiled on JAX.
"""

from __future__ import annotations

import math

from ..backends.host import np
from . import heads, targets, validation, weights
from .inference import Inference


def chunk_loss(kern, head, Z, Y, w=None):
    """(summed loss, right rows) of a chunk's logits Z; with row weights w: (Σ wᵢℓᵢ, Σ wᵢ·rightᵢ)."""
    xp = kern.xp
    if w is not None:
        ell, _ = kern.head_rows(head, Z, Y)
        return xp.sum(w * ell), xp.sum(w * kern.rows_correct(head, Z, Y))
    loss, _ = kern.head_loss(head, Z, Y)
    return loss * Z.shape[0], kern.n_correct(head, Z, Y)


def make_grad_norms(backend, kern, network, head):
    """``norms(params, X, Y)``: ‖dW⁽ˡ⁾‖₂ per layer of ``network``'s mean data loss on (X, Y)."""
    xp = kern.xp

    def norms(params, X, Y):
        _, grads = network.loss_and_grads(kern, head, X, Y, params)
        return xp.stack([xp.sqrt(xp.sum(dW * dW)) for dW, _ in network.layout.unflatten(xp, grads)])

    return backend.jit(norms)


class Forward:
    """A built network's passes outside training, a part of its own (``model.forward``, made with
    the network): what the model answers (``output``, ``predict``, ``predict_proba``,
    ``hidden_outputs``), its metrics (``evaluate`` on the user's data, ``metrics`` on device
    arrays), chunk by chunk through ``inference`` (core/inference.py), and ‖dW⁽ˡ⁾‖ per layer
    (``grad_norms()``, compiled on first use). It holds the parts it reads, never the model: the
    network (its parameters as they are at each call), the input contract (the user's data in, the
    classes and target scale out), the kernels, and what the model gives its contract (``given``:
    sizes, head, backend, dtype)."""

    def __init__(self, given, kern, network, contract):
        self.given, self.kern, self.network, self.contract = given, kern, network, contract
        self.backend, self.head = given.backend, given.head
        self.inference = Inference(given.backend, kern, network.layout, network.activations, given.head, given.dtype)
        self.norms = None

    def grad_norms(self):
        if self.norms is None:
            self.norms = make_grad_norms(self.backend, self.kern, self.network, self.head)
        return self.norms

    # ---- what the model answers --------------------------------------------------------------

    def output(self, X):
        """The head's output A for ``X`` (checked once, through the contract's plan) as a host array."""
        with validation.each_array_checked_once():
            Xh = self.contract.host_inputs(X, self.given, order="F")
        return self.inference.output(self.network.params, Xh)

    def hidden_outputs(self, X) -> list:
        """Each hidden layer's A⁽ˡ⁾ = g(Z⁽ˡ⁾) for ``X`` (through the contract's plan), as NumPy arrays:
        the training forward pass without dropout (core/network.py)."""
        cache = self.network.run(self.kern, self.contract.inputs(X, self.given))
        return [self.backend.to_numpy(A).copy() for _, _, A, _ in cache[:-1]]

    def predict_proba(self, X):
        """P(y=1) of shape (n,) for one sigmoid output, (n, k) otherwise, as a NumPy array."""
        if not heads.is_classifier(self.head):
            raise ValueError(
                "predict_proba needs a classifier (output 'sigmoid' or 'softmax'); "
                f"this network has output={self.head!r}: use predict"
            )
        A = self.output(X)
        return A[:, 0] if A.shape[1] == 1 and self.head == "sigmoid" else A

    def predict(self, X):
        """Class labels (through the contract's classes) or values (in the target's units)."""
        return self.answers(self.output(X))

    def answers(self, A):
        """What ``predict`` answers from the head's output A: class labels (through the contract's
        classes) or values (in the target's units)."""
        P = heads.predictions(np, self.head, A)
        scale, classes = self.contract.target_scale, self.contract.classes
        if scale is not None:
            return scale.inverse(P).astype(P.dtype)
        return P if classes is None or P.ndim != 1 else targets.decode(P, classes)

    # ---- metrics -------------------------------------------------------------------------------

    def evaluate(self, X, y, sample_weight=None) -> dict:
        """``metrics`` of (X, y) given as the user has them: checked, encoded, on the device."""
        with validation.each_array_checked_once():
            Xd = self.contract.inputs(X, self.given)
        Y = self.contract.targets(y, Xd.shape[0], self.given)
        w = weights.sample_weights(sample_weight, Xd.shape[0])
        scale = self.contract.target_scale
        Yd = self.backend.asarray(Y if scale is None else scale.forward(Y))
        return self.metrics(Xd, Yd, None if w is None else self.backend.asarray(w, dtype=self.given.dtype))

    def metrics(self, X, Y, w=None) -> dict:
        """{"loss", "accuracy"} (classifiers) or {"loss", "mse", "rmse", "r2"} (in the target's own
        units; R² = 1 − Σ(y − ŷ)²/Σ(y − ȳ)² over every output) of the current parameters on device
        arrays; with row weights w, weighted means (n becomes Σw, each row counts wᵢ)."""
        bk, n = self.backend, X.shape[0]
        loss, correct = 0.0, 0.0
        for a, b, Z in self.inference.logits(self.network.params, X):
            l, c = chunk_loss(self.kern, self.head, Z, Y[a:b], None if w is None else w[a:b])
            loss, correct = loss + l, correct + c
        if w is not None:
            n = float(bk.to_numpy(self.kern.xp.sum(w)))
        loss = float(bk.to_numpy(loss)) / n
        if heads.is_classifier(self.head):
            return {"loss": loss, "accuracy": float(bk.to_numpy(correct)) / n}
        if self.contract.target_scale is not None:
            loss = 0.5 * self._scaled_sse(X, Y, w) / n
        mse = 2.0 * loss / self.given.sizes[-1]
        sst = self._total_squares(Y, w)
        r2 = 1.0 - 2.0 * loss * n / sst if sst > 0 else float("nan")
        return {"loss": loss, "mse": mse, "rmse": math.sqrt(mse), "r2": r2}

    def _total_squares(self, Y, w):
        """Σ wᵢ‖yᵢ − ȳ‖² in the target's own units (ȳ the weighted mean): R²'s denominator, over every
        target column as scikit-learn's ``r2_score`` with ``multioutput="variance_weighted"``."""
        Yh = self.backend.to_numpy(Y).astype(np.float64).reshape(Y.shape[0], -1)
        if self.contract.target_scale is not None:
            Yh = self.contract.target_scale.inverse(Yh)
        wh = np.ones(Yh.shape[0]) if w is None else self.backend.to_numpy(w).astype(np.float64)
        mean = (wh[:, None] * Yh).sum(axis=0) / wh.sum()
        return float((wh[:, None] * (Yh - mean) ** 2).sum())

    def _scaled_sse(self, X, Y, w):
        """Σ wᵢ‖(z − y')·σ‖²: the squared error in the target's own units (σ the target scale)."""
        sse, std = 0.0, self.contract.target_scale.std
        for a, b, Z in self.inference.logits(self.network.params, X):  # identity head: the output is Z
            D = self.backend.to_numpy(Z - Y[a:b].reshape(b - a, -1))
            rows = np.sum((D.astype(np.float64) * std) ** 2, axis=1)
            sse += float(np.sum(rows if w is None else rows * self.backend.to_numpy(w[a:b])))
        return sse
