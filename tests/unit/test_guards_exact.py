"""The guards' exact words and the measure rules at their edges (docs/MUTATION.md: what each case pins)."""

from __future__ import annotations

import datetime as dt

import pytest

from signoff.domain import guards
from signoff.domain.model import Attempt, ChallengeFact, EvidenceFact

TODAY = dt.date(2013, 9, 30)
EARLY = "2013-09-10T09:00:00.000000+00:00"
LATE = "2013-09-12T09:00:00.000000+00:00"


def ev(key: str = "a1", recorded_at: str = EARLY, **kw: object) -> EvidenceFact:
    return EvidenceFact(key=key, dated=TODAY, recorded_at=recorded_at, added_by="sec", digest="d" * 64, **kw)  # type: ignore[arg-type]


def measure(
    value: float | None,
    threshold: float | None = 639,
    direction: str = "at-most",
    name: str | None = "A1",
    period: str | None = None,
    recorded_at: str = EARLY,
    kind: str = "measure",
) -> EvidenceFact:
    return ev(
        recorded_at=recorded_at,
        kind=kind,
        measure=name,
        value=value,
        threshold=threshold,
        direction=direction,
        period=period,
    )


def attempt(**kw: object) -> Attempt:
    base: dict[str, object] = {
        "ref": "OF-01",
        "kind": "improvement-notice",
        "state": "evidence_submitted",
        "event": "approve",
        "actor": "chair",
        "actor_roles": frozenset({"chair"}),
        "today": TODAY,
    }
    base.update(kw)
    return Attempt(**base)  # type: ignore[arg-type]


def test_at_least_is_met_exactly_at_its_threshold_and_at_most_too() -> None:
    assert guards.measure_met(measure(75, 75, "at-least"))
    assert not guards.measure_met(measure(74.9, 75, "at-least"))
    assert guards.measure_met(measure(639, 639, "at-most"))
    assert not guards.measure_met(measure(639.1, 639, "at-most"))


def test_a_measure_without_a_value_or_threshold_is_a_programming_error_not_a_pass() -> None:
    with pytest.raises(AssertionError):
        guards.measure_met(measure(None, 639))
    with pytest.raises(AssertionError):
        guards.measure_met(measure(600, None))


@pytest.mark.parametrize(
    "partial",
    [
        measure(None, 639),
        measure(700, None),
        measure(700, 639, name=None),
        measure(700, 639, kind="note"),
    ],
    ids=["no value", "no threshold", "no measure name", "not a measure"],
)
def test_a_record_missing_any_part_of_a_measure_is_not_judged(partial: EvidenceFact) -> None:
    assert guards.latest_measures((partial,)) == []
    # and it does not stop the records after it from being judged
    good = measure(600, 639, name="B2")
    assert guards.latest_measures((partial, good)) == [good]


def test_each_measure_stands_at_its_latest_period_whatever_order_the_records_come_in() -> None:
    q1 = measure(700, period="2013-Q1", recorded_at=LATE)
    q2 = measure(600, period="2013-Q2", recorded_at=EARLY)
    assert guards.latest_measures((q1, q2)) == [q2]
    assert guards.latest_measures((q2, q1)) == [q2]


def test_a_period_beats_no_period_in_either_order() -> None:
    none = measure(700, period=None, recorded_at=LATE)
    q1 = measure(600, period="2013-Q1", recorded_at=EARLY)
    assert guards.latest_measures((q1, none)) == [q1]
    assert guards.latest_measures((none, q1)) == [q1]


def test_within_a_period_the_later_record_stands_and_a_tie_goes_to_the_last_one_read() -> None:
    first = measure(700, period="2013-Q1", recorded_at=EARLY)
    later = measure(600, period="2013-Q1", recorded_at=LATE)
    assert guards.latest_measures((later, first)) == [later]
    twin = measure(650, period="2013-Q1", recorded_at=EARLY)
    assert guards.latest_measures((first, twin)) == [twin]


def test_measures_are_listed_by_name_one_each() -> None:
    b = measure(1, name="B")
    a = measure(2, name="A")
    a_later = measure(3, name="A", recorded_at=LATE)
    assert guards.latest_measures((b, a, a_later)) == [a_later, b]


def test_every_missed_measure_is_named_in_one_sentence() -> None:
    a = attempt(evidence=(measure(700, 639, name="A1"), measure(70, 75, "at-least", name="B2")))
    assert guards.GUARDS["measures_met"].check(a) == (
        "measures miss their thresholds (override with a recorded reason): "
        "A1 700 against at-most 639; B2 70 against at-least 75"
    )


OPEN = ChallengeFact(raised_at="2013-09-20T10:00:00.000000+00:00", raised_by="member", reason="weak", id=4)
OTHER = ChallengeFact(raised_at="2013-09-21T10:00:00.000000+00:00", raised_by="auditor", reason="thin", id=7)


@pytest.mark.parametrize(
    ("name", "a", "message"),
    [
        ("matrix_covered", attempt(), "the item has no evidence matrix rows: import its matrix first"),
        (
            "matrix_covered",
            attempt(matrix_keys=("a", "b", "c"), evidence=(ev("b"),)),
            "no evidence for matrix rows: a, c",
        ),
        (
            "evidence_dated",
            attempt(
                evidence=(
                    EvidenceFact("z", TODAY + dt.timedelta(days=1), EARLY, "sec", "d"),
                    ev("b"),
                    EvidenceFact("y", TODAY + dt.timedelta(days=9), EARLY, "sec", "d"),
                )
            ),
            "evidence dated in the future: y, z",
        ),
        ("reason_given", attempt(reason=""), "a reason is required"),
        ("response_given", attempt(), "there is no open challenge to answer"),
        (
            "response_given",
            attempt(open_challenges=(OPEN,), responses=((9, "x"), (4, "y"), (8, "z"))),
            "no open challenge has the id 8, 9",
        ),
        ("response_given", attempt(open_challenges=(OPEN,)), "a written response to the open challenge is required"),
        (
            "response_given",
            attempt(open_challenges=(OPEN, OTHER), responses=((4, "done"),)),
            "a written response is required to every open challenge; unanswered: 7 (by auditor)",
        ),
        (
            "response_given",
            attempt(open_challenges=(OPEN, OTHER)),
            "a written response is required to every open challenge; unanswered: 4 (by member), 7 (by auditor)",
        ),
        (
            "evidence_since_challenge",
            attempt(open_challenges=(OPEN,)),
            "no evidence has been added since the challenge was raised",
        ),
        (
            "evidence_since_challenge",
            attempt(open_challenges=(OPEN, OTHER), evidence=(ev(recorded_at="2013-09-20T12:00:00.000000+00:00"),)),
            "no evidence has been added since the latest open challenge was raised",
        ),
        ("no_open_challenge", attempt(open_challenges=(OPEN,)), "a challenge by member is still open"),
        (
            "no_open_challenge",
            attempt(open_challenges=(OPEN, OTHER)),
            "2 challenges are still open, by member (4), auditor (7)",
        ),
        ("meeting_date_valid", attempt(), "a board meeting date is required"),
        (
            "segregation_of_duties",
            attempt(
                actor="chair",
                evidence_adders=frozenset({"chair"}),
                evidence_withdrawers=frozenset({"Chair"}),
                submitters=frozenset({"CHAIR"}),
            ),
            "chair added evidence for and withdrew evidence of and submitted this item and so cannot approve it",
        ),
        (
            "segregation_of_duties",
            attempt(actor="chair", evidence_withdrawers=frozenset({"chair"})),
            "chair withdrew evidence of this item and so cannot approve it",
        ),
        ("bundle_unchanged", attempt(current_bundle="x"), "the item has no frozen submission to approve"),
        (
            "bundle_unchanged",
            attempt(submitted_bundle="x", current_bundle="y"),
            "evidence changed after submission: run 'signoff amend REF' to put the changed evidence to the board before approval",
        ),
        (
            "bundle_changed",
            attempt(submitted_bundle="x", current_bundle="x"),
            "the evidence is unchanged since it was submitted: add or correct evidence first",
        ),
        (
            "evidence_files_intact",
            attempt(damaged_files=("#3 a.pdf", "#4 b.pdf")),
            "stored evidence files are missing or altered: #3 a.pdf, #4 b.pdf",
        ),
    ],
)
def test_each_refusal_says_exactly_this(name: str, a: Attempt, message: str) -> None:
    assert guards.GUARDS[name].check(a) == message


def test_an_answer_to_every_open_challenge_one_by_one_passes_and_blank_answers_do_not_count() -> None:
    both = attempt(open_challenges=(OPEN, OTHER), responses=((4, "done"), (7, "also done")))
    assert guards.GUARDS["response_given"].check(both) is None
    blank = attempt(open_challenges=(OPEN, OTHER), responses=((4, "done"), (7, "  ")))
    assert "unanswered: 7 (by auditor)" in (guards.GUARDS["response_given"].check(blank) or "")


def test_no_submission_date_means_no_before_submission_check() -> None:
    assert guards.GUARDS["meeting_date_valid"].check(attempt(meeting=TODAY, latest_submission_at="")) is None


def test_bundle_changed_passes_when_nothing_was_submitted_yet() -> None:
    assert guards.GUARDS["bundle_changed"].check(attempt(submitted_bundle=None, current_bundle=None)) is None


def test_failures_joins_name_and_reason_and_skips_passing_guards() -> None:
    a = attempt(reason=" ", matrix_keys=("a",), evidence=(ev("a"),))
    assert guards.failures(("matrix_covered", "reason_given"), a) == ["reason_given: a reason is required"]
    assert guards.failures([], a) == []


def test_every_guard_has_its_name_and_a_summary() -> None:
    for name, g in guards.GUARDS.items():
        assert g.name == name
        assert g.summary and g.summary[0].islower() and not g.summary.endswith(".")
