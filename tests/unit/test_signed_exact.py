"""The rules a signed decision is held to when recorded: each refusal, word for word, and its edges."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from signoff.domain.decision import DecisionStatement
from signoff.domain.signed import CLOCK_SKEW, MAKE_NEW, DecisionFacts, SignedStatement, check_statement, refusal
from signoff.errors import Refused

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 0, 0, 500_000, tzinfo=UTC)
FACTS = DecisionFacts(
    register="reg-1",
    item="OF-01",
    title="Screen contacts",
    event="approve",
    meeting=dt.date(2026, 3, 10),
    bundle="b" * 64,
    frozen_at=dt.datetime(2026, 3, 9, 9, 0, 0, 900_000, tzinfo=UTC),
    reason=None,
    override_reason=None,
    actor="chair",
    now=NOW,
    key_registered_at=dt.datetime(2026, 1, 1, 8, 0, 0, 700_000, tzinfo=UTC),
)
GOOD = DecisionStatement(
    register="reg-1",
    item="OF-01",
    title="Screen contacts",
    event="approve",
    meeting=dt.date(2026, 3, 10),
    bundle="b" * 64,
    reason=None,
    override_reason=None,
    actor="chair",
    time=dt.datetime(2026, 3, 10, 11, 59, 0, tzinfo=UTC),
)


def refused(s: DecisionStatement, f: DecisionFacts = FACTS) -> Refused:
    with pytest.raises(Refused) as caught:
        check_statement(s, f)
    return caught.value


def test_a_statement_that_fits_is_accepted() -> None:
    check_statement(GOOD, FACTS)


def test_the_constants() -> None:
    assert dt.timedelta(minutes=5) == CLOCK_SKEW
    assert MAKE_NEW == "make a new statement and sign it again"
    assert SignedStatement(b"x", "sig") == SignedStatement(statement=b"x", signature="sig")


def test_a_refusal_is_one_sentence_and_one_failure() -> None:
    err = refusal("it is wrong")
    assert str(err) == "it is wrong."
    assert err.failures == ["signature: it is wrong"]


S = dataclasses.replace
CASES: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"register": "reg-2"}, {}, "the signed statement is for another register (reg-2), not this one (reg-1); "
     f"{MAKE_NEW} from this register"),
    ({"item": "OF-02"}, {}, f"the signed statement is for item OF-02, not OF-01; {MAKE_NEW} for OF-01"),
    ({"event": "reopen"}, {}, f"the signed statement is for the event reopen, not approve; {MAKE_NEW} for approve"),
    ({"meeting": dt.date(2026, 3, 3)}, {}, f"the signed statement is for 2026-03-03, not 2026-03-10; {MAKE_NEW} for"
     " this meeting"),
    ({"meeting": None}, {}, f"the signed statement is for no meeting, not 2026-03-10; {MAKE_NEW} for this meeting"),
    ({}, {"meeting": None}, f"the signed statement is for 2026-03-10, not no meeting; {MAKE_NEW} for this meeting"),
    ({"actor": "sec"}, {}, "the signed statement names sec as the one deciding, but it is signed with chair's key"),
    ({"bundle": "c" * 64}, {}, "the evidence changed since the chair signed: OF-01's evidence was frozen again after"
     f" the statement was made; {MAKE_NEW}"),
    ({"time": dt.datetime(2026, 3, 9, 8, 59, 59, tzinfo=UTC)}, {}, "the evidence changed since the chair signed:"
     f" OF-01's evidence was frozen again after the statement was made; {MAKE_NEW}"),
    ({"title": "Old"}, {}, f"OF-01's title changed since the statement was made; {MAKE_NEW}"),
    ({"reason": "r"}, {}, "the signed statement gives the reason 'r', not None; give the reason it was signed with"),
    ({"override_reason": "o"}, {"override_reason": "p"}, "the signed statement gives the override reason 'o', not"
     " 'p'; give the override reason it was signed with"),
    ({"time": NOW.replace(microsecond=0) + CLOCK_SKEW + dt.timedelta(seconds=1)}, {}, "the signed statement is dated"
     f" 2026-03-10T12:05:01Z, in the future; check the signing computer's clock and {MAKE_NEW}"),
    ({"time": dt.datetime(2026, 1, 1, 7, 59, 59, tzinfo=UTC)}, {"frozen_at": None}, "the signed statement is dated"
     f" before the key that signed it was registered; {MAKE_NEW}"),
]  # fmt: skip


@pytest.mark.parametrize(("said", "facts", "why"), CASES)
def test_each_difference_is_refused_in_words(said: dict[str, Any], facts: dict[str, Any], why: str) -> None:
    err = refused(S(GOOD, **said), S(FACTS, **facts))
    assert str(err) == why + "."
    assert err.failures == [f"signature: {why}"]


def test_the_edges_of_time_are_inclusive() -> None:
    # Made in the second the bundle was frozen, or the key registered, or up to five minutes ahead.
    check_statement(S(GOOD, time=dt.datetime(2026, 3, 9, 9, 0, 0, tzinfo=UTC)), FACTS)
    check_statement(S(GOOD, time=NOW + CLOCK_SKEW), FACTS)
    check_statement(S(GOOD, time=dt.datetime(2026, 1, 1, 8, 0, 0, tzinfo=UTC)), S(FACTS, frozen_at=None))
    check_statement(S(GOOD, meeting=None), S(FACTS, meeting=None))
    check_statement(S(GOOD, bundle=None), S(FACTS, bundle=None, frozen_at=None))
