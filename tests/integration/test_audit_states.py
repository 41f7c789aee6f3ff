"""The audit record of a transition names the state it left, not only the state it reached."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import CHAIR, SECRETARY, days_ago, write_matrix
from signing import fire_event

from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix


def test_applied_records_carry_from_and_to_state(db_path: Path, tmp_path: Path) -> None:
    csv_path = write_matrix(
        tmp_path / "m.csv",
        [("OF-01", "ofsted-recommendation", "Screen contacts", "", "audit", "Case audit", days_ago(3).isoformat())],
    )
    import_matrix(db_path, SECRETARY, csv_path)
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), note="Audit of 30 contacts")
    fire_event(db_path, SECRETARY, "OF-01", "submit")
    fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))

    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "SELECT event, from_state, to_state, detail FROM audit WHERE item_ref = 'OF-01' AND event IN ('submit', 'approve')"
        " ORDER BY seq"
    ).fetchall()
    assert [(e, f, t) for e, f, t, _ in rows] == [
        ("submit", "proposed", "evidence_submitted"),
        ("approve", "evidence_submitted", "signed_off"),
    ]
    assert json.loads(rows[1][3])["meeting"] == days_ago(0).isoformat()


def test_amend_refreezes_the_bundle_after_late_evidence(db_path: Path, tmp_path: Path) -> None:
    import pytest

    from signoff.errors import Refused

    csv_path = write_matrix(
        tmp_path / "m.csv",
        [("OF-01", "ofsted-recommendation", "Screen contacts", "", "audit", "Case audit", days_ago(3).isoformat())],
    )
    import_matrix(db_path, SECRETARY, csv_path)
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(2), note="Audit of 30 contacts")
    fire_event(db_path, SECRETARY, "OF-01", "submit")
    with pytest.raises(Refused, match="bundle_changed"):
        fire_event(db_path, SECRETARY, "OF-01", "amend")  # nothing new to put to the board
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), note="Re-audit of 10 more contacts")
    with pytest.raises(Refused, match="bundle_unchanged"):
        fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    assert fire_event(db_path, SECRETARY, "OF-01", "amend") == "evidence_submitted"
    assert fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0)) == "signed_off"


def test_every_record_names_the_rules_in_force(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM audit WHERE workflow_hash IS NULL").fetchone() == (0,)


def test_approval_is_refused_when_a_stored_evidence_file_was_altered(db_path: Path, tmp_path: Path) -> None:
    import os

    import pytest

    from signoff.errors import Refused
    from signoff.store import blobs, location

    csv_path = write_matrix(
        tmp_path / "m.csv",
        [("OF-01", "ofsted-recommendation", "Screen contacts", "", "audit", "Case audit", days_ago(3).isoformat())],
    )
    import_matrix(db_path, SECRETARY, csv_path)
    paper = tmp_path / "audit.txt"
    paper.write_text("30 contacts audited; all screened within a day\n", encoding="utf-8")
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(2), file=paper)
    fire_event(db_path, SECRETARY, "OF-01", "submit")
    (digest,) = sqlite3.connect(db_path).execute("SELECT sha256 FROM evidence").fetchone()
    stored = blobs.blob_path(location.evidence_dir(db_path), digest)
    os.chmod(stored, 0o644)
    stored.write_text("30 contacts audited; 12 screened late\n", encoding="utf-8")
    with pytest.raises(Refused) as refused:
        fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    assert refused.value.failures == [
        "evidence_files_intact: stored evidence files are missing or altered: #1 audit.txt"
    ]
    stored.write_text("30 contacts audited; all screened within a day\n", encoding="utf-8")
    assert fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0)) == "signed_off"


@pytest.mark.parametrize("table", ["evidence", "submissions", "approvals", "reschedules", "audit"])
def test_records_of_the_decision_are_never_edited_or_deleted(db_path: Path, table: str) -> None:
    conn = sqlite3.connect(db_path)
    for statement in (f"UPDATE {table} SET rowid = rowid", f"DELETE FROM {table}"):
        with pytest.raises(sqlite3.IntegrityError):
            # The triggers fire per row, so give each table one row to protect first.
            if conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0:
                _one_row(conn, table)
            conn.execute(statement)
    conn.close()


def _one_row(conn: sqlite3.Connection, table: str) -> None:
    conn.execute(
        "INSERT INTO items (ref, kind, title, state, version, created_at, last_transition_at)"
        " VALUES ('T-1', 'ofsted-recommendation', 't', 'proposed', 1, 'x', 'x')"
    )
    rows = {
        "evidence": "INSERT INTO evidence (item_id, key, kind, sha256, dated, recorded_at, added_by)"
        " VALUES (1, 'k', 'note', 'x', 'x', 'x', 'x')",
        "submissions": "INSERT INTO submissions (item_id, event, submitted_at, submitted_by, bundle_digest, evidence_ids)"
        " VALUES (1, 'submit', 'x', 'x', 'x', '')",
        "reschedules": "INSERT INTO reschedules (item_id, to_due, reason, changed_by, changed_at) VALUES (1, 'x', 'x', 'x', 'x')",
    }
    if table == "approvals":
        conn.execute(rows["submissions"])
        conn.execute(
            "INSERT INTO approvals (item_id, submission_id, approved_at, approved_by, meeting, bundle_digest)"
            " VALUES (1, 1, 'x', 'x', 'x', 'x')"
        )
    else:
        conn.execute(rows[table])


def test_an_init_interrupted_after_its_migrations_is_finished_by_the_next_init(tmp_path: Path) -> None:
    from signoff.errors import BadInput
    from signoff.services.audit import verify
    from signoff.services.register import init_register
    from signoff.store import migrate

    db = tmp_path / "half.db"
    migrate.upgrade(db)  # as if init had stopped between its two steps
    init_register(db, SECRETARY)
    assert verify(db)[0].ok
    with pytest.raises(BadInput, match="already a signoff register"):
        init_register(db, SECRETARY)
