"""What several commands share: reading ``--data`` (a bundled set, a generator or a file) and R²."""

from __future__ import annotations

from pathlib import Path

from .. import datasets
from ..backends.host import np


def read_data(name, target, seed, drop=(), delimiter=None, encoding="utf-8", decimal=None):
    """(X, y, description) from a bundled set, a generator or a file: X an array or, for files,
    the table of feature columns (names kept); y the targets as the file holds them (text stays
    text)."""
    if name in datasets.NAMES or name in datasets.GENERATORS:
        if drop:
            raise ValueError(f"--drop applies to data files; --data {name} is built in")
        if name in datasets.NAMES:
            import pyarrow as pa

            d = datasets.load(name)  # as a table: the model keeps the feature names
            return pa.table({n: d.X[:, j] for j, n in enumerate(d.feature_names)}), d.y, d.description
        X, y = datasets.GENERATORS[name](seed=seed)
        return X, y, f"generated {name} data (seed {seed})"
    if not Path(name).exists():
        raise ValueError(
            f"--data {name!r} is not a bundled data set ({', '.join(datasets.NAMES)}), a generator "
            f"({', '.join(datasets.GENERATORS)}) or an existing file"
        )
    target = -1 if target is None and not name.lower().endswith(".npz") else target
    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    d = datasets.load_file(name, target=target, drop=drop, delimiter=delimiter, encoding=encoding, decimal=decimal)
    if d.y is None:
        raise ValueError(f"--data {name}: no target found; name it with --target")
    y = d.y
    if d.target_names and not all(n.lstrip("-").isdigit() for n in d.target_names):
        y = np.asarray(d.target_names, dtype=object)[d.y]  # text labels: keep the text as the class values
    return (d.table if d.table is not None else d.X), y, d.description


def r2(prediction, y) -> float:
    """R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)², over every target column."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    prediction = np.asarray(prediction, dtype=np.float64).reshape(y.shape)
    total = float(((y - y.mean(axis=0)) ** 2).sum())
    return 1.0 - float(((y - prediction) ** 2).sum()) / total if total > 0 else float("nan")
