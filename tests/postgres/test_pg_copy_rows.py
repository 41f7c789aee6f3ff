"""db copy moves rows into PostgreSQL with COPY FROM STDIN: every value arrives exactly as stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY, days_ago, write_matrix

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
