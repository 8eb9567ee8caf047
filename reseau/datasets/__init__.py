"""Data: the real data sets shipped with reseau, generators, file readers and splits.

- ``load("breast_cancer")``: Wisconsin Diagnostic Breast Cancer, 569 × 30, binary (0 = malignant).
- ``load("digits")``: optical recognition of handwritten digits, 1797 × 64 (8×8, 0..16), 10 classes.
  Both from the UCI Machine Learning Repository under CC BY 4.0; see ``data/README.md``.
- ``moons``, ``circles``, ``spirals``, ``xor``, ``blobs``: seeded synthetic problems.
- ``load_file(path, target=..., drop=...)``: CSV (delimiter and header detected), Parquet,
  Feather (through pyarrow), NPZ, IDX
  (MNIST's format, gzip too: ``load_file("train-images-idx3-ubyte.gz", target="train-labels-idx1-ubyte.gz")``).
- ``train_test_split`` / ``train_val_test_split``: seeded, stratified.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..backends.host import np
from ..core.data import train_test_split, train_val_test_split
from ..core.tables import float64_into
from ..core.validation import regular_file
from .files import read_csv, read_idx, read_npz, split_target, target_column
from .generators import GENERATORS, blobs, circles, moons, spirals, xor
from .readers import read_table

__all__ = [
    "Dataset",
    "load",
    "load_file",
    "train_test_split",
    "train_val_test_split",
    "NAMES",
    "moons",
    "circles",
    "spirals",
    "xor",
    "blobs",
    "GENERATORS",
    "read_csv",
    "read_npz",
    "read_idx",
    "read_table",
]

_INFO = {
    "breast_cancer": (
        "Wisconsin Diagnostic Breast Cancer (UCI, CC BY 4.0): 30 features of cell "
        "nuclei from fine-needle aspirates; target 0 = malignant, 1 = benign",
        ["malignant", "benign"],
    ),
    "digits": (
        "Optical Recognition of Handwritten Digits (UCI, CC BY 4.0): 8x8 images, "
        "pixel counts 0..16; target = the digit",
        [str(d) for d in range(10)],
    ),
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
    table: object = field(default=None, repr=False)  # the feature columns as read (files)
    target_name: str | None = None  # the target column's name (files with a header, bundled sets)

    @property
    def labels(self):
        """The targets as the file held them: text labels for text classes, else y."""
        if self.y is not None and self.target_names and not all(n.lstrip("-").isdigit() for n in self.target_names):
            return np.asarray(self.target_names)[self.y]
        return self.y

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
    X, y = table[:, :-1], table[:, -1].astype(np.int64)
    return Dataset(name, X, y, header[:-1], target_names, description, target_name=header[-1])


def load_file(path, target=-1, drop=(), delimiter=None, header=None, encoding="utf-8", decimal=None) -> Dataset:
    """A data set from a file, by suffix (or IDX's magic number):

    - CSV (``.csv``, ``.tsv``, ``.txt``, gzip too), Parquet, Feather: ``target`` a column name or
      index (None for none), ``drop`` column names or indices to leave out (an id), ``delimiter``,
      ``header``, ``encoding`` and ``decimal`` as ``read_table`` (None: detected). ``X`` is a float64 array when every
      feature cell is a number, else an Arrow table (text and missing cells are kept for the
      model's preprocessing); ``table`` is always the feature columns as an Arrow table.
    - NPZ: arrays "X" and ``target`` or "y". IDX: ``target`` the labels' IDX file; images become
      rows of pixels.
    """
    path = Path(path)
    regular_file(path)
    name = path.name.lower()
    table = target_name = None
    if name.endswith(".npz"):
        X, y = read_npz(path, y_key=target if isinstance(target, str) else "y")
        X = _matrix(path, X)
        feature_names, target_names = [f"x{j}" for j in range(X.shape[1])], None
    elif _looks_idx(path):
        X = _matrix(path, read_idx(path))
        y = read_idx(target) if isinstance(target, (str, Path)) else None
        if y is not None and y.shape[:1] != X.shape[:1]:
            raise ValueError(f"{target}: {y.shape[0]} labels for the {X.shape[0]} rows of {path}")
        feature_names, target_names = [f"x{j}" for j in range(X.shape[1])], None
    else:
        if delimiter is None and name.endswith((".tsv", ".tsv.gz", ".tab")):
            delimiter = "\t"
        raw = read_table(path, delimiter, header, encoding, decimal)
        table, y, target_names = split_target(path, raw, target, drop)
        target_name = target_column(path, raw, target)
        feature_names = list(table.column_names)
        X = _numbers_or_table(table)
    if y is not None and y.dtype.kind in "iu":
        y = y.astype(np.int64)
    if target_names is None and y is not None and y.dtype.kind == "i":
        target_names = [str(c) for c in np.unique(y)]
    return Dataset(path.stem, X, y, feature_names, target_names or [], f"loaded from {path}", table, target_name)


def _numbers_or_table(table):
    """The columns as one float64 matrix when all are complete numbers, else the table itself."""
    import pyarrow as pa

    numeric = all((pa.types.is_integer(f.type) or pa.types.is_floating(f.type)) for f in table.schema)
    if not numeric or any(table.column(j).null_count for j in range(table.num_columns)):
        return table
    X = np.empty((table.num_rows, table.num_columns), dtype=np.float64, order="F")
    for j in range(table.num_columns):  # column by column into contiguous columns: one copy, no temporaries
        float64_into(table.column(j), X[:, j])
    return X


def _looks_idx(path: Path) -> bool:
    name = path.name.lower()
    if "ubyte" in name or name.endswith((".idx", ".idx.gz")):
        return True
    try:
        head = path.open("rb").read(4)
    except OSError:
        return False
    return len(head) == 4 and head[0] == 0 and head[1] == 0 and 1 <= head[3] <= 4


def _matrix(path, X):
    X = np.asarray(X)
    if X.size == 0 or X.ndim == 0:
        raise ValueError(f"{path}: the data array is empty; expected at least one example")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: the data array has dtype {X.dtype}; expected numbers")
    return X.reshape(X.shape[0], -1).astype(np.float64)
