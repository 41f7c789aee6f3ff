"""Restoring a register from a backup made by ``db backup``: the database and its evidence files.

The backup is checked through first (SQLite's integrity, the append-only triggers, the chain
recomputed, replayed and reconciled with every table, every evidence file against its SHA-256),
and a register that already holds records the backup lacks is not overwritten unless forced; when
it is, the register as it was is kept beside it. The evidence files go in before the database,
so no restored record ever names a file that is not there.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from signoff.errors import BadInput, Refused, SignoffError
from signoff.services import maintenance
from signoff.store import location


@dataclass(frozen=True)
class RestoreResult:
    records: int  # audit records in the restored register
    evidence_files: int
    kept: Path | None  # where the register that was replaced now is, if there was one


@dataclass(frozen=True)
class Head:
    database_id: str | None
    seq: int
    hash: str


def _head(path: Path) -> Head:
    conn = maintenance._open_source(path)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()
        head = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.Error as err:
        raise location.translate(err, path) from None
    finally:
        conn.close()
    return Head(row[0] if row else None, int(head[0]) if head else 0, str(head[1]) if head else "")


def _hash_at(path: Path, seq: int) -> str | None:
    conn = maintenance._open_source(path)
    try:
        row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (seq,)).fetchone()
    finally:
        conn.close()
    return str(row[0]) if row else None


def _lacks(register: Path, backup: Head) -> str | None:
    """Why restoring ``backup`` over ``register`` would lose records, or None if it would not."""
    here = _head(register)
    if here.database_id != backup.database_id:
        return f"{register} is a different register (id {here.database_id}, the backup's is {backup.database_id})"
    if here.seq > backup.seq:
        return f"{register} has {here.seq - backup.seq} audit record(s) after the backup's last (seq {backup.seq})"
    if backup.seq and _hash_at(register, backup.seq) not in (None, backup.hash):
        return f"{register}'s audit record {backup.seq} differs from the backup's: the two have diverged"
    return None


def restore(db: location.DbRef, backup_file: Path, *, force: bool = False) -> RestoreResult:
    """Put the register at ``db`` back to ``backup_file`` and its evidence files (FILE.evidence)."""
    from signoff.services.audit import verify_evidence

    db_path = maintenance._sqlite_only(db, "db restore", "restore with pg_restore from the council's pg_dump")
    if not backup_file.is_file():
        raise BadInput(f"the backup {backup_file} does not exist or is not a file: check the path.")
    if db_path.exists() and backup_file.resolve() == db_path.resolve():
        raise BadInput("the backup file is the register itself: give the backup made by 'signoff db backup'.")
    problems = maintenance.integrity_check(backup_file)
    if problems:
        raise SignoffError(
            f"the backup {backup_file} does not verify ({problems[0]}; {len(problems)} problem(s) in all, "
            f"see 'signoff --db {backup_file} db check'): nothing was restored."
        )
    _, evidence_problems = verify_evidence(backup_file)
    if evidence_problems:
        raise SignoffError(
            f"the backup's evidence files are not all there ({evidence_problems[0]}): "
            f"keep {location.evidence_dir(backup_file)} beside the backup and try again; nothing was restored."
        )
    backup_head = _head(backup_file)
    kept = None
    if db_path.exists() and db_path.stat().st_size > 0:
        lost = _lacks(db_path, backup_head)
        if lost and not force:
            raise Refused(
                f"{lost}: restoring would lose them, so nothing was restored; "
                f"back it up first and pass --force to restore anyway."
            )
        if lost:
            kept = maintenance.backup(db_path, maintenance.backup_name(db_path)).path
    elif not db_path.parent.is_dir():
        raise BadInput(f"the folder {db_path.parent} does not exist: create it first or choose another --db path.")
    try:
        files = maintenance._copy_evidence(backup_file, db_path)
    except OSError as err:
        raise SignoffError(
            f"the evidence files could not be copied to {location.evidence_dir(db_path)} ({err.strerror or err}): "
            f"the register was left as it was."
        ) from None
    _swap_in(backup_file, db_path)
    return RestoreResult(backup_head.seq, files, kept)


def _swap_in(backup_file: Path, db_path: Path) -> None:
    """A consistent copy of the backup under a temporary name, fsynced, then renamed over the register
    (its WAL and shared-memory files go first: they belong to the register being replaced)."""
    partial = db_path.with_name(db_path.name + ".restoring")
    partial.unlink(missing_ok=True)
    src = maintenance._open_source(backup_file)
    try:
        dst = sqlite3.connect(partial, isolation_level=None)
        try:
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
        with partial.open("rb+") as fh:
            os.fsync(fh.fileno())
        for suffix in ("-wal", "-shm"):
            Path(str(db_path) + suffix).unlink(missing_ok=True)
        os.replace(partial, db_path)
        maintenance._fsync_dir(db_path.parent)
    except sqlite3.Error as err:
        raise location.translate(err, db_path) from None
    except OSError as err:
        raise SignoffError(f"{db_path} could not be replaced ({err.strerror or err}): nothing was restored.") from None
    finally:
        src.close()
        partial.unlink(missing_ok=True)
