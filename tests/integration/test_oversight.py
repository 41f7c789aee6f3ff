"""Reschedules, overdue by owner, limbo alarms and the measures tracker on a real register."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from conftest import CHAIR, MEMBER, SECRETARY, days_ago, write_matrix
from signing import fire_event

from signoff.domain.matrix import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from signoff.errors import BadInput, Refused
from signoff.services import oversight, views
from signoff.services.evidence import MeasureInput, add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.schedule import add_meeting, reschedule

HEADER = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)


@pytest.fixture
def register(db_path: Path, tmp_path: Path) -> Path:
    past, soon, later = days_ago(5).isoformat(), days_ago(-7).isoformat(), days_ago(-60).isoformat()
    rows = [
        (
            "OF-01",
            "ofsted-recommendation",
            "Front door",
            days_ago(2).isoformat(),
            "audit",
            "Case audit",
            past,
            "Head of ChECS",
            "QA Lead",
        ),
        (
            "OF-01",
            "ofsted-recommendation",
            "Front door",
            days_ago(2).isoformat(),
            "data",
            "Performance data",
            days_ago(2).isoformat(),  # presented by the item's due date, never after
            "Head of ChECS",
            "",
        ),
        (
            "OF-02",
            "ofsted-recommendation",
            "Caseloads",
            later,
            "caseloads",
            "Caseload figures",
            soon,
            "Service Manager",
            "",
        ),
        ("IN-02", "improvement-notice", "Adoption A1", later, "a1", "A1 average", past, "Adoption Manager", ""),
    ]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows, HEADER))
    return db_path


def test_reschedule_keeps_the_original_date_and_every_reason(register: Path) -> None:
    first = days_ago(-30)
    second = days_ago(-45)
    assert reschedule(register, SECRETARY, "OF-01", first, "Supplier delay") == days_ago(2).isoformat()
    reschedule(register, SECRETARY, "OF-01", second, "Advocacy contract not yet awarded")
    item = views.item_detail(register, "OF-01")
    assert item["due"] == second.isoformat()
    assert item["original_due"] == days_ago(2).isoformat()
    assert item["slipped"] is True
    assert [r["reason"] for r in item["reschedules"]] == ["Supplier delay", "Advocacy contract not yet awarded"]
    assert [r["from_due"] for r in item["reschedules"]] == [days_ago(2).isoformat(), first.isoformat()]


def test_only_the_secretary_reschedules_and_the_refusal_is_audited(register: Path) -> None:
    with pytest.raises(Refused):
        reschedule(register, MEMBER, "OF-01", days_ago(-30), "I would like more time")
    with pytest.raises(BadInput):
        reschedule(register, SECRETARY, "OF-01", days_ago(-30), "   ")
    conn = sqlite3.connect(register)
    outcome = conn.execute("SELECT outcome FROM audit WHERE event = 'item.reschedule' ORDER BY seq DESC").fetchone()
    assert outcome == ("refused",)
    assert conn.execute("SELECT due FROM items WHERE ref = 'OF-01'").fetchone() == (days_ago(2).isoformat(),)


def test_overdue_groups_rows_and_items_by_owner(register: Path) -> None:
    data = oversight.overdue(register)
    owners = data["owners"]
    assert [r["key"] for r in owners["QA Lead"]["evidence"]] == ["audit"]  # the row's own owner wins
    assert [r["ref"] for r in owners["Head of ChECS"]["items"]] == ["OF-01"]  # the item is past due
    assert owners["Adoption Manager"]["evidence"][0]["days_late"] == 5
    assert "Service Manager" not in owners  # due in a week is not overdue
    later = oversight.overdue(register, as_of=days_ago(-8))
    assert "Service Manager" in later["owners"]
    add_evidence(register, SECRETARY, "OF-01", "audit", days_ago(1), note="Audit done")
    assert "QA Lead" not in oversight.overdue(register)["owners"]


def test_overdue_owners_come_in_code_point_order_with_their_rows_and_items_together(
    register: Path, tmp_path: Path
) -> None:
    # The pack reads overdue rows and items as two streams merged by owner: an owner with only items,
    # one with only rows, one written in lower case (after every capital) and items with no owner.
    past, due = days_ago(3).isoformat(), days_ago(1).isoformat()
    more = [
        ("IN-07", "improvement-notice", "Placements", due, "p1", "Placement data", past, "", "zed Lead"),
        ("IN-08", "improvement-notice", "Leaving care", due, "l1", "Pathway plans", past, "", ""),
        ("IN-09", "improvement-notice", "Fostering", due, "f1", "Panel minutes", past, "Ann", ""),
    ]
    import_matrix(register, SECRETARY, write_matrix(tmp_path / "more.csv", more, HEADER))
    add_evidence(register, SECRETARY, "IN-09", "f1", days_ago(2), note="Minutes of the panel")
    owners = oversight.overdue(register)["owners"]
    assert (
        list(owners)
        == sorted(owners)
        == [
            "(no owner)",
            "Adoption Manager",
            "Ann",
            "Head of ChECS",
            "QA Lead",
            "zed Lead",
        ]
    )
    assert [r["ref"] for r in owners["(no owner)"]["items"]] == ["IN-07", "IN-08"]
    assert [r["key"] for r in owners["(no owner)"]["evidence"]] == ["l1"] and owners["Ann"]["evidence"] == []
    assert [r["ref"] for r in owners["Ann"]["items"]] == ["IN-09"]
    assert [r["key"] for r in owners["zed Lead"]["evidence"]] == ["p1"] and owners["zed Lead"]["items"] == []
    assert [r["ref"] for r in owners["Head of ChECS"]["items"]] == ["OF-01"]
    assert [r["key"] for r in owners["Head of ChECS"]["evidence"]] == ["data"]


def test_limbo_flags_stalled_repeatedly_challenged_and_waiting_items(register: Path) -> None:
    assert oversight.limbo(register) == []
    conn = sqlite3.connect(register)
    with conn:  # an item nobody has touched since long before the limit
        conn.execute(
            "UPDATE items SET last_transition_at = ? WHERE ref = 'OF-02'", ("2026-01-01T00:00:00.000000+00:00",)
        )
    # IN-02 challenged twice
    add_evidence(
        register,
        SECRETARY,
        "IN-02",
        "a1",
        days_ago(3),
        measure=MeasureInput("A1", 612, "days", "2010-13", 639, "at-most"),
    )
    fire_event(register, SECRETARY, "IN-02", "submit")
    for n in range(2):
        fire_event(register, MEMBER, "IN-02", "challenge", reason=f"Question {n}")
        add_evidence(register, SECRETARY, "IN-02", "a1", days_ago(1), note=f"Answer {n}")
        fire_event(register, SECRETARY, "IN-02", "resubmit", response=f"Answered {n}")
    # OF-01 submitted, then a board meeting passed without a decision
    add_evidence(register, SECRETARY, "OF-01", "audit", days_ago(3), note="Audit")
    add_evidence(register, SECRETARY, "OF-01", "data", days_ago(3), note="Data")
    fire_event(register, SECRETARY, "OF-01", "submit")
    with conn:  # as if submitted ten days ago: the trigger keeping submissions final is set aside for the setup
        conn.execute("DROP TRIGGER submissions_no_update")
        conn.execute(
            "UPDATE submissions SET submitted_at = ? WHERE item_id = (SELECT id FROM items WHERE ref = 'OF-01')",
            (dt.datetime.combine(days_ago(10), dt.time(), dt.UTC).isoformat(),),
        )
    add_meeting(register, SECRETARY, days_ago(3), "Improvement Board")
    flagged = {i["ref"]: i["limbo"] for i in oversight.limbo(register)}
    assert set(flagged) == {"OF-01", "OF-02", "IN-02"}
    assert flagged["IN-02"] == ["challenged 2 times"]
    assert flagged["OF-01"] == [f"submitted and still waiting after the board meeting of {days_ago(3).isoformat()}"]
    assert flagged["OF-02"][0].startswith("no progress for ")
    board = views.board(register)
    assert {i["ref"] for i in board["limbo"]} == set(flagged)
    assert all(i["rag"] == "red" for i in board["items"] if i["ref"] in flagged)


def test_measures_tracker_judges_thresholds_and_trend(register: Path) -> None:
    add_evidence(
        register,
        SECRETARY,
        "IN-02",
        "a1",
        days_ago(30),
        measure=MeasureInput("A1", 702, "days", "2009-12", 639, "at-most"),
    )
    wrong = add_evidence(
        register,
        SECRETARY,
        "IN-02",
        "a1",
        days_ago(3),
        measure=MeasureInput("A1", 700, "days", "2010-13", 639, "at-most"),
    )
    add_evidence(
        register,
        SECRETARY,
        "IN-02",
        "a1",
        days_ago(2),
        measure=MeasureInput("A1", 612, "days", "2010-13", 639, "at-most"),
        supersedes=wrong,
    )
    [a1] = oversight.measures(register)
    assert (a1["measure"], a1["value"], a1["met"], a1["period"]) == ("A1", 612.0, True, "2010-13")
    assert [t["value"] for t in a1["trend"]] == [702.0, 612.0]  # the superseded 700 is not in the trend
    assert a1["trend_direction"] == "improving"


def test_a_measure_missing_its_threshold_blocks_approval_unless_the_chair_records_why(register: Path) -> None:
    add_evidence(
        register,
        SECRETARY,
        "IN-02",
        "a1",
        days_ago(3),
        measure=MeasureInput("A1", 700, "days", "2010-13", 639, "at-most"),
    )
    fire_event(register, SECRETARY, "IN-02", "submit")
    with pytest.raises(Refused) as refused:
        fire_event(register, CHAIR, "IN-02", "approve", meeting=days_ago(0))
    assert any(f.startswith("measures_met:") for f in refused.value.failures)
    assert views.item_detail(register, "IN-02")["rag"] == "red"
    assert (
        fire_event(
            register,
            CHAIR,
            "IN-02",
            "approve",
            meeting=days_ago(0),
            override_reason="Children entering care since 2012 are well inside the threshold",
        )
        == "signed_off"
    )
    approval = views.item_detail(register, "IN-02")["approvals"][0]
    assert approval["override_reason"].startswith("Children entering care")


def test_board_pack_has_every_section(register: Path) -> None:
    add_evidence(register, SECRETARY, "OF-02", "caseloads", days_ago(1), note="Caseloads down")
    fire_event(register, SECRETARY, "OF-02", "submit")
    pack = oversight.board_pack(register, days_ago(0))
    assert {i["ref"] for i in pack["plan"]["items"]} == {"OF-01", "OF-02", "IN-02"}
    assert [a["ref"] for a in pack["asking_for_sign_off"]] == ["OF-02"]
    assert [e["key"] for e in pack["asking_for_sign_off"][0]["evidence"]] == ["caseloads"]
    assert any(c["event"] == "submit" and c["item_ref"] == "OF-02" for c in pack["changes"])
    assert pack["states_over_time"][-1] == {"date": days_ago(0).isoformat(), "proposed": 2, "evidence_submitted": 1}
