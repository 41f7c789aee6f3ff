"""One transitions Machine per workflow, shared by every item of that kind.

Items are SQLModel rows, and pydantic refuses the attributes transitions sets on a model, so the
machine runs on a small token carrying the stored state. Nothing is written from a callback:
the service persists the new state only after the machine has moved the token, inside the same
unit of work as the audit record, so an exception anywhere leaves neither behind.
"""

from __future__ import annotations

from typing import Any

from signoff.domain import guards as guard_rules
from signoff.domain.model import Attempt
from signoff.engine.workflow import Workflow
from signoff.errors import Refused


class Token:
    """What the machine moves: the item's state, the attempt, and the guards the event names."""

    __slots__ = ("attempt", "evaluated", "failed", "guards", "state")

    def __init__(self, attempt: Attempt, guards: tuple[str, ...], evaluated: list[str] | None = None) -> None:
        self.state = attempt.state
        self.attempt = attempt
        self.guards = guards
        # The guards' failures when the caller has just evaluated them on this same attempt.
        self.evaluated = evaluated
        self.failed: list[str] = []


def _guards_hold(event_data: Any) -> bool:
    token: Token = event_data.model
    if token.evaluated is not None:
        token.failed = list(token.evaluated)
    else:
        token.failed = guard_rules.failures(token.guards, token.attempt)
    return not token.failed


_MACHINES: dict[tuple[str, str], Any] = {}


def machine_for(workflow: Workflow) -> Any:
    """The workflow's one shared machine, built on first use (transitions is imported lazily)."""
    cache_key = (workflow.name, workflow.digest)
    if cache_key in _MACHINES:
        return _MACHINES[cache_key]
    from transitions import Machine

    transitions = [
        {"trigger": ev.name, "source": list(ev.source), "dest": ev.dest, "conditions": [_guards_hold]}
        for ev in workflow.events.values()
    ]
    machine = Machine(
        model=None,
        states=list(workflow.states),
        transitions=transitions,
        initial=workflow.initial,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    _MACHINES[cache_key] = machine
    return machine


def check(workflow: Workflow, attempt: Attempt) -> list[str]:
    """Every reason this attempt is refused: state, role, then each failed guard."""
    event = workflow.events.get(attempt.event)
    if event is None:
        return [f"event: {attempt.event!r} is not an event of {workflow.name} (events: {', '.join(workflow.events)})"]
    out = []
    if attempt.state not in event.source:
        out.append(f"state: {attempt.event} is not allowed from {attempt.state} (only from {', '.join(event.source)})")
    if not (attempt.actor_roles & event.roles):
        out.append(f"permission: {attempt.event} needs the role {' or '.join(sorted(event.roles))}")
    out.extend(guard_rules.failures(event.guards, attempt))
    return out


def fire(workflow: Workflow, attempt: Attempt) -> str:
    """Fire the event by the workflow's shared machine; return the new state or raise Refused.

    Every guard is evaluated once, by ``check``. The new state is the destination the machine's
    own transition table gives for the event from the stored state: the machine stays the
    definition, without building an event and running its callbacks on every transition (its
    condition would only read ``check``'s verdict again)."""
    failures = check(workflow, attempt)
    if failures:
        raise Refused(f"{attempt.event} {attempt.ref} refused: " + "; ".join(failures), failures)
    # .get: the table is a defaultdict, and a lookup must not add a state to it.
    moves = machine_for(workflow).events[attempt.event].transitions.get(attempt.state)
    if not moves:  # check() accepted a state the machine has no transition from: the two disagree
        # pragma: no mutate start (unreachable: check() has just judged the same attempt's state)
        why = f"state: {attempt.event} is not allowed from {attempt.state}"
        raise Refused(f"{attempt.event} {attempt.ref} refused: {why}", [why])
        # pragma: no mutate end
    dest: str = moves[0].dest
    return dest
