"""Adding evidence against a matrix row, and what the board's bundle of evidence is."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select

from signoff.domain import bundle, names
from signoff.domain.model import EvidenceFact
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput, NotFound
from signoff.services.common import Actor, in_unit_of_work, load_item, record_applied, require_role
from signoff.store import blobs, location
from signoff.store.location import DbRef
from signoff.store.tables import Evidence, MatrixRow, Meta, Withdrawal
from signoff.store.uow import UnitOfWork


@dataclass(frozen=True)
class MeasureInput:
    measure: str
    value: float
    unit: str
    period: str
    threshold: float
    direction: str  # at-most | at-least


def current(records: Sequence[Evidence], withdrawn: Collection[int] = ()) -> list[Evidence]:
    """Evidence still standing: records no later record supersedes and nobody withdrew."""
    replaced = {r.supersedes_id for r in records if r.supersedes_id is not None}
    return [r for r in records if r.id not in replaced and r.id not in withdrawn]


def withdrawals(uow: UnitOfWork, item_id: int) -> dict[int, Withdrawal]:
    """The item's withdrawn evidence: evidence id → its withdrawal."""
    rows = uow.session.exec(select(Withdrawal).where(Withdrawal.item_id == item_id))
    return {w.evidence_id: w for w in rows}


@dataclass(frozen=True)
class Added:
    """What ``evidence add`` did: the new record, and whether it repaired the evidence store."""

    evidence_id: int
    repaired: str | None = None  # why the stored copy of the file was rewritten, if it was


def bundle_entries(records: Sequence[Evidence]) -> list[bundle.Entry]:
    """Every field of exactly these evidence records, as the bundle digest covers them."""
    return [bundle.stored_entry(r.model_dump()) for r in records]


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
    """Record one piece of evidence; return its id (see ``record_evidence`` for the whole outcome)."""
    return record_evidence(
        db_path, actor_name, ref, key, dated, file=file, note=note, measure=measure, supersedes=supersedes
    ).evidence_id


def record_evidence(
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
) -> Added:
    """Record one piece of evidence. Adding a file whose stored copy is damaged (or gone, while
    records still name it) repairs the copy from the file given, whose hash is checked first."""
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
        digest = bundle.measure_digest(
            measure.measure,
            repr(measure.value),
            measure.unit,
            measure.period,
            repr(measure.threshold),
            measure.direction,
        )
    else:
        digest = bundle.note_digest(note_text)
    repaired: str | None = None  # kept across a retried attempt: the repair happened on the first

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
            if supersedes in withdrawals(uow, item.id):
                raise BadInput(
                    f"evidence record {supersedes} was withdrawn: add the right evidence as a new record "
                    "(without --supersedes)."
                )
            if any(e.supersedes_id == supersedes for e in item_evidence(uow, item.id)):
                raise BadInput(
                    f"evidence record {supersedes} is already superseded: supersede its replacement instead."
                )
        nonlocal digest, size, repaired
        if file is not None:
            limit = max_evidence_bytes(uow)
            if file.stat().st_size > limit:
                raise BadInput(
                    f"evidence file {file_name} is {file.stat().st_size / MIB:,.1f} MiB, over this register's limit "
                    f"of {limit // MIB:,} MiB: add a smaller file, or a note saying where the document is kept."
                )
            # Copied only once the attempt is allowed; a copy whose record then fails to commit is an
            # unreferenced blob, harmless (the store is content-addressed), and a repair stands.
            stored = blobs.put(location.evidence_dir(db_path), file)
            digest, size = stored.digest, stored.size
            if stored.found == "damaged":
                repaired = "it no longer had its SHA-256"
            elif (
                stored.found == "absent"
                and uow.session.exec(select(Evidence.id).where(Evidence.sha256 == digest)).first()
            ):
                repaired = "it was missing"
        record = Evidence(
            item_id=item.id,
            key=key,
            kind=kind,
            note=note_text,
            file_name=file_name,
            file_size=size,
            sha256=digest,
            dated=dated.isoformat(),
            recorded_at=uow.now,
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
                measure=measure.measure,
                value=record.value,
                unit=measure.unit,
                period=measure.period,
                threshold=record.threshold,
                direction=measure.direction,
            )
        if supersedes is not None:
            detail["supersedes"] = supersedes
        if repaired:
            detail["repaired_stored_copy"] = True
        record_applied(
            uow,
            actor,
            "evidence.add",
            item_ref=ref,
            from_state=item.state,
            to_state=item.state,
            workflow_hash=uow.rules().get(item.kind).digest,
            detail=detail,
        )
        return record.id

    evidence_id = in_unit_of_work(db_path, actor_name, "evidence.add", body, item_ref=ref)
    return Added(evidence_id, repaired)
