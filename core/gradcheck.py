"""``gradcheck``: the analytic backward pass against central differences, per layer."""

from __future__ import annotations

from ..backends.host import np, rng
from .network import loss_and_grads


def gradcheck(model, X, y, eps: float = 1e-6, samples: int = 40, seed: int = 0) -> dict:
    """Relative error ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) per layer between backprop's gradient g of the mean
    training loss (penalties included; dropout masks of step 0) and central differences
    ĝᵢ = (L(θ + εeᵢ) − L(θ − εeᵢ)) / 2ε, in float64 with the reference kernels on NumPy, over up to
    ``samples`` parameters of each layer's W and b. Values near 1e-8 mean a correct backward pass."""
    from .model import MLP  # the checker builds a float64 twin of the model
    twin = MLP(model.sizes, hidden=model.hidden, output=model.output, init=model.init, backend="numpy",
               dtype="float64", seed=model.seed, kernels="reference", dropout=model.dropout, l1=model.l1,
               l2=model.l2)
    twin.set_weights(model.get_weights())
    twin.columns, twin.classes = model.columns, model.classes
    Xd = twin.device_inputs(X)
    Yd = twin.encode_targets(y)

    def f(p):
        return loss_and_grads(twin.kern, twin.layout, twin.activations, twin.output, p, Xd, Yd, None,
                              twin.regularization, 0)

    p0 = np.array(twin.params, dtype=np.float64)
    _, g = f(p0)
    g = np.asarray(g)
    pick = rng(seed)
    report = {}
    for l, ((w0, w1), (b0, b1)) in enumerate(twin.layout.slices, start=1):
        idx = np.concatenate([pick.permutation(np.arange(w0, w1))[:samples],
                              pick.permutation(np.arange(b0, b1))[:samples]])
        numeric = np.empty(len(idx))
        for k, i in enumerate(idx):
            e = np.zeros_like(p0)
            e[i] = eps
            numeric[k] = (float(f(p0 + e)[0]) - float(f(p0 - e)[0])) / (2 * eps)
        analytic = g[idx]
        denom = np.linalg.norm(analytic) + np.linalg.norm(numeric)
        report[f"layer {l}"] = float(np.linalg.norm(analytic - numeric) / denom) if denom else 0.0
    report["max"] = max(report.values())
    return report
