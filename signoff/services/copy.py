"""Moving a register between backends (SQLite ⇄ PostgreSQL) with its whole audit history.

Rows are copied table by table in foreign-key order, keys and all, in one transaction on the
destination; the hash chain is then verified on the destination before the copy is reported
done, and the copy itself is appended to the destination's log.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from signoff.domain.roles import SECRETARY
from signoff.errors import BadInput, SignoffError
from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
from signoff.store import location, migrate
from signoff.store.location import DbRef
from signoff.store.uow import UnitOfWork

BATCH = 5000
SECRETARY_ONLY = frozenset({SECRETARY})


@dataclass(frozen=True)
class CopyResult:
    rows: dict[str, int]
    evidence_files: int
    audit_head: str


def copy_register(source: DbRef, dest: DbRef, actor_name: str) -> CopyResult:
    from sqlalchemy import func, insert, select, text

    from signoff.services.audit import verify
    from signoff.store.tables import metadata
    from signoff.store.uow import engine_for

    src, dst = location.target(source), location.target(dest)
    if src == dst:
        raise BadInput("the destination is the register itself: give --to another database.")
    location.require_existing(src)
    revision = migrate.current_revision(src)
    location.check_revision(revision, src)
    # Who is copying is settled on the source before anything is written anywhere; a refusal is
    # recorded there.
    in_unit_of_work(src, actor_name, "register.copy", lambda uow, actor: require_role(actor, SECRETARY_ONLY, "db copy"))
    dst_revision = migrate.current_revision(dst)
    if dst_revision is None:
        if dst.path is not None and not dst.path.parent.is_dir():
            raise BadInput(f"the folder {dst.path.parent} does not exist: create it first.")
        if dst.path is not None and dst.path.exists() and dst.path.stat().st_size > 0:
            raise BadInput(f"{dst} exists and is not a signoff register: copy into a new file.")
        try:
            migrate.upgrade(dst)
        except SignoffError:
            raise
        except Exception as err:  # a driver error creating the destination's tables
            raise location.translate(getattr(err, "orig", None) or err, dst) from None
    elif dst_revision != location.SCHEMA_HEAD:
        location.check_revision(dst_revision, dst)
    dst_engine = engine_for(dst)
    with dst_engine.connect() as probe:
        used = probe.execute(text("SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM audit)")).scalar()
    if used:
        raise BadInput(f"{dst} already holds a register: copy into an empty database.")

    with UnitOfWork(src) as uow:  # the source stays locked for writes while it is read: one consistent copy
        counts: dict[str, int] = {}
        file_rows = 0
        reading = uow.session.connection()
        with dst_engine.begin() as writing:
            for table in metadata.sorted_tables:
                order = list(table.primary_key.columns)
                counts[table.name] = 0
                result = reading.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
                for part in result.mappings().partitions(BATCH):
                    writing.execute(insert(table), [dict(r) for r in part])
                    counts[table.name] += len(part)
                    if table.name == "evidence":
                        file_rows += sum(1 for r in part if r["kind"] == "file")
            if not dst.is_sqlite:
                for table in metadata.sorted_tables:
                    if "id" in table.c and table.c.id.primary_key:
                        top = writing.execute(select(func.max(table.c.id))).scalar()
                        writing.execute(
                            text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v, :called)"),
                            {"t": table.name, "v": top or 1, "called": top is not None},
                        )
    files = _copy_evidence(src, dst, file_rows)
    report, _ = verify(dst)
    if not report.ok:
        raise SignoffError(f"the copy in {dst} does not verify ({report.broken[0][1]}): do not use it.")

    def record(uow: UnitOfWork, actor: Actor) -> None:
        record_applied(
            uow,
            actor,
            "register.copy",
            detail={
                "from": str(src),
                "records": counts.get("audit", 0),
                "head": f"{report.last_seq}:{report.last_hash}",
            },
        )

    in_unit_of_work(dst, actor_name, "register.copy", record)
    return CopyResult(counts, files, f"{report.last_seq}:{report.last_hash}")


def _copy_evidence(src: location.Target, dst: location.Target, files: int) -> int:
    if not files:
        return 0
    source_dir, dest_dir = location.evidence_dir(src), location.evidence_dir(dst)
    if not source_dir.is_dir() or source_dir.resolve() == dest_dir.resolve():
        return 0
    count = 0
    for blob in source_dir.rglob("*"):
        if blob.is_file() and not blob.name.startswith("."):
            target = dest_dir / blob.relative_to(source_dir)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(blob, target)
            count += 1
    return count
