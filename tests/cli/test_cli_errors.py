"""Errors through the real CLI: the documented exit code, one line on stderr, never a traceback."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAIR, MEMBER, SECRETARY, days_ago, write_matrix

from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix

LATER = days_ago(-20).isoformat()


def one_line(r: Any, code: int, *fragments: str) -> str:
    assert r.code == code, (r.code, r.out, r.err)
    assert "Traceback" not in r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def counts(db: Path) -> tuple[int, ...]:
    with sqlite3.connect(db) as conn:
        return tuple(
            conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("items", "matrix_rows", "evidence", "audit")
        )


@pytest.fixture
def item(db_path: Path, tmp_path: Path) -> Path:
    rows = [("OF-01", "ofsted-recommendation", "Screen contacts", LATER, "audit", "Case audit", LATER)]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "seed.csv", rows))
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), note="audit")
    return db_path


@pytest.mark.parametrize(
    ("args", "actor", "fragment"),
    [
        (("item", "show", "NOPE"), None, "unknown item 'NOPE'"),
        (("history", "NOPE"), None, "unknown item 'NOPE'"),
        (("submit", "NOPE"), SECRETARY, "unknown item 'NOPE'"),
        (("submit", "OF-01"), "ghost", "unknown user 'ghost'"),
        (
            ("evidence", "add", "OF-01", "nokey", "--note", "x", "--dated", days_ago(1).isoformat()),
            SECRETARY,
            "no evidence matrix row 'nokey'",
        ),
        (
            (
                "evidence",
                "add",
                "OF-01",
                "audit",
                "--note",
                "x",
                "--dated",
                days_ago(1).isoformat(),
                "--supersedes",
                "999",
            ),
            SECRETARY,
            "no evidence record 999",
        ),
        (
            ("item", "add", "OF-09", "--kind", "no-such-flow", "--title", "x"),
            SECRETARY,
            "unknown workflow 'no-such-flow'",
        ),
    ],
)
def test_unknown_things_exit_4(
    run_cli: Callable[..., Any], item: Path, args: tuple[str, ...], actor: str | None, fragment: str
) -> None:
    before = counts(item)
    one_line(run_cli(*args, db=item, actor=actor), 4, fragment)
    after = counts(item)
    assert after[:-1] == before[:-1]
    if actor is None:
        assert after[-1] == before[-1]  # a read: nothing attempted
    else:
        assert after[-1] == before[-1] + 1  # the refused attempt is on the record


@pytest.mark.parametrize(
    ("args", "actor", "fragment"),
    [
        (("challenge", "OF-01", "--reason", ""), MEMBER, "reason is empty"),
        (("reopen", "OF-01", "--reason", "   ", "--meeting", days_ago(0).isoformat()), CHAIR, "reason is empty"),
        (("resubmit", "OF-01", "--response", ""), SECRETARY, "response is empty"),
        (("submit", "OF-01"), None, "say who you are"),
        (("evidence", "add", "OF-01", "audit", "--dated", days_ago(1).isoformat()), SECRETARY, "exactly one of"),
        (("submit", "bad ref!"), SECRETARY, "item ref 'bad ref!' is not allowed"),
        (("matrix", "import", "missing.csv"), SECRETARY, "does not exist"),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(
    run_cli: Callable[..., Any], item: Path, args: tuple[str, ...], actor: str | None, fragment: str
) -> None:
    before = counts(item)
    one_line(run_cli(*args, db=item, actor=actor), 2, fragment)
    assert counts(item) == before


@pytest.mark.parametrize(
    "args",
    [
        ("approve", "OF-01", "--meeting", "30/09/2013"),
        ("approve", "OF-01", "--meeting", "2013-02-30"),
        ("evidence", "add", "OF-01", "audit", "--note", "x", "--dated", "yesterday"),
        ("audit", "export", "--since", "2013-13-01"),
    ],
)
def test_bad_dates_exit_2_naming_the_form(run_cli: Callable[..., Any], item: Path, args: tuple[str, ...]) -> None:
    before = counts(item)
    r = run_cli(*args, db=item, actor=CHAIR if args[0] == "approve" else SECRETARY)
    assert r.code == 2 and "Traceback" not in r.err
    assert "YYYY-MM-DD" in r.err
    assert counts(item) == before


def test_a_bad_date_is_reported_in_one_line(run_cli: Callable[..., Any], item: Path) -> None:
    one_line(run_cli("approve", "OF-01", "--meeting", "30/09/2013", db=item, actor=CHAIR), 2, "YYYY-MM-DD")


def test_refusals_exit_3_with_state_unchanged_and_audited(run_cli: Callable[..., Any], item: Path) -> None:
    before = counts(item)
    one_line(
        run_cli("approve", "OF-01", "--meeting", days_ago(0).isoformat(), db=item, actor=CHAIR), 3, "state: approve"
    )
    one_line(run_cli("submit", "OF-01", db=item, actor=MEMBER), 3, "permission: submit needs the role secretary")
    one_line(
        run_cli(
            "evidence", "add", "OF-01", "audit", "--note", "x", "--dated", days_ago(1).isoformat(), db=item, actor=CHAIR
        ),
        3,
        "needs the role secretary",
    )
    after = counts(item)
    assert after[:-1] == before[:-1] and after[-1] == before[-1] + 3
    shown = json.loads(run_cli("item", "show", "OF-01", "--json", db=item).out)
    assert shown["state"] == "proposed" and shown["version"] == 1


def test_a_stale_or_missing_register_is_one_clear_line(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    one_line(run_cli("board", db=tmp_path / "nowhere.db"), 1, "no register at")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    r = run_cli("board", db=junk)
    assert r.code == 1 and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1


def _row(ref: str = "OF-05", key: str = "audit", **kw: str) -> tuple[str, ...]:
    values = {
        "item_kind": "ofsted-recommendation",
        "item_title": f"Title {ref}",
        "item_due": LATER,
        "present_by": LATER,
    }
    values.update(kw)
    return (
        ref,
        values["item_kind"],
        values["item_title"],
        values["item_due"],
        key,
        f"{key} evidence",
        values["present_by"],
    )


@pytest.mark.parametrize(
    ("what", "rows", "header", "fragments"),
    [
        ("duplicate key", [_row(), _row("OF-06"), _row()], None, ["line 4", "appears twice"]),
        (
            "conflicting titles",
            [_row(), _row(key="policy", item_title="Other")],
            None,
            ["line 3", "item_title conflicts"],
        ),
        ("unknown kind", [_row(), _row("OF-06", item_kind="ofsted")], None, ["line 3", "item_kind 'ofsted'"]),
        (
            "bad date",
            [_row(present_by="31/12/2013"), _row("OF-06"), _row("OF-07", item_due="soon")],
            None,
            ["line 2", "line 4", "2 bad row(s)"],
        ),
        (
            "missing column",
            [_row()[:-1]],
            tuple(
                c for c in ("item_ref", "item_kind", "item_title", "item_due", "evidence_key", "evidence_description")
            ),
            ["missing column(s) present_by"],
        ),
    ],
)
def test_matrix_import_rejects_the_whole_file_with_exit_2(
    run_cli: Callable[..., Any],
    item: Path,
    tmp_path: Path,
    what: str,
    rows: list[tuple[str, ...]],
    header: tuple[str, ...] | None,
    fragments: list[str],
) -> None:
    path = write_matrix(tmp_path / "bad.csv", rows, header)
    before = counts(item)
    r = run_cli("matrix", "import", str(path), db=item, actor=SECRETARY)
    assert r.code == 2 and "Traceback" not in r.err, r.err
    lines = r.err.strip().splitlines()
    assert lines[0].startswith("signoff: ")
    # One sentence, then one line per bad row, each starting with its line number.
    assert all(line.startswith("line ") for line in lines[1:]), lines
    for fragment in fragments:
        assert fragment in r.err, (fragment, r.err)
    assert counts(item) == before


def test_matrix_import_accepts_excel_bom_and_crlf(run_cli: Callable[..., Any], item: Path, tmp_path: Path) -> None:
    header = "item_ref,item_kind,item_title,item_due,evidence_key,evidence_description,present_by"
    lines = [header, ",".join(_row("OF-05")), ",".join(_row("OF-05", "policy")), ",".join(_row("OF-06"))]
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
    r = run_cli("matrix", "import", str(path), db=item, actor=SECRETARY)
    assert r.code == 0, r.err
    assert "2 new item(s)" in r.out and "3 new matrix row(s)" in r.out
    listed = json.loads(run_cli("item", "list", "--json", db=item).out)
    assert {i["ref"] for i in listed} == {"OF-01", "OF-05", "OF-06"}
