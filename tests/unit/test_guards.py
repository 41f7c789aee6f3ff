"""Every named guard, passing and failing, and the role and state checks around them."""

from __future__ import annotations

import datetime as dt

import pytest

from signoff.domain import guards
from signoff.domain.model import Attempt, ChallengeFact, EvidenceFact
from signoff.engine import machine
from signoff.engine import workflow as workflows

# Guards read only the Attempt's dates and the local zone: each runs under two zones (conftest.BOARD_ZONES).
pytestmark = pytest.mark.usefixtures("board_tz")

TODAY = dt.date(2013, 9, 30)
RAISED = "2013-09-20T10:00:00.000000+00:00"


def ev(
    key: str, dated: dt.date = TODAY, recorded_at: str = "2013-09-10T09:00:00.000000+00:00", **kw: object
) -> EvidenceFact:
    return EvidenceFact(
        key=key, dated=dated, recorded_at=recorded_at, added_by=str(kw.pop("added_by", "sec")), digest="d" * 64, **kw
    )  # type: ignore[arg-type]


def measure(value: float, threshold: float, direction: str = "at-most") -> EvidenceFact:
    return ev("a1", kind="measure", measure="A1", value=value, threshold=threshold, direction=direction)


def attempt(**kw: object) -> Attempt:
    base: dict[str, object] = {
        "ref": "OF-01",
        "kind": "ofsted-recommendation",
        "state": "proposed",
        "event": "submit",
        "actor": "sec",
        "actor_roles": frozenset({"secretary"}),
        "today": TODAY,
    }
    base.update(kw)
    return Attempt(**base)  # type: ignore[arg-type]


def why(name: str, a: Attempt) -> str | None:
    return guards.GUARDS[name].check(a)


OPEN = ChallengeFact(raised_at=RAISED, raised_by="member", reason="weak")

# (guard, attempt, expected fragment of the failure or None when it must hold)
CASES: list[tuple[str, Attempt, str | None]] = [
    ("matrix_covered", attempt(matrix_keys=("a", "b"), evidence=(ev("a"), ev("b"))), None),
    ("matrix_covered", attempt(matrix_keys=("a", "b"), evidence=(ev("a"),)), "no evidence for matrix rows: b"),
    ("matrix_covered", attempt(matrix_keys=(), evidence=(ev("a"),)), "no evidence matrix rows"),
    ("matrix_covered", attempt(matrix_keys=("a", "b"), evidence=()), "a, b"),
    ("evidence_dated", attempt(evidence=(ev("a", dated=TODAY), ev("b", dated=TODAY - dt.timedelta(days=400)))), None),
    ("evidence_dated", attempt(evidence=(ev("a"), ev("b", dated=TODAY + dt.timedelta(days=1)))), "in the future: b"),
    ("reason_given", attempt(reason="evidence is thin"), None),
    ("reason_given", attempt(reason=None), "a reason is required"),
    ("reason_given", attempt(reason="   "), "a reason is required"),
    ("response_given", attempt(open_challenges=(OPEN,), response="added the audit"), None),
    ("response_given", attempt(open_challenges=(OPEN,), response=" "), "written response"),
    ("response_given", attempt(open_challenges=(), response="x"), "no open challenge"),
    ("evidence_since_challenge", attempt(open_challenges=()), None),
    (
        "evidence_since_challenge",
        attempt(open_challenges=(OPEN,), evidence=(ev("a", recorded_at="2013-09-21T00:00:00.000000+00:00"),)),
        None,
    ),
    (
        "evidence_since_challenge",
        attempt(open_challenges=(OPEN,), evidence=(ev("a", recorded_at="2013-09-19T00:00:00.000000+00:00"),)),
        "no evidence has been added since",
    ),
    ("evidence_since_challenge", attempt(open_challenges=(OPEN,), evidence=(ev("a", recorded_at=RAISED),)), "since"),
    ("no_open_challenge", attempt(open_challenges=()), None),
    ("no_open_challenge", attempt(open_challenges=(OPEN,)), "a challenge by member is still open"),
    ("meeting_date_valid", attempt(meeting=TODAY, latest_submission_at="2013-09-30T08:00:00.000000+00:00"), None),
    ("meeting_date_valid", attempt(meeting=TODAY - dt.timedelta(days=3), latest_submission_at=None), None),
    ("meeting_date_valid", attempt(meeting=None), "a board meeting date is required"),
    ("meeting_date_valid", attempt(meeting=TODAY + dt.timedelta(days=1)), "2013-10-01 is in the future"),
    (
        "meeting_date_valid",
        attempt(meeting=dt.date(2013, 9, 1), latest_submission_at="2013-09-02T12:00:00.000000+00:00"),
        "the meeting date 2013-09-01 is before the latest submission on 2013-09-0",  # the 2nd or 3rd, by zone
    ),
    ("segregation_of_duties", attempt(actor="chair", evidence_adders=frozenset({"sec"})), None),
    ("segregation_of_duties", attempt(actor="both", evidence_adders=frozenset({"sec", "both"})), "both added evidence"),
    ("segregation_of_duties", attempt(actor="both", submitters=frozenset({"both"})), "both submitted this item"),
    ("segregation_of_duties", attempt(actor="Zo\u00eb", evidence_adders=frozenset({"ZOE\u0308"})), "added evidence"),
    ("bundle_unchanged", attempt(submitted_bundle="x" * 64, current_bundle="x" * 64), None),
    ("bundle_unchanged", attempt(submitted_bundle=None, current_bundle="x" * 64), "no frozen submission"),
    (
        "bundle_unchanged",
        attempt(submitted_bundle="x" * 64, current_bundle="y" * 64),
        "evidence changed after submission",
    ),
    ("evidence_files_intact", attempt(), None),
    ("evidence_files_intact", attempt(damaged_files=("#3 audit.pdf",)), "missing or altered: #3 audit.pdf"),
    ("bundle_changed", attempt(submitted_bundle="x" * 64, current_bundle="y" * 64), None),
    ("bundle_changed", attempt(submitted_bundle="x" * 64, current_bundle="x" * 64), "unchanged since it was submitted"),
    ("measures_met", attempt(evidence=(measure(600, 639),)), None),
    ("measures_met", attempt(evidence=(measure(639, 639),)), None),
    ("measures_met", attempt(evidence=(measure(80, 75, "at-least"),)), None),
    ("measures_met", attempt(evidence=(measure(75, 75, "at-least"),)), None),
    ("measures_met", attempt(evidence=(measure(74.5, 75, "at-least"),)), "A1 74.5 against at-least 75"),
    ("measures_met", attempt(evidence=(measure(639.5, 639),)), "A1 639.5 against at-most 639"),
    ("measures_met", attempt(evidence=(ev("a"),)), None),
    ("measures_met", attempt(evidence=(measure(640, 639),)), "A1 640 against at-most 639"),
    ("measures_met", attempt(evidence=(measure(70, 75, "at-least"),)), "A1 70 against at-least 75"),
    ("measures_met", attempt(evidence=(measure(640, 639),), override_reason="   "), "override with a recorded reason"),
    ("measures_met", attempt(evidence=(measure(640, 639),), override_reason="trend improving"), None),
    ("meeting_on_calendar", attempt(meeting=TODAY, meetings_held=(TODAY - dt.timedelta(days=28), TODAY)), None),
    ("meeting_on_calendar", attempt(meeting=None, meetings_held=(TODAY,)), None),
    (
        "meeting_on_calendar",
        attempt(
            meeting=TODAY - dt.timedelta(days=1),
            meetings_held=(TODAY - dt.timedelta(days=28), TODAY, TODAY + dt.timedelta(days=28)),
        ),
        "no board meeting on 2013-09-29 is on the calendar: the nearest are 2013-09-02 and 2013-09-30",
    ),
    ("meeting_on_calendar", attempt(meeting=TODAY), "the calendar has no meetings: add one with 'signoff meeting add"),
    (
        "meeting_on_calendar",
        attempt(
            meeting=TODAY, meetings_held=(TODAY + dt.timedelta(days=1),), meetings_cancelled=((TODAY, "2013-10-01"),)
        ),
        "the meeting on 2013-09-30 was moved to 2013-10-01: the nearest is 2013-10-01",
    ),
    (
        "meeting_on_calendar",
        attempt(meeting=TODAY, meetings_cancelled=((TODAY, None),)),
        "the meeting on 2013-09-30 was cancelled",
    ),
]


@pytest.mark.parametrize(("name", "a", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_guard(name: str, a: Attempt, expected: str | None) -> None:
    result = why(name, a)
    if expected is None:
        assert result is None
    else:
        assert result is not None and expected in result


def test_every_named_guard_is_tested_both_ways() -> None:
    passing = {c[0] for c in CASES if c[2] is None}
    failing = {c[0] for c in CASES if c[2] is not None}
    assert passing == set(guards.GUARDS) == failing


def test_failures_lists_every_failed_guard_in_order_with_its_name() -> None:
    a = attempt(matrix_keys=("a",), evidence=(ev("b", dated=TODAY + dt.timedelta(days=2)),), reason="")
    out = guards.failures(["matrix_covered", "reason_given", "evidence_dated", "no_open_challenge"], a)
    assert [f.split(":")[0] for f in out] == ["matrix_covered", "reason_given", "evidence_dated"]


def _approve(**kw: object) -> Attempt:
    base: dict[str, object] = {"actor": "chair", "actor_roles": frozenset({"chair"})}
    base.update(kw)
    return attempt(event="approve", state="evidence_submitted", **base)


def test_wrong_role_is_refused_naming_the_role() -> None:
    wf = workflows.get("ofsted-recommendation")
    out = machine.check(
        wf,
        attempt(event="submit", actor="m", actor_roles=frozenset({"member"}), matrix_keys=("a",), evidence=(ev("a"),)),
    )
    assert out == ["permission: submit needs the role secretary"]
    out = machine.check(wf, _approve(actor_roles=frozenset({"secretary", "member"})))
    assert any(f.startswith("permission:") and "chair" in f for f in out)


@pytest.mark.parametrize(
    ("event", "roles", "allowed"),
    [
        ("submit", {"secretary"}, True),
        ("submit", {"chair"}, False),
        ("challenge", {"member"}, True),
        ("challenge", {"chair"}, True),
        ("challenge", {"secretary"}, True),
        ("challenge", {"auditor"}, False),
        ("resubmit", {"secretary"}, True),
        ("resubmit", {"member"}, False),
        ("approve", {"chair"}, True),
        ("approve", {"secretary", "member", "auditor"}, False),
        ("reopen", {"chair"}, True),
        ("reopen", {"member"}, False),
    ],
)
def test_role_permissions_of_the_shipped_workflows(event: str, roles: set[str], allowed: bool) -> None:
    for kind in ("ofsted-recommendation", "improvement-notice"):
        wf = workflows.get(kind)
        out = machine.check(wf, attempt(event=event, actor_roles=frozenset(roles), state=wf.events[event].source[0]))
        assert any(f.startswith("permission:") for f in out) is not allowed


def test_a_refusal_lists_every_failed_guard_not_just_the_first() -> None:
    wf = workflows.get("improvement-notice")
    a = attempt(
        kind="improvement-notice",
        event="approve",
        state="proposed",
        actor="sec",
        actor_roles=frozenset({"secretary"}),
        open_challenges=(OPEN,),
        meeting=TODAY + dt.timedelta(days=7),
        meetings_held=(TODAY + dt.timedelta(days=7),),
        evidence_adders=frozenset({"sec"}),
        submitted_bundle="x" * 64,
        current_bundle="y" * 64,
        evidence=(measure(700, 639),),
    )
    out = machine.check(wf, a)
    heads = [f.split(":")[0] for f in out]
    assert heads == [
        "state",
        "permission",
        "matrix_covered",
        "no_open_challenge",
        "meeting_date_valid",
        "segregation_of_duties",
        "bundle_unchanged",
        "measures_met",
    ]
    with pytest.raises(machine.Refused) as info:
        machine.fire(wf, a)
    assert info.value.failures == out
    for h in heads:
        assert h in str(info.value)


def test_an_unknown_event_is_refused_naming_the_events() -> None:
    wf = workflows.get("ofsted-recommendation")
    out = machine.check(wf, attempt(event="rubber-stamp"))
    assert len(out) == 1 and "'rubber-stamp' is not an event" in out[0] and "approve" in out[0]


@pytest.mark.parametrize("zone", ["Pacific/Honolulu", "Pacific/Kiritimati", "Europe/London"])
def test_meeting_date_is_judged_on_the_boards_calendar_in_any_time_zone(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submission stored in UTC is compared with the meeting on the local calendar: in Honolulu an
    evening submission is stored as tomorrow in UTC, and today's meeting must still be valid."""
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        submitted = dt.datetime(2026, 11, 29, 19, 30).astimezone()  # local evening of the 29th
        stored = submitted.astimezone(dt.UTC).isoformat(timespec="microseconds")
        ok = attempt(meeting=dt.date(2026, 11, 29), today=dt.date(2026, 11, 29), latest_submission_at=stored)
        assert guards.GUARDS["meeting_date_valid"].check(ok) is None
        early = attempt(meeting=dt.date(2026, 11, 28), today=dt.date(2026, 11, 29), latest_submission_at=stored)
        assert "before the latest submission on 2026-11-29" in (guards.GUARDS["meeting_date_valid"].check(early) or "")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_meeting_on_the_local_day_of_the_submission_is_valid_and_the_day_before_is_not() -> None:
    """Both instants either side of local midnight, in each zone: a submission at the first instant of
    the meeting's day passes, one at the last instant of the day before is before the meeting too;
    a submission at the first instant of the next day is after the meeting."""
    meeting = dt.date(2026, 11, 29)

    def local(day: dt.date, *hms: int) -> str:
        return dt.datetime(day.year, day.month, day.day, *hms).astimezone(dt.UTC).isoformat(timespec="microseconds")

    def check(submitted: str) -> str | None:
        a = attempt(meeting=meeting, today=meeting + dt.timedelta(days=1), latest_submission_at=submitted)
        return guards.GUARDS["meeting_date_valid"].check(a)

    assert check(local(meeting, 0, 0, 0)) is None
    assert check(local(meeting, 23, 59, 59, 999_999)) is None
    assert check(local(meeting - dt.timedelta(days=1), 23, 59, 59)) is None
    assert check(local(meeting + dt.timedelta(days=1), 0, 0, 0)) == (
        "the meeting date 2026-11-29 is before the latest submission on 2026-11-30"
    )
