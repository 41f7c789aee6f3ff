"""Every date a command takes, on the command line, refuses a compact date in a real subprocess: exit 2,
one sentence naming the option and the YYYY-MM-DD form, no traceback, nothing written."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import CHAIR, SECRETARY

BAD = "20131130"

# (actor, argv with BAD in the date's place, the option or argument the message names)
DATE_OPTIONS: list[tuple[str | None, list[str], str]] = [
    (SECRETARY, ["item", "add", "OF-09", "--kind", "ofsted-recommendation", "--title", "T", "--due", BAD], "due"),
    (SECRETARY, ["item", "reschedule", "OF-09", "--due", BAD, "--reason", "r"], "due"),
    (None, ["item", "list", "--due-before", BAD], "due_before"),
    (SECRETARY, ["matrix", "add", "OF-09", "k", "--description", "d", "--present-by", BAD], "present_by"),
    (SECRETARY, ["matrix", "reschedule", "OF-09", "k", "--present-by", BAD, "--reason", "r"], "present_by"),
    (SECRETARY, ["evidence", "add", "OF-09", "k", "--note", "n", "--dated", BAD], "dated"),
    (CHAIR, ["approve", "OF-09", "--meeting", BAD], "meeting"),
    (CHAIR, ["reopen", "OF-09", "--reason", "r", "--meeting", BAD], "meeting"),
    (CHAIR, ["fire", "OF-09", "approve", "--meeting", BAD], "meeting"),
    (SECRETARY, ["meeting", "add", BAD], "date"),
    (SECRETARY, ["meeting", "move", "2013-11-30", "--to", BAD, "--reason", "r"], "to"),
    (None, ["overdue", "--as-of", BAD], "as_of"),
    (None, ["todo", "--as-of", BAD], "as_of"),
    (None, ["changes", "--since", BAD], "since"),
    (None, ["audit", "export", "--since", BAD], "since"),
    (None, ["audit", "export", "--until", BAD], "until"),
]


def _counts(db: Path) -> tuple[int, ...]:
    with sqlite3.connect(db) as conn:
        counts = tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("audit", "items", "meetings"))
    conn.close()
    return counts


def test_every_date_option_refuses_a_compact_date(db_path: Path, run_cli: Callable[..., Any]) -> None:
    before = _counts(db_path)
    for actor, argv, name in DATE_OPTIONS:
        r = run_cli(*argv, db=db_path, actor=actor)
        assert r.code == 2, (argv, r.code, r.err)
        assert f"{name} '{BAD}' is not a date: write it as YYYY-MM-DD" in r.err, (argv, r.err)
        assert "Traceback" not in r.err
    assert _counts(db_path) == before
