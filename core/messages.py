"""Helpers for the text of messages: a value cut to one short line, a list cut to its first names,
so an error about a table of any width stays readable."""

from __future__ import annotations


def short(text, limit=40) -> str:
    """``text`` cut to ``limit`` characters, "..." marking the cut: a message stays one short line."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "..."


def listed(names, shown=5, quote=True) -> str:
    """The first few names, then how many more: an error message stays short whatever the width."""
    head = [repr(short(n)) if quote else short(n) for n in names[:shown]]
    more = len(names) - shown
    return ", ".join(head) + (f" ... and {more} more" if more > 0 else "")
