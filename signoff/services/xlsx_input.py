"""Reading an evidence matrix saved as an Excel workbook (openpyxl is imported only here)."""

from __future__ import annotations

from pathlib import Path


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The first sheet as a header and rows of text, the way the CSV reader gives them."""
    import datetime as dt

    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header_row = next(rows, None) or ()
    header = [str(h).strip() if h is not None else "" for h in header_row]
    records = []
    for values in rows:
        rec: dict[str, str] = {}
        for name, value in zip(header, values, strict=False):
            if not name:
                continue
            if isinstance(value, dt.datetime):
                # Excel keeps a date as a date-time at midnight; a time of day means the cell is not a
                # date, and its full text lets the strict date check say so rather than drop the time.
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
        records.append(rec)
    wb.close()
    return header, records
