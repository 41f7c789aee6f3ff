"""The README cannot drift from the CLI: every command and subcommand has help and is documented."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import click
import pytest

from signoff.cli.app import COMMANDS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
COMMAND_TABLE = README.split("## Commands", 1)[1].split("\n## ", 1)[0]


def _all_commands() -> list[tuple[str, click.Command]]:
    found = []
    for name, (module, attr, _) in COMMANDS.items():
        command = getattr(importlib.import_module(f"signoff.cli.{module}"), attr)
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", cmd) for sub, cmd in command.commands.items()]
    return found


@pytest.mark.parametrize(("path", "command"), _all_commands(), ids=[p for p, _ in _all_commands()])
def test_every_command_has_help_and_is_in_the_readme_table(path: str, command: click.Command) -> None:
    assert (command.help or "").strip(), f"{path} has no help text"
    assert re.search(rf"`{re.escape(path)}\b", COMMAND_TABLE), f"`{path}` is missing from the README's command table"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help or param.name in {"as_json"}, f"{path} --{param.name} has no help"
