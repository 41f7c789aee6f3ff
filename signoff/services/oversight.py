"""What the board reads beyond the plan on a page: overdue evidence, limbo, measures, the board pack."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from signoff import clock
from signoff.domain import changes
from signoff.errors import NotFound
from signoff.services import views
from signoff.store.location import DbRef
from signoff.store.reader import Reader


def overdue(db_path: DbRef, as_of: dt.date | None = None) -> dict[str, Any]:
    """Matrix rows past their present-by date with no evidence, and items past due, by owner."""
    with Reader(db_path) as r, overdue_in(r, as_of) as found:
        owners = {owner: {"evidence": list(due["evidence"]), "items": list(due["items"])} for owner, due in found}
        return {"as_of": found.as_of, "owners": owners}


_NO_OWNER = "(no owner)"


def _owner_of(row: dict[str, Any]) -> str:
    return row["owner"] or _NO_OWNER


class Overdue:
    """Overdue matrix rows and items, spooled in owner order: ``for owner, due in overdue`` gives each
    owner (in order) with ``due["evidence"]`` and ``due["items"]`` to read before the next owner."""

    def __init__(self, as_of: str, evidence: views.Spool, items: views.Spool) -> None:
        self.as_of, self.evidence, self.items = as_of, evidence, items

    def __bool__(self) -> bool:
        return bool(len(self.evidence) or len(self.items))

    def __iter__(self) -> Iterator[tuple[str, dict[str, Iterator[dict[str, Any]]]]]:
        evidence = itertools.groupby(self.evidence, key=_owner_of)
        items = itertools.groupby(self.items, key=_owner_of)
        ev, it = next(evidence, None), next(items, None)
        while ev is not None or it is not None:
            owner = min(group[0] for group in (ev, it) if group is not None)
            ev_here = ev is not None and ev[0] == owner
            it_here = it is not None and it[0] == owner
            yield (
                owner,
                {"evidence": ev[1] if ev and ev_here else iter(()), "items": it[1] if it and it_here else iter(())},
            )
            if ev_here:
                ev = next(evidence, None)
            if it_here:
                it = next(items, None)


@contextmanager
def overdue_in(r: Reader, as_of: dt.date | None = None) -> Iterator[Overdue]:
    """Overdue evidence and items by owner, read from a reader into spools (bounded memory)."""
    day = (as_of or clock.today()).isoformat()
    today = dt.date.fromisoformat(day)
    c = _collate(r)
    evidence, items = views.Spool(), views.Spool()
    try:
        names = ("ref", "title", "key", "description", "present_by", "owner")
        for values in r.stream(
            "SELECT i.ref, i.title, m.key, m.description, m.present_by, COALESCE(m.owner, i.owner) AS owner"
            " FROM matrix_rows m JOIN items i ON i.id = m.item_id"
            " WHERE m.present_by < :day"
            "   AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.item_id = i.id AND e.key = m.key"
            "                   AND NOT EXISTS (SELECT 1 FROM evidence n WHERE n.supersedes_id = e.id)"
            "                   AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.evidence_id = e.id))"
            f" ORDER BY COALESCE(NULLIF(COALESCE(m.owner, i.owner), ''), '{_NO_OWNER}'){c},"
            " COALESCE(m.owner, i.owner), m.present_by, i.ref",
            {"day": day},
        ):
            row = dict(zip(names, values, strict=True))
            row["days_late"] = (today - dt.date.fromisoformat(row["present_by"])).days
            evidence.add(row)
        finals = {name: wf.final for name, wf in r.rules().flows.items()}
        columns = ("ref", "kind", "title", "state", "due", "original_due", "owner")
        for values in r.stream(
            "SELECT ref, kind, title, state, due, original_due, owner FROM items"
            f" WHERE due IS NOT NULL AND due < :day ORDER BY COALESCE(NULLIF(owner, ''), '{_NO_OWNER}'){c},"
            " owner, due, ref",
            {"day": day},
        ):
            item = dict(zip(columns, values, strict=True))
            if item["state"] in finals.get(item["kind"], ()):
                continue
            item["days_late"] = (today - dt.date.fromisoformat(item["due"])).days
            items.add(item)
        yield Overdue(day, evidence, items)
    finally:
        evidence.close()
        items.close()


def limbo(db_path: DbRef) -> list[dict[str, Any]]:
    """Items that are stalling, each with why."""
    return [
        {k: i[k] for k in ("ref", "title", "state", "owner", "last_transition_at", "challenges", "limbo", "rag")}
        for i in views.item_rows(db_path)
        if i["limbo"]
    ]


def measures(db_path: DbRef) -> list[dict[str, Any]]:
    """The target tracker: every measure's latest value against its threshold, with its trend over periods."""
    with Reader(db_path) as r:
        return list(measures_in(r))


def _collate(r: Reader) -> str:
    """Text sorted as Python sorts it (by code point): SQLite's default; PostgreSQL's "C" collation."""
    return "" if r.dialect == "sqlite" else ' COLLATE "C"'


def measures_in(r: Reader) -> Iterator[dict[str, Any]]:
    """The target tracker read from a reader, one measure of one item at a time, by measure and item."""
    c = _collate(r)
    rows = r.stream(
        "SELECT i.ref, e.id, e.measure, e.value, e.unit, e.period, e.threshold, e.direction, e.dated,"
        " (SELECT n.id FROM evidence n WHERE n.supersedes_id = e.id) AS superseded_by,"
        " (SELECT w.id FROM withdrawals w WHERE w.evidence_id = e.id) AS withdrawal"
        " FROM evidence e JOIN items i ON i.id = e.item_id WHERE e.kind = 'measure'"
        f" ORDER BY e.measure{c}, i.ref{c}, e.period, e.id"
    )
    names = ("ref", "id", "measure", "value", "unit", "period", "threshold", "direction", "dated")
    live = (dict(zip(names, row[:9], strict=True)) for row in rows if row[9] is None and row[10] is None)
    for (name, ref), group in itertools.groupby(live, key=lambda row: (row["measure"], row["ref"])):
        yield _tracked(name, ref, list(group))


def _tracked(name: str, ref: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    latest = records[-1]
    value, threshold = float(latest["value"]), float(latest["threshold"])
    met = value <= threshold if latest["direction"] == "at-most" else value >= threshold
    trend = [
        {"period": rec["period"], "value": float(rec["value"]), "threshold": float(rec["threshold"])} for rec in records
    ]
    if len(trend) >= 2:
        delta = trend[-1]["value"] - trend[-2]["value"]
        better = delta < 0 if latest["direction"] == "at-most" else delta > 0
        direction = "improving" if better else "flat" if delta == 0 else "worsening"
    else:
        direction = "single period"
    return {
        "measure": name,
        "item": ref,
        "value": value,
        "unit": latest["unit"],
        "period": latest["period"],
        "threshold": threshold,
        "direction": latest["direction"],
        "met": met,
        "trend": trend,
        "trend_direction": direction,
        "threshold_changes": threshold_changes(records),
    }


def threshold_changes(records: list[dict[str, Any]]) -> list[str]:
    """Each point in a measure's periods where its threshold or direction changed: a trend read across
    such a change compares against two different targets, so the board is told."""
    changes = []
    for before, after in itertools.pairwise(records):
        was, now = (float(before["threshold"]), before["direction"]), (float(after["threshold"]), after["direction"])
        if was != now:
            changes.append(
                f"threshold changed from {was[1]} {was[0]:g} ({before['period'] or 'no period'}) "
                f"to {now[1]} {now[0]:g} ({after['period'] or 'no period'})"
            )
    return changes


def _states_over_time(r: Reader, until: dt.date) -> list[dict[str, Any]]:
    """Items by state at the end of each week: registrations from the items, moves from the audit log,
    read in time order and merged as they are read (a register's whole history is never held)."""
    flows = r.rules().flows
    c = _collate(r)
    created = (
        (created_at, ref, flows[kind].initial if kind in flows else "proposed")
        for ref, kind, created_at in r.stream(f"SELECT ref, kind, created_at FROM items ORDER BY created_at, ref{c}")
    )
    # Ordered as the merge needs, by when, then which item, then to which state, not by seq.
    moves = (
        tuple(m)
        for m in r.stream(
            "SELECT recorded_at, item_ref, to_state FROM audit WHERE outcome = 'applied' AND item_ref IS NOT NULL"
            " AND to_state IS NOT NULL AND from_state IS NOT NULL AND from_state <> to_state"
            f" AND recorded_at < :until ORDER BY recorded_at, item_ref{c}, to_state{c}",
            {"until": clock.day_starts(until + dt.timedelta(days=1))},
        )
    )
    happenings = heapq.merge(created, moves)
    state_of: dict[str, str] = {}
    series: list[dict[str, Any]] = []
    week_end: dt.date | None = None
    try:
        for recorded_at, ref, to_state in happenings:
            day = clock.local_date(recorded_at)
            if day > until:
                break
            if week_end is None:
                week_end = day + dt.timedelta(days=6 - day.weekday())
            while day > week_end:
                series.append({"date": week_end.isoformat(), **_count(state_of)})
                week_end += dt.timedelta(days=7)
            state_of[ref] = to_state
    finally:
        created.close()  # the reader's cursors, left part-read by the break
        moves.close()
    if week_end is not None:
        series.append({"date": min(week_end, until).isoformat(), **_count(state_of)})
    return series


def _count(state_of: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for s in state_of.values():
        counts[s] += 1
    return dict(counts)


def _refusals(r: Reader, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    """Refused attempts in the window, counted by reason (the failed guard, permission, state…)."""
    counted: Counter[str] = Counter()
    example: dict[str, str] = {}
    for rec in r.all(
        "SELECT a.detail FROM audit a WHERE a.outcome = 'refused'"
        " AND a.recorded_at >= :since AND a.recorded_at < :until"
        " AND EXISTS (SELECT 1 FROM users u WHERE u.name = a.actor)"
        " AND (a.item_ref IS NULL OR EXISTS (SELECT 1 FROM items i WHERE i.ref = a.item_ref)) ORDER BY a.seq",
        {"since": clock.day_starts(since), "until": clock.day_starts(until + dt.timedelta(days=1))},
    ):
        detail = json.loads(rec["detail"]) if rec["detail"] else {}
        detail = detail if isinstance(detail, dict) else {}
        for reason, failure in zip(changes.refusal_reasons(detail), detail.get("failures") or ["other"], strict=False):
            counted[reason] += 1
            example.setdefault(reason, str(failure))
    return [
        {"reason": k, "count": n, "example": example[k]}
        for k, n in sorted(counted.items(), key=lambda x: (-x[1], x[0]))
    ]


def board_pack(db_path: DbRef, meeting: dt.date) -> dict[str, Any]:
    """The board pack as one value (see ``board_pack_stream``), for small registers and tests."""
    with board_pack_stream(db_path, meeting) as pack:
        plan = pack["plan"]
        owners = {o: {"evidence": list(d["evidence"]), "items": list(d["items"])} for o, d in pack["overdue"]["owners"]}
        return {
            **pack,
            "plan": {**plan, "items": list(plan["items"]), "limbo": list(plan["limbo"])},
            "changes": list(pack["changes"]),
            "asking_for_sign_off": list(pack["asking_for_sign_off"]),
            "measures": list(pack["measures"]),
            "overdue": {"as_of": pack["overdue"]["as_of"], "owners": owners},
            "limbo": list(pack["limbo"]),
        }


@contextmanager
def board_pack_stream(db_path: DbRef, meeting: dt.date) -> Iterator[dict[str, Any]]:
    """Everything the board reads at one meeting, as data for the HTML or Markdown pack.

    The meeting must be a held meeting on the calendar (NotFound names the nearest). "What changed"
    is every applied change since the previous held meeting, in plain words; refused attempts go to
    a short appendix counted by reason, leaving out attempts on refs or by users that do not exist
    (typos, not the board's business).

    What grows with the register (the plan, changes, items asking for sign-off, measures, overdue
    rows, limbo) is spooled (``views.Spool``): sized, read once in order, held on disk past a few
    MiB, so a pack for any register is made in bounded memory. Read it inside the ``with``."""
    from signoff.services.minutes import applied_rows, meeting_row

    spools: list[views.Spool] = []

    def spool(rows: Iterable[dict[str, Any]]) -> views.Spool:
        spools.append(views.Spool())
        for row in rows:
            spools[-1].add(row)
        return spools[-1]

    with views.board_stream(db_path) as board, Reader(db_path) as r:
        try:
            row = meeting_row(r, meeting, "a board pack")
            if row["cancelled_at"] is not None:
                where = f"moved to {row['moved_to']}" if row["moved_to"] else "cancelled"
                raise NotFound(
                    f"the board meeting on {meeting.isoformat()} was {where}: make the pack for a held meeting."
                )
            previous = r.one(
                "SELECT MAX(date) AS date FROM meetings WHERE date < :m AND cancelled_at IS NULL",
                {"m": meeting.isoformat()},
            )
            since = (
                dt.date.fromisoformat(previous["date"])
                if previous and previous["date"]
                else meeting - dt.timedelta(days=28)
            )
            applied = spool(applied_rows(r, since, meeting))
            refusals = _refusals(r, since, meeting)
            asking = spool(_asking(r, board.item_chain()))
            chart = _states_over_time(r, meeting)
            tracker = spool(measures_in(r))
            plan = {
                "as_of": board.as_of,
                "items": board.item_chain(),
                "by_state": board.by_state,
                "by_rag": board.by_rag,
                "limbo": board.limbo_spool,
                "audit_head": board.audit_head,
            }
            with overdue_in(r) as late:
                yield {
                    "meeting": meeting.isoformat(),
                    "previous_meeting": since.isoformat(),
                    "plan": plan,
                    "changes": applied,
                    "refusals": refusals,
                    "asking_for_sign_off": asking,
                    "measures": tracker,
                    "overdue": {"as_of": late.as_of, "owners": late},
                    "limbo": board.limbo_spool,
                    "states_over_time": chart,
                }
        finally:
            for each in spools:
                each.close()


def _asking(r: Reader, items: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Items asking for sign-off, each with its latest submission and evidence (withdrawn marked)."""
    for item in items:
        if item["state"] != "evidence_submitted":
            continue
        sub = r.one(
            "SELECT s.submitted_at, s.submitted_by, s.bundle_digest, s.evidence_ids FROM submissions s"
            " JOIN items i ON i.id = s.item_id WHERE i.ref = :ref ORDER BY s.id DESC LIMIT 1",
            {"ref": item["ref"]},
        )
        if sub is None:
            continue
        ids = [int(x) for x in sub["evidence_ids"].split(",") if x]
        marks = ",".join("?" * len(ids)) or "NULL"
        # The frozen bundle, and any of the item's evidence since withdrawn, marked: the board sees
        # what was taken back and why, whether before or after the bundle was frozen.
        evidence = r.all(
            f"SELECT e.id, e.key, e.kind, e.file_name, e.note, e.measure, e.value, e.unit, e.threshold,"
            f" e.direction, e.dated, e.sha256, w.withdrawn_by, w.reason AS withdrawn_reason"
            f" FROM evidence e LEFT JOIN withdrawals w ON w.evidence_id = e.id"
            f" WHERE e.id IN ({marks}) OR (w.id IS NOT NULL AND e.item_id = (SELECT id FROM items WHERE ref = ?))"
            f" ORDER BY e.key, e.id",
            [*ids, item["ref"]],
        )
        yield {**item, "submission": sub, "evidence": evidence}
