"""Evidence the board saw stays the evidence: the content-addressed store, the frozen bundle,
supersession instead of edits, and `evidence verify` catching altered, missing or swapped files."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CHAIR, MEMBER, SECRETARY, days_ago, write_matrix
from signing import fire_event

from signoff.errors import BadInput, Refused
from signoff.services import audit
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.store import blobs, location

TODAY = dt.date.today()
DUE = (TODAY + dt.timedelta(days=60)).isoformat()


@pytest.fixture
def item(db_path: Path, tmp_path: Path) -> Path:
    """OF-01 with two matrix rows, each covered: a file and a note."""
    rows = [
        ("OF-01", "ofsted-recommendation", "Screen every contact", DUE, "audit", "Case-file audit", DUE),
        ("OF-01", "ofsted-recommendation", "Screen every contact", DUE, "data", "Screening data", DUE),
    ]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "matrix.csv", rows))
    paper = tmp_path / "audit.txt"
    paper.write_bytes(b"Case-file audit: 48 of 50 contacts screened within a day.\n")
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(3), file=paper)
    add_evidence(db_path, SECRETARY, "OF-01", "data", days_ago(2), note="98% screened in a day")
    return db_path


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def audit_rows(db: Path, event: str) -> list[dict]:
    rows = query(db, "SELECT seq, outcome, detail FROM audit WHERE event = ? ORDER BY seq", event)
    return [{"seq": s, "outcome": o, "detail": json.loads(d)} for s, o, d in rows]


def the_blob(db: Path) -> Path:
    (digest,) = query(db, "SELECT sha256 FROM evidence WHERE kind = 'file'")[0]
    return blobs.blob_path(location.evidence_dir(db), digest)


# --- the content-addressed store ---------------------------------------------------------------


def test_file_is_copied_by_sha256_and_survives_the_original_changing(item: Path, tmp_path: Path) -> None:
    blob = the_blob(item)
    original = tmp_path / "audit.txt"
    assert blob.read_bytes() == original.read_bytes()
    assert blob.name == blobs.sha256_file(original)[0]
    assert blob.stat().st_mode & 0o777 == 0o444
    original.write_text("edited after the board saw it")
    original.rename(tmp_path / "moved.txt")
    assert audit.verify_evidence(item) == (1, [])


def test_evidence_verify_catches_an_altered_file(item: Path, run_cli: Callable) -> None:
    blob = the_blob(item)
    os.chmod(blob, 0o644)
    blob.write_bytes(blob.read_bytes().replace(b"48", b"50"))
    checked, problems = audit.verify_evidence(item)
    assert checked == 1
    assert problems == [f"audit.txt ({blob.name[:12]}…) has been altered"]
    result = run_cli("evidence", "verify", db=item)
    assert result.code == 1
    assert "has been altered" in result.out


def test_evidence_verify_catches_a_missing_file(item: Path, run_cli: Callable) -> None:
    blob = the_blob(item)
    os.chmod(blob, 0o644)
    blob.unlink()
    _, problems = audit.verify_evidence(item)
    assert len(problems) == 1 and "is missing from" in problems[0]
    assert run_cli("evidence", "verify", db=item).code == 1
    assert run_cli("evidence", "verify", db=item, actor=SECRETARY).out.count("missing") == 1


def test_evidence_verify_catches_a_document_swapped_in_the_register(item: Path, tmp_path: Path) -> None:
    """Replace the document and point the evidence row at it: the store is consistent, the log is not."""
    forged = tmp_path / "forged.txt"
    forged.write_bytes(b"Case-file audit: 50 of 50 contacts screened within a day.\n")
    digest = blobs.put(location.evidence_dir(item), forged).digest
    conn = sqlite3.connect(item)
    with pytest.raises(sqlite3.IntegrityError, match="never edited"):
        conn.execute("UPDATE evidence SET sha256 = ? WHERE kind = 'file'", (digest,))
    conn.execute("DROP TRIGGER evidence_no_update")  # a forger with the file in hand drops the guard first
    conn.execute("UPDATE evidence SET sha256 = ? WHERE kind = 'file'", (digest,))
    conn.commit()
    conn.close()
    _, problems = audit.verify_evidence(item)
    (evidence_seq,) = [r["seq"] for r in audit_rows(item, "evidence.add") if r["detail"]["kind"] == "file"]
    assert problems == [f"evidence record 1 (OF-01 audit): its sha256 differ from audit record {evidence_seq}"]


def test_evidence_row_with_no_audit_record_is_reported(item: Path) -> None:
    conn = sqlite3.connect(item)
    conn.execute(
        "INSERT INTO evidence (item_id, key, kind, note, sha256, dated, recorded_at, added_by)"
        " SELECT item_id, key, kind, 'slipped in', sha256, dated, recorded_at, added_by FROM evidence WHERE id = 2"
    )
    conn.commit()
    conn.close()
    _, problems = audit.verify_evidence(item)
    assert problems == [
        # The slipped-in row borrowed record 2's digest, which its own text does not have.
        "evidence record 3 (OF-01 data): its note text does not match its SHA-256",
        "evidence record 3 (OF-01 data) has no evidence.add record in the audit log",
    ]


# --- the frozen bundle -------------------------------------------------------------------------


def test_submission_freezes_the_bundle_and_approval_records_it(item: Path) -> None:
    fire_event(item, SECRETARY, "OF-01", "submit")
    fire_event(item, CHAIR, "OF-01", "approve", meeting=TODAY)
    [(submitted, ids)] = query(item, "SELECT bundle_digest, evidence_ids FROM submissions")
    [(approved, sub_id)] = query(item, "SELECT bundle_digest, submission_id FROM approvals")
    assert ids == "1,2" and approved == submitted and sub_id == 1
    submit = audit_rows(item, "submit")[0]
    assert submit["detail"] == {
        "bundle": submitted,
        "evidence_ids": [1, 2],
        "item_prev": submit["seq"] - 1,
        "submission_id": 1,
    }
    assert audit_rows(item, "approve")[0]["detail"]["bundle"] == submitted


def refused_failures(db: Path, actor: str, event: str, **kw: object) -> list[str]:
    with pytest.raises(Refused) as refusal:
        fire_event(db, actor, "OF-01", event, **kw)  # type: ignore[arg-type]
    return refusal.value.failures


def test_evidence_added_after_submission_blocks_approval_until_resubmitted(item: Path) -> None:
    """The path the workflow offers today: challenge, add evidence after it, resubmit, approve."""
    fire_event(item, SECRETARY, "OF-01", "submit")
    add_evidence(item, SECRETARY, "OF-01", "data", days_ago(0), note="This week's figure: 99%")
    failures = refused_failures(item, CHAIR, "approve", meeting=TODAY)
    assert failures == [
        "bundle_unchanged: evidence changed after submission: run 'signoff amend REF' to put the changed evidence to the board before approval"
    ]
    refusal = audit_rows(item, "approve")[-1]
    assert refusal["outcome"] == "refused" and refusal["detail"]["failures"] == failures
    # There is no resubmit from evidence_submitted: the item has to be challenged first...
    assert any(f.startswith("state:") for f in refused_failures(item, SECRETARY, "resubmit", response="x"))
    fire_event(item, SECRETARY, "OF-01", "challenge", reason="Evidence added after submission")
    # ...and the evidence added before that challenge does not count as answering it.
    failures = refused_failures(item, SECRETARY, "resubmit", response="Latest figure added")
    assert failures == ["evidence_since_challenge: no evidence has been added since the challenge was raised"]
    add_evidence(item, SECRETARY, "OF-01", "data", days_ago(0), note="This week's figure, confirmed: 99%")
    assert fire_event(item, SECRETARY, "OF-01", "resubmit", response="Latest figure added") == "evidence_submitted"
    assert fire_event(item, CHAIR, "OF-01", "approve", meeting=TODAY) == "signed_off"
    [_, (second, ids)] = query(item, "SELECT bundle_digest, evidence_ids FROM submissions ORDER BY id")
    assert ids == "1,2,3,4"
    assert query(item, "SELECT bundle_digest FROM approvals") == [(second,)]


def test_evidence_superseded_after_submission_blocks_approval(item: Path) -> None:
    fire_event(item, SECRETARY, "OF-01", "submit")
    add_evidence(item, SECRETARY, "OF-01", "data", days_ago(1), note="Corrected: 97% screened", supersedes=2)
    assert refused_failures(item, CHAIR, "approve", meeting=TODAY) == [
        "bundle_unchanged: evidence changed after submission: run 'signoff amend REF' to put the changed evidence to the board before approval"
    ]
    fire_event(item, MEMBER, "OF-01", "challenge", reason="Which figure is right?")
    add_evidence(item, SECRETARY, "OF-01", "data", days_ago(0), note="Checked: 97%", supersedes=3)
    fire_event(item, SECRETARY, "OF-01", "resubmit", response="The corrected figure stands")
    assert fire_event(item, CHAIR, "OF-01", "approve", meeting=TODAY) == "signed_off"
    [(ids,), (ids_now,)] = query(item, "SELECT evidence_ids FROM submissions ORDER BY id")
    assert (ids, ids_now) == ("1,2", "1,4")


def test_evidence_is_never_deleted_a_correction_supersedes_it(item: Path) -> None:
    add_evidence(item, SECRETARY, "OF-01", "data", days_ago(1), note="Corrected: 97% screened", supersedes=2)
    rows = query(item, "SELECT id, note, supersedes_id FROM evidence ORDER BY id")
    assert rows == [(1, None, None), (2, "98% screened in a day", None), (3, "Corrected: 97% screened", 2)]
    with pytest.raises(BadInput, match="already superseded"):
        add_evidence(item, SECRETARY, "OF-01", "data", days_ago(1), note="Again", supersedes=2)
    records = audit_rows(item, "evidence.add")
    assert [r["detail"].get("supersedes") for r in records if r["outcome"] == "applied"] == [None, None, 2]
    assert records[-1]["outcome"] == "refused" and "already superseded" in records[-1]["detail"]["failures"][0]
