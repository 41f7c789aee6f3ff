"""The evidence-import bench case runs end to end and prints its figures (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_evidence_import_case_reports_both_ways() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.evidence_import", "--records", "3", "--runs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "one 'evidence import'" in proc.stdout and "3 'evidence add'" in proc.stdout
