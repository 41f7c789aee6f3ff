"""The audit log's hash chain: how a record is serialised and hashed, and how a stream is checked.

A third party can re-implement this in a few lines (docs/AUDIT.md has the rules and a verifier):

    canonical = JSON of the record's CHAINED_FIELDS, keys sorted, separators (",", ":"),
                UTF-8, non-ASCII kept as is; every value a string, an integer or null
    hash      = sha256(b"signoff.audit.v1\\n" + prev_hash + b"\\n" + canonical), hex
    genesis   = sha256(b"signoff.genesis.v1\\n" + database_id), hex  (prev_hash of record 1)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RECORD_TAG = b"signoff.audit.v1\n"
GENESIS_TAG = b"signoff.genesis.v1\n"

CHAINED_FIELDS: tuple[str, ...] = (
    "seq",
    "recorded_at",
    "actor",
    "roles",
    "item_ref",
    "event",
    "from_state",
    "to_state",
    "outcome",
    "detail",
    "workflow_hash",
    "prev_hash",
)
EXPORT_FIELDS: tuple[str, ...] = (*CHAINED_FIELDS, "hash")

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def genesis(database_id: str) -> str:
    return hashlib.sha256(GENESIS_TAG + database_id.encode("utf-8")).hexdigest()


def canonical(record: Mapping[str, Any]) -> bytes:
    return _dumps({k: record[k] for k in CHAINED_FIELDS}).encode("utf-8")


def record_hash(record: Mapping[str, Any]) -> str:
    # UTF-8, not ASCII: a genuine prev_hash is hex either way, and a tampered one must be reported, not crash.
    prev = str(record["prev_hash"]).encode("utf-8")
    return hashlib.sha256(RECORD_TAG + prev + b"\n" + canonical(record)).hexdigest()


def detail_text(detail: Mapping[str, Any]) -> str:
    """The detail column: canonical JSON text, so it hashes the same on every backend."""
    return _dumps(dict(detail))


@dataclass
class ChainReport:
    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    broken: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the check could not prove, said out loud
    anchor_mismatches: int = 0  # entries of ``broken`` that are about the anchor, not the chain's own links

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def chain_intact(self) -> bool:
        """Whether the only problems are with the anchor: the chain holds, but is not the one minuted."""
        return len(self.broken) == self.anchor_mismatches


def verify_stream(
    rows: Iterable[Mapping[str, Any]],
    start_prev: str | None,
    anchor: tuple[int, str] | None = None,
    contiguous: bool = True,
) -> ChainReport:
    """Check a stream of records in sequence order; report every broken record, not only the first.

    After a break the check carries on from the record's stored hash, so one edited record is
    reported once rather than poisoning the rest of the log. With ``start_prev`` None the first
    record's own prev_hash is taken on trust (an export that starts mid-log). With ``contiguous``
    False (an export filtered by item) a jump forward in seq is expected: the link across it cannot
    be checked, but every record's own hash, the order, and the links between adjacent records are.
    A row carrying ``_bad`` (an unreadable line of an export) is reported under the seq it still
    shows, else as the next record, and the link to the record after it is not checked.
    """
    report = ChainReport()
    prev = start_prev
    expected_seq: int | None = 1 if start_prev is not None else None
    anchor_seen = False
    for row in rows:
        report.checked += 1
        if "_bad" in row:
            salvaged = row.get("seq")
            seq = salvaged if isinstance(salvaged, int) else expected_seq if expected_seq is not None else 0
            report.broken.append((seq, str(row["_bad"])))
            prev, expected_seq = None, (seq + 1 if seq else None)
            continue
        seq = int(row["seq"])
        if report.first_seq is None:
            report.first_seq = seq
        problems = []
        linked = expected_seq is None or seq == expected_seq
        if expected_seq is not None and seq != expected_seq:
            if seq < expected_seq:
                problems.append(f"out of order: expected record {expected_seq}")
            elif contiguous:
                problems.append(f"records {expected_seq}..{seq - 1} are missing before it")
            else:
                linked = False  # a gap a filtered export is allowed to have
        if (contiguous or linked) and prev is not None and row["prev_hash"] != prev:
            if seq == 1 and report.checked == 1:
                problems.append("its prev_hash is not this database's genesis value")
            else:
                problems.append("its prev_hash does not match the record before it")
        if record_hash(row) != row["hash"]:
            problems.append("its contents do not match its hash")
        if anchor is not None and seq == anchor[0]:
            anchor_seen = True
            if not str(row["hash"]).startswith(anchor[1]):
                report.anchor_mismatches += not problems  # the chain holds here; only the anchor differs
                problems.append("its hash does not match the anchor read into the minutes")
        if problems:
            report.broken.append((seq, "; ".join(problems)))
        prev = row["hash"]
        expected_seq = seq + 1
        report.last_seq = seq
        report.last_hash = row["hash"]
    if anchor is not None and not anchor_seen:
        report.broken.append(
            (
                anchor[0],
                f"the anchored record {anchor[0]} is not in the log (it ends at {report.last_seq or 0}), "
                "so the log does not match the anchor",
            )
        )
        report.anchor_mismatches += 1
    return report


ANCHOR_MIN_HEX = 16


def parse_anchor(text: str) -> tuple[int, str]:
    """``SEQ:HEX`` with the whole hash or a prefix of at least 16 hex digits (64 bits: what a chair
    can read into the minutes and no forger can match by trying)."""
    from signoff.errors import BadInput

    seq, _, digest = (text or "").strip().partition(":")
    digest = digest.lower()
    if (
        not (seq.isascii() and seq.isdigit())
        or not ANCHOR_MIN_HEX <= len(digest) <= 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise BadInput(
            f"anchor {text!r} is not SEQ:HASH: copy it as 'signoff audit head' prints it "
            f"(the hash may be shortened to its first {ANCHOR_MIN_HEX} or more hex digits)."
        )
    return int(seq), digest
