"""In-process durable transitions: signoff's fire_event vs raw UPDATE+INSERT, one transaction each.

Run as a child by bench.run: ``python -m bench.inproc DB RAW_DB COUNT REF...``; prints JSON.
DB and RAW_DB are both SQLite files or both postgresql+psycopg:// URLs.

SQLite: both sides commit one transaction per transition with journal_mode=WAL and
synchronous=FULL (signoff's pragmas, store/database.py) and BEGIN IMMEDIATE.
PostgreSQL: the raw side is psycopg on one connection, taking the chain head's advisory lock as
signoff does (store/uow.py), on a cluster with fsync=on and synchronous_commit=on.
Either way the raw side also appends a correctly chained audit record, as a durable transition must.

Each transition is timed twice: wall time (perf_counter), which follows the disk's flush latency,
and this process's CPU time (process_time), which follows the code; the target is judged on CPU.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path

Timings = list[tuple[float, float]]  # (wall seconds, CPU seconds) per transition


def ours(db: Path | str, refs: list[str]) -> Timings:
    from signoff.services.events import fire_event

    # Warm up: imports, the engine, the shared machine (the first call is not a steady-state transition).
    fire_event(db, "sec", refs[0], "submit")
    out = []
    for r in refs[1:]:
        t, c = time.perf_counter(), time.process_time()
        fire_event(db, "sec", r, "submit")
        out.append((time.perf_counter() - t, time.process_time() - c))
    return out


def _record(seq: int, prev: str, now: str, ref: str) -> dict[str, object]:
    from signoff.domain import chain

    rec: dict[str, object] = {
        "seq": seq,
        "recorded_at": now,
        "actor": "sec",
        "roles": "secretary",
        "item_ref": ref,
        "event": "submit",
        "from_state": "proposed",
        "to_state": "evidence_submitted",
        "outcome": "applied",
        "detail": "{}",
        "workflow_hash": None,
        "prev_hash": prev,
    }
    rec["hash"] = chain.record_hash(rec)
    return rec


def raw_pg(url: str, refs: list[str]) -> Timings:
    import psycopg

    from signoff import clock
    from signoff.domain import chain
    from signoff.store.uow import AUDIT_HEAD_LOCK

    conn = psycopg.connect("postgresql://" + url.split("://", 1)[1])  # not autocommit: BEGIN on first execute
    fields = chain.EXPORT_FIELDS
    insert = f"INSERT INTO audit ({', '.join(fields)}) VALUES ({', '.join('%s' for _ in fields)})"
    out = []
    for n, r in enumerate(refs):
        t, c = time.perf_counter(), time.process_time()
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_HEAD_LOCK,))
        row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        assert row is not None
        now = clock.now_iso()
        cur = conn.execute(
            "UPDATE items SET state = 'evidence_submitted', version = version + 1, last_transition_at = %s"
            " WHERE ref = %s AND state = 'proposed'",
            (now, r),
        )
        assert cur.rowcount == 1
        rec = _record(row[0] + 1, row[1], now, r)
        conn.execute(insert, tuple(rec[f] for f in fields))
        conn.commit()
        if n:
            out.append((time.perf_counter() - t, time.process_time() - c))
    conn.close()
    return out


def raw(db: Path, refs: list[str]) -> Timings:
    from signoff import clock
    from signoff.domain import chain

    conn = sqlite3.connect(db, isolation_level=None, timeout=15.0)
    for pragma in ("busy_timeout=15000", "journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    fields = chain.EXPORT_FIELDS
    insert = f"INSERT INTO audit ({', '.join(fields)}) VALUES ({', '.join('?' for _ in fields)})"
    out = []
    for n, r in enumerate(refs):
        t, c = time.perf_counter(), time.process_time()
        conn.execute("BEGIN IMMEDIATE")
        seq, prev = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        now = clock.now_iso()
        cur = conn.execute(
            "UPDATE items SET state = 'evidence_submitted', version = version + 1, last_transition_at = ?"
            " WHERE ref = ? AND state = 'proposed'",
            (now, r),
        )
        assert cur.rowcount == 1
        rec = _record(seq + 1, prev, now, r)
        conn.execute(insert, tuple(rec[f] for f in fields))
        conn.execute("COMMIT")
        if n:
            out.append((time.perf_counter() - t, time.process_time() - c))
    conn.close()
    return out


def main() -> None:
    db, raw_db, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    refs = sys.argv[4 : 4 + count + 1]
    if "://" in db:
        ours_s = ours(db, refs)
        raw_s = raw_pg(raw_db, refs)
    else:
        ours_s = ours(Path(db), refs)
        raw_s = raw(Path(raw_db), refs)
    result: dict[str, float] = {"transitions": len(ours_s)}
    for side, timings in (("ours", ours_s), ("raw", raw_s)):
        wall = [w for w, _ in timings]
        result[f"{side}_median_s"] = statistics.median(wall)
        result[f"{side}_median_cpu_s"] = statistics.median(c for _, c in timings)
        result[f"{side}_per_s"] = len(wall) / sum(wall)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
