"""Item links in an export: each record of an item names the item's previous record, word for word."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signoff.domain.item_links import ItemLinks, MalformedDetail, item_prev


@pytest.mark.parametrize(
    ("detail", "why"),
    [
        (None, "its detail is not text"),
        (b"{}", "its detail is not text"),
        ("{", "its detail is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"),
        ("[1]", "its detail is not a JSON object"),
        ('{"a": 1, "a": 2}', "its detail is not JSON (the key 'a' appears twice)"),
        ("[" * 100_000 + "]" * 100_000, "its detail is nested too deeply"),
        ('{"item_prev": -1}', "its item_prev -1 is not a whole number"),
        ('{"item_prev": true}', "its item_prev True is not a whole number"),
        ('{"item_prev": 1.0}', "its item_prev 1.0 is not a whole number"),
        ('{"item_prev": "3"}', "its item_prev '3' is not a whole number"),
    ],
)
def test_a_malformed_detail_is_named(detail: object, why: str) -> None:
    with pytest.raises(MalformedDetail) as caught:
        item_prev(detail)
    assert str(caught.value) == why


def test_links_are_read() -> None:
    assert item_prev('{"item_prev": 0}') == 0
    assert item_prev('{"item_prev": 7, "x": {"y": 1}}') == 7
    assert item_prev('{"other": 1}') is None


def rec(seq: int, ref: str | None, link: Any = None, **extra: Any) -> dict[str, Any]:
    detail = extra if link is None else {"item_prev": link, **extra}
    return {"seq": seq, "item_ref": ref, "detail": json.dumps(detail)}


def fed(*records: dict[str, Any]) -> ItemLinks:
    links = ItemLinks()
    for r in records:
        links.see(r)
    return links


def test_a_whole_register_links_up() -> None:
    links = fed(rec(1, None), rec(2, "A", 0), rec(3, "B", 0), rec(4, "A", 2), rec(5, "B", 3), rec(6, "A", 4))
    assert (links.first_seq, links.broken, links.unlinked, links.starts_after) == (1, [], [], {})
    assert links.notes() == []


def test_a_deleted_record_and_a_wrong_link_are_named() -> None:
    links = fed(rec(5, "A", 2), rec(6, "A", 9), rec(7, "A", 5), rec(8, "B", 6), rec(9, "B", 0))
    assert links.broken == [
        (6, "record 9, the previous record of A, is missing from the file"),
        (7, "its link to the previous record of A (5) is not record 6"),
        (8, "record 6, the previous record of B, is missing from the file"),
        (9, "its link to the previous record of B (0) is not record 8"),
    ]
    assert links.starts_after == {"A": 2}
    assert links.first_seq == 5


def test_the_first_record_of_an_item_at_the_start_of_the_file() -> None:
    links = fed(rec(5, "A", 5))
    assert links.broken == [(5, "record 5, the previous record of A, is missing from the file")]
    links = fed(rec(5, "A", 4), rec(6, "B", 0))
    assert links.broken == []
    assert links.starts_after == {"A": 4}


def test_a_malformed_record_does_not_move_the_item_on() -> None:
    bad = {"seq": 3, "item_ref": "A", "detail": "{"}
    links = fed(rec(2, "A", 0), bad, rec(4, "A", 2))
    assert links.broken == [
        (3, "its detail is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))")
    ]


def test_records_without_links_are_noted_and_never_accepted_silently() -> None:
    links = fed(rec(3, "A"), rec(4, "B"), rec(5, "A", 3), rec(6, "E"), rec(7, "C", 2), rec(8, "D", 1), rec(9, "A", 5))
    assert links.unlinked == [3, 4, 6]
    assert links.broken == []
    assert links.notes() == [
        "3 item record(s) (from record 3 to 6) were written before records carried item links: the file cannot"
        " prove none is missing between them",
        "C starts after its record 2, which is before the file begins",
        "D starts after its record 1, which is before the file begins",
    ]


def test_the_seq_is_read_as_a_number() -> None:
    links = fed({"seq": "4", "item_ref": "A", "detail": '{"item_prev": 0}'})
    assert links.first_seq == 4
