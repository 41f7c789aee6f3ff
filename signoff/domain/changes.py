"""Audit records in plain words: what the minutes, `signoff changes` and the board pack say happened.

Pure: a record (its event, actor, item, states and parsed detail) becomes one sentence. A kind of
record this version does not know still reads sensibly, naming its event and any reason it carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What each kind of change is, for grouping and headings (anything else is "other").
KINDS: dict[str, str] = {
    "evidence.add": "evidence",
    "evidence.withdraw": "evidence",
    "amend": "evidence",
    "submit": "decision",
    "resubmit": "decision",
    "challenge": "challenge",
    "approve": "decision",
    "reopen": "decision",
    "item.reschedule": "timescale",
    "matrix.reschedule": "timescale",
    "item.add": "register",
    "item.edit": "register",
    "matrix.import": "register",
    "matrix.add": "register",
    "matrix.remove": "register",
    "meeting.add": "calendar",
    "meeting.cancel": "calendar",
    "meeting.move": "calendar",
    "user.add": "people",
    "user.role": "people",
    "user.deactivate": "people",
    "workflow.pin": "rules",
    "workflow.propose": "rules",
    "workflow.adopt": "rules",
}


def kind_of(event: str) -> str:
    return KINDS.get(event, "other")


def _evidence(d: Mapping[str, Any]) -> str:
    if d.get("measure"):
        return f"measure {d['measure']} = {d.get('value')} {d.get('unit') or ''}".rstrip() + (
            f" for {d['period']}" if d.get("period") else ""
        )
    if d.get("file"):
        return f"file {d['file']}"
    return "a note"


def _signed(d: Mapping[str, Any]) -> str:
    """For a signed decision, the key it was signed with (and who recorded an offline signature)."""
    if not d.get("signer"):
        return ""
    recorded = f", recorded by {d['recorded_by']}" if d.get("recorded_by") else ""
    return f" (signed with {d['signer']}{recorded})"


def describe(rec: Mapping[str, Any]) -> str:
    """One sentence for one applied record. ``rec["detail"]`` is the parsed detail (a dict)."""
    d: Mapping[str, Any] = rec.get("detail") or {}
    who, ref, event = rec.get("actor") or "?", rec.get("item_ref"), str(rec.get("event"))
    reason = d.get("reason")
    because = f": {reason}" if reason else ""
    if event == "register.init":
        return f"{who} created the register"
    if event == "workflow.pin":
        return f"{who} pinned the workflow rules {str(d.get('ruleset'))[:12]}… in the register"
    if event == "register.upgrade":
        return f"{who} upgraded the register's schema"
    if event == "evidence.add":
        what = _evidence(d)
        if d.get("supersedes") is not None:
            return f"{who} corrected {ref} {d.get('key')} evidence #{d['supersedes']} with #{d.get('evidence_id')} ({what})"
        return f"{who} added evidence #{d.get('evidence_id')} to {ref} {d.get('key')} ({what}, dated {d.get('dated')})"
    if event == "evidence.withdraw":
        return f"{who} withdrew {ref} evidence #{d.get('evidence_id')}{because}"
    if event == "item.edit":
        edits = "; ".join(f"{c.get('field')} {c.get('from')!r} → {c.get('to')!r}" for c in d.get("changes") or [])
        return f"{who} edited {ref}: {edits}{because}"
    if event == "matrix.reschedule":
        return f"{who} moved {ref} {d.get('key')} present-by from {d.get('from')} to {d.get('to')}{because}"
    if event == "matrix.add":
        return f"{who} added matrix row {d.get('row_key') or d.get('key')} to {ref}{because}"
    if event == "matrix.remove":
        return f"{who} removed matrix row {d.get('row_key') or d.get('key')} from {ref}{because}"
    if event == "user.role":
        if d.get("add"):
            return f"{who} gave {d.get('user')} the role {d['add']}{because}"
        return f"{who} took the role {d.get('remove')} from {d.get('user')}{because}"
    if event == "user.deactivate":
        return f"{who} deactivated user {d.get('user')}{because}"
    if event == "submit":
        return f"{who} put {ref} to the board"
    if event == "amend":
        return f"{who} re-froze {ref}'s evidence after it changed"
    if event == "resubmit":
        answer = f": {d['response']}" if d.get("response") else ""
        return f"{who} answered the challenge to {ref} and put it back to the board{answer}"
    if event == "challenge":
        return f"{who} challenged {ref}{because}"
    if event == "approve":
        text = f"{who} signed off {ref} at the meeting of {d.get('meeting')}{_signed(d)}"
        if d.get("override_reason"):
            text += f", overriding a missed measure: {d['override_reason']}"
        return text
    if event == "reopen":
        at = f" at the meeting of {d['meeting']}" if d.get("meeting") else ""
        return f"{who} re-opened {ref}{at}{_signed(d)}{because}"
    if event == "item.reschedule":
        return f"{who} moved {ref}'s due date from {d.get('from_due') or 'none'} to {d.get('to_due')}{because}"
    if event == "item.add":
        return f"{who} registered {ref} ({d.get('kind')}): {d.get('title')}"
    if event == "matrix.import":
        items, rows = len(d.get("items") or []), len(d.get("rows") or [])
        part = f" (part {d['part']})" if d.get("part") else ""
        return f"{who} imported the evidence matrix {d.get('file')}{part}: {items} new item(s), {rows} new row(s)"
    if event == "meeting.add":
        note = f" ({d['note']})" if d.get("note") else ""
        return f"{who} put a board meeting on {d.get('date')} on the calendar{note}"
    if event == "meeting.cancel":
        return f"{who} cancelled the board meeting on {d.get('date')}{because}"
    if event == "meeting.move":
        return f"{who} moved the board meeting on {d.get('from')} to {d.get('to')}{because}"
    if event == "user.add":
        return f"{who} added user {d.get('user')} ({', '.join(d.get('roles') or [])})"
    if event == "workflow.propose":
        return f"{who} proposed new workflow rules {str(d.get('ruleset'))[:12]}…{because}"
    if event == "workflow.adopt":
        return f"{who} put workflow rules {str(d.get('ruleset'))[:12]}… in force"
    subject = f" on {ref}" if ref else ""
    return f"{who}: {event}{subject}{because}"


def refusal_reasons(detail: Mapping[str, Any]) -> list[str]:
    """The short reasons of a refused record: each failure's name ('matrix_covered', 'permission', …)."""
    failures = detail.get("failures") or []
    return [str(f).split(":", 1)[0].strip() or "other" for f in failures] or ["other"]
