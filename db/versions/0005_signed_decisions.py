"""signed decisions

Users' OpenSSH public keys (registered and revoked, never deleted), and the decision statement,
signature and signer's key fingerprint of every signed decision: on the approval row, and for any
signed event (a re-opening, say) in ``signatures``, one row per signed audit record. Signatures
are facts of the record: triggers refuse UPDATE and DELETE; a key row may be changed only once,
to revoke it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TEXT = sqlmodel.sql.sqltypes.AutoString
# A key row may be updated once, to record its revocation; nothing else about it ever changes.
_KEY_FIXED = (
    "OLD.revoked_at IS NOT NULL OR NEW.user_name <> OLD.user_name OR NEW.key <> OLD.key "
    "OR NEW.fingerprint <> OLD.fingerprint OR NEW.registered_at <> OLD.registered_at "
    "OR NEW.registered_by <> OLD.registered_by OR NEW.id <> OLD.id"
)


def upgrade() -> None:
    op.create_table(
        "user_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", _TEXT(length=64), nullable=False),
        sa.Column("key", _TEXT(), nullable=False),
        sa.Column("fingerprint", _TEXT(length=64), nullable=False),
        sa.Column("registered_at", _TEXT(), nullable=False),
        sa.Column("registered_by", _TEXT(), nullable=False),
        sa.Column("revoked_at", _TEXT(), nullable=True),
        sa.Column("revoked_by", _TEXT(), nullable=True),
        sa.Column("revoke_reason", _TEXT(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("user_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_keys_user_name"), ["user_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_user_keys_fingerprint"), ["fingerprint"], unique=False)
    op.create_table(
        "signatures",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("item_ref", _TEXT(length=40), nullable=False),
        sa.Column("event", _TEXT(length=64), nullable=False),
        sa.Column("signed_by", _TEXT(length=64), nullable=False),
        sa.Column("signer", _TEXT(length=64), nullable=False),
        sa.Column("statement", _TEXT(), nullable=False),
        sa.Column("signature", _TEXT(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signatures_item_ref"), ["item_ref"], unique=False)
    postgres = op.get_bind().dialect.name == "postgresql"
    # The approvals table refuses UPDATE: adding nullable columns is a schema change, not an update.
    with op.batch_alter_table("approvals", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("statement", _TEXT(), nullable=True))
        batch_op.add_column(sa.Column("signature", _TEXT(), nullable=True))
        batch_op.add_column(sa.Column("signer", _TEXT(length=64), nullable=True))
    for action in ("UPDATE", "DELETE"):
        name = f"signatures_no_{action.lower()}"
        if postgres:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON signatures FOR EACH ROW EXECUTE FUNCTION record_is_final()"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {action} ON signatures "
                "BEGIN SELECT RAISE(ABORT, 'signatures records are never edited or deleted'); END"
            )
    if postgres:
        op.execute(
            "CREATE TRIGGER signatures_no_truncate BEFORE TRUNCATE ON signatures "
            "FOR EACH STATEMENT EXECUTE FUNCTION record_is_final()"
        )
        op.execute(
            "CREATE TRIGGER user_keys_no_delete BEFORE DELETE ON user_keys FOR EACH ROW EXECUTE FUNCTION record_is_final()"
        )
        op.execute(
            f"CREATE TRIGGER user_keys_no_update BEFORE UPDATE ON user_keys FOR EACH ROW WHEN ({_KEY_FIXED}) "
            "EXECUTE FUNCTION record_is_final()"
        )
        op.execute(
            "CREATE TRIGGER user_keys_no_truncate BEFORE TRUNCATE ON user_keys "
            "FOR EACH STATEMENT EXECUTE FUNCTION record_is_final()"
        )
    else:
        op.execute(
            "CREATE TRIGGER user_keys_no_delete BEFORE DELETE ON user_keys "
            "BEGIN SELECT RAISE(ABORT, 'user_keys records are never deleted: revoke the key'); END"
        )
        op.execute(
            f"CREATE TRIGGER user_keys_no_update BEFORE UPDATE ON user_keys WHEN {_KEY_FIXED} "
            "BEGIN SELECT RAISE(ABORT, 'user_keys records change only once, to revoke the key'); END"
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in ("signatures", "user_keys"):
        for action in ("update", "delete", "truncate"):
            if postgres or action != "truncate":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}" + (f" ON {table}" if postgres else ""))
    with op.batch_alter_table("approvals", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("signer")
        batch_op.drop_column("signature")
        batch_op.drop_column("statement")
    op.drop_table("signatures")
    op.drop_table("user_keys")
