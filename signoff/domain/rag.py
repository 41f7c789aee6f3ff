"""RAG status and limbo flags: one definition, used by every view.

- red: overdue (item past its due date, or a matrix row past its present-by date with no
  evidence), in limbo, or a measure missing its threshold;
- amber: evidence due within 14 days, or challenged;
- green: signed off, or on track.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from functools import lru_cache
from typing import NamedTuple

from signoff.clock import day_starts, local_date

AMBER_WINDOW_DAYS = 14
REPEATED_CHALLENGES = 2


class ItemStatus(NamedTuple):
    """The facts about an item the board views judge it on (a tuple: cheap for 10,000 items)."""

    state: str
    final: bool
    due: str | None
    next_uncovered: str | None  # earliest present-by date of a matrix row with no evidence
    last_transition_at: str  # canonical UTC timestamp
    limbo_days: int
    challenges: int
    measures_missed: int = 0
    missed_meeting: str | None = None  # a board meeting held since submission that did not decide


def _marks(today: dt.date, limbo_days: int) -> tuple[str, str, str]:
    """Today and the end of the amber window as dates, and the limbo cutoff as a UTC instant, all as text:
    dates compare with dates and stored timestamps with instants, as text, cheaply for 10,000 items."""
    return _marks_in_zone(today, limbo_days, os.environ.get("TZ"), time.tzname, time.timezone)


@lru_cache(maxsize=64)
def _marks_in_zone(today: dt.date, limbo_days: int, *_zone: object) -> tuple[str, str, str]:
    # An item is in limbo when its last move fell on or before the local day ``limbo_days`` ago, that
    # is, before the instant the next local day began. The zone is part of the key: the cutoff
    # instant moves with it, and tests change it within one process.
    return (
        today.isoformat(),
        (today + dt.timedelta(days=AMBER_WINDOW_DAYS)).isoformat(),
        day_starts(today - dt.timedelta(days=limbo_days - 1)),
    )


class Judge:
    """The judgement for one day, for many items: the day's marks are worked out once per limbo limit,
    so a board of 10,000 items pays for them once. ``judge`` and ``limbo_flags`` are its one-off forms."""

    __slots__ = ("_marks", "today")

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self._marks: dict[int, tuple[str, str, str]] = {}

    def marks(self, limbo_days: int) -> tuple[str, str, str]:
        found = self._marks.get(limbo_days)
        if found is None:
            found = self._marks[limbo_days] = _marks(self.today, limbo_days)
        return found

    def limbo(self, s: ItemStatus) -> list[str]:
        """Why an item looks stuck in 'perpetual limbo', one sentence each (empty when it is not)."""
        if s.final:
            return []
        flags = []
        if s.last_transition_at < self.marks(s.limbo_days)[2]:
            idle = (self.today - local_date(s.last_transition_at)).days
            flags.append(f"no progress for {idle} days (limit {s.limbo_days})")
        if s.challenges >= REPEATED_CHALLENGES:
            flags.append(f"challenged {s.challenges} times")
        if s.missed_meeting:
            flags.append(f"submitted and still waiting after the board meeting of {s.missed_meeting}")
        return flags

    def __call__(self, s: ItemStatus) -> tuple[str, list[str], list[str]]:
        """The RAG colour, the reasons for it, and the limbo flags, worked out once."""
        if s.final:
            return "green", ["signed off"], []
        today_s, amber_until, _ = self.marks(s.limbo_days)
        red, amber = [], []
        if s.due and s.due < today_s:
            red.append(f"past its due date {s.due}")
        if s.next_uncovered:
            if s.next_uncovered < today_s:
                red.append(f"evidence overdue since {s.next_uncovered}")
            elif s.next_uncovered <= amber_until:
                amber.append(f"evidence due by {s.next_uncovered}")
        limbo = self.limbo(s)
        red.extend("limbo: " + f for f in limbo)
        if s.measures_missed:
            red.append(f"{s.measures_missed} measure(s) missing their threshold")
        if s.state == "challenged":
            amber.append("challenged")
        if red:
            return "red", red, limbo
        if amber:
            return "amber", amber, limbo
        return "green", ["on track"], limbo


def limbo_flags(s: ItemStatus, today: dt.date) -> list[str]:
    """Why an item looks stuck in 'perpetual limbo', one sentence each (empty when it is not)."""
    return Judge(today).limbo(s)


def judge(s: ItemStatus, today: dt.date) -> tuple[str, list[str], list[str]]:
    """The RAG colour, the reasons for it, and the limbo flags, worked out once."""
    return Judge(today)(s)


def rag(s: ItemStatus, today: dt.date) -> tuple[str, list[str]]:
    colour, reasons, _ = judge(s, today)
    return colour, reasons
