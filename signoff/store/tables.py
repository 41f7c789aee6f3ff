"""The one set of table definitions. Alembic migrations in db/ must agree with these (tested).

Timestamps are ISO 8601 UTC text (``2026-11-27T09:30:00.000000+00:00``) and dates are
``YYYY-MM-DD`` text: the audit hash covers them byte for byte, so they must read back exactly
as written on every backend.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class Meta(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    roles: str  # sorted, comma-separated
    created_at: str
    created_by: str
    # A user who left the board: refused every write from then on; their history stays theirs.
    deactivated_at: Optional[str] = None
    deactivated_by: Optional[str] = None


class Item(SQLModel, table=True):
    __tablename__ = "items"
    __table_args__ = (Index("ix_items_state", "state"), Index("ix_items_kind", "kind"))
    id: Optional[int] = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, max_length=40)
    kind: str = Field(max_length=64)
    title: str
    owner: Optional[str] = None
    due: Optional[str] = None
    original_due: Optional[str] = None
    state: str = Field(max_length=64)
    version: int = 1
    created_at: str
    last_transition_at: str


class MatrixRow(SQLModel, table=True):
    __tablename__ = "matrix_rows"
    __table_args__ = (UniqueConstraint("item_id", "key", name="uq_matrix_rows_item_key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    key: str = Field(max_length=64)
    description: str
    present_by: str
    owner: Optional[str] = None


class Evidence(SQLModel, table=True):
    """Never edited or deleted: a correction is a new record that supersedes the old one."""

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_item_key", "item_id", "key"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id")
    key: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # file | note | measure
    note: Optional[str] = None
    file_name: Optional[str] = None
    file_size: Optional[int] = None
    sha256: str = Field(max_length=64)
    dated: str
    recorded_at: str
    added_by: str
    supersedes_id: Optional[int] = Field(default=None, foreign_key="evidence.id", index=True)
    measure: Optional[str] = None
    value: Optional[str] = None
    unit: Optional[str] = None
    period: Optional[str] = None
    threshold: Optional[str] = None
    direction: Optional[str] = None


class Withdrawal(SQLModel, table=True):
    """Evidence taken back: the record stays (it was read, perhaps signed off on) but no longer counts
    as cover or as part of a bundle. One per evidence record; never edited."""

    __tablename__ = "withdrawals"
    id: Optional[int] = Field(default=None, primary_key=True)
    evidence_id: int = Field(foreign_key="evidence.id", unique=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    withdrawn_at: str
    withdrawn_by: str
    reason: str


class ItemChange(SQLModel, table=True):
    """A correction of an item or of one of its matrix rows, with the value it replaced and why:
    a title or owner edited, a row's present-by date moved, a row added or removed. Never edited."""

    __tablename__ = "item_changes"
    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    row_key: Optional[str] = Field(default=None, max_length=64)  # the matrix row, for a row's change
    field: str = Field(max_length=32)  # title | owner | present_by | row
    from_value: Optional[str] = None
    to_value: Optional[str] = None
    reason: Optional[str] = None
    changed_by: str
    changed_at: str


class Challenge(SQLModel, table=True):
    __tablename__ = "challenges"
    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    event: str
    raised_at: str
    raised_by: str
    reason: str
    response: Optional[str] = None
    answered_at: Optional[str] = None
    answered_by: Optional[str] = None


class Submission(SQLModel, table=True):
    """The evidence bundle frozen when an item was put to the board."""

    __tablename__ = "submissions"
    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    event: str
    submitted_at: str
    submitted_by: str
    bundle_digest: str = Field(max_length=64)
    evidence_ids: str  # comma-separated evidence ids in the bundle


class Approval(SQLModel, table=True):
    __tablename__ = "approvals"
    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    submission_id: int = Field(foreign_key="submissions.id")
    approved_at: str
    approved_by: str
    meeting: str
    bundle_digest: str = Field(max_length=64)
    override_reason: Optional[str] = None
    # A signed approval: the exact statement bytes signed (UTF-8), the armored SSHSIG signature,
    # and the SHA256 fingerprint of the key that made it.
    statement: Optional[str] = None
    signature: Optional[str] = None
    signer: Optional[str] = Field(default=None, max_length=64)


class AuditRecord(SQLModel, table=True):
    """Append-only and hash-chained; triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_item_ref", "item_ref"), Index("ix_audit_recorded_at", "recorded_at"))
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    recorded_at: str
    actor: str
    roles: str
    item_ref: Optional[str] = None
    event: str
    from_state: Optional[str] = None
    to_state: Optional[str] = None
    outcome: str = Field(max_length=16)
    detail: str
    workflow_hash: Optional[str] = None
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Reschedule(SQLModel, table=True):
    """Every change of an item's due date, with its reason: slipped timescales stay visible."""

    __tablename__ = "reschedules"
    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    from_due: Optional[str] = None
    to_due: str
    reason: str
    changed_by: str
    changed_at: str


class Meeting(SQLModel, table=True):
    """A board meeting on the calendar: items left waiting past one are flagged as in limbo.

    Never deleted, since decisions name their meeting: a cancelled meeting keeps its row with who
    cancelled it, when and why, and ``moved_to`` when it was moved to another date."""

    __tablename__ = "meetings"
    id: Optional[int] = Field(default=None, primary_key=True)
    date: str = Field(unique=True, max_length=10)
    note: Optional[str] = None
    added_by: str
    added_at: str
    cancelled_at: Optional[str] = None
    cancelled_by: Optional[str] = None
    cancel_reason: Optional[str] = None
    moved_to: Optional[str] = Field(default=None, max_length=10)


class RuleSet(SQLModel, table=True):
    """A set of workflow definitions pinned in the register: proposed by the secretary, put in
    force by the chair (the set a register starts with is pinned and in force at once)."""

    __tablename__ = "rulesets"
    digest: str = Field(primary_key=True, max_length=64)
    proposed_at: str
    proposed_by: str
    reason: Optional[str] = None
    adopted_at: Optional[str] = None
    adopted_by: Optional[str] = None


class WorkflowDef(SQLModel, table=True):
    """One workflow definition of a pinned set: its full TOML text and digest. Never edited."""

    __tablename__ = "workflow_defs"
    ruleset: str = Field(primary_key=True, foreign_key="rulesets.digest", max_length=64)
    name: str = Field(primary_key=True, max_length=64)
    digest: str = Field(max_length=64)
    source: str


class UserKey(SQLModel, table=True):
    """A user's OpenSSH public key: registered by the secretary, revoked (never deleted)."""

    __tablename__ = "user_keys"
    id: Optional[int] = Field(default=None, primary_key=True)
    user_name: str = Field(max_length=64, index=True)
    key: str  # "ssh-ed25519 AAAA…", without the comment
    fingerprint: str = Field(max_length=64, index=True)
    registered_at: str
    registered_by: str
    revoked_at: Optional[str] = None
    revoked_by: Optional[str] = None
    revoke_reason: Optional[str] = None


class Signature(SQLModel, table=True):
    """The signature of one signed decision, keyed by its audit record. Never edited."""

    __tablename__ = "signatures"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    item_ref: str = Field(max_length=40, index=True)
    event: str = Field(max_length=64)
    signed_by: str = Field(max_length=64)
    signer: str = Field(max_length=64)
    statement: str
    signature: str


metadata = SQLModel.metadata
