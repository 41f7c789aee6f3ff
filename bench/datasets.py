"""Build the benchmark's data sets: a 10,000-item register and a 1,000,000-record audit log.

The register is created by the real ``signoff init`` (so the migrations run) and filled by the
real ``matrix import`` CSV path; evidence and a spread of states are then added with stdlib
sqlite3. The audit log is a second register whose long chain is one signoff could have written
(``build_chain_register``): every record legal under replay, every table row the one it made.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import hashlib
import random
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signoff.domain import chain
from signoff.domain.matrix import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

SECRETARY = "sec"
CHAIR = "chair"
KINDS = ("ofsted-recommendation", "improvement-notice")
DATED = "2024-01-15"
RECORDED = "2024-01-15T09:00:00.000000+00:00"


def signoff_cmd(*args: str, db: Path | None = None, actor: str | None = None) -> list[str]:
    from bench.proc import signoff_exe

    cmd = [*signoff_exe()]
    if db is not None:
        cmd += ["--db", str(db)]
    if actor is not None:
        cmd += ["--as", actor]
    return cmd + list(args)


def init_register(db: Path, workflows: Path | None = None) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    pinned = ["--workflows", str(workflows)] if workflows is not None else []
    subprocess.run(signoff_cmd("init", "--secretary", SECRETARY, *pinned, db=db), check=True, capture_output=True)


def unsigned_workflows(folder: Path) -> Path:
    """A copy of the shipped workflows in ``folder`` with every ``signed = true`` line left out.

    The long register is pinned with these so that approvals and re-openings need no signature:
    replay is timed on its own, and the cost of checking signatures has its own case
    (verify.signatures, bench/signatures.py).
    """
    from signoff.engine.workflow import shipped_dir

    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(shipped_dir().glob("*.toml")):
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if line.split("#")[0].replace(" ", "").strip() != "signed=true"]
        (folder / source.name).write_text("".join(kept), encoding="utf-8")
    return folder


def add_chair(db: Path) -> None:
    subprocess.run(
        signoff_cmd("user", "add", CHAIR, "--role", "chair", db=db, actor=SECRETARY), check=True, capture_output=True
    )


def ref(i: int) -> str:
    return f"BX-{i:05d}"


def write_matrix_csv(path: Path, items: int, rows_per_item: int) -> Path:
    rnd = random.Random(7)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
        for i in range(items):
            kind = KINDS[i % 2]
            due = f"20{25 + i % 3}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            title = f"Recommendation {i}: improve the timeliness of assessments — café review {rnd.randint(0, 999)}"
            for k in range(rows_per_item):
                present = f"20{24 + (i + k) % 3}-{1 + (i * 7 + k) % 12:02d}-{1 + (i + k) % 28:02d}"
                present = min(present, due)  # evidence is presented by the item's due date, never after
                w.writerow(
                    (
                        ref(i),
                        kind,
                        title,
                        due,
                        f"key-{k}",
                        f"Evidence {k} for item {i}: case audit sample, minutes, performance data",
                        present,
                        f"Officer {i % 40}",
                        f"Lead {k}",
                    )
                )
    return path


def add_evidence_and_states(db: Path, items: int) -> list[str]:
    """Cover every matrix row of two thirds of the items with a note; move a spread of items on.

    Returns the refs of fully covered items still 'proposed', ready to be submitted.
    """

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    rows = conn.execute(
        "SELECT i.id, i.ref, m.key FROM items i JOIN matrix_rows m ON m.item_id = i.id ORDER BY i.id, m.id"
    ).fetchall()
    evidence = []
    covered: dict[int, str] = {}
    for n, (item_id, item_ref, key) in enumerate(rows):
        idx = int(item_ref[3:])
        if idx % 3 == 0 and n % 2 == 0:
            continue  # partly covered: amber/red on the board
        note = f"Minutes of the panel on {DATED}, item {item_ref}, {key}"
        evidence.append(
            (
                item_id,
                key,
                "note",
                note,
                hashlib.sha256(note.encode()).hexdigest(),
                DATED,
                RECORDED,
                SECRETARY,
            )
        )
        if idx % 3 != 0:
            covered[item_id] = item_ref
    conn.executemany(
        "INSERT INTO evidence (item_id, key, kind, note, sha256, dated, recorded_at, added_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        evidence,
    )
    # A spread of states so the board and 'item list --state proposed' are realistic.
    moved = [i for i in covered if i % 10 in (1, 2, 4)]
    conn.executemany(
        "UPDATE items SET state = CASE WHEN id % 10 = 4 THEN 'signed_off' ELSE 'evidence_submitted' END,"
        " version = version + 1 WHERE id = ?",
        [(i,) for i in moved],
    )
    conn.execute("COMMIT")
    conn.close()
    moved_set = set(moved)
    return [r for i, r in sorted(covered.items()) if i not in moved_set]


# ---- a legal register with a long chain ---------------------------------------------------------
#
# ``audit verify`` replays the chain and reconciles every table with it (engine/replay.py), so the
# log it is timed on must be one signoff could have written: every record legal where it stands,
# and every table row the one its record made. ``build_chain_register`` starts from a real register
# (init, users, a meeting and the matrix import go through the CLI) and then writes item cycles
# with stdlib sqlite3 exactly as the services would: evidence.add -> submit -> challenge ->
# evidence.add (a correction) -> resubmit -> approve -> reopen -> ..., with some refused attempts.

MEMBER = "member"
_NOTE = "Minutes of the panel, {ref} {key}, round {round}"


@dataclass
class _Item:
    id: int
    ref: str
    flow: Any  # engine.workflow.Workflow
    keys: list[str]
    state: str
    version: int = 1
    last_transition_at: str = ""
    standing: list[dict[str, Any]] = field(default_factory=list)  # bundle.entry of each standing record
    last_seq: int = 0  # the seq of the item's latest record: the next one's item_prev


class _Writer:
    """Assigns seqs, times and ids; chains and buffers records and rows; commits in big transactions."""

    def __init__(self, conn: sqlite3.Connection, ruleset: str) -> None:
        self.conn = conn
        self.ruleset = ruleset
        database_id = conn.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()[0]
        head = conn.execute("SELECT seq, hash, recorded_at FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        self.seq: int
        self.prev: str
        self.seq, self.prev, last = head if head else (0, chain.genesis(database_id), None)
        self.base = dt.datetime.fromisoformat(last) if last else dt.datetime.now(dt.UTC)
        self.ids = {
            t: conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}").fetchone()[0]
            for t in ("evidence", "submissions", "challenges", "approvals")
        }
        self.audit: list[tuple[Any, ...]] = []
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _INSERT}
        self.answered: list[tuple[Any, ...]] = []
        self.dirty: dict[int, _Item] = {}

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return int(self.ids[table])

    def now(self) -> str:
        """The time of the record about to be written: one microsecond after the one before."""
        return (self.base + dt.timedelta(microseconds=self.seq + 1)).isoformat(timespec="microseconds")

    def record(
        self,
        at: str,
        actor: str,
        roles: str,
        event: str,
        outcome: str,
        detail: dict[str, Any],
        item_ref: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        workflow_hash: str | None = None,
    ) -> None:
        self.seq += 1
        rec = {
            "seq": self.seq,
            "recorded_at": at,
            "actor": actor,
            "roles": roles,
            "item_ref": item_ref,
            "event": event,
            "from_state": from_state,
            "to_state": to_state,
            "outcome": outcome,
            "detail": chain.detail_text(detail),
            "workflow_hash": workflow_hash if workflow_hash is not None else self.ruleset,
            "prev_hash": self.prev,
        }
        rec["hash"] = self.prev = chain.record_hash(rec)
        self.audit.append(tuple(rec[f] for f in chain.EXPORT_FIELDS))

    def flush(self) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        fields = chain.EXPORT_FIELDS
        c.executemany(f"INSERT INTO audit ({', '.join(fields)}) VALUES ({', '.join('?' for _ in fields)})", self.audit)
        for table, cols in _INSERT.items():
            c.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", self.rows[table]
            )
        c.executemany(
            "UPDATE challenges SET response = ?, answered_at = ?, answered_by = ? WHERE id = ?", self.answered
        )
        c.executemany(
            "UPDATE items SET state = ?, version = ?, last_transition_at = ? WHERE id = ?",
            [(i.state, i.version, i.last_transition_at, i.id) for i in self.dirty.values()],
        )
        c.execute("COMMIT")
        self.audit.clear()
        self.answered.clear()
        self.dirty.clear()
        for rows in self.rows.values():
            rows.clear()


_INSERT: dict[str, tuple[str, ...]] = {
    "evidence": ("id", "item_id", "key", "kind", "note", "sha256", "dated", "recorded_at", "added_by", "supersedes_id"),
    "submissions": ("id", "item_id", "event", "submitted_at", "submitted_by", "bundle_digest", "evidence_ids"),
    "challenges": ("id", "item_id", "event", "raised_at", "raised_by", "reason"),
    "approvals": ("id", "item_id", "submission_id", "approved_at", "approved_by", "meeting", "bundle_digest"),
}


_ROLES = {SECRETARY: "secretary", CHAIR: "chair", MEMBER: "member"}


def _cycle(w: _Writer, item: _Item, meeting: str) -> Iterator[None]:
    """An item's life, one record per step; a bare ``yield`` after each step lets the next item go.

    Each step writes its record and rows before yielding, so the chain may stop after any step.
    Approvals and re-openings name ``meeting``, a held meeting on the register's calendar.
    """
    from signoff.domain import bundle

    ref, flow = item.ref, item.flow
    frozen: tuple[int, str] = (0, "")  # the latest submission: id and bundle digest

    def record(at: str, actor: str, event: str, outcome: str, detail: dict[str, Any], *where: Any) -> None:
        # UnitOfWork.audit: every record about an item links to the item's record before it.
        w.record(at, actor, _ROLES[actor], event, outcome, {**detail, "item_prev": item.last_seq}, ref, *where)
        item.last_seq = w.seq

    def add_evidence(key: str, rnd: int, supersedes: dict[str, Any] | None) -> None:
        at = w.now()
        note = _NOTE.format(ref=ref, key=key, round=rnd)
        digest = bundle.note_digest(note)
        old = supersedes["id"] if supersedes else None
        ev = bundle.entry(
            {
                **dict.fromkeys(bundle.ENTRY_FIELDS),
                "id": w.next_id("evidence"),
                "key": key,
                "kind": "note",
                "sha256": digest,
                "dated": DATED,
                "supersedes": old,
                "added_by": SECRETARY,
                "recorded_at": at,
            }
        )
        # The detail services/evidence.py writes for a note.
        detail: dict[str, Any] = {"evidence_id": ev["id"], "key": key, "kind": "note", "sha256": digest, "dated": DATED}
        if supersedes is not None:
            detail["supersedes"] = old
            item.standing.remove(supersedes)
        item.standing.append(ev)
        w.rows["evidence"].append((ev["id"], item.id, key, "note", note, digest, DATED, at, SECRETARY, old))
        record(at, SECRETARY, "evidence.add", "applied", detail, item.state, item.state, flow.digest)

    def move(at: str, event: str, actor: str, detail: dict[str, Any]) -> None:
        to = flow.events[event].dest
        record(at, actor, event, "applied", detail, item.state, to, flow.digest)
        item.state, item.version, item.last_transition_at = to, item.version + 1, at
        w.dirty[item.id] = item

    def freeze(at: str, event: str, detail: dict[str, Any]) -> None:
        nonlocal frozen
        sub = w.next_id("submissions")
        digest = bundle.digest(item.standing)
        ids = sorted(int(str(e["id"])) for e in item.standing)
        detail.update(submission_id=sub, bundle=digest, evidence_ids=ids)
        w.rows["submissions"].append((sub, item.id, event, at, SECRETARY, digest, ",".join(map(str, ids))))
        frozen = (sub, digest)

    def refuse(actor: str, event: str, detail: dict[str, Any], failure: str, looked_at: bool) -> None:
        # A permission refused before the item was loaded names the item only (services/common.py).
        state, wf = (item.state, flow.digest) if looked_at else (None, None)
        record(w.now(), actor, event, "refused", {**detail, "failures": [failure]}, state, state, wf)

    if item.id % 7 == 0:
        refuse(MEMBER, "evidence.add", {}, "permission: evidence add needs the role secretary", looked_at=False)
        yield
    for key in item.keys:
        add_evidence(key, 0, None)
        yield
    at = w.now()
    detail: dict[str, Any] = {}
    freeze(at, "submit", detail)
    move(at, "submit", SECRETARY, detail)
    rnd, challenger = 0, MEMBER
    while True:
        yield
        at = w.now()
        challenge = w.next_id("challenges")
        event = "challenge" if rnd == 0 else "reopen"
        reason = f"The board asks for the {item.keys[rnd % len(item.keys)]} evidence again (round {rnd})"
        w.rows["challenges"].append((challenge, item.id, event, at, challenger, reason))
        raised: dict[str, Any] = {"reason": reason, "challenge_id": challenge}
        if event == "reopen":  # a decision of the board: it names the meeting that took it
            raised["meeting"] = meeting
        move(at, event, challenger, raised)
        yield
        rnd += 1
        key = item.keys[rnd % len(item.keys)]
        add_evidence(key, rnd, next(e for e in item.standing if e["key"] == key))
        yield
        at = w.now()
        response = f"Corrected {key} evidence attached (round {rnd})"
        # A resubmit answers every open challenge (here the one) with the response.
        detail = {"response": response, "answers_challenges": [[challenge, response]]}
        w.answered.append((response, at, SECRETARY, challenge))
        freeze(at, "resubmit", detail)
        move(at, "resubmit", SECRETARY, detail)
        yield
        if rnd % 3 == 1:  # a member tries to sign the item off
            refuse(MEMBER, "approve", {"meeting": meeting}, "permission: approve needs the role chair", looked_at=True)
            yield
        at = w.now()
        approval = w.next_id("approvals")
        sub, digest = frozen
        w.rows["approvals"].append((approval, item.id, sub, at, CHAIR, meeting, digest))
        move(
            at, "approve", CHAIR, {"meeting": meeting, "approval_id": approval, "submission_id": sub, "bundle": digest}
        )
        challenger = CHAIR  # from now on the chair reopens it


def build_chain_register(db: Path, total: int, items: int, rows_per_item: int, batch: int = 50_000) -> int:
    """A register signoff could have written, whose audit chain holds ``total`` records; returns the head seq.

    The first records are the CLI's own (init, users, a meeting, the matrix import of ``items``
    items with ``rows_per_item`` rows each); the rest cycle every item round the board, item by
    item in turn, written straight into SQLite with the table rows each record makes. The rules
    pinned are the shipped ones without ``signed = true`` (``unsigned_workflows``): approvals and
    re-openings carry no signature here, whose checking the bench times on its own.
    """
    from signoff.engine.workflow import rules_from_sources

    init_register(db, unsigned_workflows(db.with_suffix(".workflows")))
    add_chair(db)
    # The board's decisions name a held meeting: today's (a build that runs past midnight would
    # date its later submissions after it, and approvals of them would be refused).
    meeting = dt.date.today().isoformat()
    member = ("user", "add", MEMBER, "--role", "member")
    for cmd in (member, ("meeting", "add", DATED), ("meeting", "add", meeting)):
        subprocess.run(signoff_cmd(*cmd, db=db, actor=SECRETARY), check=True, capture_output=True)
    csv_path = write_matrix_csv(db.with_suffix(".matrix.csv"), items, rows_per_item)
    subprocess.run(
        signoff_cmd("matrix", "import", str(csv_path), db=db, actor=SECRETARY), check=True, capture_output=True
    )
    csv_path.unlink()

    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    in_force = conn.execute("SELECT value FROM meta WHERE key = 'rules_in_force'").fetchone()[0]
    rules = rules_from_sources(
        dict(conn.execute("SELECT name, source FROM workflow_defs WHERE ruleset = ?", (in_force,)).fetchall())
    )
    keys: dict[int, list[str]] = {}
    for item_id, key in conn.execute("SELECT item_id, key FROM matrix_rows ORDER BY id"):
        keys.setdefault(item_id, []).append(key)
    last_seq = dict(
        conn.execute("SELECT item_ref, MAX(seq) FROM audit WHERE item_ref IS NOT NULL GROUP BY item_ref").fetchall()
    )
    w = _Writer(conn, rules.digest)
    cycles: collections.deque[Iterator[None]] = collections.deque(
        _cycle(w, _Item(i, r, rules.flows[k], keys[i], st, v, lt, last_seq=last_seq.get(r, 0)), meeting)
        for i, r, k, st, v, lt in conn.execute(
            "SELECT id, ref, kind, state, version, last_transition_at FROM items ORDER BY id"
        ).fetchall()
    )
    while w.seq < total and cycles:
        steps = cycles.popleft()
        next(steps)
        cycles.append(steps)
        if len(w.audit) >= batch:
            w.flush()
    w.flush()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return w.seq
