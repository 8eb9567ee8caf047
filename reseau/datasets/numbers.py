"""Numbers as people write them in files, for a text column that holds them.

| written | read as | needs |
|---|---|---|
| ``14,23`` | 14.23 | the decimal comma (given, or detected in a ``;``/tab/``|`` file) |
| ``1,400`` / ``1.400`` / ``1 400`` | 1400.0 | groups of three digits after the first, with the other decimal mark |
| ``$5,100.00``, ``5.100,00 €``, ``£3`` | 5100.0, 5100.0, 3.0 | one currency symbol for the whole column |
| ``35%`` / ``35 %`` | 0.35 | a percent sign on every cell of the column |

A column is read this way only when every present cell fits one pattern (one currency symbol or
none, all cells in percent or none); ``number_like(cell, decimal)`` is the per-cell test used to
find a stray word in a column of numbers.
"""

from __future__ import annotations

import re

CURRENCY = "$€£¥₹"
_SPACES = " \u00a0\u202f"


def _number_regex(decimal: str) -> str:
    """A plain or digit-grouped number with ``decimal`` as its decimal mark."""
    if decimal == ",":
        group = r"(?:\d{1,3}(?:[.' " + _SPACES + r"]\d{3})+|\d+)"
        return group + r"(?:,\d+)?|,\d+"
    group = r"(?:\d{1,3}(?:[,'" + _SPACES + r"]\d{3})+|\d+)"
    return group + r"(?:\.\d+)?|\.\d+"


def cell_regex(decimal: str, currency: str | None = None, percent: bool = False) -> str:
    """The pattern of one cell: sign, the currency symbol (before or after), the number, a percent sign."""
    num = _number_regex(decimal)
    cur = "" if currency is None else re.escape(currency)
    sign = r"[+-]?"
    if currency is None:
        body = rf"{sign}(?:{num})"
    else:
        body = rf"(?:{sign}{cur}\s?{sign}(?:{num})|{sign}(?:{num})\s?{cur})"
    tail = r"\s?%" if percent else ""
    return rf"^\s*{body}{tail}\s*$"


_CELL = {}


def _compiled(decimal, currency, percent):
    key = (decimal, currency, percent)
    if key not in _CELL:
        _CELL[key] = re.compile(cell_regex(decimal, currency, percent))
    return _CELL[key]


def number_like(cell, decimal: str = ".") -> bool:
    """Whether a cell reads as a number, Python's float or any pattern of the module docstring."""
    try:
        float(cell)
        return True
    except (TypeError, ValueError):
        pass
    if not isinstance(cell, str):
        return False
    cur = next((c for c in CURRENCY if c in cell), None)
    return bool(_compiled(decimal, cur, cell.rstrip().endswith("%")).match(cell))


def to_float(cell: str, decimal: str = ".") -> float:
    """The value of a cell that ``number_like`` accepts (``35%`` is 0.35)."""
    text = cell.strip()
    percent = text.endswith("%")
    text = text.rstrip("%").strip()
    for c in CURRENCY + _SPACES + "'":
        text = text.replace(c, "")
    text = text.replace("." if decimal == "," else ",", "")
    value = float(text.replace(",", ".") if decimal == "," else text)
    return value / 100.0 if percent else value


def column_pattern(col, decimal: str):
    """(currency symbol or None, percent) when every present cell of the pyarrow string column
    ``col`` fits one pattern, else None."""
    import pyarrow.compute as pc

    present = pc.drop_null(col)
    if len(present) == 0:
        return None
    used = [c for c in CURRENCY if pc.any(pc.match_substring(present, c)).as_py()]
    if len(used) > 1:
        return None
    currency = used[0] if used else None
    ends = pc.match_substring_regex(present, r"%\s*$")
    percent = bool(pc.all(ends).as_py())
    if not percent and pc.any(ends).as_py():
        return None
    if not pc.all(pc.match_substring_regex(present, cell_regex(decimal, currency, percent))).as_py():
        return None
    return currency, percent


def convert(col, decimal: str, currency, percent):
    """The pyarrow string column ``col`` (fitting ``column_pattern``) as float64 values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    strip = "[" + re.escape(CURRENCY + "%'") + r"\s" + _SPACES + "]"
    text = pc.replace_substring_regex(col, strip, "")
    text = pc.replace_substring(text, "." if decimal == "," else ",", "")
    if decimal == ",":
        text = pc.replace_substring(text, ",", ".")
    values = pc.cast(text, pa.float64())
    return pc.divide(values, 100.0) if percent else values


def is_comma_decimal(col) -> bool:
    """Whether every present cell of a pyarrow string column is a number with a decimal comma
    (``14,23``, ``1.234,5``, or an integer), at least one with the comma."""
    import pyarrow.compute as pc

    present = pc.drop_null(col)
    if len(present) == 0:
        return False
    fits = pc.match_substring_regex(present, r"^\s*[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?\s*$")
    return bool(pc.all(fits).as_py()) and bool(pc.any(pc.match_substring_regex(present, r",\d")).as_py())
