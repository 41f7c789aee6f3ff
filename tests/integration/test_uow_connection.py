"""On SQLite a unit of work runs on a driver connection the process keeps, and lends that same
connection to an ORM session when a use case asks for one: the session must join the transaction
and its write lock, not end them. Step by step in one thread, with a competitor that waits for
nothing (timeout 0), so the outcome does not depend on timing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY

from signoff.services.audit import verify
from signoff.services.common import in_unit_of_work, record_applied
from signoff.store import uow as uow_module
from signoff.store.uow import UnitOfWork


def _competitor_turned_away(db: Path) -> str | None:
    competitor = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        competitor.execute("BEGIN IMMEDIATE")
        competitor.execute("ROLLBACK")
        return None
    except sqlite3.OperationalError as err:
        return str(err)
    finally:
        competitor.close()


def test_a_session_asked_for_mid_transaction_keeps_the_write_lock_and_commits_with_it(db_path: Path) -> None:
    from sqlalchemy import text

    uow_module.close_connections()  # a connection no session has been lent before
    seen: list[str | None] = []

    def body(uow: Any, actor: Any) -> None:
        uow.rows("INSERT INTO meta (key, value) VALUES ('plain', 'row')")
        uow.session.execute(text("INSERT INTO meta (key, value) VALUES ('orm', 'row')"))
        seen.append(_competitor_turned_away(db_path))  # still locked after the session joined
        record_applied(uow, actor, "user.add", detail={})

    in_unit_of_work(db_path, SECRETARY, "user.add", body)
    assert seen == ["database is locked"]
    assert _competitor_turned_away(db_path) is None  # and let go at the end
    with sqlite3.connect(db_path) as check:
        kept = check.execute("SELECT key FROM meta WHERE key IN ('plain', 'orm') ORDER BY key").fetchall()
    assert kept == [("orm",), ("plain",)]
    report, _ = verify(db_path)
    assert report.ok, report.broken


def test_what_a_unit_of_work_leaves_uncommitted_is_gone_both_plain_and_orm_writes(db_path: Path) -> None:
    from sqlalchemy import text

    uow_module.close_connections()
    with pytest.raises(RuntimeError), UnitOfWork(db_path) as uow:
        uow.rows("INSERT INTO meta (key, value) VALUES ('plain', 'row')")
        uow.session.execute(text("INSERT INTO meta (key, value) VALUES ('orm', 'row')"))
        raise RuntimeError("the use case failed")
    with sqlite3.connect(db_path) as check:
        assert check.execute("SELECT key FROM meta WHERE key IN ('plain', 'orm')").fetchall() == []
    assert _competitor_turned_away(db_path) is None
    with UnitOfWork(db_path) as uow:  # the connection went back clean and serves the next one
        assert uow.rows("SELECT count(*) FROM meta WHERE key IN ('plain', 'orm')") == [(0,)]
        assert _competitor_turned_away(db_path) == "database is locked"
