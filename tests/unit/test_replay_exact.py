"""Replay, in-process, past the edges of the sample register in ``data/replay_chain.json``.

The sample register (tests/unit/test_replay_walk.py) has no measured evidence, no actor holding
two roles and no more than one unsigned decision. The records below add those, shaped as the
services write them, and check what replay rebuilds and reports through its public face only:
``feed``, ``finish``, ``problems``, the counts, ``rows()`` and the rows handed to the sink.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from signoff.domain import bundle
from signoff.engine.replay import TABLES, Kept, Replay

DATA = json.loads((Path(__file__).parent / "data" / "replay_chain.json").read_text(encoding="utf-8"))
Rec = dict[str, Any]
LAST_AT = DATA["records"][-1]["recorded_at"]
RULESET = json.loads(DATA["records"][1]["detail"])["ruleset"]
FLOWS = json.loads(DATA["records"][1]["detail"])["workflows"]
NOTICE = FLOWS["improvement-notice"]["digest"]
OFSTED = FLOWS["ofsted-recommendation"]["digest"]


def records() -> list[Rec]:
    return copy.deepcopy(DATA["records"])


def detail(rec: Rec) -> dict[str, Any]:
    d: dict[str, Any] = json.loads(rec["detail"])
    return d


def replay(recs: list[Rec]) -> Replay:
    r = Replay()
    for rec in recs:
        r.feed(rec)
    r.finish()
    return r


def streamed(r: Replay, name: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    assert isinstance(r.sink, Kept)
    return r.sink.tables[name]


def record(seq: int, event: str, d: dict[str, Any], **fields: Any) -> Rec:
    """A record after the sample's last, by the secretary under the rules in force unless told otherwise."""
    rec: Rec = {
        "seq": seq, "recorded_at": LAST_AT, "actor": "sec", "roles": "secretary", "item_ref": None,
        "event": event, "from_state": None, "to_state": None, "outcome": "applied",
        "detail": json.dumps(d), "workflow_hash": RULESET,
    }  # fmt: skip
    rec.update(fields)
    return rec


# -- measured evidence ---------------------------------------------------------------------------

# One measured record of an Improvement Notice item, each column with a value no other column has.
MEASURE = {
    "measure": "Re-referrals within 12 months",
    "value": "21.5",
    "unit": "per cent",
    "period": "2026-Q3",
    "threshold": "22.0",
    "direction": "at-most",
}
SHA = bundle.measure_digest(*MEASURE.values())


def _notice_records(measure: dict[str, Any] | None = None) -> list[Rec]:
    """The sample register, then an Improvement Notice item IN-01 imported with one matrix row and
    given one piece of measured evidence (id 6), as `evidence add --measure` writes it."""
    imported = record(
        36,
        "matrix.import",
        {
            "file": "notice.csv",
            "items": [["IN-01", "improvement-notice", "Cut re-referrals", "Head of Service", "2027-03-01"]],
            "rows": [["IN-01", "rate", "Re-referral rate", "2027-01-15", None]],
        },
    )
    added = record(
        37,
        "evidence.add",
        {"evidence_id": 6, "key": "rate", "kind": "measure", "sha256": SHA, "dated": "2026-11-01"}
        | (MEASURE if measure is None else measure),
        item_ref="IN-01",
        from_state="proposed",
        to_state="proposed",
        workflow_hash=NOTICE,
    )
    return [*records(), imported, added]


def _entry(**changed: Any) -> dict[str, Any]:
    """The bundle entry of evidence 6 as the store would read it back."""
    fields: dict[str, Any] = {f: None for f in bundle.ENTRY_FIELDS}
    fields.update(id=6, key="rate", kind="measure", sha256=SHA, dated="2026-11-01", added_by="sec", recorded_at=LAST_AT)
    fields.update(MEASURE)
    fields.update(changed)
    return fields


def _submit(digest: str) -> Rec:
    return record(
        38,
        "submit",
        {"submission_id": 4, "bundle": digest, "evidence_ids": [6]},
        item_ref="IN-01",
        from_state="proposed",
        to_state="evidence_submitted",
        workflow_hash=NOTICE,
    )


def test_measured_evidence_is_rebuilt_column_by_column() -> None:
    r = replay(_notice_records())
    assert r.problems == []
    row = dict(zip(TABLES["evidence"][1], streamed(r, "evidence")[(6,)], strict=True))
    assert row == {
        "ref": "IN-01",
        "key": "rate",
        "kind": "measure",
        "sha256": SHA,
        "file_name": None,
        "file_size": None,
        "dated": "2026-11-01",
        "recorded_at": LAST_AT,
        "added_by": "sec",
        "supersedes_id": None,
        **MEASURE,
    }
    assert r.rows()["matrix_rows"][("IN-01", "rate")] == ("Re-referral rate", "2027-01-15", None)
    assert r.rows()["items"][("IN-01",)][:6] == (
        "improvement-notice", "Cut re-referrals", "Head of Service", "2027-03-01", "2027-03-01", "proposed",
    )  # fmt: skip


def test_a_bundle_of_measured_evidence_freezes_every_measure_column() -> None:
    digest = bundle.digest([bundle.entry(_entry())])
    r = replay([*_notice_records(), _submit(digest)])
    assert r.problems == []
    assert streamed(r, "submissions")[(4,)] == ("IN-01", "submit", LAST_AT, "sec", digest, "6")
    assert r.rows()["items"][("IN-01",)][5:7] == ("evidence_submitted", 2)


@pytest.mark.parametrize("column", list(MEASURE))
def test_a_bundle_that_differs_in_one_measure_column_is_named(column: str) -> None:
    """A submission whose digest covers a measure other than the one recorded is caught, whichever
    of the six columns differs: replay carries each into the bundle it recomputes."""
    digest = bundle.digest([bundle.entry(_entry(**{column: "other"}))])
    r = replay([*_notice_records(), _submit(digest)])
    assert r.problems == [(38, "its bundle digest is not the digest of IN-01's standing evidence at that point")]


@pytest.mark.parametrize("column", list(MEASURE))
def test_a_measure_column_left_out_is_rebuilt_as_empty(column: str) -> None:
    measure = {k: v for k, v in MEASURE.items() if k != column}
    r = replay(_notice_records(measure))
    assert r.problems == []
    row = dict(zip(TABLES["evidence"][1], streamed(r, "evidence")[(6,)], strict=True))
    assert row[column] is None
    assert {k: row[k] for k in measure} == measure


# -- actors holding more than one role -------------------------------------------------------------


def _member_made_chair(seq: int = 36) -> Rec:
    return record(
        seq,
        "user.role",
        {
            "add": "chair",
            "from_roles": "member",
            "reason": "Vice-chair",
            "roles": ["chair", "member"],
            "user": "member",
        },
    )


def test_an_actor_with_two_roles_claims_both_in_order() -> None:
    challenge = record(
        37,
        "challenge",
        {"challenge_id": 4, "reason": "And the budget"},
        actor="member",
        roles="chair,member",
        item_ref="OF-02",
        from_state="challenged",
        to_state="challenged",
        workflow_hash=OFSTED,
    )
    r = replay([*records(), _member_made_chair(), challenge])
    assert r.problems == []
    assert r.rows()["users"][("member",)][0] == "chair,member"
    assert streamed(r, "challenges")[(4,)][:5] == ("OF-02", "challenge", LAST_AT, "member", "And the budget")


def test_an_actor_with_two_roles_is_named_with_both() -> None:
    meeting = record(
        37, "meeting.add", {"date": "2031-01-01", "meeting_id": 4, "note": None}, actor="member", roles="member"
    )
    r = replay([*records(), _member_made_chair(), meeting])
    assert r.problems == [
        (37, "it claims roles 'member' but member holds 'chair,member'"),
        (37, "member (chair,member) may not add meetings: it needs secretary"),
    ]


# -- decisions without a signature -----------------------------------------------------------------


def test_each_unsigned_decision_is_counted() -> None:
    """Two signed decisions carrying no signature: both named, both counted."""
    recs = records()
    approve = recs[28]
    d = detail(approve)
    for k in ("signature", "statement", "signer"):
        d.pop(k)
    approve["detail"] = json.dumps(d)
    reopen = record(
        36,
        "reopen",
        {"meeting": d["meeting"], "reason": "New findings"},
        actor="chair",
        roles="chair",
        item_ref="OF-01",
        from_state="signed_off",
        to_state="challenged",
        workflow_hash=OFSTED,
    )
    r = replay([*recs, reopen])
    assert r.problems == [
        (29, "approve is a signed decision in the rules in force, but it carries no signature"),
        (36, "reopen is a signed decision in the rules in force, but it carries no signature"),
    ]
    assert (r.signed, r.unsigned) == (0, 2)
    assert r.rows()["items"][("OF-01",)][5:7] == ("challenged", 4)


def test_a_decision_that_names_no_meeting_is_not_checked_against_the_calendar() -> None:
    """The calendar is checked for the meeting a decision names; one naming none (a register that
    does not keep meetings) is not reported as naming a missing meeting."""
    recs = records()
    approve = recs[28]
    d = detail(approve)
    for k in ("signature", "statement", "signer"):
        d.pop(k)
    d["meeting"] = None
    approve["detail"] = json.dumps(d)
    r = replay(recs)
    assert r.problems == [(29, "approve is a signed decision in the rules in force, but it carries no signature")]
    assert streamed(r, "approvals")[(1,)][4] is None


# -- rows only the sample's later records hide --------------------------------------------------------


def test_a_proposal_and_its_adoption_are_rebuilt_in_the_rulesets_table() -> None:
    propose = record(36, "workflow.propose", detail(DATA["records"][1]) | {"reason": "Same again"})
    adopt = record(37, "workflow.adopt", {"ruleset": RULESET}, actor="chair", roles="chair")
    r = replay([*records(), propose, adopt])
    assert r.problems == []
    assert r.rows()["rulesets"] == {(RULESET,): (LAST_AT, "sec", "Same again", LAST_AT, "chair")}
    assert r.rows()["meta"][("rules_in_force",)] == (RULESET,)


def test_a_later_pin_by_no_one_is_not_judged_as_an_actor() -> None:
    """The register itself pins the shipped rules (actor ""): only a person's pin is checked."""
    pin = record(36, "workflow.pin", detail(DATA["records"][1]), actor="", roles="")
    r = replay([*records(), pin])
    assert r.problems == []


def test_a_user_who_adds_themselves_again_is_judged_as_any_other_adder() -> None:
    again = record(36, "user.add", {"roles": ["chair"], "user": "member"}, actor="member", roles="member")
    assert replay([*records(), again]).problems == [
        (36, "member (member) may not add users: it needs secretary"),
        (36, "it adds user 'member', who already exists"),
    ]


@pytest.mark.parametrize(
    ("event", "d", "what"),
    [
        ("meeting.cancel", {"date": "2026-11-29", "reason": "Quorum"}, "cancel meetings"),
        ("meeting.move", {"from": "2026-11-29", "to": "2031-01-01", "meeting_id": 4, "reason": "R"}, "move meetings"),
    ],
)  # fmt: skip
def test_a_member_may_not_take_a_meeting_off_the_calendar(event: str, d: dict[str, Any], what: str) -> None:
    rec = record(36, event, d, actor="member", roles="member")
    assert replay([*records(), rec]).problems == [(36, f"member (member) may not {what}: it needs secretary")]


def test_an_item_added_alone_is_rebuilt_with_its_owner_and_due_date() -> None:
    add = record(
        36,
        "item.add",
        {"kind": "ofsted-recommendation", "title": "New", "owner": "Ann", "due": "2027-03-01"},
        item_ref="OF-03",
        to_state="proposed",
        workflow_hash=OFSTED,
    )
    r = replay([*records(), add])
    assert r.problems == []
    assert r.rows()["items"][("OF-03",)] == (
        "ofsted-recommendation", "New", "Ann", "2027-03-01", "2027-03-01", "proposed", 1, LAST_AT, LAST_AT,
    )  # fmt: skip


def test_a_matrix_row_added_and_moved_is_rebuilt_before_it_is_removed() -> None:
    """The sample's added row is removed two records later: read the table before that."""
    recs = records()
    d = detail(recs[23])
    d["owner"] = "Head of Service"
    recs[23]["detail"] = json.dumps(d)
    added = replay(recs[:24]).rows()["matrix_rows"][("OF-02", "plan")]
    assert added == ("Workforce plan", d["present_by"], "Head of Service")
    moved = replay(recs[:25]).rows()["matrix_rows"][("OF-02", "plan")]
    assert moved == ("Workforce plan", detail(recs[24])["to"], "Head of Service")
    assert ("OF-02", "plan") not in replay(recs[:26]).rows()["matrix_rows"]


# -- what a signed statement must say ----------------------------------------------------------------

CHAIR_FP = detail(DATA["records"][9])["fingerprint"]


def _signed(statement: str) -> dict[str, Any]:
    from signing import sign_as

    return {"statement": statement, "signature": sign_as("chair")(statement.encode("utf-8")), "signer": CHAIR_FP}


def _approval_statement(**lines: str) -> str:
    text: str = detail(DATA["records"][28])["statement"]
    out = []
    for line in text.splitlines():
        name = line.partition(":")[0]
        out.append(f"{name}: {lines[name]}".rstrip() if name in lines else line)
    return "\n".join(out) + "\n"


def _reopen(reason: str, statement_reason: str) -> Rec:
    d = {"meeting": detail(DATA["records"][28])["meeting"], "reason": reason}
    return record(
        36,
        "reopen",
        d | _signed(_approval_statement(event="reopen", reason=statement_reason)),
        actor="chair",
        roles="chair",
        item_ref="OF-01",
        from_state="signed_off",
        to_state="challenged",
        workflow_hash=OFSTED,
    )


def test_a_signed_reopening_names_its_reason() -> None:
    r = replay([*records(), _reopen("New findings", "New findings")])
    assert r.problems == []
    assert (r.signed, r.unsigned) == (2, 0)
    assert streamed(r, "signatures")[(36,)][:3] == ("OF-01", "reopen", "chair")


def test_a_signed_reopening_whose_statement_gives_another_reason_is_named() -> None:
    r = replay([*records(), _reopen("New findings", "Old findings")])
    assert r.problems == [
        (36, "its signed statement says reason 'Old findings', but the record is for 'New findings'"),
    ]
    assert r.signed == 2  # the signature itself verifies: it is what it signs that is wrong


@pytest.mark.parametrize(("recorded", "signed"), [("Urgent", "Urgent"), ("Urgent", ""), (None, "Urgent")])
def test_an_approval_s_override_reason_is_what_its_statement_says(recorded: str | None, signed: str) -> None:
    recs = records()
    d = detail(recs[28]) | _signed(_approval_statement(**{"override-reason": signed}))
    d["override_reason"] = recorded
    recs[28]["detail"] = json.dumps(d)
    r = replay(recs)
    if recorded == signed:
        assert r.problems == []
        assert streamed(r, "approvals")[(1,)][6] == "Urgent"
    else:
        assert r.problems == [
            (29, f"its signed statement says override-reason {signed!r}, but the record is for {recorded!r}")
        ]


def test_evidence_that_supersedes_a_number_not_an_id_is_named() -> None:
    """``4.0`` equals evidence 4 as a number but is not an id the service writes: it is named."""
    again = record(
        36,
        "evidence.add",
        {"evidence_id": 6, "key": "data", "kind": "note", "sha256": "0" * 64, "dated": "2026-11-29", "supersedes": 4.0},
        item_ref="OF-02",
        from_state="challenged",
        to_state="challenged",
        workflow_hash=OFSTED,
    )
    assert replay([*records(), again]).problems == [
        (
            36,
            "it supersedes evidence 4.0, which is not standing OF-02 data evidence (another row's or item's, or"
            " already superseded)",
        ),
    ]


def test_a_signed_statement_that_does_not_parse_is_named_as_its_statement() -> None:
    recs = records()
    recs[28]["detail"] = json.dumps(detail(recs[28]) | _signed("signoff decision v1\nitem OF-01\n"))
    assert replay(recs).problems == [
        (
            29,
            "its signature does not verify: its statement, line 2: 'item OF-01' is not a statement field (register,"
            " item, title, event, meeting, bundle, reason, override-reason, actor, time)",
        )
    ]


def test_a_statement_signed_with_another_key_than_the_one_named_is_named() -> None:
    from signing import sign_as

    recs = records()
    d = detail(recs[28])
    d["signature"] = sign_as("member")(d["statement"].encode("utf-8"))
    recs[28]["detail"] = json.dumps(d)
    assert replay(recs).problems == [
        (
            29,
            "its signature does not verify: the signature was made with the key"
            " SHA256:ekS4vSCwsYFup+fMhFMMMbE7t/OH0s/DzFznj0vGyas, not the registered key"
            " SHA256:C3xyJvkCl2u6kUstkladO+T2CHV157AMo9vyQxbWLIA: sign with the registered key",
        )
    ]


def test_a_signed_decision_in_a_register_whose_id_was_never_recorded_names_the_difference() -> None:
    recs = records()
    register = detail(recs[0])["database_id"]
    recs[0]["detail"] = json.dumps({"schema": detail(recs[0])["schema"]})
    assert replay(recs).problems == [
        (1, "it does not carry what a register.init record needs (KeyError: 'database_id')"),
        (29, f"its signed statement says register {register!r}, but the record is for None"),
    ]


def test_a_signed_decision_on_an_item_never_submitted_names_no_bundle() -> None:
    add = record(
        36,
        "item.add",
        {"kind": "ofsted-recommendation", "title": "New"},
        item_ref="OF-03",
        to_state="proposed",
        workflow_hash=OFSTED,
    )
    d = detail(DATA["records"][28])
    statement = _approval_statement(item="OF-03", title="New", bundle="")
    approve = record(
        37,
        "approve",
        {"approval_id": 2, "submission_id": 9, "bundle": "0" * 64, "meeting": d["meeting"]} | _signed(statement),
        actor="chair",
        roles="chair",
        item_ref="OF-03",
        from_state="proposed",
        to_state="signed_off",
        workflow_hash=OFSTED,
    )
    r = replay([*records(), add, approve])
    assert r.problems == [
        (37, "ofsted-recommendation does not allow approve from 'proposed'"),
        (37, "it approves submission 9, which is not a frozen bundle of OF-03 (the latest)"),
    ]
    assert r.signed == 2


def test_an_item_added_before_any_rules_are_pinned_is_named() -> None:
    recs = records()
    add = record(
        3, "item.add", {"kind": "ofsted-recommendation", "title": "New"}, item_ref="OF-03", to_state="proposed"
    )
    r = replay([recs[0], dict(recs[2], seq=2), add])
    assert r.problems == [
        (3, "it registers OF-03 under workflow 'ofsted-recommendation', which is not in the rules in force"),
        (3, "it comes before any workflow rules were pinned"),
        (3, "it registers OF-03 in state 'proposed', not the workflow's initial state"),
    ]


# -- every kind of record is judged against the rules in force and its actor's roles ------------------

# Every record of the sample but the register's creation and its first user (made before anyone
# could hold a role) names the rules in force.
HASHED = [rec["seq"] for rec in DATA["records"] if rec["seq"] not in (1, 3)]


@pytest.mark.parametrize("seq", HASHED)
def test_a_record_under_rules_not_in_force_is_named(seq: int) -> None:
    recs = records()
    recs[seq - 1]["workflow_hash"] = "0" * 64
    assert replay(recs).problems == [
        (seq, "its workflow hash is not that of the rules in force at this point of the chain")
    ]


# What each of the secretary's and the chair's records lets its actor do, as replay names it
# when someone without the role writes one.
MAY_NOT = {
    6: ("member", "add users: it needs secretary"),
    7: ("member", "change users: it needs secretary"),
    9: ("member", "deactivate users: it needs secretary"),
    10: ("member", "register keys: it needs secretary"),
    12: ("member", "revoke keys: it needs secretary"),
    13: ("member", "add meetings: it needs secretary"),
    17: ("member", "import the matrix: it needs secretary"),
    18: ("member", "add evidence: it needs secretary"),
    21: ("member", "withdraw evidence: it needs secretary"),
    23: ("member", "edit items: it needs secretary"),
    24: ("member", "add matrix rows: it needs secretary"),
    25: ("member", "reschedule matrix rows: it needs secretary"),
    26: ("member", "remove matrix rows: it needs secretary"),
    27: ("member", "reschedule items: it needs secretary"),
    28: ("member", "submit: it needs secretary"),
    29: ("sec", "approve: it needs chair"),
    34: ("member", "resubmit: it needs secretary"),
}
ROLE = {"member": "member", "sec": "secretary"}


@pytest.mark.parametrize("seq", list(MAY_NOT))
def test_a_record_by_someone_without_the_role_is_named(seq: int) -> None:
    actor, what = MAY_NOT[seq]
    recs = records()
    recs[seq - 1].update(actor=actor, roles=ROLE[actor])
    assert replay(recs).problems[0] == (seq, f"{actor} ({ROLE[actor]}) may not {what}")


def test_proposed_and_adopted_rules_are_judged_against_the_rules_in_force_and_the_roles() -> None:
    propose = record(36, "workflow.propose", detail(DATA["records"][1]) | {"reason": "R"}, workflow_hash="0" * 64)
    adopt = record(37, "workflow.adopt", {"ruleset": RULESET}, actor="member", roles="member", workflow_hash="0" * 64)
    assert replay([*records(), propose, adopt]).problems == [
        (36, "its workflow hash is not that of the rules in force at this point of the chain"),
        (37, "member (member) may not adopt workflow rules: it needs chair"),
        (37, "its workflow hash is not that of the rules in force at this point of the chain"),
    ]


def test_a_later_pin_under_other_rules_is_named() -> None:
    pin = record(36, "workflow.pin", detail(DATA["records"][1]), workflow_hash="0" * 64)
    assert replay([*records(), pin]).problems == [
        (36, "its workflow hash is not that of the rules in force at this point of the chain")
    ]


@pytest.mark.parametrize(
    ("seq", "field", "table", "last"),
    [(21, "withdrawal_id", "withdrawals", 0), (24, "change_id", "item_changes", 2),
     (27, "reschedule_id", "reschedules", 0), (29, "approval_id", "approvals", 0)],
)  # fmt: skip
def test_a_row_whose_id_does_not_grow_is_named_at_its_record(seq: int, field: str, table: str, last: int) -> None:
    recs = records()
    recs[seq - 1]["detail"] = json.dumps(detail(recs[seq - 1]) | {field: last})
    problems = replay(recs).problems
    assert problems[0] == (seq, f"it makes {table} row {last}, but ids only grow (the last was {last})")


def test_an_edit_whose_change_id_does_not_grow_is_named_at_its_record() -> None:
    recs = records()
    d = detail(recs[22])
    d["changes"][0]["change_id"] = 0
    recs[22]["detail"] = json.dumps(d)
    assert replay(recs).problems == [(23, "it makes item_changes row 0, but ids only grow (the last was 0)")]


def test_rules_proposed_and_not_yet_adopted_are_rebuilt_as_not_adopted() -> None:
    propose = record(36, "workflow.propose", detail(DATA["records"][1]) | {"reason": "R"})
    r = replay([*records(), propose])
    assert r.problems == []
    assert r.rows()["rulesets"] == {(RULESET,): (LAST_AT, "sec", "R", None, None)}


def test_withdrawing_evidence_of_an_item_that_never_had_any_is_named() -> None:
    add = record(
        36,
        "item.add",
        {"kind": "ofsted-recommendation", "title": "New"},
        item_ref="OF-03",
        to_state="proposed",
        workflow_hash=OFSTED,
    )
    withdraw = record(
        37,
        "evidence.withdraw",
        {"evidence_id": 4, "reason": "Wrong item", "withdrawal_id": 2},
        item_ref="OF-03",
        from_state="proposed",
        to_state="proposed",
        workflow_hash=OFSTED,
    )
    assert replay([*records(), add, withdraw]).problems == [
        (
            37,
            "it withdraws evidence 4, which is not standing evidence of OF-03 (another item's, or a later record"
            " supersedes it)",
        )
    ]


def test_a_row_added_to_an_item_without_evidence_and_removed_leaves_no_row() -> None:
    add = record(
        36,
        "item.add",
        {"kind": "ofsted-recommendation", "title": "New"},
        item_ref="OF-03",
        to_state="proposed",
        workflow_hash=OFSTED,
    )
    row = {"description": "Plan", "present_by": "2027-01-01", "owner": None, "row_key": "plan", "key": "plan"}
    on = {"item_ref": "OF-03", "from_state": "proposed", "to_state": "proposed", "workflow_hash": OFSTED}
    added = record(37, "matrix.add", row | {"change_id": 6, "field": "row", "from": None, "to": "Plan"}, **on)
    removed = record(38, "matrix.remove", row | {"change_id": 7, "field": "row", "from": "Plan", "to": None}, **on)
    r = replay([*records(), add, added, removed])
    assert r.problems == []
    assert ("OF-03", "plan") not in r.rows()["matrix_rows"]
    assert [k for k in streamed(r, "item_changes") if k[0] > 5] == [(6,), (7,)]


class Answers(Kept):
    """A sink that also lists every answer handed to it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []

    def answered(self, challenge: tuple[Any, ...], answer: tuple[Any, ...]) -> None:
        self.calls.append((challenge, answer))
        super().answered(challenge, answer)


def test_a_challenge_closed_without_an_answer_is_handed_on_as_unanswered() -> None:
    """The resubmit answers challenge 1 only: challenge 2 is closed too, and the sink is told it
    stays unanswered at once (the reconciliation reads it beside the walk), not at the end."""
    recs = records()
    resubmit = recs[33]
    resubmit["detail"] = json.dumps(detail(resubmit) | {"answers_challenges": [[1, "Trend added"]]})
    sink = Answers()
    r = Replay(sink=sink)
    for rec in recs:
        r.feed(rec)
    assert sink.calls == [((1,), ("Trend added", resubmit["recorded_at"], "sec")), ((2,), (None, None, None))]
    r.finish()
    assert sink.calls[2:] == [((3,), (None, None, None))]


def test_a_challenge_without_a_reason_is_rebuilt_with_an_empty_one() -> None:
    recs = records()
    recs[34]["detail"] = json.dumps({k: v for k, v in detail(recs[34]).items() if k != "reason"})
    r = replay(recs)
    assert r.problems == []
    assert streamed(r, "challenges")[(3,)][4] == ""


def test_proposed_rules_whose_digest_is_not_the_one_named_are_named_at_the_proposal() -> None:
    propose = record(36, "workflow.propose", detail(DATA["records"][1]) | {"ruleset": "ab" * 32, "reason": "R"})
    assert replay([*records(), propose]).problems == [
        (36, f"its workflow definitions digest to {RULESET[:16]}…, not {'ab' * 8}…")
    ]


def test_a_user_added_with_two_roles_holds_both_in_order() -> None:
    add = record(36, "user.add", {"roles": ["member", "chair"], "user": "vice"})
    r = replay([*records(), add])
    assert r.problems == []
    assert r.rows()["users"][("vice",)] == ("chair,member", LAST_AT, "sec", None, None)


def test_a_moved_meeting_keeps_its_note() -> None:
    add = record(36, "meeting.add", {"date": "2031-01-01", "meeting_id": 4, "note": "Budget"})
    move = record(
        37, "meeting.move", {"from": "2031-01-01", "to": "2031-01-08", "meeting_id": 5, "note": "Budget", "reason": "R"}
    )
    r = replay([*records(), add, move])
    assert r.problems == []
    meetings = r.rows()["meetings"]
    assert meetings[("2031-01-08",)] == (5, "Budget", "sec", LAST_AT, None, None, None, None)
    assert meetings[("2031-01-01",)] == (4, "Budget", "sec", LAST_AT, LAST_AT, "sec", "R", "2031-01-08")


def test_an_item_added_under_rules_not_in_force_is_named() -> None:
    add = record(
        36,
        "item.add",
        {"kind": "ofsted-recommendation", "title": "New"},
        item_ref="OF-03",
        to_state="proposed",
        workflow_hash="0" * 64,
    )
    assert replay([*records(), add]).problems == [
        (36, "its workflow hash is not that of the rules in force at this point of the chain")
    ]


def test_finishing_twice_hands_on_nothing_more() -> None:
    sink = Answers()
    r = Replay(sink=sink)
    for rec in records():
        r.feed(rec)
    r.finish()
    once = list(sink.calls)
    r.finish()
    assert sink.calls == once
    assert once[-1] == ((3,), (None, None, None))


def test_a_chain_that_does_not_start_with_the_register_s_creation_is_read_as_legacy() -> None:
    """Only a ``register.init`` at seq 1 says whether records carry full detail."""
    recs = records()[1:]
    for n, rec in enumerate(recs, 1):
        rec["seq"] = n
    r = replay(recs)
    assert r.full is False
    assert r.legacy == list(range(1, 35))
    assert r.problems == []


def test_each_decision_the_rules_do_not_sign_is_counted_unsigned() -> None:
    """Under rules that sign nothing, an approval and a re-opening are both counted unsigned."""
    from signoff.engine.workflow import rules_from_sources

    recs = records()
    pin = recs[1]
    workflows = copy.deepcopy(FLOWS)
    for spec in workflows.values():
        spec["source"] = spec["source"].replace("signed = true\n", "")
    rules = rules_from_sources({name: spec["source"] for name, spec in workflows.items()})
    pin["detail"] = json.dumps(detail(pin) | {"workflows": workflows, "ruleset": rules.digest})
    ofsted = rules.flows["ofsted-recommendation"].digest
    for rec in recs[1:]:
        rec["workflow_hash"] = ofsted if rec["item_ref"] else rules.digest
    approve = recs[28]
    approve["detail"] = json.dumps(
        {k: v for k, v in detail(approve).items() if k not in ("signature", "statement", "signer")}
    )
    reopen = record(
        36,
        "reopen",
        {"meeting": detail(approve)["meeting"], "reason": "New findings"},
        actor="chair",
        roles="chair",
        item_ref="OF-01",
        from_state="signed_off",
        to_state="challenged",
        workflow_hash=ofsted,
    )
    r = replay([*recs, reopen])
    assert r.problems == []
    assert (r.signed, r.unsigned) == (0, 2)
