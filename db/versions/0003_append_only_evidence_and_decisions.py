"""append-only evidence and decisions

Evidence is never edited or deleted (a correction supersedes it), and a submission, an approval
or a reschedule is a fact of the record once made. Triggers now refuse UPDATE and DELETE on
those tables as they already do on the audit log; an index serves 'is this record superseded?'.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("evidence", "submissions", "approvals", "reschedules")


def upgrade() -> None:
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_supersedes_id"), ["supersedes_id"], unique=False)
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(
            "CREATE FUNCTION record_is_final() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% records are never edited or deleted', TG_TABLE_NAME; END $$"
        )
    if postgres:
        # Row triggers do not see TRUNCATE: refuse it per statement, on the audit log too.
        for table in (*TABLES, "audit"):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION record_is_final()"
            )
    for table in TABLES:
        for action in ("UPDATE", "DELETE"):
            name = f"{table}_no_{action.lower()}"
            if postgres:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} FOR EACH ROW EXECUTE FUNCTION record_is_final()"
                )
            else:
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} records are never edited or deleted'); END"
                )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}" + (f" ON {table}" if postgres else ""))
    if postgres:
        for table in (*TABLES, "audit"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS record_is_final()")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_supersedes_id"))
