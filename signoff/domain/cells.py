"""Spreadsheet-safe cells: one rule for every CSV and workbook the register writes, and its inverse.

A spreadsheet runs a cell that starts with one of ``FORMULA_LEADS`` as a formula (OWASP "CSV
injection"). Such a cell is written with a leading apostrophe, and so is one that already starts
with an apostrophe, so reading removes exactly one leading apostrophe from any cell that has one:
reversible, never ambiguous. The CSV export, the workbook export and their verifier share it, so an
auditor reads the same cell the same way whichever file they were given.
"""

from __future__ import annotations

from typing import Any

FORMULA_LEADS = "=+-@\t\r"
CSV_ESCAPE = "'"


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value[:1] and value[0] in FORMULA_LEADS + CSV_ESCAPE:
        return CSV_ESCAPE + value
    return value


def restore(cell: str) -> str:
    return cell[1:] if cell.startswith(CSV_ESCAPE) else cell
