"""Shared fixtures: a real SQLite register in a temporary folder, and the real CLI as a subprocess."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from signing import key_file, register_key

from signoff.domain.matrix import REQUIRED_COLUMNS
from signoff.services.register import add_user, init_register
from signoff.services.schedule import add_meeting

SECRETARY = "sec"
CHAIR = "chair"
MEMBER = "member"
AUDITOR = "auditor"

TODAY = dt.date.today()
# Commands that sign a decision: run_cli signs them with the acting user's test key (tests/signing.py).
SIGNED_COMMANDS = ("approve", "reopen", "fire")


def days_ago(n: int) -> dt.date:
    """A calendar date relative to today, as signoff's clock sees today (the local date)."""
    return dt.date.today() - dt.timedelta(days=n)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop any throwaway PostgreSQL cluster a killed earlier run left behind (tests/pgserver.py)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        import pgserver

        pgserver.sweep()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first: under ``-n 2`` they start at once, and the run does not end with one
    worker still busy on a long test while the other sits idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under ``-n``, work stealing instead of xdist's default ``load``: ``load`` hands each worker a
    fixed run of consecutive tests up front, which put every slow test on the first worker; a worker
    that runs out here takes half of the other's queue. ``--dist`` given explicitly is kept."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's SIGNOFF_* settings or writes outside its own folder."""
    for var in ("SIGNOFF_DB", "SIGNOFF_USER", "SIGNOFF_WORKFLOWS", "SIGNOFF_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


# Two zones whose local day differs from the UTC day at every hour between them: Honolulu's is
# yesterday's until 10:00 UTC, Kiritimati's is tomorrow's from 10:00 UTC. A test that mixes a UTC
# date with the board's local date fails in one of them whenever it runs.
BOARD_ZONES = ("Pacific/Honolulu", "Pacific/Kiritimati")


@contextlib.contextmanager
def local_zone(zone: str) -> Iterator[str]:
    """The register's local day in ``zone`` for this process and every CLI subprocess it starts (they
    inherit TZ), put back afterwards."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield zone
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture(params=BOARD_ZONES)
def board_tz(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once in each of ``BOARD_ZONES`` (use it with ``pytestmark = pytest.mark.usefixtures``)."""
    with local_zone(request.param) as zone:
        yield zone


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """An initialised register with a secretary, a chair, a member and an auditor, and a board meeting
    today on the calendar (decisions name a held meeting)."""
    path = tmp_path / "register.db"
    init_register(path, SECRETARY)
    add_user(path, SECRETARY, CHAIR, ["chair"])
    add_user(path, SECRETARY, MEMBER, ["member"])
    add_user(path, SECRETARY, AUDITOR, ["auditor"])
    register_key(path, CHAIR)
    add_meeting(path, SECRETARY, dt.date.today())
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., Run]:
    """Run the installed CLI in a real subprocess, as a user would."""

    def run(*args: str, db: Path | str | None = None, actor: str | None = None, input: str | None = None) -> Run:
        cmd = [sys.executable, "-m", "signoff"]
        if db is not None:
            cmd += ["--db", str(db)]
        if actor is not None:
            cmd += ["--as", actor]
        cmd += list(args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
        env["SIGNOFF_EVIDENCE_DIR"] = str(tmp_path / "shared-evidence")  # used by PostgreSQL registers only
        signing_options = ("--key", "--signature")
        if actor and args and args[0] in SIGNED_COMMANDS and not any(a in signing_options for a in args):
            env["SIGNOFF_KEY"] = str(key_file(tmp_path / "keys", actor))  # the actor's own test key
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, input=input, timeout=120)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo register, made once per test process by the real ``signoff demo`` command."""
    folder = tmp_path_factory.mktemp("demo-template") / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    proc = subprocess.run(
        [sys.executable, "-m", "signoff", "demo", "--dir", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder.parent,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return folder


@pytest.fixture
def demo_db(_demo_template: Path, tmp_path: Path) -> Path:
    """A copy of the demo register (its file, evidence store, papers and keys) for one test."""
    shutil.copytree(_demo_template, tmp_path / "demo")
    return tmp_path / "demo" / "signoff.db"


def write_matrix(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None) -> Path:
    import csv

    header = header or REQUIRED_COLUMNS
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[str]:
    """One throwaway PostgreSQL cluster per run (Debian's server binaries), on 127.0.0.1 only."""
    import pgserver

    if pgserver.server_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing: .ci/run installs Debian's postgresql")
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    with pgserver.cluster() as url:
        yield url


@pytest.fixture
def pg_url(pg_cluster: str) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    import pgserver

    return pgserver.new_database(pg_cluster)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def backend_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """An empty register location on each backend: a SQLite file path, or a fresh PostgreSQL database URL."""
    if request.param == "sqlite":
        return tmp_path / "reg.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def register_db(backend_db: Path | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path | str:
    """An initialised register with the four roles and today's meeting, on each backend in turn."""
    monkeypatch.setenv("SIGNOFF_EVIDENCE_DIR", str(tmp_path / "shared-evidence"))  # used by PostgreSQL only
    init_register(backend_db, SECRETARY)
    add_user(backend_db, SECRETARY, CHAIR, ["chair"])
    add_user(backend_db, SECRETARY, MEMBER, ["member"])
    add_user(backend_db, SECRETARY, AUDITOR, ["auditor"])
    register_key(backend_db, CHAIR)
    add_meeting(backend_db, SECRETARY, dt.date.today())
    return backend_db
