"""RAG on the day itself: due today is not yet overdue (docs/MUTATION.md)."""

from __future__ import annotations

import datetime as dt

from signoff.domain.rag import ItemStatus, judge

TODAY = dt.date(2013, 9, 30)


def status(**kw: object) -> ItemStatus:
    base: dict[str, object] = {
        "state": "proposed",
        "final": False,
        "due": None,
        "next_uncovered": None,
        "last_transition_at": "2013-09-29T10:00:00.000000+00:00",
        "limbo_days": 60,
        "challenges": 0,
    }
    base.update(kw)
    return ItemStatus(**base)  # type: ignore[arg-type]


def test_an_item_due_today_is_not_past_its_due_date_and_one_due_yesterday_is() -> None:
    assert judge(status(due="2013-09-30"), TODAY)[0] == "green"
    assert judge(status(due="2013-09-29"), TODAY)[:2] == ("red", ["past its due date 2013-09-29"])


def test_evidence_due_today_is_amber_and_due_yesterday_is_red() -> None:
    assert judge(status(next_uncovered="2013-09-30"), TODAY)[:2] == ("amber", ["evidence due by 2013-09-30"])
    assert judge(status(next_uncovered="2013-09-29"), TODAY)[:2] == ("red", ["evidence overdue since 2013-09-29"])
    assert judge(status(next_uncovered="2013-10-14"), TODAY)[0] == "amber"
    assert judge(status(next_uncovered="2013-10-15"), TODAY)[0] == "green"
