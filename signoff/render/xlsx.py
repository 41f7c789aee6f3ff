"""Excel output, because councils live in Excel. openpyxl is imported only when a workbook is written."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from signoff.domain.cells import neutralise


def write(
    path: Path,
    sheet: str,
    headings: Sequence[str],
    rows: Iterable[Sequence[Any]],
    advance: Callable[[int], None] | None = None,
) -> int:
    """Stream rows into a write-only workbook (flat memory), saved whole or not at all."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append(list(headings))
    count = 0
    for row in rows:
        ws.append([_cell(v) for v in row])
        count += 1
        if advance and count % 5000 == 0:
            advance(5000)
    if advance:
        advance(count % 5000)
    tmp = path.with_name(path.name + ".partial")
    try:
        wb.save(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _cell(value: Any) -> Any:
    """A cell as the CSV export writes it: never a formula, and reversible (``domain/cells.py``)."""
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    return neutralise(value)
