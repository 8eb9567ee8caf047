"""``gradcheck``: the analytic backward pass against central differences, per layer."""

from __future__ import annotations

from ..backends.host import np, rng
from . import hyper


def gradcheck(model, X, y, eps: float = 1e-6, samples: int = 40, seed: int = 0, change: float = 1e-8) -> dict:
    """Relative error ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) per layer between backprop's gradient g of the mean
    training loss (penalties included; dropout masks of step 0) and central differences
    ĝᵢ = (L(θ + hᵢeᵢ) − L(θ − hᵢeᵢ)) / 2hᵢ (Richardson-extrapolated from hᵢ and hᵢ/2, which cancels
    the h² error), in float64 with the reference kernels on NumPy, over up to ``samples``
    parameters of each layer's W and b.

    The step is scaled to each parameter: hᵢ = change·max(|L|, 1)/|gᵢ|, kept within [eps, 0.1], so
    L moves by about ``change`` whatever the size of gᵢ. A fixed step drowns the tiny gradients
    of a deep sigmoid network's first layers in rounding (float64 resolves L to about 1e-16·|L|, a
    slope error of 1e-16·|L|/h): with eps = 1e-6 for every parameter, a ten-layer sigmoid network's
    first layer reads 1.8e-3, with scaled steps 8.5e-8 (tests/test_gradients.py). What the number
    means: below about 1e-6 the backward pass and the differences agree to the precision the
    differences have; 1e-4 or more, that layer's gradient is wrong (or the loss has a kink, such
    as ReLU's, within a step of the point)."""
    from .model import MLP  # the checker builds a float64 twin of the model

    twin = MLP(
        model.sizes, **hyper.options(model, dtype="float64", precision="fp32"), backend="numpy", kernels="reference"
    )
    twin.set_weights(model.get_weights())
    twin.contract.sized(model.columns, model.classes)
    Xd = twin.device_inputs(X)
    Yd = twin.encode_targets(y)

    def f(p):
        return twin.network.loss_and_grads(twin.kern, twin.output, Xd, Yd, p, reg=twin.regularization)

    p0 = np.array(twin.params, dtype=np.float64)
    L0, g = f(p0)
    g = np.asarray(g)
    steps = np.clip(change * max(abs(float(L0)), 1.0) / np.maximum(np.abs(g), 1e-300), eps, 0.1)
    pick = rng(seed)
    report = {}
    for l, ((w0, w1), (b0, b1)) in enumerate(twin.layout.slices, start=1):
        idx = np.concatenate(
            [pick.permutation(np.arange(w0, w1))[:samples], pick.permutation(np.arange(b0, b1))[:samples]]
        )
        numeric = np.empty(len(idx))
        for k, i in enumerate(idx):
            numeric[k] = _richardson(f, p0, i, steps[i])
        analytic = g[idx]
        denom = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        report[f"layer {l}"] = float(np.linalg.norm(analytic - numeric) / denom) if denom else 0.0
    report["max"] = max(report.values())
    return report


def _central(f, p0, i, h):
    e = np.zeros_like(p0)
    e[i] = h
    return (float(f(p0 + e)[0]) - float(f(p0 - e)[0])) / (2 * h)


def _richardson(f, p0, i, h):
    """(4·D(h/2) − D(h))/3 of central differences D: the h² error term cancels, so a step large
    enough for rounding stays accurate."""
    return (4.0 * _central(f, p0, i, h / 2) - _central(f, p0, i, h)) / 3.0
