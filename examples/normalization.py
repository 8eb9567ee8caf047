r"""
Min-max normalisation of the inputs
===================================

**The notes.** Features on very different scales make the loss surface a long, narrow valley: a
learning rate small enough for the steep direction crawls along the flat one. Min-max
normalisation maps each feature to [0, 1] with the training data's extremes,

.. math:: x' = \frac{x - \min(x)}{\max(x) - \min(x)},

and the same :math:`\min`, :math:`\max` are applied to every later input (validation, test, new
data), so nothing of them leaks into the fit.

The bundled breast-cancer data have such features: tumour area in the hundreds to thousands, the
smoothness of its contour around 0.1. reseau fits the scaling on the training part and keeps it in
the model (``normalize="minmax"``, the default; ``"standard"`` for mean 0 and variance 1; ``None``
for the raw numbers).

**Live**, in the playground (:doc:`../topics/playground`): then ``normalize=minmax``. ::

    reseau playground --settings "data=blobs&normalize=none&optimizer=sgd&lr=0.1"
"""

import matplotlib.pyplot as plt
import numpy as np

import reseau
from reseau import datasets

X, y = datasets.load("breast_cancer")
X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.2, seed=0)
spread = X_train.max(0) - X_train.min(0)
print(
    f"feature ranges in the training part: from {spread.min():.3g} to {spread.max():.3g} "
    f"({spread.max() / spread.min():.0f} times)"
)

# %%
# The same network, optimiser and learning rate, with and without the scaling.
fig, ax = plt.subplots(figsize=(6, 3.2))
for normalize in [None, "minmax", "standard", "robust"]:
    model = reseau.MLP([30, 16, 1], seed=0, normalize=normalize)
    history = model.fit(
        X_train, y_train, epochs=40, batch_size=32, lr=0.01, optimizer="sgd", schedule=None, on_divergence="skip"
    )
    accuracy = (model.predict(X_test) == y_test).mean()
    label = "raw inputs" if normalize is None else normalize
    ax.plot(history["epoch"], history["loss"], label=label)
    print(f"{label:10s}: training loss {history['loss'][-1]:.4f}, test accuracy {accuracy:.3f}")
ax.set(xlabel="epoch", ylabel="training loss", yscale="log", title="same α = 0.01, with and without")
ax.legend()
fig.tight_layout()

# %%
# What the fitted scaling does to the inputs the network sees (``model.device_inputs``): every
# feature in [0, 1] on the training part.
model = reseau.MLP([30, 16, 1], seed=0, normalize="minmax").build(X_train, y_train)
seen = np.asarray(model.device_inputs(X_test))
fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
ax[0].boxplot([X_test[:, j] for j in range(0, 30, 3)], showfliers=False)
ax[0].set(xlabel="feature (every third)", yscale="log", title="raw test inputs")
ax[1].boxplot([seen[:, j] for j in range(0, 30, 3)], showfliers=False)
ax[1].set(xlabel="feature (every third)", title="after the fitted min-max scaling")
fig.tight_layout()
print(
    f"test inputs after min-max: from {seen.min():.3f} to {seen.max():.3f} (the training part's "
    "extremes are 0 and 1; new data can fall outside, as here)"
)
