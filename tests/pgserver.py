"""A throwaway PostgreSQL cluster for the tests and the benchmark: Debian's server binaries, started and stopped here.

The one copy: tests/conftest.py imports it as ``pgserver``; bench/pg.py loads this file by path
(tests/ is not a package, and under pytest tests/bench is itself collected as a package named ``bench``).

initdb refuses to run as root, so as root the cluster is made and run as the 'postgres' user.
Nothing listens beyond 127.0.0.1, and the cluster's folder is removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


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


@contextmanager
def cluster(fsync: bool = False) -> Iterator[str]:
    """Start a cluster; yield its base URL (postgresql+psycopg://postgres@127.0.0.1:PORT).

    The tests run with fsync=off for speed; the benchmark asks for fsync=on so commits are durable,
    as SQLite's synchronous=FULL commits are.
    """
    bindir = server_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
    root = tempfile.mkdtemp(prefix="signoff-pg-")
    data = os.path.join(root, "data")
    os.mkdir(data)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(data, "postgres")
        os.chmod(root, 0o755)
    port = _free_port()
    subprocess.run(
        _as_owner([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]),
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync={'on' if fsync else 'off'} -c max_connections=60"
    )
    subprocess.run(
        _as_owner([f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(data, "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_owner([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), capture_output=True)
        time.sleep(0.2)
        shutil.rmtree(root, ignore_errors=True)


def new_database(base_url: str) -> str:
    """A fresh empty database on the cluster; return its SQLAlchemy URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    plain = base_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"
