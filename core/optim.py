"""Optimisers: each a pure ``init(kern, params) -> state`` / ``update(...) -> (params, state)``
pair over the flat parameter buffer, so a step is one kernel over the whole model.

The learning rate lives in the state as a 0-d array (``state["lr"]``): a schedule changes
it between steps without recompiling a jitted step.
"""

from __future__ import annotations

import math


def check_lr(lr, name: str = "lr") -> float:
    """``lr`` as a positive finite float, or a ValueError naming it."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"{name}={lr!r} is not a learning rate; expected a finite number > 0")
    return float(lr)


class SGD:
    """Gradient descent (batch, mini-batch or stochastic, by the batch size): θ ← θ − α·g."""

    name = "sgd"

    def __init__(self, lr: float = 0.01):
        self.lr = check_lr(lr)

    def init(self, kern, params):
        return {"lr": kern.xp.asarray(self.lr, dtype=params.dtype)}

    def update(self, kern, params, grads, state, step):
        return kern.sgd_step(params, grads, state["lr"]), state

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr})"


OPTIMIZERS = {"sgd": SGD}


def get(optimizer, lr=None):
    """An optimiser from a name ("sgd"), with learning rate ``lr`` if given, or an optimiser object."""
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r} is not an optimiser; expected one of "
                             f"{', '.join(OPTIMIZERS)} or an object from reseau.optim")
        return OPTIMIZERS[optimizer.lower()](**({} if lr is None else {"lr": lr}))
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise ValueError(f"optimizer={optimizer!r} is not an optimiser; expected a name or an "
                         "object with init and update methods")
    if lr is not None:
        raise ValueError(f"lr={lr!r} was given together with optimizer={optimizer!r}; "
                         "set the learning rate on the optimiser object instead")
    return optimizer
