"""The workbook reader gives every kind of cell as openpyxl's own read-only reading did, whether the
shared strings are held in memory or spilled to the scratch file (the large-workbook path)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import pytest

from signoff.services import xlsx_input

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        '<sheets><sheet name="Matrix" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        '<Relationship Id="rId2" Target="styles.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"/>'
        '<Relationship Id="rId3" Target="sharedStrings.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
        "</Relationships>"
    ),
    # cell style 0 is General, 1 a date (built-in format 14), 2 a date and time (built-in format 22)
    "xl/styles.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
    # 0-2: the header; 3 plain; 4 rich text in runs; 5 with a phonetic run, not part of the text;
    # 6 an empty <t/>; 7 Excel's escape of an underscore sequence; 8 spaces kept
    "xl/sharedStrings.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="9" uniqueCount="9">'
        "<si><t>item_ref</t></si><si><t>present_by</t></si><si><t> evidence_owner </t></si>"
        "<si><t>Shared café</t></si>"
        '<si><r><t>Rich </t></r><r><rPr><b/></rPr><t xml:space="preserve">and bold</t></r></si>'
        '<si><t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh></si>'
        "<si><t/></si>"
        "<si><t>a_x005F_x000D_b</t></si>"
        '<si><t xml:space="preserve">  padded  </t></si>'
        "</sst>"
    ),
    "xl/worksheets/sheet1.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
        '<c r="E1" t="inlineStr"><is><t>inline head</t></is></c></row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Inline text</t></is></c><c r="B2" t="s"><v>3</v></c>'
        '<c r="C2"><v>42</v></c><c r="D2"><v>3.5</v></c><c r="E2" s="1"><v>41608</v></c>'
        '<c r="F2" s="2"><v>41608.625</v></c><c r="G2" t="b"><v>1</v></c>'
        '<c r="H2" t="str"><f>A2</f><v>formula text</v></c><c r="I2" t="e"><v>#N/A</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>4</v></c><c r="B3" t="s"><v>5</v></c><c r="C3" t="s"><v>6</v></c>'
        '<c r="D3" t="s"><v>7</v></c><c r="E3" t="s"><v>8</v></c><c r="F3"/>'
        '<c r="G3" t="inlineStr"><is><r><t>in</t></r><r><t>line runs</t></r></is></c></row>'
        # row 4 is missing: a gap read as an empty row; row 5 has a cell skipped and a date as a number
        '<row r="5"><c r="B5" s="1"><v>45000</v></c><c r="D5"><v>1E+20</v></c></row>'
        # cells without coordinates follow one another
        '<row><c><v>7</v></c><c t="inlineStr"><is><t>next</t></is></c></row>'
        "</sheetData></worksheet>"
    ),
}

EXPECTED = [
    ["Inline text", "Shared café", "42", "3.5", "2013-11-30", "2013-11-30 15:00:00", "True", "formula text", "#N/A"],
    ["Rich and bold", "漢字", "", "a_x000D_b", "  padded  ", "", "inline runs"],
    [],
    ["", "2023-03-15", "", "1e+20"],
    ["7", "next"],
]


def workbook(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in PARTS.items():
            z.writestr(name, text)
    return path


def openpyxl_reading(path: Path) -> tuple[list[str], list[list[str]]]:
    """What the reader gave before it kept its own shared strings: openpyxl's load_workbook, as is."""
    from openpyxl import load_workbook

    def text(value: Any) -> str:
        if isinstance(value, dt.datetime):
            return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
        if isinstance(value, dt.date):
            return value.isoformat()
        return "" if value is None else str(value)

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = [[text(v) for v in values] for values in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()
    return [str(h).strip() if h else "" for h in rows[0]], rows[1:]


@pytest.mark.parametrize("spill", [False, True], ids=["strings-in-memory", "strings-spilled"])
def test_every_kind_of_cell_reads_as_openpyxl_read_it(spill: bool, tmp_path: Path, monkeypatch: Any) -> None:
    if spill:
        monkeypatch.setattr(xlsx_input, "SPILL_BYTES", 0)
    path = workbook(tmp_path / "cells.xlsx")
    header, rows = xlsx_input.cells(path)
    got = list(rows)
    assert header == ["item_ref", "present_by", "evidence_owner", "", "inline head"]
    # openpyxl pads each row to the sheet's widest; what matters is the cells it has
    assert [r[: len(e)] for r, e in zip(got, EXPECTED, strict=True)] == EXPECTED
    assert all(not any(r[len(e) :]) for r, e in zip(got, EXPECTED, strict=True))
    assert (header, got) == openpyxl_reading(path)


def test_spilled_strings_are_looked_up_past_the_cache_and_refuse_an_index_out_of_range() -> None:
    table = xlsx_input.SpilledStrings()
    try:
        table.CACHE = 2
        for n in range(2500):  # more than one batch
            table.append(f"text {n}")
        table.done()
        assert len(table) == 2500
        assert [table[i] for i in (0, 1999, 2499, 0, 7)] == ["text 0", "text 1999", "text 2499", "text 0", "text 7"]
        with pytest.raises(IndexError):
            table[2500]
    finally:
        table.close()


def test_records_keep_the_named_columns_and_fill_short_rows(tmp_path: Path) -> None:
    _, records = xlsx_input.read(workbook(tmp_path / "cells.xlsx"))
    assert records[0] == {
        "item_ref": "Inline text",
        "present_by": "Shared café",
        "evidence_owner": "42",
        "inline head": "2013-11-30",
    }
    assert records[2] == {"item_ref": "", "present_by": "", "evidence_owner": "", "inline head": ""}


def big_sheet(dimension: str = "", rows: int = 20_000) -> bytes:
    body = "".join(
        f'<row r="{n}"><c r="A{n}"><v>{n}</v></c><c r="B{n}"><v>{n}</v></c></row>' for n in range(1, rows + 1)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetPr/>{dimension}'
        f'<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetData>{body}</sheetData></worksheet>'
    ).encode()


@pytest.mark.parametrize("dimension", ["", '<dimension ref="A1:B20000"/>'], ids=["unsized", "sized"])
def test_a_sheets_size_is_read_from_before_its_cells_whether_or_not_it_records_one(dimension: str) -> None:
    import io

    source = io.BytesIO(big_sheet(dimension))
    found = xlsx_input._dimensions(source)
    assert found == ((1, 1, 2, 20_000) if dimension else None)
    # openpyxl's own check, for a sheet without the element, reads all of it (and holds every row
    # it passes until the end); this one stops where the cells start, a chunk or so into the sheet
    assert source.tell() <= 64 * 1024 < len(source.getvalue()) // 10


def test_a_workbook_without_its_size_is_opened_unsized_and_read_whole(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Matrix")
    for n in range(1, 301):
        ws.append([f"ref {n}", n] if n % 3 else [f"ref {n}"])
    wb.save(tmp_path / "unsized.xlsx")
    reader = xlsx_input._reader(tmp_path / "unsized.xlsx")
    try:
        sheet = reader.wb.worksheets[0]
        assert (sheet.max_row, sheet.max_column) == (None, None)
    finally:
        reader.wb.close()
    header, rows = xlsx_input.cells(tmp_path / "unsized.xlsx")
    got = [header, *rows]
    assert len(got) == 300 and got[299] == ["ref 300"] and got[298] == ["ref 299", "299"]
