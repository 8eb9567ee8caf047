"""Reading data files: CSV, Parquet and Feather (through pyarrow, ``tables.py``), NPZ (no pickle)
and IDX (the MNIST format, gzip too).

Every problem is a ValueError that names the file and, for text, the line and column.
"""

from __future__ import annotations

import gzip
import math
import struct
import zipfile
from pathlib import Path

from ..backends.host import np
from ..core import targets
from ..core.columns import number_like
from ..core.messages import listed
from ..core.tables import to_table
from ..core.validation import regular_file
from .readers import ROW_ID_NAMES, line_of, read_table

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_IDX_BYTES = 1 << 33  # refuse headers that claim more than 8 GiB


def _open_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: not a readable gzip file ({exc})") from None
    return raw


def read_csv(path, target=-1, header=None, delimiter=None, encoding="utf-8", decimal=None):
    """(X, y, feature_names, target_names) from a CSV file of numbers (``read_table`` reads it).

    ``target``: the target column, by name (needs a header) or index (negative counts from the
    end); None for no target. ``header``, ``delimiter``, ``encoding``, ``decimal``: as
    ``read_table``. Every feature cell must
    be a number (``load_file`` keeps text and missing cells for the model's preprocessing).
    Numeric targets stay numbers (integers as int64); text targets become class indices 0..k−1
    in sorted order, named in target_names.
    """
    table = read_table(path, delimiter=delimiter, header=header, encoding=encoding, decimal=decimal)
    features, y, target_names = split_target(path, table, target)
    t = to_table(features, str(path))
    for j, name in enumerate(t.names):
        col = t.cols[j] = _numbers_if_all(t.cols[j])
        if col.dtype.kind != "f":
            row = next(i for i, v in enumerate(col) if v is not None and not number_like(v))
            raise ValueError(
                f"{path}, {line_of(path, table, row)}, column {name!r}: {col[row]!r} is not a number; expected "
                "numbers (load_file and the model's preprocessing take text columns)"
            )
        if np.isnan(col).any():
            row = int(np.flatnonzero(np.isnan(col))[0])
            raise ValueError(
                f"{path}, {line_of(path, table, row)}, column {name!r}: missing value; expected a number "
                "(impute or drop the row)"
            )
    X = np.column_stack(t.cols) if t.cols else np.empty((table.num_rows, 0))
    return X, y, t.names, target_names


def _numbers_if_all(col):
    """A text column whose every cell reads as a number (Python's float), as float64."""
    if col.dtype.kind == "f" or not all(v is None or number_like(v) for v in col):
        return col
    return np.array([np.nan if v is None else float(v) for v in col], dtype=np.float64)


def split_target(path, table, target, drop=()):
    """(the feature columns as an Arrow table, y or None, target_names or None): ``target`` by name
    or index, ``drop`` names (or indices) of columns to leave out."""
    names = list(table.column_names)
    t = _target_index(path, target, names)
    # a row number dropped on reading (tables.ROW_ID_NAMES) may still be named in ``drop``
    asked = [d for d in drop if not (isinstance(d, str) and d not in names and d.strip().lower() in ROW_ID_NAMES)]
    dropped = {names[_target_index(path, d, names, "drop")] for d in asked}
    keep = [n for j, n in enumerate(names) if j != t and n not in dropped]
    if not keep:
        raise ValueError(
            f"{path}: no feature columns left (the columns are {listed(names, quote=False)}); expected at "
            "least one besides the target and the dropped ones"
        )
    features = table.select(keep)
    if t is None:
        return features, None, None
    col = to_table(table.select([t]), str(path)).cols[0]
    missing = np.isnan(col) if col.dtype.kind == "f" else np.array([v is None for v in col])
    if missing.any():
        raise ValueError(
            f"{path}, {line_of(path, table, int(np.flatnonzero(missing)[0]))}, column {names[t]!r}: the target "
            "is missing; every row needs a target"
        )
    if col.dtype.kind == "f":
        y = col.astype(np.int64) if np.all(col == np.round(col)) and _integer_column(table, t) else col
        return features, y, None
    targets.warn_labels(col, f"{path} column {names[t]!r}")
    col = targets.as_array(col)  # surrounding spaces stripped
    target_names = sorted(set(col.tolist()))
    index = {name: k for k, name in enumerate(target_names)}
    return features, np.array([index[c] for c in col], dtype=np.int64), target_names


def target_column(path, table, target):
    """The name of the column ``target`` picks in ``table`` (None for no target)."""
    t = _target_index(path, target, list(table.column_names))
    return None if t is None else table.column_names[t]


def _integer_column(table, j) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(table.schema.field(j).type)


def _target_index(path, target, names, what="target"):
    if target is None:
        return None
    if isinstance(target, str):
        if target not in names:
            if target.lstrip("-").isdigit():
                return _target_index(path, int(target), names, what)
            raise ValueError(f"{path}: no column named {target!r}; the columns are {listed(names, quote=False)}")
        return names.index(target)
    if isinstance(target, bool) or not isinstance(target, int) or not -len(names) <= target < len(names):
        raise ValueError(
            f"{what}={target!r} is not a column of {path}; expected a name or an index "
            f"in [-{len(names)}, {len(names) - 1}]"
        )
    return target % len(names)


def read_npz(path, x_key="X", y_key="y"):
    """(X, y) from an .npz archive, refusing pickled objects."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if x_key not in keys:
                raise ValueError(
                    f"{path}: no array named {x_key!r}; the archive holds {listed(keys, quote=False) or 'nothing'}"
                )
            X = archive[x_key]
            y = archive[y_key] if y_key in keys else None
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a readable .npz archive of plain arrays ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:  # a truncated zip: "PK\x03\x04" and no more
        raise ValueError(f"{path}: not a readable .npz archive ({exc})") from None
    return X, y


def read_idx(path):
    """The array in an IDX file (MNIST's format: magic 0 0 type ndim, big-endian sizes, data)."""
    path = Path(path)
    regular_file(path)
    raw = _open_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    size = math.prod(shape) * dtype.itemsize
    if size > MAX_IDX_BYTES:
        raise ValueError(
            f"{path}: the header claims shape {shape} ({size} bytes); refusing more than {MAX_IDX_BYTES} bytes"
        )
    data = raw[4 + 4 * ndim :]
    if len(data) != size:
        raise ValueError(
            f"{path}: the header says shape {shape} ({size} bytes of data) but the file has "
            f"{len(data)}; truncated or corrupted"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
