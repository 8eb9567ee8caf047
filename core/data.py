"""Splitting data on the host: stratified, seeded, a partition of the rows (arrays and tables)."""

from __future__ import annotations

from ..backends.host import np, rng
from .tables import is_table, n_rows, take_rows, target


def split_indices(y, fractions, seed: int = 0, stratify: bool = True):
    """Row indices for parts of sizes ``fractions`` (each in (0, 1), summing below 1) and the
    rest, in that order: [rest, part₁, part₂, ...]. Stratified: each class gives
    round(fraction · class count) rows to each part, so every part keeps the class shares."""
    if not fractions or any(not isinstance(f, float) or not 0.0 < f < 1.0 for f in fractions) or sum(fractions) >= 1.0:
        raise ValueError(
            f"split fractions {list(fractions)!r} are invalid; expected fractions in (0, 1) "
            "with a sum below 1, e.g. test_size=0.2"
        )
    y = np.asarray(y)
    g = rng(seed)
    if stratify:
        groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    else:
        groups = [np.arange(len(y))]
    parts = [[] for _ in fractions]
    rest = []
    for idx in groups:
        idx = g.permutation(idx)
        start = 0
        for k, f in enumerate(fractions):
            take = int(round(f * len(idx)))
            parts[k].append(idx[start : start + take])
            start += take
        rest.append(idx[start:])
    rest = np.sort(np.concatenate(rest))
    return [g.permutation(rest)] + [g.permutation(np.concatenate(p)) for p in parts]


def train_test_split(X, y, test_size: float = 0.2, seed: int = 0, stratify: bool = True):
    """(X_train, X_test, y_train, y_test): a seeded, stratified split (see ``split_indices``)."""
    if not isinstance(test_size, float) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size={test_size!r} is invalid; expected a fraction in (0, 1)")
    X, y = _rows(X, y)
    train, test = split_indices(y, [test_size], seed, stratify)
    return take_rows(X, train), take_rows(X, test), y[train], y[test]


def train_val_test_split(X, y, val_size: float = 0.1, test_size: float = 0.2, seed: int = 0, stratify: bool = True):
    """(X_train, X_val, X_test, y_train, y_val, y_test), seeded and stratified."""
    X, y = _rows(X, y)
    train, val, test = split_indices(y, [val_size, test_size], seed, stratify)
    return take_rows(X, train), take_rows(X, val), take_rows(X, test), y[train], y[val], y[test]


def _rows(X, y):
    """X (an array, or a table as it is) and y as an array, of the same number of rows."""
    X = X if is_table(X) else np.asarray(X)
    y = np.asarray(target(y))
    if n_rows(X) != y.shape[0]:
        raise ValueError(f"X has {n_rows(X)} rows but y has {y.shape[0]}; expected equal lengths")
    return X, y
