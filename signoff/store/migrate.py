"""Alembic glue: find db/ (in the source tree or the installed wheel) and apply migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from signoff.store import location


def migrations_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    shipped = here / "_db"
    return shipped if shipped.is_dir() else here.parent / "db"


def alembic_config(db_path: location.DbRef) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", location.target(db_path).url.replace("%", "%%"))
    return cfg


def current_revision(db_path: location.DbRef) -> str | None:
    t = location.target(db_path)
    if t.path is None:
        return _server_revision(t)
    db_path = t.path
    if not db_path.exists():
        return None
    conn = sqlite3.connect(f"file:{db_path.resolve()}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def _server_revision(t: location.Target) -> str | None:
    import psycopg

    from signoff.store.pg_reader import dsn

    try:
        with psycopg.connect(dsn(t.url), autocommit=True, connect_timeout=15) as conn:
            exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
            if not exists or not exists[0]:
                return None
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except psycopg.Error as err:
        raise location.translate(err, t) from None
    return row[0] if row else None


def upgrade(db_path: location.DbRef, revision: str = "head") -> None:
    """Apply pending migrations in one transaction on a connection with signoff's pragmas."""
    from signoff.store.uow import engine_for

    engine = engine_for(db_path)
    with engine.connect() as conn:
        # Begin here (BEGIN IMMEDIATE): Alembic then sees an external transaction and commits nothing
        # itself. Left to Alembic, SQLite (no "transactional DDL") gets one commit per migration, so
        # a failure in the second of two pending migrations would leave the first applied.
        conn.begin()
        upgrade_in(conn, db_path, revision)
        conn.commit()


def upgrade_in(conn: Any, db_path: location.DbRef, revision: str = "head") -> None:
    """Apply pending migrations inside the caller's open transaction on ``conn``; commit nothing."""
    from alembic import command

    if conn.dialect.name == "postgresql":
        # A migration may rewrite a large table: only waits for locks stay bounded.
        conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
    cfg = alembic_config(db_path)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(Path(location.DEFAULT_DB)))
    head = script.get_current_head()
    assert head is not None
    return head
