"""The command line: parse, call one service, render. Nothing else happens here."""

from __future__ import annotations

import sys

import click

from signoff.cli.app import cli


def main() -> None:
    """Run the CLI; a usage error is one sentence on stderr with exit 2, like every other error."""
    try:
        code = cli.main(prog_name="signoff", standalone_mode=False)
    except click.UsageError as err:
        where = err.ctx.command_path if err.ctx else "signoff"
        message = err.format_message().rstrip(".")
        click.echo(f"signoff: {message} (see '{where} --help').", err=True)
        sys.exit(2)
    except click.ClickException as err:
        click.echo(f"signoff: {err.format_message()}", err=True)
        sys.exit(err.exit_code)
    except click.Abort:
        click.echo("signoff: aborted; nothing was written.", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["cli", "main"]
