"""Editing the register behind the board's back: the frozen bundle covers every field the board read.

Each test builds a real register, submits an item, then opens the file with stdlib sqlite3 as an
attacker would (dropping the append-only trigger first) and edits one evidence row. Approval must
refuse with `bundle_unchanged`; `evidence verify` must name what no longer matches; a damaged
stored copy is repaired by adding the genuine file again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import CHAIR, SECRETARY, days_ago, write_matrix
from signing import fire_event

from signoff.errors import Refused
from signoff.services import audit
from signoff.services.evidence import MeasureInput, add_evidence
from signoff.services.matrix import import_matrix
from signoff.store import blobs, location

DUE = days_ago(-60).isoformat()
CHANGED = "bundle_unchanged: evidence changed after submission: run 'signoff amend REF' to put the changed evidence to the board before approval"
OVERRIDE = "Recorded in the minutes"
PLAN = b"Improvement plan v3, agreed with the DfE adviser.\n"


@pytest.fixture
def item(db_path: Path, tmp_path: Path) -> Path:
    """IN-01 with a measure (#1, missing its threshold: 240 days against at most 200), a note (#2)
    and a file (#3)."""
    rows = [
        ("IN-01", "improvement-notice", "Adoption timeliness", DUE, key, what, DUE)
        for key, what in (("a1", "A1 average"), ("minutes", "Panel minutes"), ("plan", "Improvement plan"))
    ]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "matrix.csv", rows))
    add_evidence(
        db_path,
        SECRETARY,
        "IN-01",
        "a1",
        days_ago(4),
        measure=MeasureInput("A1", 240, "days", "2025-26", 200, "at-most"),
    )
    add_evidence(db_path, SECRETARY, "IN-01", "minutes", days_ago(3), note="Panel met weekly since June")
    plan = tmp_path / "plan.txt"
    plan.write_bytes(PLAN)
    add_evidence(db_path, SECRETARY, "IN-01", "plan", days_ago(2), file=plan)
    return db_path


@contextmanager
def tampering(db: Path, *tables: str) -> Iterator[sqlite3.Connection]:
    """Open the register as an attacker: drop the tables' no-update triggers, commit on exit."""
    conn = sqlite3.connect(db)
    for table in tables:
        conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def edit(db: Path, evidence_id: int, column: str, value: object) -> None:
    with tampering(db, "evidence") as conn:
        assert conn.execute(f"UPDATE evidence SET {column} = ? WHERE id = ?", (value, evidence_id)).rowcount == 1


def approval_failures(db: Path, **kw: object) -> list[str]:
    with pytest.raises(Refused) as refusal:
        fire_event(db, CHAIR, "IN-01", "approve", meeting=days_ago(0), **kw)  # type: ignore[arg-type]
    return refusal.value.failures


def last_audit(db: Path, event: str) -> tuple[str, dict[str, object]]:
    conn = sqlite3.connect(db)
    try:
        outcome, detail = conn.execute(
            "SELECT outcome, detail FROM audit WHERE event = ? ORDER BY seq DESC LIMIT 1", (event,)
        ).fetchone()
    finally:
        conn.close()
    return outcome, json.loads(detail)


# --- approval refuses a bundle edited after submission -------------------------------------------


def test_untouched_bundle_is_approved(item: Path) -> None:
    fire_event(item, SECRETARY, "IN-01", "submit")
    assert fire_event(item, CHAIR, "IN-01", "approve", meeting=days_ago(0), override_reason=OVERRIDE) == "signed_off"


def test_a_measure_edited_to_meet_its_threshold_does_not_pass_approval(item: Path) -> None:
    """The attack in issue 10: 240 → 200 turned a refused approval into a sign-off with no override."""
    fire_event(item, SECRETARY, "IN-01", "submit")
    assert [f.split(":")[0] for f in approval_failures(item)] == ["measures_met"]
    edit(item, 1, "value", "200.0")
    assert approval_failures(item) == [CHANGED]
    outcome, detail = last_audit(item, "approve")
    assert outcome == "refused" and detail["failures"] == [CHANGED]


EDITS = [
    ("note", 2, "Panel met daily since June"),
    ("file_name", 3, "plan-v4.txt"),
    ("file_size", 3, 1),
    ("value", 1, "180.0"),
    ("threshold", 1, "250.0"),
    ("unit", 1, "weeks"),
    ("period", 1, "2024-25"),
    ("direction", 1, "at-least"),
    ("measure", 1, "A2"),
    ("added_by", 2, "member"),
    ("recorded_at", 2, "2026-01-01T00:00:00.000000+00:00"),
    ("dated", 3, days_ago(30).isoformat()),
]


@pytest.mark.parametrize(("column", "evidence_id", "value"), EDITS, ids=[e[0] for e in EDITS])
def test_any_field_edited_after_submission_refuses_approval(
    item: Path, column: str, evidence_id: int, value: object
) -> None:
    fire_event(item, SECRETARY, "IN-01", "submit")
    edit(item, evidence_id, column, value)
    assert approval_failures(item, override_reason=OVERRIDE) == [CHANGED]


def test_a_note_edited_together_with_its_sha256_still_refuses_approval(item: Path) -> None:
    fire_event(item, SECRETARY, "IN-01", "submit")
    text = "Panel met daily since June"
    with tampering(item, "evidence") as conn:
        conn.execute(
            "UPDATE evidence SET note = ?, sha256 = ? WHERE id = 2", (text, hashlib.sha256(text.encode()).hexdigest())
        )
    assert approval_failures(item, override_reason=OVERRIDE) == [CHANGED]


def edit_on_any_backend(db: Path | str, evidence_id: int, column: str, value: object) -> None:
    if not str(db).startswith("postgresql"):
        edit(Path(db), evidence_id, column, value)
        return
    import psycopg

    with psycopg.connect(str(db).replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("DROP TRIGGER IF EXISTS evidence_no_update ON evidence")
        conn.execute(f"UPDATE evidence SET {column} = %s WHERE id = %s", (value, evidence_id))


@pytest.mark.parametrize(("column", "value"), [("value", "200.0"), ("note", "Panel met daily since June")])
def test_on_each_backend_an_edited_measure_or_note_refuses_approval(
    register_db: Path | str, tmp_path: Path, column: str, value: str
) -> None:
    rows = [("IN-01", "improvement-notice", "Adoption timeliness", DUE, "a1", "A1 average", DUE)]
    import_matrix(register_db, SECRETARY, write_matrix(tmp_path / "matrix.csv", rows))
    add_evidence(
        register_db, SECRETARY, "IN-01", "a1", days_ago(4), measure=MeasureInput("A1", 240, "", "", 200, "at-most")
    )
    add_evidence(register_db, SECRETARY, "IN-01", "a1", days_ago(3), note="Panel met weekly since June")
    fire_event(register_db, SECRETARY, "IN-01", "submit")
    edit_on_any_backend(register_db, 1 if column == "value" else 2, column, value)
    with pytest.raises(Refused) as refusal:
        fire_event(register_db, CHAIR, "IN-01", "approve", meeting=days_ago(0), override_reason=OVERRIDE)
    assert refusal.value.failures == [CHANGED]
    _, problems = audit.verify_evidence(register_db)
    assert len(problems) == 1 and "does not match its SHA-256" in problems[0]


# --- submissions frozen before the bundle covered every field ------------------------------------


def freeze_the_old_way(db: Path) -> str:
    """Rewrite the submission's digest as signoff computed it before: id, key, sha256 and date of
    each standing record (the schema is the same, so this is such a submission exactly)."""
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT id, key, sha256, dated FROM evidence ORDER BY id").fetchall()
    conn.close()
    old = hashlib.sha256("\n".join(sorted(f"{i}:{k}:{s}:{d}" for i, k, s, d in rows)).encode("utf-8")).hexdigest()
    with tampering(db, "submissions") as conn:
        conn.execute("UPDATE submissions SET bundle_digest = ?", (old,))
    return old


def test_an_old_submission_left_alone_is_still_approved(item: Path) -> None:
    fire_event(item, SECRETARY, "IN-01", "submit")
    old = freeze_the_old_way(item)
    assert fire_event(item, CHAIR, "IN-01", "approve", meeting=days_ago(0), override_reason=OVERRIDE) == "signed_off"
    assert last_audit(item, "approve")[1]["bundle"] == old


@pytest.mark.parametrize(("column", "evidence_id", "value"), [EDITS[0], EDITS[3], ("sha256", 3, "ab" * 32)])
def test_an_old_submission_still_refuses_an_edited_note_measure_or_file(
    item: Path, column: str, evidence_id: int, value: object
) -> None:
    fire_event(item, SECRETARY, "IN-01", "submit")
    freeze_the_old_way(item)
    edit(item, evidence_id, column, value)
    assert CHANGED in approval_failures(item, override_reason=OVERRIDE)  # a file's, with evidence_files_intact


def test_an_old_submission_unchanged_cannot_be_amended(item: Path) -> None:
    """`amend` needs the evidence to differ from the frozen bundle: an old digest is judged in its own format."""
    fire_event(item, SECRETARY, "IN-01", "submit")
    freeze_the_old_way(item)
    with pytest.raises(Refused) as refusal:
        fire_event(item, SECRETARY, "IN-01", "amend")
    assert [f.split(":")[0] for f in refusal.value.failures] == ["bundle_changed"]
    add_evidence(item, SECRETARY, "IN-01", "minutes", days_ago(0), note="Panel minutes for November")
    assert fire_event(item, SECRETARY, "IN-01", "amend") == "evidence_submitted"


# --- evidence verify recomputes notes and measures ------------------------------------------------


def test_evidence_verify_reports_an_edited_note_and_measure(item: Path, run_cli: Callable) -> None:
    assert audit.verify_evidence(item) == (1, [])
    edit(item, 2, "note", "Panel met daily since June")
    edit(item, 1, "value", "200.0")
    result = run_cli("evidence", "verify", db=item)
    assert result.code == 1, result.err
    assert result.out.splitlines() == [
        "evidence record 1 (IN-01 a1): its measure (name, value, unit, period, threshold, direction)"
        " does not match its SHA-256",
        "evidence record 2 (IN-01 minutes): its note text does not match its SHA-256",
    ]
    assert "2 problem(s)" in result.err


def test_evidence_verify_reports_a_note_edited_with_its_sha256_and_a_renamed_file(item: Path) -> None:
    text = "Panel met daily since June"
    edit(item, 2, "note", text)
    edit(item, 2, "sha256", hashlib.sha256(text.encode()).hexdigest())
    edit(item, 3, "file_name", "plan-v4.txt")
    seqs = [s for s, d in sqlite3.connect(item).execute("SELECT seq, detail FROM audit WHERE event = 'evidence.add'")]
    _, problems = audit.verify_evidence(item)
    assert problems == [
        f"evidence record 2 (IN-01 minutes): its sha256 differ from audit record {seqs[1]}",
        f"evidence record 3 (IN-01 plan): its file_name differ from audit record {seqs[2]}",
    ]


# --- a damaged stored copy is repaired by adding the genuine file again ---------------------------


def the_blob(db: Path) -> Path:
    return blobs.blob_path(location.evidence_dir(db), hashlib.sha256(PLAN).hexdigest())


def test_re_adding_the_file_repairs_a_damaged_stored_copy(item: Path, tmp_path: Path, run_cli: Callable) -> None:
    blob = the_blob(item)
    os.chmod(blob, 0o644)
    blob.write_bytes(PLAN.replace(b"v3", b"v4"))
    assert audit.verify_evidence(item)[1] == [f"plan.txt ({blob.name[:12]}…) has been altered"]

    other = tmp_path / "other.txt"
    other.write_bytes(PLAN.replace(b"v3", b"v4"))  # the damaged bytes: a different document, not a repair
    add = run_cli(
        "evidence",
        "add",
        "IN-01",
        "plan",
        "--file",
        str(other),
        "--dated",
        days_ago(0).isoformat(),
        db=item,
        actor=SECRETARY,
    )
    assert add.code == 0 and "Repaired" not in add.out
    assert audit.verify_evidence(item)[1] == [f"plan.txt ({blob.name[:12]}…) has been altered"]

    genuine = tmp_path / "copy-of-plan.txt"
    genuine.write_bytes(PLAN)
    add = run_cli(
        "evidence",
        "add",
        "IN-01",
        "plan",
        "--file",
        str(genuine),
        "--dated",
        days_ago(0).isoformat(),
        db=item,
        actor=SECRETARY,
    )
    assert add.code == 0, add.err
    assert add.out.splitlines() == [
        "Recorded evidence 5 for IN-01 / plan.",
        "Repaired the stored copy of copy-of-plan.txt from this file: it no longer had its SHA-256.",
    ]
    assert blob.read_bytes() == PLAN and blob.stat().st_mode & 0o777 == 0o444
    assert audit.verify_evidence(item) == (3, [])  # one per name a stored copy is known by
    assert last_audit(item, "evidence.add")[1]["repaired_stored_copy"] is True
    assert run_cli("evidence", "verify", db=item).code == 0


def test_re_adding_the_file_restores_a_missing_stored_copy(item: Path, tmp_path: Path, run_cli: Callable) -> None:
    blob = the_blob(item)
    os.chmod(blob, 0o644)
    blob.unlink()
    add = run_cli(
        "evidence",
        "add",
        "IN-01",
        "plan",
        "--file",
        str(tmp_path / "plan.txt"),
        "--dated",
        days_ago(0).isoformat(),
        db=item,
        actor=SECRETARY,
    )
    assert add.code == 0, add.err
    assert add.out.splitlines()[1] == "Repaired the stored copy of plan.txt from this file: it was missing."
    assert blob.read_bytes() == PLAN
    assert audit.verify_evidence(item) == (1, [])


def test_re_adding_an_intact_file_repairs_nothing(item: Path, tmp_path: Path, run_cli: Callable) -> None:
    add = run_cli(
        "evidence",
        "add",
        "IN-01",
        "plan",
        "--file",
        str(tmp_path / "plan.txt"),
        "--dated",
        days_ago(0).isoformat(),
        db=item,
        actor=SECRETARY,
    )
    assert add.code == 0 and add.out.splitlines() == ["Recorded evidence 4 for IN-01 / plan."]
    assert "repaired_stored_copy" not in last_audit(item, "evidence.add")[1]
