"""The bench's realistic board register is one signoff could have written (audit verify passes),
and it holds what a board a quarter in holds: every kind of record the board view weighs."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench import datasets

ITEMS = 100


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("board") / "register.db"
    datasets.build_board_register(db, ITEMS, 5)
    return db


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "register.db"
    shutil.copy(built, target)
    return target


def signoff(db: Path, *args: str, actor: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    who = ["--as", actor] if actor else []
    cmd = [sys.executable, "-m", "signoff", "--db", str(db), *who, *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def one(conn: sqlite3.Connection, sql: str, *params: object) -> int:
    return int(conn.execute(sql, params).fetchone()[0])


def test_audit_verify_finds_every_record_legal_and_every_row_made_by_the_chain(db: Path) -> None:
    result = signoff(db, "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every record legal" in result.stdout
    assert "match the chain" in result.stdout


def test_the_register_holds_what_a_board_a_quarter_in_holds(db: Path) -> None:
    conn = sqlite3.connect(db)
    states = dict(conn.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())
    assert set(states) == {"proposed", "evidence_submitted", "challenged", "signed_off"}, states
    assert sum(states.values()) == ITEMS
    assert one(conn, "SELECT COUNT(*) FROM challenges WHERE answered_at IS NULL") > 0  # open
    assert one(conn, "SELECT COUNT(*) FROM challenges WHERE answered_at IS NOT NULL") > 0  # answered
    assert one(conn, "SELECT COUNT(*) FROM challenges WHERE event = 'reopen'") > 0
    assert one(conn, "SELECT COUNT(*) FROM meetings") >= 10
    assert one(conn, "SELECT COUNT(DISTINCT meeting) FROM approvals") > 1  # decisions at several meetings
    assert one(conn, "SELECT COUNT(DISTINCT period) FROM evidence WHERE kind = 'measure'") >= 2
    missed = "SELECT COUNT(*) FROM evidence WHERE kind = 'measure' AND CAST(value AS REAL) < CAST(threshold AS REAL)"
    assert one(conn, missed) > 0
    assert one(conn, "SELECT COUNT(*) FROM evidence WHERE supersedes_id IS NOT NULL") > 0
    assert one(conn, "SELECT COUNT(*) FROM withdrawals") > 0
    assert one(conn, "SELECT COUNT(*) FROM reschedules") > 0
    assert one(conn, "SELECT COUNT(*) FROM submissions WHERE event = 'resubmit'") > 0
    # Limbo: open items with no transition for more than 28 days, and open items moved recently.
    cutoff = (dt.date.today() - dt.timedelta(days=28)).isoformat()
    open_items = "SELECT COUNT(*) FROM items WHERE state != 'signed_off' AND substr(last_transition_at, 1, 10)"
    assert one(conn, open_items + " <= ?", cutoff) > 0
    assert one(conn, open_items + " > ?", cutoff) > 0
    # The chain never runs ahead of the clock: real commands can carry on from it.
    head = conn.execute("SELECT recorded_at FROM audit ORDER BY seq DESC LIMIT 1").fetchone()[0]
    assert head < dt.datetime.now(dt.UTC).isoformat()
    conn.close()


def test_real_commands_carry_on_from_the_board_register(db: Path) -> None:
    conn = sqlite3.connect(db)
    ref = conn.execute("SELECT MIN(ref) FROM items WHERE state = 'evidence_submitted'").fetchone()[0]
    conn.close()
    today = dt.date.today().isoformat()
    assert signoff(db, "meeting", "add", today, actor=datasets.SECRETARY).returncode == 0
    approve = signoff(db, "approve", ref, "--meeting", today, actor=datasets.CHAIR)
    assert approve.returncode == 0, approve.stderr
    board = signoff(db, "board")
    assert board.returncode == 0, board.stderr
    assert ref in board.stdout
    result = signoff(db, "audit", "verify")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_board_piped_and_as_json_is_the_board_its_rows_make(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The piped board writes each item's line as it is judged and reads no facts of signed-off items;
    its JSON writes each item's text as it is judged. Both are the text the whole board gives."""
    from signoff.render.board import render_board
    from signoff.services import views

    whole = views.board(db)
    signed_off = [i for i in whole["items"] if i["state"] == "signed_off"]
    assert signed_off and any(i["matrix_rows"] for i in signed_off)  # facts the piped board need not read
    assert {"red", "green"} <= {i["rag"] for i in whole["items"]} and whole["limbo"]

    buffer = io.StringIO()
    monkeypatch.setattr("sys.stdout", buffer)  # not a terminal: plain lines
    with views.board_stream(db) as rows:
        render_board(rows)
    piped = signoff(db, "board")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == buffer.getvalue()

    as_json = signoff(db, "board", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert as_json.stdout == json.dumps(whole, indent=2, ensure_ascii=False) + "\n"
