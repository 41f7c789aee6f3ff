"""Files the CLI writes and reads, and copies of a register: clear answers, nothing left behind."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest


def one_line(result: Any, code: int, fragment: str) -> None:
    assert result.code == code, result.err
    assert fragment in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "export", "-o", "{missing}/a.csv"],
        ["audit", "export", "--format", "xlsx", "-o", "{missing}/a.xlsx"],
        ["item", "list", "-o", "{missing}/items.xlsx"],
        ["report", "--meeting", "2026-01-01", "-o", "{missing}/pack.html"],
        ["audit", "export", "-o", "{folder}"],
    ],
)
def test_an_output_file_that_cannot_be_written_is_refused_up_front(
    run_cli: Any, demo_db: Path, tmp_path: Path, args: list[str]
) -> None:
    filled = [a.format(missing=tmp_path / "no-such-folder", folder=tmp_path) for a in args]
    result = run_cli(*filled, db=demo_db)
    one_line(result, 2, "folder")


def test_a_member_cannot_copy_the_register_and_nothing_is_created(run_cli: Any, demo_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    result = run_cli("db", "copy", "--to", str(target), db=demo_db, actor="dci.morgan")
    one_line(result, 3, "needs the role secretary")
    assert not target.exists()
    last = (
        sqlite3.connect(demo_db).execute("SELECT event, outcome, actor FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    )
    assert last == ("register.copy", "refused", "dci.morgan")
    (tmp_path / "notes.txt").write_text("not a register\n", encoding="utf-8")
    result = run_cli("db", "copy", "--to", str(tmp_path / "notes.txt"), db=demo_db, actor="sarah.okoro")
    one_line(result, 2, "is not a signoff register")


def test_verify_export_takes_an_anchor_and_checks_the_genesis(run_cli: Any, demo_db: Path, tmp_path: Path) -> None:
    export = tmp_path / "log.jsonl"
    assert run_cli("audit", "export", "--format", "jsonl", "-o", str(export), db=demo_db).code == 0
    head = run_cli("audit", "head", db=demo_db).out.strip()
    assert run_cli("audit", "verify-export", str(export), "--anchor", head).code == 0
    lines = export.read_text(encoding="utf-8").splitlines()
    (tmp_path / "short.jsonl").write_text("\n".join(lines[:-3]) + "\n", encoding="utf-8")
    truncated = run_cli("audit", "verify-export", str(tmp_path / "short.jsonl"), "--anchor", head)
    assert truncated.code == 1 and f"record {head.split(':')[0]}" in truncated.out
    # A log re-hashed from a made-up genesis is consistent with itself, but record 1 gives it away.
    from signoff.domain import chain

    records = [json.loads(line) for line in lines]
    prev = "0" * 64
    for rec in records:
        rec["prev_hash"] = prev
        rec["hash"] = prev = chain.record_hash(rec)
    (tmp_path / "forged.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    forged = run_cli("audit", "verify-export", str(tmp_path / "forged.jsonl"))
    assert forged.code == 1 and "record 1: its prev_hash is not this database's genesis value" in forged.out
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    one_line(run_cli("audit", "verify-export", str(tmp_path / "empty.jsonl")), 2, "no audit records")
    (tmp_path / "latin1.csv").write_bytes("seq,actor\n1,Zo\xeb\n".encode("latin-1"))
    one_line(run_cli("audit", "verify-export", str(tmp_path / "latin1.csv")), 2, "not UTF-8")
