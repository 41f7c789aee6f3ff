"""The token the shared machine moves: a verdict already reached is trusted, and a fresh token has no failures."""

from __future__ import annotations

import datetime as dt

from signoff.domain.model import Attempt, EvidenceFact
from signoff.engine import machine
from signoff.engine import workflow as workflows

TODAY = dt.date(2013, 9, 30)
GUARDS = ("matrix_covered", "evidence_dated")


def submit(evidence: bool) -> Attempt:
    return Attempt(
        ref="OF-0001",
        kind="ofsted-recommendation",
        state="proposed",
        event="submit",
        actor="sec",
        actor_roles=frozenset({"secretary"}),
        today=TODAY,
        matrix_keys=("a",),
        evidence=(EvidenceFact("a", TODAY, "2013-09-25T09:00:00.000000+00:00", "sec", "d" * 64),) if evidence else (),
    )


def test_a_fresh_token_carries_the_stored_state_and_no_failures() -> None:
    token = machine.Token(submit(True), GUARDS)
    assert (token.state, token.guards, token.evaluated, token.failed) == ("proposed", GUARDS, None, [])


def test_failures_already_found_refuse_the_move_without_judging_again() -> None:
    shared = machine.machine_for(workflows.get("ofsted-recommendation"))
    token = machine.Token(submit(True), GUARDS, evaluated=["matrix_covered: found earlier"])
    assert shared.events["submit"].trigger(token) is False
    assert (token.state, token.failed) == ("proposed", ["matrix_covered: found earlier"])


def test_no_failures_already_found_let_the_move_through_without_judging_again() -> None:
    shared = machine.machine_for(workflows.get("ofsted-recommendation"))
    token = machine.Token(submit(False), GUARDS, evaluated=[])
    assert shared.events["submit"].trigger(token) is True
    assert (token.state, token.failed) == ("evidence_submitted", [])
