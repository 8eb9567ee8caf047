"""A model's network, built once its sizes are known: the memory check, the layout, the initial
weights (drawn from the model's host generator), and the regularisation its training step
applies. Each function takes what it reads (the options, and the model's ``Given`` for its
backend and dtype) and returns the part it builds; the model (core/model.py) keeps it."""

from __future__ import annotations

from ..backends.host import np
from . import heads, initializers, memory
from .layout import Layout
from .network import Network
from .regularization import Regularization


def network(sizes, output, hidden, init, rng, given) -> tuple[str, Network]:
    """(the head ``output`` checked against the output width, and the network of ``sizes``, all
    known now: layer l's activation ``hidden[l]`` (the last "identity"), its weights drawn by the
    initialiser ``init[l]`` from ``rng``, the biases 0, on ``given``'s backend in its dtype)."""
    memory.check_network(sizes, 8 if given.dtype_name == "float64" else 4)
    head = heads.check_output(output, sizes[-1])
    layout = Layout(sizes)
    W_b = [
        (initializers.draw_weight(rng, name, n_in, n_out), np.zeros(n_out))
        for name, (n_in, n_out) in zip(init, layout.shapes)
    ]
    return head, Network(layout, hidden + ["identity"], flat(given, W_b))


def regularization(layout, dropout, seed, l1, l2, smoothing, given) -> Regularization | None:
    """The training step's dropout (``dropout`` a rate per hidden layer, masks from ``seed``), L1
    and L2 penalties and label smoothing, or None without any (an unresolved ``l2="auto"`` counts
    as 0 until fit resolves it)."""
    l2 = 0.0 if l2 == "auto" else l2
    if any(dropout) or l1 or l2 or smoothing:
        return Regularization(dropout + [0.0], seed, l1, l2, weight_mask(layout, given), smoothing)
    return None


def weight_mask(layout, given):
    """1 on the flat parameters' weights, 0 on the biases, on ``given``'s device (the penalties')."""
    return given.backend.asarray(layout.weight_mask().astype(given.dtype_name), dtype=given.dtype)


def flat(given, W_b):
    """[(W, b), ...] as one flat parameter buffer on ``given``'s device, in its dtype."""
    buffer = np.concatenate([a.reshape(-1) for pair in W_b for a in pair])
    return given.backend.asarray(buffer.astype(given.dtype_name), dtype=given.dtype)
