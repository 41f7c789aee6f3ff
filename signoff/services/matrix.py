"""Importing the evidence matrix: validate the whole file, then write it in one transaction.

Bulk rows go in through Core executemany, not ORM objects: a region's 50,000 rows stay fast.
"""

from __future__ import annotations

import gc
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import col, select

from signoff.domain import matrix as matrix_rules
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput
from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
from signoff.store.location import DbRef
from signoff.store.tables import Item, ItemChange, MatrixRow, Reschedule
from signoff.store.uow import UnitOfWork


@dataclass(frozen=True)
class ImportResult:
    items_created: int
    items_existing: int
    rows_created: int
    rows_unchanged: int
    items_differing: tuple[str, ...] = ()  # registered items whose title or due date the file gives differently
    rows_left_out: int = 0  # rows the file still has that the secretary since removed from the matrix


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
        # What each item has been: a file made before a title was corrected or a date moved agrees with it.
        history = _history(uow, [existing[ref][0] for ref in existing])
        titles = {r[1]: {r[4], *history.titles.get(r[0], ())} for r in registered if r[1] in wanted}
        dues = {r[1]: {r[5], r[6], *history.dues.get(r[0], ())} for r in registered if r[1] in wanted}
        differing = tuple(
            s.ref
            for s in specs
            if s.ref in titles
            and (s.title not in titles[s.ref] or (s.due.isoformat() if s.due else None) not in dues[s.ref])
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
        unchanged = left_out = 0
        clashes = []
        for s in specs:
            for r in s.rows:
                old = have_rows.get((ids[s.ref], r.key))
                if old is None and (ids[s.ref], r.key) in history.removed:
                    left_out += 1
                elif old is None and s.ref in closed:
                    clashes.append(
                        f"line {r.line}: {s.ref} is signed off; reopen it before adding the evidence requirement {r.key!r}"
                    )
                elif old is None:
                    new_rows.append((ids[s.ref], r.key, r.description, r.present_by.isoformat(), r.owner))
                elif old.description == r.description and r.present_by.isoformat() in {
                    old.present_by,
                    *history.present_by.get((old.item_id, r.key), ()),
                }:
                    unchanged += 1
                else:
                    clashes.append(f"line {r.line}: {s.ref} already has a different {r.key!r} row")
        if clashes:
            raise BadInput(f"{path.name} conflicts with the register and nothing was imported:\n" + "\n".join(clashes))
        refs = {item_id: ref for ref, item_id in ids.items()}
        row_columns = ("item_id", "key", "description", "present_by", "owner")
        uow.bulk_insert(MatrixRow.__table__, row_columns, new_rows)  # type: ignore[attr-defined]
        result = ImportResult(len(new_items), len(existing), len(new_rows), unchanged, differing, left_out)
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
                "rows_left_out": left_out,
            },
        )
        return result

    return in_unit_of_work(db_path, actor_name, "matrix.import", body)


def _registered(uow: UnitOfWork) -> list[tuple[int, str, str, str, str, str | None, str | None]]:
    """Every item's id, ref, kind, state, title, due date and original due date."""
    rows = uow.session.execute(
        select(  # type: ignore[call-overload]
            col(Item.id),
            col(Item.ref),
            col(Item.kind),
            col(Item.state),
            col(Item.title),
            col(Item.due),
            col(Item.original_due),
        )
    )
    return [(int(i), str(r), str(k), str(st), str(t), d, o) for i, r, k, st, t, d, o in rows]


@dataclass
class _History:
    titles: dict[int, set[str]] = field(default_factory=dict)  # item id → titles it had before an edit
    dues: dict[int, set[str | None]] = field(default_factory=dict)  # item id → due dates before a reschedule
    present_by: dict[tuple[int, str], set[str]] = field(default_factory=dict)  # row → dates before a reschedule
    removed: set[tuple[int, str]] = field(default_factory=set)  # rows removed and not added again


def _history(uow: UnitOfWork, item_ids: list[int]) -> _History:
    """The corrections made to these items since they were imported (item edit, item reschedule,
    matrix reschedule and remove): a file that still says what they were is not in conflict."""
    h = _History()
    if not item_ids:
        return h
    changes = uow.session.exec(
        select(ItemChange).where(col(ItemChange.item_id).in_(item_ids)).order_by(col(ItemChange.id))
    )
    for c in changes:
        if c.field == "title" and c.from_value is not None:
            h.titles.setdefault(c.item_id, set()).add(c.from_value)
        elif c.field == "present_by" and c.row_key is not None and c.from_value is not None:
            h.present_by.setdefault((c.item_id, c.row_key), set()).add(c.from_value)
        elif c.field == "row" and c.row_key is not None:
            if c.to_value is None:
                h.removed.add((c.item_id, c.row_key))
            else:
                h.removed.discard((c.item_id, c.row_key))
    moves = uow.session.execute(
        select(col(Reschedule.item_id), col(Reschedule.from_due)).where(col(Reschedule.item_id).in_(item_ids))
    )
    for item_id, from_due in moves:
        h.dues.setdefault(int(item_id), set()).add(from_due)
    return h
