"""Adding evidence against a matrix row, and what the board's bundle of evidence is."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from signoff import clock
from signoff.domain import bundle, names
from signoff.domain.model import EvidenceFact
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput, NotFound
from signoff.services.common import Actor, in_unit_of_work, load_item, record_applied, require_role
from signoff.store import blobs, location
from signoff.store.location import DbRef
from signoff.store.uow import Row, UnitOfWork

if TYPE_CHECKING:  # imported where used: a transition reads evidence without the ORM classes
    from signoff.store.tables import Evidence, Item, MatrixRow, Withdrawal

E = TypeVar("E", "Evidence", Row)  # an evidence record loaded by the ORM, or read as a plain row


@dataclass(frozen=True)
class MeasureInput:
    measure: str
    value: float
    unit: str
    period: str
    threshold: float
    direction: str  # at-most | at-least


def current(records: Sequence[E], withdrawn: Collection[int] = ()) -> list[E]:
    """Evidence still standing: records no later record supersedes and nobody withdrew."""
    replaced = {r.supersedes_id for r in records if r.supersedes_id is not None}
    return [r for r in records if r.id not in replaced and r.id not in withdrawn]


def withdrawals(uow: UnitOfWork, item_id: int) -> dict[int, Withdrawal]:
    """The item's withdrawn evidence: evidence id → its withdrawal."""
    from sqlmodel import select

    from signoff.store.tables import Withdrawal

    rows = uow.session.exec(select(Withdrawal).where(Withdrawal.item_id == item_id))
    return {w.evidence_id: w for w in rows}


@dataclass(frozen=True)
class Added:
    """What ``evidence add`` did: the new record, and whether it repaired the evidence store."""

    evidence_id: int
    repaired: str | None = None  # why the stored copy of the file was rewritten, if it was


def bundle_entries(records: Sequence[Evidence | Row]) -> list[bundle.Entry]:
    """Every field of exactly these evidence records, as the bundle digest covers them."""
    return [bundle.stored_entry(r if isinstance(r, dict) else r.model_dump()) for r in records]


def fact(r: Evidence | Row) -> EvidenceFact:
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
    found = uow.rows("SELECT value FROM meta WHERE key = ?", (MAX_EVIDENCE_KEY,))
    text = found[0][0] if found else None
    mib = int(text) if isinstance(text, str) and text.isdigit() else DEFAULT_MAX_EVIDENCE_MIB
    return mib * MIB


def item_evidence(uow: UnitOfWork, item_id: int) -> list[Evidence]:
    from sqlmodel import select

    from signoff.store.tables import Evidence

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


@dataclass(frozen=True)
class Checked:
    """One piece of evidence whose every field has passed the checks that need no register: what
    ``evidence add`` and each row of ``evidence import`` write."""

    ref: str
    key: str
    dated: dt.date
    kind: str  # file | note | measure
    file: Path | None = None
    file_name: str | None = None
    note: str | None = None
    measure: MeasureInput | None = None
    digest: str = ""  # a note's or a measure's digest; a file's is taken when it is stored


def check_evidence(
    ref: str,
    key: str,
    dated: dt.date,
    *,
    file: Path | None = None,
    note: str | None = None,
    measure: MeasureInput | None = None,
    today: dt.date | None = None,
) -> Checked:
    """Check one piece of evidence before the register is opened; BadInput names what is wrong."""
    ref = names.check_ref(ref)
    key = names.check_key(key)
    given = [x for x in (file, note, measure) if x is not None]
    if len(given) != 1:
        raise BadInput("give exactly one of --file PATH, --note TEXT or --measure NAME for the evidence.")
    today = today or clock.today()
    if dated > today:
        raise BadInput(
            f"evidence dated {dated.isoformat()} is after today ({today.isoformat()}): "
            f"give the date the evidence carries, not when it is expected."
        )
    if file is not None:
        if not file.is_file():
            raise BadInput(f"evidence file {file} does not exist or is not a file: check the path.")
        return Checked(ref, key, dated, "file", file=file, file_name=names.check_file_name(file.name))
    if measure is not None:
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
        return Checked(ref, key, dated, "measure", measure=measure, digest=digest)
    assert note is not None
    note_text = names.check_text(note, "note")
    return Checked(ref, key, dated, "note", note=note_text, digest=bundle.note_digest(note_text))


def matrix_row(uow: UnitOfWork, item_id: int, key: str) -> MatrixRow | None:
    from sqlmodel import select

    from signoff.store.tables import MatrixRow

    return uow.session.exec(select(MatrixRow).where(MatrixRow.item_id == item_id, MatrixRow.key == key)).first()


def size_problem(uow: UnitOfWork, e: Checked, limit: int | None = None) -> str | None:
    """Why a file is too large for this register (whose limit is ``limit``, read if not given), or None."""
    if e.file is None:
        return None
    if limit is None:
        limit = max_evidence_bytes(uow)
    size = e.file.stat().st_size
    if size <= limit:
        return None
    return (
        f"evidence file {e.file_name} is {size / MIB:,.1f} MiB, over this register's limit "
        f"of {limit // MIB:,} MiB: add a smaller file, or a note saying where the document is kept."
    )


_SAME_DIGEST_SQL = "SELECT id FROM evidence WHERE sha256 = ? LIMIT 1"


def write_evidence(
    uow: UnitOfWork, actor: Actor, db_path: DbRef, item: Item | Row, e: Checked, supersedes: int | None = None
) -> Added:
    """Store one checked piece of evidence and its ``evidence.add`` audit record in ``uow``: the
    record ``evidence add`` writes, whichever command wrote it. The caller has checked the actor's
    role, the item, the matrix row and the file's size. Plain statements: an import writes many."""
    assert item.id is not None
    digest, size, repaired = e.digest, None, None
    if e.file is not None:
        # Copied only once the attempt is allowed; a copy whose record then fails to commit is an
        # unreferenced blob, harmless (the store is content-addressed), and a repair stands.
        stored = blobs.put(location.evidence_dir(db_path), e.file)
        digest, size = stored.digest, stored.size
        if stored.found == "damaged":
            repaired = "it no longer had its SHA-256"
        elif stored.found == "absent" and uow.rows(_SAME_DIGEST_SQL, (digest,)):
            repaired = "it was missing"
    measure = e.measure
    dated = e.dated.isoformat()
    value = repr(measure.value) if measure else None
    threshold = repr(measure.threshold) if measure else None
    evidence_id = uow.insert(
        "evidence",
        {
            "item_id": item.id,
            "key": e.key,
            "kind": e.kind,
            "note": e.note,
            "file_name": e.file_name,
            "file_size": size,
            "sha256": digest,
            "dated": dated,
            "recorded_at": uow.now,
            "added_by": actor.name,
            "supersedes_id": supersedes,
            "measure": measure.measure if measure else None,
            "value": value,
            "unit": measure.unit if measure else None,
            "period": measure.period if measure else None,
            "threshold": threshold,
            "direction": measure.direction if measure else None,
        },
    )
    detail: dict[str, object] = {
        "evidence_id": evidence_id,
        "key": e.key,
        "kind": e.kind,
        "sha256": digest,
        "dated": dated,
    }
    if e.file_name:
        detail.update(file=e.file_name, size=size)
    if measure:
        detail.update(
            measure=measure.measure,
            value=value,
            unit=measure.unit,
            period=measure.period,
            threshold=threshold,
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
        item_ref=e.ref,
        from_state=item.state,
        to_state=item.state,
        workflow_hash=uow.rules().get(item.kind).digest,
        detail=detail,
    )
    return Added(evidence_id, repaired)


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
    e = check_evidence(ref, key, dated, file=file, note=note, measure=measure)
    ref, key = e.ref, e.key

    from signoff.store.tables import Evidence

    def body(uow: UnitOfWork, actor: Actor) -> Added:
        require_role(actor, REGISTER_ACTIONS["evidence.add"], "evidence add", ref)
        item = load_item(uow, ref)
        assert item.id is not None
        if matrix_row(uow, item.id, key) is None:
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
        too_big = size_problem(uow, e)
        if too_big:
            raise BadInput(too_big)
        return write_evidence(uow, actor, db_path, item, e, supersedes)

    return in_unit_of_work(db_path, actor_name, "evidence.add", body, item_ref=ref)
