"""Spreadsheet cells that stay text (issue 7 §3; OWASP "CSV Injection").

A cell whose text starts with `=`, `+`, `-`, `@` (or a tab, CR or LF, or their full-width
forms) is read by Excel, WPS and LibreOffice as a formula: `=HYPERLINK(...)` in a resident's
note becomes a live link in the admin's spreadsheet. Every export writes its cells through
here: in CSV such a cell gets a leading apostrophe (OWASP's advice: spreadsheets show it as
text and hide the apostrophe); in XLSX every text cell is written as a string cell, which no
spreadsheet evaluates, so its text stays exactly as stored. An import reads the apostrophe
back off (`restored`), so an exported file imports again without changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet could read as a formula gets a leading apostrophe;
    anything else (numbers included: -5 is a number, not a formula) is left as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def restored(text: str) -> str:
    """A cell as imported: the apostrophe `neutralise` put before a formula-like text is
    taken off again (an apostrophe before anything else is the cell's own)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [neutralise(v) for v in values]


def xlsx_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """The cells of one row of an openpyxl write-only sheet: text as string cells (never a
    formula, whatever it starts with), other values as they are."""
    from openpyxl.cell import WriteOnlyCell

    row = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # openpyxl would store "=…" as a formula ('f')
            row.append(cell)
        else:
            row.append(value)
    return row
