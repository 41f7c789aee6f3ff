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
@click.option("--response", help="The written answer to every open challenge.")
@click.option(
    "--response-to",
    "response_to",
    multiple=True,
    metavar="ID=TEXT",
    help="The answer to one challenge (its id in 'item show'); repeat for each.",
)
@pass_ctx
def resubmit(c: Context, ref: str, response: str | None, response_to: tuple[str, ...]) -> None:
    """Answer every open challenge and put the item back to the board (secretary)."""
    from signoff.errors import BadInput

    answers: dict[int, str] = {}
    for given in response_to:
        number, sep, text = given.partition("=")
        if not sep or not number.strip().isdigit():
            raise BadInput(f"--response-to {given!r} is not ID=TEXT: give the challenge's id, '=', then the answer.")
        answers[int(number)] = _required_text(text, f"response to challenge {number.strip()}")
    if response is None and not answers:
        raise BadInput("answer the challenges: give --response TEXT, or --response-to ID=TEXT for each challenge.")
    _fire(
        c,
        ref,
        "resubmit",
        response=_required_text(response, "response") if response is not None else None,
        responses=answers,
    )


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
    _fire(c, ref, "approve", meeting=meeting, override_reason=override_reason)


@click.command()
@click.argument("ref")
@click.option("--reason", required=True, help="What later evidence contradicts the sign-off.")
@click.option("--meeting", required=True, type=DATE, help="The board meeting that decided to re-open (YYYY-MM-DD).")
@pass_ctx
def reopen(c: Context, ref: str, reason: str, meeting: dt.date) -> None:
    """Re-open a signed-off item when later inspection evidence contradicts it (chair)."""
    _fire(c, ref, "reopen", reason=_required_text(reason, "reason"), meeting=meeting)


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
    _fire(c, ref, event, reason=reason, response=response, meeting=meeting, override_reason=override_reason)
