"""PostgreSQL for the benchmark: a throwaway cluster the harness starts and stops, and its databases.

The cluster code is tests/pgserver.py, the one copy the test fixtures use too. It is loaded here
by file path: tests/ is not a package, and adding it to sys.path would shadow this ``bench``
package with tests/bench (which pytest collects as a package named ``bench``).

The cluster runs with fsync=on (the tests' clusters run with it off), so a commit is durable as
SQLite's synchronous=FULL commits are; the rest is PostgreSQL's default configuration.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
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


@contextmanager
def maybe_cluster() -> Iterator[tuple[str | None, str | None]]:
    """Yield (base URL, None) with a running cluster, or (None, why not) when it cannot run."""
    reason = unavailable()
    if reason is not None:
        yield None, reason
        return
    try:
        cm = pgserver().cluster(fsync=True)
        base = cm.__enter__()
    except (OSError, RuntimeError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", b"") or b""
        text = detail.decode(errors="replace").strip() if isinstance(detail, bytes) else str(detail)
        yield None, f"the PostgreSQL cluster did not start: {err} {text[-300:]}".strip()
        return
    try:
        yield base, None
    finally:
        cm.__exit__(None, None, None)


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
