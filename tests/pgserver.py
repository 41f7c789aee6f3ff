"""A throwaway PostgreSQL cluster for the tests and the benchmark: Debian's server binaries, started and stopped here.

The one copy: tests/conftest.py imports it as ``pgserver``; bench/pg.py loads this file by path
(tests/ is not a package, and under pytest tests/bench is itself collected as a package named ``bench``).

initdb refuses to run as root, so as root the cluster is made and run as the 'postgres' user.
Nothing listens beyond 127.0.0.1, and the cluster's folder is removed afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

# Overrides the folder of cluster records (the tests of the clean-up use their own).
STATE_ENV = "SIGNOFF_PG_STATE"


def server_bin() -> str | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def state_dir() -> str:
    """Where each running cluster leaves a record of itself, so a later run can stop one a killed run left."""
    return os.environ.get(STATE_ENV) or os.path.join(tempfile.gettempdir(), "signoff-pg-clusters")


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a live owner from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return started is None or _started(pid) in (None, started)


def _stop(bindir: str, data: str, root: str) -> None:
    if os.path.isdir(data):
        subprocess.run(_as_owner([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def sweep() -> list[str]:
    """Stop and remove every recorded cluster whose owning process is gone; return their folders."""
    folder = state_dir()
    swept = []
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        record_path = os.path.join(folder, name)
        try:
            with open(record_path, encoding="utf-8") as fh:
                record = json.load(fh)
        except (OSError, ValueError):
            continue
        if _alive(int(record["owner"]), record.get("owner_started")):
            continue
        _stop(record["bindir"], record["data"], record["root"])
        with contextlib.suppress(FileNotFoundError):
            os.unlink(record_path)
        swept.append(str(record["root"]))
    return swept


def postmaster_pid(data: str) -> int | None:
    try:
        with open(os.path.join(data, "postmaster.pid"), encoding="ascii") as fh:
            return int(fh.readline())
    except (OSError, ValueError):
        return None


@contextmanager
def cluster(fsync: bool = False) -> Iterator[str]:
    """Start a cluster; yield its base URL (postgresql+psycopg://postgres@127.0.0.1:PORT).

    The tests run with fsync=off for speed; the benchmark asks for fsync=on so commits are durable,
    as SQLite's synchronous=FULL commits are.

    The cluster does not outlive this process, however it ends: a watcher process in its own session
    holds the read end of a pipe only this process can write to, and stops the cluster when the pipe
    closes (a normal exit, an exception, SIGINT, SIGTERM or SIGKILL alike). Should the watcher be
    killed too, the record left in ``state_dir()`` lets the next cluster started here stop the leftover.
    """
    bindir = server_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
    sweep()
    root = tempfile.mkdtemp(prefix="signoff-pg-")
    data = os.path.join(root, "data")
    os.mkdir(data)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        os.chmod(root, 0o755)
    os.makedirs(state_dir(), exist_ok=True)
    record_path = os.path.join(state_dir(), os.path.basename(root) + ".json")
    record = {
        "owner": os.getpid(),
        "owner_started": _started(os.getpid()),
        "bindir": bindir,
        "data": data,
        "root": root,
    }
    with open(record_path, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    read_end, write_end = os.pipe()  # neither end is inherited by other children (PEP 446)
    watcher = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "watch", record_path],
        stdin=read_end,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C or a signal to the test run's process group leaves it be
    )
    os.close(read_end)
    try:
        port = _free_port()
        subprocess.run(
            _as_owner([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]),
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync={'on' if fsync else 'off'}"
            " -c max_connections=300"
        )
        subprocess.run(
            _as_owner([f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(data, "log"), "-w", "start"]),
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        os.close(write_end)  # the watcher stops the cluster, removes its folder and its record
        try:
            watcher.wait(timeout=120)
        except subprocess.TimeoutExpired:
            watcher.kill()
        _stop(bindir, data, root)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(record_path)


def _watch(record_path: str) -> None:
    """Wait for the owner's end of the pipe to close, then stop its cluster and clear its record."""
    with open(record_path, encoding="utf-8") as fh:
        record = json.load(fh)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):
        pass
    _stop(record["bindir"], record["data"], record["root"])
    with contextlib.suppress(FileNotFoundError):
        os.unlink(record_path)


def new_database(base_url: str) -> str:
    """A fresh empty database on the cluster; return its SQLAlchemy URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


if __name__ == "__main__" and sys.argv[1:2] == ["watch"]:
    _watch(sys.argv[2])
