"""The lazily loaded command table cannot drift from the commands it names."""

from __future__ import annotations

import datetime as dt
import importlib
import subprocess
import sys

import click
import pytest

from signoff.cli.app import COMMANDS, cli


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_entry_names_a_real_command_with_that_help(name: str) -> None:
    module, attr, summary = COMMANDS[name]
    command = getattr(importlib.import_module(f"signoff.cli.{module}"), attr)
    assert isinstance(command, click.Command)
    assert command.name == name or (name == "db" and command.name == "db")
    assert (command.help or "").strip().splitlines()[0] == summary


def test_every_command_module_is_in_the_table() -> None:
    modules = {m for m, _, _ in COMMANDS.values()}
    assert modules == {"register", "evidence", "events", "views", "oversight", "work", "audit", "db", "demo"}
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == list(COMMANDS)
    assert cli.get_command(ctx, "no-such-command") is None


def test_help_loads_no_command_module() -> None:
    code = (
        "import sys\n"
        "from signoff.cli import main\n"
        "sys.argv = ['signoff', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('signoff.cli.') and m != 'signoff.cli.app')\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'transitions', 'rich') if m in sys.modules)\n"
        "print(loaded, heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip() == "[] []"
    assert "Commands:" in proc.stdout and "approve" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["board", "--json"],
        ["item", "list"],
        ["item", "list", "--owner", "sec", "--rag", "red"],
        ["history", "OF-01"],
        ["audit", "verify"],
        ["--as", "sec", "todo"],
        ["changes", "--since", "2020-01-01"],
        ["meeting", "show", dt.date.today().isoformat()],
        ["report", "--meeting", dt.date.today().isoformat(), "--format", "md"],
    ],
)
def test_read_commands_never_import_the_write_stack(db_path, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import sys\n"
        "from signoff.cli import main\n"
        f"sys.argv = ['signoff', '--db', {str(db_path)!r}, *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'transitions', 'rich') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stderr, proc.stderr
