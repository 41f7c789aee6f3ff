"""The rules a signed decision is held to when it is recorded: the signed statement must say exactly
what is being decided now, about the item as it stands now.

Pure rules on plain values: the service gathers the facts inside its write transaction and these
say, in one sentence each, why a statement does not fit them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from signoff.domain.decision import DecisionStatement
from signoff.errors import Refused

# A signature's statement may carry a time a little ahead of the register's clock (two machines).
CLOCK_SKEW = dt.timedelta(minutes=5)
MAKE_NEW = "make a new statement and sign it again"


@dataclass(frozen=True)
class SignedStatement:
    """What the chair signed (the exact bytes) and the armored SSHSIG signature over them."""

    statement: bytes
    signature: str


@dataclass(frozen=True)
class DecisionFacts:
    """What a statement must say to sign this decision, read under the write lock."""

    register: str
    item: str
    title: str
    event: str
    meeting: dt.date | None
    bundle: str | None
    frozen_at: dt.datetime | None  # when the bundle named was frozen
    reason: str | None
    override_reason: str | None
    actor: str
    now: dt.datetime
    key_registered_at: dt.datetime


def refusal(why: str) -> Refused:
    return Refused(f"{why}.", [f"signature: {why}"])


def check_statement(s: DecisionStatement, f: DecisionFacts) -> None:
    """Refuse a statement for another register, item, event or meeting, or one made before the
    evidence it names changed; each refusal says what differs and what to do."""
    if s.register != f.register:
        raise refusal(
            f"the signed statement is for another register ({s.register}), not this one ({f.register}); {MAKE_NEW} from this register"
        )
    if s.item != f.item:
        raise refusal(f"the signed statement is for item {s.item}, not {f.item}; {MAKE_NEW} for {f.item}")
    if s.event != f.event:
        raise refusal(f"the signed statement is for the event {s.event}, not {f.event}; {MAKE_NEW} for {f.event}")
    if s.meeting != f.meeting:
        said = s.meeting.isoformat() if s.meeting else "no meeting"
        want = f.meeting.isoformat() if f.meeting else "no meeting"
        raise refusal(f"the signed statement is for {said}, not {want}; {MAKE_NEW} for this meeting")
    if s.actor != f.actor:
        raise refusal(
            f"the signed statement names {s.actor} as the one deciding, but it is signed with {f.actor}'s key"
        )
    if s.bundle != f.bundle or (f.frozen_at is not None and s.time < f.frozen_at.replace(microsecond=0)):
        raise refusal(
            f"the evidence changed since the chair signed: {f.item}'s evidence was frozen again after the statement was made; {MAKE_NEW}"
        )
    if s.title != f.title:
        raise refusal(f"{f.item}'s title changed since the statement was made; {MAKE_NEW}")
    if s.reason != f.reason:
        raise refusal(
            f"the signed statement gives the reason {s.reason!r}, not {f.reason!r}; give the reason it was signed with"
        )
    if s.override_reason != f.override_reason:
        raise refusal(
            f"the signed statement gives the override reason {s.override_reason!r}, not {f.override_reason!r}; "
            "give the override reason it was signed with"
        )
    if s.time > f.now + CLOCK_SKEW:
        raise refusal(
            f"the signed statement is dated {s.time:%Y-%m-%dT%H:%M:%SZ}, in the future; check the signing computer's clock and {MAKE_NEW}"
        )
    if s.time < f.key_registered_at.replace(microsecond=0):
        raise refusal(f"the signed statement is dated before the key that signed it was registered; {MAKE_NEW}")
