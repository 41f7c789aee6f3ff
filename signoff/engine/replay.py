"""Replaying the audit chain: the state every table should hold, rebuilt from the records alone.

The chain is the register's source of truth; the tables are a projection of it. ``Replay`` is fed
the records in sequence order and

- checks each applied record is *legal* where it stands: its time is canonical UTC and never goes
  back, its actor holds a role the rules in force allow, a transition starts from the state the
  item is in and is an event the pinned workflow allows from there, and it names the rules in force;
- rebuilds, from what each record carries, the rows it wrote: users, items, matrix rows, evidence,
  submissions, challenges, approvals, reschedules, meetings, pinned rules and the register's meta.

The rows of the tables that only grow (STREAMED: evidence, submissions, approvals, reschedules,
withdrawals, item changes, signatures, and challenges, which change once, when answered) are
handed to a ``Sink`` as they are made and are not kept: the reconciliation (services/reconcile.py)
compares each at once with the table's row of the same id, read in id order beside the chain.
Replay keeps per-item state (each item, its matrix rows, its standing evidence, its latest frozen
bundle, its open challenges) and the small tables (users, keys, meetings, rules, meta), which
``rows()`` gives in the same canonical form the store reads them in. Memory therefore follows the
register's items, not the length of the log; and the per-item state is packed (``ItemRow``,
``Matrix``: a few objects an item, not dozens). The standing evidence, the bulk of it, is not held
at all: ``Standing`` keeps it in a private scratch SQLite file, so a board of 10,000 items, 50,000
matrix rows and their standing evidence is verified well within the 64 MiB a read command may use.

Registers written before records carried full detail start with *legacy* records: their times and
hashes are checked, and a ``register.baseline`` record written when the register was upgraded
carries the tables as they then stood, from which replay continues in full.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from signoff.clock import is_canonical
from signoff.domain import bundle
from signoff.domain.roles import CHAIR, REGISTER_ACTIONS, SECRETARY
from signoff.engine.workflow import Rules, WorkflowError, rules_from_sources
from signoff.errors import BadInput, SignoffError

# Table name → (key columns, value columns), in the order the store reads them for reconciliation.
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "meta": (("key",), ("value",)),
    "rulesets": (("digest",), ("proposed_at", "proposed_by", "reason", "adopted_at", "adopted_by")),
    "workflow_defs": (("ruleset", "name"), ("digest", "source")),
    "users": (("name",), ("roles", "created_at", "created_by", "deactivated_at", "deactivated_by")),
    "items": (
        ("ref",),
        ("kind", "title", "owner", "due", "original_due", "state", "version", "created_at", "last_transition_at"),
    ),
    "matrix_rows": (("ref", "key"), ("description", "present_by", "owner")),
    "evidence": (
        ("id",),
        (
            "ref",
            "key",
            "kind",
            "sha256",
            "file_name",
            "file_size",
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
    ),
    "submissions": (("id",), ("ref", "event", "submitted_at", "submitted_by", "bundle_digest", "evidence_ids")),
    "challenges": (
        ("id",),
        ("ref", "event", "raised_at", "raised_by", "reason", "response", "answered_at", "answered_by"),
    ),
    "approvals": (
        ("id",),
        (
            "ref",
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
    ),
    "reschedules": (("id",), ("ref", "from_due", "to_due", "reason", "changed_by", "changed_at")),
    "meetings": (
        ("date",),
        ("id", "note", "added_by", "added_at", "cancelled_at", "cancelled_by", "cancel_reason", "moved_to"),
    ),
    "withdrawals": (("id",), ("evidence_id", "ref", "withdrawn_at", "withdrawn_by", "reason")),
    "item_changes": (
        ("id",),
        ("ref", "row_key", "field", "from_value", "to_value", "reason", "changed_by", "changed_at"),
    ),
    "user_keys": (
        ("id",),
        (
            "user_name",
            "key",
            "fingerprint",
            "registered_at",
            "registered_by",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
        ),
    ),
    "signatures": (("seq",), ("item_ref", "event", "signed_by", "signer", "statement", "signature")),
}
# Tables whose rows are handed to the sink as they are made, in id order (signatures: in seq order),
# instead of being kept: rows of these are never changed once written, except a challenge's answer.
STREAMED = (
    "evidence",
    "submissions",
    "challenges",
    "approvals",
    "reschedules",
    "withdrawals",
    "item_changes",
    "signatures",
)
# A challenge's columns that change when it is answered (the rest never change).
ANSWER_COLUMNS = ("response", "answered_at", "answered_by")
UNANSWERED: tuple[Any, ...] = (None, None, None)
# Events that are decisions of the board: counted as unsigned where they carry no signature.
DECISIONS = frozenset({"approve", "reopen"})
# The meta keys the chain is the source of; others (settings) are not decisions.
META_KEYS = ("database_id", "created_at", "rules_in_force", "max_evidence_mib")

Row = dict[str, Any]
# Corrections of an item (services/corrections.py), and what each lets its actor do.
CORRECTIONS = {
    "evidence.withdraw": "withdraw evidence",
    "item.edit": "edit items",
    "matrix.add": "add matrix rows",
    "matrix.reschedule": "reschedule matrix rows",
    "matrix.remove": "remove matrix rows",
}
# Registers created at these schemas wrote records without full detail (see register.baseline).
LEGACY_SCHEMAS = ("0001", "0002", "0003")


def _schema_of(rec: Mapping[str, Any]) -> Any:
    try:
        return json.loads(rec["detail"]).get("schema")
    except (TypeError, ValueError, AttributeError):
        return None


class Sink(Protocol):
    """Where replay hands the rows of the STREAMED tables."""

    def made(self, table: str, key: tuple[Any, ...], values: tuple[Any, ...]) -> None:
        """A row as the record that made it wrote it (a challenge with its answer columns unset)."""

    def answered(self, challenge: tuple[Any, ...], answer: tuple[Any, ...]) -> None:
        """The final ANSWER_COLUMNS of a challenge already made: UNANSWERED if the chain never answers it."""


@dataclass
class Kept:
    """A sink that keeps every row, for a replay whose rows are read at the end."""

    tables: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]] = field(default_factory=lambda: {t: {} for t in STREAMED})

    def made(self, table: str, key: tuple[Any, ...], values: tuple[Any, ...]) -> None:
        self.tables[table][key] = values

    def answered(self, challenge: tuple[Any, ...], answer: tuple[Any, ...]) -> None:
        row = self.tables["challenges"].get(challenge)
        if row is not None:
            self.tables["challenges"][challenge] = row[: -len(answer)] + answer


class Dropped:
    """A sink that keeps nothing: for a replay that checks legality only (an exported file)."""

    def made(self, table: str, key: tuple[Any, ...], values: tuple[Any, ...]) -> None:
        return None

    def answered(self, challenge: tuple[Any, ...], answer: tuple[Any, ...]) -> None:
        return None


_COL = {name: {c: n for n, c in enumerate(cols)} for name, (_, cols) in TABLES.items()}

# A standing evidence record is kept as the JSON array of its bundle entry's values, in
# bundle.ENTRY_FIELDS order (id first, key second): a tenth of the memory of a dict of them, for
# the tens of thousands a board holds; it is turned back into the entry only when a bundle is checked.
_pack = json.JSONEncoder(separators=(",", ":")).encode
_EVIDENCE_COLS = TABLES["evidence"][1]
# Where each entry field after the id stands among an evidence row's values (TABLES' column order).
_ENTRY_AT = tuple(_EVIDENCE_COLS.index("supersedes_id" if f == "supersedes" else f) for f in bundle.ENTRY_FIELDS[1:])
_intern = sys.intern
# What follows a date of the canonical form whose date is known good (see Replay._canonical).
_CANONICAL_LEN = len("2026-01-02T03:04:05.000006+00:00")
_TIME_OF_DAY = re.compile(r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}\+00:00\Z")


@dataclass
class Replay:
    """Feed records in sequence order with ``feed``, then ``finish()``; read ``problems`` and ``rows()``."""

    sink: Sink = field(default_factory=Kept)
    problems: list[tuple[int, str]] = field(default_factory=list)
    legacy: list[int] = field(default_factory=list)  # seqs of records that predate full detail
    full: bool = False
    # The tables replay keeps whole (the STREAMED ones go to the sink).
    tables: dict[str, Any] = field(
        default_factory=lambda: {t: Matrix() if t == "matrix_rows" else {} for t in TABLES if t not in STREAMED}
    )
    _rules: Rules | None = None
    _sets: dict[str, dict[str, str]] = field(default_factory=dict)  # ruleset digest → {name: source}
    _last_at: str = ""
    _last_id: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STREAMED, 0))
    _open: dict[str, list[int]] = field(default_factory=dict)  # item ref → its open challenges' ids
    _withdrawn: dict[int, Any] = field(default_factory=dict)  # withdrawn evidence id → its item ref
    # each item's standing evidence: records no later record supersedes and nobody withdrew, as
    # services/evidence.py counts them
    _standing: Standing = field(default_factory=lambda: Standing())
    _evidenced: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # item ref → keys that ever had evidence
    # item ref → its latest frozen bundle: (submission id, digest, frozen at)
    _bundle: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    _days: set[str] = field(default_factory=set)  # dates of canonical times seen (see _canonical)
    _held: dict[str, tuple[frozenset[str], str]] = field(default_factory=dict)  # roles text → (roles, as claimed)
    _unchecked: set[Any] = field(default_factory=set)  # items that had standing evidence no bundle entry can hold
    applied: int = 0
    signed: int = 0  # signed decisions whose signature replay verified
    unsigned: int = 0  # decisions (approvals, re-openings, events declared signed) without a signature

    # -- the walk -------------------------------------------------------------------------------

    def feed(self, rec: Mapping[str, Any]) -> None:
        seq = rec["seq"] if isinstance(rec.get("seq"), int) else 0
        at = rec.get("recorded_at")
        if not isinstance(at, str) or not self._canonical(at):
            self._bad(seq, f"its time {at!r} is not canonical UTC (YYYY-MM-DDTHH:MM:SS.ffffff+00:00)")
        elif at < self._last_at:
            self._bad(seq, f"its time {at} is earlier than the record before it ({self._last_at})")
        else:
            self._last_at = at
        event = str(rec.get("event"))
        if event == "register.init" and seq == 1:
            self.full = _schema_of(rec) not in LEGACY_SCHEMAS
        if rec.get("outcome") != "applied":
            if rec.get("outcome") != "refused":
                self._bad(seq, f"its outcome {rec.get('outcome')!r} is neither applied nor refused")
            elif not self.full:
                self.legacy.append(seq)
            return
        self.applied += 1
        if event == "register.baseline":
            self._baseline(seq, rec)
            return
        if not self.full:
            self.legacy.append(seq)
            return
        try:
            detail = json.loads(rec["detail"])
        except (TypeError, ValueError):
            self._bad(seq, "its detail is not JSON")
            return
        if not isinstance(detail, dict):
            self._bad(seq, "its detail is not a JSON object")
            return
        try:
            self._apply(seq, rec, event, detail)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            self._bad(seq, f"it does not carry what a {event} record needs ({type(err).__name__}: {err})")

    def _canonical(self, at: str) -> bool:
        """``clock.is_canonical``, parsing each day's date once: a day already seen in a canonical
        time needs only its time of day checked (digits in range, microseconds, +00:00)."""
        if at[:10] in self._days and len(at) == _CANONICAL_LEN and _TIME_OF_DAY.match(at, 10):
            return True
        if is_canonical(at):
            self._days.add(at[:10])
            return True
        return False

    def _bad(self, seq: int, why: str) -> None:
        self.problems.append((seq, why))

    def finish(self) -> None:
        """The end of the chain: challenges it never answered are final as they are. What only the
        walk needed (standing evidence, frozen bundles) goes, before the tables are compared."""
        for waiting in self._open.values():
            for challenge in waiting:
                self.sink.answered((challenge,), UNANSWERED)
        self._open, self._unchecked = {}, set()
        self._standing.close()  # emptied, and usable again
        self._bundle, self._evidenced, self._withdrawn = {}, {}, {}

    def _made(self, seq: int, table: str, row_id: Any, values: tuple[Any, ...]) -> bool:
        """Hand a new row to the sink. Ids only grow, as the store allots them under the chain's
        write lock, so each row is made once and the table can be read beside the walk."""
        if not isinstance(row_id, int) or isinstance(row_id, bool) or row_id <= self._last_id[table]:
            self._bad(seq, f"it makes {table} row {row_id!r}, but ids only grow (the last was {self._last_id[table]})")
            return False
        self._last_id[table] = row_id
        self.sink.made(table, (row_id,), values)
        return True

    # -- who may do what ------------------------------------------------------------------------

    def _roles(self, name: str) -> frozenset[str]:
        user = self.tables["users"].get((name,))
        return self._parse_roles(user["roles"])[0] if user else frozenset()

    def _parse_roles(self, text: str) -> tuple[frozenset[str], str]:
        """A user's roles column as the set of roles and as a record claims them (sorted, joined)."""
        parsed = self._held.get(text)
        if parsed is None:
            held = frozenset(r for r in text.split(",") if r)
            parsed = self._held[text] = (held, ",".join(sorted(held)))
        return parsed

    def _check_actor(self, seq: int, rec: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
        actor = rec["actor"]
        user = self.tables["users"].get((actor,))
        if user is None:
            self._bad(seq, f"its actor {actor!r} is not a user of the register at this point")
            return
        held, claimed = self._parse_roles(user["roles"])
        if user.get("deactivated_at") is not None:
            self._bad(seq, f"its actor {actor!r} was deactivated at this point and may do nothing")
        if rec["roles"] != claimed:
            self._bad(seq, f"it claims roles {rec['roles']!r} but {actor} holds {claimed!r}")
        if not held & allowed:
            self._bad(seq, f"{actor} ({claimed}) may not {what}: it needs {' or '.join(sorted(allowed))}")

    def _check_rules_hash(self, seq: int, rec: Mapping[str, Any], kind: str | None = None) -> None:
        if self._rules is None:
            self._bad(seq, "it comes before any workflow rules were pinned")
            return
        allowed = {self._rules.digest}
        if kind is not None and kind in self._rules.flows:
            allowed.add(self._rules.flows[kind].digest)
        if rec.get("workflow_hash") not in allowed:
            self._bad(seq, "its workflow hash is not that of the rules in force at this point of the chain")

    def _item(self, seq: int, ref: Any) -> ItemRow | None:
        item = self.tables["items"].get((ref,))
        if item is None:
            self._bad(seq, f"it names item {ref!r}, which no earlier record registered")
        return item

    # -- what each kind of record does ------------------------------------------------------------

    def _apply(self, seq: int, rec: Mapping[str, Any], event: str, d: dict[str, Any]) -> None:
        at, actor, ref = rec["recorded_at"], rec["actor"], rec.get("item_ref")
        t = self.tables
        if event == "register.init":
            t["meta"][("database_id",)] = {"value": d["database_id"]}
            t["meta"][("created_at",)] = {"value": at}
            if d.get("max_evidence_mib") is not None:
                t["meta"][("max_evidence_mib",)] = {"value": str(d["max_evidence_mib"])}
            return
        if event == "workflow.pin":
            if self._rules is not None and rec["actor"] != "":
                self._check_actor(seq, rec, frozenset({SECRETARY, CHAIR}), "pin workflow rules")
            self._store_set(seq, d, actor, at, None)
            self._adopt(d["ruleset"], actor, at)
            self._check_rules_hash(seq, rec)
            return
        if event == "workflow.propose":
            self._check_rules_hash(seq, rec)
            self._check_actor(seq, rec, frozenset({SECRETARY}), "propose workflow rules")
            self._store_set(seq, d, actor, at, d.get("reason"))
            return
        if event == "workflow.adopt":
            self._check_actor(seq, rec, frozenset({CHAIR}), "adopt workflow rules")
            if (d["ruleset"],) not in t["rulesets"]:
                self._bad(seq, f"it adopts rules {d['ruleset'][:16]}… that no record proposed")
                return
            self._adopt(d["ruleset"], actor, at)
            self._check_rules_hash(seq, rec)
            return
        if event in ("register.upgrade", "register.copy"):
            return  # the file, not the board's decisions: nothing in the tables
        if event == "register.roles":  # PostgreSQL grants applied by the secretary: nothing in the tables
            self._check_actor(seq, rec, frozenset({SECRETARY}), "apply database roles")
            return
        if event == "user.add":
            first = not t["users"] and d["user"] == actor
            if not first:
                self._check_rules_hash(seq, rec)
                self._check_actor(seq, rec, REGISTER_ACTIONS["user.add"], "add users")
            if (d["user"],) in t["users"]:
                self._bad(seq, f"it adds user {d['user']!r}, who already exists")
            roles = d["roles"]
            t["users"][(d["user"],)] = {
                "roles": ",".join(sorted(roles)),
                "created_at": at,
                "created_by": actor,
                "deactivated_at": None,
                "deactivated_by": None,
            }
            return
        if event in ("user.role", "user.deactivate"):
            self._check_rules_hash(seq, rec)
            self._people(seq, rec, event, d)
            return
        if event == "user.key.add":
            self._check_rules_hash(seq, rec)
            self._check_actor(seq, rec, REGISTER_ACTIONS["user.key.add"], "register keys")
            self._key_add(seq, at, actor, d)
            return
        if event == "user.key.revoke":
            self._check_rules_hash(seq, rec)
            self._check_actor(seq, rec, REGISTER_ACTIONS["user.key.revoke"], "revoke keys")
            row = t["user_keys"].get((d["key_id"],))
            if row is None or row["user_name"] != d["user"] or row["fingerprint"] != d["fingerprint"]:
                self._bad(seq, f"it revokes key {d['key_id']}, which is not {d['user']}'s key {d['fingerprint']}")
                return
            if row["revoked_at"] is not None:
                self._bad(seq, f"it revokes {d['user']}'s key {d['fingerprint']}, which was already revoked")
            row.update(revoked_at=at, revoked_by=actor, revoke_reason=d["reason"])
            return
        if event == "meeting.add":
            self._check_rules_hash(seq, rec)
            self._check_actor(seq, rec, REGISTER_ACTIONS["meeting.add"], "add meetings")
            if (d["date"],) in t["meetings"]:
                self._bad(seq, f"it adds a meeting on {d['date']}, which is already on the calendar")
            t["meetings"][(d["date"],)] = self._meeting(d["meeting_id"], d.get("note"), actor, at)
            return
        if event in ("meeting.cancel", "meeting.move"):
            self._check_rules_hash(seq, rec)
            self._check_actor(
                seq, rec, REGISTER_ACTIONS[event], "cancel meetings" if event == "meeting.cancel" else "move meetings"
            )
            day = d["date"] if event == "meeting.cancel" else d["from"]
            held = t["meetings"].get((day,))
            if held is None or held["cancelled_at"] is not None:
                self._bad(seq, f"it takes the meeting on {day} off the calendar, but no held meeting is on that date")
                return
            held.update(cancelled_at=at, cancelled_by=actor, cancel_reason=d["reason"])
            if event == "meeting.move":
                held["moved_to"] = d["to"]
                if (d["to"],) in t["meetings"]:
                    self._bad(seq, f"it moves a meeting to {d['to']}, which is already on the calendar")
                t["meetings"][(d["to"],)] = self._meeting(d["meeting_id"], held["note"], actor, at)
            return
        if event == "matrix.import":
            self._check_rules_hash(seq, rec)
            self._check_actor(seq, rec, REGISTER_ACTIONS["matrix.import"], "import the matrix")
            for new_ref, kind, title, owner, due in d["items"]:
                self._new_item(seq, new_ref, kind, title, owner, due, at)
            items = t["items"]

            def registered(row_ref: Any) -> None:
                if (row_ref,) not in items:
                    self._bad(seq, f"it adds a matrix row to item {row_ref!r}, which no earlier record registered")

            self._matrix.put(d["rows"], registered)
            return
        if event == "item.add":
            self._check_actor(seq, rec, REGISTER_ACTIONS["item.add"], "add items")
            self._new_item(seq, ref, d["kind"], d["title"], d.get("owner"), d.get("due"), at)
            item = t["items"].get((ref,))
            self._check_rules_hash(seq, rec, item["kind"] if item else None)
            if item is not None and rec.get("to_state") != item["state"]:
                self._bad(seq, f"it registers {ref} in state {rec.get('to_state')!r}, not the workflow's initial state")
            return
        item = self._item(seq, ref) if ref is not None else None
        if item is None:
            if ref is None:
                self._bad(seq, f"it is an applied {event!r} record, which no version of signoff writes")
            return
        self._check_rules_hash(seq, rec, item["kind"])
        if rec.get("from_state") != item["state"]:
            self._bad(seq, f"it moves {ref} from {rec.get('from_state')!r}, but replay has it in {item['state']!r}")
        if event == "evidence.add":
            self._check_actor(seq, rec, REGISTER_ACTIONS["evidence.add"], "add evidence")
            self._evidence(seq, ref, actor, at, d)
            return
        if event in CORRECTIONS:
            self._check_actor(seq, rec, REGISTER_ACTIONS[event], CORRECTIONS[event])
            self._correct(seq, rec, item, event, d)
            return
        if event == "item.reschedule":
            self._check_actor(seq, rec, REGISTER_ACTIONS["item.reschedule"], "reschedule items")
            self._made(
                seq, "reschedules", d["reschedule_id"], (ref, d["from_due"], d["to_due"], d["reason"], actor, at)
            )
            if item["original_due"] is None:
                item["original_due"] = item["due"] or d["to_due"]
            item["due"] = d["to_due"]
            return
        self._transition(seq, rec, item, event, d)

    def _transition(self, seq: int, rec: Mapping[str, Any], item: ItemRow, event: str, d: dict[str, Any]) -> None:
        ref, at, actor = rec["item_ref"], rec["recorded_at"], rec["actor"]
        if self._rules is None:  # no rules pinned, or a pin that did not hold: _check_rules_hash reported it
            return
        wf = self._rules.flows.get(item["kind"])
        ev = wf.events.get(event) if wf else None
        if ev is None:
            self._bad(seq, f"{event!r} is not an event of {item['kind']} in the rules in force")
            return
        if item["state"] not in ev.source:
            self._bad(seq, f"{item['kind']} does not allow {event} from {item['state']!r}")
        if rec.get("to_state") != ev.dest:
            self._bad(seq, f"it moves {ref} to {rec.get('to_state')!r}, but {event} leads to {ev.dest!r}")
        self._check_actor(seq, rec, ev.roles, event)
        if "signature" in d:
            self._check_signature(seq, rec, item, event, d)
        elif ev.signed:
            self._bad(seq, f"{event} is a signed decision in the rules in force, but it carries no signature")
            self.unsigned += 1
        elif event in DECISIONS:
            self.unsigned += 1
        meeting = d.get("meeting")
        if meeting is not None and "meeting_on_calendar" in ev.guards:
            held = self.tables["meetings"].get((meeting,))
            if held is None or held["cancelled_at"] is not None:
                self._bad(seq, f"it names the meeting on {meeting}, which is not a held meeting on the calendar then")
        answers = d.get("answers_challenges")
        if answers is None and d.get("answers_challenge") is not None:  # written before several challengers
            answers = [[d["answers_challenge"], d.get("response")]]
        if answers is not None:
            waiting = self._open.pop(ref, [])
            if sorted(int(i) for i, _ in answers) != sorted(waiting):
                self._bad(
                    seq, f"it answers challenges {[i for i, _ in answers]}, but {ref}'s open challenges are {waiting}"
                )
            settled = set()
            for answered, response in answers:
                # Every id in an item's open list is a challenge of that item that replay made.
                if answered not in waiting:
                    self._bad(seq, f"it answers challenge {answered}, which is not an open challenge of {ref}")
                    continue
                settled.add(answered)
                self.sink.answered((answered,), (response, at, actor))
            for left in waiting:  # closed unanswered by a record that should have answered them
                if left not in settled:
                    self.sink.answered((left,), UNANSWERED)
        if "challenge_id" in d:
            challenge = d["challenge_id"]
            if self._made(seq, "challenges", challenge, (ref, event, at, actor, d.get("reason") or "", *UNANSWERED)):
                self._open.setdefault(ref, []).append(challenge)
        if "approval_id" in d:
            sub, digest = d["submission_id"], d["bundle"]
            values: tuple[Any, ...] = (
                ref, sub, at, actor, d["meeting"], digest, d.get("override_reason"),
                d.get("statement"), d.get("signature"), d.get("signer"),
            )  # fmt: skip
            self._made(seq, "approvals", d["approval_id"], values)
            latest = self._bundle.get(ref)
            # The service approves the item's latest frozen bundle, never an earlier one.
            if latest is None or latest[:2] != (sub, digest):
                self._bad(seq, f"it approves submission {sub}, which is not a frozen bundle of {ref} (the latest)")
        elif "submission_id" in d:
            self._check_bundle(seq, ref, d)
            sub = d["submission_id"]
            values = (ref, event, at, actor, d["bundle"], ",".join(str(i) for i in d["evidence_ids"]))
            if self._made(seq, "submissions", sub, values):
                self._bundle[ref] = (sub, d["bundle"], at)
        item["state"] = ev.dest
        item["version"] += 1
        item["last_transition_at"] = at

    def _check_bundle(self, seq: int, ref: str, d: dict[str, Any]) -> None:
        """A frozen bundle must be exactly the item's standing evidence at that point, by digest."""
        unchecked = ref in self._unchecked  # values bundle.entry refuses stood here: let it say which
        if unchecked:
            mine = self._standing.entries(ref)
            standing = [_id_of(packed) for packed in mine]
        else:  # each record's values were found fit for an entry, and encoded, when it came to stand
            standing, encoded = self._standing.frozen(ref)
        if [int(i) for i in d["evidence_ids"]] != standing:
            self._bad(seq, f"it freezes evidence {d['evidence_ids']}, but {ref}'s standing evidence is {standing}")
            return
        if unchecked:
            fields, held = bundle.ENTRY_FIELDS, [json.loads(packed) for packed in mine]
            found = bundle.digest([bundle.entry(dict(zip(fields, values, strict=True))) for values in held])
        else:
            found = bundle.digest_encoded(encoded)
        if found != d["bundle"]:
            self._bad(seq, f"its bundle digest is not the digest of {ref}'s standing evidence at that point")

    def _key_add(self, seq: int, at: str, actor: str, d: dict[str, Any]) -> None:
        from signoff.domain.sshkeys import parse_public_key

        if (d["user"],) not in self.tables["users"]:
            self._bad(seq, f"it registers a key for {d['user']!r}, who is not a user at this point")
        try:
            key = parse_public_key(d["key"], "its key")
        except BadInput as err:
            self._bad(seq, str(err).rstrip("."))
            return
        if key.fingerprint != d["fingerprint"]:
            self._bad(seq, f"its key's fingerprint is {key.fingerprint}, not the {d['fingerprint']} it names")
        if any(row["fingerprint"] == key.fingerprint for row in self.tables["user_keys"].values()):
            self._bad(seq, f"it registers the key {key.fingerprint}, which was registered before")
        self.tables["user_keys"][(d["key_id"],)] = {
            "user_name": d["user"],
            "key": key.openssh,
            "fingerprint": key.fingerprint,
            "registered_at": at,
            "registered_by": actor,
            "revoked_at": None,
            "revoked_by": None,
            "revoke_reason": None,
        }

    def _check_signature(self, seq: int, rec: Mapping[str, Any], item: ItemRow, event: str, d: dict[str, Any]) -> None:
        """A signed decision: the signature is by the actor's key current at this point, over a
        statement that says exactly what this record did."""
        from signoff.domain import sshsig
        from signoff.domain.decision import parse_statement
        from signoff.domain.sshkeys import parse_public_key

        ref, actor, at = rec["item_ref"], rec["actor"], rec["recorded_at"]
        self._made(seq, "signatures", seq, (ref, event, actor, d.get("signer"), d["statement"], d["signature"]))
        key = next(
            (
                row
                for row in self.tables["user_keys"].values()
                if row["fingerprint"] == d.get("signer") and row["user_name"] == actor and row["revoked_at"] is None
            ),
            None,
        )
        recorder = d.get("recorded_by")
        if recorder is not None and SECRETARY not in self._roles(recorder):
            self._bad(seq, f"it was recorded by {recorder!r}, who is not a secretary at this point")
        if key is None:
            self._bad(seq, f"it is signed with {d.get('signer')}, which is not a current key of {actor} at this point")
            return
        try:
            statement = parse_statement(d["statement"].encode("utf-8"), "its statement")
            sshsig.verify(d["signature"], d["statement"].encode("utf-8"), public_key=parse_public_key(key["key"]))
        except SignoffError as err:
            self._bad(seq, f"its signature does not verify: {str(err).rstrip('.')}")
            return
        register = self.tables["meta"].get(("database_id",), {}).get("value")
        latest = self._bundle.get(ref)
        expected = {
            "register": register,
            "item": ref,
            "title": item["title"],
            "event": event,
            "meeting": d.get("meeting"),
            "bundle": latest[1] if latest else None,
            "reason": d.get("reason"),
            "override-reason": d.get("override_reason"),
            "actor": actor,
        }
        signed = dict(statement.values())
        for name, want in expected.items():
            if (signed[name] or None) != want:
                self._bad(seq, f"its signed statement says {name} {signed[name]!r}, but the record is for {want!r}")
        made = statement.time.strftime("%Y-%m-%dT%H:%M:%S")
        if made > at[:19]:
            self._bad(seq, f"its statement was signed at {signed['time']}, after the record's time {at}")
        if made < key["registered_at"][:19]:
            self._bad(seq, f"its statement was signed at {signed['time']}, before the key was registered")
        if latest and made < latest[2][:19]:
            self._bad(seq, f"its statement was signed at {signed['time']}, before the evidence it names was frozen")
        self.signed += 1

    @staticmethod
    def _meeting(meeting_id: Any, note: Any, actor: str, at: str) -> Row:
        return {
            "id": meeting_id,
            "note": note,
            "added_by": actor,
            "added_at": at,
            "cancelled_at": None,
            "cancelled_by": None,
            "cancel_reason": None,
            "moved_to": None,
        }

    def _new_item(self, seq: int, ref: Any, kind: str, title: str, owner: Any, due: Any, at: str) -> None:
        if (ref,) in self.tables["items"]:
            self._bad(seq, f"it registers item {ref!r}, which already exists")
        flows = self._rules.flows if self._rules else {}
        if kind not in flows:
            self._bad(seq, f"it registers {ref} under workflow {kind!r}, which is not in the rules in force")
            initial = "?"
        else:
            initial = flows[kind].initial
        due = _shared(due)
        self.tables["items"][(_shared(ref),)] = ItemRow(
            _shared(kind), title, _shared(owner), due, due, initial, 1, at, at
        )

    def _evidence(self, seq: int, ref: Any, actor: str, at: str, d: dict[str, Any]) -> None:
        key = d["key"]
        if self._matrix.due(ref, key) is _ABSENT:
            self._bad(seq, f"it adds evidence to {ref} row {key!r}, which the matrix does not have")
        supersedes = d.get("supersedes")
        if supersedes is not None and not self._supersede(ref, supersedes, key):
            # Only standing evidence can be corrected: the service refuses to supersede a withdrawn
            # record or one already superseded (services/evidence.py).
            if self._withdrawn.get(supersedes) == ref:
                self._bad(seq, f"it supersedes evidence {supersedes}, which was withdrawn")
            else:
                self._bad(
                    seq,
                    f"it supersedes evidence {supersedes}, which is not standing {ref} {key} evidence"
                    " (another row's or item's, or already superseded)",
                )
        ev_id, get = d["evidence_id"], d.get
        values = (
            ref, key, d["kind"], d["sha256"], get("file"), get("size"), d["dated"], at, actor, supersedes,
            get("measure"), get("value"), get("unit"), get("period"), get("threshold"), get("direction"),
        )  # fmt: skip
        if self._made(seq, "evidence", ev_id, values):
            self._stand(ref, ev_id, values)

    def _supersede(self, ref: Any, ev_id: Any, key: Any) -> bool:
        """Whether evidence ``ev_id`` stood for ``ref``'s row ``key``: it no longer does."""
        if not isinstance(ev_id, int):
            return False
        if self._standing.remove(ref, ev_id, _pack(key).encode("utf-8")):
            return True  # its packed values start with its id and this key, as JSON
        old = self._standing.get(ref, ev_id)  # or with a key equal to this one, written otherwise (1.0 for 1)
        return old is not None and _key_of(old) == key and self._standing.remove(ref, ev_id)

    def _stand(self, ref: Any, ev_id: int, values: tuple[Any, ...]) -> None:
        """Evidence ``ev_id`` of ``ref`` (an evidence row's values in TABLES' columns) stands, until
        superseded or withdrawn."""
        entry = [ev_id, *(values[n] for n in _ENTRY_AT)]
        if bundle.fits(entry):
            encoded = bundle.encoded(dict(zip(bundle.ENTRY_FIELDS, entry, strict=True)))
        else:
            self._unchecked.add(ref)
            encoded = b""
        self._standing.add(ref, _pack(entry).encode("utf-8"), encoded)
        key, evidenced = values[1], self._evidenced.get(ref, ())
        if key not in evidenced:
            self._evidenced[ref] = (*evidenced, _shared(key))

    def _people(self, seq: int, rec: Mapping[str, Any], event: str, d: dict[str, Any]) -> None:
        """A role given or taken away, or a user deactivated."""
        self._check_actor(
            seq, rec, REGISTER_ACTIONS[event], "change users" if event == "user.role" else "deactivate users"
        )
        user = self.tables["users"].get((d["user"],))
        if user is None:
            self._bad(seq, f"it changes user {d['user']!r}, whom no earlier record added")
            return
        if user["deactivated_at"] is not None:
            self._bad(seq, f"it changes user {d['user']!r}, who was already deactivated")
        if event == "user.deactivate":
            user.update(deactivated_at=rec["recorded_at"], deactivated_by=rec["actor"])
            return
        held = {r for r in user["roles"].split(",") if r}
        if d.get("from_roles") != user["roles"]:
            self._bad(seq, f"it says {d['user']} held {d.get('from_roles')!r}, but replay has {user['roles']!r}")
        wanted = held | {d["add"]} if d.get("add") else held - {d["remove"]}
        if sorted(d["roles"]) != sorted(wanted) or not wanted:
            self._bad(seq, f"its roles {d['roles']} for {d['user']} do not follow from the change it records")
        user["roles"] = ",".join(sorted(d["roles"]))

    def _change(self, seq: int, rec: Mapping[str, Any], d: dict[str, Any], change: Mapping[str, Any]) -> None:
        values = (
            rec["item_ref"], change.get("row_key"), change["field"], change.get("from"), change.get("to"),
            d.get("reason"), rec["actor"], rec["recorded_at"],
        )  # fmt: skip
        self._made(seq, "item_changes", change["change_id"], values)

    def _correct(self, seq: int, rec: Mapping[str, Any], item: ItemRow, event: str, d: dict[str, Any]) -> None:
        """Evidence withdrawn, an item edited, a matrix row added, moved or removed."""
        ref = rec["item_ref"]
        final = (
            self._rules is not None
            and item["kind"] in self._rules.flows
            and item["state"] in self._rules.flows[item["kind"]].final
        )
        if event == "evidence.withdraw":
            ev_id = d["evidence_id"]
            if isinstance(ev_id, int) and self._standing.remove(ref, ev_id):
                self._withdrawn[ev_id] = ref
            elif self._withdrawn.get(ev_id) == ref:
                self._bad(seq, f"it withdraws evidence {ev_id}, which was already withdrawn")
            else:
                self._bad(
                    seq,
                    f"it withdraws evidence {ev_id}, which is not standing evidence of {ref}"
                    " (another item's, or a later record supersedes it)",
                )
            if final:
                self._bad(seq, f"it withdraws evidence of {ref}, which is {item['state']}")
            values = (ev_id, ref, rec["recorded_at"], rec["actor"], d["reason"])
            self._made(seq, "withdrawals", d["withdrawal_id"], values)
            return
        if event == "item.edit":
            for change in d["changes"]:
                field_name = change["field"]
                if field_name not in ("title", "owner") or item[field_name] != change["from"]:
                    self._bad(seq, f"it changes {ref} {field_name} from {change['from']!r}, which it did not hold")
                else:
                    item[field_name] = change["to"]
                self._change(seq, rec, d, change)
            return
        key, matrix = d["row_key"], self._matrix
        due = matrix.due(ref, key)
        if event == "matrix.add":
            if due is not _ABSENT:
                self._bad(seq, f"it adds row {key!r} to {ref}, which already has one")
            if final:
                self._bad(seq, f"it adds a matrix row to {ref}, which is {item['state']}")
            matrix.put([(ref, key, d["description"], d["present_by"], d.get("owner"))])
        elif due is _ABSENT:
            self._bad(seq, f"it changes {ref} row {key!r}, which the matrix does not have")
        elif event == "matrix.reschedule":
            if due != d["from"]:
                self._bad(seq, f"it moves {ref} row {key!r} from {d['from']}, but it was due {due}")
            matrix.move(ref, key, d["to"])
        else:  # matrix.remove
            if key in self._evidenced.get(ref, ()):
                self._bad(seq, f"it removes {ref} row {key!r}, which has evidence")
            if final:
                self._bad(seq, f"it removes a matrix row of {ref}, which is {item['state']}")
            matrix.remove(ref, key)
        self._change(seq, rec, d, d)

    # -- rules ------------------------------------------------------------------------------------

    def _store_set(self, seq: int, d: dict[str, Any], actor: str, at: str, reason: Any) -> None:
        sources = {name: spec["source"] for name, spec in d["workflows"].items()}
        try:
            found = rules_from_sources(sources)
        except WorkflowError as err:
            self._bad(seq, f"its workflow definitions do not parse ({err})")
            return
        if found.digest != d["ruleset"]:
            self._bad(seq, f"its workflow definitions digest to {found.digest[:16]}…, not {d['ruleset'][:16]}…")
        self._sets[found.digest] = sources
        self.tables["rulesets"][(d["ruleset"],)] = {
            "proposed_at": at,
            "proposed_by": actor,
            "reason": reason,
            "adopted_at": None,
            "adopted_by": None,
        }
        for name, src in sources.items():
            self.tables["workflow_defs"][(d["ruleset"], name)] = {"digest": found.flows[name].digest, "source": src}

    def _adopt(self, digest: str, actor: str, at: str) -> None:
        self.tables["rulesets"][(digest,)].update(adopted_at=at, adopted_by=actor)
        self.tables["meta"][("rules_in_force",)] = {"value": digest}
        if digest in self._sets:
            self._rules = rules_from_sources(self._sets[digest])

    # -- registers that predate full detail ------------------------------------------------------------

    def _baseline(self, seq: int, rec: Mapping[str, Any]) -> None:
        """Take the tables as they stood at an upgrade; from here on records carry full detail."""
        if self.full:
            # Rows already handed on cannot be taken back: only a register that predates full detail has one.
            self._bad(seq, "it is a baseline of the tables, but the records before it already carry full detail")
            return
        try:
            detail = json.loads(rec["detail"])
            tables = detail["tables"]
            # A baseline taken at an older schema lacks the columns added since: they were empty.
            taken = {
                name: [(tuple(row[k] for k in keys), {c: row.get(c) for c in cols}) for row in tables.get(name, [])]
                for name, (keys, cols) in TABLES.items()
            }
            for name in STREAMED:  # handed on in id order, as the tables are read beside the walk
                taken[name].sort(key=lambda kept: kept[0])
        except (TypeError, ValueError, KeyError, AttributeError) as err:
            self._bad(seq, f"its baseline of the tables cannot be read ({type(err).__name__})")
            return
        for name, rows in taken.items():
            if name == "items":
                self.tables[name] = {key: ItemRow(*(row[c] for c in ItemRow.__slots__)) for key, row in rows}
            elif name == "matrix_rows":
                matrix = self.tables[name] = Matrix()
                matrix.put([(*key, row["description"], row["present_by"], row["owner"]) for key, row in rows])
            elif name not in STREAMED:
                self.tables[name] = dict(rows)
        self._open, self._withdrawn, self._bundle, self._evidenced = {}, {}, {}, {}
        self._standing.close()
        self._unchecked = set()
        for name in STREAMED:
            cols = TABLES[name][1]
            for key, row in taken[name]:
                values = tuple(row[c] for c in cols)
                if name == "challenges":
                    answer = tuple(row[c] for c in ANSWER_COLUMNS)
                    if not self._made(seq, name, key[0], values[: -len(ANSWER_COLUMNS)] + UNANSWERED):
                        continue
                    if row["answered_at"] is not None:
                        self.sink.answered(key, answer)
                    else:
                        self._open.setdefault(row["ref"], []).append(key[0])
                elif self._made(seq, name, key[0], values):
                    if name == "submissions":
                        self._bundle[row["ref"]] = (key[0], row["bundle_digest"], row["submitted_at"])
                    elif name == "evidence":
                        self._stand(row["ref"], key[0], values)
                    elif name == "withdrawals":
                        self._withdrawn[row["evidence_id"]] = row["ref"]
        for _, row in taken["evidence"]:
            if row["supersedes_id"] is not None:
                self._standing.remove(row["ref"], row["supersedes_id"])
        for ev_id, ref in self._withdrawn.items():
            self._standing.remove(ref, ev_id)
        self._sets = {}
        for (ruleset, name), row in self.tables["workflow_defs"].items():
            self._sets.setdefault(ruleset, {})[name] = row["source"]
        in_force = self.tables["meta"].get(("rules_in_force",))
        self._rules = (
            rules_from_sources(self._sets[in_force["value"]]) if in_force and in_force["value"] in self._sets else None
        )
        self.full = True

    # -- the result ------------------------------------------------------------------------------------

    @property
    def _matrix(self) -> Matrix:
        matrix = self.tables["matrix_rows"]
        assert isinstance(matrix, Matrix)
        return matrix

    def rows(self) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
        """Every table replay keeps whole, as {key: values in TABLES' column order} (not the STREAMED ones)."""
        return {name: self.rows_of(name) for name in self.tables}

    def rows_of(self, name: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        """One table replay keeps whole, as {key: values in TABLES' column order}."""
        rows = self.tables[name]
        if isinstance(rows, Matrix):
            return rows.rows()
        return {key: tuple(row[c] for c in TABLES[name][1]) for key, row in rows.items()}

    def take(self, name: str) -> Any:
        """``rows_of(name)`` to be popped by key and iterated for the keys left, letting go of
        replay's own copy: for a walk that is finished (the matrix rows unpacked as they are taken)."""
        rows = self.tables[name]
        if isinstance(rows, Matrix):
            self.tables[name] = Matrix()
            return rows.taker()
        taken = self.rows_of(name)
        self.tables[name] = {}
        return taken


def _shared(value: Any) -> Any:
    """One copy of a string many rows repeat (a key, a date, an owner); anything else as it is."""
    return _intern(value) if type(value) is str else value


def _key_of(packed: bytes) -> Any:
    """The matrix key of a standing evidence record, packed as its bundle entry's values."""
    return json.loads(packed)[1]


def _id_of(packed: bytes) -> int:
    """The id of a standing evidence record (the first of its packed values, an integer)."""
    return int(packed[1 : packed.index(b",")])


_ABSENT: Any = object()  # no such matrix row


class Matrix:
    """The matrix rows replay keeps: for the walk, each item's {key: present_by}; for the final
    comparison only, each item's rows' description and owner, packed as one compressed JSON array of
    ``[key, description, owner, n]`` (n: the order rows were made in, which ``rows()`` keeps), in a
    private scratch SQLite file. A board's fifty thousand rows are thus tens of thousands of objects, not hundreds."""

    __slots__ = ("_due", "_made", "_rest")

    def __init__(self) -> None:
        self._due: dict[Any, dict[Any, Any]] = {}
        self._rest = _Blobs()  # read only at the end, and when rows are added or removed
        self._made = 0

    def due(self, ref: Any, key: Any) -> Any:
        """The row's present_by, or _ABSENT if the matrix has no such row."""
        return self._due.get(ref, {}).get(key, _ABSENT)

    def put(self, rows: Any, check: Any = None) -> None:
        """Rows (ref, key, description, present_by, owner) made, or made again in place, in order;
        ``check(ref)`` is called on each before it is made. Rows made before one that cannot be
        (it raises) stay made."""
        new: dict[Any, list[tuple[Any, Any, Any]]] = {}
        try:
            for ref, key, description, present_by, owner in rows:
                if check is not None:
                    check(ref)
                ref, key = _shared(ref), _shared(key)
                self._due.setdefault(ref, {})[key] = _shared(present_by)
                new.setdefault(ref, []).append((key, description, owner))
        finally:
            self._pack(new)

    def _pack(self, new: dict[Any, list[tuple[Any, Any, Any]]]) -> None:
        for ref, added in new.items():
            rest = self._unpack(ref)
            for key, description, owner in added:
                if key in rest:
                    rest[key][:2] = [description, owner]
                else:
                    self._made += 1
                    rest[key] = [description, owner, self._made]
            self._rest.put(ref, _deflate(rest))

    def move(self, ref: Any, key: Any, present_by: Any) -> None:
        self._due[ref][key] = _shared(present_by)

    def remove(self, ref: Any, key: Any) -> None:
        del self._due[ref][key]
        rest = self._unpack(ref)
        del rest[key]
        self._rest.put(ref, _deflate(rest))

    def _unpack(self, ref: Any) -> dict[Any, list[Any]]:
        packed = self._rest.get(ref)
        return {row[0]: row[1:] for row in json.loads(zlib.decompress(packed))} if packed else {}

    def rows(self) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        """{(ref, key): (description, present_by, owner)}, in the order the rows were made."""
        made = []
        for ref, due in self._due.items():
            for key, (description, owner, n) in self._unpack(ref).items():
                made.append((n, (ref, key), (description, due[key], owner)))
        made.sort(key=lambda row: row[0])
        return {key: values for _, key, values in made}

    def taker(self) -> Taken:
        """The rows, to be taken one by one (as a table is compared) without unpacking them all."""
        return Taken(self)


def _deflate(rest: dict[Any, list[Any]]) -> bytes:
    """An item's rows' descriptions and owners, packed and compressed: read only at the end, when
    the table is compared, they are the bulk of what replay holds of a large matrix."""
    return zlib.compress(_pack([[key, *held] for key, held in rest.items()]).encode("ascii"), 1)


class Taken:
    """A Matrix's rows taken by key, ``pop`` as on the dict ``Matrix.rows()`` gives: one item's rows
    unpacked at a time, so comparing the table never holds them all. Iterating gives the keys
    never taken, in the order the rows were made. The Matrix is used up."""

    __slots__ = ("_matrix", "_ref", "_rest")

    def __init__(self, matrix: Matrix) -> None:
        self._matrix = matrix
        self._ref: Any = _ABSENT
        self._rest: dict[Any, list[Any]] = {}

    def pop(self, key: tuple[Any, ...], default: Any = None) -> Any:
        ref, row_key = key
        try:
            due = self._matrix._due[ref]
            present_by = due.pop(row_key)
        except (KeyError, TypeError):
            return default
        if ref != self._ref:
            self._ref, self._rest = ref, self._matrix._unpack(ref)
        description, owner, _ = self._rest[row_key]
        return (description, present_by, owner)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        left: list[tuple[int, tuple[Any, ...]]] = []
        for ref, due in self._matrix._due.items():
            if due:
                rest = self._matrix._unpack(ref)
                left.extend((rest[key][2], (ref, key)) for key in due)
        left.sort(key=lambda row: row[0])
        return iter([key for _, key in left])


class ItemRow:
    """An item as replay keeps it: its columns in TABLES' order, read and set by name like a row
    (``item["state"]``), in a third of the memory of a dict of them."""

    __slots__ = TABLES["items"][1]

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)

    # item["state"] reads the slot, as fast as an attribute (a plain method would cost a call).
    __getitem__ = object.__getattribute__
    __setitem__ = object.__setattr__


class Standing:
    """Each item's standing evidence, in id order: its records' bundle entry values packed as
    JSON arrays (``[id,key,...]``).

    They are the bulk of what replay holds of a board (some 190 bytes a record), so they are kept,
    one row a record, in a private scratch SQLite database, made on the first record and deleted
    when closed (or when the process ends): memory stays the same whatever the size of the board.
    A record is written once when it comes to stand and deleted when superseded or withdrawn; an
    item's are read back only when a bundle is frozen. (A forged record whose item is not named
    by text keeps its evidence in memory, where any value can be a key.)"""

    __slots__ = ("_db", "_other")

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._other: dict[Any, bytes] = {}  # ref that is not text → its records, one a line

    def close(self) -> None:
        """Let go of every record and delete the scratch file."""
        if self._db is not None:
            self._db.close()
        self._db, self._other = None, {}

    def entries(self, ref: Any) -> list[bytes]:
        if type(ref) is not str:
            held = self._other.get(ref)
            return held.split(b"\n") if held else []
        if self._db is None:
            return []
        return [row[0] for row in self._db.execute(_ENTRIES, (ref,))]

    def frozen(self, ref: Any) -> tuple[list[int], list[bytes]]:
        """The ids of ``ref``'s standing records, in id order, and their bundle entries as
        ``bundle.encoded`` makes them (given to ``add``)."""
        if type(ref) is not str:
            fields, held = bundle.ENTRY_FIELDS, self.entries(ref)
            encoded = [bundle.encoded(dict(zip(fields, json.loads(p), strict=True))) for p in held]
            return [_id_of(packed) for packed in held], encoded
        rows = self._db.execute(_FROZEN, (ref,)).fetchall() if self._db is not None else []
        return [int(head[1:-1]) for head, _ in rows], [entry for _, entry in rows]

    def add(self, ref: Any, packed: bytes, encoded: bytes = b"") -> None:
        """A record that stands from now on: its id is above every standing one (ids only grow);
        ``encoded``, its bundle entry, where its values fit one."""
        if type(ref) is not str:
            held = self._other.get(ref)
            self._other[ref] = held + b"\n" + packed if held else packed
            return
        db = self._db
        if db is None:
            db = self._db = _scratch(
                "CREATE TABLE standing (ref TEXT NOT NULL, head BLOB NOT NULL, packed BLOB NOT NULL, entry BLOB)",
                "CREATE INDEX standing_by_record ON standing (ref, head)",
            )
        head = packed[: packed.index(b",") + 1]  # b"[id,": the record's id, as written
        db.execute("INSERT INTO standing VALUES (?, ?, ?, ?)", (ref, head, packed, encoded))

    def get(self, ref: Any, ev_id: int) -> bytes | None:
        prefix = b"[%d," % ev_id
        return next((packed for packed in self.entries(ref) if packed.startswith(prefix)), None)

    def remove(self, ref: Any, ev_id: Any, key: bytes = b"") -> bool:
        """Whether ``ev_id`` stood for ``ref`` (it no longer does); given ``key`` (its packed JSON),
        only if it stood for that matrix row."""
        if not isinstance(ev_id, int):
            return False
        head = b"[%d," % ev_id
        if type(ref) is str:
            if self._db is None:
                return False
            if not key:
                return self._db.execute(_REMOVE, (ref, head)).rowcount > 0
            # the key follows the id: the records of the id whose packed values go on with the key
            lead = head + key + b","
            return self._db.execute(_REMOVE_KEYED, (ref, head, lead, lead + b"\xff")).rowcount > 0
        prefix = head + key + b"," if key else head
        entries = self.entries(ref)
        kept = [packed for packed in entries if not packed.startswith(prefix)]
        if len(kept) == len(entries):
            return False
        if kept:
            self._other[ref] = b"\n".join(kept)
        else:
            del self._other[ref]
        return True


# In insertion order, which is id order (ids only grow).
_ENTRIES = "SELECT packed FROM standing WHERE ref = ? ORDER BY rowid"
_FROZEN = "SELECT head, entry FROM standing WHERE ref = ? ORDER BY rowid"
_REMOVE = "DELETE FROM standing WHERE ref = ? AND head = ?"
_REMOVE_KEYED = "DELETE FROM standing WHERE ref = ? AND head = ? AND packed >= ? AND packed < ?"


class _Blobs:
    """A bytes value for each item ref, kept in a private scratch SQLite file (a forged record's
    ref that is not text, in memory, where any value can be a key)."""

    __slots__ = ("_db", "_other")

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._other: dict[Any, bytes] = {}

    def get(self, ref: Any) -> bytes | None:
        if type(ref) is not str:
            return self._other.get(ref)
        row = self._db.execute("SELECT value FROM blobs WHERE ref = ?", (ref,)).fetchone() if self._db else None
        return row[0] if row is not None else None

    def put(self, ref: Any, value: bytes) -> None:
        if type(ref) is not str:
            self._other[ref] = value
            return
        if self._db is None:
            self._db = _scratch("CREATE TABLE blobs (ref TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID")
        self._db.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?)", (ref, value))


def _scratch(*schema: str) -> sqlite3.Connection:
    """A private scratch database: SQLite's own temporary file, deleted when it is closed (or
    dropped), with a small page cache (the rest of its pages on disk) and no journal."""
    db = sqlite3.connect("", isolation_level=None)
    db.execute("PRAGMA cache_size = -2048")
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    for sql in schema:
        db.execute(sql)
    db.execute("BEGIN")  # one transaction for the walk: nothing is ever committed to keep
    return db
