"""Replay, in-process: the records of a real register rebuild its tables; each broken rule is named.

``data/replay_chain.json`` holds the audit records of a small register built with the services
(data/make_replay_chain.py) and its tables as the store held them. Feeding the records to
``Replay`` must rebuild those tables exactly and find nothing wrong; each test below then breaks
one record the way a forger or a bug would and checks replay names that record and why, word for
word.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from signoff.engine.replay import ANSWER_COLUMNS, STREAMED, TABLES, UNANSWERED, Dropped, Kept, Replay

DATA = json.loads((Path(__file__).parent / "data" / "replay_chain.json").read_text(encoding="utf-8"))
Rec = dict[str, Any]


def records() -> list[Rec]:
    return copy.deepcopy(DATA["records"])


def by_seq(recs: list[Rec], seq: int) -> Rec:
    rec = recs[seq - 1]
    assert rec["seq"] == seq
    return rec


def detail(rec: Rec) -> dict[str, Any]:
    d: dict[str, Any] = json.loads(rec["detail"])
    return d


def set_detail(rec: Rec, **changes: Any) -> None:
    d = detail(rec)
    for k, v in changes.items():
        if v is DROP:
            d.pop(k, None)
        else:
            d[k] = v
    rec["detail"] = json.dumps(d)


DROP = object()


def replay(recs: list[Rec]) -> Replay:
    r = Replay()
    for rec in recs:
        r.feed(rec)
    r.finish()
    return r


def table(r: Replay, name: str) -> list[list[Any]]:
    if name in STREAMED:
        assert isinstance(r.sink, Kept)
        got = r.sink.tables[name]
    else:
        got = r.rows()[name]
    return sorted([list(k), list(v)] for k, v in got.items())


def test_the_records_of_a_real_register_rebuild_its_tables_exactly() -> None:
    r = replay(records())
    assert r.problems == []
    assert r.legacy == []
    assert r.full is True
    assert (r.applied, r.signed, r.unsigned) == (35, 1, 0)
    for name in TABLES:
        assert table(r, name) == DATA["tables"][name], name
    assert set(r.rows()) == set(TABLES) - set(STREAMED)


def test_a_dropped_sink_keeps_nothing_and_finds_the_same() -> None:
    r = Replay(sink=Dropped())
    for rec in records():
        r.feed(rec)
    r.finish()
    assert r.problems == []
    assert (r.applied, r.signed) == (35, 1)
    assert Dropped().made("evidence", (1,), ()) is None
    assert Dropped().answered((1,), UNANSWERED) is None


def test_a_kept_sink_ignores_the_answer_to_a_challenge_it_never_saw() -> None:
    kept = Kept()
    kept.answered((9,), ("x", "y", "z"))
    assert kept.tables["challenges"] == {}
    kept.made("challenges", (1,), ("R", "challenge", "t", "a", "why", *UNANSWERED))
    kept.answered((1,), ("ok", "t2", "b"))
    assert kept.tables["challenges"][(1,)] == ("R", "challenge", "t", "a", "why", "ok", "t2", "b")
    assert TABLES["challenges"][1][-3:] == ANSWER_COLUMNS


def test_refused_records_are_counted_nowhere() -> None:
    recs = records()
    refused = dict(by_seq(recs, 28), seq=36, outcome="refused", recorded_at=recs[-1]["recorded_at"])
    r = replay([*recs, refused])
    assert r.problems == []
    assert r.applied == 35
    assert r.legacy == []


def problems_after(change: Callable[[list[Rec]], None]) -> list[tuple[int, str]]:
    recs = records()
    change(recs)
    return replay(recs).problems


def _time(seq: int, at: Any) -> Callable[[list[Rec]], None]:
    return lambda recs: by_seq(recs, seq).update(recorded_at=at)


def _field(at_seq: int, /, **fields: Any) -> Callable[[list[Rec]], None]:
    return lambda recs: by_seq(recs, at_seq).update(fields)


def _detail(seq: int, **changes: Any) -> Callable[[list[Rec]], None]:
    return lambda recs: set_detail(by_seq(recs, seq), **changes)


CHAIR_FP = "SHA256:C3xyJvkCl2u6kUstkladO+T2CHV157AMo9vyQxbWLIA"
MEMBER_FP = "SHA256:ekS4vSCwsYFup+fMhFMMMbE7t/OH0s/DzFznj0vGyas"
LAST_AT = DATA["records"][-1]["recorded_at"]
RULESET = "2c7530642f5b31a422237d7b935be4e4328464bbae4e616b83a1b869e3ac0088"
OFSTED = "984c065472a1734484aa1c7151ccbb2c9a5c1c29a2e051cb0ab5084ece7941c6"


def _append(**fields: Any) -> Callable[[list[Rec]], None]:
    """A record after the last, by the secretary under the rules in force unless told otherwise."""

    def change(recs: list[Rec]) -> None:
        rec: Rec = {
            "seq": len(recs) + 1, "recorded_at": LAST_AT, "actor": "sec", "roles": "secretary",
            "item_ref": None, "event": "meeting.add", "from_state": None, "to_state": None,
            "outcome": "applied", "detail": "{}", "workflow_hash": RULESET,
        }  # fmt: skip
        d = fields.get("d")
        rec.update({k: v for k, v in fields.items() if k != "d"})
        if d is not None:
            rec["detail"] = json.dumps(d)
        recs.append(rec)

    return change


def _both(*changes: Callable[[list[Rec]], None]) -> Callable[[list[Rec]], None]:
    def change(recs: list[Rec]) -> None:
        for c in changes:
            c(recs)

    return change


def _copy(seq: int, **fields: Any) -> Callable[[list[Rec]], None]:
    """Append a copy of record ``seq`` with ``fields`` (and ``d``: detail changes) changed."""

    def change(recs: list[Rec]) -> None:
        rec = copy.deepcopy(by_seq(recs, seq))
        d = fields.get("d", {})
        rec.update({k: v for k, v in fields.items() if k != "d"}, seq=len(recs) + 1, recorded_at=LAST_AT)
        set_detail(rec, **d)
        recs.append(rec)

    return change


MUTATIONS: dict[str, Callable[[list[Rec]], None]] = {
    "time not canonical": _time(5, "2026-11-29 13:34:36"),
    "time missing": _time(5, None),
    "time goes back": _time(5, "2026-01-01T00:00:00.000000+00:00"),
    "outcome unknown": _field(35, outcome="maybe"),
    "detail not json": _field(35, detail="{"),
    "detail none": _field(35, detail=None),
    "detail a list": _field(35, detail="[1]"),
    "detail lacks a field": _field(13, detail="{}"),
    "seq not a number": lambda recs: recs[-1].update(seq="x", detail="{"),
    "actor unknown": _field(13, actor="ghost"),
    "actor deactivated": _both(_field(9, roles="secretary"), _copy(13, actor="clerk", d={"date": "2030-01-01"})),
    "roles claimed": _field(13, roles="chair"),
    "role lacking": _field(13, actor="member", roles="member"),
    "rules hash wrong": _field(13, workflow_hash="0" * 64),
    "pin does not parse": _copy(2, actor="sec", d={"workflows": {"x": {"source": "name = 1"}}}),
    "pin by a member": _copy(2, actor="member", roles="member"),
    "propose by the chair": _copy(2, event="workflow.propose", actor="chair", roles="chair", d={"reason": "r"}),
    "propose and adopt": _both(
        _copy(2, event="workflow.propose", d={"reason": "Same again"}),
        _copy(2, event="workflow.adopt", actor="chair", roles="chair"),
    ),
    "adopt unknown": _copy(2, event="workflow.adopt", actor="chair", roles="chair", d={"ruleset": "f" * 64}),
    "upgrade and copy": _both(_append(event="register.upgrade", actor="x"), _append(event="register.copy")),
    "roles by the secretary": _append(event="register.roles"),
    "roles by a member": _append(event="register.roles", actor="member", roles="member"),
    "user added twice": _copy(5),
    "user added by a member": _copy(5, actor="member", roles="member", d={"user": "new"}),
    "role from wrong": _detail(7, from_roles="chair"),
    "role not following": _detail(7, roles=["member"]),
    "role emptied": _copy(8, d={"from_roles": "secretary", "remove": "secretary", "roles": []}),
    "role for a stranger": _copy(7, d={"user": "nobody"}),
    "role for the deactivated": _copy(
        7, d={"from_roles": "secretary", "roles": ["secretary", "member"], "add": "member"}
    ),
    "deactivated twice": _copy(9),
    "role by a member": _copy(
        7,
        actor="member",
        roles="member",
        d={"from_roles": "secretary", "roles": ["secretary", "member"], "add": "member"},
    ),
    "deactivate by a member": _copy(9, actor="member", roles="member"),
    "submit by a member": _field(28, actor="member", roles="member"),
    "submit with no evidence ever": _both(
        _append(
            event="item.add",
            item_ref="OF-03",
            to_state="proposed",
            workflow_hash=OFSTED,
            d={"kind": "ofsted-recommendation", "title": "New"},
        ),
        _append(
            event="submit",
            item_ref="OF-03",
            from_state="proposed",
            to_state="evidence_submitted",
            workflow_hash=OFSTED,
            d={"submission_id": 4, "bundle": "0" * 64, "evidence_ids": []},
        ),
    ),
    "key for a stranger": _detail(10, user="nobody"),
    "key not a key": _detail(10, key="ssh-ed25519 AAAA"),
    "key fingerprint wrong": _detail(10, fingerprint=MEMBER_FP),
    "key twice": _copy(10, d={"key_id": 9}),
    "revoke wrong key": _detail(12, fingerprint=CHAIR_FP),
    "revoke unknown key id": _detail(12, key_id=7),
    "revoke another user's key": _detail(12, user="chair"),
    "revoked twice": _copy(12),
    "meeting twice": _copy(13),
    "cancel no meeting": _detail(16, date="2031-01-01"),
    "cancel cancelled": _copy(16),
    "move onto a meeting": _detail(15, to=DATA["records"][12]["detail"][9:19]),
    "import row of no item": _detail(17, rows=[["OF-09", "k", "d", "2027-01-01", None]]),
    "import item twice": _copy(17, d={"rows": []}),
    "import unknown kind": _detail(
        17,
        items=[["OF-01", "nope", "t", None, "2027-01-28"], ["OF-02", "ofsted-recommendation", "u", None, "2027-01-28"]],
    ),
    "item add": _append(
        event="item.add",
        item_ref="OF-03",
        to_state="proposed",
        workflow_hash=OFSTED,
        d={"kind": "ofsted-recommendation", "title": "New", "owner": "Ann", "due": "2027-03-01"},
    ),
    "item add wrong state": _append(
        event="item.add", item_ref="OF-03", to_state="signed_off", d={"kind": "ofsted-recommendation", "title": "New"}
    ),
    "item add unknown kind": _append(
        event="item.add", item_ref="OF-03", to_state="proposed", d={"kind": "nope", "title": "New"}
    ),
    "item add by a member": _append(
        event="item.add",
        item_ref="OF-03",
        to_state="proposed",
        actor="member",
        roles="member",
        workflow_hash=OFSTED,
        d={"kind": "ofsted-recommendation", "title": "New"},
    ),
    "no item unknown event": _append(event="thing.do"),
    "item unknown": _field(35, item_ref="OF-99"),
    "from state wrong": _field(35, from_state="proposed"),
    "item rules hash wrong": _field(35, workflow_hash="0" * 64),
    "evidence for no row": _detail(18, key="nope"),
    "evidence by a member": _field(18, actor="member", roles="member"),
    "evidence id not growing": _detail(20, evidence_id=1),
    "evidence id a bool": _detail(18, evidence_id=True),
    "supersede withdrawn": _copy(22, d={"evidence_id": 6, "supersedes": 3}),
    "supersede superseded": _copy(
        22,
        d={"evidence_id": 6, "supersedes": 1, "key": "audit"},
        item_ref="OF-01",
        from_state="signed_off",
        to_state="signed_off",
    ),
    "supersede another row": _copy(19, d={"evidence_id": 6, "supersedes": 4}),
    "supersede a string": _copy(22, d={"evidence_id": 6, "supersedes": "4"}),
    "withdraw twice": _copy(21, d={"withdrawal_id": 2}),
    "withdraw not standing": _copy(21, d={"withdrawal_id": 2, "evidence_id": 2}),
    "withdraw when signed off": _copy(
        21, item_ref="OF-01", from_state="signed_off", to_state="signed_off", d={"withdrawal_id": 2, "evidence_id": 2}
    ),
    "edit wrong from": _detail(
        23, changes=[{"change_id": 1, "field": "title", "from": "X", "to": "Y", "row_key": None}]
    ),
    "edit a state": _detail(
        23, changes=[{"change_id": 1, "field": "state", "from": "proposed", "to": "Y", "row_key": None}]
    ),
    "row added twice": _detail(24, key="data", row_key="data"),
    "row added when signed off": _copy(
        24,
        item_ref="OF-01",
        from_state="signed_off",
        to_state="signed_off",
        d={"change_id": 9, "key": "more", "row_key": "more"},
    ),
    "reschedule wrong from": _detail(25, **{"from": "2020-01-01"}),
    "reschedule no row": _detail(25, row_key="nope"),
    "remove a row with evidence": _copy(26, d={"change_id": 9, "row_key": "data", "key": "data"}),
    "remove when signed off": _copy(
        26,
        item_ref="OF-01",
        from_state="signed_off",
        to_state="signed_off",
        d={"change_id": 9, "row_key": "audit", "key": "audit"},
    ),
    "item reschedule by a member": _field(27, actor="member", roles="member"),
    "not an event": _field(35, event="approve2"),
    "event from the wrong state": _copy(
        28,
        item_ref="OF-02",
        from_state="challenged",
        to_state="evidence_submitted",
        d={"submission_id": 4, "bundle": "0", "evidence_ids": [4, 5]},
    ),
    "event to the wrong state": _field(35, to_state="signed_off"),
    "a secretary may challenge": _field(35, actor="sec", roles="secretary"),
    "signed event unsigned": _detail(29, signature=DROP),
    "approve a cancelled meeting": _detail(29, meeting=DATA["records"][15]["detail"][9:19]),
    "answers wrong": _detail(34, answers_challenges=[[1, "x"], [3, "y"]]),
    "answers short": _detail(34, answers_challenges=[[1, "x"]]),
    "answers legacy": _detail(34, answers_challenges=DROP, answers_challenge=1, response="Old form"),
    "challenge id not growing": _detail(35, challenge_id=2),
    "challenge reason missing": _detail(35, reason=DROP),
    "approve not latest": _detail(29, submission_id=2),
    "approve wrong digest": _detail(29, bundle="0" * 64),
    "bundle ids wrong": _detail(30, evidence_ids=[3, 4]),
    "bundle digest wrong": _detail(30, bundle="0" * 64),
    "submission id not growing": _detail(30, submission_id=1),
    "signer not current": _detail(29, signer=MEMBER_FP),
    "recorded by a member": _detail(29, recorded_by="member"),
    "recorded by the secretary": _detail(29, recorded_by="sec"),
    "signature broken": _detail(29, signature="-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"),
    "statement differs": _detail(
        29, statement=json.loads(DATA["records"][28]["detail"])["statement"].replace("approve", "reopen")
    ),
    "signed after the record": _time(29, DATA["records"][27]["recorded_at"][:11] + "00:00:00.000000+00:00"),
}

# What replay says about each record broken as above: every problem, in order, word for word.
EXPECTED: dict[str, list[tuple[int, str]]] = {
    "submit by a member": [(28, "member (member) may not submit: it needs secretary")],
    "submit with no evidence ever": [
        (37, "its bundle digest is not the digest of OF-03's standing evidence at that point")
    ],
    "role by a member": [
        (36, "member (member) may not change users: it needs secretary"),
        (36, "it changes user 'clerk', who was already deactivated"),
    ],
    "deactivate by a member": [
        (36, "member (member) may not deactivate users: it needs secretary"),
        (36, "it changes user 'clerk', who was already deactivated"),
    ],
    "time not canonical": [
        (5, "its time '2026-11-29 13:34:36' is not canonical UTC (YYYY-MM-DDTHH:MM:SS.ffffff+00:00)")
    ],
    "time missing": [(5, "its time None is not canonical UTC (YYYY-MM-DDTHH:MM:SS.ffffff+00:00)")],
    "time goes back": [
        (
            5,
            "its time 2026-01-01T00:00:00.000000+00:00 is earlier than the record before it "
            "(2026-11-29T13:34:54.393312+00:00)",
        )
    ],
    "outcome unknown": [(35, "its outcome 'maybe' is neither applied nor refused")],
    "detail not json": [(35, "its detail is not JSON")],
    "detail none": [(35, "its detail is not JSON")],
    "detail a list": [(35, "its detail is not a JSON object")],
    "detail lacks a field": [
        (13, "it does not carry what a meeting.add record needs (KeyError: 'date')"),
        (29, "it names the meeting on 2026-11-29, which is not a held meeting on the calendar then"),
    ],
    "seq not a number": [(0, "its detail is not JSON")],
    "actor unknown": [(13, "its actor 'ghost' is not a user of the register at this point")],
    "actor deactivated": [(36, "its actor 'clerk' was deactivated at this point and may do nothing")],
    "roles claimed": [(13, "it claims roles 'chair' but sec holds 'secretary'")],
    "role lacking": [(13, "member (member) may not add meetings: it needs secretary")],
    "rules hash wrong": [(13, "its workflow hash is not that of the rules in force at this point of the chain")],
    "pin does not parse": [
        (36, "its workflow definitions do not parse (workflow <pinned x>: key 'initial' is missing.)")
    ],
    "pin by a member": [(36, "member (member) may not pin workflow rules: it needs chair or secretary")],
    "propose by the chair": [(36, "chair (chair) may not propose workflow rules: it needs secretary")],
    "propose and adopt": [],
    "adopt unknown": [(36, "it adopts rules ffffffffffffffff… that no record proposed")],
    "upgrade and copy": [],
    "roles by the secretary": [],
    "roles by a member": [(36, "member (member) may not apply database roles: it needs secretary")],
    "user added twice": [(36, "it adds user 'member', who already exists")],
    "user added by a member": [(36, "member (member) may not add users: it needs secretary")],
    "role from wrong": [(7, "it says clerk held 'chair', but replay has 'member'")],
    "role not following": [
        (7, "its roles ['member'] for clerk do not follow from the change it records"),
        (8, "it says clerk held 'member,secretary', but replay has 'member'"),
        (8, "its roles ['secretary'] for clerk do not follow from the change it records"),
    ],
    "role emptied": [
        (36, "it changes user 'clerk', who was already deactivated"),
        (36, "its roles [] for clerk do not follow from the change it records"),
    ],
    "role for a stranger": [(36, "it changes user 'nobody', whom no earlier record added")],
    "role for the deactivated": [(36, "it changes user 'clerk', who was already deactivated")],
    "deactivated twice": [(36, "it changes user 'clerk', who was already deactivated")],
    "key for a stranger": [
        (10, "it registers a key for 'nobody', who is not a user at this point"),
        (
            29,
            "it is signed with SHA256:C3xyJvkCl2u6kUstkladO+T2CHV157AMo9vyQxbWLIA, which is not a "
            "current key of chair at this point",
        ),
    ],
    "key not a key": [
        (10, "its key is damaged: the key data is truncated; copy the whole line from the .pub file"),
        (
            29,
            "it is signed with SHA256:C3xyJvkCl2u6kUstkladO+T2CHV157AMo9vyQxbWLIA, which is not a current "
            "key of chair at this point",
        ),
    ],
    "key fingerprint wrong": [
        (
            10,
            "its key's fingerprint is SHA256:C3xyJvkCl2u6kUstkladO+T2CHV157AMo9vyQxbWLIA, not the "
            "SHA256:ekS4vSCwsYFup+fMhFMMMbE7t/OH0s/DzFznj0vGyas it names",
        )
    ],
    "key twice": [
        (36, "it registers the key SHA256:C3xyJvkCl2u6kUstkladO+T2CHV157AMo9vyQxbWLIA, which was registered before")
    ],
    "revoke wrong key": [
        (12, "it revokes key 2, which is not member's key SHA256:C3xyJvkCl2u6kUstkladO+T2CHV157AMo9vyQxbWLIA")
    ],
    "revoke unknown key id": [
        (12, "it revokes key 7, which is not member's key SHA256:ekS4vSCwsYFup+fMhFMMMbE7t/OH0s/DzFznj0vGyas")
    ],
    "revoke another user's key": [
        (12, "it revokes key 2, which is not chair's key SHA256:ekS4vSCwsYFup+fMhFMMMbE7t/OH0s/DzFznj0vGyas")
    ],
    "revoked twice": [
        (36, "it revokes member's key SHA256:ekS4vSCwsYFup+fMhFMMMbE7t/OH0s/DzFznj0vGyas, which was already revoked")
    ],
    "meeting twice": [(36, "it adds a meeting on 2026-11-29, which is already on the calendar")],
    "cancel no meeting": [
        (16, "it takes the meeting on 2031-01-01 off the calendar, but no held meeting is on that date")
    ],
    "cancel cancelled": [
        (36, "it takes the meeting on 2026-12-13 off the calendar, but no held meeting is on that date")
    ],
    "move onto a meeting": [
        (15, "it moves a meeting to 2026-11-29, which is already on the calendar"),
        (16, "it takes the meeting on 2026-12-13 off the calendar, but no held meeting is on that date"),
    ],
    "import row of no item": [
        (17, "it adds a matrix row to item 'OF-09', which no earlier record registered"),
        (18, "it adds evidence to OF-01 row 'audit', which the matrix does not have"),
        (19, "it adds evidence to OF-01 row 'audit', which the matrix does not have"),
        (20, "it adds evidence to OF-02 row 'data', which the matrix does not have"),
        (22, "it adds evidence to OF-02 row 'data', which the matrix does not have"),
        (33, "it adds evidence to OF-02 row 'data', which the matrix does not have"),
    ],
    "import item twice": [
        (36, "it registers item 'OF-01', which already exists"),
        (36, "it registers item 'OF-02', which already exists"),
    ],
    "import unknown kind": [
        (17, "it registers OF-01 under workflow 'nope', which is not in the rules in force"),
        (18, "its workflow hash is not that of the rules in force at this point of the chain"),
        (18, "it moves OF-01 from 'proposed', but replay has it in '?'"),
        (19, "its workflow hash is not that of the rules in force at this point of the chain"),
        (19, "it moves OF-01 from 'proposed', but replay has it in '?'"),
        (23, "it changes OF-02 title from 'Reduce caseloads', which it did not hold"),
        (28, "its workflow hash is not that of the rules in force at this point of the chain"),
        (28, "it moves OF-01 from 'proposed', but replay has it in '?'"),
        (28, "'submit' is not an event of nope in the rules in force"),
        (29, "its workflow hash is not that of the rules in force at this point of the chain"),
        (29, "it moves OF-01 from 'evidence_submitted', but replay has it in '?'"),
        (29, "'approve' is not an event of nope in the rules in force"),
    ],
    "item add": [],
    "item add wrong state": [(36, "it registers OF-03 in state 'signed_off', not the workflow's initial state")],
    "item add unknown kind": [
        (36, "it registers OF-03 under workflow 'nope', which is not in the rules in force"),
        (36, "it registers OF-03 in state 'proposed', not the workflow's initial state"),
    ],
    "item add by a member": [(36, "member (member) may not add items: it needs secretary")],
    "no item unknown event": [(36, "it is an applied 'thing.do' record, which no version of signoff writes")],
    "item unknown": [(35, "it names item 'OF-99', which no earlier record registered")],
    "from state wrong": [(35, "it moves OF-02 from 'proposed', but replay has it in 'evidence_submitted'")],
    "item rules hash wrong": [(35, "its workflow hash is not that of the rules in force at this point of the chain")],
    "evidence for no row": [
        (18, "it adds evidence to OF-01 row 'nope', which the matrix does not have"),
        (
            19,
            "it supersedes evidence 1, which is not standing OF-01 audit evidence (another row's or "
            "item's, or already superseded)",
        ),
        (28, "it freezes evidence [2], but OF-01's standing evidence is [1, 2]"),
    ],
    "evidence by a member": [(18, "member (member) may not add evidence: it needs secretary")],
    "evidence id not growing": [
        (20, "it makes evidence row 1, but ids only grow (the last was 2)"),
        (
            21,
            "it withdraws evidence 3, which is not standing evidence of OF-02 (another item's, "
            "or a later record supersedes it)",
        ),
    ],
    "evidence id a bool": [
        (18, "it makes evidence row True, but ids only grow (the last was 0)"),
        (
            19,
            "it supersedes evidence 1, which is not standing OF-01 audit evidence (another row's or "
            "item's, or already superseded)",
        ),
    ],
    "supersede withdrawn": [
        (36, "it moves OF-02 from 'proposed', but replay has it in 'challenged'"),
        (36, "it supersedes evidence 3, which was withdrawn"),
    ],
    "supersede superseded": [
        (
            36,
            "it supersedes evidence 1, which is not standing OF-01 audit evidence (another row's "
            "or item's, or already superseded)",
        )
    ],
    "supersede another row": [
        (36, "it moves OF-01 from 'proposed', but replay has it in 'signed_off'"),
        (
            36,
            "it supersedes evidence 4, which is not standing OF-01 audit evidence (another row's "
            "or item's, or already superseded)",
        ),
    ],
    "supersede a string": [
        (36, "it moves OF-02 from 'proposed', but replay has it in 'challenged'"),
        (
            36,
            "it supersedes evidence 4, which is not standing OF-02 data evidence (another row's or "
            "item's, or already superseded)",
        ),
    ],
    "withdraw twice": [
        (36, "it moves OF-02 from 'proposed', but replay has it in 'challenged'"),
        (36, "it withdraws evidence 3, which was already withdrawn"),
    ],
    "withdraw not standing": [
        (36, "it moves OF-02 from 'proposed', but replay has it in 'challenged'"),
        (
            36,
            "it withdraws evidence 2, which is not standing evidence of OF-02 (another item's, or "
            "a later record supersedes it)",
        ),
    ],
    "withdraw when signed off": [(36, "it withdraws evidence of OF-01, which is signed_off")],
    "edit wrong from": [(23, "it changes OF-02 title from 'X', which it did not hold")],
    "edit a state": [(23, "it changes OF-02 state from 'proposed', which it did not hold")],
    "row added twice": [
        (24, "it adds row 'data' to OF-02, which already has one"),
        (25, "it changes OF-02 row 'plan', which the matrix does not have"),
        (26, "it changes OF-02 row 'plan', which the matrix does not have"),
    ],
    "row added when signed off": [(36, "it adds a matrix row to OF-01, which is signed_off")],
    "reschedule wrong from": [(25, "it moves OF-02 row 'plan' from 2020-01-01, but it was due 2026-12-19")],
    "reschedule no row": [(25, "it changes OF-02 row 'nope', which the matrix does not have")],
    "remove a row with evidence": [
        (36, "it moves OF-02 from 'proposed', but replay has it in 'challenged'"),
        (36, "it removes OF-02 row 'data', which has evidence"),
    ],
    "remove when signed off": [
        (36, "it removes OF-01 row 'audit', which has evidence"),
        (36, "it removes a matrix row of OF-01, which is signed_off"),
    ],
    "item reschedule by a member": [(27, "member (member) may not reschedule items: it needs secretary")],
    "not an event": [(35, "'approve2' is not an event of ofsted-recommendation in the rules in force")],
    "event from the wrong state": [
        (36, "ofsted-recommendation does not allow submit from 'challenged'"),
        (36, "its bundle digest is not the digest of OF-02's standing evidence at that point"),
    ],
    "event to the wrong state": [(35, "it moves OF-02 to 'signed_off', but challenge leads to 'challenged'")],
    "a secretary may challenge": [],
    "signed event unsigned": [(29, "approve is a signed decision in the rules in force, but it carries no signature")],
    "approve a cancelled meeting": [
        (29, "its signed statement says meeting '2026-11-29', but the record is for '2026-12-13'"),
        (29, "it names the meeting on 2026-12-13, which is not a held meeting on the calendar then"),
    ],
    "answers wrong": [
        (34, "it answers challenges [1, 3], but OF-02's open challenges are [1, 2]"),
        (34, "it answers challenge 3, which is not an open challenge of OF-02"),
    ],
    "answers short": [(34, "it answers challenges [1], but OF-02's open challenges are [1, 2]")],
    "answers legacy": [(34, "it answers challenges [1], but OF-02's open challenges are [1, 2]")],
    "challenge id not growing": [(35, "it makes challenges row 2, but ids only grow (the last was 2)")],
    "challenge reason missing": [],
    "approve not latest": [(29, "it approves submission 2, which is not a frozen bundle of OF-01 (the latest)")],
    "approve wrong digest": [(29, "it approves submission 1, which is not a frozen bundle of OF-01 (the latest)")],
    "bundle ids wrong": [(30, "it freezes evidence [3, 4], but OF-02's standing evidence is [4]")],
    "bundle digest wrong": [(30, "its bundle digest is not the digest of OF-02's standing evidence at that point")],
    "submission id not growing": [(30, "it makes submissions row 1, but ids only grow (the last was 1)")],
    "signer not current": [
        (
            29,
            "it is signed with SHA256:ekS4vSCwsYFup+fMhFMMMbE7t/OH0s/DzFznj0vGyas, which is not a "
            "current key of chair at this point",
        )
    ],
    "recorded by a member": [(29, "it was recorded by 'member', who is not a secretary at this point")],
    "recorded by the secretary": [],
    "signature broken": [
        (
            29,
            "its signature does not verify: the signature is truncated: use the whole .sig file as ssh-keygen wrote it",
        )
    ],
    "statement differs": [
        (
            29,
            "its signature does not verify: the signature does not sign this statement: the statement "
            "was changed after signing, or the signature is for another one; sign the statement "
            "again",
        )
    ],
    "signed after the record": [
        (
            29,
            "its time 2026-11-29T00:00:00.000000+00:00 is earlier than the record before it "
            "(2026-11-29T13:34:54.613838+00:00)",
        ),
        (
            29,
            "its statement was signed at 2026-11-29T13:34:54Z, after the record's time "
            "2026-11-29T00:00:00.000000+00:00",
        ),
    ],
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_replay_names_each_broken_record_and_why(name: str) -> None:
    assert problems_after(MUTATIONS[name]) == EXPECTED[name]
    assert problems_after(MUTATIONS[name]) == EXPECTED[name]  # the same again: a case changes nothing shared


def _legacy(recs: list[Rec], schema: str = "0002") -> None:
    set_detail(recs[0], schema=schema)


def _baseline(seq: int, tables: dict[str, list[list[Any]]] | None = None) -> Rec:
    """A register.baseline record carrying ``tables`` (rows as the store has them) as of the end."""
    tables = DATA["tables"] if tables is None else tables
    rows = {
        name: [dict(zip(TABLES[name][0] + TABLES[name][1], key + values, strict=True)) for key, values in got]
        for name, got in tables.items()
    }
    return {
        "seq": seq, "recorded_at": LAST_AT, "actor": "sec", "roles": "secretary", "item_ref": None,
        "event": "register.baseline", "from_state": None, "to_state": None, "outcome": "applied",
        "detail": json.dumps({"tables": rows}), "workflow_hash": RULESET,
    }  # fmt: skip


def test_records_of_a_register_older_than_full_detail_are_only_listed_as_legacy() -> None:
    recs = records()
    _legacy(recs)
    refused = dict(by_seq(recs, 28), seq=36, outcome="refused", recorded_at=LAST_AT)
    r = replay([*recs, refused])
    assert r.problems == []
    assert r.full is False
    assert r.legacy == list(range(1, 37))
    assert r.applied == 35
    assert isinstance(r.sink, Kept)
    assert all(rows == {} for rows in r.sink.tables.values())


@pytest.mark.parametrize("schema", ["0001", "0003"])
def test_each_legacy_schema_is_legacy(schema: str) -> None:
    recs = records()
    _legacy(recs, schema)
    assert replay(recs).full is False


def test_a_later_init_record_does_not_decide_the_form() -> None:
    recs = records()
    _legacy(recs)
    late = dict(recs[0], seq=2)
    r = Replay()
    r.feed(recs[0])
    r.feed(late)
    assert r.full is False
    assert r.legacy == [1, 2]


def test_a_baseline_takes_the_tables_and_replay_goes_on_in_full_from_it() -> None:
    recs = records()
    _legacy(recs)
    more = {
        "seq": 37, "recorded_at": LAST_AT, "actor": "chair", "roles": "chair", "item_ref": "OF-02",
        "event": "challenge", "from_state": "challenged", "to_state": "challenged", "outcome": "applied",
        "detail": json.dumps({"challenge_id": 4, "reason": "And the budget"}), "workflow_hash": OFSTED,
    }  # fmt: skip
    answer = {
        "seq": 38, "recorded_at": LAST_AT, "actor": "sec", "roles": "secretary", "item_ref": "OF-02",
        "event": "resubmit", "from_state": "challenged", "to_state": "evidence_submitted", "outcome": "applied",
        "workflow_hash": OFSTED, "detail": json.dumps({
            "answers_challenges": [[3, "Done"], [4, "Done too"]], "submission_id": 4, "evidence_ids": [4, 5],
            "bundle": detail(by_seq(recs, 34))["bundle"],
        }),
    }  # fmt: skip
    r = replay([*recs, _baseline(36), more, answer])
    assert r.problems == []
    assert r.full is True
    assert r.legacy == list(range(1, 36))
    want = copy.deepcopy(DATA["tables"])
    for name in TABLES:
        if name not in ("challenges", "submissions", "items"):
            assert table(r, name) == want[name], name
    challenges = table(r, "challenges")
    assert [c[1][5:] for c in challenges] == [
        ["Trend added", want["challenges"][0][1][6], "sec"],
        ["Trend added", want["challenges"][1][1][6], "sec"],
        ["Done", LAST_AT, "sec"],
        ["Done too", LAST_AT, "sec"],
    ]
    assert challenges[3][1][:5] == ["OF-02", "challenge", LAST_AT, "chair", "And the budget"]
    assert table(r, "submissions")[-1] == [[4], ["OF-02", "resubmit", LAST_AT, "sec", answer_bundle(answer), "4,5"]]
    items = dict((k[0], v) for k, v in table(r, "items"))
    assert items["OF-02"][5:7] == ["evidence_submitted", want["items"][1][1][6] + 2]


def answer_bundle(rec: Rec) -> str:
    return str(detail(rec)["bundle"])


def test_a_baseline_hands_on_the_standing_evidence_and_the_latest_bundle() -> None:
    recs = records()
    _legacy(recs)
    withdraw = copy.deepcopy(by_seq(recs, 21))
    withdraw.update(seq=37, recorded_at=LAST_AT, from_state="challenged", to_state="challenged")
    set_detail(withdraw, withdrawal_id=2, evidence_id=4)
    again = copy.deepcopy(withdraw)
    again.update(seq=38)
    set_detail(again, withdrawal_id=3, evidence_id=1)
    superseded = copy.deepcopy(withdraw)
    superseded.update(seq=39, item_ref="OF-01", from_state="signed_off", to_state="signed_off")
    set_detail(superseded, withdrawal_id=4, evidence_id=1)
    r = replay([*recs, _baseline(36), withdraw, again, superseded])
    assert r.problems == [
        (38, "it withdraws evidence 1, which is not standing evidence of OF-02 (another item's, or a later record"
         " supersedes it)"),
        (39, "it withdraws evidence 1, which is not standing evidence of OF-01 (another item's, or a later record"
         " supersedes it)"),
        (39, "it withdraws evidence of OF-01, which is signed_off"),
    ]  # fmt: skip


def test_a_baseline_without_rules_in_force_leaves_none() -> None:
    recs = records()
    _legacy(recs)
    tables = copy.deepcopy(DATA["tables"])
    tables["meta"] = [row for row in tables["meta"] if row[0] != ["rules_in_force"]]
    r = replay([*recs, _baseline(36, tables), _copy_of(recs, 13, 37, date="2031-01-01")])
    assert r.problems == [(37, "it comes before any workflow rules were pinned")]


def _copy_of(recs: list[Rec], seq: int, new: int, **d: Any) -> Rec:
    rec = copy.deepcopy(by_seq(recs, seq))
    rec.update(seq=new, recorded_at=LAST_AT)
    set_detail(rec, **d)
    return rec


def test_a_baseline_in_a_register_with_full_detail_is_refused() -> None:
    r = replay([*records(), _baseline(36)])
    assert r.problems == [(36, "it is a baseline of the tables, but the records before it already carry full detail")]


@pytest.mark.parametrize(
    ("body", "error"),
    [("{", "JSONDecodeError"), ("{}", "KeyError"), ('{"tables": []}', "AttributeError"),
     ('{"tables": {"users": [{"name": "a"}], "evidence": [1]}}', "TypeError")],
)  # fmt: skip
def test_an_unreadable_baseline_is_named(body: str, error: str) -> None:
    recs = records()
    _legacy(recs)
    base = _baseline(36)
    base["detail"] = body
    r = replay([*recs, base])
    assert r.problems == [(36, f"its baseline of the tables cannot be read ({error})")]
    assert r.full is False


def test_a_baseline_with_ids_out_of_order_hands_them_on_in_order() -> None:
    recs = records()
    _legacy(recs)
    tables = copy.deepcopy(DATA["tables"])
    for name in STREAMED:
        tables[name].reverse()
    r = replay([*recs, _baseline(36, tables)])
    assert r.problems == []
    for name in STREAMED:
        assert table(r, name) == DATA["tables"][name], name


def test_a_record_before_the_rules_are_pinned_is_named() -> None:
    recs = records()
    meeting = _copy_of(recs, 13, 2)
    r = replay([recs[0], dict(recs[2], seq=3), dict(meeting, seq=4)])
    assert r.problems == [
        (4, "it comes before any workflow rules were pinned"),
    ]


def _resigned(recs: list[Rec], seq: int, old: str, new: str) -> None:
    """Record ``seq``'s statement with ``old`` replaced by ``new``, signed again with the chair's test key."""
    from signing import sign_as

    rec = by_seq(recs, seq)
    statement = detail(rec)["statement"].replace(old, new)
    set_detail(rec, statement=statement, signature=sign_as("chair")(statement.encode("utf-8")))


def test_a_statement_signed_before_the_key_and_the_bundle_existed_is_named() -> None:
    recs = records()
    stamp = detail(by_seq(recs, 29))["statement"].split("time: ")[1].strip()
    _resigned(recs, 29, stamp, "2026-01-01T00:00:00Z")
    assert replay(recs).problems == [
        (29, "its statement was signed at 2026-01-01T00:00:00Z, before the key was registered"),
        (29, "its statement was signed at 2026-01-01T00:00:00Z, before the evidence it names was frozen"),
    ]


def test_a_statement_signed_again_as_it_was_verifies() -> None:
    recs = records()
    _resigned(recs, 29, "item: OF-01", "item: OF-01")
    r = replay(recs)
    assert r.problems == []
    assert r.signed == 1


def test_a_statement_that_says_something_else_is_named_field_by_field() -> None:
    recs = records()
    _resigned(recs, 29, "actor: chair", "actor: sec")
    assert replay(recs).problems == [(29, "its signed statement says actor 'sec', but the record is for 'chair'")]


def test_a_register_s_evidence_limit_is_rebuilt() -> None:
    recs = records()
    set_detail(recs[0], max_evidence_mib=25)
    r = replay(recs)
    assert r.problems == []
    assert r.rows()["meta"][("max_evidence_mib",)] == ("25",)
    assert set(r.rows()["meta"]) == {("database_id",), ("created_at",), ("rules_in_force",), ("max_evidence_mib",)}


def test_an_init_record_whose_detail_is_not_json_is_read_as_full_detail() -> None:
    recs = records()
    recs[0]["detail"] = "{"
    r = replay(recs[:1])
    assert r.full is True
    assert r.problems == [(1, "its detail is not JSON")]


def test_an_item_added_without_a_due_date_takes_its_first_reschedule_as_its_original_due() -> None:
    recs = records()
    add = {
        "seq": 36, "recorded_at": LAST_AT, "actor": "sec", "roles": "secretary", "item_ref": "OF-03",
        "event": "item.add", "from_state": None, "to_state": "proposed", "outcome": "applied",
        "detail": json.dumps({"kind": "ofsted-recommendation", "title": "New"}), "workflow_hash": OFSTED,
    }  # fmt: skip
    move = copy.deepcopy(by_seq(recs, 27))
    move.update(seq=37, recorded_at=LAST_AT, item_ref="OF-03")
    set_detail(move, reschedule_id=2, from_due=None, to_due="2027-05-01")
    r = replay([*recs, add, move])
    assert r.problems == []
    item = r.rows()["items"][("OF-03",)]
    assert item[3:5] == ("2027-05-01", "2027-05-01")
    assert item[:3] == ("ofsted-recommendation", "New", None)
    assert item[5:] == ("proposed", 1, LAST_AT, LAST_AT)


def test_rules_whose_digest_is_not_the_one_named_are_named() -> None:
    recs = records()
    pin = copy.deepcopy(by_seq(recs, 2))
    pin.update(seq=36, recorded_at=LAST_AT)
    set_detail(pin, ruleset="ab" * 32)
    r = replay([*recs, pin])
    assert r.problems == [(36, f"its workflow definitions digest to {RULESET[:16]}…, not {'ab' * 8}…")]
    assert r.rows()["meta"][("rules_in_force",)] == ("ab" * 32,)


def test_a_decision_the_rules_do_not_sign_is_counted_unsigned() -> None:
    from signoff.engine.workflow import rules_from_sources

    recs = records()
    pin = copy.deepcopy(by_seq(recs, 2))
    workflows = detail(pin)["workflows"]
    for spec in workflows.values():
        spec["source"] = spec["source"].replace("signed = true\n", "")
    rules = rules_from_sources({name: spec["source"] for name, spec in workflows.items()})
    pin.update(seq=36, recorded_at=LAST_AT, workflow_hash=rules.digest)
    set_detail(pin, workflows=workflows, ruleset=rules.digest)
    approve = copy.deepcopy(by_seq(recs, 29))
    approve.update(seq=37, recorded_at=LAST_AT, workflow_hash=rules.digest)
    set_detail(approve, signature=DROP, statement=DROP, signer=DROP)
    recs[28:29] = []
    for n, rec in enumerate(recs, 1):
        rec["seq"] = n
    pin["seq"], approve["seq"] = 35, 36
    r = replay([*recs, pin, approve])
    assert r.problems == []
    assert (r.signed, r.unsigned) == (0, 1)


def test_a_baseline_that_makes_a_row_twice_hands_it_on_once() -> None:
    recs = records()
    _legacy(recs)
    tables = copy.deepcopy(DATA["tables"])
    for name in ("challenges", "evidence"):
        twin = copy.deepcopy(tables[name][0])
        twin[1][4] = "another"  # the same id, other values: the first made is the one kept
        tables[name].append(twin)
    r = replay([*recs, _baseline(36, tables)])
    assert r.problems == [
        (36, "it makes evidence row 1, but ids only grow (the last was 1)"),
        (36, "it makes challenges row 1, but ids only grow (the last was 1)"),
    ]
    for name in STREAMED:
        assert table(r, name) == DATA["tables"][name], name


def test_a_signature_whose_seq_does_not_grow_is_named_at_its_own_seq() -> None:
    recs = records()
    again = copy.deepcopy(by_seq(recs, 29))
    again["recorded_at"] = LAST_AT
    problems = replay([*recs, again]).problems
    assert (29, "it makes signatures row 29, but ids only grow (the last was 29)") in problems


def test_a_baseline_from_before_a_table_existed_reads_it_as_empty() -> None:
    recs = records()
    _legacy(recs)
    tables = {name: rows for name, rows in DATA["tables"].items() if name not in ("withdrawals", "item_changes")}
    r = replay([*recs, _baseline(36, tables)])
    assert r.problems == []
    assert table(r, "withdrawals") == []
    assert table(r, "evidence") == DATA["tables"]["evidence"]


def test_a_baseline_hands_on_each_item_s_latest_frozen_bundle() -> None:
    recs = records()
    _legacy(recs)
    tables = copy.deepcopy(DATA["tables"])
    tables["challenges"] = tables["challenges"][:2]
    of02 = next(row for row in tables["items"] if row[0] == ["OF-02"])
    of02[1][5] = "evidence_submitted"
    sub = tables["submissions"][-1]
    meeting = DATA["tables"]["meetings"][0][0][0]
    approve = {
        "seq": 37, "recorded_at": LAST_AT, "actor": "chair", "roles": "chair", "item_ref": "OF-02",
        "event": "approve", "from_state": "evidence_submitted", "to_state": "signed_off", "outcome": "applied",
        "workflow_hash": OFSTED,
        "detail": json.dumps({"approval_id": 2, "submission_id": sub[0][0], "bundle": sub[1][4], "meeting": meeting}),
    }  # fmt: skip
    r = replay([*recs, _baseline(36, tables), approve])
    assert r.problems == [(37, "approve is a signed decision in the rules in force, but it carries no signature")]


def test_a_forged_baseline_whose_rows_contradict_each_other_is_named_not_a_crash() -> None:
    recs = records()
    _legacy(recs)
    tables = copy.deepcopy(DATA["tables"])
    cols = TABLES["evidence"][1]
    stray = copy.deepcopy(tables["evidence"][0])
    stray[1][cols.index("ref")] = "OF-09"
    stray[1][cols.index("supersedes_id")] = 99
    tables["evidence"].append(stray)
    stray_superseding = copy.deepcopy(tables["evidence"][-2])
    stray_superseding[0] = [6]
    stray_superseding[1][cols.index("supersedes_id")] = 99
    tables["evidence"].append(stray_superseding)
    wcols = TABLES["withdrawals"][1]
    for wid, ev, ref in ((2, 1, "OF-01"), (3, 1, "OF-09"), (4, 77, "OF-01")):
        row = [None] * len(wcols)
        row[wcols.index("evidence_id")], row[wcols.index("ref")] = ev, ref
        tables["withdrawals"].append([[wid], row])
    r = replay([*recs, _baseline(36, tables)])
    assert r.problems == [(36, "it makes evidence row 1, but ids only grow (the last was 1)")]
    assert r.full is True


def test_a_signed_decision_without_a_signature_is_counted_unsigned() -> None:
    recs = records()
    set_detail(by_seq(recs, 29), signature=DROP)
    r = replay(recs)
    assert (r.signed, r.unsigned) == (0, 1)


def test_the_old_single_answer_form_records_its_response() -> None:
    recs = records()[:32]  # up to the two challenges of OF-02
    recs = [r for r in recs if r["seq"] != 32]
    answer = copy.deepcopy(DATA["records"][33])
    answer["seq"] = 32
    set_detail(answer, answers_challenges=DROP, answers_challenge=1, response="Old form", evidence_ids=[4])
    set_detail(answer, bundle=detail(by_seq(records(), 30))["bundle"])
    r = replay([*recs, answer])
    assert r.problems == []
    assert table(r, "challenges")[0][1][5:] == ["Old form", answer["recorded_at"], "sec"]


def test_answers_to_an_item_with_no_open_challenge_are_named() -> None:
    recs = records()[:30]
    answer = copy.deepcopy(DATA["records"][33])
    answer.update(seq=31, from_state="evidence_submitted")
    set_detail(answer, evidence_ids=[4], bundle=detail(by_seq(recs, 30))["bundle"], submission_id=3)
    assert replay([*recs, answer]).problems == [
        (31, "ofsted-recommendation does not allow resubmit from 'evidence_submitted'"),
        (31, "it answers challenges [1, 2], but OF-02's open challenges are []"),
        (31, "it answers challenge 1, which is not an open challenge of OF-02"),
        (31, "it answers challenge 2, which is not an open challenge of OF-02"),
    ]


def test_a_pin_that_does_not_hold_is_reported_not_a_crash_at_the_next_transition() -> None:
    """With the first pin's digest forged, every later record is judged without rules: each is named,
    and replay walks on to the end instead of stopping at the first transition."""
    recs = records()
    set_detail(by_seq(recs, 2), ruleset="0" * 64)
    r = replay(recs)
    seqs = {seq for seq, _ in r.problems}
    assert 2 in seqs
    assert max(seqs) > 2  # the records after it were still walked and judged
