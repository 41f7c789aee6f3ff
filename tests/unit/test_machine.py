"""One shared transitions Machine per workflow; the stored state is the only state that matters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import transitions

from signoff.domain.model import Attempt, ChallengeFact, EvidenceFact
from signoff.engine import machine
from signoff.engine import workflow as workflows
from signoff.errors import Refused

TODAY = dt.date(2013, 9, 30)
EARLY = "2013-09-01T09:00:00.000000+00:00"
LATE = "2013-09-25T09:00:00.000000+00:00"


def good(event: str, state: str, n: int = 0) -> Attempt:
    """An attempt every guard of ``event`` accepts."""
    roles = {"submit": "secretary", "resubmit": "secretary", "challenge": "member"}.get(event, "chair")
    return Attempt(
        ref=f"OF-{n:04d}",
        kind="ofsted-recommendation",
        state=state,
        event=event,
        actor=f"{roles}-user",
        actor_roles=frozenset({roles}),
        today=TODAY,
        matrix_keys=("a",),
        evidence=(EvidenceFact("a", TODAY, LATE, "sec", "d" * 64),),
        evidence_adders=frozenset({"sec"}),
        open_challenges=(ChallengeFact(EARLY, "member", "weak"),) if state == "challenged" else (),
        latest_submission_at=EARLY,
        submitted_bundle="b" * 64,
        current_bundle="b" * 64,
        reason="because",
        response="answered",
        meeting=TODAY,
        meetings_held=(TODAY,),
    )


@pytest.fixture
def fresh_workflow(tmp_path: Path) -> workflows.Workflow:
    """The shipped Ofsted workflow under a digest no other test has used: its machine is built here."""
    shipped = workflows.get("ofsted-recommendation")
    data = Path(shipped.path).read_bytes() + f"\n# {tmp_path}\n".encode()
    return workflows.parse(tmp_path / "ofsted.toml", data)


def test_machine_for_returns_the_same_machine_every_time() -> None:
    wf = workflows.get("ofsted-recommendation")
    assert machine.machine_for(wf) is machine.machine_for(wf)
    other = workflows.get("improvement-notice")
    assert machine.machine_for(other) is not machine.machine_for(wf)


def test_a_thousand_attempts_build_one_machine_and_attach_no_models(
    fresh_workflow: workflows.Workflow, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    real_init = transitions.Machine.__init__

    def counting_init(self: object, *args: object, **kwargs: object) -> None:
        built.append(self)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(transitions.Machine, "__init__", counting_init)
    before = len(machine._MACHINES)
    cycle = [("submit", "proposed"), ("challenge", "evidence_submitted"), ("resubmit", "challenged")]
    cycle += [("approve", "evidence_submitted"), ("reopen", "signed_off")]
    for n in range(1000):
        event, state = cycle[n % len(cycle)]
        machine.fire(fresh_workflow, good(event, state, n))
    assert len(built) == 1
    assert len(machine._MACHINES) == before + 1
    shared = machine.machine_for(fresh_workflow)
    assert shared is built[0]
    # No item token was registered on the machine: memory stays flat however many items there are.
    assert len(shared.models) == 0


@pytest.mark.parametrize(
    ("event", "state", "dest"),
    [
        ("submit", "proposed", "evidence_submitted"),
        ("challenge", "evidence_submitted", "challenged"),
        ("resubmit", "challenged", "evidence_submitted"),
        ("approve", "evidence_submitted", "signed_off"),
        ("reopen", "signed_off", "challenged"),
    ],
)
def test_firing_starts_from_the_stored_state_not_the_initial_one(event: str, state: str, dest: str) -> None:
    wf = workflows.get("ofsted-recommendation")
    # Interleave items in other states so any state left on the shared machine would show.
    machine.fire(wf, good("submit", "proposed", 1))
    assert machine.fire(wf, good(event, state, 2)) == dest
    machine.fire(wf, good("reopen", "signed_off", 3))
    assert machine.fire(wf, good(event, state, 4)) == dest


def test_an_event_from_the_wrong_stored_state_is_refused_not_reset() -> None:
    wf = workflows.get("ofsted-recommendation")
    attempt = good("resubmit", "signed_off")
    with pytest.raises(Refused) as info:
        machine.fire(wf, attempt)
    assert info.value.failures[0].startswith("state: resubmit is not allowed from signed_off")
    assert attempt.state == "signed_off"


def test_the_shared_machine_itself_enforces_the_guards() -> None:
    """Defence in depth: the transitions condition evaluates the same named guards as check()."""
    wf = workflows.get("ofsted-recommendation")
    shared = machine.machine_for(wf)
    bad = good("submit", "proposed")
    from dataclasses import replace

    bad = replace(bad, evidence=())
    token = machine.Token(bad, ("matrix_covered", "evidence_dated"))
    assert shared.events["submit"].trigger(token) is False
    assert token.state == "proposed"
    assert token.failed == ["matrix_covered: no evidence for matrix rows: a"]
    ok = machine.Token(good("submit", "proposed"), ("matrix_covered", "evidence_dated"))
    assert shared.events["submit"].trigger(ok) is True
    assert ok.state == "evidence_submitted"


def test_fire_raises_refused_with_every_failure() -> None:
    wf = workflows.get("ofsted-recommendation")
    from dataclasses import replace

    attempt = replace(good("approve", "evidence_submitted"), meeting=None, actor="sec", current_bundle="c" * 64)
    with pytest.raises(Refused) as info:
        machine.fire(wf, attempt)
    assert [f.split(":")[0] for f in info.value.failures] == [
        "meeting_date_valid",
        "segregation_of_duties",
        "bundle_unchanged",
    ]
    assert info.value.exit_code == 3
