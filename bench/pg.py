"""PostgreSQL for the benchmark: a throwaway cluster the harness starts and stops, and its databases.

The cluster code is tests/pgserver.py, the one copy the test fixtures use too. It is loaded here
by file path: tests/ is not a package, and adding it to sys.path would shadow this ``bench``
package with tests/bench (which pytest collects as a package named ``bench``).

A run stopped by SIGINT, SIGTERM or SIGHUP still stops its cluster: while the cluster is up those
signals raise in the harness (``_signals_raise``), so the context manager's cleanup runs, and the
cleanup itself ignores them until the cluster is down.

The cluster runs with fsync=on (the tests' clusters run with it off), so a commit is durable as
SQLite's synchronous=FULL commits are; the rest is PostgreSQL's default configuration.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

PGSERVER = Path(__file__).resolve().parent.parent / "tests" / "pgserver.py"


def pgserver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("signoff_bench_pgserver", PGSERVER)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {PGSERVER}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def psql_exe(server_bin: str | None) -> str | None:
    if server_bin and os.path.exists(os.path.join(server_bin, "psql")):
        return os.path.join(server_bin, "psql")
    return shutil.which("psql")


def unavailable() -> str | None:
    """Why the PostgreSQL cases cannot run here, or None when they can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    if not PGSERVER.exists():
        return f"{PGSERVER} is missing"
    server = pgserver().server_bin()
    if server is None:
        return "PostgreSQL server binaries not found (apt-get install postgresql)"
    if psql_exe(server) is None:
        return "psql (the reference client) not found"
    return None


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(SystemExit):
    """The run was stopped by a signal; exits with 128 + the signal's number, as the shell reports it."""


def _raise(signum: int, _frame: object) -> None:
    raise Stopped(128 + signum)


@contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise ``Stopped`` inside the block (so ``finally`` clauses run)."""
    old = {sig: signal.signal(sig, _raise) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _stop(cm: object) -> None:
    """Stop the cluster with the stop signals ignored: a second Ctrl-C must not leave it half-stopped."""
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        cm.__exit__(None, None, None)  # type: ignore[attr-defined]
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextmanager
def maybe_cluster() -> Iterator[tuple[str | None, str | None]]:
    """Yield (base URL, None) with a running cluster, or (None, why not) when it cannot run."""
    reason = unavailable()
    if reason is not None:
        yield None, reason
        return
    with _signals_raise():
        cm = pgserver().cluster(fsync=True)
        try:
            base = cm.__enter__()
        except (OSError, RuntimeError, subprocess.CalledProcessError) as err:
            detail = getattr(err, "stderr", b"") or b""
            text = detail.decode(errors="replace").strip() if isinstance(detail, bytes) else str(detail)
            yield None, f"the PostgreSQL cluster did not start: {err} {text[-300:]}".strip()
            return
        try:
            yield base, None
        finally:
            _stop(cm)


def libpq(url: str) -> str:
    """postgresql+psycopg://… (SQLAlchemy's form, what --db takes) → postgresql://… (libpq's)."""
    return "postgresql://" + url.split("://", 1)[1]


def create_database(base: str, name: str, template: str | None = None) -> str:
    """A database on the cluster, empty or a copy of ``template`` (which must have no sessions)."""
    import psycopg

    with psycopg.connect(libpq(base) + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return f"{base}/{name}"


def server_version(base: str) -> str:
    import psycopg

    with psycopg.connect(libpq(base) + "/postgres", autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"
