"""Timescales: moving an item's due date with a reason, and the board's meeting calendar."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from signoff import clock
from signoff.domain import names
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput
from signoff.services.common import Actor, in_unit_of_work, load_item, record_applied, require_role
from signoff.store.location import DbRef
from signoff.store.tables import Meeting, Reschedule
from signoff.store.uow import UnitOfWork


def reschedule(db_path: DbRef, actor_name: str, ref: str, due: dt.date, reason: str) -> str | None:
    """Move an item's due date; the original date and every change with its reason are kept."""
    ref = names.check_ref(ref)
    reason = names.check_text(reason, "reason")
    today = clock.today()
    if due < today:
        raise BadInput(
            f"the new due date {due.isoformat()} is in the past (today is {today.isoformat()}): "
            f"give a date from today on."
        )

    def body(uow: UnitOfWork, actor: Actor) -> str | None:
        require_role(actor, REGISTER_ACTIONS["item.reschedule"], "item reschedule", ref)
        item = load_item(uow, ref)
        assert item.id is not None
        old = item.due
        if old == due.isoformat():
            raise BadInput(f"{ref} is already due on {old}: give a different --due date.")
        now = uow.now
        moved = Reschedule(
            item_id=item.id,
            from_due=old,
            to_due=due.isoformat(),
            reason=reason,
            changed_by=actor.name,
            changed_at=now,
        )
        uow.session.add(moved)
        item.due = due.isoformat()
        if item.original_due is None:
            item.original_due = old or due.isoformat()
        uow.session.add(item)
        uow.session.flush()
        record_applied(
            uow,
            actor,
            "item.reschedule",
            item_ref=ref,
            from_state=item.state,
            to_state=item.state,
            detail={"reschedule_id": moved.id, "from_due": old, "to_due": due.isoformat(), "reason": reason},
        )
        return old

    return in_unit_of_work(db_path, actor_name, "item.reschedule", body, item_ref=ref)


def add_meeting(db_path: DbRef, actor_name: str, date: dt.date, note: str | None = None) -> None:
    """Put a board meeting on the calendar (secretary)."""
    note = names.check_text(note, "note", required=False) or None

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["meeting.add"], "meeting add")
        if uow.session.exec(select(Meeting).where(Meeting.date == date.isoformat())).first() is not None:
            raise BadInput(f"a board meeting on {date.isoformat()} is already on the calendar.")
        meeting = Meeting(date=date.isoformat(), note=note, added_by=actor.name, added_at=uow.now)
        uow.session.add(meeting)
        uow.session.flush()
        record_applied(
            uow,
            actor,
            "meeting.add",
            detail={"meeting_id": meeting.id, "date": date.isoformat(), "note": note},
        )

    in_unit_of_work(db_path, actor_name, "meeting.add", body)
