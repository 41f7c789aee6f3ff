"""kill -9 a writer at random points, 50 times: the register always comes back whole."""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability_support import (
    attempt_count,
    check_register,
    cli_env,
    connect_ro,
    make_register,
    run_signoff,
    signoff_cmd,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

WRITER = Path(__file__).with_name("_crash_writer.py")
RUNS = 50
HANG_S = 600


class Writers:
    """The forking writer process (_crash_writer.py) and the lines it and its writers print."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(WRITER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=cli_env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("eof")

    def next_line(self, waiting_for: str) -> list[str]:
        try:
            # A guard against a hang, not a speed limit: a killed writer ends only once the disk
            # returns from the flush it was in, which on a busy shared disk has taken minutes.
            line = self.lines.get(timeout=HANG_S)
        except queue.Empty:
            raise AssertionError(f"no word from the writers in {HANG_S} s, waiting for {waiting_for}") from None
        assert line != "eof", "the writer process ended"
        return line.split()

    def kill_after(
        self, db: Path, run: int, seed: int, bulk: bool, acks_first: int, delay: float
    ) -> list[tuple[str, str]]:
        """Fork a writer and kill it with SIGKILL ``delay`` seconds after it has acknowledged ``acks_first``
        writes (0: after it said it was ready); return what it acknowledged. The kill lands at a random
        point of the writes that follow, and the writer has done its share of work first however slow
        the machine is: a handshake, not a guess at how long start-up or a write takes."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{db} {run} {seed}{' bulk' if bulk else ''}\n")
        self.proc.stdin.flush()
        first = self.next_line(f"run {run} to start")
        assert first[0] == "ready", first
        pid = int(first[1])
        acks: list[tuple[str, str]] = []
        ended = None
        while len(acks) < acks_first:
            parts = self.next_line(f"writer {pid} to acknowledge {acks_first} writes (has {len(acks)})")
            if parts[0] == "exit":
                ended = parts
                break
            acks.append((parts[1], parts[2]))
        assert ended is None, f"writer {pid} ended by itself after {len(acks)} writes: {ended}"
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        while (parts := self.next_line(f"killed writer {pid} to end"))[0] != "exit":
            acks.append((parts[1], parts[2]))
        assert parts == ["exit", str(pid), str(signal.SIGKILL.value)], parts
        return acks

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0


def test_kill_9_loop_keeps_integrity_chain_and_every_acknowledged_write(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    make_register(db, workers=1)
    rnd = random.Random(20131127)
    total_acks = 0
    unacknowledged_but_kept = 0
    bulk_done = bulk_killed = 0
    writers = Writers()
    for run in range(RUNS):
        before = attempt_count(db)
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
            seed = rnd.randrange(10**6)
            bulk = run % 6 == 2  # a 4,000-row import: one long transaction to die inside
            acks_first, delay = (0, rnd.uniform(0.0, 1.0)) if bulk else (rnd.randrange(1, 4), rnd.uniform(0.0, 0.05))
            tokens = writers.kill_after(db, run, seed, bulk, acks_first, delay)
            acks = len(tokens)
            _assert_acknowledged_present(db, tokens)
        after = attempt_count(db)
        # Each acknowledged attempt left its record; at most one unacknowledged attempt more.
        assert acks <= after - before <= acks + 1, (run, acks, after - before)
        unacknowledged_but_kept += after - before - acks
        if run % 6 == 2:
            bulk_done, bulk_killed = (bulk_done + 1, bulk_killed) if acks else (bulk_done, bulk_killed + 1)
        check_register(db)
        total_acks += acks
    writers.close()
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
