"""Synthetic 2-D (and blob) problems for seeing what a network learns. Each returns (X, y):
X float64 of shape (n, d), y int64 class labels; the same seed gives the same data."""

from __future__ import annotations

import math

from ..backends.host import np, rng
from ..core.validation import positive_int
from ..core.validation import seed as check_seed


def _noise(value, name="noise"):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} is invalid; expected a number >= 0")
    return float(value)


def moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles: class 0 on (cos t, sin t), class 1 on (1 − cos t, ½ − sin t),
    t uniform in [0, π], plus N(0, noise²) on each coordinate."""
    n, noise, g = positive_int(n, "n"), _noise(noise), rng(check_seed(seed))
    n0 = n // 2
    t = np.pi * g.random(n)
    X = np.where(
        (np.arange(n) < n0)[:, None], np.stack([np.cos(t), np.sin(t)], 1), np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
    )
    y = (np.arange(n) >= n0).astype(np.int64)
    return _shuffle(X + noise * g.standard_normal(X.shape), y, g)


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0):
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` (< 1)."""
    n, noise, g = positive_int(n, "n"), _noise(noise), rng(check_seed(seed))
    if not 0 < factor < 1:
        raise ValueError(f"factor={factor!r} is invalid; expected a radius ratio in (0, 1)")
    y = (np.arange(n) >= n // 2).astype(np.int64)
    t = 2 * np.pi * g.random(n)
    r = np.where(y == 1, factor, 1.0)
    X = np.stack([r * np.cos(t), r * np.sin(t)], 1)
    return _shuffle(X + noise * g.standard_normal(X.shape), y, g)


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0):
    """``classes`` interleaved spiral arms: arm k at radius r ∈ [0, 1], angle 4k + 4r (+ noise)."""
    n, classes, noise, g = positive_int(n, "n"), positive_int(classes, "classes"), _noise(noise), rng(check_seed(seed))
    y = np.arange(n) * classes // n
    r = g.random(n)
    angle = 4.0 * y + 4.0 * r + noise * g.standard_normal(n)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], 1)
    return _shuffle(X, y.astype(np.int64), g)


def xor(n: int = 200, noise: float = 0.0, seed: int = 0):
    """Points uniform in [−1, 1]²; class 1 where exactly one coordinate is positive."""
    n, noise, g = positive_int(n, "n"), _noise(noise), rng(check_seed(seed))
    X = g.uniform(-1.0, 1.0, (n, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
    return X + noise * g.standard_normal(X.shape), y


def blobs(n: int = 300, centers: int = 3, n_features: int = 2, std: float = 1.0, seed: int = 0):
    """Gaussian blobs: ``centers`` centres uniform in [−10, 10]^d, each point N(centre, std²·I)."""
    n, k, d = positive_int(n, "n"), positive_int(centers, "centers"), positive_int(n_features, "n_features")
    std, g = _noise(std, "std"), rng(check_seed(seed))
    C = g.uniform(-10.0, 10.0, (k, d))
    y = np.arange(n) % k
    return _shuffle(C[y] + std * g.standard_normal((n, d)), y.astype(np.int64), g)


def _shuffle(X, y, g):
    order = g.permutation(len(y))
    return X[order], y[order]


GENERATORS = {"moons": moons, "circles": circles, "spirals": spirals, "xor": xor, "blobs": blobs}
