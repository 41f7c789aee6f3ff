"""Workflow events: submit, challenge, resubmit, approve, reopen, and fire for custom workflows."""

from __future__ import annotations

import datetime as dt

import click

from signoff.cli.app import DATE, Context, pass_ctx
from signoff.render import output


def _fire(c: Context, ref: str, event: str, **kwargs: object) -> None:
    from signoff.services.events import fire_event

    state = fire_event(c.db, c.who(), ref, event, **kwargs)  # type: ignore[arg-type]
    output.message(f"{ref}: {event} applied; now {state}.")


def _required_text(value: str, what: str) -> str:
    from signoff.domain.names import check_text

    return check_text(value, what)


@click.command()
@click.argument("ref")
@pass_ctx
def submit(c: Context, ref: str) -> None:
    """Put an item's evidence to the board (secretary); freezes the evidence bundle."""
    _fire(c, ref, "submit")


@click.command()
@click.argument("ref")
@click.option("--reason", required=True, help="Why the evidence is not yet convincing.")
@pass_ctx
def challenge(c: Context, ref: str, reason: str) -> None:
    """Challenge submitted evidence (member, chair or secretary recording it)."""
    _fire(c, ref, "challenge", reason=_required_text(reason, "reason"))


@click.command()
@click.argument("ref")
@click.option("--response", required=True, help="The written answer to the open challenge.")
@pass_ctx
def resubmit(c: Context, ref: str, response: str) -> None:
    """Answer the open challenge and put the item back to the board (secretary)."""
    _fire(c, ref, "resubmit", response=_required_text(response, "response"))


@click.command()
@click.argument("ref")
@pass_ctx
def amend(c: Context, ref: str) -> None:
    """Re-freeze a submitted item's evidence after adding or correcting evidence (secretary)."""
    _fire(c, ref, "amend")


@click.command()
@click.argument("ref")
@click.option("--meeting", required=True, type=DATE, help="The board meeting that decided (YYYY-MM-DD).")
@click.option("--override-reason", help="Why the board signs off although a measure misses its threshold.")
@pass_ctx
def approve(c: Context, ref: str, meeting: dt.date, override_reason: str | None) -> None:
    """Sign an item off at a board meeting (chair)."""
    if override_reason is not None:  # given but blank is a typing slip (exit 2), not a missing override
        override_reason = _required_text(override_reason, "override reason")
    _fire(c, ref, "approve", meeting=meeting, override_reason=override_reason)


@click.command()
@click.argument("ref")
@click.option("--reason", required=True, help="What later evidence contradicts the sign-off.")
@pass_ctx
def reopen(c: Context, ref: str, reason: str) -> None:
    """Re-open a signed-off item when later inspection evidence contradicts it (chair)."""
    _fire(c, ref, "reopen", reason=_required_text(reason, "reason"))


@click.command()
@click.argument("ref")
@click.argument("event")
@click.option("--reason", help="A reason, for events that need one.")
@click.option("--response", help="A response to an open challenge.")
@click.option("--meeting", type=DATE, help="A board meeting date.")
@click.option("--override-reason", help="Why the board goes ahead although a measure misses its threshold.")
@pass_ctx
def fire(
    c: Context,
    ref: str,
    event: str,
    reason: str | None,
    response: str | None,
    meeting: dt.date | None,
    override_reason: str | None,
) -> None:
    """Fire any event of the item's workflow (for custom workflows)."""
    reason, response, override_reason = (
        _required_text(v, what) if v is not None else None
        for v, what in ((reason, "reason"), (response, "response"), (override_reason, "override reason"))
    )
    _fire(c, ref, event, reason=reason, response=response, meeting=meeting, override_reason=override_reason)
