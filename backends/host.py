"""The host side: NumPy arrays for user data, input checks and the seeded random generator.

Weight initialisation and shuffling draw from one host ``numpy.random.Generator(seed)``,
then move to the device, so every backend starts from the same weights and sees the
same batches.
"""

from __future__ import annotations

import numpy as np

__all__ = ["np", "rng"]


def rng(seed: int) -> np.random.Generator:
    """The host generator for ``seed`` (PCG64)."""
    return np.random.default_rng(seed)
