"""The register's tables as plain names, for code that must not import SQLModel (``db copy``).

store/tables.py is the definition; this is the same tables' names, columns and primary keys in
the order foreign keys need them filled (``metadata.sorted_tables``), and a test checks the two
agree. ``alembic_version`` is not here: the migrations keep it, nothing copies it.
"""

from __future__ import annotations

from typing import NamedTuple

from signoff.domain.chain import EXPORT_FIELDS


class Table(NamedTuple):
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]


TABLES: tuple[Table, ...] = (
    Table("audit", EXPORT_FIELDS, ("seq",)),
    Table(
        "items",
        (
            "id",
            "ref",
            "kind",
            "title",
            "owner",
            "due",
            "original_due",
            "state",
            "version",
            "created_at",
            "last_transition_at",
        ),
        ("id",),
    ),
    Table(
        "meetings",
        ("id", "date", "note", "added_by", "added_at", "cancelled_at", "cancelled_by", "cancel_reason", "moved_to"),
        ("id",),
    ),
    Table("meta", ("key", "value"), ("key",)),
    Table("rulesets", ("digest", "proposed_at", "proposed_by", "reason", "adopted_at", "adopted_by"), ("digest",)),
    Table("signatures", ("seq", "item_ref", "event", "signed_by", "signer", "statement", "signature"), ("seq",)),
    Table(
        "user_keys",
        (
            "id",
            "user_name",
            "key",
            "fingerprint",
            "registered_at",
            "registered_by",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
        ),
        ("id",),
    ),
    Table("users", ("id", "name", "roles", "created_at", "created_by", "deactivated_at", "deactivated_by"), ("id",)),
    Table(
        "challenges",
        ("id", "item_id", "event", "raised_at", "raised_by", "reason", "response", "answered_at", "answered_by"),
        ("id",),
    ),
    Table(
        "evidence",
        (
            "id",
            "item_id",
            "key",
            "kind",
            "note",
            "file_name",
            "file_size",
            "sha256",
            "dated",
            "recorded_at",
            "added_by",
            "supersedes_id",
            "measure",
            "value",
            "unit",
            "period",
            "threshold",
            "direction",
        ),
        ("id",),
    ),
    Table(
        "item_changes",
        ("id", "item_id", "row_key", "field", "from_value", "to_value", "reason", "changed_by", "changed_at"),
        ("id",),
    ),
    Table("matrix_rows", ("id", "item_id", "key", "description", "present_by", "owner"), ("id",)),
    Table("reschedules", ("id", "item_id", "from_due", "to_due", "reason", "changed_by", "changed_at"), ("id",)),
    Table(
        "submissions",
        ("id", "item_id", "event", "submitted_at", "submitted_by", "bundle_digest", "evidence_ids"),
        ("id",),
    ),
    Table("workflow_defs", ("ruleset", "name", "digest", "source"), ("ruleset", "name")),
    Table(
        "approvals",
        (
            "id",
            "item_id",
            "submission_id",
            "approved_at",
            "approved_by",
            "meeting",
            "bundle_digest",
            "override_reason",
            "statement",
            "signature",
            "signer",
        ),
        ("id",),
    ),
    Table("withdrawals", ("id", "evidence_id", "item_id", "withdrawn_at", "withdrawn_by", "reason"), ("id",)),
)
