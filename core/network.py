"""Forward and backward propagation for all examples at once (the notes, written out).

Forward:  A⁽⁰⁾ = X;  Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾W⁽ˡ⁾ + b⁽ˡ⁾;  A⁽ˡ⁾ = g⁽ˡ⁾(Z⁽ˡ⁾).  The last layer's Z is the logits;
the head turns it into the output and the loss.
Backward: dZ⁽ᴸ⁾ = (A⁽ᴸ⁾ − Y)/n;  dW⁽ˡ⁾ = A⁽ˡ⁻¹⁾ᵀ dZ⁽ˡ⁾;  db⁽ˡ⁾ = Σ dZ⁽ˡ⁾;
          dA⁽ˡ⁻¹⁾ = dZ⁽ˡ⁾ W⁽ˡ⁾ᵀ;  dZ⁽ˡ⁻¹⁾ = dA⁽ˡ⁻¹⁾ ⊙ g′(Z⁽ˡ⁻¹⁾).
The notes' 1/n sits on the output dZ once; the pass is linear in dZ, so each dW and db is the
notes' (1/n)A_prevᵀdZ and (1/n)ΣdZ.

With a workspace ``ws`` (in-place kernels), every result lands in a preallocated buffer and the
gradients in the views of one flat buffer; without one, the kernels return new arrays.
"""

from __future__ import annotations


def forward(kern, layers, activations, X, ws=None):
    """Run the layers on X; return the cache [(A_prev, Z, A) per layer] that backward reads.

    ``activations`` names g for every layer; the last is "identity", so its Z = A = logits.
    """
    cache = []
    A = X
    for l, ((W, b), name) in enumerate(zip(layers, activations)):
        Z, A_next = kern.dense_forward(name, A, W, b, out=None if ws is None else (ws.Z[l], ws.A[l]))
        cache.append((A, Z, A_next))
        A = A_next
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
            _, Z_prev, A_prev_act = cache[l - 1]
            dZ = kern.activation_grad(activations[l - 1], dA_prev, Z_prev, A_prev_act,
                                      out=None if ws is None else dA_prev)
    return grads


def loss_and_grads(kern, layout, activations, head, params, X, Y, ws=None):
    """(mean batch loss, flat gradient buffer) at the flat parameters ``params``."""
    layers = layout.unflatten(kern.xp, params) if ws is None else ws.layers(kern.xp, params)
    cache = forward(kern, layers, activations, X, ws)
    Z = cache[-1][1]
    loss, dZ = kern.head_loss(head, Z, Y, scale=1.0 / X.shape[0], out=None if ws is None else Z)
    grads = backward(kern, layers, activations, cache, dZ, ws)
    if ws is not None:
        return loss, ws.grad
    return loss, kern.pack([g for dW_db in grads for g in dW_db])
