r"""
Momentum, NAG, Adagrad, AdaDelta, Adam (and the rest); the learning rate and schedules
======================================================================================

**The notes** (g the gradient, α the learning rate, t the step):

- gradient descent: :math:`\theta \leftarrow \theta - \alpha g`;
- Momentum: :math:`v \leftarrow \mu v + g`, :math:`\theta \leftarrow \theta - \alpha v`;
- NAG (Nesterov): the gradient taken ahead, stored as :math:`\theta \leftarrow \theta - \alpha(g + \mu v)`;
- Adagrad: :math:`s \leftarrow s + g^2`, :math:`\theta \leftarrow \theta - \alpha\, g/(\sqrt{s} + \epsilon)`;
- AdaDelta: :math:`E_g \leftarrow \rho E_g + (1-\rho)g^2`,
  :math:`\Delta = \sqrt{E_\Delta + \epsilon}/\sqrt{E_g + \epsilon}\; g`,
  :math:`E_\Delta \leftarrow \rho E_\Delta + (1-\rho)\Delta^2`, :math:`\theta \leftarrow \theta - \alpha\Delta`;
- Adam: :math:`m \leftarrow \beta_1 m + (1-\beta_1)g`, :math:`v \leftarrow \beta_2 v + (1-\beta_2)g^2`,
  :math:`\theta \leftarrow \theta - \alpha\,\hat m/(\sqrt{\hat v} + \epsilon)` with
  :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v = v/(1-\beta_2^t)`;
- RMSprop: :math:`v \leftarrow a v + (1-a)g^2`, :math:`\theta \leftarrow \theta - \alpha\, g/(\sqrt{v} + \epsilon)`.

These are ``reseau.optim``'s classes, PyTorch's formulas and defaults (the docstrings say which
variants of other libraries are options). An optimiser updates any flat parameter vector, so the
same objects first walk a two-parameter loss surface, then train a network on the digits.

**Live**, in the playground (:doc:`../topics/playground`): tick several optimisers and race them. ::

    reseau playground --settings "data=spirals&layers=16,16&epochs=300"
"""

import matplotlib.pyplot as plt
import numpy as np

import reseau
from reseau import datasets, optim
from reseau.kernels import Reference


# %%
# Paths on a 2-D loss surface
# ---------------------------
# f(x, y) = (1 − x)² + 5(y − x²)², a curved valley with its minimum at (1, 1), from (−1.5, 2),
# 300 steps each.
def f(p):
    return (1 - p[0]) ** 2 + 5 * (p[1] - p[0] ** 2) ** 2


def grad(p):
    return np.array([-2 * (1 - p[0]) - 20 * p[0] * (p[1] - p[0] ** 2), 10 * (p[1] - p[0] ** 2)])


kern = Reference(reseau.backends.get("numpy"))
walkers = {
    "gradient descent": optim.SGD(lr=0.02),
    "Momentum": optim.Momentum(lr=0.005, momentum=0.9),
    "NAG": optim.NAG(lr=0.005, momentum=0.9),
    "Adagrad": optim.Adagrad(lr=0.3),
    "AdaDelta": optim.Adadelta(lr=5.0),
    "Adam": optim.Adam(lr=0.05),
    "RMSprop": optim.RMSprop(lr=0.02),
}
paths = {}
for name, opt in walkers.items():
    p = np.array([-1.5, 2.0])
    state = opt.init(kern, p)
    path = [p.copy()]
    for t in range(300):
        p, state = opt.update(kern, p, grad(p), state, t)
        path.append(np.array(p))
    paths[name] = np.array(path)
    print(f"{name:17s} after 300 steps: (x, y) = ({p[0]:+.3f}, {p[1]:+.3f}), f = {f(p):.2e}")

fig, ax = plt.subplots(figsize=(6, 4.5))
gx, gy = np.meshgrid(np.linspace(-2, 2, 200), np.linspace(-1, 3, 200))
ax.contourf(gx, gy, np.log10(f(np.array([gx, gy])) + 1e-3), levels=20, cmap="Greys", alpha=0.35)
for name, path in paths.items():
    ax.plot(path[:, 0], path[:, 1], lw=1.2, label=name)
ax.plot([1], [1], "k*", ms=10)
ax.set(xlabel="x", ylabel="y", title="300 steps from (−1.5, 2) to (1, 1); shade: log f")
ax.legend(fontsize=7, loc="lower left")
fig.tight_layout()

# %%
# On the digits
# -------------
# The same optimisers train a 64-64-10 ReLU network (mini-batches of 32, 8 epochs, each with its
# usual learning rate).
X, y = datasets.load("digits")
X_train, X_test, y_train, y_test = datasets.train_test_split(X, y, test_size=0.25, seed=0)
rates = {"sgd": 0.1, "momentum": 0.05, "nag": 0.05, "adagrad": 0.05, "adadelta": 1.0, "adam": 3e-3, "rmsprop": 1e-3}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, lr in rates.items():
    model = reseau.MLP([64, 64, 10], seed=0)
    history = model.fit(X_train, y_train, epochs=8, batch_size=32, optimizer=name, lr=lr, schedule=None)
    accuracy = (model.predict(X_test) == y_test).mean()
    ax.plot(history["epoch"], history["loss"], label=f"{name} (α = {lr})")
    print(f"{name:9s} α = {lr:<6} loss after 8 epochs {history['loss'][-1]:.4f}, test accuracy {accuracy:.3f}")
ax.set(xlabel="epoch", ylabel="training loss", yscale="log", title="digits, 64-64-10")
ax.legend(fontsize=7)
fig.tight_layout()

# %%
# The learning rate and schedules
# -------------------------------
# Too small a rate crawls, too large a rate diverges (reseau stops a diverged run and keeps the
# last good weights). A schedule changes α by epoch: here step decay (×0.5 every 10 epochs) and
# cosine annealing, each after a 5-epoch linear warm-up.
schedules = {
    "constant": None,
    "step decay": optim.Warmup(5, optim.StepDecay(10, 0.5)),
    "cosine": optim.Warmup(5, optim.CosineAnnealing(40)),
}
fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
for name, schedule in schedules.items():
    model = reseau.MLP([64, 64, 10], seed=0)
    history = model.fit(X_train, y_train, epochs=40, batch_size=64, optimizer="sgd", lr=0.2, schedule=schedule)
    ax[0].plot(history["epoch"], history["lr"], label=name)
    ax[1].plot(history["epoch"], history["loss"], label=name)
    print(f"{name:10s} final α {history['lr'][-1]:.4f}, final loss {history['loss'][-1]:.4f}")
ax[0].set(xlabel="epoch", ylabel="α", title="learning rate")
ax[1].set(xlabel="epoch", ylabel="training loss", yscale="log", title="loss")
ax[1].legend()
fig.tight_layout()
