"""Optimisers and learning-rate schedules for ``MLP.fit(..., optimizer=..., schedule=...)``.

Optimisers follow PyTorch's defaults and formulas; other libraries' forms are options
(``SGD(form="sutskever")``, ``Adam(form="keras")``, ``Adagrad(form="keras")``).
"""

from .core.optim import NAG, OPTIMIZERS, SGD, Adadelta, Adagrad, Adam, AdamW, Momentum, Optimizer, RMSprop, get
from .core.schedules import (
    Constant,
    CosineAnnealing,
    ExponentialDecay,
    InverseTimeDecay,
    ReduceOnPlateau,
    Schedule,
    StepDecay,
    Warmup,
)

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "NAG",
    "Adagrad",
    "Adadelta",
    "Adam",
    "AdamW",
    "RMSprop",
    "OPTIMIZERS",
    "get",
    "Schedule",
    "Constant",
    "StepDecay",
    "ExponentialDecay",
    "InverseTimeDecay",
    "CosineAnnealing",
    "Warmup",
    "ReduceOnPlateau",
]
