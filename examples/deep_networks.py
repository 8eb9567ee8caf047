r"""
Deep networks and the cache backward reads
==========================================

**The notes.** With :math:`L` layers the forward pass repeats
:math:`Z^{(l)} = A^{(l-1)}W^{(l)} + b^{(l)}`, :math:`A^{(l)} = g^{(l)}(Z^{(l)})` for
:math:`l = 1, \dots, L`, and backward runs the other way,
:math:`dW^{(l)} = \frac{1}{n}A^{(l-1)\top}dZ^{(l)}`, :math:`dA^{(l-1)} = dZ^{(l)}W^{(l)\top}`,
:math:`dZ^{(l-1)} = dA^{(l-1)} \odot g'(Z^{(l-1)})`. Backward needs, per layer, the input
:math:`A^{(l-1)}` and :math:`Z^{(l)}` (or :math:`A^{(l)}`, for activations whose derivative is a function
of their output: σ′ = A(1 − A), tanh′ = 1 − A², ReLU′ = [A > 0]). The forward pass keeps them: the
*cache*.

reseau's ``core/network.py`` is that loop: ``forward`` returns the cache ``[(A_in, Z, A, M)]``
(M: the dropout mask), ``backward`` reads it from the last layer to the first. Below, the cache of a
five-layer network on a batch of the digits, and what it holds.
"""

import matplotlib.pyplot as plt
import numpy as np

import reseau
from reseau import datasets
from reseau.core import network

X, y = datasets.load("digits")
X = X[:256] / 16.0
model = reseau.MLP(
    [64, 48, 32, 24, 16, 10],
    hidden="tanh",
    seed=0,
    backend="numpy",
    dtype="float64",
    kernels="reference",
    normalize=None,
)
layers = model.layout.unflatten(np, model.params)

# %%
# The forward pass keeps, per layer, what backward will read.
cache = network.forward(model.kern, layers, model.activations, X)
for l, (A_in, Z, A, M) in enumerate(cache, start=1):
    print(f"layer {l}: A_in {A_in.shape}, Z {Z.shape}, A {A.shape}, g = {model.activations[l - 1]}")
kept = sum(A_in.size + Z.size for A_in, Z, _, _ in cache)
print(f"the cache holds {kept:,} numbers for {X.shape[0]} examples ({kept // X.shape[0]:,} per example)")

# %%
# Backward from the output's dZ = (A − Y)/n (softmax and cross-entropy) reads the cache from the last
# layer down, and gives one (dW, db) per layer: the same as the model's own gradient.
Z_out = cache[-1][1]
loss, dZ = model.kern.head_loss("softmax", Z_out, y[:256].astype(np.int32), scale=1.0 / X.shape[0])
grads = network.backward(model.kern, layers, model.activations, cache, dZ)
_, flat = network.loss_and_grads(
    model.kern, model.layout, model.activations, "softmax", model.params, X, y[:256].astype(np.int32)
)
mine = np.concatenate([g.ravel() for pair in grads for g in pair])
print(f"loss {float(loss):.4f}; largest difference from loss_and_grads: {np.abs(mine - flat).max():.1e}")

# %%
# What the cache holds: the distribution of each layer's activations A⁽ˡ⁾ (tanh, Xavier
# initialisation), and the size of each layer's gradient ‖dW⁽ˡ⁾‖.
fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
for l, (_, _, A, _) in enumerate(cache[:-1], start=1):
    ax[0].hist(A.ravel(), bins=40, histtype="step", density=True, label=f"A({l})")
ax[0].set(xlabel="activation value", ylabel="density", title="hidden activations in the cache")
ax[0].legend()
norms = [np.linalg.norm(dW) for dW, _ in grads]
ax[1].bar(range(1, len(norms) + 1), norms)
ax[1].set(xlabel="layer l", ylabel="‖dW(l)‖", title="gradient per layer, from the cache")
fig.tight_layout()
for l, v in enumerate(norms, start=1):
    print(f"‖dW({l})‖ = {v:.4f}")
