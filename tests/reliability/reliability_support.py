"""Shared pieces of the reliability tests: a register for many writers, the real CLI, the invariants.

``check_register`` states what must hold after any stress, crash or fault: SQLite's
integrity_check is ok, the audit chain verifies from genesis, and every item's state is the
state its last applied audit record left it in.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from signing import register_key

from signoff.services.audit import verify
from signoff.services.matrix import import_matrix
from signoff.services.register import add_user, init_register
from signoff.services.schedule import add_meeting

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED_EXIT_CODES = {0, 1, 2, 3, 4, 5}
SECRETARY = "sec"
KINDS = ("ofsted-recommendation", "improvement-notice")
WORKFLOW_EVENTS = ("submit", "challenge", "resubmit", "approve", "reopen")


@dataclass
class Run:
    code: int
    out: str
    err: str


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def signoff_cmd(db: Path, *args: str, actor: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "signoff", "--db", str(db)]
    if actor:
        cmd += ["--as", actor]
    return cmd + list(args)


def run_signoff(
    db: Path, *args: str, actor: str | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> Run:
    """The real CLI in a subprocess, as a secretary would run it."""
    proc = subprocess.run(
        signoff_cmd(db, *args, actor=actor),
        capture_output=True,
        text=True,
        env=env or cli_env(),
        cwd=db.parent,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def matrix_csv(path: Path, refs: list[str], keys: tuple[str, ...] = ("k1", "k2")) -> Path:
    today = dt.date.today()
    lines = ["item_ref,item_kind,item_title,item_due,evidence_key,evidence_description,present_by"]
    for n, ref in enumerate(refs):
        for key in keys:
            lines.append(
                f"{ref},{KINDS[n % 2]},Item {ref},{today + dt.timedelta(days=30)},{key},Evidence {key},{today}"
            )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_register(db: Path, workers: int = 0, refs: list[str] | None = None) -> list[str]:
    """A register with a secretary, per-worker users sec-W/chair-W/mem-W, and items with a 2-row matrix."""
    init_register(db, SECRETARY)
    add_meeting(db, SECRETARY, dt.date.today())  # decisions name a meeting on the calendar
    for w in range(workers):
        add_user(db, SECRETARY, f"sec-{w}", ["secretary"])
        add_user(db, SECRETARY, f"chair-{w}", ["chair"])
        register_key(db, f"chair-{w}")
        add_user(db, SECRETARY, f"mem-{w}", ["member"])
    refs = refs or [f"IT-{n}" for n in range(6)]
    import_matrix(db, SECRETARY, matrix_csv(db.parent / "matrix.csv", refs))
    return refs


def connect_ro(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{db.resolve()}?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def table_counts(db: Path) -> dict[str, int]:
    conn = connect_ro(db)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def state_mismatches(conn: sqlite3.Connection) -> list[str]:
    """Items whose state is not what their last applied audit record says, read in one snapshot."""
    initial = {"ofsted-recommendation": "proposed", "improvement-notice": "proposed"}
    problems = []
    last = {
        ref: to_state
        for ref, to_state in conn.execute(
            "SELECT item_ref, to_state FROM audit WHERE outcome = 'applied' AND item_ref IS NOT NULL"
            " AND to_state IS NOT NULL ORDER BY seq"
        )
    }
    for ref, kind, state in conn.execute("SELECT ref, kind, state FROM items"):
        expected = last.get(ref, initial.get(kind, "proposed"))
        if state != expected:
            problems.append(f"{ref}: state {state}, last applied audit record says {expected}")
    return problems


def check_register(db: Path) -> None:
    """integrity_check ok, foreign keys ok, audit chain intact, every item's state matches the log."""
    conn = connect_ro(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.execute("BEGIN")
        assert state_mismatches(conn) == []
        conn.execute("COMMIT")
    finally:
        conn.close()
    report, quick = verify(db)
    assert report.ok, report.broken
    assert quick == "ok"


def audit_count(db: Path) -> int:
    conn = connect_ro(db)
    try:
        return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])
    finally:
        conn.close()


def attempt_count(db: Path) -> int:
    """Audit records counted as attempts: a large matrix import records its parts in one transaction,
    so its parts after the first are not counted again."""
    conn = connect_ro(db)
    try:
        sql = (
            "SELECT count(*) FROM audit WHERE NOT (event = 'matrix.import'"
            " AND COALESCE(json_extract(detail, '$.part'), 1) > 1)"
        )
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def assert_nothing_written(db: Path, before: dict[str, int]) -> None:
    """No table changed, except at most one audit record of the failed attempt itself (never 'applied')."""
    after = table_counts(db)
    changed = {t: after.get(t, 0) - before.get(t, 0) for t in set(after) | set(before) if after.get(t) != before.get(t)}
    assert changed in ({}, {"audit": 1}), changed
    if changed:
        conn = connect_ro(db)
        try:
            outcome = conn.execute("SELECT outcome FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0]
        finally:
            conn.close()
        assert outcome != "applied", outcome
