"""db copy moves rows into PostgreSQL with COPY FROM STDIN: every value arrives exactly as stored."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY, days_ago, write_matrix

from signoff.store import migrate
from signoff.store.tables import metadata

pytestmark = pytest.mark.slow  # each run starts a PostgreSQL cluster

# What COPY's text format treats specially (backslash escapes, the literal \N that means NULL, the
# \. that ends the data), beside quotes, a formula lead and text beyond ASCII. (Tabs and line
# breaks, its separators, are refused in a matrix; in the audit detail they are JSON escapes.)
AWKWARD = ["back\\slash", "\\N", "\\.", "\\t not a tab", "quote \" and '", "=1+1", "Réunion — 会議 😀"]


def _rows(conn: Any, table: Any) -> list[tuple[Any, ...]]:
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
    return [tuple(r) for r in conn.execute(f'SELECT {columns} FROM "{table.name}" ORDER BY {order}').fetchall()]


def test_awkward_text_and_large_records_arrive_exactly_as_stored(
    run_cli: Any, db_path: Path, pg_url: str, tmp_path: Path
) -> None:
    import psycopg

    due = days_ago(-20).isoformat()
    rows = [(f"AW-{i}", "ofsted-recommendation", text, due, f"key-{i}", text, due) for i, text in enumerate(AWKWARD)]
    # A large import too: its audit record (about 100 KB) is read back for the chain check in batches.
    rows += [(f"BIG-{i}", "ofsted-recommendation", "x" * 200, due, "k", "y" * 200, due) for i in range(250)]
    imported = run_cli("matrix", "import", str(write_matrix(tmp_path / "m.csv", rows)), db=db_path, actor=SECRETARY)
    assert imported.code == 0, imported.err

    copied = run_cli("db", "copy", "--to", pg_url, db=db_path, actor=SECRETARY)
    assert copied.code == 0, copied.err

    source = sqlite3.connect(db_path)
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as dest:
        for table in metadata.sorted_tables:
            if table.name in ("alembic_version", "meta"):
                continue
            theirs = _rows(dest, table)
            ours = _rows(source, table)
            if table.name == "audit":
                assert theirs[-1][5] == "register.copy"  # the copy's own record, after the copied ones
                theirs = theirs[:-1]
            assert theirs == ours, table.name
        titles = [r[0] for r in dest.execute("SELECT title FROM items WHERE ref LIKE 'AW-%' ORDER BY id")]
    assert titles == AWKWARD


# The schema as PostgreSQL's catalog describes it: columns, constraints, indexes, triggers, functions, sequences.
SCHEMA_QUERIES = {
    "columns": "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length,"
    " is_nullable, column_default FROM information_schema.columns WHERE table_schema = current_schema()"
    " ORDER BY 1, 3",
    "constraints": "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
    " JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema() ORDER BY 1, 2",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2",
    "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger"
    " WHERE NOT tgisinternal ORDER BY 1, 2",
    "functions": "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n"
    " ON n.oid = p.pronamespace WHERE n.nspname = current_schema() ORDER BY 1",
    "sequences": "SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences"
    " WHERE sequence_schema = current_schema() ORDER BY 1",
    "revision": "SELECT version_num FROM alembic_version",
}


def _schema(url: str) -> dict[str, list[tuple[Any, ...]]]:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return {name: [tuple(r) for r in conn.execute(sql).fetchall()] for name, sql in SCHEMA_QUERIES.items()}


def test_a_copy_makes_the_schema_db_upgrade_makes_without_loading_alembic_or_the_models(
    db_path: Path, pg_url: str, pg_cluster: str
) -> None:
    """The copy creates the schema from the migrations rendered for PostgreSQL (db/postgresql-head.sql), in
    its own transaction, without Alembic, SQLAlchemy or the models in memory: the schema and its stamp
    are exactly those Alembic's migrations make."""
    import pgserver

    code = (
        "import sys\n"
        "from signoff.cli import main\n"
        f"sys.argv = ['signoff', '--db', {str(db_path)!r}, '--as', {SECRETARY!r}, 'db', 'copy', '--to', {pg_url!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'pydantic') if m in sys.modules)\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY []" in proc.stderr, proc.stderr

    upgraded = pgserver.new_database(pg_cluster)
    migrate.upgrade(upgraded)  # Alembic itself, online, as 'db upgrade' and 'init' run it
    copied, made = _schema(pg_url), _schema(upgraded)
    assert made["revision"] == [(migrate.head_revision(),)]
    assert len(made["triggers"]) > 0 and len(made["functions"]) > 0
    for part in SCHEMA_QUERIES:
        assert copied[part] == made[part], part
