"""The board's papers from the command line: report (HTML checked in a real browser), xlsx, JSON views."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SECRETARY, days_ago

REFS = ["OF-01", "OF-02", "IN-01"]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium for this test")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_board_pack_renders_and_prints_in_a_real_browser(run_cli, demo_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pack = tmp_path / "board-pack.html"
    result = run_cli("report", "--meeting", days_ago(0).isoformat(), "-o", str(pack), db=demo_db)
    assert result.code == 0, result.err
    html = pack.read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert "<script" not in html and "<svg" in html
    browser = _chromium()
    dom = _headless(browser, tmp_path / "p1", "--dump-dom", pack.as_uri())
    assert dom.returncode == 0, dom.stderr[-500:]
    items = json.loads(run_cli("item", "list", "--json", db=demo_db).out)
    for item in items:  # every item of the register appears in what the browser rendered
        assert f">{item['ref']}<" in dom.stdout
    for section in (
        "Plan on a page",
        "What changed since the last meeting",
        "Items asking for sign-off",
        "Measures against thresholds",
        "Overdue evidence by owner",
        "Perpetual limbo alarms",
    ):
        assert section in dom.stdout
    pdf = tmp_path / "board-pack.pdf"
    printed = _headless(browser, tmp_path / "p2", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", pack.as_uri())
    assert printed.returncode == 0, printed.stderr[-500:]
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


def test_board_pack_markdown_and_refusing_a_bad_date(run_cli, demo_db: Path) -> None:  # type: ignore[no-untyped-def]
    md = run_cli("report", "--meeting", days_ago(0).isoformat(), "--format", "md", db=demo_db)
    assert md.code == 0 and md.out.startswith("# Improvement Board pack")
    for ref in REFS:
        assert f"| {ref} |" in md.out
    bad = run_cli("report", "--meeting", "27/11/2026", db=demo_db)
    assert bad.code == 2 and "YYYY-MM-DD" in bad.err and "Traceback" not in bad.err


def test_every_board_view_has_json(run_cli, demo_db: Path) -> None:  # type: ignore[no-untyped-def]
    for args in (
        ["board"],
        ["overdue"],
        ["limbo"],
        ["measures"],
        ["meeting", "list"],
        ["item", "list"],
        ["item", "show", "OF-02"],
        ["history", "OF-02"],
        ["user", "list"],
        ["matrix", "show", "OF-01"],
    ):
        result = run_cli(*args, "--json", db=demo_db)
        assert result.code == 0, (args, result.err)
        json.loads(result.out)
    measures = json.loads(run_cli("measures", "--json", db=demo_db).out)
    assert {(m["measure"], m["met"]) for m in measures} == {("A1", True), ("A2", False)}


def test_reschedule_from_the_cli_shows_on_the_board(run_cli, demo_db: Path) -> None:  # type: ignore[no-untyped-def]
    new_due = days_ago(-40).isoformat()
    moved = run_cli(
        "item",
        "reschedule",
        "OF-05",
        "--due",
        new_due,
        "--reason",
        "IT supplier delay",
        db=demo_db,
        actor="sarah.okoro",
    )
    assert moved.code == 0, moved.err
    board = json.loads(run_cli("board", "--json", db=demo_db).out)
    of05 = next(i for i in board["items"] if i["ref"] == "OF-05")
    assert of05["due"] == new_due and of05["slipped"] is True
    refused = run_cli("item", "reschedule", "OF-05", "--due", new_due, "--reason", "x", db=demo_db, actor="dci.morgan")
    assert refused.code == 3 and "secretary" in refused.err


def test_spreadsheets_in_and_out(run_cli, db_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from openpyxl import Workbook, load_workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["item_ref", "item_kind", "item_title", "item_due", "evidence_key", "evidence_description", "present_by"])
    ws.append(
        [
            "OF-01",
            "ofsted-recommendation",
            "Front door",
            dt.datetime(2027, 1, 31),
            "audit",
            "Case audit",
            dt.datetime(2026, 12, 1),
        ]
    )
    ws.append(
        ["OF-01", "ofsted-recommendation", "Front door", dt.datetime(2027, 1, 31), "data", "Figures", "2026-12-15"]
    )
    wb.save(tmp_path / "matrix.xlsx")
    imported = run_cli("matrix", "import", str(tmp_path / "matrix.xlsx"), db=db_path, actor=SECRETARY)
    assert imported.code == 0, imported.err
    shown = json.loads(run_cli("matrix", "show", "OF-01", "--json", db=db_path).out)
    assert [(r["key"], r["present_by"]) for r in shown] == [("audit", "2026-12-01"), ("data", "2026-12-15")]

    out = run_cli("audit", "export", "--format", "xlsx", "-o", str(tmp_path / "audit.xlsx"), db=db_path)
    assert out.code == 0, out.err
    sheet = load_workbook(tmp_path / "audit.xlsx").active
    exported = [row for row in sheet.iter_rows(values_only=True)]
    assert exported[0][:3] == ("seq", "recorded_at", "actor") and exported[-1][4] is None
    assert len(exported) - 1 == len(run_cli("audit", "export", db=db_path).out.strip().splitlines()) - 1

    items = run_cli("item", "list", "-o", str(tmp_path / "items.xlsx"), db=db_path)
    assert items.code == 0
    assert load_workbook(tmp_path / "items.xlsx").active["A2"].value == "OF-01"
    no_file = run_cli("audit", "export", "--format", "xlsx", db=db_path)
    assert no_file.code == 2 and "-o" in no_file.err
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    broken = run_cli("matrix", "import", str(tmp_path / "broken.xlsx"), db=db_path, actor=SECRETARY)
    assert broken.code == 2 and "Excel" in broken.err and "Traceback" not in broken.err


def test_long_exports_and_imports_stay_quiet_when_piped(run_cli, demo_db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = run_cli("audit", "export", "--format", "jsonl", "-o", str(tmp_path / "a.jsonl"), db=demo_db)
    assert out.code == 0 and out.out == ""
    assert out.err.strip().startswith("Exported ") and len(out.err.strip().splitlines()) == 1  # no progress bar
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == int(out.err.split()[1])
