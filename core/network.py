"""Forward and backward propagation for all examples at once (the notes, written out).

Forward:  A⁽⁰⁾ = X;  Z⁽ˡ⁾ = A⁽ˡ⁻¹⁾W⁽ˡ⁾ + b⁽ˡ⁾;  A⁽ˡ⁾ = g⁽ˡ⁾(Z⁽ˡ⁾).  The last layer's Z is the logits;
the head turns it into the output and the loss.
Backward: dZ⁽ᴸ⁾ = A⁽ᴸ⁾ − Y;  dW⁽ˡ⁾ = (1/n) A⁽ˡ⁻¹⁾ᵀ dZ⁽ˡ⁾;  db⁽ˡ⁾ = (1/n) Σ dZ⁽ˡ⁾;
          dA⁽ˡ⁻¹⁾ = dZ⁽ˡ⁾ W⁽ˡ⁾ᵀ;  dZ⁽ˡ⁻¹⁾ = dA⁽ˡ⁻¹⁾ ⊙ g′(Z⁽ˡ⁻¹⁾).
"""

from __future__ import annotations


def forward(kern, layers, activations, X):
    """Run the layers on X; return the cache [(A_prev, Z, A) per layer] that backward reads.

    ``activations`` names g for every layer; the last is "identity", so its Z = A = logits.
    """
    cache = []
    A = X
    for (W, b), name in zip(layers, activations):
        Z, A_next = kern.dense_forward(name, A, W, b)
        cache.append((A, Z, A_next))
        A = A_next
    return cache


def logits(kern, layers, activations, X):
    """Z⁽ᴸ⁾, the pre-activation of the output layer."""
    return forward(kern, layers, activations, X)[-1][1]


def backward(kern, layers, activations, cache, dZ):
    """From dZ⁽ᴸ⁾ = A⁽ᴸ⁾ − Y, the gradients [(dW⁽ˡ⁾, db⁽ˡ⁾) per layer] of the mean loss."""
    grads = [None] * len(layers)
    for l in reversed(range(len(layers))):
        A_prev = cache[l][0]
        dW, db, dA_prev = kern.dense_backward(A_prev, dZ, layers[l][0], need_dA_prev=l > 0)
        grads[l] = (dW, db)
        if l > 0:
            _, Z_prev, A_prev_act = cache[l - 1]
            dZ = kern.activation_grad(activations[l - 1], dA_prev, Z_prev, A_prev_act)
    return grads


def loss_and_grads(kern, layout, activations, head, params, X, Y):
    """(mean batch loss, flat gradient buffer) at the flat parameters ``params``."""
    layers = layout.unflatten(kern.xp, params)
    cache = forward(kern, layers, activations, X)
    loss, dZ = kern.head_loss(head, cache[-1][1], Y)
    grads = backward(kern, layers, activations, cache, dZ)
    return loss, kern.pack([g for dW_db in grads for g in dW_db])
