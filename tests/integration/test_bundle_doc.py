"""docs/AUDIT.md's stand-alone bundle check is run, as written, against a real register: it cannot drift."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from signoff.domain import bundle
from signoff.services.demo import build_demo

DOC = Path(__file__).resolve().parents[2] / "docs" / "AUDIT.md"


def checker_source() -> str:
    found = re.search(r"<!-- bundle -->\s*```python\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.S)
    assert found, "docs/AUDIT.md lost its <!-- bundle --> python block"
    return found.group(1)


@pytest.fixture
def demo(tmp_path: Path) -> tuple[Path, Path]:
    db = build_demo(tmp_path / "demo", echo=lambda _: None)
    script = tmp_path / "check_bundles.py"
    script.write_text(checker_source(), encoding="utf-8")
    return db, script


def run(script: Path, db: Path) -> subprocess.CompletedProcess[str]:
    # -I: isolated, so the script sees only the standard library, never signoff.
    return subprocess.run([sys.executable, "-I", str(script), str(db)], capture_output=True, text=True, timeout=60)


def test_doc_checker_is_short_and_standard_library_only() -> None:
    source = checker_source()
    assert len(source.splitlines()) <= 30
    assert set(re.findall(r"^import (.+)$", source, re.M)) == {"hashlib, json, sqlite3, sys"}
    assert f'"format": "{bundle.FORMAT}"' in source
    assert re.search(r"FIELDS = \((.*?)\)", source, re.S).group(1).replace("\n", "").replace(" ", "") == ",".join(  # type: ignore[union-attr]
        f'"{f}"' for f in bundle.ENTRY_FIELDS
    )


def test_doc_checker_agrees_with_every_submission_of_a_real_register(demo: tuple[Path, Path]) -> None:
    db, script = demo
    conn = sqlite3.connect(db)
    kinds = {k for (k,) in conn.execute("SELECT DISTINCT e.kind FROM evidence e")}
    submitted = conn.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    conn.close()
    assert kinds == {"file", "note", "measure"} and submitted >= 3
    result = run(script, db)
    assert (result.returncode, result.stdout) == (0, "submissions changed since frozen: none\n"), result.stderr


def test_doc_checker_finds_a_note_edited_after_submission(demo: tuple[Path, Path]) -> None:
    db, script = demo
    conn = sqlite3.connect(db)
    sub_id, ref, ids = conn.execute(
        "SELECT s.id, i.ref, s.evidence_ids FROM submissions s JOIN items i ON i.id = s.item_id"
        " WHERE EXISTS (SELECT 1 FROM evidence e WHERE e.kind = 'note' AND instr(',' || s.evidence_ids || ',',"
        " ',' || e.id || ',') > 0) ORDER BY s.id LIMIT 1"
    ).fetchone()
    note_id = conn.execute(
        f"SELECT id FROM evidence WHERE kind = 'note' AND id IN ({ids}) ORDER BY id LIMIT 1"
    ).fetchone()[0]
    conn.execute("DROP TRIGGER evidence_no_update")
    conn.execute("UPDATE evidence SET note = note || '!' WHERE id = ?", (note_id,))
    conn.commit()
    conn.close()
    result = run(script, db)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith(f"submissions changed since frozen: {sub_id} ({ref})")
