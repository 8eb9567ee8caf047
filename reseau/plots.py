"""Pictures of training (matplotlib, extra ``reseau[plot]``; drawn with the Agg canvas, so no
display is needed): loss and accuracy curves, per-layer gradient norms over epochs (the vanishing
gradient), and the decision boundary of a classifier on 2-D data."""

from __future__ import annotations

import io
from pathlib import Path

from .backends.host import np
from .core import outputs


def require_matplotlib(option="plots"):
    """A ValueError now, before any work, where matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ValueError(f'{option} needs matplotlib: pip install "reseau[plot]"') from None


def save_figure(fig, path, option="path"):
    """``fig`` to ``path`` through core/outputs.py (whole or not at all, links followed, devices
    refused), in the format its suffix names (PNG without one)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=Path(path).suffix[1:].lower() or "png", dpi=100)
    outputs.write_bytes(path, buffer.getvalue(), option)
    return path


def _figure(n_panels):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ValueError('plots need matplotlib: pip install "reseau[plot]"') from None
    fig = Figure(figsize=(4.2 * n_panels, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, n_panels, k + 1) for k in range(n_panels)]


def plot_history(history, ax, metric="loss"):
    """Training and validation ``metric`` per epoch."""
    epochs = history["epoch"]
    ax.plot(epochs, history[metric], label=f"training {metric}")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], label=f"validation {metric}")
    if history.best_epoch:
        ax.axvline(history.best_epoch, color="grey", linestyle=":", label="best epoch")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if metric == "loss" and min(history[metric]) > 0:
        ax.set_yscale("log")
    ax.legend()
    ax.set_title(metric)


def plot_grad_norms(history, ax):
    """‖dW‖ of every layer per epoch, log scale (fit(..., track_gradients=True))."""
    norms = np.asarray(history["grad_norms"])
    for l in range(norms.shape[1]):
        ax.plot(history["epoch"], norms[:, l], label=f"layer {l + 1}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("‖dW‖")
    ax.set_title("gradient norm per layer")
    ax.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))


def plot_decision_boundary(model, X, y, ax, resolution=200):
    """The predicted class over the plane around 2-D data, with the data on top."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X has shape {X.shape}; the decision boundary needs 2-D data (n, 2)")
    pad = 0.1 * (X.max(0) - X.min(0)) + 1e-9
    lo, hi = X.min(0) - pad, X.max(0) + pad
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    Z = model.predict(grid).reshape(g0.shape)
    ax.contourf(g0, g1, Z, alpha=0.3, levels=np.arange(Z.max() + 2) - 0.5, cmap="coolwarm")
    ax.scatter(X[:, 0], X[:, 1], c=y, s=12, cmap="coolwarm", edgecolors="k", linewidths=0.3)
    ax.set_title("decision boundary")


def training_report(model, path, X=None, y=None, option="path"):
    """A PNG at ``path``: loss, accuracy (classifiers), gradient norms (when tracked) and the
    decision boundary (when 2-D X, y are given)."""
    h = model.history
    panels = [lambda ax: plot_history(h, ax, "loss")]
    if "accuracy" in h:
        panels.append(lambda ax: plot_history(h, ax, "accuracy"))
    if "grad_norms" in h:
        panels.append(lambda ax: plot_grad_norms(h, ax))
    if X is not None and y is not None:
        panels.append(lambda ax: plot_decision_boundary(model, X, y, ax))
    outputs.destination(path, option)  # refused before anything is drawn
    fig, axes = _figure(len(panels))
    for draw, ax in zip(panels, axes):
        draw(ax)
    return save_figure(fig, path, option)
