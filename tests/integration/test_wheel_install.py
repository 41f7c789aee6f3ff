"""The built wheel carries its workflows and migrations: it works installed, from any folder."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # builds and installs a wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    wheels, target = base / "dist", base / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    [wheel] = list(wheels.glob("signoff-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {"signoff/_workflows/ofsted-recommendation.toml", "signoff/_workflows/improvement-notice.toml"} <= set(names)
    assert "signoff/_db/env.py" in names and any(n.startswith("signoff/_db/versions/0001") for n in names)
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-compile", "--target", str(target), str(wheel)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    return target


def run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_") and k != "PYTHONPATH"}
    # The installed copy first; the dependencies from this interpreter's own site-packages after it.
    env["PYTHONPATH"] = str(target)
    code = (
        "import sys, signoff; "
        "assert signoff.__file__.startswith(sys.argv[1]), signoff.__file__; "
        "from signoff.cli import main; sys.argv = ['signoff', *sys.argv[2:]]; main()"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(target), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


def test_the_installed_wheel_finds_its_workflows_from_another_folder(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_installed(installed, elsewhere, "--db", "reg.db", "init", "--secretary", "sec")
    assert r.returncode == 0, r.stderr
    r = run_installed(installed, elsewhere, "--db", "reg.db", "workflow", "events", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {row["workflow"] for row in rows} == {"ofsted-recommendation", "improvement-notice"}
    shipped = installed / "signoff" / "_workflows" / "ofsted-recommendation.toml"
    digest = hashlib.sha256(shipped.read_bytes()).hexdigest()
    assert {row["digest"] for row in rows if row["workflow"] == "ofsted-recommendation"} == {digest}
    assert digest == hashlib.sha256((REPO / "workflows" / "ofsted-recommendation.toml").read_bytes()).hexdigest()


def test_the_installed_wheel_initialises_a_register_from_its_own_migrations(installed: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_installed(installed, elsewhere, "--db", "reg.db", "init", "--secretary", "sec")
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "reg.db").is_file()
    r = run_installed(installed, elsewhere, "--db", "reg.db", "audit", "verify")
    assert r.returncode == 0, r.stderr
    assert "Audit chain intact: 3 record(s)" in r.stdout
    r = run_installed(
        installed,
        elsewhere,
        "--db",
        "reg.db",
        "--as",
        "sec",
        "item",
        "add",
        "OF-01",
        "--kind",
        "ofsted-recommendation",
        "--title",
        "x",
    )
    assert r.returncode == 0, r.stderr
