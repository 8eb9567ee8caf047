r"""
Dropout and L1/L2 against overfitting
=====================================

**The notes.** A network with many more parameters than examples can fit the training set and
stop generalising: the training loss keeps falling while the validation loss turns up. Two cures:

- *L2 / L1 penalties* add :math:`\frac{\lambda_2}{2}\sum W^2` or :math:`\lambda_1\sum |W|` to the
  loss, so :math:`dW \mathrel{+}= \lambda_2 W` (weight decay) or :math:`\lambda_1\,\mathrm{sign}(W)`
  (biases are not penalised);
- *dropout* (inverted): during training each hidden unit is kept with probability
  :math:`k = 1 - r` and scaled by :math:`1/k`, else zeroed, :math:`A \leftarrow A \odot M/k`; backward
  multiplies by the same mask; prediction uses every unit.

Below, a 64-128-128-10 network on 150 digits (tens of thousands of parameters for 150 examples: it
can memorise them), validated on 500 others.

**Live**, in the playground (:doc:`../topics/playground`): the validation loss turning up; then
``dropout=0.3`` or ``l2=0.01``. ::

    reseau playground --settings "n=60&noise=0.35&layers=32,32&epochs=600&optimizer=adam&lr=0.01"
"""

import matplotlib.pyplot as plt

import reseau
from reseau import datasets

X, y = datasets.load("digits")
X_train, y_train, X_val, y_val = X[:150], y[:150], X[150:650], y[150:650]
settings = {
    "no regularisation": {},
    "L2 λ₂ = 0.01": {"l2": 0.01},
    "L1 λ₁ = 3e-4": {"l1": 3e-4},
    "dropout r = 0.5": {"dropout": 0.5},
}
print(f"{reseau.MLP([64, 128, 128, 10]).layout.size:,} parameters, {len(X_train)} training examples")
fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
for name, options in settings.items():
    model = reseau.MLP([64, 128, 128, 10], seed=0, **options)
    history = model.fit(
        X_train, y_train, epochs=80, batch_size=32, optimizer="adam", lr=1e-3, validation_data=(X_val, y_val)
    )
    (line,) = axes[0].plot(history["epoch"], history["loss"], label=name)
    axes[1].plot(history["epoch"], history["val_loss"], color=line.get_color(), label=name)
    best = min(history["val_loss"])
    print(
        f"{name:18s} train loss {history['loss'][-1]:.4f}, validation loss {history['val_loss'][-1]:.3f} "
        f"(best {best:.3f}), validation accuracy {history['val_accuracy'][-1]:.3f}"
    )
axes[0].set(xlabel="epoch", ylabel="loss", yscale="log", title="training loss (penalty included)")
axes[1].set(xlabel="epoch", title="validation loss", ylim=(0.4, 1.2))
axes[1].legend(fontsize=8)
fig.tight_layout()

# %%
# Read the printed lines: without regularisation the training loss goes to almost 0 while the
# validation loss climbs from its best; the penalties keep the training loss up and the validation
# loss lower. Dropout trains a different thinned network at every step, so it learns more slowly:
# in 80 epochs it has not caught up (longer runs, or early stopping on ``val_loss``, are its use).
