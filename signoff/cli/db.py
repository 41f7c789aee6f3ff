"""The register file itself: back it up, upgrade its schema, check its integrity."""

from __future__ import annotations

from pathlib import Path

import click

from signoff.cli.app import Context, pass_ctx
from signoff.errors import SignoffError
from signoff.render import output


class IntegrityFailed(SignoffError):
    exit_code = 1


@click.group("db")
def db_group() -> None:
    """The register's database file: backup, restore, upgrade, check."""


@db_group.command("backup")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it already exists.")
@pass_ctx
def db_backup(c: Context, file: Path, force: bool) -> None:
    """Copy the register to FILE as one consistent snapshot, even while others are writing.

    Evidence files are copied to FILE.evidence beside it. Restore both with 'signoff db restore FILE'.
    """
    from signoff.services.maintenance import backup

    r = backup(c.db, file, overwrite=force)
    extra = f" and {r.evidence_files} evidence file(s)" if r.evidence_files else ""
    output.message(f"Backed up {c.db} (schema {r.revision or 'none'}) to {r.path}{extra}.")


@db_group.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a register that has records the backup lacks (it is kept aside).")
@pass_ctx
def db_restore(c: Context, file: Path, force: bool) -> None:
    """Restore the register from FILE, a 'db backup', with its evidence files (FILE.evidence).

    The backup is verified first (integrity, chain, replay, evidence files). A register with
    records the backup lacks is not overwritten unless --force, and then it is kept as DB.bak-TIME.
    """
    from signoff.services.restore import restore

    r = restore(c.db, file, force=force)
    kept = f"; the register it replaced is kept as {r.kept}" if r.kept else ""
    output.message(
        f"Restored {c.db} from {file}: {r.records} audit record(s), verified, and {r.evidence_files} "
        f"evidence file(s){kept}."
    )


@db_group.command("upgrade")
@pass_ctx
def db_upgrade(c: Context) -> None:
    """Back the register up to DB.bak-TIMESTAMP, then apply pending schema migrations."""
    from signoff.services.maintenance import upgrade

    # --as is optional here (the login name stands in), but when given it must be a valid name.
    r = upgrade(c.db, c.who() if c.actor is not None else None)
    if r.from_revision == r.to_revision:
        output.message(f"{c.db} is already at schema {r.to_revision}: nothing to do.")
        return
    kept = f"; the copy from before is {r.backup.path}" if r.backup else "; back the database up with pg_dump as usual"
    output.message(f"Upgraded {c.db} from schema {r.from_revision} to {r.to_revision}{kept}.")


@db_group.command("check")
@pass_ctx
def db_check(c: Context) -> None:
    """Check the file, the append-only triggers, and every table against the replayed chain; exit 1 on any problem."""
    from signoff.services.maintenance import integrity_check

    problems = integrity_check(c.db)
    for problem in problems[:50]:
        output.message(problem)
    if problems:
        raise IntegrityFailed(f"{c.db} failed the integrity check with {len(problems)} problem(s).")
    output.message(
        f"{c.db}: integrity_check ok, foreign keys ok, append-only triggers in place, tables match the chain."
    )


@db_group.command("copy")
@click.option(
    "--to", "to", required=True, metavar="PATH|URL", help="An empty database: a file path or postgresql+psycopg://…"
)
@pass_ctx
def db_copy(c: Context, to: str) -> None:
    """Copy the register, its whole audit history and evidence files, to another database (secretary)."""
    from signoff.services.copy import copy_register

    r = copy_register(c.db, to, c.who())
    total = sum(r.rows.values())
    output.message(
        f"Copied {total} row(s) ({r.rows.get('audit', 0)} audit records) and {r.evidence_files} evidence file(s) "
        f"from {c.db} to the new register; its chain verifies, head {r.audit_head}."
    )


@db_group.command("roles")
@click.option(
    "--owner", default="signoff_owner", show_default=True, help="The role that owns the tables and runs migrations."
)
@click.option("--runtime", default="signoff_app", show_default=True, help="The role every user's signoff logs in as.")
@click.option("--schema", default="public", show_default=True, help="The schema holding the register's tables.")
@click.option("--apply", "apply_", is_flag=True, help="Run the grants now, connected as the owner in --db (secretary).")
@pass_ctx
def db_roles(c: Context, owner: str, runtime: str, schema: str, apply_: bool) -> None:
    """Print (or apply) the SQL for a PostgreSQL owner role and a least-privilege runtime role.

    The runtime role may read every table, append to every table, and update only items and
    challenges: it cannot alter tables, disable triggers, truncate, delete, or edit the audit log.
    """
    from signoff.services import roles

    if apply_:
        done = roles.apply(c.db, c.who(), runtime)
        output.message(
            f"Granted {done.runtime} the runtime privileges on schema {done.schema} of {c.db} "
            f"(owner {done.owner}); run this again after every 'signoff db upgrade'."
        )
        return
    from urllib.parse import unquote

    database = unquote(c.db.url.split("?", 1)[0].rsplit("/", 1)[-1]) if not c.db.is_sqlite else "DATABASE"
    p = roles.plan(owner, runtime, schema, database)
    lines = [
        "-- 1. Once, as a PostgreSQL administrator. Set passwords with psql's \\password, never on a command line.",
        *p.setup,
        "",
        f"-- 2. As {p.owner}: 'signoff init' (and 'signoff db upgrade'), then these grants",
        f"--    ('signoff --db URL-AS-{p.owner.upper()} --as SECRETARY db roles --apply' runs them).",
        *p.grants,
    ]
    click.echo("\n".join(lines))
