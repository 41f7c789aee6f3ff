"""The read path on PostgreSQL: psycopg directly, one REPEATABLE READ READ ONLY snapshot.

The queries of the read use cases are written once with SQLite-style ``?`` and ``:name``
parameters; this reader rewrites them to psycopg's ``%s`` and ``%(name)s`` outside string
literals, so the SQL stays the same on both backends.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from signoff.store import location
from signoff.store.reader import Reader

NOT_APPLICABLE = "not applicable on PostgreSQL"
BATCH_BYTES = 1 << 21  # about this much of Python row objects per fetch from a server-side cursor
_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|(?<!:):([A-Za-z_][A-Za-z0-9_]*)|%")


def to_pyformat(sql: str) -> str:
    """``?`` → ``%s``, ``:name`` → ``%(name)s``, ``%`` → ``%%``; string literals and ``::`` casts kept."""

    def swap(m: re.Match[str]) -> str:
        token = m.group(0)
        if token.startswith("'"):
            return token.replace("%", "%%")
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return f"%({m.group(1)})s"

    return _TOKEN.sub(swap, sql)


def dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy URL."""
    return "postgresql://" + url.split("://", 1)[1]


def fetch_sized(cur: Any, most: int) -> Iterator[list[tuple[Any, ...]]]:
    """A server-side cursor's rows in batches of about ``BATCH_BYTES`` (and at most ``most`` rows).

    The count per batch follows the size of the rows just fetched (a sample of them), so a run of
    large records (a matrix import's audit record is ~140 KB) is not fetched thousands at a time;
    it grows at most fourfold per batch, so a run of large ones after small ones is caught early.
    """
    size = min(most, 4)  # until the first rows tell how large they are
    while batch := cur.fetchmany(size):
        yield batch
        sample = batch[:: max(1, len(batch) // 32)]
        held = sum(map(sys.getsizeof, itertools.chain.from_iterable(sample))) * len(batch) // len(sample)
        size = max(1, min(most, 4 * len(batch), BATCH_BYTES * len(batch) // max(1, held)))


class PgReader(Reader):
    dialect = "postgresql"

    def __init__(self, db_path: location.DbRef) -> None:
        import psycopg

        self.target = location.target(db_path)
        self.path = self.target
        self._errors = psycopg.Error
        try:
            self.conn = psycopg.connect(dsn(self.target.url), autocommit=True, connect_timeout=15)
            exists = self.conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
            rev = (
                self.conn.execute("SELECT version_num FROM alembic_version").fetchone()
                if exists and exists[0]
                else None
            )
        except psycopg.Error as err:
            raise location.translate(err, self.target) from None
        location.check_revision(rev[0] if rev else None, self.target)

    def __enter__(self) -> PgReader:
        # One read-only snapshot: every query of the view sees the register as it was at its start.
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.execute("COMMIT")
        finally:
            self.conn.close()

    def _execute(self, cur: Any, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> None:
        try:
            cur.execute(to_pyformat(sql), params if isinstance(params, Mapping) else tuple(params))
        except self._errors as err:
            raise location.translate(err, self.target) from None

    def all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[dict[str, Any]]:
        from psycopg.rows import dict_row

        with self.conn.cursor(row_factory=dict_row) as cur:
            self._execute(cur, sql, params)
            return list(cur.fetchall())

    def batches(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = (), size: int = 4096
    ) -> Iterator[list[tuple[Any, ...]]]:
        """A server-side cursor, fetched in batches of at most ``size`` rows and about ``BATCH_BYTES``:
        flat memory however long the log grows and however large its records."""
        self._streams = getattr(self, "_streams", 0) + 1
        with self.conn.cursor(name=f"signoff_stream_{self._streams}") as cur:
            self._execute(cur, sql, params)
            yield from fetch_sized(cur, size)

    def quick_check(self) -> str:
        """PostgreSQL checks its own pages (data checksums, amcheck): there is no quick_check to run."""
        return NOT_APPLICABLE
