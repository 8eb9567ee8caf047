"""A model's network, built once its sizes are known: the memory check, the layout, the initial
weights (drawn from the model's host generator), and the regularisation its training step
applies. Each function returns the part it builds; the model (core/model.py) keeps it."""

from __future__ import annotations

from ..backends.host import np
from . import heads, initializers, memory
from .layout import Layout
from .network import Network
from .regularization import Regularization


def network(model, sizes, output) -> tuple[str, Network]:
    """(the head, checked, and the network of ``sizes``, all known now, with its initial weights)
    for ``model``'s options."""
    memory.check_network(sizes, 8 if model.dtype_name == "float64" else 4)
    head = heads.check_output(output, sizes[-1])
    layout = Layout(sizes)
    W_b = [
        (initializers.draw_weight(model.rng, name, n_in, n_out), np.zeros(n_out))
        for name, (n_in, n_out) in zip(model.init, layout.shapes)
    ]
    return head, Network(layout, model.hidden + ["identity"], flat(model, W_b))


def regularization(model) -> Regularization | None:
    """The training step's dropout, penalties and label smoothing (an unresolved ``l2="auto"``
    counts as 0 until fit resolves it), or None."""
    l2 = 0.0 if model.l2 == "auto" else model.l2
    if any(model.dropout) or model.l1 or l2 or model.label_smoothing:
        mask = weight_mask(model)
        return Regularization(model.dropout + [0.0], model.seed, model.l1, l2, mask, model.label_smoothing)
    return None


def weight_mask(model):
    """1 on the flat parameters' weights, 0 on the biases, on the model's device (the penalties')."""
    return model.backend.asarray(model.layout.weight_mask().astype(model.dtype_name), dtype=model.dtype)


def flat(model, W_b):
    """[(W, b), ...] as the model's flat parameter buffer on its device, in its dtype."""
    buffer = np.concatenate([a.reshape(-1) for pair in W_b for a in pair])
    return model.backend.asarray(buffer.astype(model.dtype_name), dtype=model.dtype)
