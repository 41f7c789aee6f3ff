"""The root command, global options, and the one place errors become exit codes."""

from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass
from typing import Any

import click

from signoff.errors import EXIT_CODES, SignoffError
from signoff.store.location import Target


@dataclass
class Context:
    db: Target
    actor: str | None

    def who(self) -> str:
        from signoff.services.common import require_actor_name

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


def fail(err: SignoffError) -> None:
    message = str(err).strip() or type(err).__name__
    click.echo(f"signoff: {message}", err=True)
    sys.exit(err.exit_code)


class SignoffGroup(click.Group):
    """Maps every SignoffError to one sentence on stderr and its documented exit code."""

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
        except Exception as err:
            if os.environ.get("SIGNOFF_DEBUG"):
                raise
            click.echo(
                f"signoff: unexpected {type(err).__name__}: {err} (run again with SIGNOFF_DEBUG=1 for details).",
                err=True,
            )
            sys.exit(1)


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


def register_commands() -> None:
    from signoff.cli import audit, db, demo, events, evidence, oversight, register, views

    for module in (register, evidence, events, views, oversight, audit, demo, db):
        module.attach(cli)


register_commands()
