r"""
Binary classification: Bernoulli likelihood, cross-entropy, and one network by hand
===================================================================================

**The notes.** A label :math:`y \in \{0, 1\}` is modelled as :math:`y \sim \mathrm{Bernoulli}(p)` with
:math:`p = \sigma(z) = 1/(1 + e^{-z})` the network's output. The likelihood of :math:`n` examples is
:math:`\prod_i p_i^{y_i}(1 - p_i)^{1 - y_i}`; maximising its logarithm is minimising the binary
cross-entropy

.. math:: L = -\frac{1}{n}\sum_i \big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big].

For all examples at once, with :math:`A^{(0)} = X`, a two-layer network computes
:math:`Z^{(1)} = XW^{(1)} + b^{(1)}`, :math:`A^{(1)} = g(Z^{(1)})`, :math:`Z^{(2)} = A^{(1)}W^{(2)} + b^{(2)}`,
:math:`A^{(2)} = \sigma(Z^{(2)})`; backward, :math:`dZ^{(2)} = A^{(2)} - Y`,
:math:`dW^{(2)} = \frac{1}{n}A^{(1)\top}dZ^{(2)}`, :math:`db^{(2)} = \frac{1}{n}\sum dZ^{(2)}`,
:math:`dA^{(1)} = dZ^{(2)}W^{(2)\top}`, :math:`dZ^{(1)} = dA^{(1)} \odot g'(Z^{(1)})`, and the same for
layer 1; then :math:`W \leftarrow W - \alpha\,dW`, :math:`b \leftarrow b - \alpha\,db`.

This chapter writes those lines in NumPy, checks each against reseau's reference kernels
(``kernels/reference.py``, the formulas reseau's fast kernels are tested against), then trains the
network on the bundled breast-cancer data.
"""

import matplotlib.pyplot as plt
import numpy as np

import reseau
from reseau import datasets
from reseau.kernels import Reference

X, y = datasets.load("breast_cancer")
X = (X - X.min(0)) / (X.max(0) - X.min(0))  # min-max normalisation (its own chapter)
n = X.shape[0]
Y = y.reshape(-1, 1).astype(float)

# %%
# Bernoulli log-likelihood and cross-entropy are the same number
# ---------------------------------------------------------------
# For any probabilities p, −(1/n)·log-likelihood equals the binary cross-entropy.
p = np.random.default_rng(0).uniform(0.05, 0.95, size=n)
log_likelihood = np.log(np.prod(np.where(y == 1, p, 1 - p) ** (1 / n)))  # the n-th root keeps it in range
bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
print(f"-(1/n) log-likelihood = {-log_likelihood:.12f}   binary cross-entropy = {bce:.12f}")

# %%
# Forward and backward for all examples at once, by hand
# ------------------------------------------------------
model = reseau.MLP(
    [30, 8, 1], hidden="tanh", output="sigmoid", seed=0, backend="numpy", dtype="float64", normalize=None
)
(W1, b1), (W2, b2) = model.get_weights()

Z1 = X @ W1 + b1
A1 = np.tanh(Z1)
Z2 = A1 @ W2 + b2
A2 = 1 / (1 + np.exp(-Z2))
loss = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
dZ2 = A2 - Y
dW2, db2 = A1.T @ dZ2 / n, dZ2.sum(0) / n
dA1 = dZ2 @ W2.T
dZ1 = dA1 * (1 - A1**2)  # tanh'(z) = 1 − tanh²(z)
dW1, db1 = X.T @ dZ1 / n, dZ1.sum(0) / n

# %%
# The same steps through reseau's reference kernels: dense_forward gives (Z, A), head_loss gives
# (L, dZ = A − Y, scaled by 1/n), dense_backward gives (dW, db, dA_prev), activation_grad gives dZ.
ref = Reference(reseau.backends.get("numpy"))
rZ1, rA1 = ref.dense_forward("tanh", X, W1, b1)
rZ2, _ = ref.dense_forward("identity", rA1, W2, b2)
r_loss, r_dZ2 = ref.head_loss("sigmoid", rZ2, Y, scale=1.0 / n)
r_dW2, r_db2, r_dA1 = ref.dense_backward(rA1, r_dZ2, W2)
r_dZ1 = ref.activation_grad("tanh", r_dA1, rZ1, rA1)
r_dW1, r_db1, _ = ref.dense_backward(X, r_dZ1, W1, need_dA_prev=False)
for name, mine, theirs in [
    ("L", loss, r_loss),
    ("dW2", dW2, r_dW2),
    ("db2", db2, r_db2),
    ("dW1", dW1, r_dW1),
    ("db1", db1, r_db1),
]:
    print(f"{name:4s} largest difference from the reference kernels: {np.abs(mine - theirs).max():.1e}")

# %%
# One update W ← W − α·dW, b ← b − α·db, by hand and by ``fit`` (one full batch, plain gradient
# descent, α = 0.5) gives the same weights.
alpha = 0.5
model.fit(X, y, epochs=1, batch_size=None, lr=alpha, optimizer="sgd")
(W1_fit, _), (W2_fit, _) = model.get_weights()
print(f"W1 after one step: largest difference, by hand vs fit: {np.abs((W1 - alpha * dW1) - W1_fit).max():.1e}")
print(f"W2 after one step: largest difference, by hand vs fit: {np.abs((W2 - alpha * dW2) - W2_fit).max():.1e}")

# %%
# Training
# --------
# 300 more full-batch steps; the loss falls and the held-out accuracy says the network generalises.
X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.25, seed=0)
net = reseau.MLP([30, 8, 1], hidden="tanh", output="sigmoid", seed=0, normalize=None)
history = net.fit(X_train, y_train, epochs=300, batch_size=None, lr=0.5, optimizer="sgd")
accuracy = (net.predict(X_test) == y_test).mean()
print(f"training loss {history['loss'][0]:.3f} -> {history['loss'][-1]:.3f}; test accuracy {accuracy:.3f}")

fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
ax[0].plot(history["epoch"], history["loss"])
ax[0].set(xlabel="epoch (one full-batch step each)", ylabel="binary cross-entropy", title="training loss")
P = net.predict_proba(X_test)
ax[1].hist([P[y_test == 0], P[y_test == 1]], bins=20, label=["malignant (y=0)", "benign (y=1)"])
ax[1].set(xlabel="p = σ(z)", ylabel="test examples", title="predicted probabilities")
ax[1].legend()
fig.tight_layout()
