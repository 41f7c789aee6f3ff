"""The one RAG definition and the limbo flags, judged on plain facts (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from signoff.domain.rag import ItemStatus, limbo_flags, rag

# Limbo counts local days: each case runs under two zones (conftest.BOARD_ZONES), with times written
# as local wall-clock times and stored in UTC as signoff stores them.
pytestmark = pytest.mark.usefixtures("board_tz")

TODAY = dt.date(2026, 11, 27)


def at(local: str) -> str:
    """The stored (UTC) form of a local wall-clock time ``YYYY-MM-DDTHH:MM``."""
    return dt.datetime.fromisoformat(local).astimezone(dt.UTC).isoformat(timespec="microseconds")


def status(**kw: object) -> ItemStatus:
    base: dict[str, object] = {
        "state": "proposed",
        "final": False,
        "due": None,
        "next_uncovered": None,
        "last_transition_at": "2026-11-20T09:00:00.000000+00:00",
        "limbo_days": 28,
        "challenges": 0,
    }
    base.update(kw)
    return ItemStatus(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("facts", "colour", "why"),
    [
        ({"state": "signed_off", "final": True, "due": "2020-01-01"}, "green", "signed off"),
        ({}, "green", "on track"),
        ({"next_uncovered": "2026-12-11"}, "amber", "evidence due by 2026-12-11"),
        ({"next_uncovered": "2026-12-12"}, "green", "on track"),
        ({"state": "challenged", "challenges": 1}, "amber", "challenged"),
        ({"due": "2026-11-26"}, "red", "past its due date 2026-11-26"),
        ({"due": "2026-11-27"}, "green", "on track"),
        ({"next_uncovered": "2026-11-27"}, "amber", "evidence due by 2026-11-27"),
        ({"next_uncovered": "2026-11-26"}, "red", "evidence overdue since 2026-11-26"),
        ({"measures_missed": 1}, "red", "1 measure(s) missing their threshold"),
        ({"last_transition_at": "2026-10-30T09:00"}, "red", "limbo: no progress for 28 days (limit 28)"),
    ],
)
def test_rag(facts: dict[str, object], colour: str, why: str) -> None:
    if "last_transition_at" in facts:
        facts = {**facts, "last_transition_at": at(str(facts["last_transition_at"]))}
    got, reasons = rag(status(**facts), TODAY)
    assert got == colour
    assert why in reasons


def test_red_outranks_amber_and_lists_every_reason() -> None:
    colour, reasons = rag(status(state="challenged", challenges=2, due="2026-11-01"), TODAY)
    assert colour == "red"
    assert "past its due date 2026-11-01" in reasons
    assert "limbo: challenged 2 times" in reasons


def test_limbo_flags_say_why() -> None:
    s = status(
        state="evidence_submitted",
        last_transition_at=at("2026-09-01T00:00"),
        challenges=3,
        missed_meeting="2026-11-20",
        limbo_days=14,
    )
    assert limbo_flags(s, TODAY) == [
        "no progress for 87 days (limit 14)",
        "challenged 3 times",
        "submitted and still waiting after the board meeting of 2026-11-20",
    ]


def test_a_signed_off_item_is_never_in_limbo() -> None:
    assert limbo_flags(status(final=True, challenges=5, last_transition_at="2020-01-01T00:00:00+00:00"), TODAY) == []


def test_one_days_judge_gives_every_item_what_judging_it_alone_gives() -> None:
    from signoff.domain.rag import Judge, judge

    statuses = [
        status(**facts)  # type: ignore[arg-type]
        for facts in (
            {},
            {"limbo_days": 7, "last_transition_at": at("2026-11-19T09:00")},
            {"limbo_days": 28, "last_transition_at": at("2026-11-19T09:00")},
            {"limbo_days": 7, "last_transition_at": at("2026-11-21T09:00")},
            {"state": "signed_off", "final": True},
            {"next_uncovered": "2026-12-01", "challenges": 2},
        )
    ]
    one = Judge(TODAY)
    assert [one(s) for s in statuses] == [judge(s, TODAY) for s in statuses]
    assert [one.limbo(s) for s in statuses] == [limbo_flags(s, TODAY) for s in statuses]
    assert one(statuses[1])[0] == "red" and one(statuses[2])[0] == "green"  # each limbo limit its own cutoff
