"""What is waiting for whom: the acting user's work, by their roles and the evidence they own.

The chair: items ready for a decision at the next meeting. The secretary: items ready to submit,
challenges to answer, submitted items whose evidence changed and needs ``amend``. A member: items
open for challenge. Anyone named as an owner (of an item or a matrix row): evidence overdue or due
within the window. Read path only (store/reader.py), so it starts fast.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from signoff import clock
from signoff.domain.names import name_fold, nfc
from signoff.domain.roles import CHAIR, MEMBER
from signoff.errors import BadInput, NotFound
from signoff.services import views
from signoff.store.location import DbRef
from signoff.store.reader import Reader

DEFAULT_WITHIN = 14

_DUE_SQL = """
SELECT i.ref, i.kind, i.state, i.title, m.key, m.description, m.present_by, COALESCE(m.owner, i.owner) AS owner
FROM matrix_rows m JOIN items i ON i.id = m.item_id
WHERE m.present_by <= :until
  AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.item_id = i.id AND e.key = m.key
                  AND NOT EXISTS (SELECT 1 FROM evidence n WHERE n.supersedes_id = e.id)
                  AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.evidence_id = e.id))
ORDER BY m.present_by, i.ref, m.key
"""


def _allowed(flow: Any, state: str, event: str, roles: frozenset[str]) -> bool:
    ev = flow.events.get(event) if flow else None
    return ev is not None and state in ev.source and bool(ev.roles & roles)


def todo(db_path: DbRef, user: str, as_of: dt.date | None = None, within: int = DEFAULT_WITHIN) -> dict[str, Any]:
    """Everything waiting for ``user`` as of a date, in sections; an empty section means nothing waits."""
    if within < 0:
        raise BadInput(f"--within {within} is negative: give a number of days, 0 or more.")
    user = nfc(user)  # one spelling per person, as writes store it
    day = as_of or clock.today()
    until = day + dt.timedelta(days=within)
    with Reader(db_path) as r:
        row = r.one("SELECT name, roles FROM users WHERE name = ?", (user,))
        if row is None:
            raise NotFound(f"unknown user {user!r}: ask the secretary to add you with 'signoff user add'.")
        roles = frozenset(x for x in row["roles"].split(",") if x)
        flows = r.rules().flows
        items = list(views.item_rows_in(r, None, None))
        nxt = r.one(
            "SELECT MIN(date) AS date FROM meetings WHERE date >= :d AND cancelled_at IS NULL", {"d": day.isoformat()}
        )
        open_challenges: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for c in r.all(
            "SELECT i.ref, c.id, c.raised_at, c.raised_by, c.reason FROM challenges c JOIN items i ON i.id = c.item_id"
            " WHERE c.answered_at IS NULL ORDER BY c.id"
        ):
            open_challenges[c.pop("ref")].append(c)
        standing: dict[str, list[int]] = defaultdict(list)
        for e in r.all(
            "SELECT i.ref, e.id FROM evidence e JOIN items i ON i.id = e.item_id"
            " WHERE NOT EXISTS (SELECT 1 FROM evidence n WHERE n.supersedes_id = e.id)"
            " AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.evidence_id = e.id) ORDER BY e.id"
        ):
            standing[e["ref"]].append(e["id"])
        frozen = {
            s["ref"]: [int(x) for x in s["evidence_ids"].split(",") if x]
            for s in r.all(
                "SELECT i.ref, s.evidence_ids FROM submissions s JOIN items i ON i.id = s.item_id"
                " WHERE s.id = (SELECT MAX(t.id) FROM submissions t WHERE t.item_id = s.item_id)"
            )
        }
        due_rows = r.all(_DUE_SQL, {"until": until.isoformat()})
    me = name_fold(user)
    sections: dict[str, list[dict[str, Any]]] = {
        "decide": [],
        "submit": [],
        "answer": [],
        "amend": [],
        "challenge": [],
        "evidence_due": [],
    }
    for item in items:
        flow, ref, state = flows.get(item["kind"]), item["ref"], item["state"]
        brief = {k: item[k] for k in ("ref", "title", "state", "owner", "due", "rag")}
        changed = ref in frozen and frozen[ref] != standing.get(ref, [])
        ready = not open_challenges.get(ref) and not changed  # otherwise approval would be refused
        if CHAIR in roles and _allowed(flow, state, "approve", roles) and ready:
            sections["decide"].append({**brief, "meeting": nxt["date"] if nxt else None})
        if _allowed(flow, state, "submit", roles) and 0 < item["matrix_rows"] == item["keys_covered"]:
            sections["submit"].append(brief)
        if _allowed(flow, state, "resubmit", roles):
            for c in open_challenges.get(ref, []):
                sections["answer"].append({**brief, "challenge": c})
        if _allowed(flow, state, "amend", roles) and changed:
            sections["amend"].append(brief)
        if MEMBER in roles and _allowed(flow, state, "challenge", roles):
            sections["challenge"].append(brief)
    for d in due_rows:
        flow = flows.get(d["kind"])
        if not d["owner"] or name_fold(d["owner"]) != me or (flow and d["state"] in flow.final):
            continue
        d["overdue"] = d["present_by"] < day.isoformat()
        d["days"] = (dt.date.fromisoformat(d["present_by"]) - day).days
        sections["evidence_due"].append(d)
    return {
        "user": row["name"],
        "roles": sorted(roles),
        "as_of": day.isoformat(),
        "within_days": within,
        "next_meeting": nxt["date"] if nxt else None,
        "sections": sections,
    }
