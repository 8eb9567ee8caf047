"""Reading tables from files with pyarrow: CSV (any of , ; tab | as delimiter, detected), Parquet
and Feather/Arrow IPC.

CSV: a UTF-8 byte-order mark, quoting, CRLF and gzip are handled by the reader; the delimiter is
the one of , ; tab | that splits the first rows into the most consistent number of cells; the
first row is a header only when it differs in kind from the rows below it (text above a column
of numbers; in a table of text only, names that never occur below). Missing cells: empty, NA,
N/A, nan, null, None, ? (any case). Every problem is a ValueError naming the file and, for
text, the line and column.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

from ..core.columns import number_like, stray_text
from ..core.tables import columns

DELIMITERS = (",", ";", "\t", "|")
MISSING = ("", "na", "nan", "n/a", "null", "none", "?")
SAMPLE_BYTES = 1 << 16
SAMPLE_ROWS = 200
BLOCK_BYTES = 16 << 20  # pyarrow parses blocks in parallel; 16 MiB measured faster than its 1 MiB default
_NULLS = sorted({v for m in MISSING for v in (m, m.upper(), m.capitalize())} | {"NaN", "-nan", "#N/A"})


def read_table(path, delimiter=None, header=None, encoding="utf-8"):
    """The whole file as a pyarrow Table of named columns (see the module docstring).

    ``delimiter``: None to detect, or one character. ``header``: True, False, or None to detect;
    without a header the columns are named x0, x1, ... .
    """
    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq
            return _nonempty(path, pq.read_table(path))
        if name.endswith((".feather", ".arrow", ".ipc")):
            import pyarrow.feather as feather
            return _nonempty(path, feather.read_table(path))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file ({exc})") from None
    except Exception as exc:  # pyarrow's own errors (ArrowInvalid, ...) for a damaged file
        raise ValueError(f"{path}: not a readable {name.rsplit('.', 1)[-1]} file ({exc})") from None
    return _read_csv(path, delimiter, header, encoding)


def _nonempty(path, table):
    index = [n for n in table.column_names if re.fullmatch(r"__index_level_\d+__", n)]
    table = table.drop_columns(index)  # the row index pandas stores beside the data
    if table.num_rows == 0 or table.num_columns == 0:
        raise ValueError(f"{path}: no data rows; expected at least one row and one column")
    return table


def _read_csv(path, delimiter, header, encoding):
    import pyarrow as pa
    gz = _is_gzip(path)
    rows, lead = _sample(path, gz, encoding)
    if not rows:
        raise ValueError(f"{path}: no data rows; expected a CSV file with at least one row")
    if delimiter is None:
        delimiter = detect_delimiter(rows)
    elif not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
        raise ValueError(f"delimiter={delimiter!r} is invalid; expected one character such as , ; | or a tab")
    cells = [next(csv.reader([r], delimiter=delimiter), []) for r in rows]
    if header is None:
        header = detect_header(cells)
    width = len(cells[0])
    names = _names(path, cells[0]) if header else [f"x{j}" for j in range(width)]
    if header and len(rows) == 1:
        raise ValueError(f"{path}: a header but no data rows; expected at least one example")
    skipped = lead + (1 if header else 0)
    try:
        try:
            table = _parse(path, gz, names, skipped, delimiter, encoding, newlines_in_values=False)
        except pa.ArrowInvalid as exc:
            if "columns, got" not in str(exc):
                raise
            # a quoted cell holding a line break looks like a short row: parse again, allowing them
            table = _parse(path, gz, names, skipped, delimiter, encoding, newlines_in_values=True)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file ({exc})") from None
    except pa.ArrowException as exc:
        ragged = re.search(r"Expected (\d+) columns, got (\d+): (.*)", str(exc), re.S)
        if ragged:
            line = _line_of_text(path, gz, encoding, ragged.group(3).splitlines()[0] if ragged.group(3) else "")
            raise ValueError(f"{path}, line {line}: {ragged.group(2)} cells but the first row has "
                             f"{ragged.group(1)}; expected the same number of columns in every row") from None
        if "UTF8" in str(exc) or "utf-8" in str(exc).lower():
            raise ValueError(f"{path}: not UTF-8 text ({exc}); expected a CSV file in UTF-8, or give "
                             "encoding=") from None
        raise ValueError(f"{path}: not readable as CSV ({exc})") from None
    if table.num_rows == 0:
        raise ValueError(f"{path}: no data rows; expected a CSV file with at least one row")
    _check_cells(path, table, gz, encoding, skipped)
    return table.replace_schema_metadata({"reseau.skipped": str(skipped), "reseau.gzip": str(int(gz)),
                                          "reseau.encoding": encoding})


def line_of(path, table, row_index):
    """The file line of data row ``row_index`` of a table ``read_table`` read from a CSV file
    ("row N" for other files)."""
    meta = table.schema.metadata or {}
    if b"reseau.skipped" not in meta:
        return f"row {row_index + 1}"
    line = _line_of_row(path, meta[b"reseau.gzip"] == b"1", meta[b"reseau.encoding"].decode(),
                        int(meta[b"reseau.skipped"]), row_index)
    return f"line {line}"


def _parse(path, gz, names, skipped, delimiter, encoding, newlines_in_values):
    import pyarrow as pa
    import pyarrow.csv as pcsv
    source = pa.CompressedInputStream(pa.OSFile(str(path)), "gzip") if gz else str(path)
    return pcsv.read_csv(
        source,
        read_options=pcsv.ReadOptions(column_names=names, skip_rows=skipped, encoding=encoding,
                                      block_size=BLOCK_BYTES),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines_in_values),
        convert_options=pcsv.ConvertOptions(null_values=_NULLS, strings_can_be_null=True,
                                            quoted_strings_can_be_null=True))


def _is_gzip(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def _open_text(path, gz, encoding):
    raw = gzip.open(path, "rb") if gz else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8")
                            else encoding, newline="")


def _sample(path, gz, encoding):
    """(the first non-blank lines of the file, the number of blank lines before them)."""
    try:
        with _open_text(path, gz, encoding) as f:
            text = f.read(SAMPLE_BYTES)
            complete = len(text) < SAMPLE_BYTES
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}); expected a CSV file in UTF-8, or give "
                         "encoding=") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read the file ({exc})") from None
    lines = text.splitlines()
    if not complete and lines:
        lines = lines[:-1]  # the sample may end inside a line
    lead = 0
    while lead < len(lines) and not lines[lead].strip():
        lead += 1
    rows = [line for line in lines[lead:] if line.strip()][:SAMPLE_ROWS]
    return rows, lead


def detect_delimiter(rows) -> str:
    """The delimiter of , ; tab | that splits the sample rows into the most consistent number (> 1)
    of cells, then the one giving the most number-like cells; "," when none splits them."""
    best, best_score = ",", None
    for d in DELIMITERS:
        widths = [len(r) for r in csv.reader(rows, delimiter=d)]
        mode = max(set(widths), key=widths.count)
        if mode < 2:
            continue
        parsed = list(csv.reader(rows, delimiter=d))
        numeric = sum(number_like(c) for r in parsed for c in r) / max(1, sum(widths))
        score = (widths.count(mode) / len(widths), numeric, mode)
        if best_score is None or score > best_score:
            best, best_score = d, score
    return best


def detect_header(cells) -> bool:
    """Whether the first row names the columns: it holds text above a column of numbers, or, in
    a table without numbers, none of its values occur below it in their column."""
    first, body = cells[0], cells[1:]
    if not body:
        return not all(number_like(c) or _is_missing(c) for c in first)
    numeric_cols = []
    for j, cell in enumerate(first):
        below = [r[j] for r in body if j < len(r) and not _is_missing(r[j])]
        if below and all(number_like(c) for c in below):
            numeric_cols.append(j)
            if not number_like(cell) and not _is_missing(cell):
                return True
    if numeric_cols:
        return False
    if any(_is_missing(c) for c in first):
        return False
    return all(all(j >= len(r) or r[j] != cell for r in body) for j, cell in enumerate(first))


def _is_missing(cell) -> bool:
    return cell.strip().lower() in MISSING


def _names(path, row):
    names = [c.strip() or f"x{j}" for j, c in enumerate(row)]
    seen = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    dup = [n for n, k in seen.items() if k > 1]
    if dup:
        raise ValueError(f"{path}, line 1: column {dup[0]!r} appears {seen[dup[0]]} times in the header; "
                         "expected unique column names")
    return names


def _check_cells(path, table, gz, encoding, skipped):
    """A stray word in a column of numbers, or a number beyond float range, named by line."""
    import pyarrow as pa
    import pyarrow.compute as pc
    for j, name in enumerate(table.column_names):
        col = table.column(j)
        if pa.types.is_floating(col.type):
            inf = pc.is_inf(col)  # null where the cell is missing; any() skips those
            if pc.any(inf).as_py():
                row = int(pc.index(pc.fill_null(inf, False), True).as_py())
                cell = _cell(path, gz, encoding, skipped, row, j, table.schema)
                raise ValueError(f"{path}, line {_line_of_row(path, gz, encoding, skipped, row)}, column "
                                 f"{name!r}: {_short(cell)!r} is not a finite number")
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            stray = stray_text(columns(table.select([j]), str(path)).cols[0])
            if stray is not None:
                raise ValueError(f"{path}, line {_line_of_row(path, gz, encoding, skipped, stray[0])}, column "
                                 f"{name!r}: {_short(stray[1])!r} is not a number (the column's other cells are)")


def _short(text, limit=24):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


def _line_of_row(path, gz, encoding, skipped, row_index):
    count = -1
    with _open_text(path, gz, encoding) as f:
        for number, line in enumerate(f, start=1):
            if number <= skipped or not line.strip():
                continue
            count += 1
            if count == row_index:
                return number
    return skipped + row_index + 1


def _line_of_text(path, gz, encoding, text):
    with _open_text(path, gz, encoding) as f:
        for number, line in enumerate(f, start=1):
            if line.rstrip("\r\n") == text:
                return number
    return "?"


def _cell(path, gz, encoding, skipped, row_index, j, schema):
    line = _line_of_row(path, gz, encoding, skipped, row_index)
    with _open_text(path, gz, encoding) as f:
        for number, text in enumerate(f, start=1):
            if number == line:
                for d in DELIMITERS:
                    cells = text.rstrip("\r\n").split(d)
                    if len(cells) == len(schema.names):
                        return cells[j].strip().strip('"')
    return "inf"
