"""pinned workflow rules

The workflow definitions a register runs on live inside it: every set ever pinned or proposed,
full TOML text and digest, and who proposed and adopted it. Definitions are never edited.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rulesets",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("proposed_at", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("proposed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("adopted_at", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("adopted_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(
        "workflow_defs",
        sa.Column("ruleset", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["ruleset"], ["rulesets.digest"]),
        sa.PrimaryKeyConstraint("ruleset", "name"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for action in ("UPDATE", "DELETE"):
        name = f"workflow_defs_no_{action.lower()}"
        if postgres:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON workflow_defs FOR EACH ROW EXECUTE FUNCTION record_is_final()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON workflow_defs "
                "BEGIN SELECT RAISE(ABORT, 'workflow_defs records are never edited or deleted'); END"
            )
    if postgres:
        op.execute(
            "CREATE TRIGGER workflow_defs_no_truncate BEFORE TRUNCATE ON workflow_defs "
            "FOR EACH STATEMENT EXECUTE FUNCTION record_is_final()"
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for action in ("update", "delete", "truncate"):
        if postgres or action != "truncate":
            op.execute(f"DROP TRIGGER IF EXISTS workflow_defs_no_{action}" + (" ON workflow_defs" if postgres else ""))
    op.drop_table("workflow_defs")
    op.drop_table("rulesets")
