"""The read path: a read-only connection in one snapshot, streaming rows as dicts or tuples.

Read commands (board, item list, history, audit export and verify) start fast because they never
import SQLAlchemy: on SQLite they use stdlib sqlite3, on PostgreSQL psycopg directly
(store/pg_reader.py). Queries are written once, with ``?`` or ``:name`` parameters; the column
names they select are those of store/tables.py (tested).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from signoff.store import location


class Reader:
    """``with Reader(db) as r:`` — a SQLite reader for a path, a PostgreSQL reader for a URL."""

    dialect = "sqlite"
    conn: Any

    def __new__(cls, db_path: location.DbRef) -> Reader:
        if cls is Reader:
            if location.target(db_path).is_sqlite:
                cls = SqliteReader
            else:
                from signoff.store.pg_reader import PgReader

                cls = PgReader
        return super().__new__(cls)

    def __enter__(self) -> Reader:
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:
        raise NotImplementedError

    def all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        raise NotImplementedError

    def one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> dict[str, Any] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def stream(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), size: int = 2000
    ) -> Iterator[tuple[Any, ...]]:
        for batch in self.batches(sql, params, size):
            yield from batch

    def batches(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), size: int = 4096
    ) -> Iterator[list[tuple[Any, ...]]]:
        raise NotImplementedError

    def meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def quick_check(self) -> str:
        raise NotImplementedError

    def rules(self) -> Any:
        """The workflow rules pinned in force in this register (an ``engine.workflow.Rules``)."""
        from signoff.store import pinned

        in_force = self.meta(pinned.IN_FORCE)
        defs = self.all(pinned.DEFS_SQL, (in_force,)) if in_force else []
        return pinned.rules(getattr(self, "path", "the register"), in_force, [(d["name"], d["source"]) for d in defs])


class SqliteReader(Reader):
    def __init__(self, db_path: location.DbRef) -> None:
        t = location.target(db_path)
        assert t.path is not None
        self.path = t.path
        db_path = t.path
        location.require_existing(db_path)
        try:
            uri = f"file:{db_path.resolve()}?mode=ro"
            self.conn = sqlite3.connect(uri, uri=True, timeout=15.0, isolation_level=None)
            self.conn.execute("PRAGMA busy_timeout=15000")
            rev = (
                self.conn.execute("SELECT version_num FROM alembic_version").fetchone()
                if self._has_table("alembic_version")
                else None
            )
        except sqlite3.Error as err:
            raise location.translate(err, db_path) from None
        location.check_revision(rev[0] if rev else None, db_path)

    def _has_table(self, name: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
        return row is not None

    def __enter__(self) -> SqliteReader:
        # One read transaction: every query sees the same snapshot even while others write.
        self.conn.execute("BEGIN")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.execute("COMMIT")
        finally:
            self.conn.close()

    def all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        try:
            cur = self.conn.execute(sql, params)
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur]
        except sqlite3.Error as err:
            raise location.translate(err, self.path) from None

    def batches(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), size: int = 4096
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Lists of plain tuples, for bulk paths that handle a batch at a time (exports)."""
        try:
            cur = self.conn.cursor()
            cur.execute(sql, params)
            while batch := cur.fetchmany(size):
                yield batch
        except sqlite3.Error as err:
            raise location.translate(err, self.path) from None

    def quick_check(self) -> str:
        rows = self.all("PRAGMA quick_check")
        return "; ".join(str(next(iter(r.values()))) for r in rows)
