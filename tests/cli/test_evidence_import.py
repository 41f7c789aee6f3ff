"""`evidence import`: many records from one sheet, checked whole first, written in one transaction
with the very audit records `evidence add` writes, so the replayed chain rebuilds them unchanged."""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAIR, SECRETARY, days_ago, write_matrix

from signoff.services import audit
from signoff.services.evidence_import import COLUMNS

YESTERDAY = days_ago(1).isoformat()
LATER = days_ago(-30).isoformat()


def sheet(path: Path, rows: list[dict[str, str]], header: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(c, "") for c in header])
    return path


def row(ref: str, key: str, **cells: str) -> dict[str, str]:
    return {"item_ref": ref, "evidence_key": key, "dated": YESTERDAY, **cells}


@pytest.fixture
def reg(db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]) -> Path:
    rows = [
        ("OF-01", "ofsted-recommendation", "Screen contacts", LATER, "audit", "Case audit", LATER),
        ("OF-01", "ofsted-recommendation", "Screen contacts", LATER, "policy", "Policy", LATER),
        ("OF-02", "ofsted-recommendation", "Caseloads", LATER, "data", "Caseload data", LATER),
    ]
    r = run_cli("matrix", "import", str(write_matrix(tmp_path / "m.csv", rows)), db=db_path, actor=SECRETARY)
    assert r.code == 0, r.err
    return db_path


def applied(db: Path, event: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT * FROM audit WHERE event = ? AND outcome = 'applied' ORDER BY seq", (event,)
        ).fetchall()
    return [dict(r) for r in rows]


def counts(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        return (
            conn.execute("SELECT count(*) FROM evidence").fetchone()[0],
            conn.execute("SELECT count(*) FROM audit WHERE outcome = 'applied'").fetchone()[0],
        )


def test_a_sheet_of_notes_files_and_measures_is_one_command_and_replays(
    reg: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "audit.pdf").write_bytes(b"%PDF-1.4 forty files audited")
    rows = [
        row("OF-01", "audit", file="audit.pdf"),
        row("OF-01", "policy", note="Policy agreed by the executive group"),
        row("OF-02", "data", measure="caseload", value="19.5", unit="cases", period="2026-Q3", threshold="20")
        | {"direction": "at-most"},
    ]
    # File paths are relative to the sheet, not to where the command runs.
    r = run_cli("evidence", "import", str(sheet(papers / "evidence.csv", rows)), db=reg, actor=SECRETARY)
    assert r.code == 0, r.err
    assert "Imported 3 evidence record(s) for 2 item(s)" in r.out

    shown = json.loads(run_cli("evidence", "list", "OF-01", "--json", db=reg).out)
    assert [(e["key"], e["kind"], e["file_name"] or e["note"]) for e in shown] == [
        ("audit", "file", "audit.pdf"),
        ("policy", "note", "Policy agreed by the executive group"),
    ]
    matrix = json.loads(run_cli("matrix", "show", "OF-01", "--json", db=reg).out)
    assert all(m["covered"] for m in matrix)

    # One evidence.add record per evidence record, all in the one transaction (one time).
    added = applied(reg, "evidence.add")
    assert len(added) == 3 and len({a["recorded_at"] for a in added}) == 1
    assert [a["item_ref"] for a in added] == ["OF-01", "OF-01", "OF-02"]
    measure = json.loads(added[2]["detail"])
    assert (measure["measure"], measure["value"], measure["threshold"], measure["direction"]) == (
        "caseload",
        "19.5",
        "20.0",
        "at-most",
    )
    report, _, reconciled = audit.verify_register(reg)
    assert report.ok and reconciled.problems == [] and reconciled.differences == []
    assert run_cli("audit", "verify", db=reg).code == 0
    assert run_cli("evidence", "verify", db=reg).code == 0


def test_an_imported_record_is_audited_exactly_as_evidence_add_audits_it(
    reg: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    by_hand = ["OF-02", "data", "--measure", "A1", "--value", "639", "--unit", "days", "--period", "2010-13"]
    r = run_cli(
        "evidence",
        "add",
        *by_hand,
        "--threshold",
        "639",
        "--direction",
        "at-most",
        "--dated",
        YESTERDAY,
        db=reg,
        actor=SECRETARY,
    )
    assert r.code == 0, r.err
    cells = {"measure": "A1", "value": "639", "unit": "days", "period": "2010-13", "threshold": "639"}
    rows = [row("OF-02", "data", **cells, direction="at-most")]
    r = run_cli("evidence", "import", str(sheet(tmp_path / "e.csv", rows)), db=reg, actor=SECRETARY)
    assert r.code == 0, r.err
    first, second = applied(reg, "evidence.add")
    a, b = json.loads(first["detail"]), json.loads(second["detail"])
    assert a.pop("evidence_id") + 1 == b.pop("evidence_id")
    assert a.pop("item_prev") < b.pop("item_prev")  # each links to the item's record before it
    assert a == b
    same = ("actor", "roles", "event", "item_ref", "from_state", "to_state", "workflow_hash")
    assert {k: first[k] for k in same} == {k: second[k] for k in same}


def test_one_bad_row_rejects_the_sheet_and_every_bad_line_is_listed(
    reg: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    rows = [
        row("OF-01", "policy", note="fine"),  # line 2: good
        row("OF-01", "policy", note="two kinds", measure="x"),  # line 3
        row("OF-01", "policy", note="late", dated="2026-13-01"),  # line 4
        row("OF-01", "audit", file="missing.pdf"),  # line 5
        row("OF-01", "policy", note="post-dated", dated=days_ago(-3).isoformat()),  # line 6
        row("OF-02", "data", measure="A1", value="many", threshold="3", direction="sideways"),  # line 7
        row("OF-01", "policy", note="fine too"),  # line 8: good
    ]
    path = sheet(tmp_path / "bad.csv", rows)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("OF-01,policy,2020-01-01,short row\n")  # line 9
    before = counts(reg)
    r = run_cli("evidence", "import", str(path), db=reg, actor=SECRETARY)
    assert r.code == 2, r.err
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert lines[0].startswith("signoff: bad.csv has 6 bad row(s) and nothing was imported")
    assert [ln.split(":")[0] for ln in lines[1:]] == ["line 3", "line 4", "line 5", "line 6", "line 7", "line 9"]
    assert "exactly one of note, file or measure (found note, measure)" in lines[1]
    assert "dated '2026-13-01' is not a YYYY-MM-DD date" in lines[2]
    assert "missing.pdf does not exist" in lines[3]
    assert "is after today" in lines[4]
    assert "value 'many' is not a number" in lines[5] and "direction 'sideways'" in lines[5]
    assert lines[6] == "line 9: wrong number of columns (expected 11, found 4)"
    assert counts(reg) == before


def test_rows_the_register_cannot_take_reject_the_sheet_and_the_attempt_is_audited(
    reg: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    rows = [
        row("OF-01", "policy", note="fine"),
        row("OF-09", "policy", note="no such item"),
        row("OF-02", "nokey", note="no such row"),
    ]
    before = counts(reg)
    r = run_cli("evidence", "import", str(sheet(tmp_path / "e.csv", rows)), db=reg, actor=SECRETARY)
    assert r.code == 2, r.err
    lines = r.err.strip().splitlines()
    assert lines[1] == "line 3: unknown item 'OF-09' (see 'signoff item list')"
    assert lines[2].startswith("line 4: OF-02 has no evidence matrix row 'nokey'")
    assert counts(reg) == before
    with sqlite3.connect(reg) as conn:
        refused = conn.execute("SELECT actor, detail FROM audit WHERE event = 'evidence.import'").fetchall()
    assert len(refused) == 1 and refused[0][0] == SECRETARY and "OF-09" in refused[0][1]

    r = run_cli("evidence", "import", str(sheet(tmp_path / "ok.csv", rows[:1])), db=reg, actor=CHAIR)
    assert r.code == 3 and "evidence import needs the role secretary" in r.err
    assert counts(reg) == before


def test_an_excel_sheet_imports_with_dates_and_numbers_as_excel_keeps_them(
    reg: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(COLUMNS))
    ws.append(["OF-01", "policy", dt.datetime.combine(days_ago(2), dt.time()), "Policy signed"])
    ws.append(["OF-02", "data", days_ago(1), None, None, "A1", 12.5, "days", "2026", 14, "at-most"])
    wb.save(tmp_path / "evidence.xlsx")
    r = run_cli("evidence", "import", str(tmp_path / "evidence.xlsx"), db=reg, actor=SECRETARY)
    assert r.code == 0, r.err
    data = json.loads(run_cli("evidence", "list", "OF-02", "--json", db=reg).out)
    assert [(e["measure"], e["value"], e["threshold"], e["dated"]) for e in data] == [
        ("A1", "12.5", "14.0", days_ago(1).isoformat())
    ]
    assert run_cli("audit", "verify", db=reg).code == 0


def test_a_sheet_with_a_wrong_header_says_which_columns(reg: Path, tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    path = sheet(tmp_path / "e.csv", [{"item_ref": "OF-01"}], header=("item_ref", "key", "dated"))
    r = run_cli("evidence", "import", str(path), db=reg, actor=SECRETARY)
    assert r.code == 2
    assert "missing column(s) evidence_key and unknown column(s) key" in r.err


def test_an_import_replays_on_either_backend(register_db: Path | str, tmp_path: Path) -> None:
    from signoff.services.evidence_import import import_evidence
    from signoff.services.matrix import import_matrix
    from signoff.services.views import item_detail

    rows = [("OF-01", "ofsted-recommendation", "Screen contacts", LATER, "audit", "Case audit", LATER)]
    import_matrix(register_db, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    (tmp_path / "audit.pdf").write_bytes(b"%PDF-1.4 audit")
    cells = {"measure": "A1", "value": "1", "threshold": "2", "direction": "at-most"}
    sheet_rows = [
        row("OF-01", "audit", file="audit.pdf"),
        row("OF-01", "audit", note="n"),
        row("OF-01", "audit", **cells),
    ]
    result = import_evidence(register_db, SECRETARY, sheet(tmp_path / "e.csv", sheet_rows))
    assert result.records == 3
    assert [e["kind"] for e in item_detail(register_db, "OF-01")["evidence"]] == ["file", "note", "measure"]
    report, _, reconciled = audit.verify_register(register_db)
    assert report.ok and reconciled.problems == [] and reconciled.differences == []


def test_a_bad_last_row_of_a_long_sheet_writes_nothing(reg: Path, tmp_path: Path) -> None:
    """Each pass reads the sheet a row at a time: the last of many rows still stops the whole sheet,
    whether the sheet itself is wrong (refused before the register is opened) or the register
    cannot take it (refused in the transaction, and audited)."""
    from signoff.errors import BadInput
    from signoff.services.evidence_import import import_evidence

    many = [row(("OF-01", "OF-02")[n % 2], ("audit", "data")[n % 2], note=f"minutes {n}") for n in range(600)]
    before = counts(reg)
    with pytest.raises(BadInput, match="line 602: dated"):
        import_evidence(
            reg, SECRETARY, sheet(tmp_path / "a.csv", [*many, row("OF-01", "audit", dated="soon", note="n")])
        )
    assert counts(reg) == before
    with pytest.raises(BadInput, match="line 602: unknown item 'OF-77'"):
        import_evidence(reg, SECRETARY, sheet(tmp_path / "b.csv", [*many, row("OF-77", "audit", note="n")]))
    assert counts(reg) == before
    with sqlite3.connect(reg) as conn:
        refused = conn.execute("SELECT detail FROM audit WHERE event = 'evidence.import'").fetchall()
    assert len(refused) == 1 and "OF-77" in refused[0][0]
    result = import_evidence(reg, SECRETARY, sheet(tmp_path / "c.csv", many))
    assert (result.records, result.items) == (600, 2)
    assert result.last_evidence_id is not None and result.first_evidence_id is not None
    assert result.last_evidence_id - result.first_evidence_id == 599


def test_an_import_on_sqlite_writes_and_audits_without_importing_the_orm(reg: Path, tmp_path: Path) -> None:
    """A sheet of thousands of records is read and written with plain statements: the ORM's import
    alone would take most of the command's memory budget."""
    import subprocess
    import sys

    (tmp_path / "audit.pdf").write_bytes(b"%PDF-1.4 audit")
    cells = {"measure": "A1", "value": "1", "unit": "days", "threshold": "2", "direction": "at-most"}
    rows = [row("OF-01", "audit", file="audit.pdf"), row("OF-01", "policy", note="n"), row("OF-02", "data", **cells)]
    path = sheet(tmp_path / "e.csv", rows)
    code = (
        "import sys\n"
        "from signoff.cli import main\n"
        f"sys.argv = ['signoff', '--db', {str(reg)!r}, '--as', 'sec', 'evidence', 'import', {str(path)!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'pydantic') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stderr, proc.stderr
    assert [json.loads(r["detail"])["kind"] for r in applied(reg, "evidence.add")] == ["file", "note", "measure"]
    report, _, reconciled = audit.verify_register(reg)
    assert report.ok and reconciled.problems == [] and reconciled.differences == []
