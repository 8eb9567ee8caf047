"""Reading data files: CSV, NPZ (no pickle) and IDX (the MNIST format, gzip too).

Every problem is a ValueError that names the file and, for text, the line and column.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import struct
from pathlib import Path

from ..backends.host import np

MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}
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


def read_csv(path, target=-1, header=None, delimiter=","):
    """(X, y, feature_names, target_names) from a CSV file.

    ``target``: the target column, by name (needs a header) or index (negative counts from the
    end); None for no target. ``header``: True, False, or None to detect (a first row that is
    not all numbers). Numeric targets stay numbers (integers as int64); text targets become
    class indices 0..k−1 in sorted order, named in target_names.
    """
    path = Path(path)
    try:
        text = _open_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}); expected a CSV file") from None
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        rows = [(i, row) for i, row in enumerate(reader, start=1) if row and any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ValueError(f"{path}, line {reader.line_num}: not readable as CSV ({exc})") from None
    if not rows:
        raise ValueError(f"{path}: no data rows; expected a CSV file with at least one row")
    if header is None:
        header = not all(_is_number(c) for c in rows[0][1])
    names = [c.strip() for c in rows[0][1]] if header else [f"x{j}" for j in range(len(rows[0][1]))]
    body = rows[1:] if header else rows
    if not body:
        raise ValueError(f"{path}: a header but no data rows; expected at least one example")
    width = len(names)
    for line, row in body:
        if len(row) != width:
            raise ValueError(f"{path}, line {line}: {len(row)} cells but the first row has {width}; "
                             "expected the same number of columns in every row")
    t = _target_index(path, target, names)
    feature_cols = [j for j in range(width) if j != t]
    X = np.empty((len(body), len(feature_cols)))
    for r, (line, row) in enumerate(body):
        for c, j in enumerate(feature_cols):
            X[r, c] = _number(path, line, j, names[j], row[j])
    y, target_names = None, None
    if t is not None:
        cells = [row[t].strip() for _, row in body]
        for (line, _), cell in zip(body, cells):
            if cell.lower() in MISSING:
                raise ValueError(f"{path}, line {line}, column {names[t]!r}: the target is missing")
        if all(_is_number(c) for c in cells):
            y = np.array([float(c) for c in cells])
            if np.all(y == np.round(y)):
                y = y.astype(np.int64)
        else:
            target_names = sorted(set(cells))
            index = {name: k for k, name in enumerate(target_names)}
            y = np.array([index[c] for c in cells], dtype=np.int64)
    return X, y, [names[j] for j in feature_cols], target_names


def _target_index(path, target, names):
    if target is None:
        return None
    if isinstance(target, str):
        if target not in names:
            raise ValueError(f"{path}: no column named {target!r}; the columns are {', '.join(names)}")
        return names.index(target)
    if isinstance(target, bool) or not isinstance(target, int) or not -len(names) <= target < len(names):
        raise ValueError(f"target={target!r} is not a column of {path}; expected a name or an index "
                         f"in [-{len(names)}, {len(names) - 1}]")
    return target % len(names)


def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def _number(path, line, j, name, cell):
    text = cell.strip()
    if text.lower() in MISSING:
        raise ValueError(f"{path}, line {line}, column {name!r}: missing value; expected a number "
                         "(impute or drop the row)")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{path}, line {line}, column {name!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{path}, line {line}, column {name!r}: {text!r} is not a finite number")
    return value


def read_npz(path, x_key="X", y_key="y"):
    """(X, y) from an .npz archive, refusing pickled objects."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if x_key not in keys:
                raise ValueError(f"{path}: no array named {x_key!r}; the archive holds {', '.join(keys) or 'nothing'}")
            X = archive[x_key]
            y = archive[y_key] if y_key in keys else None
    except ValueError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a readable .npz archive of plain arrays ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz archive ({exc})") from None
    return X, y


def read_idx(path):
    """The array in an IDX file (MNIST's format: magic 0 0 type ndim, big-endian sizes, data)."""
    path = Path(path)
    raw = _open_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    size = math.prod(shape) * dtype.itemsize
    if size > MAX_IDX_BYTES:
        raise ValueError(f"{path}: the header claims shape {shape} ({size} bytes); refusing more than "
                         f"{MAX_IDX_BYTES} bytes")
    data = raw[4 + 4 * ndim:]
    if len(data) != size:
        raise ValueError(f"{path}: the header says shape {shape} ({size} bytes of data) but the file has "
                         f"{len(data)}; truncated or corrupted")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
