"""The demo: a realistic register from the seed report, walked through a board cycle."""

from __future__ import annotations

from pathlib import Path

import click

from signoff.cli.app import Context, pass_ctx


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("demo-register"),
    show_default=True,
    help="A fresh folder for the demo register.",
)
@pass_ctx
def demo(c: Context, directory: Path) -> None:
    """Build a demo register from the 2013 highlight report, walk items through the board, show the board."""
    from signoff.render.board import render_board
    from signoff.services.demo import build_demo
    from signoff.services.views import board_stream

    db = build_demo(directory, echo=click.echo)
    click.echo("")
    with board_stream(db) as b:
        render_board(b)
    click.echo("")
    click.echo(f"Try: signoff --db {db} item show OF-03   |   signoff --db {db} audit verify")
