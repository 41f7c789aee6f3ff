"""The benchmark harness's smoke mode runs end to end and reports every case (no timing assertions)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASES = {
    "bulk.matrix_import",
    "startup.help",
    "read.board",
    "read.item_list",
    "write.submit_process",
    "write.transition_inprocess",
    "export.jsonl",
    "export.csv",
    "verify.audit",
}


def test_smoke_mode_reports_every_case(tmp_path: Path) -> None:
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 shell (the export reference) is not installed")
    out = tmp_path / "smoke.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out), "--workdir", str(tmp_path / "work")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] is True
    assert {"python", "platform", "cpus", "sqlite"} <= set(report["machine"])
    by_name = {c["case"]: c for c in report["cases"]}
    assert set(by_name) == CASES
    for c in by_name.values():
        assert c["ours"]["median_s"] > 0
    for name in ("export.jsonl", "export.csv", "verify.audit"):
        assert by_name[name]["ours"]["peak_rss_mib"] > 0
    have_peer = Path(sys.executable).with_name("sqlite-utils").exists() or shutil.which("sqlite-utils")
    if have_peer:
        assert by_name["read.board"]["reference"] is not None
    else:  # CI installs only '.[test]': the peer case is reported as skipped, not failed
        assert by_name["read.board"]["reference"] is None
