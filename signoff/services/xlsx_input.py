"""Reading a sheet saved as an Excel workbook (openpyxl is imported only here).

openpyxl's read-only mode streams the sheet but loads the workbook's whole shared-strings table, one
Python string per distinct cell text: most of a large matrix (every description, every title). Here
the table is read the same way and, past ``SPILL_BYTES`` of XML, kept in a private scratch SQLite file
instead, looked up a cell at a time through a bounded cache. A sheet's size is read from its
``<dimension>`` element alone (openpyxl reads the whole sheet looking for it when it is missing), and
each row is let go once read. Everything else (cell types, dates, styles, the 1904 calendar, gaps
between rows) is openpyxl's own reading, so the cells come out as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# A shared-strings part larger than this (uncompressed XML) is spilled to disk rather than held as a list.
SPILL_BYTES = 1 << 20


class SpilledStrings:
    """The shared-strings table in a scratch SQLite file that only this connection sees (deleted when
    it closes), indexed as openpyxl indexes its list; the strings met most recently stay in memory."""

    CACHE = 8192
    BATCH = 1000

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-512")  # KiB
        self.db.execute("BEGIN")
        self.db.execute("CREATE TABLE strings (i INTEGER PRIMARY KEY, s TEXT NOT NULL)")
        self._pending: list[tuple[int, str]] = []
        self._count = 0
        self._cache: dict[int, str] = {}

    def append(self, text: str) -> None:
        self._pending.append((self._count, text))
        self._count += 1
        if len(self._pending) >= self.BATCH:
            self.db.executemany("INSERT INTO strings VALUES (?, ?)", self._pending)
            self._pending.clear()

    def done(self) -> None:
        if self._pending:
            self.db.executemany("INSERT INTO strings VALUES (?, ?)", self._pending)
            self._pending.clear()

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> str:
        text = self._cache.get(index)
        if text is None:
            if not 0 <= index < self._count:
                raise IndexError("list index out of range")  # what openpyxl's list says
            (text,) = self.db.execute("SELECT s FROM strings WHERE i = ?", (index,)).fetchone()
            if len(self._cache) >= self.CACHE:
                self._cache.clear()
            self._cache[index] = text
        return text

    def close(self) -> None:
        self.db.close()


def _read_strings(source: Any, table: Any) -> None:
    """openpyxl's ``read_string_table`` into ``table`` (a list or SpilledStrings), with the parsed XML
    let go as it is read: a plain string (one ``<t>``) is taken directly, rich text through openpyxl."""
    from openpyxl.cell.text import Text
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    si, t = f"{{{SHEET_MAIN_NS}}}si", f"{{{SHEET_MAIN_NS}}}t"
    root = None
    for event, node in iterparse(source, events=("start", "end")):
        if root is None:
            root = node
        if event != "end" or node.tag != si:
            continue
        children = list(node)
        if len(children) == 1 and children[0].tag == t and not len(children[0]):
            text = children[0].text or ""
        else:
            text = Text.from_tree(node).content
        table.append(text.replace("x005F_", ""))
        node.clear()
        root.clear()  # the cleared <si> elements would otherwise pile up under the root


def _dimensions(source: Any) -> tuple[int, int, int, int] | None:
    """The sheet's ``<dimension>`` (first column, first row, last column, last row), read from the
    part of the sheet before its cells: None if it has none.

    openpyxl's own check reads to the *end* of ``sheetData`` when the element is missing (as in a
    workbook saved by openpyxl's write-only mode), keeping every row it passes, emptied, until the
    end: about 45 MiB for a 500,000-row sheet. The element comes before ``sheetData`` in a
    worksheet, so the search stops where the cells start, whatever the sheet's size."""
    from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG
    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.functions import iterparse

    for event, element in iterparse(source, events=("start", "end")):
        if event == "start":
            if element.tag == DATA_TAG:
                return None
        elif element.tag == DIMENSION_TAG:
            boundaries: tuple[int, int, int, int] = SheetDimension.from_tree(element).boundaries
            return boundaries
    return None


def _reader(path: Path) -> Any:
    """An openpyxl ExcelReader whose shared strings are read by ``_read_strings`` and whose sheets'
    sizes are read by ``_dimensions``; ``.spilled`` is the scratch table to close, if one was made."""
    from openpyxl.reader.excel import SHARED_STRINGS, ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Sheet(ReadOnlyWorksheet):  # type: ignore[misc]
        def _get_size(self) -> None:
            with self._get_source() as src:
                dimensions = _dimensions(src)
            if dimensions is not None:
                self._min_column, self._min_row, self._max_column, self._max_row = dimensions

    class Reader(ExcelReader):  # type: ignore[misc]
        spilled: SpilledStrings | None = None

        def read_worksheets(self) -> None:
            """openpyxl's read-only branch of ``read_worksheets``, each sheet sized by ``Sheet``."""
            for sheet, rel in self.parser.find_sheets():
                if rel.target not in self.valid_files:
                    continue
                if "chartsheet" in rel.Type:
                    self.read_chartsheet(sheet, rel)
                    continue
                ws = Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
                ws.sheet_state = sheet.state
                self.wb._sheets.append(ws)

        def read_strings(self) -> None:
            ct = self.package.find(SHARED_STRINGS)
            if ct is None:
                return
            name = ct.PartName[1:]
            table: Any = []
            if self.archive.getinfo(name).file_size > SPILL_BYTES:
                table = self.spilled = SpilledStrings()
            with self.archive.open(name) as src:
                _read_strings(src, table)
            if self.spilled is not None:
                self.spilled.done()
            self.shared_strings = table

    reader = Reader(path, read_only=True, data_only=True)
    try:
        reader.read()
    except BaseException:
        if reader.spilled is not None:
            reader.spilled.close()
        reader.archive.close()
        raise
    return reader


def _values(ws: Any) -> Iterator[tuple[Any, ...]]:
    """``ws.iter_rows(values_only=True)`` of a read-only sheet, openpyxl's own loop and cell reading,
    but with each row let go once read: openpyxl clears a parsed row and leaves it, empty, under the
    sheet's ``sheetData``, some 100 bytes a row (50 MiB for a 500,000-row matrix)."""
    from openpyxl.worksheet._reader import ROW_TAG, WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    sheet_data = f"{{{SHEET_MAIN_NS}}}sheetData"

    class Parser(WorkSheetParser):  # type: ignore[misc]
        def parse(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
            parent = None  # only rows matter for values: the sheet's other parts are not read
            for event, element in iterparse(self.source, events=("start", "end")):
                if event == "start":
                    if element.tag == sheet_data:
                        parent = element
                elif element.tag == ROW_TAG:
                    row = self.parse_row(element)
                    element.clear()
                    if parent is not None:
                        parent.clear()
                    yield row

    wb = ws.parent
    min_col = min_row = 1
    max_col, max_row = ws.max_column, ws.max_row
    empty_row: tuple[None, ...] = () if max_col is None else (None,) * (max_col + 1 - min_col)
    counter, idx = min_row, 1
    with ws._get_source() as src:
        parser = Parser(
            src,
            ws._shared_strings,
            data_only=wb.data_only,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        for idx, row in parser.parse():
            if max_row is not None and idx > max_row:
                break
            for _ in range(counter, idx):  # some rows are missing
                counter += 1
                yield empty_row
            if counter <= idx:
                counter += 1
                yield ws._get_row(row, min_col, max_col, values_only=True)
    if max_row is not None and max_row < idx:
        for _ in range(counter, max_row + 1):
            yield empty_row


def records(path: Path) -> tuple[list[str], Iterator[dict[str, str]]]:
    """The first sheet's header, and its rows as text the way the CSV reader gives them, read one at a
    time (openpyxl's read-only mode streams the sheet): a 500,000-row workbook is never held whole."""
    header, rows = cells(path)

    def each() -> Iterator[dict[str, str]]:
        for values in rows:
            rec: dict[str, str] = {}
            for name, text in zip(header, values, strict=False):
                if name:
                    rec[name] = text
            for name in header:
                if name:
                    rec.setdefault(name, "")  # a short row: its missing cells are empty
            yield rec

    return header, each()


def cells(path: Path) -> tuple[list[str], Iterator[list[str]]]:
    """The first sheet's header, and each row as the text of its cells (not stripped, as many as the
    row has), read one at a time."""
    import datetime as dt

    reader = _reader(path)
    wb = reader.wb

    def close() -> None:
        wb.close()
        if reader.spilled is not None:
            reader.spilled.close()

    try:
        rows = _values(wb.worksheets[0])
        header_row = next(rows, None) or ()
    except BaseException:
        close()
        raise
    header = [str(h).strip() if h is not None else "" for h in header_row]

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            # Excel keeps a date as a date-time at midnight; a time of day means the cell is not
            # a date, and its full text lets the strict date check say so rather than drop the time.
            return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    def each() -> Iterator[list[str]]:
        try:
            for values in rows:
                yield [text(v) for v in values]
        finally:
            close()

    return header, each()


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The first sheet as a header and a list of rows (for small sheets)."""
    header, rows = records(path)
    return header, list(rows)
