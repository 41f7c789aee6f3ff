"""The bench's long register is one signoff could have written: replay finds every record legal and
every table row the one its record made, its records have the shapes the services write, and the
real commands carry on from it."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAIR, MEMBER, SECRETARY, Run

from bench import datasets
from signoff.services import audit

RECORDS = 5_000
ITEMS = 40

pytestmark = pytest.mark.slow


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., Run]:
    """The real CLI as conftest's run_cli runs it, but with no signing key: these registers pin the
    shipped rules without ``signed = true`` (datasets.unsigned_workflows), so the chair's approvals
    and re-openings are unsigned, as the generated ones are."""

    def run(*args: str, db: Path | None = None, actor: str | None = None) -> Run:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
        cmd = [sys.executable, "-m", "signoff", *(["--db", str(db)] if db else []), *(["--as", actor] if actor else [])]
        proc = subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("chain") / "register.db"
    assert datasets.build_chain_register(db, RECORDS, ITEMS, 5) == RECORDS
    return db


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "register.db"
    shutil.copy(built, target)
    return target


def records(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY seq")]
    conn.close()
    return rows


def test_replay_finds_every_record_legal_and_every_row_made_by_the_chain(db: Path, run_cli: Callable[..., Run]) -> None:
    report, integrity, reconciled = audit.verify_register(db)
    assert report.ok and report.checked == RECORDS
    assert integrity == "ok"
    assert reconciled.problems == []
    assert reconciled.differences == []
    assert reconciled.legacy is None
    # Every kind of row the chain makes is there to reconcile, not just the audit log.
    conn = sqlite3.connect(db)
    counts = {
        t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("evidence", "submissions", "challenges", "approvals")
    }
    assert min(counts.values()) > ITEMS, counts
    assert reconciled.rows_checked > sum(counts.values())
    kinds = Counter((r["event"], r["outcome"]) for r in records(db))
    for kind in (
        ("evidence.add", "applied"),
        ("evidence.add", "refused"),
        ("submit", "applied"),
        ("challenge", "applied"),
        ("resubmit", "applied"),
        ("approve", "refused"),
        ("approve", "applied"),
        ("reopen", "applied"),
    ):
        assert kinds[kind] > 0, kind
    result = run_cli("audit", "verify", db=db)
    assert result.code == 0, result.err
    assert f"{RECORDS} record(s)" in result.out and "every record legal" in result.out


def test_a_changed_row_of_the_generated_register_is_reported(db: Path, run_cli: Callable[..., Run]) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE items SET state = 'signed_off' WHERE ref = ?", (datasets.ref(3),))
    conn.commit()
    conn.close()
    result = run_cli("audit", "verify", db=db)
    assert result.code == 1
    assert f"items {datasets.ref(3)} state: the chain says 'challenged', the table says 'signed_off'" in result.out


def _shape(rec: dict[str, Any], ruleset: str) -> tuple[Any, ...]:
    """What a record of this kind looks like, without its ids, times and texts."""
    detail = json.loads(rec["detail"])
    wf = rec["workflow_hash"]
    return (
        rec["event"],
        rec["outcome"],
        rec["actor"],
        rec["roles"],
        rec["item_ref"] is None,
        rec["from_state"],
        rec["to_state"],
        "rules" if wf == ruleset else "workflow" if wf else None,
        tuple(sorted((k, type(v).__name__) for k, v in detail.items())),
        tuple(detail.get("failures", ())),
    )


def test_generated_records_have_the_shapes_the_services_write(
    db: Path, tmp_path: Path, run_cli: Callable[..., Run]
) -> None:
    # One item taken round the same cycle by the real commands, on the same unsigned rules.
    real = tmp_path / "real.db"
    datasets.init_register(real, datasets.unsigned_workflows(tmp_path / "workflows"))
    datasets.add_chair(real)
    assert run_cli("user", "add", MEMBER, "--role", "member", db=real, actor=SECRETARY).code == 0
    matrix = datasets.write_matrix_csv(tmp_path / "m.csv", 1, 2)
    assert run_cli("matrix", "import", str(matrix), db=real, actor=SECRETARY).code == 0
    ref, today = datasets.ref(0), dt.date.today().isoformat()
    refused = 3
    steps: list[tuple[str, tuple[str, ...], int]] = [
        (SECRETARY, ("meeting", "add", datasets.DATED), 0),
        (SECRETARY, ("meeting", "add", today), 0),
        (MEMBER, ("evidence", "add", ref, "key-0", "--note", "n", "--dated", datasets.DATED), refused),
        (SECRETARY, ("evidence", "add", ref, "key-0", "--note", "a", "--dated", datasets.DATED), 0),
        (SECRETARY, ("evidence", "add", ref, "key-1", "--note", "b", "--dated", datasets.DATED), 0),
        (SECRETARY, ("submit", ref), 0),
        (MEMBER, ("challenge", ref, "--reason", "why"), 0),
        (
            SECRETARY,
            ("evidence", "add", ref, "key-1", "--note", "c", "--dated", datasets.DATED, "--supersedes", "2"),
            0,
        ),
        (SECRETARY, ("resubmit", ref, "--response", "done"), 0),
        (MEMBER, ("approve", ref, "--meeting", today), refused),
        (CHAIR, ("approve", ref, "--meeting", today), 0),
        (CHAIR, ("reopen", ref, "--reason", "again", "--meeting", today), 0),
        (
            SECRETARY,
            ("evidence", "add", ref, "key-0", "--note", "d", "--dated", datasets.DATED, "--supersedes", "1"),
            0,
        ),
        (SECRETARY, ("resubmit", ref, "--response", "done"), 0),
        (CHAIR, ("approve", ref, "--meeting", today), 0),
    ]
    for actor, args, code in steps:
        result = run_cli(*args, db=real, actor=actor)
        assert result.code == code, (args, result.err)

    def shapes(path: Path) -> set[tuple[Any, ...]]:
        conn = sqlite3.connect(path)
        ruleset = conn.execute("SELECT value FROM meta WHERE key = 'rules_in_force'").fetchone()[0]
        conn.close()
        return {_shape(r, ruleset) for r in records(path)}

    services = shapes(real)
    generated = shapes(db)
    assert len(generated) >= 10
    assert generated <= services, sorted(generated - services)


def test_real_commands_carry_on_from_the_generated_register(db: Path, run_cli: Callable[..., Run]) -> None:
    conn = sqlite3.connect(db)
    by_state = dict(conn.execute("SELECT state, MIN(ref) FROM items GROUP BY state").fetchall())
    conn.close()
    ref = by_state["challenged"]
    added = run_cli("evidence", "add", ref, "key-2", "--note", "new", "--dated", datasets.DATED, db=db, actor=SECRETARY)
    assert added.code == 0, added.err
    resubmit = run_cli("resubmit", ref, "--response", "here it is", db=db, actor=SECRETARY)
    assert resubmit.code == 0, resubmit.err
    approve = run_cli("approve", ref, "--meeting", dt.date.today().isoformat(), db=db, actor=CHAIR)
    assert approve.code == 0, approve.err
    result = run_cli("audit", "verify", db=db)
    assert result.code == 0, result.err
    assert f"{RECORDS + 3} record(s)" in result.out
