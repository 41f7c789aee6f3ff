"""Reading a sheet saved as an Excel workbook (openpyxl is imported only here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def records(path: Path) -> tuple[list[str], Iterator[dict[str, str]]]:
    """The first sheet's header, and its rows as text the way the CSV reader gives them, read one at a
    time (openpyxl's read-only mode streams the sheet): a 500,000-row workbook is never held whole."""
    import datetime as dt

    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    rows = wb.worksheets[0].iter_rows(values_only=True)
    try:
        header_row = next(rows, None) or ()
    except Exception:
        wb.close()
        raise
    header = [str(h).strip() if h is not None else "" for h in header_row]

    def each() -> Iterator[dict[str, str]]:
        try:
            for values in rows:
                rec: dict[str, str] = {}
                for name, value in zip(header, values, strict=False):
                    if not name:
                        continue
                    if isinstance(value, dt.datetime):
                        # Excel keeps a date as a date-time at midnight; a time of day means the cell is not
                        # a date, and its full text lets the strict date check say so rather than drop the time.
                        text = value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
                    elif isinstance(value, dt.date):
                        text = value.isoformat()
                    elif value is None:
                        text = ""
                    else:
                        text = str(value)
                    rec[name] = text
                for name in header:
                    if name:
                        rec.setdefault(name, "")  # a short row: its missing cells are empty
                yield rec
        finally:
            wb.close()

    return header, each()


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The first sheet as a header and a list of rows (for small sheets)."""
    header, rows = records(path)
    return header, list(rows)
