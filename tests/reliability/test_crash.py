"""kill -9 a writer at random points, 50 times: the register always comes back whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability_support import (
    audit_count,
    check_register,
    cli_env,
    connect_ro,
    make_register,
    run_signoff,
    signoff_cmd,
)

pytestmark = pytest.mark.reliability

WRITER = Path(__file__).with_name("_crash_writer.py")
RUNS = 50


def _kill_after(proc: subprocess.Popen[str], delay: float) -> list[tuple[str, str]]:
    """Collect the writer's acknowledgements until it is killed with SIGKILL ``delay`` seconds after it
    said it was ready (a handshake, not a guess at how long start-up takes on a loaded machine)."""
    acks: list[tuple[str, str]] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            parts = line.split()
            if parts == ["ready"]:
                ready.set()
            if len(parts) == 3 and parts[0] == "ack":
                acks.append((parts[1], parts[2]))
        ready.set()

    reader = threading.Thread(target=read)
    reader.start()
    ready.wait(timeout=120)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=30)
    return acks


def test_kill_9_loop_keeps_integrity_chain_and_every_acknowledged_write(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    make_register(db, workers=1)
    rnd = random.Random(20131127)
    total_acks = 0
    unacknowledged_but_kept = 0
    bulk_done = bulk_killed = 0
    for run in range(RUNS):
        before = audit_count(db)
        if run % 6 == 5:
            # A real CLI process, killed anywhere from start-up to commit; acknowledged only by exit 0.
            proc = subprocess.Popen(
                signoff_cmd(
                    db, "evidence", "add", "IT-0", "k1", "--dated", "2013-06-01", "--note", f"cli-{run}", actor="sec-0"
                ),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=cli_env(),
            )
            time.sleep(rnd.uniform(0.05, 0.9))
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            code = proc.wait(timeout=30)
            acks = 1 if code == 0 else 0
        else:
            args = [sys.executable, str(WRITER), str(db), str(run), str(rnd.randrange(10**6))]
            if run % 6 == 2:
                args.append("bulk")  # a 4,000-row import: one long transaction to die inside
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=cli_env())
            tokens = _kill_after(proc, rnd.uniform(0.3, 1.4))
            acks = len(tokens)
            _assert_acknowledged_present(db, tokens)
        after = audit_count(db)
        # Each acknowledged attempt left its record; at most one unacknowledged attempt more.
        assert acks <= after - before <= acks + 1, (run, acks, after - before)
        unacknowledged_but_kept += after - before - acks
        if run % 6 == 2:
            bulk_done, bulk_killed = (bulk_done + 1, bulk_killed) if acks else (bulk_done, bulk_killed + 1)
        check_register(db)
        total_acks += acks
    assert total_acks > RUNS  # the writers did get work done between kills
    print(
        f"kill -9 loop: {RUNS} runs, {total_acks} acknowledged writes, {unacknowledged_but_kept} committed but "
        f"unacknowledged, bulk imports completed {bulk_done} / killed inside {bulk_killed}"
    )
    # The next run works: a normal command and the CLI's own verification both succeed.
    ok = run_signoff(db, "evidence", "add", "IT-1", "k2", "--dated", "2013-06-01", "--note", "after", actor="sec-0")
    assert ok.code == 0, ok.err
    verified = run_signoff(db, "audit", "verify")
    assert verified.code == 0, verified.err
    checked = run_signoff(db, "db", "check")
    assert checked.code == 0, checked.err


def _assert_acknowledged_present(db: Path, acks: list[tuple[str, str]]) -> None:
    """Every acknowledged note, reason, response and bulk import is in the register after the kill."""
    conn = connect_ro(db)
    try:
        notes = {r[0] for r in conn.execute("SELECT note FROM evidence WHERE note IS NOT NULL")}
        details = "\n".join(r[0] for r in conn.execute("SELECT detail FROM audit WHERE event != 'evidence.add'"))
        items = {r[0] for r in conn.execute("SELECT ref FROM items")}
    finally:
        conn.close()
    for token, kind in acks:
        if kind == "note":
            assert token in notes, token
        elif kind in ("reason", "response"):
            assert f'"{token}"' in details, token
        elif kind == "bulk":
            run = token.split("-", 1)[1]
            assert {f"B{run}-0", f"B{run}-3999"} <= items, token
