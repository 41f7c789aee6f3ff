"""A workbook whose sheet does not record its size (no ``<dimension>`` element, as openpyxl's
write-only mode saves it) imports exactly as the same workbook with the element (as Excel saves it):
the matrix and the evidence sheet alike, cells and gaps included."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import SECRETARY, days_ago

from signoff.domain.matrix import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from signoff.services.evidence_import import COLUMNS

LATER = days_ago(-30)
SHEET = "xl/worksheets/sheet1.xml"


def write_only(path: Path, rows: list[list[Any]]) -> Path:
    """Saved by openpyxl's write-only mode: no ``<dimension>``; an empty cell is not written at all."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet")
    for r in rows:
        ws.append(r)
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        assert b"<dimension" not in z.read(SHEET)
    return path


def with_dimension(src: Path, dest: Path, ref: str) -> Path:
    """The same workbook, part for part, with ``<dimension ref=...>`` where Excel puts it."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == SHEET:
                data, n = re.subn(
                    rb"(<worksheet[^>]*>(?:<sheetPr>.*?</sheetPr>|<sheetPr[^>]*/>)?)",
                    rb'\1<dimension ref="' + ref.encode() + b'"/>',
                    data,
                    count=1,
                )
                assert n == 1 and b"<dimension" in data
            zout.writestr(info, data)
    from openpyxl import load_workbook

    wb = load_workbook(dest, read_only=True)
    try:
        assert wb.worksheets[0].calculate_dimension() == ref  # openpyxl reads the size it records
    finally:
        wb.close()
    return dest


def pair(folder: Path, rows: list[list[Any]], ref: str) -> tuple[Path, Path]:
    """The sheet without and with its size, each under the same file name (the name is in the output)."""
    (folder / "without").mkdir(parents=True)
    (folder / "with").mkdir()
    bare = write_only(folder / "without" / "sheet.xlsx", rows)
    return bare, with_dimension(bare, folder / "with" / "sheet.xlsx", ref)


def copy_register(src: Path, dest: Path) -> Path:
    with sqlite3.connect(src) as a, sqlite3.connect(dest) as b:
        a.backup(b)
    return dest


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        return {
            "items": conn.execute("SELECT id, ref, kind, title, owner, due, original_due, state FROM items").fetchall(),
            "matrix_rows": conn.execute("SELECT * FROM matrix_rows ORDER BY id").fetchall(),
            "evidence": conn.execute(
                "SELECT id, item_id, key, kind, note, sha256, dated, measure, value, unit, period, threshold,"
                " direction FROM evidence ORDER BY id"
            ).fetchall(),
        }


def test_a_workbook_that_does_not_record_its_size_imports_as_one_that_does(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    due = dt.datetime.combine(LATER, dt.time())
    header = [*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]
    matrix = [
        header,
        ["OF-01", "ofsted-recommendation", "Screen contacts", due, "audit", "Case audit", LATER, "Head", "Lead A"],
        # no evidence_owner: the row is a cell shorter than the sheet's recorded width
        ["OF-01", "ofsted-recommendation", "Screen contacts", due, "policy", "Policy", LATER.isoformat(), "Head"],
        [],  # a blank row between items, written as no row at all
        ["OF-02", "improvement-notice", "Caseloads", LATER.isoformat(), "data", "Caseload data", due, None, "Lead"],
    ]
    evidence = [
        list(COLUMNS),
        ["OF-01", "audit", days_ago(2), "Audit of 40 cases"],
        ["OF-02", "data", days_ago(1), None, None, "A1", 12.5, "days", "2026", 14, "at-most"],
    ]
    regs = {"without": db_path, "with": copy_register(db_path, tmp_path / "register-with.db")}
    m = dict(zip(("without", "with"), pair(tmp_path / "m", matrix, "A1:I5"), strict=True))
    e = dict(zip(("without", "with"), pair(tmp_path / "e", evidence, "A1:K3"), strict=True))

    outputs = {}
    for side, db in regs.items():
        mr = run_cli("matrix", "import", str(m[side]), db=db, actor=SECRETARY)
        er = run_cli("evidence", "import", str(e[side]), db=db, actor=SECRETARY)
        assert mr.code == 0 and er.code == 0, (side, mr.err, er.err)
        outputs[side] = (mr.out, er.out)
    assert outputs["without"] == outputs["with"]
    got, want = dump(regs["without"]), dump(regs["with"])
    assert got == want
    assert len(got["items"]) == 2 and len(got["matrix_rows"]) == 3 and len(got["evidence"]) == 2
    assert [r[2:] for r in got["matrix_rows"]][1] == ("policy", "Policy", LATER.isoformat(), None)
    assert run_cli("audit", "verify", db=regs["without"]).code == 0


def test_a_workbook_without_its_size_refuses_a_bad_row_as_one_with_it(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    header = [*REQUIRED_COLUMNS]
    matrix = [
        header,
        ["OF-01", "ofsted-recommendation", "Screen contacts", LATER, "audit", "Case audit", LATER],
        ["OF-02", "ofsted-recommendation", "Caseloads", "20261130", "data", "Caseload data", LATER],
    ]
    bare, sized = pair(tmp_path, matrix, "A1:G3")
    first = run_cli("matrix", "import", str(bare), db=db_path, actor=SECRETARY)
    second = run_cli("matrix", "import", str(sized), db=db_path, actor=SECRETARY)
    assert first.code == second.code != 0
    assert first.err == second.err and "line 3" in first.err
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == 0


def damaged(src: Path, dest: Path) -> Path:
    """The workbook with its sheet's XML broken after the first rows (a file cut short, or edited by
    hand): a reader that does not walk the sheet at opening meets the break only as it reads rows."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == SHEET:
                data = data.replace(b'<row r="3"', b'<row r="3"><c r="A3"><v>1</c>', 1)
            zout.writestr(info, data)
    return dest


def test_a_sheet_broken_past_its_first_rows_is_refused_in_one_sentence_and_nothing_written(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    matrix = [[*REQUIRED_COLUMNS]] + [
        [f"OF-0{n}", "ofsted-recommendation", "Screen contacts", LATER, "audit", "Case audit", LATER] for n in (1, 2, 3)
    ]
    evidence = [list(COLUMNS)] + [["OF-01", "audit", days_ago(2), f"Note {n}"] for n in (1, 2, 3)]
    for name, rows in (("matrix", matrix), ("evidence", evidence)):
        if name == "evidence":
            ok = run_cli("matrix", "import", str(write_only(tmp_path / "m.xlsx", matrix)), db=db_path, actor=SECRETARY)
            assert ok.code == 0, ok.err
        before = dump(db_path)
        bad = damaged(write_only(tmp_path / f"{name}-whole.xlsx", rows), tmp_path / f"{name}.xlsx")
        r = run_cli(name, "import", str(bad), db=db_path, actor=SECRETARY)
        assert r.code == 2, (name, r.err)
        assert r.err.count("\n") == 1 and "not a readable Excel workbook" in r.err and "Traceback" not in r.err
        assert dump(db_path) == before
