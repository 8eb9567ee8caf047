"""Real data sets shipped with reseau, and a stratified split.

- ``breast_cancer``: Wisconsin Diagnostic Breast Cancer, 569 × 30, binary (0 = malignant, 1 = benign).
- ``digits``: optical recognition of handwritten digits, 1797 × 64 (8×8 images, 0..16), 10 classes.

Both come from the UCI Machine Learning Repository under CC BY 4.0; see ``data/README.md``.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from importlib import resources

from ..backends.host import np, rng

__all__ = ["Dataset", "load", "train_test_split", "NAMES"]

_INFO = {
    "breast_cancer": ("Wisconsin Diagnostic Breast Cancer (UCI, CC BY 4.0): 30 features of cell "
                      "nuclei from fine-needle aspirates; target 0 = malignant, 1 = benign",
                      ["malignant", "benign"]),
    "digits": ("Optical Recognition of Handwritten Digits (UCI, CC BY 4.0): 8x8 images, "
               "pixel counts 0..16; target = the digit", [str(d) for d in range(10)]),
}
NAMES = tuple(_INFO)


@dataclass
class Dataset:
    """A data set: features X (n, d) float64, targets y (n,) int64, and what they mean."""

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_names: list[str]
    description: str = field(repr=False)

    def __iter__(self):  # X, y = load("digits")
        return iter((self.X, self.y))


def load(name: str) -> Dataset:
    """The bundled data set ``name`` ("breast_cancer" or "digits")."""
    if name not in _INFO:
        raise ValueError(f"name={name!r} is not a bundled data set; expected one of {', '.join(NAMES)}")
    raw = resources.files(__package__).joinpath("data", f"{name}.csv.gz").read_bytes()
    lines = gzip.decompress(raw).decode("ascii").splitlines()
    header = lines[0].split(",")
    table = np.loadtxt(lines[1:], delimiter=",", dtype=np.float64)
    description, target_names = _INFO[name]
    return Dataset(name, table[:, :-1], table[:, -1].astype(np.int64), header[:-1],
                   target_names, description)


def train_test_split(X, y, test_size: float = 0.2, seed: int = 0, stratify: bool = True):
    """(X_train, X_test, y_train, y_test), test_size a fraction in (0, 1).

    Stratified: each class keeps its share in both parts (round(test_size · class count)
    rows of each class go to the test part), rows drawn from the host generator ``seed``.
    """
    if not isinstance(test_size, float) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size={test_size!r} is invalid; expected a fraction in (0, 1)")
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; expected equal lengths")
    g = rng(seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    test = np.concatenate([g.permutation(idx)[:int(round(test_size * len(idx)))] for idx in groups])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test] = True
    train_idx, test_idx = g.permutation(np.flatnonzero(~is_test)), g.permutation(test)
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]
