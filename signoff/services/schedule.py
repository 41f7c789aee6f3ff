"""Timescales: moving an item's due date with a reason, and the board's meeting calendar."""

from __future__ import annotations

import datetime as dt

from sqlmodel import col, select

from signoff import clock
from signoff.domain import calendar, names
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput, NotFound
from signoff.services.common import Actor, in_unit_of_work, load_item, record_applied, require_role
from signoff.store.location import DbRef
from signoff.store.tables import Approval, AuditRecord, Meeting, Reschedule
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
        held = uow.session.exec(select(Meeting).where(Meeting.date == date.isoformat())).first()
        if held is not None:
            if held.cancelled_at is not None:
                raise BadInput(
                    f"the meeting on {date.isoformat()} was cancelled and stays on the calendar as cancelled:"
                    " choose another date."
                )
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


def _held_meeting(uow: UnitOfWork, date: dt.date, action: str) -> Meeting:
    """The meeting on ``date``, which must be on the calendar and not cancelled."""
    rows = uow.session.exec(select(Meeting)).all()
    found = next((m for m in rows if m.date == date.isoformat()), None)
    held = [dt.date.fromisoformat(m.date) for m in rows if m.cancelled_at is None]
    if found is None:
        raise NotFound(
            f"no board meeting on {date.isoformat()} is on the calendar to {action}: "
            f"{calendar.nearest_text(held, date)}."
        )
    if found.cancelled_at is not None:
        where = f"moved to {found.moved_to}" if found.moved_to else "cancelled"
        raise BadInput(
            f"the meeting on {date.isoformat()} was already {where} on {clock.local_day(found.cancelled_at)}."
        )
    return found


def _decided_at(uow: UnitOfWork, date: dt.date) -> list[str]:
    """Items a decision names this meeting for: such a meeting happened and cannot be cancelled or moved."""
    refs = {
        ref
        for ref in uow.session.exec(
            select(AuditRecord.item_ref).where(
                AuditRecord.outcome == "applied",
                col(AuditRecord.recorded_at) >= clock.day_starts(date),
                col(AuditRecord.detail).contains(f'"meeting":"{date.isoformat()}"'),
            )
        )
        if ref
    }
    refs |= (
        set(
            uow.session.exec(
                select(AuditRecord.item_ref)
                .join(Approval, col(Approval.approved_at) == col(AuditRecord.recorded_at))
                .where(Approval.meeting == date.isoformat(), AuditRecord.event == "approve")
            ).all()
            - {None}
        )
        if False
        else refs
    )
    return sorted(refs)


def _refuse_if_decided(uow: UnitOfWork, date: dt.date, action: str) -> None:
    decided = _decided_at(uow, date)
    if decided:
        raise BadInput(
            f"the board already decided at the meeting on {date.isoformat()} ({', '.join(decided)}): "
            f"a meeting that took decisions cannot be {action}."
        )


def cancel_meeting(db_path: DbRef, actor_name: str, date: dt.date, reason: str) -> None:
    """Take a meeting off the calendar with a reason; its row stays, marked cancelled (secretary)."""
    reason = names.check_text(reason, "reason")

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["meeting.cancel"], "meeting cancel")
        meeting = _held_meeting(uow, date, "cancel")
        _refuse_if_decided(uow, date, "cancelled")
        now = uow.now
        meeting.cancelled_at, meeting.cancelled_by, meeting.cancel_reason = now, actor.name, reason
        uow.session.add(meeting)
        uow.session.flush()
        record_applied(
            uow,
            actor,
            "meeting.cancel",
            detail={"meeting_id": meeting.id, "date": meeting.date, "note": meeting.note, "reason": reason},
        )

    in_unit_of_work(db_path, actor_name, "meeting.cancel", body)


def move_meeting(db_path: DbRef, actor_name: str, date: dt.date, to: dt.date, reason: str) -> None:
    """Move a meeting to another date: the old date stays on the calendar as moved, the new one is added
    with the same note (secretary)."""
    reason = names.check_text(reason, "reason")
    if to == date:
        raise BadInput(f"the meeting is already on {date.isoformat()}: give a different --to date.")

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["meeting.move"], "meeting move")
        meeting = _held_meeting(uow, date, "move")
        _refuse_if_decided(uow, date, "moved")
        taken = uow.session.exec(select(Meeting).where(Meeting.date == to.isoformat())).first()
        if taken is not None:
            state = "a cancelled meeting" if taken.cancelled_at else "already a meeting"
            raise BadInput(f"{to.isoformat()} is {state} on the calendar: choose another --to date.")
        now = uow.now
        meeting.cancelled_at, meeting.cancelled_by, meeting.cancel_reason = now, actor.name, reason
        meeting.moved_to = to.isoformat()
        moved = Meeting(date=to.isoformat(), note=meeting.note, added_by=actor.name, added_at=now)
        uow.session.add(meeting)
        uow.session.add(moved)
        uow.session.flush()
        record_applied(
            uow,
            actor,
            "meeting.move",
            detail={
                "meeting_id": moved.id,
                "from_meeting_id": meeting.id,
                "from": date.isoformat(),
                "to": to.isoformat(),
                "note": meeting.note,
                "reason": reason,
            },
        )

    in_unit_of_work(db_path, actor_name, "meeting.move", body)
