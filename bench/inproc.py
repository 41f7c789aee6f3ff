"""In-process durable transitions: signoff's fire_event vs raw UPDATE+INSERT, one transaction each.

Run as a child by bench.run: ``python -m bench.inproc DB RAW_DB COUNT REF...``; prints JSON.
DB and RAW_DB are both SQLite files or both postgresql+psycopg:// URLs.

SQLite: both sides commit one transaction per transition with journal_mode=WAL and
synchronous=FULL (signoff's pragmas, store/database.py) and BEGIN IMMEDIATE.
PostgreSQL: the raw side is psycopg on one connection, taking the chain head's advisory lock as
signoff does (store/uow.py), on a cluster with fsync=on and synchronous_commit=on.
Either way the raw side also appends a correctly chained audit record, as a durable transition must.
The two alternate transition by transition; each is timed in wall and CPU time (the CPU ratio is
the stable figure: wall time follows the disk's fsync latency).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

Step = Callable[[str], None]


def ours(db: Path | str) -> Step:
    from signoff.services.events import fire_event

    def step(ref: str) -> None:
        fire_event(db, "sec", ref, "submit")

    return step


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


def raw_pg(url: str) -> Step:
    import psycopg

    from signoff import clock
    from signoff.domain import chain
    from signoff.store.uow import AUDIT_HEAD_LOCK

    conn = psycopg.connect("postgresql://" + url.split("://", 1)[1])  # not autocommit: BEGIN on first execute
    fields = chain.EXPORT_FIELDS
    insert = f"INSERT INTO audit ({', '.join(fields)}) VALUES ({', '.join('%s' for _ in fields)})"

    def step(r: str) -> None:
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

    return step


def raw(db: Path) -> Step:
    from signoff import clock
    from signoff.domain import chain

    conn = sqlite3.connect(db, isolation_level=None, timeout=15.0)
    for pragma in ("busy_timeout=15000", "journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    fields = chain.EXPORT_FIELDS
    insert = f"INSERT INTO audit ({', '.join(fields)}) VALUES ({', '.join('?' for _ in fields)})"

    def step(r: str) -> None:
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

    return step


def alternate(ours_step: Step, raw_step: Step, refs: list[str]) -> dict[str, list[float]]:
    """Ours and the raw floor in turn, transition by transition (ABAB…), so load changes land on
    both; wall and CPU time (time.process_time: this process's user + system) of each.

    The first transition of each is a warm-up (imports, the engine, the shared machine), not timed.
    """
    out: dict[str, list[float]] = {"ours": [], "raw": [], "ours_cpu": [], "raw_cpu": []}
    for n, r in enumerate(refs):
        for name, step in (("ours", ours_step), ("raw", raw_step)):
            w, c = time.perf_counter(), time.process_time()
            step(r)
            if n:
                out[f"{name}_cpu"].append(time.process_time() - c)
                out[name].append(time.perf_counter() - w)
    return out


def main() -> None:
    db, raw_db, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    refs = sys.argv[4 : 4 + count + 1]
    pair = (ours(db), raw_pg(raw_db)) if "://" in db else (ours(Path(db)), raw(Path(raw_db)))
    t = alternate(*pair, refs)
    result = {
        "ours_median_s": statistics.median(t["ours"]),
        "raw_median_s": statistics.median(t["raw"]),
        "ours_per_s": len(t["ours"]) / sum(t["ours"]),
        "raw_per_s": len(t["raw"]) / sum(t["raw"]),
        # CPU time per transition: the stable figure (wall time follows the disk's fsync latency).
        "ours_cpu_mean_s": statistics.fmean(t["ours_cpu"]),
        "raw_cpu_mean_s": statistics.fmean(t["raw_cpu"]),
        "cpu_ratio": statistics.fmean(t["ours_cpu"]) / statistics.fmean(t["raw_cpu"]),
        "ours_median_cpu_s": statistics.median(t["ours_cpu"]),
        "raw_median_cpu_s": statistics.median(t["raw_cpu"]),
        "transitions": len(t["ours"]),
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
