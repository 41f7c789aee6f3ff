"""The facts a decision about one item is made on, as plain immutable values.

Services load these from the store; guards read them; nothing here touches a database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

KINDS: tuple[str, ...] = ("ofsted-recommendation", "improvement-notice")


@dataclass(frozen=True)
class EvidenceFact:
    key: str
    dated: dt.date
    recorded_at: str
    added_by: str
    digest: str
    kind: str = "note"
    measure: str | None = None
    value: float | None = None
    threshold: float | None = None
    direction: str | None = None
    period: str | None = None


@dataclass(frozen=True)
class ChallengeFact:
    raised_at: str
    raised_by: str
    reason: str
    id: int = 0


@dataclass(frozen=True)
class Attempt:
    """One actor firing one event on one item, with everything the guards may look at."""

    ref: str
    kind: str
    state: str
    event: str
    actor: str
    actor_roles: frozenset[str]
    today: dt.date
    matrix_keys: tuple[str, ...] = ()
    evidence: tuple[EvidenceFact, ...] = ()
    evidence_adders: frozenset[str] = frozenset()  # who added or superseded any of its evidence
    evidence_withdrawers: frozenset[str] = frozenset()  # who withdrew any of its evidence
    submitters: frozenset[str] = frozenset()  # who submitted, resubmitted or amended it
    open_challenges: tuple[ChallengeFact, ...] = ()  # every challenge not yet answered, oldest first
    latest_submission_at: str | None = None
    submitted_bundle: str | None = None
    current_bundle: str | None = None
    reason: str | None = None
    response: str | None = None  # one answer to every open challenge
    responses: tuple[tuple[int, str], ...] = ()  # (challenge id, answer): one challenge's own answer
    meeting: dt.date | None = None
    override_reason: str | None = None
    damaged_files: tuple[str, ...] = ()  # stored evidence files of the bundle that are missing or altered
    meetings_held: tuple[dt.date, ...] = ()  # the board's calendar, cancelled meetings left out
    meetings_cancelled: tuple[tuple[dt.date, str | None], ...] = ()  # (date, the date it moved to, if moved)
