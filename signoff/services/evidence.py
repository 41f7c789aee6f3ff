"""Adding evidence against a matrix row, and what the board's bundle of evidence is."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select

from signoff import clock
from signoff.domain import names
from signoff.domain.model import EvidenceFact
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.engine import workflow as workflows
from signoff.errors import BadInput, NotFound
from signoff.services.common import Actor, in_unit_of_work, load_item, record_applied, require_role
from signoff.store import blobs, location
from signoff.store.location import DbRef
from signoff.store.tables import Evidence, MatrixRow, Meta
from signoff.store.uow import UnitOfWork


@dataclass(frozen=True)
class MeasureInput:
    measure: str
    value: float
    unit: str
    period: str
    threshold: float
    direction: str  # at-most | at-least


def current(records: Sequence[Evidence]) -> list[Evidence]:
    """Evidence still standing: records no later record supersedes."""
    replaced = {r.supersedes_id for r in records if r.supersedes_id is not None}
    return [r for r in records if r.id not in replaced]


def bundle_digest(records: Sequence[Evidence]) -> str:
    """The digest of exactly these evidence records, frozen on submission and checked at approval."""
    lines = sorted(f"{r.id}:{r.key}:{r.sha256}:{r.dated}" for r in records)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def fact(r: Evidence) -> EvidenceFact:
    return EvidenceFact(
        key=r.key,
        dated=dt.date.fromisoformat(r.dated),
        recorded_at=r.recorded_at,
        added_by=r.added_by,
        digest=r.sha256,
        kind=r.kind,
        measure=r.measure,
        value=float(r.value) if r.value is not None else None,
        threshold=float(r.threshold) if r.threshold is not None else None,
        direction=r.direction,
        period=r.period,
    )


MIB = 1 << 20
DEFAULT_MAX_EVIDENCE_MIB = 512
MAX_EVIDENCE_KEY = "max_evidence_mib"  # meta key, set by 'signoff init --max-evidence-mib N'


def max_evidence_bytes(uow: UnitOfWork) -> int:
    """The register's limit on one evidence file: a copy of every file lives beside the register and
    in every backup, so one mistaken video must not fill the disk."""
    row = uow.session.get(Meta, MAX_EVIDENCE_KEY)
    mib = int(row.value) if row is not None and row.value.isdigit() else DEFAULT_MAX_EVIDENCE_MIB
    return mib * MIB


def item_evidence(uow: UnitOfWork, item_id: int) -> list[Evidence]:
    return list(uow.session.exec(select(Evidence).where(Evidence.item_id == item_id).order_by(Evidence.id)))  # type: ignore[arg-type]


def add_evidence(
    db_path: DbRef,
    actor_name: str,
    ref: str,
    key: str,
    dated: dt.date,
    *,
    file: Path | None = None,
    note: str | None = None,
    measure: MeasureInput | None = None,
    supersedes: int | None = None,
) -> int:
    ref = names.check_ref(ref)
    key = names.check_key(key)
    given = [x for x in (file, note, measure) if x is not None]
    if len(given) != 1:
        raise BadInput("give exactly one of --file PATH, --note TEXT or --measure NAME for the evidence.")
    kind = "file" if file is not None else "measure" if measure is not None else "note"
    note_text = names.check_text(note, "note") if note is not None else None
    file_name = size = None
    digest = ""
    if file is not None:
        if not file.is_file():
            raise BadInput(f"evidence file {file} does not exist or is not a file: check the path.")
        file_name = names.check_file_name(file.name)
    elif measure is not None:
        if measure.direction not in ("at-most", "at-least"):
            raise BadInput(f"direction {measure.direction!r} is not at-most or at-least.")
        if not (math.isfinite(measure.value) and math.isfinite(measure.threshold)):
            raise BadInput("a measure's --value and --threshold must be ordinary numbers (not inf or nan).")
        names.check_text(measure.unit, "unit", required=False)
        names.check_text(measure.period, "period", required=False)
        names.check_text(measure.measure, "measure name")
        text = f"{measure.measure}|{measure.value!r}|{measure.unit}|{measure.period}|{measure.threshold!r}|{measure.direction}"
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    else:
        digest = hashlib.sha256((note_text or "").encode("utf-8")).hexdigest()

    def body(uow: UnitOfWork, actor: Actor) -> int:
        require_role(actor, REGISTER_ACTIONS["evidence.add"], "evidence add", ref)
        item = load_item(uow, ref)
        assert item.id is not None
        row = uow.session.exec(select(MatrixRow).where(MatrixRow.item_id == item.id, MatrixRow.key == key)).first()
        if row is None:
            raise NotFound(f"{ref} has no evidence matrix row {key!r}: see 'signoff matrix show {ref}'.")
        if supersedes is not None:
            old = uow.session.get(Evidence, supersedes)
            if old is None or old.item_id != item.id:
                raise NotFound(f"{ref} has no evidence record {supersedes}: see 'signoff evidence list {ref}'.")
            if old.key != key:
                raise BadInput(
                    f"evidence record {supersedes} is for matrix row {old.key!r}, not {key!r}: "
                    f"a correction supersedes evidence of the same row."
                )
            if any(e.supersedes_id == supersedes for e in item_evidence(uow, item.id)):
                raise BadInput(
                    f"evidence record {supersedes} is already superseded: supersede its replacement instead."
                )
        nonlocal digest, size
        if file is not None:
            limit = max_evidence_bytes(uow)
            if file.stat().st_size > limit:
                raise BadInput(
                    f"evidence file {file_name} is {file.stat().st_size / MIB:,.1f} MiB, over this register's limit "
                    f"of {limit // MIB:,} MiB: add a smaller file, or a note saying where the document is kept."
                )
            # Copied only once the attempt is allowed; a copy whose record then fails to commit is an
            # unreferenced blob, harmless (the store is content-addressed).
            digest, size = blobs.put(location.evidence_dir(db_path), file)
        record = Evidence(
            item_id=item.id,
            key=key,
            kind=kind,
            note=note_text,
            file_name=file_name,
            file_size=size,
            sha256=digest,
            dated=dated.isoformat(),
            recorded_at=clock.now_iso(),
            added_by=actor.name,
            supersedes_id=supersedes,
            measure=measure.measure if measure else None,
            value=repr(measure.value) if measure else None,
            unit=measure.unit if measure else None,
            period=measure.period if measure else None,
            threshold=repr(measure.threshold) if measure else None,
            direction=measure.direction if measure else None,
        )
        uow.session.add(record)
        uow.session.flush()
        assert record.id is not None
        detail: dict[str, object] = {
            "evidence_id": record.id,
            "key": key,
            "kind": kind,
            "sha256": digest,
            "dated": record.dated,
        }
        if file_name:
            detail.update(file=file_name, size=size)
        if measure:
            detail.update(
                measure=measure.measure, value=record.value, threshold=record.threshold, direction=measure.direction
            )
        if supersedes is not None:
            detail["supersedes"] = supersedes
        record_applied(
            uow,
            actor,
            "evidence.add",
            item_ref=ref,
            from_state=item.state,
            to_state=item.state,
            workflow_hash=workflows.get(item.kind).digest,
            detail=detail,
        )
        return record.id

    return in_unit_of_work(db_path, actor_name, "evidence.add", body, item_ref=ref)
