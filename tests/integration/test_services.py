"""The use cases on a real register, SQLite and PostgreSQL alike: an item's whole life, refusals,
evidence and guards."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import AUDITOR, CHAIR, MEMBER, SECRETARY, days_ago, write_matrix
from signing import fire_event

from signoff.errors import BadInput, NotFound, Refused
from signoff.services import audit as audit_service
from signoff.services.evidence import MeasureInput, add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.register import add_user
from signoff.services.schedule import add_meeting
from signoff.services.views import item_detail
from signoff.store.reader import Reader

# Every use case runs under two zones whose local day differs from the UTC day (conftest.BOARD_ZONES);
# "today" is read when the test runs, in its zone, as signoff reads it.
pytestmark = pytest.mark.usefixtures("board_tz")


def make_item(
    db: Path,
    tmp_path: Path,
    ref: str = "OF-01",
    kind: str = "ofsted-recommendation",
    keys: tuple[str, ...] = ("audit", "policy"),
) -> None:
    rows = [(ref, kind, f"Title of {ref}", "", k, f"{k} evidence", days_ago(-30).isoformat()) for k in keys]
    import_matrix(db, SECRETARY, write_matrix(tmp_path / f"{ref.replace('/', '_')}.csv", rows))


def cover(
    db: Path,
    ref: str,
    keys: tuple[str, ...] = ("audit", "policy"),
    actor: str = SECRETARY,
    dated: dt.date | None = None,
) -> list[int]:
    dated = dated or days_ago(1)
    return [add_evidence(db, actor, ref, k, dated, note=f"{k} for {ref}") for k in keys]


def submitted(db: Path, tmp_path: Path, ref: str = "OF-01", adder: str = SECRETARY) -> None:
    make_item(db, tmp_path, ref)
    cover(db, ref, actor=adder)
    assert fire_event(db, SECRETARY, ref, "submit") == "evidence_submitted"


@pytest.fixture
def db_path(register_db: Path | str) -> Path | str:
    """This module runs on both backends."""
    return register_db


def audit_rows(db: Path | str) -> list[dict[str, Any]]:
    with Reader(db) as r:
        return r.all("SELECT * FROM audit ORDER BY seq")


def item_row(db: Path | str, ref: str) -> tuple[str, int]:
    with Reader(db) as r:
        row = r.one("SELECT state, version FROM items WHERE ref = ?", (ref,))
    assert row is not None
    return row["state"], row["version"]


def refused(db: Path, actor: str, ref: str, event: str, **kw: Any) -> Refused:
    """Fire an event that must be refused; check nothing moved and one refusal was audited."""
    state, version = item_row(db, ref)
    count = len(audit_rows(db))
    with pytest.raises(Refused) as info:
        fire_event(db, actor, ref, event, **kw)
    assert item_row(db, ref) == (state, version)
    rows = audit_rows(db)
    assert len(rows) == count + 1
    last = rows[-1]
    assert (last["event"], last["outcome"], last["actor"], last["item_ref"]) == (event, "refused", actor, ref)
    assert last["from_state"] == last["to_state"] == state
    assert json.loads(last["detail"])["failures"] == info.value.failures
    return info.value


def test_the_whole_life_of_an_item(db_path: Path, tmp_path: Path) -> None:
    make_item(db_path, tmp_path)
    assert item_row(db_path, "OF-01") == ("proposed", 1)
    cover(db_path, "OF-01")
    assert fire_event(db_path, SECRETARY, "OF-01", "submit") == "evidence_submitted"
    assert fire_event(db_path, MEMBER, "OF-01", "challenge", reason="audit sample too small") == "challenged"
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(0), note="a larger audit sample")
    assert fire_event(db_path, SECRETARY, "OF-01", "resubmit", response="sample tripled") == "evidence_submitted"
    assert fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0)) == "signed_off"
    assert item_row(db_path, "OF-01") == ("signed_off", 5)
    assert (
        fire_event(db_path, CHAIR, "OF-01", "reopen", reason="inspection found gaps", meeting=days_ago(0))
        == "challenged"
    )

    detail = item_detail(db_path, "OF-01")
    assert detail["state"] == "challenged"
    assert [c["event"] for c in detail["challenges"]] == ["challenge", "reopen"]
    assert (
        detail["challenges"][0]["response"] == "sample tripled" and detail["challenges"][0]["answered_by"] == SECRETARY
    )
    assert detail["challenges"][1]["answered_at"] is None
    assert len(detail["submissions"]) == 2 and len(detail["approvals"]) == 1
    assert detail["approvals"][0]["bundle_digest"] == detail["submissions"][1]["bundle_digest"]
    assert detail["approvals"][0]["meeting"] == days_ago(0).isoformat()

    moves = [(r["event"], r["from_state"], r["to_state"]) for r in audit_rows(db_path) if r["item_ref"] == "OF-01"]
    assert [m for m in moves if m[0] not in ("evidence.add",)] == [
        ("submit", "proposed", "evidence_submitted"),
        ("challenge", "evidence_submitted", "challenged"),
        ("resubmit", "challenged", "evidence_submitted"),
        ("approve", "evidence_submitted", "signed_off"),
        ("reopen", "signed_off", "challenged"),
    ]
    report, integrity = audit_service.verify(db_path)
    assert report.ok and integrity in ("ok", "not applicable on PostgreSQL")
    assert report.checked == len(audit_rows(db_path))


def test_a_refusal_changes_nothing_but_is_audited_after_the_rollback(db_path: Path, tmp_path: Path) -> None:
    make_item(db_path, tmp_path)
    cover(db_path, "OF-01", keys=("audit",))
    err = refused(db_path, SECRETARY, "OF-01", "submit")
    assert err.failures == ["matrix_covered: no evidence for matrix rows: policy"]
    assert err.exit_code == 3
    with Reader(db_path) as r:
        assert r.one("SELECT COUNT(*) AS n FROM submissions") == {"n": 0}
    assert audit_service.verify(db_path)[0].ok


def test_wrong_role_is_refused_and_audited_naming_the_role(db_path: Path, tmp_path: Path) -> None:
    make_item(db_path, tmp_path)
    cover(db_path, "OF-01")
    err = refused(db_path, MEMBER, "OF-01", "submit")
    assert err.failures == ["permission: submit needs the role secretary"]
    assert audit_rows(db_path)[-1]["roles"] == "member"
    err = refused(db_path, AUDITOR, "OF-01", "challenge", reason="x")
    assert any("permission" in f and "member" in f for f in err.failures)


def test_evidence_add_needs_the_secretary_and_is_audited_when_refused(db_path: Path, tmp_path: Path) -> None:
    make_item(db_path, tmp_path)
    count = len(audit_rows(db_path))
    with pytest.raises(Refused, match="evidence add needs the role secretary"):
        add_evidence(db_path, CHAIR, "OF-01", "audit", days_ago(1), note="mine")
    rows = audit_rows(db_path)
    assert len(rows) == count + 1 and (rows[-1]["event"], rows[-1]["outcome"]) == ("evidence.add", "refused")
    assert item_detail(db_path, "OF-01")["evidence"] == []


def test_unknown_item_user_and_key(db_path: Path, tmp_path: Path) -> None:
    make_item(db_path, tmp_path)
    with pytest.raises(NotFound, match="unknown item 'NOPE'"):
        fire_event(db_path, SECRETARY, "NOPE", "submit")
    with pytest.raises(NotFound, match="no evidence matrix row 'nokey'"):
        add_evidence(db_path, SECRETARY, "OF-01", "nokey", days_ago(1), note="x")
    count = len(audit_rows(db_path))
    with pytest.raises(NotFound, match="unknown user 'ghost'"):
        fire_event(db_path, "ghost", "OF-01", "submit")
    last = audit_rows(db_path)
    assert len(last) == count + 1 and (last[-1]["actor"], last[-1]["outcome"]) == ("ghost", "refused")
    assert item_row(db_path, "OF-01") == ("proposed", 1)


def test_evidence_superseding(db_path: Path, tmp_path: Path) -> None:
    make_item(db_path, tmp_path)
    first, policy = cover(db_path, "OF-01")
    second = add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), note="corrected", supersedes=first)
    evidence = {e["id"]: e for e in item_detail(db_path, "OF-01")["evidence"]}
    assert evidence[first]["superseded_by"] == second and evidence[second]["supersedes_id"] == first
    assert evidence[second]["superseded_by"] is None and evidence[policy]["superseded_by"] is None
    with pytest.raises(BadInput, match="already superseded"):
        add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), note="again", supersedes=first)
    with pytest.raises(NotFound, match="no evidence record 999"):
        add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), note="x", supersedes=999)
    make_item(db_path, tmp_path, "OF-02")
    with pytest.raises(NotFound, match=f"OF-02 has no evidence record {policy}"):
        add_evidence(db_path, SECRETARY, "OF-02", "policy", days_ago(1), note="x", supersedes=policy)

    # The frozen bundle holds only standing records: the superseded one is not in front of the board.
    assert fire_event(db_path, SECRETARY, "OF-01", "submit") == "evidence_submitted"
    bundle_ids = item_detail(db_path, "OF-01")["submissions"][0]["evidence_ids"].split(",")
    assert sorted(map(int, bundle_ids)) == sorted([second, policy])

    # A correction after submission changes the bundle: approval is refused until re-submitted.
    add_evidence(db_path, SECRETARY, "OF-01", "policy", days_ago(1), note="newer policy", supersedes=policy)
    err = refused(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    assert err.failures == [
        "bundle_unchanged: evidence changed after submission: run 'signoff amend REF' to put the changed evidence to the board before approval"
    ]


def test_a_superseding_record_dated_in_the_future_is_refused_at_entry(db_path: Path, tmp_path: Path) -> None:
    make_item(db_path, tmp_path)
    first, _ = cover(db_path, "OF-01")
    before = len(item_detail(db_path, "OF-01")["evidence"])
    with pytest.raises(BadInput, match="is after today"):
        add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(-1), note="post-dated", supersedes=first)
    assert len(item_detail(db_path, "OF-01")["evidence"]) == before
    assert fire_event(db_path, SECRETARY, "OF-01", "submit") == "evidence_submitted"


def test_segregation_of_duties(db_path: Path, tmp_path: Path) -> None:
    add_user(db_path, SECRETARY, "both", ["chair", "secretary"])
    make_item(db_path, tmp_path)
    cover(db_path, "OF-01", keys=("audit",), actor="both")
    cover(db_path, "OF-01", keys=("policy",))
    assert fire_event(db_path, "both", "OF-01", "submit") == "evidence_submitted"
    err = refused(db_path, "both", "OF-01", "approve", meeting=days_ago(0))
    assert err.failures == [
        "segregation_of_duties: both added evidence for and submitted this item and so cannot approve it"
    ]
    assert fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0)) == "signed_off"


def test_a_dual_role_user_whose_evidence_was_superseded_still_cannot_approve(db_path: Path, tmp_path: Path) -> None:
    add_user(db_path, SECRETARY, "both", ["chair", "secretary"])
    make_item(db_path, tmp_path)
    [mine] = cover(db_path, "OF-01", keys=("audit",), actor="both")
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), note="redone", supersedes=mine)
    cover(db_path, "OF-01", keys=("policy",))
    fire_event(db_path, SECRETARY, "OF-01", "submit")
    err = refused(db_path, "both", "OF-01", "approve", meeting=days_ago(0))
    assert err.failures[0].startswith("segregation_of_duties")


def test_meeting_date_must_be_past_and_not_before_the_latest_submission(db_path: Path, tmp_path: Path) -> None:
    submitted(db_path, tmp_path)
    add_meeting(db_path, SECRETARY, days_ago(-1))
    add_meeting(db_path, SECRETARY, days_ago(1))
    err = refused(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(-1))
    assert err.failures == [f"meeting_date_valid: the meeting date {days_ago(-1).isoformat()} is in the future"]
    err = refused(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(1))
    assert err.failures == [
        f"meeting_date_valid: the meeting date {days_ago(1).isoformat()} is before the latest submission on {days_ago(0).isoformat()}"
    ]
    err = refused(db_path, CHAIR, "OF-01", "approve")
    assert err.failures == ["meeting_date_valid: a board meeting date is required"]
    assert fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0)) == "signed_off"


def test_resubmit_needs_a_response_and_new_evidence_after_a_challenge(db_path: Path, tmp_path: Path) -> None:
    submitted(db_path, tmp_path)
    err = refused(db_path, MEMBER, "OF-01", "challenge", reason="   ")
    assert err.failures == ["reason_given: a reason is required"]
    fire_event(db_path, MEMBER, "OF-01", "challenge", reason="not convinced")
    err = refused(db_path, SECRETARY, "OF-01", "resubmit")
    assert [f.split(":")[0] for f in err.failures] == ["response_given", "evidence_since_challenge"]
    err = refused(db_path, SECRETARY, "OF-01", "resubmit", response="here is why")
    assert [f.split(":")[0] for f in err.failures] == ["evidence_since_challenge"]
    add_evidence(db_path, SECRETARY, "OF-01", "policy", days_ago(0), note="updated policy")
    err = refused(db_path, SECRETARY, "OF-01", "resubmit")
    assert [f.split(":")[0] for f in err.failures] == ["response_given"]
    assert fire_event(db_path, SECRETARY, "OF-01", "resubmit", response="updated policy") == "evidence_submitted"
    # The challenge is answered, so a second challenge needs new evidence again.
    fire_event(db_path, CHAIR, "OF-01", "challenge", reason="still not convinced")
    err = refused(db_path, SECRETARY, "OF-01", "resubmit", response="again")
    assert err.failures == ["evidence_since_challenge: no evidence has been added since the challenge was raised"]


def test_reopen_needs_the_chair_and_a_reason(db_path: Path, tmp_path: Path) -> None:
    submitted(db_path, tmp_path)
    fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    err = refused(db_path, MEMBER, "OF-01", "reopen", reason="inspection says otherwise", meeting=days_ago(0))
    assert err.failures == ["permission: reopen needs the role chair"]
    err = refused(db_path, SECRETARY, "OF-01", "reopen", reason="inspection says otherwise", meeting=days_ago(0))
    assert err.failures == ["permission: reopen needs the role chair"]
    err = refused(db_path, CHAIR, "OF-01", "reopen", meeting=days_ago(0))
    assert err.failures == ["reason_given: a reason is required"]
    assert (
        fire_event(db_path, CHAIR, "OF-01", "reopen", reason="inspection says otherwise", meeting=days_ago(0))
        == "challenged"
    )
    # Re-opened: the item is back with the secretary, and cannot be approved from here.
    err = refused(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    assert err.failures[0].startswith("state: approve is not allowed from challenged")


def test_events_from_the_wrong_state_are_refused(db_path: Path, tmp_path: Path) -> None:
    make_item(db_path, tmp_path)
    cover(db_path, "OF-01")
    for actor, event, kw in [
        (CHAIR, "approve", {"meeting": days_ago(0)}),
        (MEMBER, "challenge", {"reason": "x"}),
        (SECRETARY, "resubmit", {"response": "x"}),
        (CHAIR, "reopen", {"reason": "x"}),
    ]:
        err = refused(db_path, actor, "OF-01", event, **kw)
        assert err.failures[0].startswith(f"state: {event} is not allowed from proposed")
    err = refused(db_path, SECRETARY, "OF-01", "sign")
    assert err.failures[0].startswith("event: 'sign' is not an event of ofsted-recommendation")


def test_a_measure_missing_its_threshold_needs_an_override_reason(db_path: Path, tmp_path: Path) -> None:
    make_item(db_path, tmp_path, "IN-02", "improvement-notice", keys=("a2",))
    measure = MeasureInput("A2", 240.0, "days", "2010-13", 213.0, "at-most")
    add_evidence(db_path, SECRETARY, "IN-02", "a2", days_ago(1), measure=measure)
    fire_event(db_path, SECRETARY, "IN-02", "submit")
    err = refused(db_path, CHAIR, "IN-02", "approve", meeting=days_ago(0))
    assert err.failures == [
        "measures_met: measures miss their thresholds (override with a recorded reason): A2 240 against at-most 213"
    ]
    assert (
        fire_event(db_path, CHAIR, "IN-02", "approve", meeting=days_ago(0), override_reason="trend improving")
        == "signed_off"
    )
    approval = item_detail(db_path, "IN-02")["approvals"][0]
    assert approval["override_reason"] == "trend improving"
    assert json.loads(audit_rows(db_path)[-1]["detail"])["override_reason"] == "trend improving"


def test_the_audit_log_is_append_only(db_path: Path | str) -> None:
    if not isinstance(db_path, Path):
        pytest.skip("the PostgreSQL triggers are tested in tests/postgres")
    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit SET actor = 'someone else' WHERE seq = 1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit")
    finally:
        conn.close()


# --- corrections (issue 12): withdrawal, edits, roles, deactivation, several challengers -----------------


def test_corrections_apply_audit_and_replay_on_both_backends(db_path: Path, tmp_path: Path) -> None:
    from signoff.services import corrections, people

    submitted(db_path, tmp_path)
    wrong = item_detail(db_path, "OF-01")["evidence"][1]["id"]
    corrections.withdraw_evidence(db_path, SECRETARY, wrong, "Wrong council's policy")
    detail = item_detail(db_path, "OF-01")
    assert [m["covered"] for m in detail["matrix"]] == [True, False]
    assert detail["evidence"][1]["withdrawn"] and detail["evidence"][1]["withdrawn_reason"] == "Wrong council's policy"
    with pytest.raises(Refused) as no:
        fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    assert any(f.startswith("bundle_unchanged") for f in no.value.failures)
    fire_event(db_path, CHAIR, "OF-01", "challenge", reason="Where is the policy?")
    fire_event(db_path, MEMBER, "OF-01", "challenge", reason="And the audit sample?")
    cover(db_path, "OF-01", keys=("policy",), dated=days_ago(0))
    first, second = (c["id"] for c in item_detail(db_path, "OF-01")["challenges"])
    fire_event(db_path, SECRETARY, "OF-01", "resubmit", responses={first: "Policy added", second: "Sample of 50"})
    assert [c["response"] for c in item_detail(db_path, "OF-01")["challenges"]] == ["Policy added", "Sample of 50"]
    corrections.edit_item(db_path, SECRETARY, "OF-01", "Agreed wording", title="New title", owner="Head of MASH")
    corrections.reschedule_row(db_path, SECRETARY, "OF-01", "audit", days_ago(-40), "Auditor ill")
    corrections.add_row(db_path, SECRETARY, "OF-01", "spare", "Spare", days_ago(-40))
    corrections.remove_row(db_path, SECRETARY, "OF-01", "spare", "Not needed")
    with pytest.raises(Refused):
        corrections.remove_row(db_path, SECRETARY, "OF-01", "audit", "Has evidence")
    people.change_role(db_path, SECRETARY, AUDITOR, "Joins the board", add="member")
    people.deactivate_user(db_path, SECRETARY, MEMBER, "Left")
    with pytest.raises(Refused):
        fire_event(db_path, MEMBER, "OF-01", "challenge", reason="Still here?")
    assert audit_rows(db_path)[-1]["outcome"] == "refused" and audit_rows(db_path)[-1]["actor"] == MEMBER
    fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    report, _, reconciled = audit_service.verify_register(db_path)
    assert report.ok and reconciled.ok, (reconciled.problems, reconciled.differences)
