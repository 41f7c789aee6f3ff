"""Errors every layer may raise, each carrying the CLI exit code it maps to.

The CLI converts these into one sentence on stderr and the documented exit code in one
place (``signoff.cli.app``); no other layer prints or exits.
"""

from __future__ import annotations


class SignoffError(Exception):
    """Anything else that went wrong (exit 1)."""

    exit_code = 1


class BadInput(SignoffError):
    """Bad usage or bad input data: a bad date, a bad CSV row, an empty reason (exit 2)."""

    exit_code = 2


class Refused(SignoffError):
    """A guard, a permission or the item's state refused the event (exit 3)."""

    exit_code = 3

    def __init__(self, message: str, failures: list[str] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or []
        # What the service knew when it refused, for the audit record written after rollback.
        self.audit: dict[str, object] = {}


class NotFound(SignoffError):
    """An unknown item, user, evidence key or workflow (exit 4)."""

    exit_code = 4


class Conflict(SignoffError):
    """A concurrent writer got there first, or the database stayed locked (exit 5)."""

    exit_code = 5


class TransientConflict(Conflict):
    """The database aborted the transaction to keep concurrent writers apart (a serialisation
    failure or a deadlock): the same attempt may simply be run again."""


EXIT_CODES = {
    0: "done",
    1: "anything else (the message says what)",
    2: "bad usage or bad input data",
    3: "refused by a guard, a permission, or the item's current state",
    4: "unknown item, user, evidence key or workflow",
    5: "conflict with a concurrent writer, or the database stayed locked",
}
