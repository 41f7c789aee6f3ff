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
import sys
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


def signoff_cmd(*args: str, db: Path | None = None, actor: str | None = None, shift_days: int = 0) -> list[str]:
    """The signoff command line; with ``shift_days`` its clock runs that many days back (bench/shifted.py)."""
    from bench.proc import signoff_exe

    if shift_days:
        cmd = [sys.executable, str(Path(__file__).with_name("shifted.py")), str(shift_days)]
    else:
        cmd = [*signoff_exe()]
    if db is not None:
        cmd += ["--db", str(db)]
    if actor is not None:
        cmd += ["--as", actor]
    return cmd + list(args)


def remove_db(path: Path) -> None:
    """A register file and the -wal and -shm files SQLite may have left beside it."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def init_register(db: Path, workflows: Path | None = None, shift_days: int = 0) -> None:
    remove_db(db)
    pinned = ["--workflows", str(workflows)] if workflows is not None else []
    subprocess.run(
        signoff_cmd("init", "--secretary", SECRETARY, *pinned, db=db, shift_days=shift_days),
        check=True,
        capture_output=True,
    )


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


def add_chair(db: Path, shift_days: int = 0) -> None:
    subprocess.run(
        signoff_cmd("user", "add", CHAIR, "--role", "chair", db=db, actor=SECRETARY, shift_days=shift_days),
        check=True,
        capture_output=True,
    )


def ref(i: int) -> str:
    return f"BX-{i:05d}"


def matrix_rows(items: int, rows_per_item: int) -> Iterator[tuple[str, ...]]:
    """The matrix's header and its rows, ``rows_per_item`` for each of ``items`` items, as text."""
    rnd = random.Random(7)
    yield (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    for i in range(items):
        kind = KINDS[i % 2]
        due = f"20{25 + i % 3}-{1 + i % 12:02d}-{1 + i % 28:02d}"
        title = f"Recommendation {i}: improve the timeliness of assessments — café review {rnd.randint(0, 999)}"
        for k in range(rows_per_item):
            present = f"20{24 + (i + k) % 3}-{1 + (i * 7 + k) % 12:02d}-{1 + (i + k) % 28:02d}"
            present = min(present, due)  # evidence is presented by the item's due date, never after
            yield (
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


def write_matrix_csv(path: Path, items: int, rows_per_item: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(matrix_rows(items, rows_per_item))
    return path


def write_matrix_xlsx(path: Path, items: int, rows_per_item: int) -> Path:
    """The same matrix as ``write_matrix_csv``, as an Excel workbook saved by openpyxl's write-only
    mode: its dates are date cells, its text is in the shared-strings table, and its sheet has no
    ``<dimension>`` element (Excel and LibreOffice write one; this mode does not), so a reader
    cannot learn the sheet's size before reading its rows."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Matrix")
    dates = {REQUIRED_COLUMNS.index("item_due"), REQUIRED_COLUMNS.index("present_by")}
    for n, row in enumerate(matrix_rows(items, rows_per_item)):
        ws.append([dt.date.fromisoformat(v) if n and i in dates else v for i, v in enumerate(row)])
    wb.save(path)
    return path


def write_evidence_csv(path: Path, records: int, rows_per_item: int) -> Path:
    """An ``evidence import`` sheet of ``records`` rows against the matrix of ``write_matrix_csv``:
    notes and measures in turn, one record per item (its first matrix row), dated yesterday."""
    from signoff.services.evidence_import import COLUMNS

    dated = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for n in range(records):
            r = {"item_ref": ref(n), "evidence_key": f"key-{n % rows_per_item}", "dated": dated}
            if n % 2:
                r.update(measure=f"M{n % 50}", value=str(10 + n % 40), unit="days", period="2026", threshold="30")
                r["direction"] = "at-most"
            else:
                r["note"] = f"Minutes of the executive group, item {n}: case audit sample reviewed"
            w.writerow([r.get(c, "") for c in COLUMNS])
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
    due: str | None = None
    original_due: str | None = None


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
        self.ids = {t: conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t}").fetchone()[0] for t in _INSERT}
        # Board registers spread their records over weeks (``spread``): each round of the items'
        # lives starts ``step`` after the one before, and records within a round are a microsecond apart.
        self.step = dt.timedelta(0)
        self.round = 0
        self.round_seq0 = 0
        self.audit: list[tuple[Any, ...]] = []
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _INSERT}
        self.answered: list[tuple[Any, ...]] = []
        self.dirty: dict[int, _Item] = {}

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return int(self.ids[table])

    def now(self) -> str:
        """The time of the record about to be written: one microsecond after the one before."""
        offset = self.step * self.round + dt.timedelta(microseconds=self.seq + 1 - self.round_seq0)
        return (self.base + offset).isoformat(timespec="microseconds")

    def next_round(self) -> None:
        self.round += 1
        self.round_seq0 = self.seq

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
            "UPDATE items SET state = ?, version = ?, last_transition_at = ?, due = ?, original_due = ? WHERE id = ?",
            [(i.state, i.version, i.last_transition_at, i.due, i.original_due, i.id) for i in self.dirty.values()],
        )
        c.execute("COMMIT")
        self.audit.clear()
        self.answered.clear()
        self.dirty.clear()
        for rows in self.rows.values():
            rows.clear()


_INSERT: dict[str, tuple[str, ...]] = {
    "evidence": (
        *("id", "item_id", "key", "kind", "note", "sha256", "dated", "recorded_at", "added_by", "supersedes_id"),
        *("measure", "value", "unit", "period", "threshold", "direction"),
    ),
    "submissions": ("id", "item_id", "event", "submitted_at", "submitted_by", "bundle_digest", "evidence_ids"),
    "challenges": ("id", "item_id", "event", "raised_at", "raised_by", "reason"),
    "approvals": ("id", "item_id", "submission_id", "approved_at", "approved_by", "meeting", "bundle_digest"),
    "withdrawals": ("id", "evidence_id", "item_id", "withdrawn_at", "withdrawn_by", "reason"),
    "reschedules": ("id", "item_id", "from_due", "to_due", "reason", "changed_by", "changed_at"),
    "meetings": ("id", "date", "note", "added_by", "added_at"),
}


_ROLES = {SECRETARY: "secretary", CHAIR: "chair", MEMBER: "member"}


class _Life:
    """The steps of an item's life, each writing its record and rows exactly as the service would."""

    def __init__(self, w: _Writer, item: _Item) -> None:
        self.w, self.item = w, item
        self.frozen: tuple[int, str] = (0, "")  # the latest submission: id and bundle digest
        self.challenges: list[int] = []  # open challenges, answered by the next resubmit

    def record(self, at: str, actor: str, event: str, outcome: str, detail: dict[str, Any], *where: Any) -> None:
        # UnitOfWork.audit: every record about an item links to the item's record before it.
        item = self.item
        self.w.record(
            at, actor, _ROLES[actor], event, outcome, {**detail, "item_prev": item.last_seq}, item.ref, *where
        )
        item.last_seq = self.w.seq

    def add_evidence(
        self, key: str, rnd: int, supersedes: dict[str, Any] | None, measure: tuple[Any, ...] | None = None
    ) -> None:
        from signoff.domain import bundle

        w, item = self.w, self.item
        at = w.now()
        old = supersedes["id"] if supersedes else None
        cols: dict[str, Any] = dict.fromkeys(("measure", "value", "unit", "period", "threshold", "direction"))
        if measure is None:
            kind, note = "note", _NOTE.format(ref=item.ref, key=key, round=rnd)
            digest = bundle.note_digest(note)
        else:  # (name, value, unit, period, threshold, direction), as services/evidence.py stores it
            name, value, unit, period, threshold, direction = measure
            kind, note = "measure", None
            cols = dict(
                measure=name,
                value=repr(value),
                unit=unit,
                period=period,
                threshold=repr(threshold),
                direction=direction,
            )
            digest = bundle.measure_digest(*cols.values())
        ev = bundle.entry(
            {
                **dict.fromkeys(bundle.ENTRY_FIELDS),
                **cols,
                "id": w.next_id("evidence"),
                "key": key,
                "kind": kind,
                "sha256": digest,
                "dated": DATED,
                "supersedes": old,
                "added_by": SECRETARY,
                "recorded_at": at,
            }
        )
        # The detail services/evidence.py writes for a note or a measure.
        detail: dict[str, Any] = {"evidence_id": ev["id"], "key": key, "kind": kind, "sha256": digest, "dated": DATED}
        if measure is not None:
            detail.update(cols)
        if supersedes is not None:
            detail["supersedes"] = old
            item.standing.remove(supersedes)
        item.standing.append(ev)
        w.rows["evidence"].append(
            (ev["id"], item.id, key, kind, note, digest, DATED, at, SECRETARY, old, *cols.values())
        )
        self.record(at, SECRETARY, "evidence.add", "applied", detail, item.state, item.state, item.flow.digest)

    def withdraw(self, ev: dict[str, Any], reason: str) -> None:
        """services/corrections.py withdraw_evidence: the record stays, marked, and no longer stands."""
        w, item = self.w, self.item
        at = w.now()
        wid = w.next_id("withdrawals")
        w.rows["withdrawals"].append((wid, ev["id"], item.id, at, SECRETARY, reason))
        detail = {"withdrawal_id": wid, "evidence_id": ev["id"], "reason": reason}
        detail.update({f: ev[f] for f in ("key", "kind", "sha256", "dated", "added_by")})
        item.standing.remove(ev)
        self.record(at, SECRETARY, "evidence.withdraw", "applied", detail, item.state, item.state, item.flow.digest)

    def reschedule(self, to_due: str, reason: str) -> None:
        """services/schedule.py reschedule: the item's due date moves; the first one is kept."""
        w, item = self.w, self.item
        at = w.now()
        rid = w.next_id("reschedules")
        w.rows["reschedules"].append((rid, item.id, item.due, to_due, reason, SECRETARY, at))
        detail = {"reschedule_id": rid, "from_due": item.due, "to_due": to_due, "reason": reason}
        if item.original_due is None:
            item.original_due = item.due or to_due
        item.due = to_due
        w.dirty[item.id] = item
        self.record(at, SECRETARY, "item.reschedule", "applied", detail, item.state, item.state, w.ruleset)

    def move(self, at: str, event: str, actor: str, detail: dict[str, Any]) -> None:
        item = self.item
        to = item.flow.events[event].dest
        self.record(at, actor, event, "applied", detail, item.state, to, item.flow.digest)
        item.state, item.version, item.last_transition_at = to, item.version + 1, at
        self.w.dirty[item.id] = item

    def freeze(self, at: str, event: str, detail: dict[str, Any]) -> None:
        from signoff.domain import bundle

        w, item = self.w, self.item
        sub = w.next_id("submissions")
        digest = bundle.digest(item.standing)
        ids = sorted(int(str(e["id"])) for e in item.standing)
        detail.update(submission_id=sub, bundle=digest, evidence_ids=ids)
        w.rows["submissions"].append((sub, item.id, event, at, SECRETARY, digest, ",".join(map(str, ids))))
        self.frozen = (sub, digest)

    def refuse(self, actor: str, event: str, detail: dict[str, Any], failure: str, looked_at: bool) -> None:
        # A permission refused before the item was loaded names the item only (services/common.py).
        item = self.item
        state, wf = (item.state, item.flow.digest) if looked_at else (None, None)
        self.record(self.w.now(), actor, event, "refused", {**detail, "failures": [failure]}, state, state, wf)

    def submit(self) -> None:
        at = self.w.now()
        detail: dict[str, Any] = {}
        self.freeze(at, "submit", detail)
        self.move(at, "submit", SECRETARY, detail)

    def challenge(self, challenger: str, reason: str, meeting: str | None) -> None:
        """A challenge (or, with ``meeting``, a re-opening: a decision of the board that names it)."""
        w, item = self.w, self.item
        at = w.now()
        challenge = w.next_id("challenges")
        event = "challenge" if meeting is None else "reopen"
        w.rows["challenges"].append((challenge, item.id, event, at, challenger, reason))
        raised: dict[str, Any] = {"reason": reason, "challenge_id": challenge}
        if meeting is not None:
            raised["meeting"] = meeting
        self.move(at, event, challenger, raised)
        self.challenges.append(challenge)

    def resubmit(self, response: str) -> None:
        # A resubmit answers every open challenge with the response.
        w = self.w
        at = w.now()
        detail: dict[str, Any] = {"response": response, "answers_challenges": [[c, response] for c in self.challenges]}
        for c in self.challenges:
            w.answered.append((response, at, SECRETARY, c))
        self.challenges = []
        self.freeze(at, "resubmit", detail)
        self.move(at, "resubmit", SECRETARY, detail)

    def approve(self, meeting: str) -> None:
        w, item = self.w, self.item
        at = w.now()
        approval = w.next_id("approvals")
        sub, digest = self.frozen
        w.rows["approvals"].append((approval, item.id, sub, at, CHAIR, meeting, digest))
        self.move(
            at, "approve", CHAIR, {"meeting": meeting, "approval_id": approval, "submission_id": sub, "bundle": digest}
        )


def _cycle(w: _Writer, item: _Item, meeting: str) -> Iterator[None]:
    """An item's life, one record per step; a bare ``yield`` after each step lets the next item go.

    Each step writes its record and rows before yielding, so the chain may stop after any step.
    Approvals and re-openings name ``meeting``, a held meeting on the register's calendar.
    """
    life = _Life(w, item)
    if item.id % 7 == 0:
        life.refuse(MEMBER, "evidence.add", {}, "permission: evidence add needs the role secretary", looked_at=False)
        yield
    for key in item.keys:
        life.add_evidence(key, 0, None)
        yield
    life.submit()
    rnd, challenger = 0, MEMBER
    while True:
        yield
        reason = f"The board asks for the {item.keys[rnd % len(item.keys)]} evidence again (round {rnd})"
        life.challenge(challenger, reason, None if rnd == 0 else meeting)
        yield
        rnd += 1
        key = item.keys[rnd % len(item.keys)]
        life.add_evidence(key, rnd, next(e for e in item.standing if e["key"] == key))
        yield
        life.resubmit(f"Corrected {key} evidence attached (round {rnd})")
        yield
        if rnd % 3 == 1:  # a member tries to sign the item off
            life.refuse(
                MEMBER, "approve", {"meeting": meeting}, "permission: approve needs the role chair", looked_at=True
            )
            yield
        life.approve(meeting)
        challenger = CHAIR  # from now on the chair reopens it


def _setup(db: Path, items: int, rows_per_item: int, meetings: list[str], shift_days: int = 0) -> sqlite3.Connection:
    """The CLI's part of a generated register: init (unsigned rules), chair, member, meetings and the
    matrix import; then a connection ready for the generated records. ``shift_days`` runs these
    commands with the register's clock that many days back (bench/shifted.py)."""
    init_register(db, unsigned_workflows(db.with_suffix(".workflows")), shift_days=shift_days)
    add_chair(db, shift_days=shift_days)
    member = ("user", "add", MEMBER, "--role", "member")
    for cmd in (member, *(("meeting", "add", day) for day in meetings)):
        subprocess.run(
            signoff_cmd(*cmd, db=db, actor=SECRETARY, shift_days=shift_days), check=True, capture_output=True
        )
    csv_path = write_matrix_csv(db.with_suffix(".matrix.csv"), items, rows_per_item)
    subprocess.run(
        signoff_cmd("matrix", "import", str(csv_path), db=db, actor=SECRETARY, shift_days=shift_days),
        check=True,
        capture_output=True,
    )
    csv_path.unlink()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    return conn


def _items(conn: sqlite3.Connection) -> tuple[_Writer, list[_Item]]:
    from signoff.engine.workflow import rules_from_sources

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
    found = [
        _Item(i, r, rules.flows[k], keys[i], st, v, lt, last_seq=last_seq.get(r, 0), due=due, original_due=od)
        for i, r, k, st, v, lt, due, od in conn.execute(
            "SELECT id, ref, kind, state, version, last_transition_at, due, original_due FROM items ORDER BY id"
        ).fetchall()
    ]
    return _Writer(conn, rules.digest), found


def _close(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def build_chain_register(db: Path, total: int, items: int, rows_per_item: int, batch: int = 50_000) -> int:
    """A register signoff could have written, whose audit chain holds ``total`` records; returns the head seq.

    The first records are the CLI's own (init, users, a meeting, the matrix import of ``items``
    items with ``rows_per_item`` rows each); the rest cycle every item round the board, item by
    item in turn, written straight into SQLite with the table rows each record makes. The rules
    pinned are the shipped ones without ``signed = true`` (``unsigned_workflows``): approvals and
    re-openings carry no signature here, whose checking the bench times on its own.
    """
    # The board's decisions name a held meeting: today's (a build that runs past midnight would
    # date its later submissions after it, and approvals of them would be refused).
    meeting = dt.date.today().isoformat()
    conn = _setup(db, items, rows_per_item, [DATED, meeting])
    w, found = _items(conn)
    cycles: collections.deque[Iterator[None]] = collections.deque(_cycle(w, item, meeting) for item in found)
    while w.seq < total and cycles:
        steps = cycles.popleft()
        next(steps)
        cycles.append(steps)
        if len(w.audit) >= batch:
            w.flush()
    w.flush()
    _close(conn)
    return w.seq


# ---- a realistic board ---------------------------------------------------------------------------
#
# What a board's register looks like a quarter in: items in every state, open and answered
# challenges, decisions taken at weekly meetings, measures reported for successive periods (some
# missing their threshold), superseded and withdrawn evidence, reschedules, signed-off items, and
# items with no decision for more than 28 days (limbo). Its records are spread over ``BOARD_SPAN_DAYS``
# days up to now, so ``board`` judges limbo, missed meetings and overdue rows as it would live.

BOARD_SPAN_DAYS = 91
BOARD_ROUNDS = 50  # the longest life below, with its start delay, takes fewer rounds
_UNFINISHED = frozenset({1, 2, 3, 4, 8, 10, 11, 16, 18})  # fates that leave the item short of signed off
_MEASURE = "Assessments completed within 45 working days"


def _board_life(w: _Writer, item: _Item, meetings: list[str]) -> Iterator[None]:
    """One item's life on the board, by its fate (``item.id % 20``); a ``yield`` after each step
    (and a bare one to wait a round). The generator ends where the item's story stops."""
    life, keys, fate = _Life(w, item), item.keys, item.id % 20

    def meeting() -> str:  # the latest meeting held on or before the record's day
        day = w.now()[:10]
        return max((m for m in meetings if m <= day), default=meetings[0])

    def measure(period: str, value: float) -> tuple[Any, ...]:
        return (_MEASURE, value, "%", period, 90.0, "at-least")

    if fate == 0:
        return  # registered, nothing done since: limbo
    # Items start their lives at different times; those whose story stops short start latest, some
    # near enough the end that they are not (yet) in limbo.
    for _ in range((item.id // 20) % 5 * (9 if fate in _UNFINISHED else 6)):
        yield
    if fate % 7 == 3:
        life.refuse(MEMBER, "evidence.add", {}, "permission: evidence add needs the role secretary", looked_at=False)
        yield
    measured = fate in (5, 10, 16)
    for n, key in enumerate(keys):
        if fate in (1, 16) and n == 2:
            return  # part of the matrix covered, the rest overdue or due soon
        life.add_evidence(
            key, 0, None, measure("2026-Q1", 81.0 if fate == 10 else 88.5) if measured and n == 0 else None
        )
        yield
    if fate == 6 and len(keys) > 1:
        wrong = next(e for e in item.standing if e["key"] == keys[1])
        life.withdraw(wrong, "Sent in error: the minutes of another panel")
        yield
        life.add_evidence(keys[1], 1, None)
        yield
    if fate in (7, 10):
        life.reschedule("2027-09-30", "Timescale agreed with the inspectorate at the review")
        yield
    life.submit()
    yield
    if fate in (2, 10, 18):
        return  # waiting for the board
    life.challenge(MEMBER, f"The {keys[0]} evidence does not show the improvement claimed", None)
    yield
    if fate == 3:
        return  # an open challenge
    old = next(e for e in item.standing if e["key"] == keys[0])
    life.add_evidence(keys[0], 1, old, measure("2026-Q2", 92.5) if measured else None)
    yield
    life.resubmit(f"Corrected {keys[0]} evidence attached")
    yield
    if fate == 4:
        return  # the challenge answered, waiting for the board
    if fate == 11:
        life.challenge(MEMBER, "The corrected evidence is still not dated within the period", None)
        return  # challenged twice: limbo
    if fate % 3 == 1:
        life.refuse(MEMBER, "approve", {"meeting": meeting()}, "permission: approve needs the role chair", True)
        yield
    life.approve(meeting())
    yield
    if fate in (8, 9, 19):
        life.challenge(CHAIR, "New inspection findings: the board reopens the item", meeting())
        yield
        if fate == 8:
            return  # reopened, open
        key = keys[-1]
        life.add_evidence(key, 2, next(e for e in item.standing if e["key"] == key))
        yield
        life.resubmit("Evidence refreshed after the inspection")
        yield
        life.approve(meeting())


def build_board_register(db: Path, items: int, rows_per_item: int, batch: int = 50_000) -> int:
    """A register with ``items`` items as a board has it a quarter in (see above); returns the head seq.

    The CLI's records (init, users, weekly meetings, the matrix import) are written with the clock
    ``BOARD_SPAN_DAYS`` back; the items' lives follow in rounds spread up to an hour ago. Like
    ``build_chain_register`` it is one signoff could have written: ``audit verify`` passes.
    """
    today = dt.date.today()
    start = today - dt.timedelta(days=BOARD_SPAN_DAYS)
    meetings = [(start + dt.timedelta(days=d)).isoformat() for d in range(0, BOARD_SPAN_DAYS, 7)]
    conn = _setup(db, items, rows_per_item, [], shift_days=BOARD_SPAN_DAYS)
    w, found = _items(conn)
    for day in meetings:  # services/schedule.py add_meeting: the calendar, set a quarter ago
        at, mid = w.now(), w.next_id("meetings")
        w.rows["meetings"].append((mid, day, None, SECRETARY, at))
        w.record(at, SECRETARY, "secretary", "meeting.add", "applied", {"meeting_id": mid, "date": day, "note": None})
    w.step = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1) - w.base) / BOARD_ROUNDS
    lives = [_board_life(w, item, meetings) for item in found]
    while lives:
        going = []
        for life in lives:
            try:
                next(life)
            except StopIteration:
                continue
            going.append(life)
            if len(w.audit) >= batch:
                w.flush()
        lives = going
        w.next_round()
    if w.round > BOARD_ROUNDS:
        raise AssertionError(f"the board's lives took {w.round} rounds, more than BOARD_ROUNDS ({BOARD_ROUNDS})")
    w.flush()
    _close(conn)
    return w.seq
