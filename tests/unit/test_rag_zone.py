"""Limbo is judged on the board's local day: the exact cutoff instant, and a zone changed within one process."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator

import pytest

from signoff.clock import day_starts
from signoff.domain.rag import ItemStatus, limbo_flags


def status(at: str, limbo_days: int = 28, **kw: object) -> ItemStatus:
    return ItemStatus("evidence_submitted", False, None, None, at, limbo_days, 0, **kw)  # type: ignore[arg-type]


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


def test_a_move_at_the_first_instant_of_the_day_after_the_limit_is_not_limbo(zone: Callable[[str], None]) -> None:
    zone("UTC")
    today = dt.date(2013, 9, 30)
    cutoff = day_starts(today - dt.timedelta(days=27))
    assert cutoff == "2013-09-03T00:00:00.000000+00:00"
    assert limbo_flags(status(cutoff), today) == []
    just_before = "2013-09-02T23:59:59.999999+00:00"
    assert limbo_flags(status(just_before), today) == ["no progress for 28 days (limit 28)"]


def test_the_cutoff_follows_a_zone_changed_in_the_same_process(zone: Callable[[str], None]) -> None:
    # Two zones with the same names and offset whose summer of 2005 differed: Indianapolis kept
    # standard time, so its day began an hour later in UTC than New York's.
    today = dt.date(2005, 7, 1)
    moved = "2005-07-01T04:30:00.000000+00:00"  # 00:30 in New York, 23:30 the day before in Indianapolis
    zone("America/New_York")
    assert limbo_flags(status(moved, limbo_days=1), today) == []
    zone("America/Indiana/Indianapolis")
    assert limbo_flags(status(moved, limbo_days=1), today) == ["no progress for 1 days (limit 1)"]


def test_a_missed_meeting_is_named() -> None:
    flags = limbo_flags(status("2999-01-01T00:00:00.000000+00:00", missed_meeting="2013-09-20"), dt.date(2013, 9, 30))
    assert flags == ["submitted and still waiting after the board meeting of 2013-09-20"]
