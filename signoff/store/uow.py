"""The unit of work: one write transaction per use case, committed whole or not at all.

Appending to the audit chain happens here, inside the same transaction as the change it
records, under the write lock taken up front, so appends from concurrent processes serialise.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from signoff import clock
from signoff.domain import chain
from signoff.errors import SignoffError
from signoff.store import location
from signoff.store.database import make_engine, open_sqlite, session_engine

if TYPE_CHECKING:
    from sqlmodel import Session

_ENGINES: dict[str, Any] = {}
LOCK_RETRIES = 3
# Rules built from pinned definitions, keyed by exactly the texts read from the register: a write
# process that fires many events parses and hashes each set of definitions once.
_RULES: dict[tuple[str | None, tuple[tuple[str, str], ...]], Any] = {}


class Row(dict[str, Any]):
    """A table row read with ``UnitOfWork.dicts``: its columns by name, as keys and as attributes."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.__dict__ = self  # columns as attributes at plain attribute speed

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...

    def model_dump(self) -> dict[str, Any]:
        return dict(self)


# The transaction-level advisory lock every PostgreSQL audit append takes: appends serialise.
AUDIT_HEAD_LOCK = 0x5160FF


def engine_for(db_path: location.DbRef) -> Any:
    t = location.target(db_path)
    key = os.path.abspath(t.path) if t.path is not None else t.url
    if key not in _ENGINES:
        _ENGINES[key] = make_engine(t)
    return _ENGINES[key]


class _Link:
    """One driver connection to a SQLite register, its cursor, and (once an ORM session was
    wanted on it) the engine that lends it to SQLAlchemy."""

    __slots__ = ("conn", "cursor", "engine", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = open_sqlite(path)
        self.cursor = self.conn.cursor()
        self.engine: Any = None

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        self.conn.close()


# SQLite: this process's idle write connections, by register file. A unit of work takes one (or
# opens one), holds it alone for its transaction and puts it back: a transition pays for no
# connect, no pool checkout and no SQLAlchemy Connection. Keyed by process too: a forked child
# opens its own.
_IDLE: dict[tuple[int, str], list[_Link]] = {}


def close_connections(db_path: location.DbRef | None = None) -> None:
    """Close this process's connections to the register at ``db_path`` (to every register when
    None): its pooled engine and its idle SQLite write connections. A file about to be removed or
    replaced is then held open by nobody here, and SQLite folds its WAL back in."""
    key = None
    if db_path is not None:
        t = location.target(db_path)
        key = os.path.abspath(t.path) if t.path is not None else t.url
    for name in [k for k in _ENGINES if key is None or k == key]:
        _ENGINES.pop(name).dispose()
    for idle_key in [k for k in _IDLE if key is None or k[1] == key]:
        for link in _IDLE.pop(idle_key):
            link.close()


_HEAD_SQL = "SELECT seq, hash, recorded_at FROM audit ORDER BY seq DESC LIMIT 1"
_ITEM_PREV_SQL = "SELECT seq FROM audit WHERE item_ref = ? ORDER BY seq DESC LIMIT 1"
_INSERT_AUDIT = (
    f"INSERT INTO audit ({', '.join(chain.EXPORT_FIELDS)}) VALUES ({', '.join('?' for _ in chain.EXPORT_FIELDS)})"
)


class UnitOfWork:
    """``with UnitOfWork(path) as uow: ...; uow.commit()`` — anything not committed is rolled back.

    SQLite: the transaction runs on a driver connection of this process's own (``_Link``), begun
    with BEGIN IMMEDIATE; SQLAlchemy is brought in only when a use case asks for ``session``.
    PostgreSQL: on a SQLAlchemy Connection from the register's engine.
    """

    def __init__(self, db_path: location.DbRef, check_schema: bool = True) -> None:
        self.target = location.target(db_path)
        self.db_path = self.target
        self.check_schema = check_schema
        self._session: Session | None = None
        self._conn: Any = None  # this transaction's SQLAlchemy Connection (SQLite: only under a session)
        self._link: _Link | None = None  # SQLite: this transaction's driver connection
        self._link_key: tuple[int, str] | None = None
        self._database_id: str | None = None
        self._now: str | None = None
        self._rules: Any = None
        self._head: tuple[int, str, str] | None = None
        self._cursor: Any = None
        self._driver_error: type[Exception] = Exception
        self._sql: dict[str, str] = {}
        self._qmark = self.target.is_sqlite  # SQLite's driver takes ? parameters as written

    @property
    def session(self) -> Session:
        """An ORM session inside this transaction, made on first use: a use case that reads and
        writes with plain statements (a transition) never pays for one."""
        if self._session is None:
            from sqlmodel import Session  # the ORM only for the use cases that load models

            link = self._link
            if link is not None:  # SQLite: lend this transaction's driver connection to SQLAlchemy
                if link.engine is None:
                    link.engine = session_engine(link.conn, link.path)
                self._conn = link.engine.connect()
                self._conn.begin()  # sends nothing: the driver connection is already in BEGIN IMMEDIATE
                if not link.conn.in_transaction:  # never go on writing without the write lock
                    raise SignoffError(
                        f"the write transaction on {self.db_path} ended early: nothing was kept; run the command again."
                    )
            self._session = Session(bind=self._conn, expire_on_commit=False)
        return self._session

    def join(self, cursor: Any, driver_error: type[Exception]) -> None:
        """Read and write through ``cursor``, a driver cursor inside a transaction the caller holds
        and commits (a copy writes its own record so): plain statements only, no session."""
        self._cursor = cursor
        self._driver_error = driver_error

    def _connection(self) -> Any:
        return self._conn if self._conn is not None else self.session.connection()

    def _release(self) -> None:
        """End the transaction without keeping anything, and give the connection back."""
        try:
            if self._session is not None:
                self._session.close()
        finally:
            try:
                if self._conn is not None:
                    self._conn.close()  # rolls back whatever was not committed
            finally:
                self._session = self._conn = self._cursor = None
                link, self._link = self._link, None
                if link is not None:
                    self._give_back(link)

    def _give_back(self, link: _Link) -> None:
        """Roll back whatever is still open on ``link`` and keep it for the next unit of work; a
        connection that cannot even roll back is closed instead."""
        try:
            if link.conn.in_transaction:
                link.conn.rollback()
        except sqlite3.Error:
            link.close()
            return
        assert self._link_key is not None
        _IDLE.setdefault(self._link_key, []).append(link)

    def __enter__(self) -> UnitOfWork:
        if self.check_schema:
            location.require_existing(self.db_path)
        if self.target.path is not None:
            self._begin_sqlite(self.target.path)
        else:
            self._begin_server()
        if self.check_schema:
            try:
                found = self._cursor_for().execute("SELECT version_num FROM alembic_version").fetchall()
            except self._driver_error as err:
                if "no such table" not in str(err).lower() and "does not exist" not in str(err).lower():
                    self._release()
                    raise location.translate(err, self.db_path) from None
                found = []  # not a register: check_revision says so
            try:
                location.check_revision(found[0][0] if found else None, self.db_path)
            except SignoffError:
                self._release()
                raise
        return self

    def _begin_sqlite(self, path: Path) -> None:
        """Take an idle connection (or open one) and BEGIN IMMEDIATE on it: the write lock now."""
        self._link_key = key = (os.getpid(), os.path.abspath(path))
        for attempt in range(LOCK_RETRIES):
            try:
                idle = _IDLE.get(key)
                self._link = idle.pop() if idle else _Link(path)
                self._link.conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.Error as err:  # also "file is not a database" on connect, not only locks
                self._release()
                if "locked" not in str(err).lower() or attempt == LOCK_RETRIES - 1:
                    raise location.translate(err, self.db_path) from None
                time.sleep(0.05 * (attempt + 1))

    def _begin_server(self) -> None:
        from sqlalchemy import exc as sa_exc

        engine = engine_for(self.db_path)
        for attempt in range(LOCK_RETRIES):
            try:
                self._conn = engine.connect()
                self._conn.begin()
                break
            except sa_exc.DBAPIError as err:
                self._release()
                if "locked" not in str(err).lower() or attempt == LOCK_RETRIES - 1:
                    raise location.translate(err.orig or err, self.db_path) from None
                time.sleep(0.05 * (attempt + 1))
        # Writers serialise on the chain head from the start, as SQLite's BEGIN IMMEDIATE does: the
        # transaction's clock (``now``) is then read under the lock and the log's times never go back.
        try:
            self._lock_chain_head()  # held past lock_timeout: exit 5, one sentence (``rows``)
        except BaseException:
            self._release()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release()
        sa_exc = sys.modules.get("sqlalchemy.exc")  # not imported: the error cannot be one of its
        if (
            sa_exc is not None
            and isinstance(exc, sa_exc.OperationalError | sa_exc.DatabaseError)
            and exc.orig is not None
        ):
            raise location.translate(exc.orig, self.db_path) from None

    def commit(self) -> None:
        sa_exc = sys.modules.get("sqlalchemy.exc")
        sa_error: tuple[type[Exception], ...] = (sa_exc.OperationalError,) if sa_exc is not None else ()
        try:
            if self._session is not None:
                self._session.commit()  # flushes; the transaction itself is the connection's
            if self._conn is not None:
                self._conn.commit()  # SQLite under a session: commits the driver connection's transaction
            elif self._link is None:
                self.session.commit()
            if self._link is not None and self._link.conn.in_transaction:
                self._link.conn.commit()
        except sqlite3.Error as err:
            self._release()
            raise location.translate(err, self.db_path) from None
        except sa_error as err:
            self._release()
            raise location.translate(getattr(err, "orig", None) or err, self.db_path) from None

    def database_id(self) -> str:
        if self._database_id is None:
            found = self.rows("SELECT value FROM meta WHERE key = 'database_id'")
            if not found:
                raise SignoffError(f"{self.db_path} has no database id: it was not made by 'signoff init'.")
            self._database_id = str(found[0][0])
        return self._database_id

    def _lock_chain_head(self) -> None:
        """PostgreSQL: the transaction-level advisory lock every append holds (taking it twice is free)."""
        self.rows("SELECT pg_advisory_xact_lock(?)", (AUDIT_HEAD_LOCK,))

    @property
    def now(self) -> str:
        """This transaction's time, read once under the write lock: every row it writes and every
        audit record it appends carry it, so replaying the chain can check the rows' timestamps.
        Never earlier than the last record's time, so recorded_at never goes back along the chain."""
        if self._now is None:
            head = self._chain_head()
            last = head[2] if head else None
            now = clock.now_iso()
            self._now = max(now, last) if isinstance(last, str) and clock.is_canonical(last) else now
        return self._now

    def rules(self) -> Any:
        """The workflow rules pinned in force in this register (an ``engine.workflow.Rules``)."""
        if self._rules is None:
            from signoff.store import pinned

            found = self.rows(pinned.IN_FORCE_SQL)
            in_force = found[0][0] if found else None
            defs = tuple((str(n), str(src)) for n, src in self.rows(pinned.DEFS_SQL, (in_force,))) if in_force else ()
            key = (in_force, defs)
            rules = _RULES.get(key)
            if rules is None:
                rules = _RULES[key] = pinned.rules(self.target, in_force, defs)
            self._rules = rules
        return self._rules

    def rules_changed(self) -> None:
        """The rules in force moved in this transaction: the next record names the new ones."""
        self._rules = None

    def audit(
        self,
        *,
        actor: str,
        roles: str,
        event: str,
        outcome: str,
        detail: dict[str, Any],
        item_ref: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        workflow_hash: str | None = None,
    ) -> dict[str, Any]:
        """Append one chained audit record in this transaction and return it.

        Every record names the rules in force: the item's workflow digest where there is one,
        otherwise the digest of the whole set of workflows pinned in force.
        """
        if workflow_hash is None:
            workflow_hash = self.rules().digest
        if not self.target.is_sqlite:
            self._lock_chain_head()  # already held from __enter__, except for a copy's own transaction
        head = self._chain_head()
        seq, prev = (head[0] + 1, head[1]) if head else (1, chain.genesis(self.database_id()))
        if item_ref is not None:
            detail = {**detail, "item_prev": self._item_prev(item_ref)}
        record: dict[str, Any] = {
            "seq": seq,
            "recorded_at": self.now,
            "actor": actor,
            "roles": roles,
            "item_ref": item_ref,
            "event": event,
            "from_state": from_state,
            "to_state": to_state,
            "outcome": outcome,
            "detail": chain.detail_text(detail),
            "workflow_hash": workflow_hash,
            "prev_hash": prev,
        }
        record["hash"] = chain.record_hash(record)
        self.rows(_INSERT_AUDIT, tuple(record[f] for f in chain.EXPORT_FIELDS))
        self._head = (seq, record["hash"], record["recorded_at"])
        return record

    def _chain_head(self) -> tuple[int, str, str] | None:
        """The last record's seq, hash and time: read once per transaction, under the write lock, and
        moved on by each append of this transaction."""
        if self._head is None:
            found = self.rows(_HEAD_SQL)
            if not found:
                return None
            self._head = (int(found[0][0]), found[0][1], found[0][2])
        return self._head

    def _item_prev(self, item_ref: str) -> int:
        """The seq of the item's previous audit record, or 0: each record of an item links to the one
        before it, so an export of one item can prove that none of its records is missing.
        One probe of ix_audit_item_ref (its entries are ordered by seq within an item)."""
        last = self.rows(_ITEM_PREV_SQL, (item_ref,))
        return int(last[0][0]) if last else 0

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` parameters) on this transaction's own driver connection; its rows.

        The hot path of a transition: no ORM load, no statement compilation, one prepared statement
        per text (SQLite's and psycopg's own caches). Driver errors become one sentence, as in __exit__.
        """
        cur = self._cursor or self._cursor_for()
        if not self._qmark:  # a server's driver takes %s
            sql = self._sql.get(sql) or self._sql.setdefault(sql, sql.replace("?", "%s"))
        try:
            cur.execute(sql, params if type(params) is tuple else tuple(params))
            return cur.fetchall() if cur.description is not None else []
        except self._driver_error as err:
            raise location.translate(err, self.db_path) from None

    def insert(self, table: str, values: dict[str, Any]) -> int:
        """Insert one row into ``table`` (its columns named by ``values``); return its new id."""
        cols = ", ".join(values)
        found = self.rows(
            f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' for _ in values)}) RETURNING id",
            tuple(values.values()),
        )
        return int(found[0][0])

    def _cursor_for(self) -> Any:
        """This transaction's driver cursor, opened on first use."""
        if self._cursor is None and self._link is not None:
            self._driver_error = sqlite3.Error
            self._cursor = self._link.cursor
        elif self._cursor is None:
            conn = self._connection()
            self._driver_error = conn.dialect.dbapi.Error
            self._cursor = conn.connection.cursor()
        return self._cursor

    def dicts(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """``rows``, each as a Row of its column names."""
        found = self.rows(sql, params)
        names = [d[0] for d in self._cursor.description] if found else []
        return [Row(zip(names, r, strict=True)) for r in found]

    def insert_many(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """executemany on this transaction's driver cursor (``rows``' path): no ORM, no table models."""
        if not rows:
            return
        mark = "?" if self.target.is_sqlite else "%s"
        cur = self._cursor or self._cursor_for()
        try:
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})", rows
            )
        except self._driver_error as err:
            raise location.translate(err, self.db_path) from None

    def bulk_insert(self, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """executemany straight to the driver, in this transaction: tens of thousands of rows skip
        SQLAlchemy's per-row parameter processing (a 50,000-row matrix import)."""
        if not rows:
            return
        for name in columns:
            assert name in table.c, f"{table.name} has no column {name}"
        mark = "?" if self.session.get_bind().dialect.paramstyle == "qmark" else "%s"
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"
        self.session.connection().exec_driver_sql(sql, rows)
