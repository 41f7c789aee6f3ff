"""Cancelled and moved meetings are rebuilt by replaying the chain, and an edit behind signoff's back
to the calendar is reported: decisions name meetings, so the calendar is evidence too."""

from __future__ import annotations

from pathlib import Path

from conftest import SECRETARY, days_ago
from test_chain_truth import append_chained, edit, replayed

from signoff.domain import chain
from signoff.services.schedule import add_meeting, cancel_meeting, move_meeting

NEXT = days_ago(-14)
LATER = days_ago(-21)
GONE = days_ago(-28)


def calendar(db_path: Path) -> Path:
    add_meeting(db_path, SECRETARY, NEXT, "Improvement Board")
    add_meeting(db_path, SECRETARY, GONE)
    move_meeting(db_path, SECRETARY, NEXT, LATER, "Chamber booked")
    cancel_meeting(db_path, SECRETARY, GONE, "Quorum not met")
    return db_path


def test_cancellations_and_moves_replay_to_exactly_the_calendar(db_path: Path) -> None:
    assert replayed(calendar(db_path)) == ([], [])


def test_a_cancellation_or_move_edited_in_the_table_is_reported(db_path: Path) -> None:
    db = calendar(db_path)
    edit(
        db,
        f"UPDATE meetings SET cancelled_at = NULL, cancelled_by = NULL WHERE date = '{GONE.isoformat()}'",
        f"UPDATE meetings SET moved_to = '2099-01-01' WHERE date = '{NEXT.isoformat()}'",
        f"UPDATE meetings SET cancel_reason = 'nothing' WHERE date = '{NEXT.isoformat()}'",
    )
    _, differences = replayed(db)
    assert f"meetings {GONE.isoformat()} cancelled_by: the chain says 'sec', the table says None" in differences
    assert any(d.startswith(f"meetings {GONE.isoformat()} cancelled_at: the chain says") for d in differences)
    assert (
        f"meetings {NEXT.isoformat()} moved_to: the chain says '{LATER.isoformat()}', the table says '2099-01-01'"
        in (differences)
    )
    assert (
        f"meetings {NEXT.isoformat()} cancel_reason: the chain says 'Chamber booked', the table says 'nothing'"
        in differences
    )


def test_a_chained_cancellation_of_a_meeting_not_on_the_calendar_is_illegal(db_path: Path) -> None:
    db = calendar(db_path)
    seq = append_chained(
        db,
        actor=SECRETARY,
        roles="secretary",
        event="meeting.cancel",
        detail=chain.detail_text({"meeting_id": 9, "date": "2031-01-01", "note": None, "reason": "x"}),
    )
    problems, _ = replayed(db)
    assert any(s == seq and "no held meeting is on that date" in why for s, why in problems), problems


def test_a_chained_sign_off_at_a_meeting_never_on_the_calendar_is_illegal(db_path: Path, tmp_path: Path) -> None:
    from conftest import CHAIR, write_matrix

    from signoff.services.events import fire_event
    from signoff.services.evidence import add_evidence
    from signoff.services.matrix import import_matrix

    sheet = write_matrix(
        tmp_path / "m.csv",
        [("OF-01", "ofsted-recommendation", "Screen contacts", "", "audit", "Audit", NEXT.isoformat())],
    )
    import_matrix(db_path, SECRETARY, sheet)
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), note="48 of 50 screened")
    fire_event(db_path, SECRETARY, "OF-01", "submit")
    seq = append_chained(
        db_path,
        actor=CHAIR,
        roles="chair",
        item_ref="OF-01",
        from_state="evidence_submitted",
        to_state="signed_off",
        detail=chain.detail_text(
            {"meeting": days_ago(3).isoformat(), "approval_id": 1, "submission_id": 1, "bundle": "0" * 64}
        ),
    )
    problems, _ = replayed(db_path)
    assert any(s == seq and "not a held meeting on the calendar" in why for s, why in problems), problems
