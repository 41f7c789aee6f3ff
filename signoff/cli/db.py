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
    """The register's database file: backup, upgrade, check."""


@db_group.command("backup")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it already exists.")
@pass_ctx
def db_backup(c: Context, file: Path, force: bool) -> None:
    """Copy the register to FILE as one consistent snapshot, even while others are writing.

    Evidence files are copied to FILE.evidence beside it. Restore by copying FILE back.
    """
    from signoff.services.maintenance import backup

    r = backup(c.db, file, overwrite=force)
    extra = f" and {r.evidence_files} evidence file(s)" if r.evidence_files else ""
    output.message(f"Backed up {c.db} (schema {r.revision or 'none'}) to {r.path}{extra}.")


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
