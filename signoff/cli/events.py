"""Workflow events: submit, challenge, resubmit, approve, reopen, and fire for custom workflows."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path

import click

from signoff.cli.app import DATE, OUTPUT, Context, pass_ctx
from signoff.errors import BadInput
from signoff.render import output


def _fire(
    c: Context,
    ref: str,
    event: str,
    key: Path | None = None,
    signature: Path | None = None,
    statement: Path | None = None,
    **kwargs: object,
) -> None:
    who = c.who()
    if signature is not None:
        from signoff.domain.signed import SignedStatement
        from signoff.services.events import fire_event

        statement = statement or signature.with_name(signature.name.removesuffix(".sig"))
        if statement == signature:
            raise BadInput(f"{signature} does not end in .sig: name the statement it signs with --statement FILE.")
        signed = SignedStatement(
            _read(statement, "statement"), _read(signature, "signature").decode("utf-8", "replace")
        )
        state = fire_event(c.db, who, ref, event, signed=signed, **kwargs)  # type: ignore[arg-type]
    elif key is not None:
        from signoff.services.decisions import fire_signed
        from signoff.services.keys import signer_from_file

        prompt = None
        if sys.stdin.isatty():

            def prompt() -> str:
                return str(click.prompt(f"Passphrase for {key}", hide_input=True, err=True))

        state = fire_signed(c.db, who, ref, event, signer_from_file(key, prompt), **kwargs)
    else:
        from signoff.services.events import fire_event

        state = fire_event(c.db, who, ref, event, **kwargs)  # type: ignore[arg-type]
    output.message(f"{ref}: {event} applied; now {state}.")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"the {what} file {path} does not exist: give the file the chair signed and returned.") from None


def signing(f: Callable[..., None]) -> Callable[..., None]:
    """--key, --signature and --statement: how a signed decision is signed, online or offline."""
    f = click.option(
        "--statement",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The statement the signature signs (default: the --signature file without .sig).",
    )(f)
    f = click.option(
        "--signature",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Record a decision signed offline: the FILE.sig made by 'ssh-keygen -Y sign'.",
    )(f)
    return click.option(
        "--key",
        envvar="SIGNOFF_KEY",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Sign with this private key file, or its .pub for a key in ssh-agent (or SIGNOFF_KEY).",
    )(f)


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
@signing
@pass_ctx
def approve(
    c: Context,
    ref: str,
    meeting: dt.date,
    override_reason: str | None,
    key: Path | None,
    signature: Path | None,
    statement: Path | None,
) -> None:
    """Sign an item off at a board meeting (chair, with their key; or a secretary recording a signature)."""
    if override_reason is not None:  # given but blank is a typing slip (exit 2), not a missing override
        override_reason = _required_text(override_reason, "override reason")
    _fire(c, ref, "approve", key, signature, statement, meeting=meeting, override_reason=override_reason)


@click.command()
@click.argument("ref")
@click.option("--reason", help="What later evidence contradicts the sign-off (offline: as in the statement).")
@click.option(
    "--meeting", type=DATE, help="The board meeting that decided to re-open (YYYY-MM-DD; offline: as in the statement)."
)
@signing
@pass_ctx
def reopen(
    c: Context,
    ref: str,
    reason: str | None,
    meeting: dt.date | None,
    key: Path | None,
    signature: Path | None,
    statement: Path | None,
) -> None:
    """Re-open a signed-off item when later inspection evidence contradicts it (chair, signed)."""
    if reason is None and signature is None:
        raise BadInput("give --reason: what later evidence contradicts the sign-off.")
    if meeting is None and signature is None:
        raise BadInput("give --meeting: the board meeting that decided to re-open (YYYY-MM-DD).")
    _fire(
        c,
        ref,
        "reopen",
        key,
        signature,
        statement,
        reason=None if reason is None else _required_text(reason, "reason"),
        meeting=meeting,
    )


@click.command()
@click.argument("ref")
@click.argument("event")
@click.option("--reason", help="A reason, for events that need one.")
@click.option("--response", help="A response to an open challenge.")
@click.option("--meeting", type=DATE, help="A board meeting date.")
@click.option("--override-reason", help="Why the board goes ahead although a measure misses its threshold.")
@signing
@pass_ctx
def fire(
    c: Context,
    ref: str,
    event: str,
    reason: str | None,
    response: str | None,
    meeting: dt.date | None,
    override_reason: str | None,
    key: Path | None,
    signature: Path | None,
    statement: Path | None,
) -> None:
    """Fire any event of the item's workflow (for custom workflows); signed with --key or --signature."""
    reason, response, override_reason = (
        _required_text(v, what) if v is not None else None
        for v, what in ((reason, "reason"), (response, "response"), (override_reason, "override reason"))
    )
    _fire(
        c,
        ref,
        event,
        key,
        signature,
        statement,
        reason=reason,
        response=response,
        meeting=meeting,
        override_reason=override_reason,
    )


@click.group()
def decision() -> None:
    """Decision statements: what a chair signs with plain OpenSSH when signing offline."""


@decision.command("statement")
@click.argument("ref")
@click.argument("event")
@click.option("--meeting", type=DATE, help="The board meeting that decides (YYYY-MM-DD); approvals need it.")
@click.option("--reason", help="The reason, for events that need one (a re-opening).")
@click.option("--override-reason", help="Why the board signs off although a measure misses its threshold.")
@click.option("--signer", metavar="NAME", help="Who signs (default: the one user who may, with a registered key).")
@click.option("-o", "--output", "out", required=True, type=OUTPUT, help="The statement file to write.")
@pass_ctx
def decision_statement(
    c: Context,
    ref: str,
    event: str,
    meeting: dt.date | None,
    reason: str | None,
    override_reason: str | None,
    signer: str | None,
    out: Path,
) -> None:
    """Write the statement a chair signs offline with ssh-keygen (secretary)."""
    from signoff.services.decisions import write_statement

    statement = write_statement(
        c.db, c.who(), ref, event, signer=signer, meeting=meeting, reason=reason, override_reason=override_reason
    )
    out.write_bytes(statement.encode())
    sig = out.with_name(out.name + ".sig")
    output.message(
        f"Wrote the {event} statement for {ref} to {out}, for {statement.actor} to sign. "
        f"Delete any old {sig.name} first (ssh-keygen keeps it), then sign with: "
        f"ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n signoff-decision {out.name} ; "
        f"record the returned {sig.name} with: signoff {event} {ref} --signature {sig.name}"
        + (f" --meeting {meeting.isoformat()}" if meeting else "")
    )
