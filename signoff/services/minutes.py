"""What a meeting decided, and every change since a date, in plain words (read path, no SQLAlchemy).

A decision names its meeting (``approve``/``reopen --meeting``), so the decision log of a meeting is
every applied record that names it, with what the board did on the day it sat: challenges raised,
due dates moved, the calendar changed. The audit head closes the log, to be read into the minutes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from signoff import clock
from signoff.domain import calendar, changes
from signoff.errors import NotFound
from signoff.store.location import DbRef
from signoff.store.reader import Reader

_RECORD_SQL = "SELECT seq, recorded_at, actor, item_ref, event, from_state, to_state, detail FROM audit"


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    detail = json.loads(row["detail"]) if row["detail"] else {}
    row["detail"] = detail if isinstance(detail, dict) else {}
    row["kind"] = changes.kind_of(row["event"])
    row["text"] = changes.describe(row)
    return row


def _head(r: Reader) -> str | None:
    head = r.one("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
    return f"{head['seq']}:{head['hash']}" if head else None


def meeting_row(r: Reader, day: dt.date, what: str) -> dict[str, Any]:
    """The calendar entry for ``day``, or NotFound naming the nearest held meetings."""
    rows = r.all("SELECT date, note, cancelled_at, cancel_reason, moved_to FROM meetings ORDER BY date")
    found = next((m for m in rows if m["date"] == day.isoformat()), None)
    if found is None:
        held = [dt.date.fromisoformat(m["date"]) for m in rows if m["cancelled_at"] is None]
        raise NotFound(
            f"no board meeting on {day.isoformat()} is on the calendar for {what}: {calendar.nearest_text(held, day)}."
        )
    return found


def applied_since(r: Reader, since: dt.date, until: dt.date | None = None) -> list[dict[str, Any]]:
    """Every applied record from the start of ``since`` (to the end of ``until``), described."""
    return list(applied_rows(r, since, until))


def applied_rows(r: Reader, since: dt.date, until: dt.date | None = None) -> Iterator[dict[str, Any]]:
    """``applied_since`` read a batch at a time."""
    params: dict[str, Any] = {"since": clock.day_starts(since)}
    sql = _RECORD_SQL + " WHERE outcome = 'applied' AND recorded_at >= :since"
    if until is not None:
        sql += " AND recorded_at < :until"
        params["until"] = clock.day_starts(until + dt.timedelta(days=1))
    names = ("seq", "recorded_at", "actor", "item_ref", "event", "from_state", "to_state", "detail")
    for values in r.stream(sql + " ORDER BY seq", params):
        row = dict(zip(names, values, strict=True))
        if row["event"] != "register.baseline":
            yield _plain(row)


def changes_since(db_path: DbRef, since: dt.date) -> dict[str, Any]:
    """`signoff changes --since D`: every applied change since the start of that day, in order."""
    with Reader(db_path) as r:
        found = applied_since(r, since)
        head = _head(r)
    return {"since": since.isoformat(), "changes": found, "audit_head": head}


def meeting_log(db_path: DbRef, day: dt.date) -> dict[str, Any]:
    """The decision log of one meeting: sign-offs, re-openings, overrides, and what the board did that day."""
    text = day.isoformat()
    with Reader(db_path) as r:
        meeting = meeting_row(r, day, "its minutes")
        records = applied_since(r, day)
        head = _head(r)
    decided = [c for c in records if c["detail"].get("meeting") == text]
    on_the_day = [c for c in records if clock.local_day(c["recorded_at"]) == text and c not in decided]
    sign_offs = [c for c in decided if c["event"] == "approve"]
    for c in sign_offs:
        c["signed_with"] = c["detail"].get("signer")
    status = (
        f"moved to {meeting['moved_to']}"
        if meeting["moved_to"]
        else "cancelled"
        if meeting["cancelled_at"]
        else "held"
        if day <= clock.today()
        else "to come"
    )
    return {
        "meeting": text,
        "note": meeting["note"],
        "status": status,
        "cancel_reason": meeting["cancel_reason"],
        "sign_offs": sign_offs,
        "overrides": [c for c in sign_offs if c["detail"].get("override_reason")],
        "reopenings": [c for c in decided if c["event"] == "reopen"],
        "other_decisions": [c for c in decided if c["event"] not in ("approve", "reopen")],
        "challenges": [c for c in on_the_day if c["event"] == "challenge"],
        "reschedules": [c for c in on_the_day if changes.kind_of(c["event"]) == "timescale"],
        "calendar": [c for c in on_the_day if changes.kind_of(c["event"]) == "calendar"],
        "audit_head": head,
    }
