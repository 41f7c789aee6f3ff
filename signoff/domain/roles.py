"""The board's roles and what each may do outside the workflow files."""

from __future__ import annotations

SECRETARY = "secretary"
CHAIR = "chair"
MEMBER = "member"
AUDITOR = "auditor"

ROLES: tuple[str, ...] = (SECRETARY, CHAIR, MEMBER, AUDITOR)

# Register work that is not a workflow event; the roles allowed per event live in workflows/.
REGISTER_ACTIONS: dict[str, frozenset[str]] = {
    "user.add": frozenset({SECRETARY}),
    "item.add": frozenset({SECRETARY}),
    "item.reschedule": frozenset({SECRETARY}),
    "matrix.import": frozenset({SECRETARY}),
    "evidence.add": frozenset({SECRETARY}),
    "meeting.add": frozenset({SECRETARY}),
    "meeting.cancel": frozenset({SECRETARY}),
    "meeting.move": frozenset({SECRETARY}),
    "evidence.withdraw": frozenset({SECRETARY}),
    "item.edit": frozenset({SECRETARY}),
    "matrix.add": frozenset({SECRETARY}),
    "matrix.reschedule": frozenset({SECRETARY}),
    "matrix.remove": frozenset({SECRETARY}),
    "user.role": frozenset({SECRETARY}),
    "user.deactivate": frozenset({SECRETARY}),
    "user.key.add": frozenset({SECRETARY}),
    "user.key.revoke": frozenset({SECRETARY}),
    "decision.statement": frozenset({SECRETARY}),
}
