"""Looking after the register file itself: consistent backups, schema upgrades, integrity checks.

Backups use SQLite's online backup API on a read-only connection: the copy is one consistent
snapshot even while others write (WAL readers never block writers), written beside the target
under a temporary name, checked, fsynced and only then renamed into place.
An upgrade always takes such a backup first, then applies the pending Alembic migrations in one
transaction, then checks that the audit chain still verifies.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signoff.errors import BadInput, SignoffError
from signoff.store import location


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    revision: str | None
    evidence_files: int


@dataclass(frozen=True)
class UpgradeResult:
    from_revision: str
    to_revision: str
    backup: BackupResult | None


def _open_source(db_path: Path) -> sqlite3.Connection:
    location.require_existing(db_path)
    if not db_path.is_file():
        raise BadInput(f"{db_path} is not a file: pass the register's database file with --db.")
    try:
        conn = sqlite3.connect(f"file:{db_path.resolve()}?mode=ro", uri=True, timeout=15.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=15000")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as err:
        raise location.translate(err, db_path) from None
    return conn


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _copy_evidence(db_path: Path, target: Path) -> int:
    """Evidence blobs are immutable and written before the row that names them: copy what is there."""
    store = location.evidence_dir(db_path)
    if not store.is_dir():
        return 0
    dest = location.evidence_dir(target)
    count = 0
    for blob in sorted(store.glob("??/*")):
        if not blob.is_file() or blob.name.startswith("."):
            continue
        out = dest / blob.parent.name / blob.name
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(blob, out)
        count += 1
    return count


def _sqlite_only(db: location.DbRef, what: str, instead: str) -> Path:
    t = location.target(db)
    if t.path is None:
        raise BadInput(f"'{what}' works on a SQLite register; for the PostgreSQL database {t}, {instead}.")
    return t.path


def backup(
    db_path: location.DbRef, target: Path, *, overwrite: bool = False, with_evidence: bool = True
) -> BackupResult:
    """Copy the register to ``target`` as one consistent snapshot, with its evidence files."""
    db_path = _sqlite_only(db_path, "db backup", "use pg_dump, which also takes a consistent snapshot")
    if target.exists() and not overwrite:
        raise BadInput(f"{target} already exists: choose a new file name for the backup.")
    if not target.parent.is_dir():
        raise BadInput(f"the folder {target.parent} does not exist: create it first or choose another path.")
    if target.resolve() == db_path.resolve():
        raise BadInput("the backup file must not be the register itself: choose another path.")
    src = _open_source(db_path)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        dst = sqlite3.connect(partial, isolation_level=None)
        try:
            # pages=-1: the whole database in one step, under one read snapshot of the source.
            src.backup(dst, pages=-1)
            revision = _revision(dst)
            check = dst.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                raise SignoffError(f"the copy of {db_path} failed SQLite's quick_check ({check}): nothing was kept.")
            # A self-contained copy: fold any WAL content in and leave a rollback-journal file.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
        with partial.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, target)
        _fsync_dir(target.parent)
    except sqlite3.Error as err:
        text = str(err).lower()
        blame = target if any(w in text for w in ("full", "readonly", "read-only", "unable to open")) else db_path
        raise location.translate(err, blame) from None
    except OSError as err:
        raise SignoffError(
            f"the backup {target} could not be written ({err.strerror or err}): nothing was kept."
        ) from None
    finally:
        src.close()
        partial.unlink(missing_ok=True)
    if not with_evidence:
        return BackupResult(target, target.stat().st_size, revision, 0)
    try:
        evidence_files = _copy_evidence(db_path, target)
    except OSError as err:
        raise SignoffError(
            f"the database was copied to {target} but its evidence files were not ({err.strerror or err}): "
            f"copy {location.evidence_dir(db_path)} by hand."
        ) from None
    return BackupResult(target, target.stat().st_size, revision, evidence_files)


def backup_name(db_path: Path, now: dt.datetime | None = None) -> Path:
    """``<db>.bak-<UTC timestamp>``, never an existing file."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = db_path.with_name(f"{db_path.name}.bak-{stamp}")
    n = 1
    while path.exists():
        n += 1
        path = db_path.with_name(f"{db_path.name}.bak-{stamp}-{n}")
    return path


def upgrade(db: location.DbRef, actor: str | None = None) -> UpgradeResult:
    """Back the register up, then bring its schema to this version's head in one transaction.

    The upgrade itself is then recorded in the audit log, by ``actor`` (``--as``) or, failing
    that, the login name of whoever ran it: a change of schema is part of the record.
    """
    from signoff.store import migrate

    if not location.target(db).is_sqlite:
        return _upgrade_server(location.target(db), actor)
    db_path = _sqlite_only(db, "db upgrade", "")

    conn = _open_source(db_path)
    try:
        current = _revision(conn)
    finally:
        conn.close()
    if current is None:
        raise SignoffError(
            f"{db_path} is not an initialised signoff register: run 'signoff init --secretary NAME' first."
        )
    if current not in location.KNOWN_REVISIONS:
        raise SignoffError(
            f"{db_path} was written by a newer version of signoff (schema {current}): upgrade signoff to use it."
        )
    if current == location.SCHEMA_HEAD:
        _record_upgrade(db_path, actor, current, current, None)  # pins the rules if an earlier upgrade stopped short
        return UpgradeResult(current, current, None)
    # The migrations never touch evidence files, so the backup is of the database alone.
    saved = backup(db_path, backup_name(db_path), with_evidence=False)
    try:
        migrate.upgrade(db_path)
    except SignoffError:
        raise
    except Exception as err:  # a driver or migration error: the migration transaction was rolled back
        orig = getattr(err, "orig", None) or err
        cause = location.translate(orig, db_path)
        raise SignoffError(f"{cause} The upgrade was not applied; a backup is at {saved.path}.") from None
    after = migrate.current_revision(db_path)
    if after != location.SCHEMA_HEAD:
        raise SignoffError(
            f"{db_path} is at schema {after} after the upgrade, not {location.SCHEMA_HEAD}: "
            f"restore {saved.path} and report this."
        )
    _record_upgrade(db_path, actor, current, after, str(saved.path))
    return UpgradeResult(current, after, saved)


def _upgrade_server(t: location.Target, actor: str | None) -> UpgradeResult:
    """PostgreSQL runs the whole upgrade in one transaction (its DDL is transactional): all or nothing.

    No file copy is taken here; the council's own pg_dump schedule is the backup (see README).
    """
    from signoff.store import migrate

    current = migrate.current_revision(t)
    if current is None:
        raise SignoffError(f"{t} is not an initialised signoff register: run 'signoff init --secretary NAME' first.")
    if current not in location.KNOWN_REVISIONS:
        raise SignoffError(
            f"{t} was written by a newer version of signoff (schema {current}): upgrade signoff to use it."
        )
    if current != location.SCHEMA_HEAD:
        try:
            migrate.upgrade(t)
        except SignoffError:
            raise
        except Exception as err:
            cause = location.translate(getattr(err, "orig", None) or err, t)
            raise SignoffError(f"{cause} The upgrade was rolled back; nothing changed.") from None
    after = migrate.current_revision(t) or current
    _record_upgrade(t, actor, current, after, None)
    return UpgradeResult(current, after, None)


def _record_upgrade(db: location.DbRef, actor: str | None, before: str, after: str, backup: str | None) -> None:
    import getpass

    from sqlmodel import select

    from signoff.store.tables import Meta, User
    from signoff.store.uow import UnitOfWork

    name = actor or getpass.getuser()
    with UnitOfWork(db) as uow:
        if uow.session.get(Meta, "database_id") is None:
            return  # a register whose init never finished has no chain to record in yet
        user = uow.session.exec(select(User).where(User.name == name)).first()
        roles = user.roles if user else ""
        unpinned = uow.session.get(Meta, "rules_in_force") is None
        if unpinned:
            # A register made before its rules were pinned: take the tables as they stand into the
            # chain (replay continues from them), then pin the rules it was running on.
            from signoff.services import rules as rule_sets

            uow.audit(
                actor=name,
                roles=roles,
                event="register.baseline",
                outcome="applied",
                detail={"tables": baseline_tables(uow)},
                workflow_hash=rule_sets.load_folder(None).digest,
            )
            directory = workflows_folder_in_use()
            rule_sets.pin(uow, name, roles, rule_sets.load_folder(directory), rule_sets.origin_of(directory))
        if before != after or unpinned:
            uow.audit(
                actor=name,
                roles=roles,
                event="register.upgrade",
                outcome="applied",
                detail={"from_schema": before, "to_schema": after, "backup": backup},
            )
        uow.commit()


def workflows_folder_in_use() -> Path | None:
    """The folder an unpinned register was running on: SIGNOFF_WORKFLOWS if set, else the shipped set."""
    override = os.environ.get("SIGNOFF_WORKFLOWS")
    return Path(override) if override else None


def baseline_tables(uow: Any) -> dict[str, list[dict[str, Any]]]:
    """Every table replay rebuilds, as its rows stand now, in replay's canonical form."""
    from signoff.engine.replay import TABLES
    from signoff.services.reconcile import TABLE_SQL

    conn = uow.session.connection()
    out: dict[str, list[dict[str, Any]]] = {}
    for name, (keys, cols) in TABLES.items():
        names = (*keys, *cols)
        rows = conn.exec_driver_sql(TABLE_SQL[name]).fetchall()
        out[name] = [dict(zip(names, row[: len(names)], strict=True)) for row in rows]
    return out


# The append-only triggers every register at this schema has (PostgreSQL also refuses TRUNCATE).
APPEND_ONLY = (
    "audit",
    "evidence",
    "submissions",
    "approvals",
    "reschedules",
    "workflow_defs",
    "withdrawals",
    "item_changes",
)


def expected_triggers(postgres: bool) -> list[str]:
    names = [f"{t}_no_{a}" for t in APPEND_ONLY for a in ("update", "delete")]
    return names + [f"{t}_no_truncate" for t in APPEND_ONLY] if postgres else names


def integrity_check(db: location.DbRef) -> list[str]:
    """Everything that must hold for the register to be trusted: an empty list means all is well.

    SQLite's full integrity_check and foreign_key_check (on a file), every append-only trigger in
    place, and the chain replayed and reconciled with every table (see ``audit verify``).
    """
    from signoff.services.audit import verify_register
    from signoff.store.reader import Reader

    t = location.target(db)
    problems: list[str] = []
    if t.is_sqlite:
        db_path = _sqlite_only(db, "db check", "")
        conn = _open_source(db_path)
        try:
            problems += [str(r[0]) for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
            problems += [
                f"{table} row {rowid} refers to a missing {parent} row"
                for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check")
            ]
        except sqlite3.Error as err:
            raise location.translate(err, db_path) from None
        finally:
            conn.close()
        if problems:
            return problems  # a damaged file: replaying it would only repeat the damage
    with Reader(t) as r:
        if t.is_sqlite:
            present = {row["name"] for row in r.all("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        else:
            present = {
                row["name"]
                for row in r.all("SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'")
            }
    problems += [
        f"the append-only trigger {name} is missing or disabled"
        for name in expected_triggers(not t.is_sqlite)
        if name not in present
    ]
    report, _, reconciled = verify_register(t)
    problems += [f"audit record {seq}: {why}" for seq, why in report.broken]
    problems += [f"audit record {seq}: {why}" for seq, why in reconciled.problems]
    problems += list(reconciled.differences)
    return problems
