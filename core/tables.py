"""Where user data enters: arrays, pandas DataFrames/Series, Arrow tables (polars through Arrow).

``to_table(X)`` turns any of them into a ``Table``: feature names and one host column each, a
float64 array (NaN where a cell is missing) for numbers, an object array of strings (None where
missing, and where a cell is "" or only spaces, as a CSV file or pandas' text reads them) for
text, categorical and boolean columns. A plain numeric array stays one matrix and
is matched by position (names x0, x1, ...), and so is a file read without a header; a table is
matched by column name.
``target(y)`` does the same for targets, ``take_rows`` indexes any of them by rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..backends.host import np

#: what a blank cell may hold: ASCII white space only (Python's str.strip and Arrow's trim each
#: count other characters too, \x1c–\x1f and U+0085 among them; ONNX's regular expressions do not)
BLANK = " \t\n\r\f\v"
POSITIONAL = "reseau.positional"  # Arrow schema metadata: "1" for a file without a header (names made up)


@dataclass
class Table:
    """Named host columns. ``matrix`` is set (and ``cols`` is None) for a plain numeric array;
    ``named`` says whether the names came from the data (a table) or by position (an array);
    ``categorical`` names the columns that are categories whatever their values (pandas
    ``category``, Arrow dictionary columns)."""

    names: list[str]
    cols: list | None
    matrix: object = None
    named: bool = False
    categorical: frozenset = frozenset()

    @property
    def n_rows(self) -> int:
        return self.matrix.shape[0] if self.matrix is not None else len(self.cols[0])

    def column(self, j):
        return self.matrix[:, j] if self.matrix is not None else self.cols[j]

    def take(self, idx) -> Table:
        """The rows ``idx``."""
        if self.matrix is not None:
            return Table(self.names, None, self.matrix[idx], self.named)
        return Table(
            self.names,
            [c if isinstance(c, Unsupported) else c[idx] for c in self.cols],
            None,
            self.named,
            self.categorical,
        )


@dataclass
class Unsupported:
    """A column of a type the model cannot take (dates, times, ...): an error where it is used, and
    nothing where it is not (an extra column at predict, ignored)."""

    column: str
    type: str
    source: str
    length: int

    def error(self):
        return ValueError(
            f"{self.source}: column {self.column!r} has type {self.type}; expected numbers, text, "
            "categories or booleans (convert dates and times to numbers first, or drop the column)"
        )

    def __len__(self):
        return self.length


def is_table(X) -> bool:
    """A pandas DataFrame, an Arrow table or record batch, or a polars DataFrame."""
    return _arrow_like(X) or _pandas_frame(X) or hasattr(X, "to_arrow")


def to_table(X, name: str = "X") -> Table:
    """``X`` as a ``Table`` (see the module docstring), or a ValueError naming ``name``."""
    if hasattr(X, "to_arrow") and not _arrow_like(X):  # polars
        X = X.to_arrow()
    if _pandas_frame(X):
        X = _arrow_from_pandas(X, name)
    if _arrow_like(X):
        names = [str(c) for c in X.column_names]
        _check_unique(names, name)
        cols = [_arrow_column(X.column(j), name, names[j]) for j in range(len(names))]
        if not cols or X.num_rows == 0:
            raise ValueError(
                f"{name} has {X.num_rows} rows and {len(cols)} columns; expected at least one row and one column"
            )
        import pyarrow as pa

        categorical = frozenset(n for n, f in zip(names, X.schema) if pa.types.is_dictionary(f.type))
        categorical |= pandas_categories(X.schema) & set(names)
        positional = (getattr(X.schema, "metadata", None) or {}).get(POSITIONAL.encode()) == b"1"
        return Table(names, cols, named=not positional, categorical=categorical)
    try:
        A = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name} could not be read as an array ({exc}); expected a 2-D array, a DataFrame or an Arrow table"
        ) from None
    if A.ndim == 2 and A.dtype.kind in "OUS" and A.shape[0] and A.shape[1]:
        return Table([f"x{j}" for j in range(A.shape[1])], [_object_column(A[:, j]) for j in range(A.shape[1])])
    return Table([f"x{j}" for j in range(A.shape[1])] if A.ndim == 2 else [], None, matrix=A)


def pandas_categories(schema) -> frozenset:
    """The columns pandas wrote as ``category`` (its record in the schema's metadata): Parquet keeps
    an integer category as plain integers beside that record, which ``pandas.read_parquet`` reads
    back as a category, and so does reseau."""
    record = (schema.metadata or {}).get(b"pandas")
    try:
        columns = json.loads(record)["columns"] if record else []
    except (ValueError, KeyError, TypeError):
        return frozenset()
    return frozenset(str(c["name"]) for c in columns if isinstance(c, dict) and c.get("pandas_type") == "categorical")


def target(y, name: str = "y"):
    """Targets as a host array: a pandas Series, an Arrow array or one-column table, a polars
    Series, a list or an array. Integers stay int64 and booleans bool (where no cell is missing),
    categories take their values' type; other text becomes an object array of strings."""
    if hasattr(y, "to_arrow") and not _arrow_like(y):
        y = y.to_arrow()
    if _pandas_frame(y) or _arrow_like(y):
        if _pandas_frame(y):
            y = _arrow_from_pandas(y, name)
        if y.num_columns == 1:
            return _target_column(y.column(0), name)
        t = to_table(y, name)
        return np.column_stack([np.asarray(c) for c in t.cols])
    if _pandas_series(y):
        y = _arrow_from_pandas(y.to_frame(), name).column(0)
    if hasattr(y, "to_numpy") and hasattr(y, "type"):  # an Arrow (chunked) array
        return _target_column(y, name)
    return y


def _target_column(col, name):
    """One Arrow target column: int64 or bool kept where complete, a category as its values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(col.type):
        col = pc.cast(col, col.type.value_type)
    if col.null_count == 0 and (pa.types.is_integer(col.type) or pa.types.is_boolean(col.type)):
        return np.asarray(col.to_numpy(zero_copy_only=False)).astype(
            np.int64 if pa.types.is_integer(col.type) else bool
        )
    out = _arrow_column(col, name, name)
    if isinstance(out, Unsupported):
        raise out.error()
    return out


def take_rows(X, idx):
    """Rows ``idx`` of an array, a DataFrame, an Arrow table or a polars frame, as the same kind."""
    if _pandas_frame(X) or _pandas_series(X):
        return X.iloc[idx]
    if _arrow_like(X):
        return X.take(np.asarray(idx))
    if hasattr(X, "to_arrow"):  # polars
        return X[np.asarray(idx)]
    return np.asarray(X)[idx]


def concat_rows(A, B):
    """The rows of A then B, both arrays or both tables of the same kind."""
    if _pandas_frame(A):
        return _pandas_concat(A, B)
    if _arrow_like(A):
        import pyarrow as pa

        return pa.concat_tables([A, B])
    return np.concatenate([np.asarray(A), np.asarray(B)])


def _pandas_concat(A, B):
    import pandas as pd

    return pd.concat([A, B])


def n_rows(X) -> int:
    if _arrow_like(X):
        return X.num_rows
    if _pandas_frame(X) or hasattr(X, "to_arrow"):
        return len(X)
    return len(np.asarray(X))


# ---- conversions ------------------------------------------------------------------------------


def _pandas_frame(X) -> bool:
    return type(X).__module__.startswith("pandas") and hasattr(X, "columns") and hasattr(X, "iloc")


def _pandas_series(X) -> bool:
    return type(X).__module__.startswith("pandas") and hasattr(X, "to_frame")


def _arrow_like(X) -> bool:
    return type(X).__module__.startswith("pyarrow") and hasattr(X, "column_names")


def _arrow_from_pandas(frame, name):
    import pyarrow as pa

    names = [str(c) for c in frame.columns]
    _check_unique(names, name)
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        # mixed types in one column (numbers and text): read that column as text
        arrays = {n: _pandas_column(frame.iloc[:, j]) for j, n in enumerate(names)}
        try:
            return pa.table(arrays)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            raise ValueError(
                f"{name} could not be read as a table ({exc}); expected columns of numbers, "
                "text, categories or booleans"
            ) from None


def _pandas_column(series):
    import pyarrow as pa

    try:
        return pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array([None if is_missing(v) else str(v) for v in series], type=pa.string())


def is_missing(v) -> bool:
    """A missing cell: None, NaN, pandas' NA or NaT."""
    return v is None or (isinstance(v, float) and v != v) or type(v).__name__ in ("NAType", "NaTType")


def _arrow_column(col, name, column):
    """One Arrow column as float64 (NaN = missing) or an object array of strings (None = missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_dictionary(t):
        col, t = pc.cast(col, pa.string()), pa.string()
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_null(t):
        out = np.empty(len(col), dtype=np.float64)
        float64_into(col, out)
        return out
    if pa.types.is_boolean(t):
        values = col.to_pylist()
        return np.array([None if v is None else str(v) for v in values], dtype=object)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        blank = pc.equal(pc.utf8_trim(col, characters=BLANK), "")  # "" or spaces: missing, as in a CSV or pandas
        col = pc.if_else(blank, pa.scalar(None, col.type), col)
        return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)
    return Unsupported(column, str(t), name, len(col))


def float64_into(col, out):
    """Write an Arrow numeric column into the float64 array ``out`` (NaN where null), chunk by
    chunk from the Arrow buffers: one copy, and none of pyarrow's pandas-aware conversions."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = col.chunks if hasattr(col, "chunks") else [col]
    start = 0
    for chunk in chunks:
        n = len(chunk)
        if pa.types.is_null(chunk.type):
            out[start : start + n] = np.nan
        else:
            c = pc.cast(chunk, pa.float64(), safe=False)  # integers beyond 2⁵³ round, as NumPy rounds them
            values = c.buffers()[1]
            out[start : start + n] = np.frombuffer(values, dtype=np.float64, count=n, offset=c.offset * 8)
            if c.null_count:
                bits = np.unpackbits(np.frombuffer(c.buffers()[0], dtype=np.uint8), bitorder="little")
                out[start : start + n][bits[c.offset : c.offset + n] == 0] = np.nan
        start += n
    return out


def _object_column(values):
    """A column of an object/string array: numbers if every present cell is one, else text."""
    cells = [None if is_missing(v) or (isinstance(v, str) and not v.strip(BLANK)) else v for v in values]
    try:
        return np.array([np.nan if v is None else float(v) for v in cells], dtype=np.float64)
    except (TypeError, ValueError):
        return np.array([None if v is None else str(v) for v in cells], dtype=object)


def _check_unique(names, name):
    seen = set()
    for n in names:
        if n in seen:
            raise ValueError(f"{name} has two columns named {n!r}; expected unique column names")
        seen.add(n)
