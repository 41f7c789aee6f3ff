"""Build the benchmark's data sets: a 10,000-item register and a 1,000,000-record audit log.

The register is created by the real ``signoff init`` (so the migrations run) and filled by the
real ``matrix import`` CSV path; evidence and a spread of states are then added with stdlib
sqlite3. The audit log is a valid hash chain written directly with stdlib sqlite3 from
signoff.domain.chain, starting from the genesis of the register's own database id.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import subprocess
from pathlib import Path

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


def init_register(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    subprocess.run(signoff_cmd("init", "--secretary", SECRETARY, db=db), check=True, capture_output=True)


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
    import hashlib

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


_EVENTS = (
    ("evidence.add", "proposed", "proposed", "applied"),
    ("submit", "proposed", "evidence_submitted", "applied"),
    ("challenge", "evidence_submitted", "challenged", "applied"),
    ("resubmit", "challenged", "evidence_submitted", "applied"),
    ("approve", "evidence_submitted", "signed_off", "refused"),
    ("approve", "evidence_submitted", "signed_off", "applied"),
)


def fill_audit(db: Path, total: int, batch: int = 20_000) -> int:
    """Append records to the register's audit chain until it holds ``total``; return the head seq."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    database_id = conn.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()[0]
    head = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = head if head else (0, chain.genesis(database_id))
    fields = chain.EXPORT_FIELDS
    sql = f"INSERT INTO audit ({', '.join(fields)}) VALUES ({', '.join('?' for _ in fields)})"
    workflow_hash = "5" * 64
    rnd = random.Random(11)
    while seq < total:
        rows = []
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(min(batch, total - seq)):
            seq += 1
            event, src, dst, outcome = _EVENTS[seq % len(_EVENTS)]
            item = ref(rnd.randrange(10_000))
            detail = {"reason": f"Réunion du conseil {seq % 97}", "bundle": prev[:16], "evidence_ids": [seq % 13, 7]}
            if outcome == "refused":
                detail["failures"] = ["segregation_of_duties: the chair added evidence"]
            secs = seq % 86_400
            rec = {
                "seq": seq,
                "recorded_at": f"2024-{1 + seq % 12:02d}-{1 + seq % 28:02d}T{secs // 3600:02d}:"
                f"{secs // 60 % 60:02d}:{secs % 60:02d}.{seq % 1_000_000:06d}+00:00",
                "actor": SECRETARY if seq % 4 else CHAIR,
                "roles": "secretary" if seq % 4 else "chair",
                "item_ref": item,
                "event": event,
                "from_state": src,
                "to_state": dst,
                "outcome": outcome,
                "detail": chain.detail_text(detail),
                "workflow_hash": workflow_hash,
                "prev_hash": prev,
            }
            rec["hash"] = prev = chain.record_hash(rec)
            rows.append(tuple(rec[f] for f in fields))
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return seq
