"""Reconciling the tables with the chain: every row the register holds must be one the chain made.

``audit verify`` and ``db check`` replay the chain (engine/replay.py) and compare the state it
rebuilds with the tables, row by row and column by column, in the same read snapshot. Each
difference is one line naming the table, the row, the column, the chain's value and the table's.

The tables that only grow (engine.replay.STREAMED) are compared as the chain is walked: a
``Merger`` reads each in id order beside the audit log and meets every row replay makes with the
table's row of that id, so neither side is ever held whole. The tables replay keeps (items,
users, matrix rows, ...) are compared at the end.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from signoff.engine.replay import ANSWER_COLUMNS, META_KEYS, STREAMED, TABLES, UNANSWERED, Kept, Replay
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


# The STREAMED tables in the order replay makes their rows, as a Merger reads them.
_ORDER = {
    "evidence": "e.id",
    "submissions": "s.id",
    "challenges": "c.id",
    "approvals": "a.id",
    "reschedules": "r.id",
    "withdrawals": "w.id",
    "item_changes": "c.id",
    "signatures": "seq",
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


def _compare(
    out: list[str], name: str, key: tuple[Any, ...], cols: tuple[str, ...], want: tuple[Any, ...], have: tuple[Any, ...]
) -> None:
    if want == have:
        return
    for col, chain_value, table_value in zip(cols, want, have, strict=True):
        if chain_value != table_value:
            out.append(f"{name} {_show(key)} {col}: the chain says {chain_value!r}, the table says {table_value!r}")


_KIND, _SHA256 = TABLES["evidence"][1].index("kind"), TABLES["evidence"][1].index("sha256")


def _check_note(out: list[str], key: tuple[Any, ...], values: tuple[Any, ...], note: Any) -> None:
    """A note's text must still be the text its recorded digest was taken of."""
    if values[_KIND] == "note":
        digest = values[_SHA256]
        if hashlib.sha256((note or "").encode("utf-8")).hexdigest() != digest:
            out.append(f"evidence {_show(key)} note: the text no longer matches its digest {str(digest)[:16]}…")


# Rows read at a time from each of the eight tables a Merger walks beside the chain.
_BATCH = 256


class _Stream:
    """One STREAMED table read in id order: the row at its head, and its columns."""

    __slots__ = ("cols", "head", "name", "rows", "width")

    def __init__(self, name: str) -> None:
        self.name = name
        self.cols = TABLES[name][1]
        self.width = 1 + len(self.cols)  # the id, then the values (evidence has the note after them)
        self.rows: Iterator[tuple[Any, ...]] | None = None
        self.head: tuple[Any, ...] | None = None


class Merger:
    """The replay sink that compares each row of the STREAMED tables as replay makes it.

    Replay makes rows in id order (it reports a record that does not); each table is read in id
    order in the same snapshot, so a row is met with the table's row of the same id, rows the table
    has in between are ones no record made, and a made row the table has passed is one it lacks. A
    challenge is compared when made and its answer when replay settles it; the table's answer waits
    till then, so only open challenges are held.
    """

    def __init__(self, r: Reader) -> None:
        self.differences: list[str] = []
        self.rows_checked = 0
        self._r = r
        self._tables = {name: _Stream(name) for name in STREAMED}
        self._answers: dict[Any, tuple[Any, ...]] = {}  # open challenge's id → the table's answer

    def _open(self, t: _Stream) -> None:
        sql = TABLE_SQL[t.name] + f" ORDER BY {_ORDER[t.name]}"
        t.rows = itertools.chain.from_iterable(self._r.batches(sql, size=_BATCH))
        self._next(t)

    def _next(self, t: _Stream) -> None:
        assert t.rows is not None
        t.head = next(t.rows, None)
        if t.head is not None:
            self.rows_checked += 1

    def made(self, table: str, key: tuple[Any, ...], values: tuple[Any, ...]) -> None:
        t = self._tables[table]
        if t.rows is None:
            self._open(t)
        head, row_id = t.head, key[0]
        while head is not None and head[0] < row_id:
            self.differences.append(f"{table} {head[0]}: no record in the chain created this row")
            self._next(t)
            head = t.head
        if head is None or head[0] != row_id:
            self.differences.append(f"{table} {row_id}: the chain created this row but the table lacks it")
            return
        self._next(t)
        have = head[1 : t.width]
        if table == "challenges":
            fixed = len(t.cols) - len(ANSWER_COLUMNS)
            _compare(self.differences, table, key, t.cols[:fixed], values[:fixed], have[:fixed])
            answer = have[fixed:]
            self._answers[row_id] = UNANSWERED if answer == UNANSWERED else answer  # most are open: share one
            return
        _compare(self.differences, table, key, t.cols, values, have)
        if table == "evidence":
            _check_note(self.differences, key, have, head[t.width] if len(head) > t.width else None)

    def answered(self, challenge: tuple[Any, ...], answer: tuple[Any, ...]) -> None:
        have = self._answers.pop(challenge[0], None)
        if have is not None:  # else the table lacks the challenge, as already reported
            _compare(self.differences, "challenges", challenge, ANSWER_COLUMNS, answer, have)

    def finish(self) -> None:
        """Rows the tables hold beyond the last one replay made: no record made them."""
        for t in self._tables.values():
            if t.rows is None:
                self._open(t)
            while t.head is not None:
                self.differences.append(f"{t.name} {t.head[0]}: no record in the chain created this row")
                self._next(t)


def reconcile(r: Reader, replay: Replay) -> Reconciliation:
    """Compare every table with what ``replay`` rebuilt; the reader's snapshot is the one replayed.

    ``replay`` has been fed the whole chain. If its sink is a ``Merger`` on ``r`` it has compared
    the growing tables as it went; a ``Kept`` sink's rows are compared here with the rest.
    """
    result = Reconciliation(problems=list(replay.problems), signed=replay.signed, unsigned=replay.unsigned)
    if replay.legacy:
        result.legacy = (replay.legacy[0], replay.legacy[-1])
    if not replay.full:
        # Nothing but legacy records: there is no rebuilt state to hold the tables to.
        return result
    replay.finish()
    sink = replay.sink
    if isinstance(sink, Merger):
        sink.finish()
        result.differences.extend(sink.differences)
        result.rows_checked += sink.rows_checked
    kept = sink.tables if isinstance(sink, Kept) else {}
    for name, (_, cols) in TABLES.items():
        # One table at a time, each let go of once compared: never two copies of the items' state.
        if name in kept:
            expected = dict(kept[name])
        elif name in replay.tables:
            expected = replay.take(name)
        else:
            continue
        for key, values, note in table_rows(r, name):
            result.rows_checked += 1
            want = expected.pop(key, None)
            if want is None:
                result.differences.append(f"{name} {_show(key)}: no record in the chain created this row")
                continue
            _compare(result.differences, name, key, cols, want, values)
            if name == "evidence":
                _check_note(result.differences, key, values, note)
        for key in expected:
            result.differences.append(f"{name} {_show(key)}: the chain created this row but the table lacks it")
    return result
