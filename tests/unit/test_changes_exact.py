"""Each kind of audit record in plain words, exactly as the minutes and `signoff changes` print it."""

from __future__ import annotations

from typing import Any

import pytest

from signoff.domain.changes import KINDS, describe, kind_of, refusal_reasons

R = "OF-01"
CASES: list[tuple[str, dict[str, Any], str | None, str]] = [
    ("register.init", {}, None, "sec created the register"),
    ("workflow.pin", {"ruleset": "0123456789abcdef"}, None, "sec pinned the workflow rules 0123456789ab… in the register"),
    ("register.upgrade", {}, None, "sec upgraded the register's schema"),
    ("evidence.add", {"evidence_id": 3, "key": "audit", "dated": "2026-01-02"}, R,
     "sec added evidence #3 to OF-01 audit (a note, dated 2026-01-02)"),
    ("evidence.add", {"evidence_id": 3, "key": "audit", "dated": "2026-01-02", "file": "a.pdf"}, R,
     "sec added evidence #3 to OF-01 audit (file a.pdf, dated 2026-01-02)"),
    ("evidence.add", {"evidence_id": 4, "key": "k", "supersedes": 3, "measure": "m", "value": 5, "unit": "%",
                      "period": "Q1"}, R, "sec corrected OF-01 k evidence #3 with #4 (measure m = 5 % for Q1)"),
    ("evidence.add", {"evidence_id": 4, "key": "k", "supersedes": 0, "measure": "m", "value": 5}, R,
     "sec corrected OF-01 k evidence #0 with #4 (measure m = 5)"),
    ("evidence.withdraw", {"evidence_id": 3, "reason": "Wrong"}, R, "sec withdrew OF-01 evidence #3: Wrong"),
    ("evidence.withdraw", {"evidence_id": 3}, R, "sec withdrew OF-01 evidence #3"),
    ("item.edit", {"changes": [{"field": "title", "from": "A", "to": "B"}, {"field": "owner", "from": None, "to": "C"}],
                   "reason": "Typo"}, R, "sec edited OF-01: title 'A' → 'B'; owner None → 'C': Typo"),
    ("item.edit", {}, R, "sec edited OF-01: "),
    ("matrix.reschedule", {"key": "k", "from": "2026-01-01", "to": "2026-02-01"}, R,
     "sec moved OF-01 k present-by from 2026-01-01 to 2026-02-01"),
    ("matrix.add", {"row_key": "r", "key": "k"}, R, "sec added matrix row r to OF-01"),
    ("matrix.add", {"key": "k", "reason": "New"}, R, "sec added matrix row k to OF-01: New"),
    ("matrix.remove", {"row_key": "r", "key": "k"}, R, "sec removed matrix row r from OF-01"),
    ("matrix.remove", {"key": "k"}, R, "sec removed matrix row k from OF-01"),
    ("user.role", {"add": "chair", "user": "ann", "reason": "Elected"}, None, "sec gave ann the role chair: Elected"),
    ("user.role", {"remove": "chair", "user": "ann"}, None, "sec took the role chair from ann"),
    ("user.deactivate", {"user": "ann", "reason": "Left"}, None, "sec deactivated user ann: Left"),
    ("submit", {}, R, "sec put OF-01 to the board"),
    ("amend", {}, R, "sec re-froze OF-01's evidence after it changed"),
    ("resubmit", {"response": "Done"}, R, "sec answered the challenge to OF-01 and put it back to the board: Done"),
    ("resubmit", {}, R, "sec answered the challenge to OF-01 and put it back to the board"),
    ("challenge", {"reason": "Why?"}, R, "sec challenged OF-01: Why?"),
    ("approve", {"meeting": "2026-01-05"}, R, "sec signed off OF-01 at the meeting of 2026-01-05"),
    ("approve", {"meeting": "2026-01-05", "signer": "SHA256:x", "override_reason": "Close"}, R,
     "sec signed off OF-01 at the meeting of 2026-01-05 (signed with SHA256:x), overriding a missed measure: Close"),
    ("approve", {"meeting": "2026-01-05", "signer": "SHA256:x", "recorded_by": "clerk"}, R,
     "sec signed off OF-01 at the meeting of 2026-01-05 (signed with SHA256:x, recorded by clerk)"),
    ("reopen", {"meeting": "2026-01-05", "reason": "New facts"}, R,
     "sec re-opened OF-01 at the meeting of 2026-01-05: New facts"),
    ("reopen", {}, R, "sec re-opened OF-01"),
    ("item.reschedule", {"from_due": "2026-01-01", "to_due": "2026-03-01", "reason": "Late"}, R,
     "sec moved OF-01's due date from 2026-01-01 to 2026-03-01: Late"),
    ("item.reschedule", {"to_due": "2026-03-01"}, R, "sec moved OF-01's due date from none to 2026-03-01"),
    ("item.add", {"kind": "ofsted-recommendation", "title": "T"}, R, "sec registered OF-01 (ofsted-recommendation): T"),
    ("matrix.import", {"file": "m.csv", "items": [1, 2], "rows": [1, 2, 3], "part": 2}, None,
     "sec imported the evidence matrix m.csv (part 2): 2 new item(s), 3 new row(s)"),
    ("matrix.import", {"file": "m.csv"}, None, "sec imported the evidence matrix m.csv: 0 new item(s), 0 new row(s)"),
    ("meeting.add", {"date": "2026-01-05", "note": "Main"}, None,
     "sec put a board meeting on 2026-01-05 on the calendar (Main)"),
    ("meeting.add", {"date": "2026-01-05"}, None, "sec put a board meeting on 2026-01-05 on the calendar"),
    ("meeting.cancel", {"date": "2026-01-05", "reason": "Snow"}, None,
     "sec cancelled the board meeting on 2026-01-05: Snow"),
    ("meeting.move", {"from": "2026-01-05", "to": "2026-01-12"}, None,
     "sec moved the board meeting on 2026-01-05 to 2026-01-12"),
    ("user.add", {"user": "ann", "roles": ["chair", "member"]}, None, "sec added user ann (chair, member)"),
    ("user.add", {"user": "ann"}, None, "sec added user ann ()"),
    ("workflow.propose", {"ruleset": "0123456789abcdef", "reason": "Tighter"}, None,
     "sec proposed new workflow rules 0123456789ab…: Tighter"),
    ("workflow.adopt", {"ruleset": "0123456789abcdef"}, None, "sec put workflow rules 0123456789ab… in force"),
    ("future.thing", {"reason": "Why"}, R, "sec: future.thing on OF-01: Why"),
    ("future.thing", {}, None, "sec: future.thing"),
]  # fmt: skip


@pytest.mark.parametrize(("event", "detail", "ref", "want"), CASES)
def test_each_record_reads_as_one_exact_sentence(
    event: str, detail: dict[str, Any], ref: str | None, want: str
) -> None:
    assert describe({"actor": "sec", "item_ref": ref, "event": event, "detail": detail}) == want


def test_a_record_without_an_actor_or_detail_still_reads() -> None:
    assert describe({"event": "submit", "item_ref": R}) == "? put OF-01 to the board"
    assert describe({"actor": "", "event": "submit", "item_ref": R, "detail": None}) == "? put OF-01 to the board"


def test_every_kind_of_record_has_its_group() -> None:
    assert kind_of("approve") == "decision"
    assert kind_of("nothing") == "other"
    groups = {
        "evidence": ["evidence.add", "evidence.withdraw", "amend"],
        "decision": ["submit", "resubmit", "approve", "reopen"],
        "challenge": ["challenge"],
        "timescale": ["item.reschedule", "matrix.reschedule"],
        "register": ["item.add", "item.edit", "matrix.import", "matrix.add", "matrix.remove"],
        "calendar": ["meeting.add", "meeting.cancel", "meeting.move"],
        "people": ["user.add", "user.role", "user.deactivate"],
        "rules": ["workflow.pin", "workflow.propose", "workflow.adopt"],
    }
    assert {event: group for group, events in groups.items() for event in events} == KINDS
    assert sorted(set(KINDS.values())) == [
        "calendar", "challenge", "decision", "evidence", "people", "register", "rules", "timescale",
    ]  # fmt: skip


def test_refusal_reasons_are_the_names_before_each_colon() -> None:
    assert refusal_reasons({"failures": ["matrix_covered: row a", " permission : no", ": x"]}) == [
        "matrix_covered",
        "permission",
        "other",
    ]
    assert refusal_reasons({"failures": []}) == ["other"]
    assert refusal_reasons({}) == ["other"]
    assert refusal_reasons({"failures": ["a:b:c"]}) == ["a"]
