"""Time in one place: timezone-aware UTC, ISO 8601 on the way out, strict dates on the way in."""

from __future__ import annotations

import datetime as dt
import re

from signoff.errors import BadInput


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def now_iso() -> str:
    return iso(now())


def iso(moment: dt.datetime) -> str:
    """ISO 8601 with microseconds and an explicit +00:00, so text order is time order."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def today() -> dt.date:
    """The board's calendar date where the command runs: dates a secretary types are local dates
    (a meeting held at 00:30 on a British summer night is on today's date, not yesterday's)."""
    return dt.date.today()


# Exactly four, two and two ASCII digits: Python 3.11's date.fromisoformat also takes "2026-W01-1"
# (an ISO week date) and "20261231", which a secretary never means and a board paper would misprint.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def strict_date(text: str) -> dt.date:
    """A YYYY-MM-DD date and nothing else; ValueError otherwise."""
    if not _DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not YYYY-MM-DD")
    return dt.date.fromisoformat(text)


def parse_date(text: str, what: str = "date") -> dt.date:
    """Parse YYYY-MM-DD or raise BadInput naming the field and the expected form."""
    raw = (text or "").strip()
    try:
        return strict_date(raw)
    except ValueError:
        raise BadInput(f"{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2013-09-30.") from None


_CANONICAL_LEN = len("2026-01-02T03:04:05.000006+00:00")


def is_canonical(text: str) -> bool:
    """Whether ``text`` is a timestamp exactly as ``iso`` writes it (UTC, microseconds, +00:00)."""
    if len(text) != _CANONICAL_LEN or not text.endswith("+00:00"):
        return False
    try:
        return iso(dt.datetime.fromisoformat(text)) == text
    except ValueError:
        return False


def day_starts(day: dt.date) -> str:
    """The instant the board's local ``day`` begins, as canonical UTC text. A stored timestamp falls on or
    after ``day`` on the local calendar exactly when it compares ``>=`` this text, so a query over
    records compares instants (cheap, indexable) and never the UTC date, which is off by one in the
    evening in Honolulu and in the morning in Kiritimati."""
    return iso(dt.datetime.combine(day, dt.time()).astimezone())


def local_day(timestamp: str) -> str:
    """``local_date`` as YYYY-MM-DD text, for views that print a record's date."""
    return local_date(timestamp).isoformat()


def local_date(timestamp: str) -> dt.date:
    """The board's calendar date (the local date, as ``today``) of a stored UTC timestamp: a record made
    at 20:00 in Honolulu on the 29th is stored as the 30th in UTC but happened on the 29th."""
    return dt.datetime.fromisoformat(timestamp).astimezone().date()
