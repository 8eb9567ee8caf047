"""Regularisation against overfitting: inverted dropout on hidden layers and L1/L2 penalties on
the weights (not the biases).

Dropout: during training each unit of a hidden layer's output is kept with probability
keep = 1 − rate and scaled by 1/keep (so the expected activation is unchanged), else zeroed;
prediction uses every unit. The mask of layer l at training step t is a counter-based hash of
(seed, t, l, element index), computed on the device: the same seed gives bit-identical masks on
NumPy, JAX and CuPy, and backward recomputes nothing.

Penalties, in the units of the mean batch loss: L += (l2/2)·Σ W² + l1·Σ |W|, so
dW += l2·W + l1·sign(W) (l2 is PyTorch's weight_decay restricted to weights). They are part of
the training loss in the history; evaluate() and val_loss report the data loss alone.

Label smoothing ε (classification heads): the targets T become T′ = (1 − ε)T + ε/K, K the number
of classes (2 per output of a sigmoid head), so the model is not pushed towards certainty:
softmax's loss is −Σ_k T′_k log p_k and sigmoid's the cross-entropy with y′ = (1 − ε)y + ε/2
(PyTorch's ``CrossEntropyLoss(label_smoothing=ε)`` and Keras' ``label_smoothing``). It is part of
the training loss; evaluate() and val_loss report the plain cross-entropy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

AUTO_L2_ROWS = 2.0  # l2="auto": λ = 2/n (see auto_l2)


def check_dropout(dropout, n_hidden: int) -> list[float]:
    """``dropout`` (a rate, or one per hidden layer; None: none) as a list of rates in [0, 1)."""
    if dropout is None:
        return [0.0] * n_hidden
    if isinstance(dropout, (str, bytes, dict)) or not isinstance(dropout, (numbers.Real, Iterable)):
        raise ValueError(
            f"dropout={dropout!r} is invalid; expected a rate in [0, 1), or a list of one per hidden layer"
        )
    rates = [dropout] * n_hidden if isinstance(dropout, numbers.Real) else list(dropout)
    if len(rates) != n_hidden:
        raise ValueError(
            f"dropout={dropout!r} gives {len(rates)} rates for {n_hidden} hidden layers; "
            "give one rate or one per hidden layer"
        )
    for r in rates:
        if isinstance(r, bool) or not isinstance(r, numbers.Real) or not math.isfinite(r) or not 0 <= r < 1:
            raise ValueError(f"dropout={r!r} is invalid; expected a rate in [0, 1)")
    return [float(r) for r in rates]


def check_penalty(value, name: str, auto: bool = False):
    if auto and isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} is invalid; expected a number >= 0" + (" or 'auto'" if auto else ""))
    return float(value)


def auto_l2(n_rows: int, default_optimizer: bool) -> float:
    """``l2="auto"``: λ = AUTO_L2_ROWS/n with the default optimiser, 0 with a named one (the notes'
    methods stay unpenalised). In the units of the mean loss, a Gaussian prior W ~ N(0, σ²) adds
    (1/(2σ²n))ΣW², so λ = c/n is a fixed prior whose pull fades as the data grow (c = 2: σ² = ½);
    c was chosen on the tables suite (bench/results/tables/README.md)."""
    return AUTO_L2_ROWS / n_rows if default_optimizer else 0.0


def check_smoothing(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or not 0 <= value < 1:
        raise ValueError(f"label_smoothing={value!r} is invalid; expected a number in [0, 1)")
    return float(value)


def smoothing_head(eps: float, head: str):
    """Label smoothing needs classes: refuse ε > 0 with the identity (regression) head."""
    if eps and head == "identity":
        raise ValueError(
            f"label_smoothing={eps!r} applies to classes (a sigmoid or softmax output); this model's "
            "output is identity (a regression): expected label_smoothing=0"
        )


class Regularization:
    """What the training step needs: dropout rates per layer (the output layer's is 0), the mask
    seed, l1, l2, the device weight mask and the label smoothing ε. ``per_rows``: l2 is
    scikit-learn's α, divided by each batch's Σw (its rows without weights): L += ½·(α/Σw)·ΣW²,
    dW += (α/Σw)·W (``with_alpha``)."""

    def __init__(self, rates, seed, l1, l2, weight_mask, smoothing=0.0, per_rows=False):
        self.rates, self.seed, self.l1, self.l2, self.weight_mask = rates, seed, l1, l2, weight_mask
        self.smoothing, self.per_rows = smoothing, per_rows
        self.dropout_on = any(r > 0 for r in rates)
        self.rank = 0  # data parallelism: this process's rows start at rank × local batch size
        self.penalty_on = l1 > 0 or l2 > 0

    def mask_fn(self, kern, step):
        """mask(l, A): the dropout mask of layer l's output at this step, or None."""

        def mask(l, A):
            rate = self.rates[l]
            if rate == 0:
                return None
            return kern.dropout_mask(A.shape, self.seed, step, l, 1.0 - rate, A.dtype, self.rank * A.shape[0])

        return mask


def with_alpha(reg, alpha: float, weight_mask):
    """The regularisation of the estimators' step: ``reg``'s dropout (None: none) with scikit-learn's
    penalty α/Σw per batch in place of reseau's L1/L2."""
    rates, seed = ([0.0], 0) if reg is None else (reg.rates, reg.seed)
    return Regularization(rates, seed, 0.0, float(alpha), weight_mask, per_rows=True)
