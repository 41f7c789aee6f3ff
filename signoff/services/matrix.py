"""Importing the evidence matrix: validate the whole file, then write it in one transaction.

Bulk rows go in through Core executemany, not ORM objects: a region's 50,000 rows stay fast.
"""

from __future__ import annotations

import gc
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from signoff.domain import matrix as matrix_rules
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput
from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
from signoff.store.location import DbRef
from signoff.store.tables import Item, MatrixRow
from signoff.store.uow import UnitOfWork


@dataclass(frozen=True)
class ImportResult:
    items_created: int
    items_existing: int
    rows_created: int
    rows_unchanged: int
    items_differing: tuple[str, ...] = ()  # registered items whose title or due date the file gives differently


def read_file(path: Path, kinds: tuple[str, ...]) -> list[matrix_rules.ItemSpec]:
    """Parse and validate a matrix file; ``kinds`` are the workflows items may follow."""
    if not path.is_file():
        raise BadInput(f"matrix file {path} does not exist: check the path.")
    if path.suffix.lower() == ".xlsx":
        from signoff.services import xlsx_input

        try:
            header, records = xlsx_input.read(path)
        except Exception as err:  # openpyxl raises many kinds for a damaged workbook
            raise BadInput(f"{path.name} is not a readable Excel workbook ({err}): save it again from Excel.") from None
        return matrix_rules.parse_rows(records, header, path.name, kinds=kinds)
    # 50,000 rows make hundreds of thousands of small acyclic objects; pausing the cycle collector
    # while they are built saves its repeated full scans (about a tenth of the parse).
    gc.disable()
    try:
        return matrix_rules.parse_csv(path.read_bytes(), path.name, kinds)
    finally:
        gc.enable()


def import_matrix(db_path: DbRef, actor_name: str, path: Path) -> ImportResult:
    from signoff.store.reader import Reader

    with Reader(db_path) as r:
        kinds = tuple(r.rules().flows)
    specs = read_file(path, kinds)
    file_digest = hashlib.sha256(path.read_bytes()).hexdigest()

    def body(uow: UnitOfWork, actor: Actor) -> ImportResult:
        require_role(actor, REGISTER_ACTIONS["matrix.import"], "matrix import")
        known = uow.rules().flows
        gone = sorted({s.kind for s in specs if s.kind not in known})
        if gone:
            raise BadInput(f"{path.name} names workflows no longer in force ({', '.join(gone)}): import it again.")
        # One pass over the register's refs rather than an IN list of every ref in the file: binding
        # 10,000 parameters costs more than reading 10,000 short rows.
        wanted = {s.ref for s in specs}
        registered = _registered(uow)
        existing = {r[1]: (r[0], r[2]) for r in registered if r[1] in wanted}
        closed = {r[1] for r in registered if r[1] in wanted and r[2] in known and r[3] in known[r[2]].final}
        as_registered = {r[1]: (r[4], r[5]) for r in registered if r[1] in wanted}
        differing = tuple(
            s.ref
            for s in specs
            if s.ref in as_registered and as_registered[s.ref] != (s.title, s.due.isoformat() if s.due else None)
        )
        problems = [
            f"line {s.line}: {s.ref} is already registered as {existing[s.ref][1]}, not {s.kind}"
            for s in specs
            if s.ref in existing and existing[s.ref][1] != s.kind
        ]
        if problems:
            raise BadInput(f"{path.name} conflicts with the register and nothing was imported:\n" + "\n".join(problems))
        now = uow.now
        new_items = [
            (
                s.ref,
                s.kind,
                s.title,
                s.owner,
                s.due.isoformat() if s.due else None,
                s.due.isoformat() if s.due else None,
                known[s.kind].initial,
                1,
                now,
                now,
            )
            for s in specs
            if s.ref not in existing
        ]
        item_columns = (
            "ref",
            "kind",
            "title",
            "owner",
            "due",
            "original_due",
            "state",
            "version",
            "created_at",
            "last_transition_at",
        )
        uow.bulk_insert(Item.__table__, item_columns, new_items)  # type: ignore[attr-defined]
        ids: dict[str, int] = {r[1]: r[0] for r in _registered(uow) if r[1] in wanted}
        have_rows: dict[tuple[int, str], MatrixRow] = {}
        if existing:
            existing_ids = [item_id for item_id, _ in existing.values()]
            for row in uow.session.exec(select(MatrixRow).where(col(MatrixRow.item_id).in_(existing_ids))):
                have_rows[(row.item_id, row.key)] = row
        new_rows = []
        unchanged = 0
        clashes = []
        for s in specs:
            for r in s.rows:
                old = have_rows.get((ids[s.ref], r.key))
                if old is None and s.ref in closed:
                    clashes.append(
                        f"line {r.line}: {s.ref} is signed off; reopen it before adding the evidence requirement {r.key!r}"
                    )
                elif old is None:
                    new_rows.append((ids[s.ref], r.key, r.description, r.present_by.isoformat(), r.owner))
                elif old.description == r.description and old.present_by == r.present_by.isoformat():
                    unchanged += 1
                else:
                    clashes.append(f"line {r.line}: {s.ref} already has a different {r.key!r} row")
        if clashes:
            raise BadInput(f"{path.name} conflicts with the register and nothing was imported:\n" + "\n".join(clashes))
        refs = {item_id: ref for ref, item_id in ids.items()}
        row_columns = ("item_id", "key", "description", "present_by", "owner")
        uow.bulk_insert(MatrixRow.__table__, row_columns, new_rows)  # type: ignore[attr-defined]
        result = ImportResult(len(new_items), len(existing), len(new_rows), unchanged, differing)
        record_applied(
            uow,
            actor,
            "matrix.import",
            detail={
                "file": path.name,
                "sha256": file_digest,
                # What replay rebuilds the new items and rows from: [ref, kind, title, owner, due] and
                # [ref, key, description, present_by, owner].
                "items": [[i[0], i[1], i[2], i[3], i[4]] for i in new_items],
                "rows": [[refs[r[0]], r[1], r[2], r[3], r[4]] for r in new_rows],
                "rows_unchanged": unchanged,
            },
        )
        return result

    return in_unit_of_work(db_path, actor_name, "matrix.import", body)


def _registered(uow: UnitOfWork) -> list[tuple[int, str, str, str, str, str | None]]:
    """Every item's id, ref, kind, state, title and due date."""
    rows = uow.session.execute(
        select(col(Item.id), col(Item.ref), col(Item.kind), col(Item.state), col(Item.title), col(Item.due))  # type: ignore[call-overload]
    )
    return [(int(i), str(r), str(k), str(st), str(t), d) for i, r, k, st, t, d in rows]
