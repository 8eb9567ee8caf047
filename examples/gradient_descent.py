r"""
Batch, mini-batch and stochastic gradient descent
=================================================

**The notes.** Gradient descent takes the gradient of the mean loss over examples. *Batch* gradient
descent uses all :math:`n` examples for every step (one step an epoch); *mini-batch* gradient descent
splits the shuffled examples into batches of :math:`m` (:math:`\lceil n/m \rceil` steps an epoch);
*stochastic* gradient descent is :math:`m = 1`. Each step is :math:`W \leftarrow W - \alpha\,dW`,
:math:`b \leftarrow b - \alpha\,db` with the batch's :math:`dW = \frac{1}{m}A^\top dZ`. Smaller batches
make more, noisier steps per epoch; each step is cheaper, but an epoch of many small steps costs more
than one of few large ones (every step pays a fixed overhead, and small matrix products use the
processor less well).

In reseau the batch size is ``fit(batch_size=...)``: ``None`` for the full batch, 1 for stochastic.
The three below train the same network from the same initial weights on the breast-cancer data.

**Live**, in the playground (:doc:`../topics/playground`): smooth loss curves; then ``batch=1``,
stochastic, noisy ones. ::

    reseau playground --settings "batch=full&optimizer=sgd&lr=0.5"
"""

import time

import matplotlib.pyplot as plt

import reseau
from reseau import datasets

X, y = datasets.load("breast_cancer")
X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.2, seed=0)
runs = {"batch (m = n)": (None, 0.5), "mini-batch (m = 32)": (32, 0.1), "stochastic (m = 1)": (1, 0.01)}
results = {}
for name, (batch_size, lr) in runs.items():
    model = reseau.MLP([30, 16, 1], seed=0)
    model.fit(
        X_train, y_train, epochs=1, batch_size=batch_size, optimizer="sgd", lr=lr, schedule=None
    )  # compile and warm the kernels
    model = reseau.MLP([30, 16, 1], seed=0)
    start = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=30, batch_size=batch_size, optimizer="sgd", lr=lr, schedule=None)
    seconds = (time.perf_counter() - start) / 30
    accuracy = (model.predict(X_test) == y_test).mean()
    results[name] = (history["loss"], seconds)
    steps = len(X_train) if batch_size == 1 else (1 if batch_size is None else -(-len(X_train) // batch_size))
    print(
        f"{name:20s} α = {lr:<5} {steps:4d} steps an epoch, {1000 * seconds:7.2f} ms an epoch, "
        f"final loss {history['loss'][-1]:.4f}, test accuracy {accuracy:.3f}"
    )

# %%
# Loss per epoch (left) and the time an epoch takes (right).
fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
for name, (loss, _) in results.items():
    ax[0].plot(range(1, len(loss) + 1), loss, label=name)
ax[0].set(xlabel="epoch", ylabel="training loss", yscale="log", title="loss per epoch")
ax[0].legend()
ax[1].bar(range(len(results)), [1000 * s for _, s in results.values()])
ax[1].set_xticks(range(len(results)), [n.split(" (")[0] for n in results])
ax[1].set(ylabel="ms per epoch", title="time per epoch")
fig.tight_layout()
