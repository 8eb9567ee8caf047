r"""
Activations, the vanishing gradient, and initialisation
=======================================================

**The notes.** The output activation goes with the loss: σ with binary cross-entropy, softmax with
cross-entropy, the identity with squared error; each pair gives :math:`dZ = A - Y` at the output. A
hidden activation :math:`g` enters backward as :math:`dZ^{(l)} = dA^{(l)} \odot g'(Z^{(l)})` at every
layer, so the gradient reaching layer 1 of a deep network carries a product of :math:`L - 1`
factors :math:`g'` (and of the weights). With σ, :math:`\sigma'(z) = \sigma(z)(1-\sigma(z)) \le 1/4`:
the product shrinks geometrically with depth and the first layers barely learn — the *vanishing
gradient*. :math:`\tanh'(z) = 1 - \tanh^2 z \le 1` shrinks less; ReLU's derivative is 1 where the
unit is active, and the product does not shrink on its own.

Initialisation sets the scale of the weights, and so of every factor. The notes' rules, with
:math:`n_{in}`, :math:`n_{out}` a layer's fan-in and fan-out and normal draws of standard deviation
He :math:`\sqrt{2/n_{in}}` (for ReLU), Xavier :math:`\sqrt{1/n_{in}}`, Bengio/Glorot
:math:`\sqrt{2/(n_{in} + n_{out})}` (``init="he"``, ``"xavier"``, ``"glorot"``; biases start at 0).

Below: ‖dW⁽ˡ⁾‖ per layer of ten-layer networks on the moons data, at initialisation, for each
activation and initialiser (``model.grad_norms``, the figure ``fit(track_gradients=True)`` records
every epoch).

**Live**, in the playground (:doc:`../topics/playground`): each layer's ‖dW‖ fade towards the input;
then ``activation=relu&init=he``. ::

    reseau playground --settings "data=circles&layers=8,8,8,8,8,8&activation=sigmoid&optimizer=sgd&lr=0.5"
"""

import matplotlib.pyplot as plt
import numpy as np

import reseau
from reseau import datasets

X, y = datasets.moons(n=400, noise=0.2, seed=0)
depth = 10
fig, axes = plt.subplots(1, 3, figsize=(11, 3.3), sharey=True)
for ax, init in zip(axes, ["xavier", "glorot", "he"]):
    for hidden in ["sigmoid", "tanh", "relu"]:
        model = reseau.MLP([2] + [32] * (depth - 1) + [1], hidden=hidden, init=init, seed=0)
        model.build(X, y)
        norms = model.grad_norms(model.device_inputs(X), model.backend.asarray(model.encode_targets(y)))
        ax.semilogy(range(1, depth + 1), norms, marker="o", ms=3, label=hidden)
        print(f"init {init:6s} {hidden:7s} ‖dW(1)‖/‖dW({depth})‖ = {norms[0] / norms[-1]:.1e}")
    ax.set(xlabel="layer l", title=f"init = {init}")
    ax.legend()
axes[0].set_ylabel("‖dW(l)‖ at initialisation")
fig.tight_layout()

# %%
# Does it matter for training? 30 epochs on the same data, each activation with the initialiser
# made for it, with plain gradient descent (left) and with Adam (right). Gradient descent's step is
# α·dW, so the sigmoid network's first layer, whose gradient is a millionth of the last layer's,
# barely moves; Adam divides each parameter's step by the running size of its own gradient
# (√v̂), which moves it anyway — one reason adaptive optimisers train deep sigmoid stacks at all.
fig, axes = plt.subplots(1, 2, figsize=(9, 3.3), sharey=True)
for ax, (optimizer, lr) in zip(axes, [("sgd", 0.5), ("adam", 3e-3)]):
    for hidden, init in [("sigmoid", "xavier"), ("tanh", "xavier"), ("relu", "he")]:
        model = reseau.MLP([2] + [32] * (depth - 1) + [1], hidden=hidden, init=init, seed=0)
        before = model.get_weights()[0][0].copy()
        history = model.fit(X, y, epochs=30, batch_size=32, optimizer=optimizer, lr=lr)
        moved = np.linalg.norm(model.get_weights()[0][0] - before) / np.linalg.norm(before)
        ax.plot(history["epoch"], history["loss"], label=f"{hidden} / {init}")
        print(
            f"{optimizer:4s} {hidden:7s} / {init:6s}: loss {history['loss'][-1]:.4f}, accuracy "
            f"{history['accuracy'][-1]:.3f}, W(1) moved by {100 * moved:.2g} % of its size"
        )
    ax.set(xlabel="epoch", title=f"{depth} layers, {optimizer} (α = {lr})")
    ax.legend()
axes[0].set_ylabel("training loss")
fig.tight_layout()
