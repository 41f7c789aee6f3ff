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
    "write.command_process",
    "write.submit_process",
    "write.transition_inprocess",
    "export.jsonl",
    "export.csv",
    "verify.audit",
    "verify.signatures",
    "verify.replay",
}
# Run on a throwaway cluster when PostgreSQL's server binaries and psycopg are here, else skipped.
PG_CASES = {
    "pg.bulk.db_copy_register",
    "pg.write.submit_process",
    "pg.write.transition_inprocess",
    "pg.bulk.db_copy_audit",
    "pg.export.jsonl",
    "pg.export.csv",
}

pytestmark = pytest.mark.slow


def test_smoke_mode_reports_every_case(tmp_path: Path) -> None:
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 shell (the export reference) is not installed")
    out = tmp_path / "smoke.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(out), "--workdir", str(tmp_path / "work")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,  # a hang guard only: under heavy load the smoke run took more than 300 s
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["smoke"] is True
    assert {"python", "platform", "cpus", "sqlite"} <= set(report["machine"])
    by_name = {c["case"]: c for c in report["cases"]}
    assert set(by_name) == CASES | PG_CASES
    for name in CASES:
        assert by_name[name]["backend"] == "sqlite"
        assert by_name[name]["ours"]["median_s"] > 0
    # CPU time beside wall time, for both sides, wherever a case runs whole processes or transitions.
    have_peer = Path(sys.executable).with_name("sqlite-utils").exists() or shutil.which("sqlite-utils")
    peerless = {"verify.signatures", "bulk.matrix_import"} | (set() if have_peer else {"read.board", "read.item_list"})
    for name in CASES - peerless:
        c = by_name[name]
        assert c["ours"]["median_cpu_s"] > 0 and c["reference"]["median_cpu_s"] > 0, name
        assert c["cpu_ratio"] is not None, name
    assert by_name["bulk.matrix_import"]["ours"]["median_cpu_s"] > 0
    # Every case is held to the memory budget; the targeted ones name their target.
    for name in CASES - {"verify.signatures"}:
        assert by_name[name]["memory_target"] == "<= 64 MiB" and "memory_met" in by_name[name], name
    assert by_name["write.transition_inprocess"]["target"] == "<= 3.0x CPU"
    assert by_name["read.board"]["target"] == "<= 1.0x wall"
    assert by_name["write.command_process"]["reference_cmd"] == 'python -c "import sqlmodel, sqlalchemy, click"'
    assert report["fsync"]["runs"] == 50 and report["fsync"]["median_ms"] > 0
    assert report["fsync"]["p90_ms"] >= report["fsync"]["median_ms"]
    # Growth: cost per unit and peak memory at each size of board, import, export and verify.
    assert set(report["growth"]) == {
        "bulk.matrix_import",
        "bulk.matrix_import_xlsx",
        "bulk.evidence_import",
        "read.board",
        "export.jsonl",
        "export.csv",
        "verify.audit",
        "verify.replay",
    }
    for name, points in report["growth"].items():
        assert [p["size"] for p in points] == sorted(p["size"] for p in points), name
        for point in points:
            assert point["us_per_unit"] > 0 and point["peak_rss_mib"] > 0, name
    assert all(p["us_per_row"] > 0 for p in report["growth"]["bulk.matrix_import"])
    assert all(p["us_per_row"] > 0 for p in report["growth"]["bulk.matrix_import_xlsx"])
    assert report["datasets"]["matrix_xlsx_60_s"] >= 0
    # The printed table says the fsync latency and each verdict's target.
    assert "fsync latency at the start" in proc.stdout
    assert "MISS" in proc.stdout or "MET" in proc.stdout
    for line in proc.stdout.splitlines():
        if line.startswith(("  MET ", "  MISS ")):
            assert "— target " in line, line
    pg_ran = {name for name in PG_CASES if not by_name[name].get("skipped")}
    assert pg_ran in (set(), PG_CASES), f"PostgreSQL cases ran only in part: {sorted(pg_ran)}"
    for name in PG_CASES:
        c = by_name[name]
        assert c["backend"] == "postgresql"
        if c.get("skipped"):  # no server binaries or no psycopg: a reason, never a failure
            assert isinstance(c["skipped"], str) and c["skipped"]
            assert c["ours"] is None
        else:
            assert c["ours"]["median_s"] > 0
    for name in ("pg.export.jsonl", "pg.export.csv", "pg.write.submit_process"):
        if name in pg_ran:
            assert by_name[name]["reference"]["median_s"] > 0
            assert by_name[name]["ours"]["peak_rss_mib"] > 0
    for name in ("export.jsonl", "export.csv", "verify.audit", "verify.replay"):
        assert by_name[name]["ours"]["peak_rss_mib"] > 0
    # Replay is timed against the chain check alone, on the same legal register, run by run.
    assert by_name["verify.replay"]["reference_cmd"].startswith("python -m bench.chainverify")
    assert by_name["verify.replay"]["reference"]["runs"] == by_name["verify.audit"]["ours"]["runs"]
    assert report["datasets"]["audit_build_s"] > 0
    assert report["datasets"]["board_60_s"] > 0
    if have_peer:
        assert by_name["read.board"]["reference"] is not None
        assert by_name["read.board"]["reference_cmd"] == "sqlite-utils rows FILE items (every row)"
    else:  # CI installs only '.[test]': the peer case is reported as skipped, not failed
        assert by_name["read.board"]["reference"] is None
