"""A CLI that forgives habits: each wall a board's secretary, chair or auditor ran into, through the
real CLI in a subprocess against a real register."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAIR, SECRETARY, days_ago, write_matrix

TODAY = days_ago(0).isoformat()
YESTERDAY = days_ago(1).isoformat()
LATER = days_ago(-30).isoformat()


def one_line(r: Any, code: int, *fragments: str) -> str:
    assert r.code == code, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("signoff: "), r.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def reg(db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]) -> Path:
    rows = [
        ("OF-01", "ofsted-recommendation", "Screen contacts", LATER, "audit", "Case audit", LATER),
        ("OF-02", "ofsted-recommendation", "Caseloads", LATER, "data", "Caseload data", LATER),
    ]
    r = run_cli("matrix", "import", str(write_matrix(tmp_path / "m.csv", rows)), db=db_path, actor=SECRETARY)
    assert r.code == 0, r.err
    return db_path


def counts(db: Path) -> tuple[int, ...]:
    with sqlite3.connect(db) as conn:
        return tuple(
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("items", "evidence", "reschedules")
        )


def test_global_options_work_after_the_command(reg: Path, run_cli: Callable[..., Any]) -> None:
    r = run_cli("board", "--as", "nobody", "--db", str(reg), "--json")
    assert r.code == 0, r.err
    assert {i["ref"] for i in json.loads(r.out)["items"]} == {"OF-01", "OF-02"}
    r = run_cli("user", "add", "zed", "--role", "member", "--db", str(reg), "--as", SECRETARY)
    assert r.code == 0, r.err
    # Given after the command, they win over those given before it.
    r = run_cli("user", "add", "amy", "--role", "member", "--as", SECRETARY, db=reg, actor=CHAIR)
    assert r.code == 0, r.err
    names = {u["name"] for u in json.loads(run_cli("user", "list", "--json", "--db", str(reg)).out)}
    assert {"zed", "amy"} <= names


def test_a_top_level_typo_gets_a_suggestion(run_cli: Callable[..., Any]) -> None:
    one_line(run_cli("borad"), 2, "No such command 'borad'", "did you mean 'board'")
    one_line(run_cli("xyzzy"), 2, "No such command 'xyzzy'")


def test_init_creates_a_missing_folder(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    db = tmp_path / "board" / "2026" / "register.db"
    r = run_cli("init", "--secretary", SECRETARY, db=db)
    assert r.code == 0, r.err
    assert run_cli("audit", "verify", db=db).code == 0
    (tmp_path / "a-file").write_text("x")
    one_line(run_cli("init", "--secretary", SECRETARY, db=tmp_path / "a-file" / "r.db"), 2, "is a file, not a folder")
    one_line(run_cli("init", "--secretary", SECRETARY, db=tmp_path / "a-file" / "b" / "r.db"), 2, "cannot create")


def test_a_bad_matrix_lists_one_line_per_bad_row_with_column_counts(
    reg: Path, run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    good = "OF-05,ofsted-recommendation,Title,,k1,Desc," + LATER
    path.write_text(
        "item_ref,item_kind,item_title,item_due,evidence_key,evidence_description,present_by\n"
        f"{good}\nOF-06,ofsted-recommendation,Title\n{good},extra,cells\n",
        encoding="utf-8",
    )
    r = run_cli("matrix", "import", str(path), db=reg, actor=SECRETARY)
    assert r.code == 2
    assert r.err.strip().splitlines() == [
        "signoff: bad.csv has 2 bad row(s) and nothing was imported:",
        "line 3: wrong number of columns (expected 7, found 3)",
        "line 4: wrong number of columns (expected 7, found 9)",
    ]


def test_a_refused_approval_names_amend(reg: Path, run_cli: Callable[..., Any]) -> None:
    def ok(*args: str, actor: str = SECRETARY) -> None:
        r = run_cli(*args, db=reg, actor=actor)
        assert r.code == 0, (args, r.err)

    ok("evidence", "add", "OF-01", "audit", "--note", "Forty files audited", "--dated", YESTERDAY)
    ok("submit", "OF-01")
    ok("evidence", "add", "OF-01", "audit", "--note", "Forty-two files audited", "--dated", TODAY)
    line = one_line(run_cli("approve", "OF-01", "--meeting", TODAY, db=reg, actor=CHAIR), 3)
    assert "signoff amend" in line and "re-submit" not in line
    ok("amend", "OF-01")
    ok("approve", "OF-01", "--meeting", TODAY, actor=CHAIR)


def test_exit_codes_match_the_readme(reg: Path, run_cli: Callable[..., Any]) -> None:
    one_line(
        run_cli("approve", "OF-01", "--meeting", TODAY, "--override-reason", "  ", db=reg, actor=CHAIR),
        2,
        "override reason is empty",
    )
    one_line(run_cli("audit", "export", "--item", "NOPE", db=reg), 4, "no item 'NOPE'")
    # A ref only a refused attempt named is still a fair filter for an auditor.
    assert run_cli("submit", "OF-9", db=reg, actor=SECRETARY).code == 4
    r = run_cli("audit", "export", "--item", "OF-9", "--format", "jsonl", db=reg)
    assert r.code == 0 and json.loads(r.out.splitlines()[0])["outcome"] == "refused"


def test_an_output_name_must_match_the_format(reg: Path, run_cli: Callable[..., Any], tmp_path: Path) -> None:
    one_line(run_cli("report", "--meeting", TODAY, "-o", str(tmp_path / "pack.xlsx"), db=reg), 2, "pack.xlsx")
    one_line(
        run_cli("report", "--meeting", TODAY, "--format", "html", "-o", str(tmp_path / "pack.md"), db=reg), 2, ".html"
    )
    one_line(run_cli("audit", "export", "--format", "jsonl", "-o", str(tmp_path / "log.csv"), db=reg), 2, ".jsonl")
    assert not list(tmp_path.glob("pack.*")) and not (tmp_path / "log.csv").exists()
    # Without --format, the file's extension picks it.
    assert run_cli("report", "--meeting", TODAY, "-o", str(tmp_path / "pack.md"), db=reg).code == 0
    assert (tmp_path / "pack.md").read_text(encoding="utf-8").startswith("#")
    assert run_cli("audit", "export", "-o", str(tmp_path / "log.jsonl"), db=reg).code == 0
    json.loads((tmp_path / "log.jsonl").read_text(encoding="utf-8").splitlines()[0])


def test_dates_that_cannot_be_right_are_refused_at_entry(
    reg: Path, run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    before = counts(reg)
    tomorrow = days_ago(-1).isoformat()
    one_line(
        run_cli("evidence", "add", "OF-01", "audit", "--note", "x", "--dated", tomorrow, db=reg, actor=SECRETARY),
        2,
        "after today",
    )
    one_line(
        run_cli("item", "reschedule", "OF-01", "--due", YESTERDAY, "--reason", "x", db=reg, actor=SECRETARY),
        2,
        "is in the past",
    )
    rows = [("OF-07", "ofsted-recommendation", "Title", days_ago(-10).isoformat(), "k", "Desc", LATER)]
    r = run_cli("matrix", "import", str(write_matrix(tmp_path / "late.csv", rows)), db=reg, actor=SECRETARY)
    assert r.code == 2 and "line 2: present_by" in r.err and "after the item's due date" in r.err
    assert counts(reg) == before


def test_a_threshold_that_changes_between_periods_is_flagged(
    reg: Path, run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    for period, value, threshold in (("2012-15", "640", "639"), ("2013-16", "590", "600")):
        r = run_cli(
            "evidence", "add", "OF-02", "data", "--measure", "A1", "--value", value, "--unit", "days",
            "--period", period, "--threshold", threshold, "--direction", "at-most", "--dated", YESTERDAY,
            db=reg, actor=SECRETARY,
        )  # fmt: skip
        assert r.code == 0, r.err
    tracked = json.loads(run_cli("measures", "--json", db=reg).out)
    assert tracked[0]["threshold_changes"] == ["threshold changed from at-most 639 (2012-15) to at-most 600 (2013-16)"]
    assert "threshold changed from at-most 639" in run_cli("measures", db=reg).out
    pack = run_cli("report", "--meeting", TODAY, "--format", "md", db=reg).out
    assert "threshold changed from at-most 639 (2012-15) to at-most 600 (2013-16)" in pack


def test_restore_brings_back_the_register_and_its_evidence_files(
    reg: Path, run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    paper = tmp_path / "audit.pdf"
    paper.write_bytes(b"%PDF-1.4 forty files")
    r = run_cli(
        "evidence", "add", "OF-01", "audit", "--file", str(paper), "--dated", YESTERDAY, db=reg, actor=SECRETARY
    )
    assert r.code == 0, r.err
    backup = tmp_path / "saved" / "register-backup.db"
    backup.parent.mkdir()
    assert run_cli("db", "backup", str(backup), db=reg).code == 0

    # Onto a new machine: a fresh path, nothing beside it; the files come with the database.
    fresh = tmp_path / "elsewhere" / "register.db"
    fresh.parent.mkdir()
    r = run_cli("db", "restore", str(backup), db=fresh)
    assert r.code == 0, r.err
    assert "1 evidence file(s)" in r.out
    assert run_cli("audit", "verify", db=fresh).code == 0
    assert run_cli("evidence", "verify", db=fresh).code == 0

    # The register moved on since the backup: restoring would lose a record, so it needs --force.
    r = run_cli("evidence", "add", "OF-01", "audit", "--note", "Later", "--dated", TODAY, db=reg, actor=SECRETARY)
    assert r.code == 0
    before = reg.read_bytes()
    one_line(run_cli("db", "restore", str(backup), db=reg), 3, "audit record(s) after the backup's last", "--force")
    assert reg.read_bytes() == before
    shutil.rmtree(reg.with_name(reg.name + ".evidence"))  # and the evidence folder was lost too
    r = run_cli("db", "restore", str(backup), "--force", db=reg)
    assert r.code == 0, r.err
    kept = [p for p in tmp_path.glob("register.db.bak-*") if not p.name.endswith(".evidence")]
    assert len(kept) == 1 and str(kept[0]) in r.out
    assert run_cli("evidence", "verify", db=reg).code == 0
    notes = json.loads(run_cli("evidence", "list", "OF-01", "--json", db=reg).out)
    assert [e["kind"] for e in notes] == ["file"]
    assert run_cli("audit", "verify", db=kept[0]).code == 0  # what was replaced is still there


def test_restore_refuses_a_backup_that_does_not_verify(reg: Path, run_cli: Callable[..., Any], tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    assert run_cli("db", "backup", str(backup), db=reg).code == 0
    with sqlite3.connect(backup) as conn:
        conn.execute("DROP TRIGGER IF EXISTS items_no_delete")
        conn.execute("UPDATE items SET title = 'Edited behind the log' WHERE ref = 'OF-01'")
    fresh = tmp_path / "new.db"
    r = run_cli("db", "restore", str(backup), db=fresh)
    assert r.code == 1 and "does not verify" in r.err and "nothing was restored" in r.err
    assert not fresh.exists()
    one_line(run_cli("db", "restore", str(tmp_path / "nope.db"), db=fresh), 2, "does not exist")
