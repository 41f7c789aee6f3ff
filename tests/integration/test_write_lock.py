"""A write takes SQLite's write lock with its first statement (BEGIN IMMEDIATE), not at its first write.

With a deferred BEGIN, a use case reads the item under a read snapshot and only asks for the write
lock when it writes: another writer can commit in between, and the first one then either writes
over a state it never saw (a lost update) or fails to upgrade its stale snapshot (SQLITE_BUSY).
This test runs in one thread, step by step, with a competing connection that waits for nothing
(timeout 0), so its outcome does not depend on timing: with BEGIN IMMEDIATE the competitor is
turned away at once, and the use case applies.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from conftest import SECRETARY
from sqlalchemy import text

from signoff.services.audit import verify
from signoff.services.common import in_unit_of_work, record_applied


def test_no_other_writer_gets_in_between_a_use_case_s_read_and_its_write(db_path: Path) -> None:
    competitor = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    turned_away: list[str] = []

    def body(uow: Any, actor: Any) -> int:
        seen = int(uow.session.execute(text("SELECT count(*) FROM audit")).scalar_one())  # what the decision rests on
        try:
            competitor.execute("BEGIN IMMEDIATE")
            competitor.execute("INSERT INTO meta (key, value) VALUES ('competitor', 'was here')")
            competitor.execute("COMMIT")
        except sqlite3.OperationalError as err:
            turned_away.append(str(err))
        record_applied(uow, actor, "user.add", detail={"records_seen": seen})
        return seen

    seen = in_unit_of_work(db_path, SECRETARY, "user.add", body)
    assert turned_away == ["database is locked"]  # the lock was held from the start
    competitor.execute("BEGIN IMMEDIATE")  # and let go at the end
    competitor.execute("ROLLBACK")
    competitor.close()
    check = sqlite3.connect(db_path)
    assert int(check.execute("SELECT count(*) FROM audit").fetchone()[0]) == seen + 1
    assert check.execute("SELECT value FROM meta WHERE key = 'competitor'").fetchall() == []
    check.close()
    report, _ = verify(db_path)
    assert report.ok, report.broken
