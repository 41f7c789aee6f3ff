"""Every threshold and date comparison at its boundary: a value equal to the threshold (a date equal to
the limit) is on the passing side, the next value beyond it is not. Each assertion here fails if its
comparison is turned from ``<=`` into ``<`` (or ``>=`` into ``>``) or the other way round.

Dates are the board's local days (conftest.BOARD_ZONES): every test runs in two zones."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY, days_ago, write_matrix

from signoff.errors import BadInput
from signoff.services.evidence import MeasureInput, add_evidence
from signoff.services.matrix import import_matrix

pytestmark = pytest.mark.usefixtures("board_tz")

# (ref, value, threshold, direction, met)
MEASURES = [
    ("AT-MOST-EQUAL", 639.0, 639.0, "at-most", True),
    ("AT-MOST-OVER", 639.5, 639.0, "at-most", False),
    ("AT-LEAST-EQUAL", 75.0, 75.0, "at-least", True),
    ("AT-LEAST-UNDER", 74.5, 75.0, "at-least", False),
]


def _import(db: Path, tmp_path: Path, rows: list[tuple[str, str, str]], name: str = "matrix.csv") -> None:
    """Rows of (ref, item_due, present_by), one evidence key 'k' each."""
    matrix = [(ref, "ofsted-recommendation", f"Title of {ref}", due, "k", "k evidence", by) for ref, due, by in rows]
    import_matrix(db, SECRETARY, write_matrix(tmp_path / name, matrix))


def _json(run_cli: Callable[..., Any], db: Path, *args: str) -> Any:
    r = run_cli(*args, "--json", db=db)
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_a_measure_equal_to_its_threshold_meets_it_in_every_direction(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    later = days_ago(-30).isoformat()
    _import(db_path, tmp_path, [(ref, "", later) for ref, *_ in MEASURES] + [("FLAT", "", later)])
    for ref, value, threshold, direction, _ in MEASURES:
        m = MeasureInput("A1", value, "days", "2013-14", threshold, direction)
        add_evidence(db_path, SECRETARY, ref, "k", days_ago(1), measure=m)
    for period in ("2012-13", "2013-14"):  # the same value twice: a flat trend, neither better nor worse
        for name, direction in (("A2", "at-most"), ("A3", "at-least")):
            m = MeasureInput(name, 640.0, "days", period, 639.0, direction)
            add_evidence(db_path, SECRETARY, "FLAT", "k", days_ago(1), measure=m)

    board = {i["ref"]: i for i in _json(run_cli, db_path, "board")["items"]}
    tracker = {(m["item"], m["measure"]): m for m in _json(run_cli, db_path, "measures")}
    for ref, _, _, _, met in MEASURES:
        missing = "1 measure(s) missing their threshold" in board[ref]["rag_reasons"]
        assert (board[ref]["measures_missed"], missing) == (0 if met else 1, not met), ref
        assert board[ref]["rag"] == ("green" if met else "red"), ref
        assert tracker[(ref, "A1")]["met"] is met, ref
    assert tracker[("FLAT", "A2")]["trend_direction"] == "flat"
    assert tracker[("FLAT", "A2")]["met"] is False
    assert tracker[("FLAT", "A3")]["trend_direction"] == "flat"


def test_due_and_present_by_dates_are_late_only_from_the_next_day(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    today, yesterday = days_ago(0).isoformat(), days_ago(1).isoformat()
    amber_edge, beyond = days_ago(-14).isoformat(), days_ago(-15).isoformat()
    _import(
        db_path,
        tmp_path,
        [
            ("DUE-TODAY", today, today),
            ("DUE-YESTERDAY", yesterday, yesterday),
            ("BY-AMBER-EDGE", "", amber_edge),
            ("BY-BEYOND", "", beyond),
        ],
    )
    board = {i["ref"]: i for i in _json(run_cli, db_path, "board")["items"]}
    assert board["DUE-TODAY"]["rag"] == "amber"
    assert board["DUE-TODAY"]["rag_reasons"] == [f"evidence due by {today}"]
    assert board["DUE-YESTERDAY"]["rag"] == "red"
    assert board["DUE-YESTERDAY"]["rag_reasons"] == [
        f"past its due date {yesterday}",
        f"evidence overdue since {yesterday}",
    ]
    assert board["BY-AMBER-EDGE"]["rag"] == "amber"
    assert board["BY-BEYOND"]["rag"] == "green"

    late = _json(run_cli, db_path, "overdue", "--as-of", today)
    evidence = {e["ref"] for o in late["owners"].values() for e in o["evidence"]}
    items = {i["ref"] for o in late["owners"].values() for i in o["items"]}
    assert (evidence, items) == ({"DUE-YESTERDAY"}, {"DUE-YESTERDAY"})


def test_evidence_may_be_dated_today_but_not_tomorrow(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    _import(db_path, tmp_path, [("OF-01", "", days_ago(-30).isoformat())])
    add = ("evidence", "add", "OF-01", "k", "--note", "minutes")
    assert run_cli(*add, "--dated", days_ago(0).isoformat(), db=db_path, actor=SECRETARY).code == 0
    r = run_cli(*add, "--dated", days_ago(-1).isoformat(), db=db_path, actor=SECRETARY)
    assert r.code == 2
    assert f"evidence dated {days_ago(-1)} is after today ({days_ago(0)})" in r.err


def test_an_item_may_be_rescheduled_to_today_but_not_to_yesterday(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    _import(db_path, tmp_path, [("OF-01", days_ago(-30).isoformat(), days_ago(1).isoformat())])
    move = ("item", "reschedule", "OF-01", "--reason", "board agreed")
    r = run_cli(*move, "--due", days_ago(0).isoformat(), db=db_path, actor=SECRETARY)
    assert r.code == 0, r.err
    r = run_cli(*move, "--due", days_ago(1).isoformat(), db=db_path, actor=SECRETARY)
    assert r.code == 2
    assert f"the new due date {days_ago(1)} is in the past (today is {days_ago(0)})" in r.err


def test_evidence_is_presented_by_the_due_date_not_after_it(db_path: Path, tmp_path: Path) -> None:
    due = days_ago(-30)
    _import(db_path, tmp_path, [("OF-01", due.isoformat(), due.isoformat())])
    with pytest.raises(BadInput, match=r"present_by .* is after the item's due date"):
        _import(db_path, tmp_path, [("OF-02", due.isoformat(), days_ago(-31).isoformat())], "late.csv")
