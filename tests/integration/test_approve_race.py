"""Two chairs approve the same item at the same moment from two processes: exactly one wins."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SECRETARY, days_ago, write_matrix
from signing import fire_event, key_file, register_key

from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.register import add_user

ROUNDS = 8

# Each racer imports the CLI first, then for every round says it is ready, waits for the
# starting flag, and runs `signoff approve` in-process, reporting the exit code.
RACER = r"""
import json, os, sys, time
from pathlib import Path
from signoff.cli import cli
import signoff.services.events, signoff.store.uow  # warm imports before the starting gun

db, actor, flags, rounds, meeting = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
for n in range(rounds):
    (flags / f"ready-{n}-{actor}").touch()
    deadline = time.monotonic() + 60
    while not (flags / f"go-{n}").exists():
        if time.monotonic() > deadline:
            sys.exit(99)
        time.sleep(0.0005)
    try:
        cli.main(["--db", db, "--as", actor, "approve", f"OF-{n:02d}", "--meeting", meeting], prog_name="signoff")
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    print(json.dumps({"round": n, "code": code}), flush=True)
"""


@pytest.mark.slow
def test_two_processes_approving_at_once_one_wins(db_path: Path, tmp_path: Path) -> None:
    for name in ("chair.a", "chair.b"):
        add_user(db_path, SECRETARY, name, ["chair"])
        register_key(db_path, name)
    rows = [
        (f"OF-{n:02d}", "ofsted-recommendation", f"Item {n}", "", "audit", "Case audit", days_ago(-30).isoformat())
        for n in range(ROUNDS)
    ]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    for n in range(ROUNDS):
        add_evidence(db_path, SECRETARY, f"OF-{n:02d}", "audit", days_ago(1), note="audit")
        fire_event(db_path, SECRETARY, f"OF-{n:02d}", "submit")

    flags = tmp_path / "flags"
    flags.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    racers = {
        actor: subprocess.Popen(
            [sys.executable, "-c", RACER, str(db_path), actor, str(flags), str(ROUNDS), days_ago(0).isoformat()],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "SIGNOFF_KEY": str(key_file(tmp_path / "keys", actor))},
            cwd=tmp_path,
        )
        for actor in ("chair.a", "chair.b")
    }
    try:
        for n in range(ROUNDS):
            deadline = time.monotonic() + 60
            while not all((flags / f"ready-{n}-{a}").exists() for a in racers):
                assert time.monotonic() < deadline, "racers never became ready"
                assert all(p.poll() is None for p in racers.values()), "a racer died"
                time.sleep(0.001)
            (flags / f"go-{n}").touch()
        results = {a: p.communicate(timeout=120) for a, p in racers.items()}
    finally:
        for p in racers.values():
            if p.poll() is None:
                p.kill()

    codes: dict[int, dict[str, int]] = {n: {} for n in range(ROUNDS)}
    for actor, (out, err) in results.items():
        assert racers[actor].returncode == 0, err
        assert "Traceback" not in err
        for line in out.splitlines():
            if line.startswith("{"):
                rec = json.loads(line)
                codes[rec["round"]][actor] = rec["code"]

    conn = sqlite3.connect(db_path)
    try:
        for n in range(ROUNDS):
            ref = f"OF-{n:02d}"
            got = sorted(codes[n].values())
            assert len(got) == 2 and got[0] == 0 and got[1] in (3, 5), (ref, codes[n], results)
            winner = next(a for a, c in codes[n].items() if c == 0)
            applied = conn.execute(
                "SELECT actor FROM audit WHERE item_ref = ? AND event = 'approve' AND outcome = 'applied'", (ref,)
            ).fetchall()
            assert applied == [(winner,)]
            refusals = conn.execute(
                "SELECT actor, detail FROM audit WHERE item_ref = ? AND event = 'approve' AND outcome = 'refused'",
                (ref,),
            ).fetchall()
            if got[1] == 3:
                assert len(refusals) == 1 and refusals[0][0] != winner
                assert "state: approve is not allowed from signed_off" in refusals[0][1]
            state, version = conn.execute("SELECT state, version FROM items WHERE ref = ?", (ref,)).fetchone()
            assert (state, version) == ("signed_off", 3)
            item_id = conn.execute("SELECT id FROM items WHERE ref = ?", (ref,)).fetchone()[0]
            assert conn.execute("SELECT COUNT(*) FROM approvals WHERE item_id = ?", (item_id,)).fetchone()[0] == 1
    finally:
        conn.close()
