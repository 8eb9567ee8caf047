"""Optimisers for ``MLP.fit(..., optimizer=...)``."""

from .core.optim import OPTIMIZERS, SGD, get

__all__ = ["SGD", "OPTIMIZERS", "get"]
