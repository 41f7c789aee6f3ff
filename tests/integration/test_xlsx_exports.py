"""The workbooks signoff writes say what its CSV and JSON say: the same headers (the audit's `hash`
included) and the same cells row for row, with the same formula guard: a cell starting with `=`, `+`,
`-`, `@`, a tab, a carriage return or an apostrophe gets one leading apostrophe, which a verifier
removes to read the value back exactly."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY

from signoff.domain.cells import FORMULA_LEADS, neutralise, restore
from signoff.domain.chain import EXPORT_FIELDS
from signoff.render import xlsx
from signoff.services.register import add_item, add_user

# Names a spreadsheet would run as formulas, and one that already starts with the escape itself.
RISKY = ["=SUM(1,1)", "+cmd", "-minus", "@at", "'quote"]


def _sheet(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    rows = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    wb.close()
    return rows


def _text(cell: Any) -> str:
    return "" if cell is None else str(cell)


@pytest.fixture
def risky_register(db_path: Path) -> Path:
    """A register where each risky name acts once, so each leads an `actor` cell, and items whose
    titles and owners lead with them."""
    for n, name in enumerate(RISKY):
        add_user(db_path, SECRETARY, name, ["secretary"])
        add_item(db_path, name, f"OF-{n:02}", "ofsted-recommendation", f"{name} title", owner=name)
    return db_path


def test_the_audit_workbook_has_the_csv_exports_headers_and_cells(
    risky_register: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    r = run_cli("audit", "export", "--format", "csv", db=risky_register)
    assert r.code == 0, r.err
    from_csv = list(csv.reader(io.StringIO(r.out)))
    r = run_cli("audit", "export", "--format", "xlsx", "-o", str(tmp_path / "audit.xlsx"), db=risky_register)
    assert r.code == 0, r.err
    from_xlsx = _sheet(tmp_path / "audit.xlsx")

    assert from_xlsx[0] == from_csv[0] == list(EXPORT_FIELDS)
    assert "hash" in from_xlsx[0]
    assert len(from_xlsx) == len(from_csv) > len(RISKY)
    for sheet_row, csv_row in zip(from_xlsx[1:], from_csv[1:], strict=True):
        assert [_text(c) for c in sheet_row] == csv_row
    actor = EXPORT_FIELDS.index("actor")
    actors = {row[actor] for row in from_xlsx[1:]}
    assert {"'" + name for name in RISKY} <= actors
    assert not any(a.startswith(tuple(FORMULA_LEADS)) for a in actors)
    assert {restore(a) for a in actors} >= set(RISKY)

    r = run_cli("audit", "export", "--format", "csv", "-o", str(tmp_path / "audit.csv"), db=risky_register)
    assert r.code == 0, r.err
    r = run_cli("audit", "verify-export", str(tmp_path / "audit.csv"))
    assert r.code == 0, r.err


def test_the_items_workbook_has_the_listings_columns_and_values(
    risky_register: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    r = run_cli("item", "list", "--json", db=risky_register)
    assert r.code == 0, r.err
    listed = json.loads(r.out)
    r = run_cli("item", "list", "-o", str(tmp_path / "items.xlsx"), db=risky_register)
    assert r.code == 0, r.err
    header, *rows = _sheet(tmp_path / "items.xlsx")
    assert set(header) <= set(listed[0])
    assert len(rows) == len(listed) == len(RISKY)
    for row, item in zip(rows, listed, strict=True):
        for name, cell in zip(header, row, strict=True):
            value = item[name]
            if isinstance(value, list):
                value = "; ".join(value)
            assert _text(cell) == _text(neutralise(value)), (item["ref"], name)
            assert value is None or restore(_text(cell)) == _text(value)
    titles = {row[header.index("title")] for row in rows}
    assert titles == {"'" + name + " title" for name in RISKY}


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r", "'"])
def test_every_formula_lead_is_neutralised_the_same_way_in_csv_and_workbook(lead: str, tmp_path: Path) -> None:
    """Tab and carriage return cannot reach a cell through the register's names, so they are checked
    on the writers themselves."""
    from signoff.services.audit import _python_line

    value = lead + "cmd|' /C calc'!A0"
    csv_cell = _python_line("csv")((value,))  # one field with no comma or quote: the line is the cell
    xlsx.write(tmp_path / "one.xlsx", "s", ["v"], [[value]])
    (sheet_cell,) = _sheet(tmp_path / "one.xlsx")[1]
    assert csv_cell == "'" + value
    # A workbook is XML, whose readers turn a carriage return into a line feed: the apostrophe is there
    # all the same, and every other lead reads back exactly.
    assert sheet_cell == "'" + (value.replace("\r", "\n") if lead == "\r" else value)
    assert restore(csv_cell) == value
    assert neutralise("plain") == "plain" and neutralise("") == "" and neutralise(5) == 5
