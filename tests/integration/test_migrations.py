"""The SQLModel tables and the Alembic migrations describe the same schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from signoff.errors import BadInput, SignoffError
from signoff.services.register import init_register
from signoff.store import location, migrate
from signoff.store.reader import Reader
from signoff.store.tables import metadata


def diffs(db: Path) -> list[object]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return list(compare_metadata(ctx, metadata))
    finally:
        engine.dispose()


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_models_and_migrations_agree(db_path: Path) -> None:
    assert diffs(db_path) == []
    assert set(metadata.tables) <= tables(db_path)


def test_the_comparison_would_notice_a_difference(tmp_path: Path) -> None:
    """Guard against a vacuous check: an un-migrated database differs from the models."""
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    found = diffs(empty)
    assert {d[0] for d in found if isinstance(d, tuple)} >= {"add_table"}


def test_schema_head_is_alembics_head() -> None:
    assert migrate.head_revision() == location.SCHEMA_HEAD
    script = ScriptDirectory.from_config(migrate.alembic_config(Path("x.db")))
    assert len(script.get_heads()) == 1
    assert set(location.KNOWN_REVISIONS) == {r.revision for r in script.walk_revisions()}


def test_init_migrates_to_head_and_stamps_it(db_path: Path) -> None:
    assert migrate.current_revision(db_path) == location.SCHEMA_HEAD
    with Reader(db_path) as r:
        assert r.meta("database_id")


def test_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    db = tmp_path / "cycle.db"
    init_register(db, "sec")
    cfg = migrate.alembic_config(db)
    command.downgrade(cfg, "base")
    assert tables(db) <= {"alembic_version"}
    migrate.upgrade(db)
    assert migrate.current_revision(db) == location.SCHEMA_HEAD
    assert diffs(db) == []
    with sqlite3.connect(db) as conn:
        triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert {"audit_no_update", "audit_no_delete"} <= triggers


def test_init_refuses_an_existing_register_and_a_foreign_file(db_path: Path, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="already a signoff register"):
        init_register(db_path, "sec")
    other = tmp_path / "notes.txt"
    other.write_text("not a database")
    with pytest.raises(BadInput, match="exists and is not a signoff register"):
        init_register(other, "sec")
    assert other.read_text() == "not a database"


def test_a_register_from_a_newer_version_is_refused(db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SignoffError, match="newer version of signoff"):
        Reader(db_path)


def test_the_plain_table_list_db_copy_uses_is_the_models_tables_in_foreign_key_order() -> None:
    from signoff.store.schema import TABLES

    expected = [
        (t.name, tuple(c.name for c in t.columns), tuple(c.name for c in t.primary_key.columns))
        for t in metadata.sorted_tables
        if t.name != "alembic_version"
    ]
    assert [tuple(t) for t in TABLES] == expected


def test_the_shipped_postgresql_schema_is_what_the_migrations_render_now() -> None:
    """db copy creates a server register's schema from this file: a new migration must be in it."""
    shipped = migrate.postgresql_head_sql()
    assert shipped == migrate.render_postgresql_head(), (
        f"{migrate.POSTGRESQL_HEAD} is stale: write it anew with 'python -m signoff.store.migrate'"
    )
    assert f"version_num='{migrate.head_revision()}'" in shipped
    assert (
        "BEGIN;" not in shipped.replace("$$ BEGIN", "") and "COMMIT;" not in shipped
    )  # the copy's transaction holds it
