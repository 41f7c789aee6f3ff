"""Moving a register between backends (SQLite ⇄ PostgreSQL) with its whole audit history.

A copy is all or nothing, and it is the register as of one moment:

* everything it needs is checked before anything is written (who is copying, the source's
  schema, an empty destination, a known and writable evidence folder);
* the source is read from one snapshot (PostgreSQL REPEATABLE READ READ ONLY; SQLite one read
  transaction), so writers may carry on and the copy still holds every row of every table as of
  one moment — never a submission without the audit record that made it;
* the destination is written in one transaction: its schema (the migrations), every row of every
  table in ``signoff.store.tables.metadata``, a chain check of the rows as written, the evidence
  files, and the copy's own ``register.copy`` record. Anything failing — or the process being
  killed — before the commit leaves the destination as it was.
"""

from __future__ import annotations

import contextlib
import os
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
from signoff.store.uow import UnitOfWork

BATCH = 5000
SECRETARY_ONLY = frozenset({SECRETARY})
# Kept by the migrations themselves, never copied.
NOT_COPIED = frozenset({"alembic_version"})


@dataclass(frozen=True)
class CopyResult:
    rows: dict[str, int]
    evidence_files: int
    audit_head: str


def copy_register(source: DbRef, dest: DbRef, actor_name: str) -> CopyResult:
    from sqlalchemy import exc as sa_exc

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
    except sa_exc.DBAPIError as err:
        _forget(dst, created)
        if os.environ.get("SIGNOFF_DEBUG"):
            raise
        raise location.translate(err.orig or err, dst) from None
    except BaseException:
        _forget(dst, created)
        raise


def _copy(src: location.Target, dst: location.Target, actor_name: str) -> CopyResult:
    from sqlalchemy import func, insert, select, text
    from sqlmodel import Session

    from signoff.store.database import make_snapshot_engine, table_names
    from signoff.store.tables import metadata
    from signoff.store.uow import engine_for

    tables = [t for t in metadata.sorted_tables if t.name not in NOT_COPIED]
    reader = make_snapshot_engine(src)
    try:
        with reader.connect() as reading, reading.begin():
            unknown = sorted(set(table_names(reading)) - {t.name for t in tables} - NOT_COPIED)
            if unknown:
                # A copy that left a table behind would look complete and not be.
                raise SignoffError(
                    f"{src} holds table(s) this version of signoff does not know ({', '.join(unknown[:5])}): "
                    "copy it with the version of signoff that made them."
                )
            file_digests = sorted(
                {
                    str(r[0])
                    for r in reading.execute(
                        select(metadata.tables["evidence"].c.sha256).where(metadata.tables["evidence"].c.kind == "file")
                    )
                }
            )
            source_dir, dest_dir = _evidence_folders(src, dst, bool(file_digests))
            with engine_for(dst).connect() as writing:
                writing.begin()
                _prepare_destination(writing, dst)
                counts: dict[str, int] = {}
                for table in tables:
                    if dst.is_sqlite:
                        order = list(table.primary_key.columns)
                        result = reading.execute(select(table).order_by(*order), execution_options={"yield_per": BATCH})
                        counts[table.name] = 0
                        for part in result.mappings().partitions(BATCH):
                            writing.execute(insert(table), [dict(r) for r in part])
                            counts[table.name] += len(part)
                    else:
                        counts[table.name] = _copy_in(writing, table, _source_rows(reading, table, src))
                if not dst.is_sqlite:
                    for table in tables:
                        if "id" in table.c and table.c.id.primary_key:
                            top = writing.execute(select(func.max(table.c.id))).scalar()
                            writing.execute(
                                text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, :called)"),
                                {"t": table.name, "v": top or 1, "called": top is not None},
                            )
                _record_evidence_folder(writing, dst)
                session = Session(bind=writing)
                uow = UnitOfWork(dst, check_schema=False)
                uow.session = session
                report = _check_chain(writing, uow.database_id(), dst)
                files = _copy_evidence(source_dir, dest_dir, file_digests)
                actor = load_actor(uow, actor_name)
                head = f"{report.last_seq}:{report.last_hash}"
                record_applied(
                    uow,
                    actor,
                    "register.copy",
                    detail={"from": str(src), "to": str(dst), "records": counts.get("audit", 0), "head": head},
                )
                writing.commit()
    finally:
        reader.dispose()
    return CopyResult(counts, files, head)


def _copy_in(writing: Any, table: Any, rows: Iterator[Sequence[Any]]) -> int:
    """Stream ``rows`` into ``table`` with PostgreSQL's COPY FROM STDIN, inside the copy's transaction.

    psycopg sends the rows in small buffers as they are written, so memory stays flat however
    large the table; and one COPY is many times faster than batched INSERTs.
    """
    from psycopg import sql

    columns = sql.SQL(", ").join(sql.Identifier(c.name) for c in table.columns)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table.name), columns)
    count = 0
    with writing.connection.dbapi_connection.cursor() as cur, cur.copy(statement) as copy:
        write = copy.write_row
        for row in rows:
            write(row)
            count += 1
    return count


def _select_all(table: Any) -> str:
    """Every column of ``table`` in key order, as plain SQL both backends read alike."""
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
    return f'SELECT {columns} FROM "{table.name}" ORDER BY {order}'


def _source_rows(reading: Any, table: Any, src: location.Target) -> Iterator[Sequence[Any]]:
    """The source table's rows, a few at a time, from the snapshot the copy reads in."""
    raw = reading.connection.dbapi_connection
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


def _prepare_destination(writing: Any, dst: location.Target) -> None:
    """Create the schema inside the copy's transaction, or accept an empty one at the head revision."""
    from sqlalchemy import text

    from signoff.store.database import table_names
    from signoff.store.tables import metadata

    if not dst.is_sqlite:
        # Copying large evidence files may leave this transaction idle for longer than a normal write.
        writing.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = 0")
    present = set(table_names(writing))
    if not present:
        migrate.upgrade_in(writing, dst)
        return
    ours = NOT_COPIED | set(metadata.tables)
    foreign = sorted(present - ours)
    if foreign:
        raise BadInput(
            f"{dst} already holds other tables ({', '.join(foreign[:5])}): copy into an empty database or schema."
        )
    revision = writing.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if revision != location.SCHEMA_HEAD:
        location.check_revision(revision, dst)
    used = writing.execute(text("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM audit)")).scalar()
    if used:
        raise BadInput(f"{dst} already holds a register: copy into an empty database.")


def _record_evidence_folder(writing: Any, dst: location.Target) -> None:
    """The destination's own shared evidence folder, never the source's (a SQLite file keeps its beside it)."""
    from sqlalchemy import delete, insert

    from signoff.store.tables import metadata

    meta = metadata.tables["meta"]
    writing.execute(delete(meta).where(meta.c.key == location.EVIDENCE_DIR_KEY))
    folder = None if dst.is_sqlite else location.shared_evidence_dir()
    if folder is not None:
        writing.execute(insert(meta).values(key=location.EVIDENCE_DIR_KEY, value=str(folder)))


def _check_chain(writing: Any, database_id: str, dst: location.Target) -> chain.ChainReport:
    """Verify the chain as the destination stores it, before the copy commits."""
    from sqlalchemy import text

    statement = "SELECT " + ", ".join(chain.EXPORT_FIELDS) + " FROM audit ORDER BY seq"
    if dst.is_sqlite:
        rows: Iterator[Sequence[Any]] = iter(
            writing.execute(text(statement), execution_options={"yield_per": BATCH})  # this statement only
        )
    else:
        rows = _server_rows(writing.connection.dbapi_connection, statement, "signoff_copy_check")
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
