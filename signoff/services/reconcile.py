"""Reconciling the tables with the chain: every row the register holds must be one the chain made.

``audit verify`` and ``db check`` replay the chain (engine/replay.py) and compare the state it
rebuilds with the tables, row by row and column by column, in the same read snapshot. Each
difference is one line naming the table, the row, the column, the chain's value and the table's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from signoff.engine.replay import META_KEYS, TABLES, Replay
from signoff.store.reader import Reader

# How each table is read in the replay's canonical form: key columns first, then value columns.
TABLE_SQL: dict[str, str] = {
    "meta": "SELECT key, value FROM meta WHERE key IN (" + ", ".join(f"'{k}'" for k in META_KEYS) + ")",
    "rulesets": "SELECT digest, proposed_at, proposed_by, reason, adopted_at, adopted_by FROM rulesets",
    "workflow_defs": "SELECT ruleset, name, digest, source FROM workflow_defs",
    "users": "SELECT name, roles, created_at, created_by, deactivated_at, deactivated_by FROM users",
    "items": "SELECT ref, kind, title, owner, due, original_due, state, version, created_at, last_transition_at"
    " FROM items",
    "matrix_rows": "SELECT i.ref, m.key, m.description, m.present_by, m.owner"
    " FROM matrix_rows m LEFT JOIN items i ON i.id = m.item_id",
    "evidence": "SELECT e.id, i.ref, e.key, e.kind, e.sha256, e.file_name, e.file_size, e.dated, e.recorded_at,"
    " e.added_by, e.supersedes_id, e.measure, e.value, e.unit, e.period, e.threshold, e.direction, e.note"
    " FROM evidence e LEFT JOIN items i ON i.id = e.item_id",
    "submissions": "SELECT s.id, i.ref, s.event, s.submitted_at, s.submitted_by, s.bundle_digest, s.evidence_ids"
    " FROM submissions s LEFT JOIN items i ON i.id = s.item_id",
    "challenges": "SELECT c.id, i.ref, c.event, c.raised_at, c.raised_by, c.reason, c.response, c.answered_at,"
    " c.answered_by FROM challenges c LEFT JOIN items i ON i.id = c.item_id",
    "approvals": "SELECT a.id, i.ref, a.submission_id, a.approved_at, a.approved_by, a.meeting, a.bundle_digest,"
    " a.override_reason, a.statement, a.signature, a.signer FROM approvals a LEFT JOIN items i ON i.id = a.item_id",
    "reschedules": "SELECT r.id, i.ref, r.from_due, r.to_due, r.reason, r.changed_by, r.changed_at"
    " FROM reschedules r LEFT JOIN items i ON i.id = r.item_id",
    "meetings": "SELECT date, id, note, added_by, added_at, cancelled_at, cancelled_by, cancel_reason, moved_to"
    " FROM meetings",
    "withdrawals": "SELECT w.id, w.evidence_id, i.ref, w.withdrawn_at, w.withdrawn_by, w.reason"
    " FROM withdrawals w LEFT JOIN items i ON i.id = w.item_id",
    "item_changes": "SELECT c.id, i.ref, c.row_key, c.field, c.from_value, c.to_value, c.reason, c.changed_by,"
    " c.changed_at FROM item_changes c LEFT JOIN items i ON i.id = c.item_id",
    "user_keys": "SELECT id, user_name, key, fingerprint, registered_at, registered_by, revoked_at, revoked_by,"
    " revoke_reason FROM user_keys",
    "signatures": "SELECT seq, item_ref, event, signed_by, signer, statement, signature FROM signatures",
}


@dataclass
class Reconciliation:
    """What replay found: illegal records, and differences between the chain and the tables."""

    problems: list[tuple[int, str]] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    legacy: tuple[int, int] | None = None  # first and last seq of records that predate full detail
    rows_checked: int = 0
    signed: int = 0  # signed decisions whose signatures verified
    unsigned: int = 0  # decisions that carry no signature

    @property
    def ok(self) -> bool:
        return not self.problems and not self.differences


def _show(key: tuple[Any, ...]) -> str:
    return " ".join(str(k) for k in key)


def table_rows(r: Reader, name: str) -> Iterator[tuple[tuple[Any, ...], tuple[Any, ...], Any]]:
    """(key, values, note text or None) for every row of ``name``, in the replay's canonical form."""
    nkeys = len(TABLES[name][0])
    ncols = len(TABLES[name][1])
    for row in r.stream(TABLE_SQL[name]):
        extra = row[nkeys + ncols] if len(row) > nkeys + ncols else None
        yield tuple(row[:nkeys]), tuple(row[nkeys : nkeys + ncols]), extra


def reconcile(r: Reader, replay: Replay) -> Reconciliation:
    """Compare every table with what ``replay`` rebuilt; the reader's snapshot is the one replayed."""
    result = Reconciliation(problems=list(replay.problems), signed=replay.signed, unsigned=replay.unsigned)
    if replay.legacy:
        result.legacy = (replay.legacy[0], replay.legacy[-1])
    if not replay.full:
        # Nothing but legacy records: there is no rebuilt state to hold the tables to.
        return result
    rebuilt = replay.rows()
    for name, (_, cols) in TABLES.items():
        expected = rebuilt[name]
        for key, values, note in table_rows(r, name):
            result.rows_checked += 1
            want = expected.pop(key, None)
            if want is None:
                result.differences.append(f"{name} {_show(key)}: no record in the chain created this row")
                continue
            for col, chain_value, table_value in zip(cols, want, values, strict=True):
                if chain_value != table_value:
                    result.differences.append(
                        f"{name} {_show(key)} {col}: the chain says {chain_value!r}, the table says {table_value!r}"
                    )
            if name == "evidence" and values[cols.index("kind")] == "note":
                digest = hashlib.sha256((note or "").encode("utf-8")).hexdigest()
                if digest != values[cols.index("sha256")]:
                    result.differences.append(
                        f"evidence {_show(key)} note: the text no longer matches its digest {values[cols.index('sha256')][:16]}…"
                    )
        for key in expected:
            result.differences.append(f"{name} {_show(key)}: the chain created this row but the table lacks it")
    return result
