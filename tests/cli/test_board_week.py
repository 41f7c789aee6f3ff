"""The board's working week, end to end through the real CLI on a real register: meetings cancelled
and moved, decisions bound to held meetings, what is waiting for whom, the minutes of a meeting,
changes since a date, and a board pack that tells the story."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import days_ago, write_matrix
from signing import key_file

from signoff.domain.matrix import REQUIRED_COLUMNS

TODAY = days_ago(0).isoformat()
LAST_WEEK = days_ago(7).isoformat()
NEXT_MONTH = days_ago(-28).isoformat()


@pytest.fixture(scope="module")
def _board_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The register behind ``board``, built once per test process by the real CLI (nine commands,
    each checked) and copied for each test: a secretary, chair, member and owner-user, two items,
    and meetings a week ago, today and next month."""
    folder = tmp_path_factory.mktemp("board-week")
    db = folder / "reg.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}

    def ok(*args: str, actor: str | None = "sec") -> None:
        cmd = [sys.executable, "-m", "signoff", "--db", str(db), *(["--as", actor] if actor else []), *args]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=folder, timeout=120)
        assert r.returncode == 0, (args, r.stderr)

    ok("init", "--secretary", "sec", actor=None)
    ok("user", "add", "chair", "--role", "chair")
    ok("user", "key", "add", "chair", "--public-key", str(key_file(folder / "keys", "chair")) + ".pub")
    ok("user", "add", "member", "--role", "member")
    ok("user", "add", "dcs", "--role", "member")
    soon = days_ago(-5).isoformat()
    write_matrix(
        folder / "m.csv",
        [
            ("OF-01", "ofsted-recommendation", "Screen every contact", NEXT_MONTH, "audit", "Case-file audit", soon),
            ("OF-02", "ofsted-recommendation", "Reduce caseloads", NEXT_MONTH, "data", "Caseload data", LAST_WEEK),
        ],
    )
    ok("matrix", "import", str(folder / "m.csv"))
    for day in (LAST_WEEK, TODAY, NEXT_MONTH):
        ok("meeting", "add", day, "--note", "Improvement Board")
    return folder


@pytest.fixture
def board(_board_template: Path, run_cli: Callable[..., Any], tmp_path: Path) -> Callable[..., Any]:
    """A copy of ``_board_template`` (register, evidence store and keys) in this test's folder.
    Returns ``ok(*args, actor=...)`` that asserts exit 0."""
    shutil.copytree(_board_template, tmp_path, dirs_exist_ok=True)
    db = tmp_path / "reg.db"

    def ok(*args: str, actor: str | None = "sec") -> str:
        r = run_cli(*args, db=db, actor=actor)
        assert r.code == 0, (args, r.err)
        return r.out

    ok.db = db  # type: ignore[attr-defined]
    return ok


def test_a_meeting_is_cancelled_or_moved_with_a_reason_and_the_chain_rebuilds_it(
    board: Callable[..., Any], run_cli: Callable[..., Any]
) -> None:
    ok, db = board, board.db  # type: ignore[attr-defined]
    later = days_ago(-35).isoformat()
    assert "moved to" in ok("meeting", "move", NEXT_MONTH, "--to", later, "--reason", "Room double-booked")
    assert "cancelled" in ok("meeting", "cancel", later, "--reason", "Snow")
    listed = {m["date"]: m for m in json.loads(ok("meeting", "list", "--json"))}
    assert listed[NEXT_MONTH]["moved_to"] == later and listed[NEXT_MONTH]["cancel_reason"] == "Room double-booked"
    assert listed[later]["cancelled_by"] == "sec" and listed[later]["cancel_reason"] == "Snow"
    assert "every record legal" in ok("audit", "verify")
    history = ok("changes", "--since", TODAY)
    assert f"moved the board meeting on {NEXT_MONTH} to {later}: Room double-booked" in history
    assert f"cancelled the board meeting on {later}: Snow" in history
    # A member may not, an unknown date is exit 4 naming the nearest, a second cancel is exit 2.
    r = run_cli("meeting", "cancel", TODAY, "--reason", "x", db=db, actor="member")
    assert r.code == 3 and "needs the role secretary" in r.err
    r = run_cli("meeting", "cancel", days_ago(1).isoformat(), "--reason", "x", db=db, actor="sec")
    assert r.code == 4 and f"the nearest are {LAST_WEEK} and {TODAY}" in r.err
    r = run_cli("meeting", "cancel", later, "--reason", "x", db=db, actor="sec")
    assert r.code == 2 and "already cancelled" in r.err and "Traceback" not in r.err
    r = run_cli("meeting", "move", TODAY, "--to", LAST_WEEK, "--reason", "x", db=db, actor="sec")
    assert r.code == 2 and "already a meeting" in r.err


def test_decisions_belong_to_a_held_meeting_on_the_calendar(
    board: Callable[..., Any], run_cli: Callable[..., Any]
) -> None:
    ok, db = board, board.db  # type: ignore[attr-defined]
    ok("evidence", "add", "OF-01", "audit", "--note", "48 of 50 screened", "--dated", TODAY)
    ok("submit", "OF-01")
    not_on = days_ago(3).isoformat()
    r = run_cli("approve", "OF-01", "--meeting", not_on, db=db, actor="chair")
    assert r.code == 3 and "meeting_on_calendar" in r.err and f"nearest are {LAST_WEEK} and {TODAY}" in r.err
    r = run_cli("approve", "OF-01", "--meeting", NEXT_MONTH, db=db, actor="chair")
    assert r.code == 3 and "is in the future" in r.err and "meeting_on_calendar" not in r.err
    ok("meeting", "cancel", LAST_WEEK, "--reason", "Quorum not met")
    r = run_cli("approve", "OF-01", "--meeting", LAST_WEEK, db=db, actor="chair")
    assert r.code == 3 and f"the meeting on {LAST_WEEK} was cancelled" in r.err
    ok("approve", "OF-01", "--meeting", TODAY, actor="chair")
    # A meeting that decided cannot be cancelled or moved; reopen names a held meeting too.
    r = run_cli("meeting", "cancel", TODAY, "--reason", "x", db=db, actor="sec")
    assert r.code == 2 and "already decided" in r.err and "OF-01" in r.err
    r = run_cli("reopen", "OF-01", "--reason", "Inspection found gaps", "--meeting", not_on, db=db, actor="chair")
    assert r.code == 3 and "meeting_on_calendar" in r.err
    ok("reopen", "OF-01", "--reason", "Inspection found gaps", "--meeting", TODAY, actor="chair")
    # The pack is for a meeting on the calendar only.
    r = run_cli("report", "--meeting", not_on, db=db)
    assert r.code == 4 and "is on the calendar" in r.err
    r = run_cli("report", "--meeting", LAST_WEEK, db=db)
    assert r.code == 4 and "was cancelled" in r.err
    history = json.loads(ok("history", "OF-01", "--json"))
    refused = [h for h in history if h["outcome"] == "refused" and h["event"] == "approve"]
    assert len(refused) == 3
    assert "every record legal" in ok("audit", "verify")


def test_todo_shows_each_person_what_waits_for_them(board: Callable[..., Any]) -> None:
    ok = board
    ok("item", "add", "IN-01", "--kind", "improvement-notice", "--title", "Plan agreed", "--owner", "DCS")
    ok("evidence", "add", "OF-01", "audit", "--note", "48 of 50 screened", "--dated", TODAY)

    def todo(actor: str, *extra: str) -> dict[str, Any]:
        return json.loads(ok("todo", "--json", *extra, actor=actor))

    sec = todo("sec")["sections"]
    assert [i["ref"] for i in sec["submit"]] == ["OF-01"]
    ok("submit", "OF-01")
    chair = todo("chair")
    assert [i["ref"] for i in chair["sections"]["decide"]] == ["OF-01"] and chair["next_meeting"] == TODAY
    assert [i["ref"] for i in todo("member")["sections"]["challenge"]] == ["OF-01"]
    ok("challenge", "OF-01", "--reason", "Show the sample", actor="member")
    sec = todo("sec")["sections"]
    assert [(i["ref"], i["challenge"]["reason"]) for i in sec["answer"]] == [("OF-01", "Show the sample")]
    assert todo("chair")["sections"]["decide"] == []
    ok("evidence", "add", "OF-01", "audit", "--note", "Sample of 50 attached", "--dated", TODAY)
    ok("resubmit", "OF-01", "--response", "Sample attached")
    ok("evidence", "add", "OF-01", "audit", "--note", "Sample of 60", "--dated", TODAY)
    assert [i["ref"] for i in todo("sec")["sections"]["amend"]] == ["OF-01"]
    # Owners: "DCS" typed for an item is user dcs; matrix rows owned by free text "Dcs" are theirs too.
    assert json.loads(ok("item", "list", "--owner", "dcs", "--json"))[0]["owner"] == "dcs"
    sheet = Path(str(board.db)).parent / "owned.csv"  # type: ignore[attr-defined]
    rows = [
        (
            "OF-03",
            "ofsted-recommendation",
            "Advocacy",
            NEXT_MONTH,
            "late",
            "Late paper",
            days_ago(2).isoformat(),
            "Dcs",
        ),
        (
            "OF-03",
            "ofsted-recommendation",
            "Advocacy",
            NEXT_MONTH,
            "soon",
            "Soon paper",
            days_ago(-3).isoformat(),
            "Dcs",
        ),
        (
            "OF-03",
            "ofsted-recommendation",
            "Advocacy",
            NEXT_MONTH,
            "far",
            "Far paper",
            days_ago(-20).isoformat(),
            "Dcs",
        ),
        ("OF-03", "ofsted-recommendation", "Advocacy", NEXT_MONTH, "else", "Not theirs", days_ago(2).isoformat(), "HR"),
    ]
    write_matrix(sheet, rows, header=(*REQUIRED_COLUMNS, "evidence_owner"))
    ok("matrix", "import", str(sheet))
    due = todo("dcs", "--as-of", TODAY)["sections"]["evidence_due"]
    assert [(d["key"], d["overdue"]) for d in due] == [("late", True), ("soon", False)]
    assert [d["key"] for d in todo("dcs", "--within", "60")["sections"]["evidence_due"]] == ["late", "soon", "far"]
    assert "Nothing is waiting for chair" in ok("todo", actor="chair")


def test_item_list_filters_by_owner_rag_and_due_date(board: Callable[..., Any], run_cli: Callable[..., Any]) -> None:
    ok = board
    ok("item", "add", "IN-01", "--kind", "improvement-notice", "--title", "Plan", "--owner", "Head of ICT",
       "--due", days_ago(-3).isoformat())  # fmt: skip
    assert [i["ref"] for i in json.loads(ok("item", "list", "--owner", "head of ict", "--json"))] == ["IN-01"]
    red = [i["ref"] for i in json.loads(ok("item", "list", "--rag", "red", "--json"))]
    assert red == ["OF-02"]  # its evidence was due last week
    soon = [i["ref"] for i in json.loads(ok("item", "list", "--due-before", days_ago(-10).isoformat(), "--json"))]
    assert soon == ["IN-01"]
    r = run_cli("item", "list", "--rag", "purple", db=board.db)  # type: ignore[attr-defined]
    assert r.code == 2


def test_meeting_show_is_the_decision_log_for_the_minutes(
    board: Callable[..., Any], run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    ok, db = board, board.db  # type: ignore[attr-defined]
    ok("evidence", "add", "OF-01", "audit", "--note", "48 of 50 screened", "--dated", TODAY)
    ok("submit", "OF-01")
    ok("approve", "OF-01", "--meeting", TODAY, actor="chair")
    ok("evidence", "add", "OF-02", "data", "--note", "Caseload 22", "--dated", TODAY)
    ok("submit", "OF-02")
    ok("challenge", "OF-02", "--reason", "Show the trend", actor="member")
    ok("item", "reschedule", "OF-02", "--due", days_ago(-60).isoformat(), "--reason", "Data team capacity")
    log = json.loads(ok("meeting", "show", TODAY, "--json"))
    assert [c["item_ref"] for c in log["sign_offs"]] == ["OF-01"]
    assert [c["text"] for c in log["challenges"]] == ["member challenged OF-02: Show the trend"]
    assert "Data team capacity" in log["reschedules"][0]["text"]
    head = ok("audit", "head").strip()
    assert log["audit_head"] == head
    ok("meeting", "show", TODAY, "-o", str(tmp_path / "minutes.md"))
    md = (tmp_path / "minutes.md").read_text(encoding="utf-8")
    assert "chair signed off OF-01 at the meeting of" in md and head in md and "No item was re-opened." in md
    ok("meeting", "show", TODAY, "-o", str(tmp_path / "minutes.html"))
    assert "<h2>Signed off</h2>" in (tmp_path / "minutes.html").read_text(encoding="utf-8")
    r = run_cli("meeting", "show", TODAY, "-o", str(tmp_path / "minutes.pdf"), db=db)
    assert r.code == 2 and not (tmp_path / "minutes.pdf").exists()
    r = run_cli("meeting", "show", days_ago(2).isoformat(), db=db)
    assert r.code == 4 and "nearest" in r.err


def test_the_pack_lists_every_applied_change_and_counts_refusals_apart(
    board: Callable[..., Any], run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    ok, db = board, board.db  # type: ignore[attr-defined]
    ok("evidence", "add", "OF-01", "audit", "--note", "48 of 50 screened", "--dated", TODAY)
    ok("item", "reschedule", "OF-02", "--due", days_ago(-60).isoformat(), "--reason", "Data team capacity")
    run_cli("submit", "OF-02", db=db, actor="sec")  # refused: no evidence for its row
    run_cli("submit", "OF-3", db=db, actor="sec")  # a typo: no such item
    run_cli("submit", "OF-01", db=db, actor="nobody")  # no such user
    ok("submit", "OF-01")
    for fmt in ("md", "html"):
        out = tmp_path / f"pack.{fmt}"
        ok("report", "--meeting", TODAY, "--format", fmt, "-o", str(out))
        text = out.read_text(encoding="utf-8")
        assert "added evidence #1 to OF-01 audit" in text
        assert "Data team capacity" in text
        assert "put OF-01 to the board" in text
        assert "None → None" not in text and "(None" not in text
        appendix = text[text.index("refused attempts") :]
        assert "matrix_covered" in appendix and "OF-3" not in text and "nobody" not in text
        assert "Nothing overdue" in text or "ays late" in text


def test_an_empty_pack_has_no_empty_section(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    db = tmp_path / "reg.db"
    assert run_cli("init", "--secretary", "sec", db=db).code == 0
    assert run_cli("meeting", "add", TODAY, db=db, actor="sec").code == 0
    md = run_cli("report", "--meeting", TODAY, "--format", "md", db=db).out
    sections = md.split("\n## ")[1:]
    for section in sections:
        body = section.split("\n", 1)[1].strip()
        assert body, f"section {section.splitlines()[0]!r} is empty"
    assert "Nothing overdue." in md and "No attempt was refused." in md


def test_dates_are_strict(run_cli: Callable[..., Any], board: Callable[..., Any]) -> None:
    r = run_cli("changes", "--since", "2026-13-01", db=board.db)  # type: ignore[attr-defined]
    assert r.code == 2 and dt.date.today().isoformat() not in r.err
