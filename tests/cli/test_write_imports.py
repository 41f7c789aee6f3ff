"""A write that needs no ORM runs on SQLite without importing SQLAlchemy: a secretary's `user add`
costs the process start, click and the driver, not the ORM's import."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path


def test_user_add_on_sqlite_writes_and_audits_without_importing_the_orm(db_path: Path) -> None:
    code = (
        "import sys\n"
        "from signoff.cli import main\n"
        f"sys.argv = ['signoff', '--db', {str(db_path)!r}, '--as', 'sec', 'user', 'add', 'newcomer', '--role', 'member']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stderr, proc.stderr
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT roles FROM users WHERE name = 'newcomer'").fetchall() == [("member",)]
        last = conn.execute("SELECT event, outcome, detail FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    assert last == ("user.add", "applied", '{"roles":["member"],"user":"newcomer"}')


def test_a_challenge_on_sqlite_applies_and_audits_without_importing_the_orm(demo_db: Path) -> None:
    """A transition (here a member's challenge) is the board's commonest write: plain statements only."""
    code = (
        "import sys\n"
        "from signoff.cli import main\n"
        f"sys.argv = ['signoff', '--db', {str(demo_db)!r}, '--as', 'dr.patel', 'challenge', 'IN-01', '--reason', 'whose audit?']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'pydantic') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stderr, proc.stderr
    with sqlite3.connect(demo_db) as conn:
        assert conn.execute("SELECT state FROM items WHERE ref = 'IN-01'").fetchone() == ("challenged",)
        last = conn.execute("SELECT item_ref, event, outcome FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    assert last == ("IN-01", "challenge", "applied")
