"""The board's calendar as plain values: which meetings are held, and the nearest ones to a date.

A decision names the meeting that took it, so a date that is not a held meeting is refused with
the dates the user most likely meant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def nearest(held: Iterable[dt.date], day: dt.date) -> list[dt.date]:
    """The last held meeting before ``day`` and the first after it (either may be missing)."""
    dates = sorted(set(held))
    before = [d for d in dates if d < day]
    after = [d for d in dates if d > day]
    return ([before[-1]] if before else []) + ([after[0]] if after else [])


def nearest_text(held: Iterable[dt.date], day: dt.date) -> str:
    """'the nearest are 2026-11-16 and 2026-12-14', or how to put a meeting on an empty calendar."""
    close = nearest(held, day)
    if not close:
        return "the calendar has no meetings: add one with 'signoff meeting add DATE'"
    if len(close) == 1:
        return f"the nearest is {close[0].isoformat()}"
    return f"the nearest are {close[0].isoformat()} and {close[1].isoformat()}"


def not_held(day: dt.date, held: Iterable[dt.date], cancelled: dict[dt.date, str | None]) -> str | None:
    """Why ``day`` cannot be the meeting that decided, or None when it is a meeting on the calendar.
    (Whether it has taken place yet is the ``meeting_date_valid`` guard's rule.)

    ``cancelled`` maps each cancelled meeting to the date it moved to (None when it was dropped).
    """
    held = sorted(set(held))
    if day in cancelled:
        moved = cancelled[day]
        where = f"moved to {moved}" if moved else "cancelled"
        return f"the meeting on {day.isoformat()} was {where}: {nearest_text(held, day)}"
    if day not in held:
        return f"no board meeting on {day.isoformat()} is on the calendar: {nearest_text(held, day)}"
    return None
