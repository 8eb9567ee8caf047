"""Forward and backward propagation for all examples at once (the notes, written out).

Forward:  A⁽⁰⁾ = X;  Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾W⁽ˡ⁾ + b⁽ˡ⁾;  A⁽ˡ⁾ = g⁽ˡ⁾(Z⁽ˡ⁾).  The last layer's Z is the logits;
the head turns it into the output and the loss.
Backward: dZ⁽ᴸ⁾ = (A⁽ᴸ⁾ − Y)/n;  dW⁽ˡ⁾ = A⁽ˡ⁻¹⁾ᵀ dZ⁽ˡ⁾;  db⁽ˡ⁾ = Σ dZ⁽ˡ⁾;
          dA⁽ˡ⁻¹⁾ = dZ⁽ˡ⁾ W⁽ˡ⁾ᵀ;  dZ⁽ˡ⁻¹⁾ = dA⁽ˡ⁻¹⁾ ⊙ g′(Z⁽ˡ⁻¹⁾).
The notes' 1/n sits on the output dZ once; the pass is linear in dZ, so each dW and db is the
notes' (1/n)A_prevᵀdZ and (1/n)ΣdZ.

With a workspace ``ws`` (in-place kernels), every result lands in a preallocated buffer and the
gradients in the views of one flat buffer; without one, the kernels return new arrays.

``Network`` is the part of a model these passes run: its layout, activations and parameters.

Dropout (inverted, training only): a hidden layer's output A feeds the next layer as A ⊙ M, M = 0
or 1/keep per unit; backward multiplies the gradient reaching A by the same M.
"""

from __future__ import annotations

from .state import is_leaves


class Network:
    """A model's built network, a part of its own (``model.network``; the model reads ``layout``,
    ``activations`` and ``params`` from it): the layout (sizes → offsets in one flat buffer), each
    layer's activation g⁽ˡ⁾ (the last "identity": the head reads its Z), and the flat parameters
    (W⁽¹⁾, b⁽¹⁾, W⁽²⁾, …) on the device, which change only through ``set_params``."""

    FIELDS = ("layout", "activations", "params")

    def __init__(self, layout, activations, params):
        self.layout, self.activations, self.params = layout, list(activations), params

    def set_params(self, params):
        """New parameters: a training step's, restored weights, or the same moved between devices."""
        self.params = params

    def layers(self, xp, params=None):
        """[(W⁽ˡ⁾, b⁽ˡ⁾), ...]: views of ``params`` (the network's own by default)."""
        return self.layout.unflatten(xp, self.params if params is None else params)

    def run(self, kern, X, params=None):
        """Forward propagation of X at ``params`` (the network's own by default), no dropout: the
        cache [(A_in, Z, A, M) per layer] of ``forward``."""
        return forward(kern, self.layers(kern.xp, params), self.activations, X)

    def loss_and_grads(self, kern, head, X, Y, params=None, **options):
        """Forward then backward propagation through this network with the head ``head``: (mean
        loss, flat gradient) at ``params`` (its own by default); ``options`` as the module's
        ``loss_and_grads`` takes them (ws, reg, step, count, w)."""
        params = self.params if params is None else params
        return loss_and_grads(kern, self.layout, self.activations, head, params, X, Y, **options)

    def fields(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}


def forward(kern, layers, activations, X, ws=None, mask=None):
    """Run the layers on X; return the cache [(A_in, Z, A, M) per layer] that backward reads:
    the layer's input, pre-activation, activation and dropout mask (None without dropout).

    ``activations`` names g for every layer; the last is "identity", so its Z = A = logits.
    ``mask(l, A)``: the dropout mask of layer l's output, or None.
    """
    cache = []
    A = X
    for l, ((W, b), name) in enumerate(zip(layers, activations)):
        Z, A_next = kern.dense_forward(name, A, W, b, out=None if ws is None else (ws.Z[l], ws.A[l]))
        M = None if mask is None else mask(l, A_next)
        cache.append((A, Z, A_next, M))
        A = A_next if M is None else A_next * M
    return cache


def logits(kern, layers, activations, X):
    """Z⁽ᴸ⁾, the pre-activation of the output layer."""
    return forward(kern, layers, activations, X)[-1][1]


def backward(kern, layers, activations, cache, dZ, ws=None):
    """From the output dZ (carrying the 1/n), the gradients [(dW⁽ˡ⁾, db⁽ˡ⁾) per layer] of the mean loss."""
    grads = [None] * len(layers)
    for l in reversed(range(len(layers))):
        A_prev = cache[l][0]
        out = None if ws is None else (*ws.dWdb[l], ws.dA[l])
        dW, db, dA_prev = kern.dense_backward(A_prev, dZ, layers[l][0], need_dA_prev=l > 0, out=out)
        grads[l] = (dW, db)
        if l > 0:
            _, Z_prev, A_prev_act, M = cache[l - 1]
            if M is not None:
                dA_prev = dA_prev * M
            dZ = kern.activation_grad(
                activations[l - 1], dA_prev, Z_prev, A_prev_act, out=None if ws is None else ws.dA[l]
            )
    return grads


def loss_and_grads(kern, layout, activations, head, params, X, Y, ws=None, reg=None, step=0, count=False, w=None):
    """(mean batch loss, flat gradient buffer) at the flat parameters ``params`` (or the gradient's
    leaves at the parameters' leaves, see Layout.split); with ``reg``
    (core.regularization), dropout masks for training step ``step``, label smoothing and the L1/L2 penalty.
    ``count=True`` adds a third result: the rows the batch's logits classify right (the head's
    kernel counts them as it computes the loss). ``w``: row weights; the loss is then the weighted
    mean Σ rᵢℓᵢ, r = w/Σw, and the output dZ = r ⊙ (A − Y) (core/weights.py)."""
    layers = layout.unflatten(kern.xp, params) if ws is None else ws.layers(kern.xp, params)
    mask = None if reg is None or not reg.dropout_on else reg.mask_fn(kern, step)
    cache = forward(kern, layers, activations, X, ws, mask)
    Z = cache[-1][1]
    shift = None if reg is None or not reg.smoothing else _smoothing(kern, head, Z, Y, w, reg.smoothing)
    if w is not None:
        correct = kern.n_correct(head, Z, Y) if count else None
        loss, dZ = kern.head_loss_weighted(head, Z, Y, w)
    elif count:
        loss, dZ, correct = kern.head_loss_count(head, Z, Y, scale=1.0 / X.shape[0], out=None if ws is None else Z)
    else:
        loss, dZ = kern.head_loss(head, Z, Y, scale=1.0 / X.shape[0], out=None if ws is None else Z)
    if shift is not None:
        extra, rC = shift
        loss, dZ = loss + extra, dZ + rC
    grads = backward(kern, layers, activations, cache, dZ, ws)
    rows = None if reg is None or not reg.per_rows else (X.shape[0] if w is None else kern.xp.sum(w))
    loss, grads = _penalised(kern, params, loss, grads, ws, reg, rows)
    return (loss, grads, correct) if count else (loss, grads)


def _smoothing(kern, head, Z, Y, w, eps):
    """Label smoothing's part of the loss and of dZ: (Σᵢ rᵢ Σ_k C_ik z_ik, r ⊙ C), C the targets'
    shift (``smoothing_shift``) and r = 1/n, or w/Σw with row weights; computed before the head
    may write dZ over Z."""
    C = kern.smoothing_shift(head, Y, Z.shape[1], eps, Z.dtype)
    r = 1.0 / Z.shape[0] if w is None else kern.row_shares(w)[:, None]
    return kern.xp.sum(r * C * Z), r * C


def _penalised(kern, params, loss, grads, ws, reg, rows=None):
    """The loss and the gradient (flat, or leaves) with the L1/L2 penalty of ``reg`` added; l2
    divided by ``rows`` (the batch's Σw) where the penalty is per rows (scikit-learn's α)."""
    on = reg is not None and reg.penalty_on
    l2 = None if not on else (reg.l2 / rows if reg.per_rows else reg.l2)
    if is_leaves(params):  # leaves in, leaves out (JAX, see Layout.split)
        leaves = [g for dW_db in grads for g in dW_db]
        if on:
            for i in range(0, len(leaves), 2):  # the weights; biases carry no penalty
                extra, leaves[i] = kern.weight_penalty(params[i], leaves[i], 1.0, reg.l1, l2)
                loss = loss + extra
        return loss, tuple(leaves)
    flat = ws.grad if ws is not None else kern.pack([g for dW_db in grads for g in dW_db])
    if on:
        extra, flat = kern.weight_penalty(params, flat, reg.weight_mask, reg.l1, l2)
        loss = loss + extra
    return loss, flat
