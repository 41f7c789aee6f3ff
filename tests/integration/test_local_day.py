"""One notion of a record's date: the board's local calendar day, whatever the UTC date of the stored
instant. Each test runs under two zones whose local day differs from the UTC day (conftest.BOARD_ZONES),
in this process and in the CLI subprocess, and puts a record one instant either side of a local midnight.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY, days_ago, write_matrix
from signing import fire_event

from signoff import clock
from signoff.domain.rag import ItemStatus, limbo_flags
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.schedule import add_meeting

pytestmark = pytest.mark.usefixtures("board_tz")

LIMBO_DAYS = 28


def stored(day: dt.date, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> str:
    """The canonical UTC text of a local wall-clock time, as signoff stores a record made then."""
    return clock.iso(dt.datetime(day.year, day.month, day.day, hour, minute, second, micro).astimezone())


def last_moved(at: str) -> ItemStatus:
    return ItemStatus("proposed", False, None, None, at, LIMBO_DAYS, 0)


def test_a_local_day_begins_at_local_midnight_and_a_record_takes_the_local_date() -> None:
    day = dt.date(2026, 11, 29)
    start = clock.day_starts(day)
    assert clock.local_date(start) == day
    just_before = clock.iso(dt.datetime.fromisoformat(start) - dt.timedelta(microseconds=1))
    assert clock.local_date(just_before) == day - dt.timedelta(days=1)
    assert clock.local_day(stored(day, 23, 59, 59, 999_999)) == "2026-11-29"
    assert stored(day, 0) == start


def test_limbo_starts_on_the_28th_local_day_at_both_instants_of_its_boundary() -> None:
    """Last moved at the last instant of the local day 28 days ago: in limbo. At the first instant of
    the next local day: not yet. The UTC date of either is a day off in one of the zones."""
    today = dt.date(2026, 11, 29)
    edge = today - dt.timedelta(days=LIMBO_DAYS)
    assert limbo_flags(last_moved(stored(edge, 23, 59, 59, 999_999)), today) == ["no progress for 28 days (limit 28)"]
    assert limbo_flags(last_moved(stored(edge + dt.timedelta(days=1), 0)), today) == []
    assert limbo_flags(last_moved(stored(edge, 0)), today) == ["no progress for 28 days (limit 28)"]


def _matrix(db: Path, tmp_path: Path, refs: tuple[str, ...]) -> None:
    due = days_ago(-30).isoformat()
    rows = [(ref, "ofsted-recommendation", f"Title of {ref}", "", "audit", "audit", due) for ref in refs]
    import_matrix(db, SECRETARY, write_matrix(tmp_path / "matrix.csv", rows))


def _set(db: Path, sql: str, *params: Any) -> None:
    """Put a record at a chosen instant: the views read the tables as they stand, whatever wrote them."""
    with sqlite3.connect(db) as conn:
        table = sql.split()[1]
        guards = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND sql LIKE '%UPDATE%'",
            (table,),
        ).fetchall()
        for name, _ in guards:  # the append-only guard: lifted for this one back-dating, then put back
            conn.execute(f'DROP TRIGGER "{name}"')
        conn.execute(sql, params)
        for _, create in guards:
            conn.execute(create)
    conn.close()


def _board(run_cli: Callable[..., Any], db: Path) -> dict[str, dict[str, Any]]:
    r = run_cli("board", "--json", db=db)
    assert r.code == 0, r.err
    return {i["ref"]: i for i in json.loads(r.out)["items"]}


def test_the_board_in_a_subprocess_judges_limbo_on_the_local_day(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    _matrix(db_path, tmp_path, ("OF-IN", "OF-OUT"))
    edge = days_ago(LIMBO_DAYS)
    _set(db_path, "UPDATE items SET last_transition_at = ? WHERE ref = 'OF-IN'", stored(edge, 23, 59, 59, 999_999))
    _set(db_path, "UPDATE items SET last_transition_at = ? WHERE ref = 'OF-OUT'", stored(days_ago(LIMBO_DAYS - 1), 0))
    items = _board(run_cli, db_path)
    assert items["OF-IN"]["limbo"] == ["no progress for 28 days (limit 28)"]
    assert items["OF-IN"]["rag"] == "red"
    assert items["OF-OUT"]["limbo"] == []


def test_a_meeting_on_the_local_day_of_an_evening_submission_is_one_the_item_waited_through(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    """Submitted at 20:00 local two days ago, with a meeting that day: the item waited through it.
    Submitted at the first instant of yesterday (local midnight), after the day-before's meeting: it did not."""
    add_meeting(db_path, SECRETARY, days_ago(2))
    _matrix(db_path, tmp_path, ("OF-EVE", "OF-DAWN"))
    for ref in ("OF-EVE", "OF-DAWN"):
        add_evidence(db_path, SECRETARY, ref, "audit", days_ago(3), note="audit")
        assert fire_event(db_path, SECRETARY, ref, "submit") == "evidence_submitted"
    _set(
        db_path,
        "UPDATE submissions SET submitted_at = ? WHERE item_id = (SELECT id FROM items WHERE ref = 'OF-EVE')",
        stored(days_ago(2), 20),
    )
    _set(
        db_path,
        "UPDATE submissions SET submitted_at = ? WHERE item_id = (SELECT id FROM items WHERE ref = 'OF-DAWN')",
        stored(days_ago(1), 0),
    )
    items = _board(run_cli, db_path)
    assert items["OF-EVE"]["missed_meeting"] == days_ago(2).isoformat()
    assert f"submitted and still waiting after the board meeting of {days_ago(2)}" in items["OF-EVE"]["limbo"]
    assert items["OF-DAWN"]["missed_meeting"] is None
    assert items["OF-DAWN"]["limbo"] == []


def test_date_windows_hold_a_record_made_now_on_its_local_day(db_path: Path, run_cli: Callable[..., Any]) -> None:
    """`--since`/`--until` are local days: a record made now is in today's window and in no other. (At any
    hour one of the two zones puts today's UTC date a day away from the local one.)"""
    today, yesterday, tomorrow = days_ago(0), days_ago(1), days_ago(-1)

    def exported(*window: str) -> list[str]:
        r = run_cli("audit", "export", "--format", "jsonl", *window, db=db_path)
        assert r.code == 0, r.err
        return [json.loads(line)["event"] for line in r.out.splitlines()]

    assert exported("--since", today.isoformat(), "--until", today.isoformat())[-1] == "meeting.add"
    assert exported("--since", tomorrow.isoformat()) == []
    assert "meeting.add" not in exported("--until", yesterday.isoformat())
    r = run_cli("changes", "--since", today.isoformat(), "--json", db=db_path)
    assert r.code == 0, r.err
    assert [c["event"] for c in json.loads(r.out)["changes"]][-1] == "meeting.add"
    r = run_cli("changes", "--since", tomorrow.isoformat(), "--json", db=db_path)
    assert r.code == 0, r.err
    assert json.loads(r.out)["changes"] == []
