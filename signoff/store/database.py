"""The write path's engine: SQLAlchemy with the pragmas and locking signoff relies on.

SQLite: pysqlite's default transaction handling starts a deferred transaction lazily, so two
processes can both read an item as 'evidence_submitted' and both approve it. Here every write
transaction begins with BEGIN IMMEDIATE: the write lock is taken before anything is read.

PostgreSQL: the database's own tools instead — the item row is read FOR UPDATE, and audit
appends serialise on a transaction-level advisory lock on the chain head (store/uow.py). Every
session sets lock_timeout to the same bound SQLite's busy timeout gives, so a row or advisory
lock held elsewhere (a psql session, a hung client) ends in exit 5 instead of a wait without end;
a statement timeout bounds the write transaction's statements, and a session left idle inside a
transaction (a client that vanished without closing its connection) is ended by the server.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # SQLAlchemy is imported where an engine is made: a raw SQLite write needs none
    from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15_000
# A write statement may run this many lock bounds before the server cancels it (exit 5).
STATEMENT_TIMEOUT_FACTOR = 4


def busy_timeout_ms() -> int:
    """How long a writer waits for the write lock per attempt; SIGNOFF_BUSY_TIMEOUT_MS shortens it for tests."""
    raw = os.environ.get("SIGNOFF_BUSY_TIMEOUT_MS", "")
    return int(raw) if raw.isdigit() else BUSY_TIMEOUT_MS


def sqlite_pragmas(dbapi_conn: sqlite3.Connection) -> None:
    """The pragmas every write connection to a SQLite register starts with."""
    # Test hook: SIGNOFF_MAX_PAGE_COUNT caps the file's size, to force "disk full" without a small disk.
    max_pages = os.environ.get("SIGNOFF_MAX_PAGE_COUNT", "")
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms()}")
    if max_pages.isdigit():
        cur.execute(f"PRAGMA max_page_count={int(max_pages)}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def open_sqlite(path: Path) -> sqlite3.Connection:
    """A write connection to a SQLite register, straight from the driver, with signoff's pragmas.

    In autocommit mode (``isolation_level=None``): the unit of work sends BEGIN IMMEDIATE itself, so
    the write lock is taken before anything is read. Not tied to the thread that opened it: a unit of
    work holds it alone while it runs (store/uow.py).
    """
    conn = sqlite3.connect(path, timeout=busy_timeout_ms() / 1000, isolation_level=None, check_same_thread=False)
    try:
        sqlite_pragmas(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def make_engine(db: Any) -> Engine:
    from sqlalchemy import create_engine, event, exc

    from signoff.store.location import target

    t = target(db)
    if t.path is None:
        return _server_engine(t.url)
    engine = create_engine(
        f"sqlite:///{t.path}",
        connect_args={"timeout": busy_timeout_ms() / 1000, "isolation_level": None},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        sqlite_pragmas(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver (this runs once per write transaction); its error is wrapped as
        # SQLAlchemy would have wrapped it, so callers see the same exception either way.
        try:
            conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise exc.DBAPIError.instance("BEGIN IMMEDIATE", (), err, sqlite3.Error) from err

    return engine


def session_engine(dbapi_conn: sqlite3.Connection, path: Path) -> Engine:
    """An engine over one driver connection that already holds its transaction: an ORM session a
    unit of work makes on demand reads and writes inside that transaction, and commits it.

    Its "begin" sends nothing (the driver connection began with BEGIN IMMEDIATE); its pool hands
    out only that connection, and rolls back whatever is left open when the session gives it back.
    SQLAlchemy probes a new engine's first connection and then rolls it back, which would end the
    open transaction and its write lock: the probe is made on a throwaway in-memory connection,
    before the pool is made anew on ``dbapi_conn``.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    probed: list[sqlite3.Connection] = []

    def creator() -> sqlite3.Connection:
        if not probed:
            probed.append(sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False))
            return probed[0]
        return dbapi_conn

    engine = create_engine(f"sqlite:///{path}", creator=creator, poolclass=StaticPool)
    engine.connect().close()  # the dialect's first-connect probe and its rollback, on the throwaway
    engine.dispose()  # closes it; the next checkout gets dbapi_conn
    return engine


def server_timeouts() -> dict[str, int]:
    """The PostgreSQL session settings (milliseconds) every write connection starts with."""
    bound = busy_timeout_ms()
    return {
        "lock_timeout": bound,
        "statement_timeout": STATEMENT_TIMEOUT_FACTOR * bound,
        "idle_in_transaction_session_timeout": STATEMENT_TIMEOUT_FACTOR * bound,
    }


def _server_engine(url: str) -> Engine:
    from sqlalchemy import create_engine, event

    engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 15})
    settings = server_timeouts()

    # Set per session, not through connect_args' "options", which would replace any options the
    # URL carries (a dedicated schema's search_path).
    @event.listens_for(engine, "connect", insert=True)
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        with dbapi_conn.cursor() as cur:
            for name, value in settings.items():
                cur.execute(f"SET {name} = {int(value)}")
        dbapi_conn.autocommit = autocommit

    return engine


def make_snapshot_engine(db: Any) -> Engine:
    """An engine whose transactions read one consistent snapshot and write nothing.

    PostgreSQL: REPEATABLE READ READ ONLY, so every table read in the transaction shows the
    register as of one moment while others keep writing. SQLite: a read-only connection and a
    deferred BEGIN: one WAL read transaction, which does not block writers either.
    """
    from sqlalchemy import create_engine, event

    from signoff.store.location import target

    t = target(db)
    if t.path is None:
        return create_engine(
            t.url,
            connect_args={"connect_timeout": 15},
            isolation_level="REPEATABLE READ",
            execution_options={"postgresql_readonly": True},
        )
    timeout_ms = busy_timeout_ms()
    engine = create_engine(
        f"sqlite:///file:{t.path.resolve()}?mode=ro&uri=true",
        connect_args={"timeout": timeout_ms / 1000, "isolation_level": None},
    )

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def table_names(conn: Any) -> list[str]:
    """The tables in the database (on PostgreSQL: in the first schema of the search path)."""
    from sqlalchemy import inspect

    return sorted(inspect(conn).get_table_names())
