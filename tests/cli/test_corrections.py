"""The board's corrections through the real CLI, as a secretary, a chair and members would make them:
evidence withdrawn, items and matrix rows edited, roles changed, a user deactivated, several challengers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import days_ago, write_matrix
from signing import key_file

TODAY = days_ago(0).isoformat()
LATER = days_ago(-20).isoformat()


@pytest.fixture
def cli(run_cli: Callable[..., Any], tmp_path: Path) -> Any:
    db = tmp_path / "register.db"

    class Cli:
        def ok(self, *args: str, actor: str | None = "sec") -> str:
            r = run_cli(*args, db=db, actor=actor)
            assert r.code == 0, (args, r.err)
            return str(r.out)

        def refused(self, *args: str, actor: str = "sec", code: int = 3, fragment: str = "") -> str:
            r = run_cli(*args, db=db, actor=actor)
            assert r.code == code, (args, r.code, r.out, r.err)
            lines = r.err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("signoff: ") and "Traceback" not in r.err, r.err
            assert fragment in lines[0], lines[0]
            return str(lines[0])

        def show(self, ref: str) -> dict[str, Any]:
            return dict(json.loads(self.ok("item", "show", ref, "--json", actor=None)))

        def history(self, ref: str) -> list[dict[str, Any]]:
            return list(json.loads(self.ok("history", ref, "--json", actor=None)))

    c = Cli()
    c.ok("init", "--secretary", "sec", actor=None)
    c.ok("meeting", "add", TODAY)
    c.ok("user", "add", "chair", "--role", "chair")
    c.ok("user", "add", "partner", "--role", "member")
    c.ok("user", "add", "police", "--role", "member")
    c.ok("user", "add", "deputy", "--role", "secretary")
    for name in ("chair", "deputy"):  # the keys their decisions are signed with (run_cli passes SIGNOFF_KEY)
        c.ok("user", "key", "add", name, "--public-key", str(key_file(tmp_path / "keys", name)) + ".pub")
    rows = [
        ("OF-01", "ofsted-recommendation", "Screen contacts", LATER, "audit", "Case audit", LATER),
        ("OF-01", "ofsted-recommendation", "Screen contacts", LATER, "data", "Contact data", LATER),
        ("OF-01", "ofsted-recommendation", "Screen contacts", LATER, "spare", "Spare row", LATER),
    ]
    c.matrix = write_matrix(tmp_path / "matrix.csv", rows)  # type: ignore[attr-defined]
    c.ok("matrix", "import", str(c.matrix))  # type: ignore[attr-defined]
    return c


def test_withdrawn_evidence_stops_counting_and_its_withdrawer_may_not_approve(cli: Any) -> None:
    cli.ok("matrix", "remove", "OF-01", "spare", "--reason", "Duplicate of audit")
    cli.ok("evidence", "add", "OF-01", "audit", "--note", "48 of 50 screened", "--dated", TODAY)
    cli.ok("evidence", "add", "OF-01", "data", "--note", "Figures for the wrong council", "--dated", TODAY)
    cli.ok("submit", "OF-01")
    wrong = next(e["id"] for e in cli.show("OF-01")["evidence"] if e["key"] == "data")
    cli.refused("evidence", "withdraw", str(wrong), "--reason", "  ", code=2, fragment="reason is empty")
    cli.refused("evidence", "withdraw", str(wrong), "--reason", "x", actor="partner", fragment="needs the role")
    cli.ok("evidence", "withdraw", str(wrong), "--reason", "Another council's figures", actor="deputy")
    cli.refused("evidence", "withdraw", str(wrong), "--reason", "again", code=2, fragment="already withdrawn")

    shown = cli.show("OF-01")
    assert {m["key"]: m["covered"] for m in shown["matrix"]} == {"audit": True, "data": False}
    gone = next(e for e in shown["evidence"] if e["id"] == wrong)
    assert (
        gone["withdrawn"]
        and gone["withdrawn_by"] == "deputy"
        and gone["withdrawn_reason"] == "Another council's figures"
    )
    listed = cli.ok("evidence", "list", "OF-01", actor=None)
    assert "Another council's figures" in listed
    assert "~~Figures for the wrong council~~" in cli.ok("item", "show", "OF-01", actor=None)
    pack = cli.ok("report", "--meeting", TODAY, "--format", "md", actor=None)
    assert "~~Figures for the wrong council~~ (withdrawn by deputy: Another council's figures)" in pack

    # The bundle the board was given changed: approval waits for amend, which needs the row covered again.
    cli.refused("approve", "OF-01", "--meeting", TODAY, actor="chair", fragment="bundle_unchanged")
    cli.refused("amend", "OF-01", fragment="matrix_covered")
    cli.ok("evidence", "add", "OF-01", "data", "--note", "Our figures", "--dated", TODAY)
    cli.ok("amend", "OF-01")
    # Whoever withdrew evidence of the item may not sign it off, whatever roles they gain.
    cli.ok("user", "role", "deputy", "--add", "chair", "--reason", "Acting chair in June")
    cli.refused("approve", "OF-01", "--meeting", TODAY, actor="deputy", fragment="withdrew evidence of")
    cli.ok("approve", "OF-01", "--meeting", TODAY, actor="chair")
    cli.refused("evidence", "withdraw", str(wrong + 1), "--reason", "late", fragment="reopen it")
    assert "Audit chain intact" in cli.ok("audit", "verify", actor=None)
    assert cli.ok("db", "check", actor=None)


def test_edits_keep_the_old_value_and_the_original_matrix_reimports_quietly(cli: Any) -> None:
    cli.refused("item", "edit", "OF-01", "--reason", "nothing", code=2, fragment="--title")
    cli.ok(
        "item",
        "edit",
        "OF-01",
        "--title",
        "Screen every contact within a day",
        "--owner",
        "Head of MASH",
        "--reason",
        "Wording agreed with Ofsted",
    )
    cli.ok("item", "reschedule", "OF-01", "--due", days_ago(-40).isoformat(), "--reason", "Board moved")
    cli.ok(
        "matrix", "reschedule", "OF-01", "audit", "--present-by", days_ago(-30).isoformat(), "--reason", "Auditor ill"
    )
    cli.ok("matrix", "add", "OF-01", "trend", "--description", "Three months of data", "--present-by", LATER)
    cli.refused(
        "matrix",
        "add",
        "OF-01",
        "trend",
        "--description",
        "x",
        "--present-by",
        LATER,
        code=2,
        fragment="already has a matrix row",
    )
    cli.ok("evidence", "add", "OF-01", "trend", "--note", "Trend chart", "--dated", TODAY)
    cli.refused("matrix", "remove", "OF-01", "trend", "--reason", "x", fragment="has evidence")
    cli.ok("matrix", "remove", "OF-01", "spare", "--reason", "Duplicate of audit")
    shown = cli.show("OF-01")
    assert (shown["title"], shown["owner"]) == ("Screen every contact within a day", "Head of MASH")
    assert {m["key"]: m["present_by"] for m in shown["matrix"]} == {
        "audit": days_ago(-30).isoformat(),
        "data": LATER,
        "trend": LATER,
    }
    assert [(c["field"], c["from_value"], c["reason"]) for c in shown["changes"]] == [
        ("title", "Screen contacts", "Wording agreed with Ofsted"),
        ("owner", None, "Wording agreed with Ofsted"),
        ("present_by", LATER, "Auditor ill"),
        ("row", None, None),
        ("row", "Spare row", "Duplicate of audit"),
    ]
    text = cli.ok("item", "show", "OF-01", actor=None)
    assert "title changed from Screen contacts to Screen every contact within a day by sec" in text
    # The secretary re-imports the matrix as first sent: no nag, no clash, the removed row stays removed.
    again = cli.ok("matrix", "import", str(cli.matrix))
    assert "different title or due date" not in again and "1 row(s) of the file were removed" in again
    assert "spare" not in {m["key"] for m in cli.show("OF-01")["matrix"]}
    events = [r["event"] for r in cli.history("OF-01") if r["outcome"] == "applied"]
    assert {"item.edit", "matrix.reschedule", "matrix.add", "matrix.remove"} <= set(events)
    assert "Audit chain intact" in cli.ok("audit", "verify", actor=None)


def test_a_deactivated_user_can_do_nothing_and_their_history_stays(cli: Any) -> None:
    cli.ok("evidence", "add", "OF-01", "audit", "--note", "Audit", "--dated", TODAY)
    cli.ok("evidence", "add", "OF-01", "data", "--note", "Data", "--dated", TODAY)
    cli.ok("evidence", "add", "OF-01", "spare", "--note", "Spare", "--dated", TODAY)
    cli.ok("submit", "OF-01")
    cli.ok("challenge", "OF-01", "--reason", "Show the trend", actor="police")
    cli.refused("user", "deactivate", "police", "--reason", "x", actor="partner", fragment="needs the role")
    cli.ok("user", "deactivate", "police", "--reason", "Left the partnership")
    cli.refused("challenge", "OF-01", "--reason", "Still weak", actor="police", fragment="deactivated")
    refused = [r for r in cli.history("OF-01") if r["outcome"] == "refused"]
    assert refused[-1]["actor"] == "police" and "deactivated" in refused[-1]["detail"]
    assert cli.show("OF-01")["challenges"][0]["raised_by"] == "police"  # their history stays
    users = {u["name"]: u for u in json.loads(cli.ok("user", "list", "--json", actor=None))}
    assert users["police"]["deactivated_at"] is not None and users["partner"]["deactivated_at"] is None
    cli.refused("user", "add", "Police", "--role", "member", code=2, fragment="look like")
    cli.refused("user", "role", "sec", "--remove", "secretary", "--reason", "x", code=2, fragment="only role")
    cli.ok("user", "deactivate", "deputy", "--reason", "Left")
    cli.refused("user", "deactivate", "sec", "--reason", "x", fragment="only active secretary")
    assert "Audit chain intact" in cli.ok("audit", "verify", actor=None)


def test_several_members_challenge_and_resubmit_answers_each(cli: Any) -> None:
    for key in ("audit", "data", "spare"):
        cli.ok("evidence", "add", "OF-01", key, "--note", key, "--dated", TODAY)
    cli.ok("submit", "OF-01")
    cli.ok("challenge", "OF-01", "--reason", "Show the trend", actor="police")
    cli.ok("challenge", "OF-01", "--reason", "Who audited?", actor="partner")
    cli.ok("challenge", "OF-01", "--reason", "Sample too small", actor="chair")
    challenges = cli.show("OF-01")["challenges"]
    assert [(c["raised_by"], c["answered_at"]) for c in challenges] == [
        ("police", None),
        ("partner", None),
        ("chair", None),
    ]
    first, second, third = (c["id"] for c in challenges)
    assert "challenge 2: challenge by partner" in cli.ok("item", "show", "OF-01", actor=None)
    cli.ok("evidence", "add", "OF-01", "data", "--note", "Trend and sample", "--dated", TODAY)
    cli.refused("resubmit", "OF-01", code=2, fragment="--response-to")
    cli.refused(
        "resubmit", "OF-01", "--response-to", f"{first}=Trend added", fragment=f"unanswered: {second} (by partner)"
    )
    cli.refused(
        "resubmit", "OF-01", "--response-to", "99=x", "--response", "All", fragment="no open challenge has the id 99"
    )
    cli.ok(
        "resubmit",
        "OF-01",
        "--response-to",
        f"{first}=Trend added",
        "--response-to",
        f"{second}=The principal social worker",
        "--response",
        "Sample doubled",
    )
    answered = cli.show("OF-01")["challenges"]
    assert [(c["answered_by"], c["response"]) for c in answered] == [
        ("sec", "Trend added"),
        ("sec", "The principal social worker"),
        ("sec", "Sample doubled"),
    ]
    assert third == answered[2]["id"]
    cli.ok("approve", "OF-01", "--meeting", TODAY, actor="chair")
    assert "Audit chain intact" in cli.ok("audit", "verify", actor=None)


def test_a_row_added_or_moved_must_be_presented_before_its_item_is_due(cli: Any) -> None:
    """As a matrix import refuses it: evidence due after its item is due is exit 2, with the fix."""
    after_due = days_ago(-40).isoformat()  # the item is due in 20 days
    for args in (
        ("matrix", "add", "OF-01", "late", "--description", "Late paper", "--present-by", after_due),
        ("matrix", "reschedule", "OF-01", "audit", "--present-by", after_due, "--reason", "Slipped"),
    ):
        line = cli.refused(*args, code=2, fragment="after OF-01's due date")
        assert "signoff item reschedule" in line
    cli.ok("matrix", "reschedule", "OF-01", "audit", "--present-by", days_ago(-10).isoformat(), "--reason", "Earlier")
