"""Correcting the register: withdrawing evidence, editing an item, changing its matrix rows.

Each is one unit of work that keeps the value it replaced (in ``item_changes`` or ``withdrawals``
and in the audit record's detail, from which replay rebuilds both) and the reason given for it.
Nothing is deleted but a matrix row that never had evidence.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import select

from signoff.domain import names
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput, NotFound, Refused
from signoff.services.common import Actor, in_unit_of_work, load_item, record_applied, require_role
from signoff.services.evidence import item_evidence, withdrawals
from signoff.store.location import DbRef
from signoff.store.tables import Evidence, Item, ItemChange, MatrixRow, Withdrawal
from signoff.store.uow import UnitOfWork


def _refuse(ref: str, item: Item, why: str, message: str) -> Refused:
    err = Refused(message, [why])
    err.audit = {"item_ref": ref, "from_state": item.state}
    return err


def _closed(uow: UnitOfWork, item: Item) -> bool:
    return item.state in uow.rules().get(item.kind).final


def _change(
    uow: UnitOfWork,
    actor: Actor,
    item: Item,
    field: str,
    old: str | None,
    new: str | None,
    reason: str | None,
    key: str | None = None,
) -> dict[str, Any]:
    """Add one item_changes row; return what the audit record carries to rebuild it."""
    assert item.id is not None
    change = ItemChange(
        item_id=item.id,
        row_key=key,
        field=field,
        from_value=old,
        to_value=new,
        reason=reason,
        changed_by=actor.name,
        changed_at=uow.now,
    )
    uow.session.add(change)
    uow.session.flush()
    return {"change_id": change.id, "row_key": key, "field": field, "from": old, "to": new}


def _record(uow: UnitOfWork, actor: Actor, event: str, item: Item, detail: dict[str, Any]) -> None:
    record_applied(
        uow,
        actor,
        event,
        item_ref=item.ref,
        from_state=item.state,
        to_state=item.state,
        workflow_hash=uow.rules().get(item.kind).digest,
        detail=detail,
    )


def withdraw_evidence(db_path: DbRef, actor_name: str, evidence_id: int, reason: str) -> str:
    """Take back an evidence record: it stays on the record, marked, but no longer counts as cover
    or as part of a bundle, so a submitted item's approval waits for ``amend``. Returns the item's ref."""
    reason = names.check_text(reason, "reason")

    def body(uow: UnitOfWork, actor: Actor) -> str:
        require_role(actor, REGISTER_ACTIONS["evidence.withdraw"], "evidence withdraw")
        record = uow.session.get(Evidence, evidence_id)
        if record is None:
            raise NotFound(f"there is no evidence record {evidence_id}: see 'signoff evidence list REF' for ids.")
        found = uow.session.get(Item, record.item_id)
        assert found is not None and found.id is not None
        item = load_item(uow, found.ref)
        ref = item.ref
        assert item.id is not None
        if evidence_id in withdrawals(uow, item.id):
            raise BadInput(f"evidence record {evidence_id} of {ref} is already withdrawn.")
        later = [e.id for e in item_evidence(uow, item.id) if e.supersedes_id == evidence_id]
        if later:
            raise BadInput(
                f"evidence record {evidence_id} is superseded by {later[0]}: withdraw {later[0]} instead, "
                "the record that counts now."
            )
        if _closed(uow, item):
            raise _refuse(
                ref,
                item,
                f"state: {ref} is {item.state}",
                f"{ref} is {item.state}: reopen it before withdrawing the evidence it was signed off on.",
            )
        withdrawal = Withdrawal(
            evidence_id=evidence_id, item_id=item.id, withdrawn_at=uow.now, withdrawn_by=actor.name, reason=reason
        )
        uow.session.add(withdrawal)
        uow.session.flush()
        _record(
            uow,
            actor,
            "evidence.withdraw",
            item,
            {
                "withdrawal_id": withdrawal.id,
                "evidence_id": evidence_id,
                "reason": reason,
                # The record withdrawn, as it was: what the board may have read.
                "key": record.key,
                "kind": record.kind,
                "sha256": record.sha256,
                "dated": record.dated,
                "added_by": record.added_by,
            },
        )
        return ref

    return in_unit_of_work(db_path, actor_name, "evidence.withdraw", body)


def edit_item(
    db_path: DbRef, actor_name: str, ref: str, reason: str, *, title: str | None = None, owner: str | None = None
) -> list[dict[str, Any]]:
    """Correct an item's title or owner (``owner=""`` clears it); returns each change made."""
    ref = names.check_ref(ref)
    reason = names.check_text(reason, "reason")
    wanted: dict[str, str | None] = {}
    if title is not None:
        wanted["title"] = names.check_text(title, "title")
    if owner is not None:
        wanted["owner"] = names.check_text(owner, "owner", required=False) or None
    if not wanted:
        raise BadInput("say what to change: give --title TEXT, --owner NAME, or both.")

    def body(uow: UnitOfWork, actor: Actor) -> list[dict[str, Any]]:
        require_role(actor, REGISTER_ACTIONS["item.edit"], "item edit", ref)
        item = load_item(uow, ref)
        changes = []
        for field, new in wanted.items():
            old = getattr(item, field)
            if old != new:
                changes.append(_change(uow, actor, item, field, old, new, reason))
                setattr(item, field, new)
        if not changes:
            raise BadInput(f"{ref} already has that {' and '.join(wanted)}: nothing to change.")
        uow.session.add(item)
        uow.session.flush()
        _record(uow, actor, "item.edit", item, {"changes": changes, "reason": reason})
        return changes

    return in_unit_of_work(db_path, actor_name, "item.edit", body, item_ref=ref)


def _row(uow: UnitOfWork, item: Item, key: str) -> MatrixRow:
    row = uow.session.exec(select(MatrixRow).where(MatrixRow.item_id == item.id, MatrixRow.key == key)).first()
    if row is None:
        raise NotFound(f"{item.ref} has no evidence matrix row {key!r}: see 'signoff matrix show {item.ref}'.")
    return row


def _check_before_due(item: Any, present_by: dt.date) -> None:
    """Evidence is presented before its item is due, as a matrix import requires."""
    if item.due is not None and present_by.isoformat() > item.due:
        raise BadInput(
            f"--present-by {present_by.isoformat()} is after {item.ref}'s due date {item.due}: evidence is "
            f"presented before the item is due (move the item first with 'signoff item reschedule')."
        )


def add_row(
    db_path: DbRef,
    actor_name: str,
    ref: str,
    key: str,
    description: str,
    present_by: dt.date,
    *,
    owner: str | None = None,
    reason: str | None = None,
) -> None:
    """Add one evidence requirement to a registered item (as a re-import of the matrix would)."""
    ref = names.check_ref(ref)
    key = names.check_key(key)
    description = names.check_text(description, "description")
    owner = names.check_text(owner, "owner", required=False) or None
    reason = names.check_text(reason, "reason", required=False) or None

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["matrix.add"], "matrix add", ref)
        item = load_item(uow, ref)
        _check_before_due(item, present_by)
        if uow.session.exec(select(MatrixRow).where(MatrixRow.item_id == item.id, MatrixRow.key == key)).first():
            raise BadInput(
                f"{ref} already has a matrix row {key!r}: move its date with 'signoff matrix reschedule', "
                "or choose another key."
            )
        if _closed(uow, item):
            raise _refuse(
                ref,
                item,
                f"state: {ref} is {item.state}",
                f"{ref} is {item.state}: reopen it before adding the evidence requirement {key!r}.",
            )
        assert item.id is not None
        uow.session.add(
            MatrixRow(item_id=item.id, key=key, description=description, present_by=present_by.isoformat(), owner=owner)
        )
        change = _change(uow, actor, item, "row", None, description, reason, key)
        _record(
            uow,
            actor,
            "matrix.add",
            item,
            {
                **change,
                "key": key,
                "description": description,
                "present_by": present_by.isoformat(),
                "owner": owner,
                "reason": reason,
            },
        )

    in_unit_of_work(db_path, actor_name, "matrix.add", body, item_ref=ref)


def reschedule_row(db_path: DbRef, actor_name: str, ref: str, key: str, present_by: dt.date, reason: str) -> str:
    """Move a matrix row's present-by date; returns the date it had."""
    ref = names.check_ref(ref)
    key = names.check_key(key)
    reason = names.check_text(reason, "reason")

    def body(uow: UnitOfWork, actor: Actor) -> str:
        require_role(actor, REGISTER_ACTIONS["matrix.reschedule"], "matrix reschedule", ref)
        item = load_item(uow, ref)
        _check_before_due(item, present_by)
        row = _row(uow, item, key)
        old = row.present_by
        if old == present_by.isoformat():
            raise BadInput(f"{ref} row {key!r} is already to be presented by {old}: give a different --present-by.")
        row.present_by = present_by.isoformat()
        uow.session.add(row)
        change = _change(uow, actor, item, "present_by", old, row.present_by, reason, key)
        _record(uow, actor, "matrix.reschedule", item, {**change, "key": key, "reason": reason})
        return old

    return in_unit_of_work(db_path, actor_name, "matrix.reschedule", body, item_ref=ref)


def remove_row(db_path: DbRef, actor_name: str, ref: str, key: str, reason: str) -> None:
    """Take an evidence requirement off an item's matrix: only one that never had evidence, on an item
    not signed off. A row with evidence stays; wrong evidence is withdrawn instead."""
    ref = names.check_ref(ref)
    key = names.check_key(key)
    reason = names.check_text(reason, "reason")

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["matrix.remove"], "matrix remove", ref)
        item = load_item(uow, ref)
        assert item.id is not None
        row = _row(uow, item, key)
        held = [e.id for e in item_evidence(uow, item.id) if e.key == key]
        if held:
            shown = ", ".join(str(i) for i in held)
            raise _refuse(
                ref,
                item,
                f"evidence: row {key} has evidence records {shown}",
                f"{ref} row {key!r} has evidence (records {shown}) and stays on the matrix: "
                "withdraw wrong evidence with 'signoff evidence withdraw ID --reason TEXT'.",
            )
        if _closed(uow, item):
            raise _refuse(
                ref,
                item,
                f"state: {ref} is {item.state}",
                f"{ref} is {item.state}: reopen it before removing the evidence requirement {key!r}.",
            )
        removed = {"key": key, "description": row.description, "present_by": row.present_by, "owner": row.owner}
        uow.session.delete(row)
        change = _change(uow, actor, item, "row", row.description, None, reason, key)
        _record(uow, actor, "matrix.remove", item, {**change, **removed, "reason": reason})

    in_unit_of_work(db_path, actor_name, "matrix.remove", body, item_ref=ref)
