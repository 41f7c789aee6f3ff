"""The whole register through the real CLI in subprocesses, as a secretary and a board would use it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import days_ago, write_matrix
from signing import key_file

TODAY = days_ago(0).isoformat()
YESTERDAY = days_ago(1).isoformat()
TOMORROW = days_ago(-1).isoformat()


def test_an_item_from_import_to_sign_off(run_cli: Callable[..., Any], tmp_path: Path, backend_db: Path | str) -> None:
    db = backend_db

    def ok(*args: str, actor: str | None = "sec") -> str:
        r = run_cli(*args, db=db, actor=actor)
        assert r.code == 0, (args, r.err)
        assert "Traceback" not in r.err
        return r.out

    def refused(*args: str, actor: str, code: int = 3, fragment: str = "") -> str:
        r = run_cli(*args, db=db, actor=actor)
        assert r.code == code, (args, r.code, r.out, r.err)
        assert "Traceback" not in r.err
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("signoff: "), r.err
        assert fragment in lines[0]
        return lines[0]

    def state(ref: str) -> str:
        return json.loads(ok("item", "show", ref, "--json", actor=None))["state"]

    assert "Created register" in ok("init", "--secretary", "sec", actor=None)
    ok("meeting", "add", TODAY, actor="sec")
    ok("user", "add", "chair", "--role", "chair")
    ok("user", "key", "add", "chair", "--public-key", f"{key_file(tmp_path / 'keys', 'chair')}.pub")
    ok("user", "add", "partner", "--role", "member")
    ok("user", "add", "clerk", "--role", "auditor")
    users = json.loads(ok("user", "list", "--json", actor=None))
    assert {u["name"]: u["roles"] for u in users} == {
        "sec": "secretary",
        "chair": "chair",
        "partner": "member",
        "clerk": "auditor",
    }

    later = days_ago(-20).isoformat()
    write_matrix(
        tmp_path / "matrix.csv",
        [
            ("OF-01", "ofsted-recommendation", "Screen contacts within a day", later, "audit", "Case audit", later),
            (
                "OF-01",
                "ofsted-recommendation",
                "Screen contacts within a day",
                later,
                "policy",
                "Screening policy",
                later,
            ),
            ("OF-02", "ofsted-recommendation", "Reduce caseloads", later, "data", "Caseload data", later),
        ],
    )
    assert "2 new item(s)" in ok("matrix", "import", str(tmp_path / "matrix.csv"))
    matrix = json.loads(ok("matrix", "show", "OF-01", "--json", actor=None))
    assert [(m["key"], m["covered"]) for m in matrix] == [("audit", False), ("policy", False)]

    (tmp_path / "audit.pdf").write_bytes(b"%PDF-1.4 case audit of 40 files")
    ok("evidence", "add", "OF-01", "audit", "--file", str(tmp_path / "audit.pdf"), "--dated", YESTERDAY)
    refused("submit", "OF-01", actor="sec", fragment="matrix_covered: no evidence for matrix rows: policy")
    ok("evidence", "add", "OF-01", "policy", "--note", "Policy agreed by the executive group", "--dated", YESTERDAY)
    evidence = json.loads(ok("evidence", "list", "OF-01", "--json", actor=None))
    assert [(e["key"], e["kind"]) for e in evidence] == [("audit", "file"), ("policy", "note")]

    # Refusals: exit 3, state unchanged, one line on stderr naming the reason.
    refused("submit", "OF-01", actor="partner", fragment="needs the role secretary")
    refused("approve", "OF-01", "--meeting", TODAY, actor="chair", fragment="not allowed from proposed")
    assert state("OF-01") == "proposed"

    assert "now evidence_submitted" in ok("submit", "OF-01")
    refused("challenge", "OF-01", "--reason", "  ", actor="partner", code=2, fragment="reason is empty")
    assert state("OF-01") == "evidence_submitted"
    assert "now challenged" in ok("challenge", "OF-01", "--reason", "Sample too small", actor="partner")
    refused("resubmit", "OF-01", "--response", "Larger sample", actor="sec", fragment="evidence_since_challenge")
    ok("evidence", "add", "OF-01", "audit", "--note", "Second audit of 120 files", "--dated", TODAY)
    assert "now evidence_submitted" in ok("resubmit", "OF-01", "--response", "Sample tripled")
    refused("approve", "OF-01", "--meeting", TOMORROW, actor="chair", fragment="is in the future")
    refused("approve", "OF-01", "--meeting", TODAY, actor="sec", fragment="needs the role chair")
    assert state("OF-01") == "evidence_submitted"
    assert "now signed_off" in ok("approve", "OF-01", "--meeting", TODAY, actor="chair")
    assert state("OF-01") == "signed_off"

    detail = json.loads(ok("item", "show", "OF-01", "--json", actor=None))
    assert detail["state"] == "signed_off" and detail["rag"] == "green"
    assert len(detail["approvals"]) == 1 and detail["approvals"][0]["approved_by"] == "chair"
    assert [c["response"] for c in detail["challenges"]] == ["Sample tripled"]

    signed = json.loads(ok("item", "list", "--state", "signed_off", "--json", actor=None))
    assert [i["ref"] for i in signed] == ["OF-01"]
    proposed = json.loads(ok("item", "list", "--state", "proposed", "--json", actor=None))
    assert [i["ref"] for i in proposed] == ["OF-02"]
    assert "OF-01" not in ok("item", "list", "--state", "challenged", actor=None)

    history = json.loads(ok("history", "OF-01", "--json", actor=None))
    outcomes = [(h["event"], h["outcome"], h["actor"]) for h in history]
    assert ("submit", "refused", "partner") in outcomes
    assert ("approve", "applied", "chair") in outcomes
    applied = [
        (h["event"], h["from_state"], h["to_state"])
        for h in history
        if h["outcome"] == "applied" and h["event"] != "evidence.add"
    ]
    assert applied == [
        ("submit", "proposed", "evidence_submitted"),
        ("challenge", "evidence_submitted", "challenged"),
        ("resubmit", "challenged", "evidence_submitted"),
        ("approve", "evidence_submitted", "signed_off"),
    ]

    board = json.loads(ok("board", "--json", actor=None))
    assert board["by_state"] == {"signed_off": 1, "proposed": 1}
    assert {i["ref"] for i in board["items"]} == {"OF-01", "OF-02"}
    head = ok("audit", "head", actor=None).strip()
    assert board["audit_head"] == head

    # The refusals are in the exported audit log, in both formats.
    exported_csv = list(csv.DictReader(io.StringIO(ok("audit", "export", "--format", "csv", actor=None))))
    jsonl = [json.loads(line) for line in ok("audit", "export", "--format", "jsonl", actor=None).splitlines()]
    for records in (exported_csv, jsonl):
        assert len(records) == int(head.split(":")[0])
        refusals = [(r["actor"], r["event"], r["from_state"]) for r in records if r["outcome"] == "refused"]
        assert ("partner", "submit", "proposed") in refusals
        assert ("chair", "approve", "evidence_submitted") in refusals
        assert ("sec", "resubmit", "challenged") in refusals
    assert [r["hash"] for r in exported_csv] == [r["hash"] for r in jsonl]

    out = ok("audit", "verify", actor=None)
    assert "Audit chain intact" in out and head in out
    ok("audit", "export", "--format", "jsonl", "-o", str(tmp_path / "log.jsonl"), actor=None)
    assert "verify" in ok("audit", "verify-export", str(tmp_path / "log.jsonl"), actor=None)
    assert "match" in ok("evidence", "verify", actor=None)

    # Re-opening needs the chair.
    refused(
        "reopen", "OF-01", "--reason", "Inspection found gaps", "--meeting", TODAY, actor="partner",
        fragment="needs the role chair",
    )  # fmt: skip
    assert "now challenged" in ok(
        "reopen", "OF-01", "--reason", "Inspection found gaps", "--meeting", TODAY, actor="chair"
    )
    assert state("OF-01") == "challenged"


def test_a_measured_notice_item_needs_an_override(
    run_cli: Callable[..., Any], tmp_path: Path, backend_db: Path | str
) -> None:
    db = backend_db
    assert run_cli("init", "--secretary", "sec", db=db).code == 0
    assert run_cli("meeting", "add", TODAY, db=db, actor="sec").code == 0
    assert run_cli("user", "add", "chair", "--role", "chair", db=db, actor="sec").code == 0
    chair_key = f"{key_file(tmp_path / 'keys', 'chair')}.pub"
    assert run_cli("user", "key", "add", "chair", "--public-key", chair_key, db=db, actor="sec").code == 0
    later = days_ago(-20).isoformat()
    write_matrix(
        tmp_path / "m.csv", [("IN-02", "improvement-notice", "Adoption A2", later, "a2", "A2 scorecard", later)]
    )
    assert run_cli("matrix", "import", str(tmp_path / "m.csv"), db=db, actor="sec").code == 0
    r = run_cli(
        "evidence", "add", "IN-02", "a2", "--measure", "A2", "--value", "240", "--unit", "days",
        "--threshold", "213", "--direction", "at-most", "--dated", YESTERDAY, db=db, actor="sec",
    )  # fmt: skip
    assert r.code == 0, r.err
    assert run_cli("submit", "IN-02", db=db, actor="sec").code == 0
    r = run_cli("approve", "IN-02", "--meeting", TODAY, db=db, actor="chair")
    assert r.code == 3 and "A2 240 against at-most 213" in r.err and "Traceback" not in r.err
    r = run_cli("approve", "IN-02", "--meeting", TODAY, "--override-reason", "Trend improving", db=db, actor="chair")
    assert r.code == 0, r.err
