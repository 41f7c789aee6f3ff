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


# Every migration rendered for PostgreSQL (Alembic's offline mode), shipped beside the migrations:
# ``db copy`` creates a server register's schema with it inside its own transaction without
# loading Alembic and the table models (about 17 MiB). A test checks it is exactly what the
# migrations render now, and that a schema made with it is the schema ``db upgrade`` makes.
POSTGRESQL_HEAD = "postgresql-head.sql"
_HEADER = (
    "-- Every migration in db/versions, rendered for PostgreSQL by Alembic's offline mode; do not edit.\n"
    "-- After adding a migration, write it anew with: python -m signoff.store.migrate\n\n"
)


def render_postgresql_head() -> str:
    """The SQL Alembic emits to take an empty PostgreSQL database to the head revision, with the
    header above and without Alembic's own BEGIN and COMMIT (the caller's transaction holds it)."""
    import io

    from alembic import command

    out = io.StringIO()
    cfg = alembic_config("postgresql+psycopg://render@localhost/render")
    cfg.output_buffer = out
    command.upgrade(cfg, "head", sql=True)
    text = out.getvalue()
    begin, commit = "BEGIN;\n\n", "COMMIT;\n\n"
    assert text.startswith(begin) and text.endswith(commit), "Alembic no longer wraps its script in BEGIN/COMMIT"
    # Rendered for psycopg's pyformat, every literal % is doubled; the server is to receive the SQL
    # itself, as a migration run online sends it.
    return _HEADER + text[len(begin) : -len(commit)].replace("%%", "%")


def postgresql_head_sql() -> str:
    return (migrations_dir() / POSTGRESQL_HEAD).read_text(encoding="utf-8")


def create_server_schema(cursor: Any) -> None:
    """Create the whole schema at the head revision, stamped, through ``cursor`` (psycopg) inside
    the caller's open transaction; commit nothing."""
    cursor.execute("SET LOCAL statement_timeout = 0")
    cursor.execute(postgresql_head_sql())  # no parameters: many statements in one execute


if __name__ == "__main__":
    (migrations_dir() / POSTGRESQL_HEAD).write_text(render_postgresql_head(), encoding="utf-8")
