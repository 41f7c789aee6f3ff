"""The root command, global options, and the one place errors become exit codes."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from signoff.errors import EXIT_CODES, SignoffError

if TYPE_CHECKING:
    from signoff.store.location import Target


@dataclass
class Context:
    db: Target
    actor: str | None

    def who(self) -> str:
        from signoff.domain.names import require_actor_name

        return require_actor_name(self.actor)


pass_ctx = click.make_pass_decorator(Context)


class DateType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        from signoff.clock import parse_date

        try:
            return parse_date(str(value), what=param.name if param and param.name else "date")
        except SignoffError as err:
            self.fail(str(err), param, ctx)


DATE = DateType()


class OutputPath(click.ParamType):
    """A file to write: refused up front when it is a folder or its folder does not exist."""

    name = "FILE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        if path.is_dir():
            self.fail(f"{path} is a folder: give a file name, e.g. {path / 'export.csv'}", param, ctx)
        if not path.parent.is_dir():
            self.fail(f"the folder {path.parent} does not exist: create it first or choose another path", param, ctx)
        return path


OUTPUT = OutputPath()


def output_format(out: Path | None, fmt: str, suffixes: Mapping[str, tuple[str, ...]], chosen: bool) -> str:
    """The format to write ``out`` in. A file name whose extension is another format's is refused
    (exit 2) rather than filled with the wrong kind of text; when --format was not given, the
    extension chooses it (``-o pack.md`` writes Markdown)."""
    if out is None:
        return fmt
    ext = out.suffix.lower()
    if ext in suffixes[fmt]:
        return fmt
    if not chosen:
        for other, exts in suffixes.items():
            if ext in exts:
                return other
    from signoff.errors import BadInput

    known = ", ".join(e for exts in suffixes.values() for e in exts)
    raise BadInput(
        f"{out.name} does not end in {' or '.join(suffixes[fmt])}, so it would not open as {fmt}: "
        f"name the file for its format ({known}) or pick the format with --format."
    )


def format_chosen(name: str = "fmt") -> bool:
    """Whether the user gave --format, rather than taking its default."""
    ctx = click.get_current_context()
    return ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)


def fail(err: SignoffError) -> None:
    from signoff.store.location import scrub

    message = scrub(str(err).strip()) or type(err).__name__
    click.echo(f"signoff: {message}", err=True)
    sys.exit(err.exit_code)


class SignoffGroup(click.Group):
    """Loads each command's module on first use, and maps every SignoffError to one sentence on
    stderr and its documented exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        import importlib

        module, attr, _ = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(f"signoff.cli.{module}"), attr)
        accept_global_options(command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """An unknown command is a usage error that suggests the nearest command names."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib

            near = difflib.get_close_matches(name, list(COMMANDS), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            raise click.UsageError(f"No such command {name!r}{hint}", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table, without importing every command's module."""
        width = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=entry[2]).get_short_help_str(width)) for name, entry in COMMANDS.items()
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SignoffError as err:
            fail(err)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("signoff: interrupted; nothing half-written was kept.", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(1)
        except OSError as err:  # a file that cannot be read or written: say which, and why
            where = f" {err.filename}" if err.filename else ""
            fail(SignoffError(f"cannot use{where}: {err.strerror or err}; check the path and its permissions."))
        except Exception as err:
            if os.environ.get("SIGNOFF_DEBUG"):
                raise
            from signoff.store.location import scrub

            click.echo(
                f"signoff: unexpected {type(err).__name__}: {scrub(str(err))} (run again with SIGNOFF_DEBUG=1 for details).",
                err=True,
            )
            sys.exit(1)


def _global_db(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        from signoff.store.location import target

        ctx.ensure_object(Context).db = target(value)


def _global_actor(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).actor = value


def accept_global_options(command: click.Command) -> None:
    """Let ``--db`` and ``--as`` follow the command too (``signoff board --as x --db y``), as people
    type them; given after the command, they win over those given before it and the environment."""
    if getattr(command, "_global_options", False):
        return
    command.params += [
        click.Option(["--db", "_global_db"], metavar="PATH", expose_value=False, callback=_global_db, hidden=True),
        click.Option(
            ["--as", "_global_actor"], metavar="USER", expose_value=False, callback=_global_actor, hidden=True
        ),
    ]
    command._global_options = True  # type: ignore[attr-defined]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_global_options(sub)


EXIT_HELP = "\b\nExit codes:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())


@click.group(cls=SignoffGroup, epilog=EXIT_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db",
    envvar="SIGNOFF_DB",
    default="signoff.db",
    show_default=True,
    metavar="PATH",
    help="The register's database file (or SIGNOFF_DB).",
)
@click.option("--as", "actor", envvar="SIGNOFF_USER", metavar="USER", help="Who is acting (or SIGNOFF_USER).")
@click.version_option(package_name="signoff")
@click.pass_context
def cli(ctx: click.Context, db: str, actor: str | None) -> None:
    """signoff: evidence sign-off for an Improvement Board.

    Every Ofsted recommendation and Improvement Notice item moves
    proposed -> evidence_submitted -> (challenged -> evidence_submitted ...) -> signed_off,
    guarded by the evidence matrix, and every attempt is in a hash-chained audit log.
    """
    from signoff.store.location import target

    ctx.obj = Context(db=target(db), actor=actor)


# Every command, the module that defines it, and its one-line help. Modules are imported only
# when their command runs, so `signoff --help` and a read command load one module, not nine;
# tests/cli/test_command_table.py checks this table against the commands themselves.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": (
        "register",
        "init",
        "Create the register's database, pin its workflow rules, and add its first user (a secretary).",
    ),
    "user": ("register", "user", "Users and their roles: secretary, chair, member, auditor."),
    "item": ("register", "item", "Recommendations and notice items on the register."),
    "matrix": ("register", "matrix", "The evidence matrix: what evidence is due for each item, and by when."),
    "evidence": (
        "evidence",
        "evidence",
        "Evidence presented against the matrix. Never edited or deleted: corrections supersede or withdraw.",
    ),
    "submit": ("events", "submit", "Put an item's evidence to the board (secretary); freezes the evidence bundle."),
    "challenge": ("events", "challenge", "Challenge submitted evidence (member, chair or secretary recording it)."),
    "resubmit": (
        "events",
        "resubmit",
        "Answer every open challenge and put the item back to the board (secretary).",
    ),
    "amend": (
        "events",
        "amend",
        "Re-freeze a submitted item's evidence after adding or correcting evidence (secretary).",
    ),
    "approve": (
        "events",
        "approve",
        "Sign an item off at a board meeting (chair, with their key; or a secretary recording a signature).",
    ),
    "reopen": (
        "events",
        "reopen",
        "Re-open a signed-off item when later inspection evidence contradicts it (chair, signed).",
    ),
    "fire": (
        "events",
        "fire",
        "Fire any event of the item's workflow (for custom workflows); signed with --key or --signature.",
    ),
    "decision": (
        "events",
        "decision",
        "Decision statements: what a chair signs with plain OpenSSH when signing offline.",
    ),
    "board": ("views", "board", "The plan on a page: every item by state with its due date and RAG status, red first."),
    "history": ("views", "history", "Every attempt on an item, applied or refused, in order."),
    "workflow": (
        "views",
        "workflow",
        "The workflow rules pinned in the register: in force, proposed, and how they change.",
    ),
    "overdue": (
        "oversight",
        "overdue",
        "Matrix evidence past its present-by date, and items past due, grouped by owner.",
    ),
    "limbo": (
        "oversight",
        "limbo",
        "Items in 'perpetual limbo': no progress for weeks, repeated challenges, or left waiting past a meeting.",
    ),
    "measures": (
        "oversight",
        "measures",
        "The target tracker: each measure against its threshold, with its trend over periods.",
    ),
    "meeting": ("oversight", "meeting", "The board's meeting calendar."),
    "report": (
        "oversight",
        "report",
        "The board pack: plan on a page, changes, items for sign-off, measures, overdue, limbo, a chart.",
    ),
    "todo": ("work", "todo", "What is waiting for you: by your roles, and the evidence you own."),
    "changes": ("work", "changes", "Every applied change since a date, in plain words."),
    "audit": ("audit", "audit", "The append-only, hash-chained audit log."),
    "db": ("db", "db_group", "The register's database file: backup, restore, upgrade, check."),
    "demo": (
        "demo",
        "demo",
        "Build a demo register from the 2013 highlight report, walk items through the board, show the board.",
    ),
}
