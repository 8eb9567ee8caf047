"""A model's network, built once its sizes are known: the memory check, the layout, the initial
weights (drawn from the model's host generator), the compiled forward passes and the
regularisation its training step applies."""

from __future__ import annotations

from ..backends.host import np
from . import heads, initializers, memory
from .forward import Forward
from .layout import Layout
from .network import Network
from .regularization import Regularization


def network(model, sizes, output):
    """Build ``model``'s network of ``sizes`` (all known now) with ``output`` as its head."""
    memory.check_network(sizes, 8 if model.dtype_name == "float64" else 4)
    model.output = heads.check_output(output, sizes[-1])
    layout = Layout(sizes)
    W_b = [
        (initializers.draw_weight(model.rng, name, n_in, n_out), np.zeros(n_out))
        for name, (n_in, n_out) in zip(model.init, layout.shapes)
    ]
    model.network = Network(layout, model.hidden + ["identity"], flat(model, W_b))
    compiled(model)


def compiled(model):
    """The forward passes and the regularisation of the built network (again after unpickling)."""
    model.forward = Forward(model)
    regularization(model)


def regularization(model):
    """The training step's dropout, penalties and label smoothing (an unresolved ``l2="auto"``
    counts as 0 until fit resolves it), or None."""
    l2 = 0.0 if model.l2 == "auto" else model.l2
    model.regularization = None
    if any(model.dropout) or model.l1 or l2 or model.label_smoothing:
        model.regularization = Regularization(
            model.dropout + [0.0], model.seed, model.l1, l2, weight_mask(model), model.label_smoothing
        )


def weight_mask(model):
    """1 on the flat parameters' weights, 0 on the biases, on the model's device (the penalties')."""
    return model.backend.asarray(model.layout.weight_mask().astype(model.dtype_name), dtype=model.dtype)


def flat(model, W_b):
    """[(W, b), ...] as the model's flat parameter buffer on its device, in its dtype."""
    buffer = np.concatenate([a.reshape(-1) for pair in W_b for a in pair])
    return model.backend.asarray(buffer.astype(model.dtype_name), dtype=model.dtype)
