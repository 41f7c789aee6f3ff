"""The command line: parse, call one service, render. Nothing else happens here."""

from __future__ import annotations

from signoff.cli.app import cli


def main() -> None:
    cli(prog_name="signoff")


__all__ = ["cli", "main"]
