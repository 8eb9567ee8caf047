"""What several commands share: reading ``--data`` (a bundled set, a generator or a file) and
naming its target."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from .. import datasets
from ..backends.host import np


class Data(NamedTuple):
    """What ``--data`` read: X, y, a description, the target column's name (None: unnamed) and
    whether ``--target`` chose it (False: the last column was taken)."""

    X: object
    y: object
    description: str
    target: str | None = None
    chosen: bool = True


def read_data(name, target, seed, drop=(), delimiter=None, encoding="utf-8", decimal=None) -> Data:
    """``Data`` from a bundled set, a generator or a file: X an array or, for files, the table of
    feature columns (names kept); y the targets as the file holds them (text stays text)."""
    if name in datasets.NAMES or name in datasets.GENERATORS:
        if drop:
            raise ValueError(f"--drop applies to data files; --data {name} is built in")
        if name in datasets.NAMES:
            import pyarrow as pa

            d = datasets.load(name)  # as a table: the model keeps the feature names
            X = pa.table({n: d.X[:, j] for j, n in enumerate(d.feature_names)})
            return Data(X, d.y, d.description, d.target_name)
        X, y = datasets.GENERATORS[name](seed=seed)
        return Data(X, y, f"generated {name} data (seed {seed})", "y")
    if not Path(name).exists():
        raise ValueError(
            f"--data {name!r} is not a bundled data set ({', '.join(datasets.NAMES)}), a generator "
            f"({', '.join(datasets.GENERATORS)}) or an existing file"
        )
    chosen = target is not None
    target = -1 if target is None and not name.lower().endswith(".npz") else target
    if isinstance(target, str) and target.lstrip("-").isdigit():
        target = int(target)
    d = datasets.load_file(name, target=target, drop=drop, delimiter=delimiter, encoding=encoding, decimal=decimal)
    if d.y is None:
        raise ValueError(f"--data {name}: no target found; name it with --target")
    y = d.y
    if d.target_names and not all(n.lstrip("-").isdigit() for n in d.target_names):
        y = np.asarray(d.target_names, dtype=object)[d.y]  # text labels: keep the text as the class values
    return Data(d.table if d.table is not None else d.X, y, d.description, d.target_name, chosen)


def target_line(name, task, y) -> str:
    """What is predicted, in the user's words: "target 'survived': classification, 2 classes (no,
    yes)" or "target 'price': regression, numbers from 326 to 18823"."""
    label = "target" if name is None else f"target {name!r}"
    if task == "classify":
        classes = [str(c) for c in np.unique(np.asarray(y).astype(str) if np.asarray(y).dtype == object else y)]
        shown = ", ".join(classes[:8]) + (f", … ({len(classes) - 8} more)" if len(classes) > 8 else "")
        return f"{label}: classification, {len(classes)} classes ({shown})"
    values = np.asarray(y, dtype=np.float64)
    return f"{label}: regression, numbers from {values.min():.6g} to {values.max():.6g}"
