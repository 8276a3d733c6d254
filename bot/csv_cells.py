"""Spreadsheet-safe CSV cells: a text cell a spreadsheet would run as a formula gets a `'`.

Excel, LibreOffice and Google Sheets treat a cell starting with =, +, -, @ (or a tab or carriage
return before one) as a formula; a leading apostrophe makes it text, and the apostrophe is not
shown. `restore` undoes `defuse` exactly, so a file exported and imported again is unchanged.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARK = "'"


def _needs_mark(value: str) -> bool:
    # Cells already starting with apostrophes before a formula character get one more, so that
    # `restore` can tell a mark it added from an apostrophe the text really starts with.
    return value.lstrip(MARK).startswith(FORMULA_STARTS)


def defuse(value: str) -> str:
    """The cell text to write: `value`, marked as text if a spreadsheet would evaluate it."""
    return MARK + value if _needs_mark(value) else value


def restore(value: str) -> str:
    """The text `defuse` was given, from a cell read back (other cells are left alone)."""
    if value.startswith(MARK) and _needs_mark(value[1:]):
        return value[1:]
    return value
