"""Moving a register between backends (SQLite ⇄ PostgreSQL) with its whole audit history.

A copy is all or nothing, and it is the register as of one moment:

* everything it needs is checked before anything is written (who is copying, the source's
  schema, an empty destination, a known and writable evidence folder);
* the source is read from one snapshot (PostgreSQL REPEATABLE READ READ ONLY; SQLite one read
  transaction), so writers may carry on and the copy still holds every row of every table as of
  one moment — never a submission without the audit record that made it;
* the destination is written in one transaction: its schema (the migrations), every row of every
  table in ``signoff.store.schema.TABLES``, a chain check of the rows as written, the evidence
  files, and the copy's own ``register.copy`` record. Anything failing — or the process being
  killed — before the commit leaves the destination as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signoff.domain import chain
from signoff.domain.roles import SECRETARY
from signoff.errors import BadInput, SignoffError
from signoff.services.common import in_unit_of_work, load_actor, record_applied, require_role
from signoff.store import blobs, location, migrate
from signoff.store.location import DbRef
from signoff.store.schema import TABLES, Table
from signoff.store.uow import UnitOfWork

BATCH = 5000
SECRETARY_ONLY = frozenset({SECRETARY})
# Kept by the migrations themselves, never copied.
NOT_COPIED = frozenset({"alembic_version"})
OURS = NOT_COPIED | {t.name for t in TABLES}


@dataclass(frozen=True)
class CopyResult:
    rows: dict[str, int]
    evidence_files: int
    audit_head: str


def copy_register(source: DbRef, dest: DbRef, actor_name: str) -> CopyResult:
    src, dst = location.target(source), location.target(dest)
    if src == dst:
        raise BadInput("the destination is the register itself: give --to another database.")
    location.require_existing(src)
    location.check_revision(migrate.current_revision(src), src)
    # Who is copying is settled on the source before anything is written anywhere; a refusal is
    # recorded there.
    in_unit_of_work(src, actor_name, "register.copy", lambda uow, actor: require_role(actor, SECRETARY_ONLY, "db copy"))
    if dst.path is not None and not dst.path.parent.is_dir():
        raise BadInput(f"the folder {dst.path.parent} does not exist: create it first.")
    created = dst.path is not None and not dst.path.exists()
    if dst.path is not None and not created and not _is_sqlite_file(dst.path):
        raise BadInput(f"{dst} exists and is not a signoff register: copy into a new file.")
    try:
        return _copy(src, dst, actor_name)
    except SignoffError:
        _forget(dst, created)
        raise
    except Exception as err:
        _forget(dst, created)
        if os.environ.get("SIGNOFF_DEBUG") or not isinstance(err, _driver_errors()):
            raise
        raise location.translate(getattr(err, "orig", None) or err, dst) from None
    except BaseException:
        _forget(dst, created)
        raise


def _driver_errors() -> tuple[type[Exception], ...]:
    """The database errors a copy may meet, of the drivers (and SQLAlchemy) this process loaded."""
    found: list[type[Exception]] = [sqlite3.Error]
    if (psycopg := sys.modules.get("psycopg")) is not None:
        found.append(psycopg.Error)
    if (sa_exc := sys.modules.get("sqlalchemy.exc")) is not None:
        found.append(sa_exc.DBAPIError)
    return tuple(found)


def _copy(src: location.Target, dst: location.Target, actor_name: str) -> CopyResult:
    """Read the source in one snapshot (the read path's driver connection) and write the destination
    in one transaction, with plain statements: neither the table models nor the ORM are loaded, and
    on PostgreSQL neither SQLAlchemy nor Alembic (the schema is the migrations' rendered SQL)."""
    from signoff.store.reader import Reader

    with Reader(src) as reading:
        unknown = sorted(set(_table_names(reading.conn, src)) - OURS)
        if unknown:
            # A copy that left a table behind would look complete and not be.
            raise SignoffError(
                f"{src} holds table(s) this version of signoff does not know ({', '.join(unknown[:5])}): "
                "copy it with the version of signoff that made them."
            )
        found = reading.all("SELECT DISTINCT sha256 FROM evidence WHERE kind = 'file'")
        file_digests = sorted(str(r["sha256"]) for r in found)
        source_dir, dest_dir = _evidence_folders(src, dst, bool(file_digests))
        if dst.is_sqlite:
            return _into_sqlite(reading.conn, src, dst, actor_name, source_dir, dest_dir, file_digests)
        return _into_server(reading.conn, src, dst, actor_name, source_dir, dest_dir, file_digests)


def _into_sqlite(
    source: Any,
    src: location.Target,
    dst: location.Target,
    actor_name: str,
    source_dir: Path | None,
    dest_dir: Path | None,
    file_digests: list[str],
) -> CopyResult:
    """A SQLite destination: the write engine's connection (BEGIN IMMEDIATE), migrated in place."""
    from signoff.store.uow import engine_for

    with engine_for(dst).connect() as writing:
        writing.begin()
        conn = writing.connection.dbapi_connection
        present = _table_names(conn, dst)
        if not present:
            migrate.upgrade_in(writing, dst)
        else:
            _check_existing(conn, dst, present)
        counts = {t.name: _insert_rows(conn, t, _source_rows(source, t, src)) for t in TABLES}
        result = _finish(conn, sqlite3.Error, src, dst, actor_name, counts, source_dir, dest_dir, file_digests)
        writing.commit()
    return result


def _into_server(
    source: Any,
    src: location.Target,
    dst: location.Target,
    actor_name: str,
    source_dir: Path | None,
    dest_dir: Path | None,
    file_digests: list[str],
) -> CopyResult:
    """A PostgreSQL destination: psycopg directly, one transaction, rows by COPY FROM STDIN."""
    import psycopg

    from signoff.store.database import server_timeouts
    from signoff.store.pg_reader import dsn

    conn = psycopg.connect(dsn(dst.url), autocommit=True, connect_timeout=15)
    try:
        with conn.cursor() as cur:  # the session settings every write connection starts with
            for name, value in server_timeouts().items():
                cur.execute(f"SET {name} = {int(value)}")
        conn.autocommit = False  # the next statement begins the copy's one transaction
        with conn.cursor() as cur:
            # Copying large evidence files may leave this transaction idle for longer than a normal write.
            cur.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            present = _table_names(conn, dst)
            if not present:
                migrate.create_server_schema(cur)
            else:
                _check_existing(conn, dst, present)
        counts = {t.name: _copy_in(conn, t, _source_rows(source, t, src)) for t in TABLES}
        with conn.cursor() as cur:
            for table in TABLES:
                if table.key == ("id",):  # a serial key: the next id follows the copied ones
                    top = cur.execute(f'SELECT MAX(id) FROM "{table.name}"').fetchone()
                    last = top[0] if top else None
                    cur.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)",
                        (table.name, last or 1, last is not None),
                    )
        result = _finish(conn, psycopg.Error, src, dst, actor_name, counts, source_dir, dest_dir, file_digests)
        conn.commit()
    finally:
        conn.close()  # anything not committed is rolled back
    return result


def _finish(
    conn: Any,
    driver_error: type[Exception],
    src: location.Target,
    dst: location.Target,
    actor_name: str,
    counts: dict[str, int],
    source_dir: Path | None,
    dest_dir: Path | None,
    file_digests: list[str],
) -> CopyResult:
    """After the rows: the destination's own evidence folder, the chain verified as written, the
    evidence files, and the copy's own record, all in the copy's transaction (committed by the caller)."""
    mark = "?" if dst.is_sqlite else "%s"
    cur = conn.cursor()
    # The destination's own shared evidence folder, never the source's (a SQLite file keeps its beside it).
    cur.execute(f"DELETE FROM meta WHERE key = {mark}", (location.EVIDENCE_DIR_KEY,))
    folder = None if dst.is_sqlite else location.shared_evidence_dir()
    if folder is not None:
        cur.execute(f"INSERT INTO meta (key, value) VALUES ({mark}, {mark})", (location.EVIDENCE_DIR_KEY, str(folder)))
    uow = UnitOfWork(dst, check_schema=False)
    uow.join(cur, driver_error)  # the record is appended with the plain statements every event uses
    report = _check_chain(conn, uow.database_id(), dst)
    files = _copy_evidence(source_dir, dest_dir, file_digests)
    actor = load_actor(uow, actor_name)
    head = f"{report.last_seq}:{report.last_hash}"
    record_applied(
        uow,
        actor,
        "register.copy",
        detail={"from": str(src), "to": str(dst), "records": counts.get("audit", 0), "head": head},
    )
    return CopyResult(counts, files, head)


def _table_names(conn: Any, t: location.Target) -> list[str]:
    """The tables in the database (on PostgreSQL: in the first schema of the search path)."""
    if t.is_sqlite:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
    else:
        sql = (
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
        )
    return sorted(str(r[0]) for r in conn.execute(sql).fetchall())


def _check_existing(conn: Any, dst: location.Target, present: list[str]) -> None:
    """Accept a destination that already has tables only if it is an empty register at the head revision."""
    foreign = sorted(set(present) - OURS)
    if foreign:
        raise BadInput(
            f"{dst} already holds other tables ({', '.join(foreign[:5])}): copy into an empty database or schema."
        )
    found = conn.execute("SELECT version_num FROM alembic_version").fetchone() if "alembic_version" in present else None
    revision = found[0] if found else None
    if revision != location.SCHEMA_HEAD:
        location.check_revision(revision, dst)
    used = conn.execute("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM audit)").fetchone()[0]
    if used:
        raise BadInput(f"{dst} already holds a register: copy into an empty database.")


def _insert_rows(conn: Any, table: Table, rows: Iterator[Sequence[Any]]) -> int:
    """Stream ``rows`` into a SQLite ``table`` with one prepared INSERT, inside the copy's transaction."""
    columns = ", ".join(f'"{c}"' for c in table.columns)
    marks = ", ".join("?" for _ in table.columns)
    count: int = conn.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', rows).rowcount
    return count


def _copy_in(conn: Any, table: Table, rows: Iterator[Sequence[Any]]) -> int:
    """Stream ``rows`` into ``table`` with PostgreSQL's COPY FROM STDIN, inside the copy's transaction.

    psycopg sends the rows in small buffers as they are written, so memory stays flat however
    large the table; and one COPY is many times faster than batched INSERTs.
    """
    from psycopg import sql

    columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table.name), columns)
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        write = copy.write_row
        for row in rows:
            write(row)
            count += 1
    return count


def _select_all(table: Table) -> str:
    """Every column of ``table`` in key order, as plain SQL both backends read alike."""
    columns = ", ".join(f'"{c}"' for c in table.columns)
    order = ", ".join(f'"{c}"' for c in table.key)
    return f'SELECT {columns} FROM "{table.name}" ORDER BY {order}'


def _source_rows(raw: Any, table: Table, src: location.Target) -> Iterator[Sequence[Any]]:
    """The source table's rows, a few at a time, from the snapshot the copy reads in."""
    if src.is_sqlite:
        cur = raw.cursor()
        try:
            cur.execute(_select_all(table))
            yield from cur  # SQLite steps one row at a time
        finally:
            cur.close()
        return
    yield from _server_rows(raw, _select_all(table), f"signoff_copy_{table.name}")


def _server_rows(raw: Any, statement: str, name: str) -> Iterator[Sequence[Any]]:
    """Rows through a PostgreSQL server-side cursor, in batches of bounded size (pg_reader)."""
    from signoff.store.pg_reader import fetch_sized

    with raw.cursor(name=name) as cur:
        cur.execute(statement)
        for batch in fetch_sized(cur, BATCH):
            yield from batch


def _check_chain(conn: Any, database_id: str, dst: location.Target) -> chain.ChainReport:
    """Verify the chain as the destination stores it, before the copy commits."""
    statement = "SELECT " + ", ".join(chain.EXPORT_FIELDS) + " FROM audit ORDER BY seq"
    rows: Iterator[Sequence[Any]] = (
        iter(conn.execute(statement))  # SQLite steps one row at a time
        if dst.is_sqlite
        else _server_rows(conn, statement, "signoff_copy_check")
    )
    report = chain.verify_stream(
        (dict(zip(chain.EXPORT_FIELDS, r, strict=True)) for r in rows), chain.genesis(database_id)
    )
    if not report.ok:
        raise SignoffError(
            f"the copy into {dst} did not verify (record {report.broken[0][0]}: {report.broken[0][1]}); "
            "nothing was kept."
        )
    return report


def _evidence_folders(
    src: location.Target, dst: location.Target, needed: bool
) -> tuple[Path, Path] | tuple[None, None]:
    """Both evidence folders, the destination's proved writable, before anything is written."""
    if not needed:
        return None, None
    source_dir, dest_dir = location.evidence_dir(src), location.evidence_dir(dst)
    if source_dir.resolve() == dest_dir.resolve():
        return None, None  # a shared folder both registers use: the files are already there
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=dest_dir, prefix=".probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise BadInput(
            f"the evidence folder {dest_dir} cannot be written ({err.strerror or err}): "
            "fix its permissions or set SIGNOFF_EVIDENCE_DIR to another folder; nothing was copied."
        ) from None
    return source_dir, dest_dir


def _copy_evidence(source_dir: Path | None, dest_dir: Path | None, digests: list[str]) -> int:
    """Every file the copied rows name, re-hashed on the way: a missing or altered file stops the copy."""
    if source_dir is None or dest_dir is None:
        return len(digests)
    for digest in digests:
        original = blobs.blob_path(source_dir, digest)
        if not original.is_file():
            raise SignoffError(
                f"evidence file {digest[:12]}… is missing from {source_dir}: restore it "
                "('signoff evidence verify' lists what is missing); nothing was copied."
            )
        copied = blobs.put(dest_dir, original).digest
        if copied != digest:
            raise SignoffError(
                f"evidence file {digest[:12]}… in {source_dir} has been altered "
                "('signoff evidence verify'); nothing was copied."
            )
    return len(digests)


def _is_sqlite_file(path: Path) -> bool:
    import sqlite3

    if path.stat().st_size == 0:
        return True
    try:
        conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
        try:
            conn.execute("SELECT name FROM sqlite_master").fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return True


def _forget(dst: location.Target, created: bool) -> None:
    """A SQLite destination file this copy created is removed again when the copy fails."""
    if dst.path is None or not created:
        return
    from signoff.store.uow import close_connections

    close_connections(dst)  # no connection of this process keeps writing to the removed file
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            Path(f"{dst.path}{suffix}").unlink()
