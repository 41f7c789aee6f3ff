"""RAG status and limbo flags: one definition, used by every view.

- red: overdue (item past its due date, or a matrix row past its present-by date with no
  evidence), in limbo, or a measure missing its threshold;
- amber: evidence due within 14 days, or challenged;
- green: signed off, or on track.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

AMBER_WINDOW_DAYS = 14
REPEATED_CHALLENGES = 2


@dataclass(frozen=True)
class ItemStatus:
    """The facts about an item the board views judge it on."""

    state: str
    final: bool
    due: str | None
    next_uncovered: str | None  # earliest present-by date of a matrix row with no evidence
    last_transition_at: str
    limbo_days: int
    challenges: int
    measures_missed: int = 0
    missed_meeting: str | None = None  # a board meeting held since submission that did not decide


def limbo_flags(s: ItemStatus, today: dt.date) -> list[str]:
    """Why an item looks stuck in 'perpetual limbo', one sentence each (empty when it is not)."""
    if s.final:
        return []
    flags = []
    idle = (today - dt.date.fromisoformat(s.last_transition_at[:10])).days
    if idle >= s.limbo_days:
        flags.append(f"no progress for {idle} days (limit {s.limbo_days})")
    if s.challenges >= REPEATED_CHALLENGES:
        flags.append(f"challenged {s.challenges} times")
    if s.missed_meeting:
        flags.append(f"submitted and still waiting after the board meeting of {s.missed_meeting}")
    return flags


def rag(s: ItemStatus, today: dt.date) -> tuple[str, list[str]]:
    if s.final:
        return "green", ["signed off"]
    red, amber = [], []
    if s.due and dt.date.fromisoformat(s.due) < today:
        red.append(f"past its due date {s.due}")
    if s.next_uncovered:
        present_by = dt.date.fromisoformat(s.next_uncovered)
        if present_by < today:
            red.append(f"evidence overdue since {s.next_uncovered}")
        elif (present_by - today).days <= AMBER_WINDOW_DAYS:
            amber.append(f"evidence due by {s.next_uncovered}")
    red.extend("limbo: " + f for f in limbo_flags(s, today))
    if s.measures_missed:
        red.append(f"{s.measures_missed} measure(s) missing their threshold")
    if s.state == "challenged":
        amber.append("challenged")
    if red:
        return "red", red
    if amber:
        return "amber", amber
    return "green", ["on track"]
