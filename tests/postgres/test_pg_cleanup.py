"""A test run's throwaway PostgreSQL cluster never outlives the run, however the run ends.

Each case starts a real pytest run that takes the real ``pg_cluster`` fixture, waits until that run
says its cluster is up, ends the run the way a person or a CI timeout would, and then looks for the
cluster's postmaster and folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pgserver
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(pgserver.server_bin() is None, reason="PostgreSQL server binaries are not installed"),
]

TESTS = Path(__file__).resolve().parents[1]
HOLDER = """
import signal
import time

# A run started from a terminal takes Ctrl-C; one started under pytest-xdist inherits its worker's
# ignored SIGINT, which Python then leaves ignored, so the holder takes it back as a terminal would.
signal.signal(signal.SIGINT, signal.default_int_handler)

def test_hold_the_cluster(pg_cluster):
    print("CLUSTER-UP", flush=True)
    while True:  # until the run is ended from outside (a sleep is where a Ctrl-C lands at once)
        time.sleep(0.05)
"""


def _running(pid: int) -> bool:
    """A live process, not a zombie left for its parent to reap."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition: object, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _start_holder(tmp_path: Path, state: Path) -> tuple[subprocess.Popen[str], dict[str, object], int]:
    """A pytest run holding a cluster; return it, its cluster's record and the postmaster's pid."""
    (tmp_path / "test_holder.py").write_text(HOLDER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_") and k != "PYTEST_XDIST_WORKER"}
    env["PYTHONPATH"] = str(TESTS) + os.pathsep + env.get("PYTHONPATH", "")
    env[pgserver.STATE_ENV] = str(state)
    plugins = ["-p", "conftest", "-p", "no:cacheprovider", "-p", "no:xdist"]
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            *plugins,
            "-s",
            "-q",
            "--rootdir",
            str(tmp_path),
            str(tmp_path / "test_holder.py"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the signals below reach this run only, as they would from a terminal
    )
    up = threading.Event()
    seen: list[str] = []

    def read() -> None:
        assert run.stdout is not None
        for line in run.stdout:
            seen.append(line)
            if "CLUSTER-UP" in line:
                up.set()
        up.set()

    threading.Thread(target=read, daemon=True).start()
    assert up.wait(timeout=180) and run.poll() is None, "".join(seen)
    records = list(state.glob("*.json"))
    assert len(records) == 1, records
    record = json.loads(records[0].read_text(encoding="utf-8"))
    postmaster = pgserver.postmaster_pid(str(record["data"]))
    assert postmaster is not None and _running(postmaster)
    return run, record, postmaster


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_an_interrupted_run_leaves_no_cluster_running(tmp_path: Path, how: signal.Signals) -> None:
    state = tmp_path / "state"
    run, record, postmaster = _start_holder(tmp_path, state)
    run.send_signal(how)
    try:
        run.wait(timeout=300)  # a guard against a hang, not a speed limit
    except subprocess.TimeoutExpired:
        run.kill()
        raise AssertionError(
            f"the run did not end after {how.name}: {run.stdout.read() if run.stdout else ''}"
        ) from None
    _wait_for(lambda: not _running(postmaster), "the interrupted run's postmaster is still running")
    _wait_for(lambda: not list(state.glob("*.json")), "the cluster's record was not cleared")
    assert not Path(str(record["root"])).exists()


def test_a_cluster_left_by_a_killed_run_is_stopped_by_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    run, record, postmaster = _start_holder(tmp_path, state)
    # The whole run dies at once, its watcher with it (as a kill of every process of the run would do).
    (record_path,) = state.glob("*.json")
    watchers = [pid for pid in _pids() if str(record_path) in _cmdline(pid)]
    assert len(watchers) == 1, watchers
    os.kill(watchers[0], signal.SIGKILL)
    run.kill()
    run.wait(timeout=60)
    _wait_for(lambda: _running(watchers[0]) is False, "the watcher did not die")
    assert _running(postmaster)  # left behind: nobody is there to stop it
    monkeypatch.setenv(pgserver.STATE_ENV, str(state))
    assert pgserver.sweep() == [record["root"]]  # what the next run does before it starts its own cluster
    _wait_for(lambda: not _running(postmaster), "the sweep did not stop the leftover postmaster")
    assert not Path(str(record["root"])).exists() and not list(state.glob("*.json"))


def test_the_sweep_leaves_a_live_runs_cluster_alone(pg_cluster: str) -> None:
    """This run's own cluster (its owner is alive) survives a sweep made by a run beside it."""
    import psycopg

    pgserver.sweep()
    with psycopg.connect(pg_cluster.replace("postgresql+psycopg://", "postgresql://") + "/postgres") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
