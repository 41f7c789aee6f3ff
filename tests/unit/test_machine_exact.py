"""The shared machine's settings and the exact refusals of check and fire (docs/MUTATION.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from transitions import MachineError

from signoff.domain import calendar
from signoff.domain.model import Attempt
from signoff.engine import machine
from signoff.engine import workflow as workflows
from signoff.errors import Refused

TODAY = dt.date(2013, 9, 30)


def attempt(**kw: object) -> Attempt:
    base: dict[str, object] = {
        "ref": "OF-01",
        "kind": "ofsted-recommendation",
        "state": "proposed",
        "event": "approve",
        "actor": "m",
        "actor_roles": frozenset({"member"}),
        "today": TODAY,
    }
    base.update(kw)
    return Attempt(**base)  # type: ignore[arg-type]


def test_the_machine_has_no_shortcut_events_and_refuses_an_event_from_the_wrong_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(machine, "_MACHINES", {})  # build it here, not take the one cached by another test
    wf = workflows.get("ofsted-recommendation")
    m = machine.machine_for(wf)
    assert machine.machine_for(wf) is m
    assert set(m.events) == set(wf.events)  # no to_<state> events that would skip the guards
    assert m.initial == wf.initial
    token = machine.Token(attempt(state=wf.final[0]), ())
    with pytest.raises(MachineError):
        m.events["submit"].trigger(token)


def test_check_names_every_event_source_and_role_in_full() -> None:
    wf = workflows.get("ofsted-recommendation")
    (unknown,) = machine.check(wf, attempt(event="stamp"))
    assert unknown == f"event: 'stamp' is not an event of {wf.name} (events: {', '.join(wf.events)})"
    event = wf.events["challenge"]
    assert len(event.source) > 1 and len(event.roles) > 1
    out = machine.check(wf, attempt(event="challenge", state="nowhere", actor_roles=frozenset({"auditor"})))
    assert out[0] == f"state: challenge is not allowed from nowhere (only from {', '.join(event.source)})"
    assert out[1] == f"permission: challenge needs the role {' or '.join(sorted(event.roles))}"


def test_fire_says_every_failure_joined_and_keeps_the_list() -> None:
    wf = workflows.get("ofsted-recommendation")
    a = attempt(state="nowhere")
    failures = machine.check(wf, a)
    with pytest.raises(Refused) as info:
        machine.fire(wf, a)
    assert str(info.value) == "approve OF-01 refused: " + "; ".join(failures)
    assert len(failures) >= 2


def test_the_nearest_meetings_leave_out_the_day_itself() -> None:
    day = dt.date(2026, 12, 14)
    week = dt.timedelta(days=7)
    assert calendar.nearest([day - week, day, day + week], day) == [day - week, day + week]
    assert calendar.nearest_text([], day) == "the calendar has no meetings: add one with 'signoff meeting add DATE'"
