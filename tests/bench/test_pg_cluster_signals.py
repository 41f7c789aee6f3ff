"""A bench run stopped by SIGTERM or SIGINT stops the PostgreSQL cluster it started (bench/pg.py)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import time
from bench import pg
with pg.maybe_cluster() as (base, skip):
    print(base or "SKIP " + str(skip), flush=True)
    time.sleep(600)
"""


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_run_stops_its_cluster(sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()  # printed once the cluster is up: the handshake
        if not first or first.startswith("SKIP"):
            proc.kill()
            pytest.skip(f"no PostgreSQL cluster here: {first or proc.communicate()[1][-500:]}")
        port = urlsplit(first.replace("postgresql+psycopg", "postgresql")).port
        assert port is not None and _listening(port)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + sig, err[-2000:]
        assert not _listening(port), "the cluster is still accepting connections after the run was stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
