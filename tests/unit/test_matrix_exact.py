"""The matrix parser's owners, exact messages and record shapes, without a register (docs/MUTATION.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from signoff.domain import matrix
from signoff.errors import BadInput

COLUMNS = (*matrix.REQUIRED_COLUMNS, *matrix.OPTIONAL_COLUMNS)


def rec(ref: str = "OF-01", key: str = "audit", **kw: str | None) -> dict[str, str | None]:
    values: dict[str, str | None] = {
        "item_ref": ref,
        "item_kind": "ofsted-recommendation",
        "item_title": f"Title of {ref}",
        "item_due": "2013-12-31",
        "evidence_key": key,
        "evidence_description": f"{key} evidence",
        "present_by": "2013-11-30",
        "item_owner": "",
        "evidence_owner": "",
    }
    values.update(kw)
    return values


def parse(*records: dict[str, str | None]) -> list[matrix.ItemSpec]:
    return matrix.parse_rows(list(records), list(COLUMNS), "m.csv")  # type: ignore[arg-type]


def problems(*records: dict[str, str | None]) -> list[str]:
    with pytest.raises(BadInput) as info:
        parse(*records)
    head, *lines = str(info.value).split("\n")
    assert head == f"m.csv has {len(lines)} bad row(s) and nothing was imported:"
    return lines


def test_owners_are_read_from_their_columns_and_blank_means_none() -> None:
    items = parse(
        rec(key="audit", item_owner="Head of Service", evidence_owner="Data Team"),
        rec(key="survey", item_owner="Head of Service", evidence_owner="Data Team"),
        rec("OF-02", key="plan"),
    )
    first, second = items
    assert first.owner == "Head of Service"
    assert [r.owner for r in first.rows] == ["Data Team", "Data Team"]
    assert second.owner is None and second.rows[0].owner is None


def test_an_owner_with_control_characters_is_a_bad_line_said_without_a_full_stop() -> None:
    lines = problems(rec(item_owner="Head\x07"), rec(key="b", evidence_owner="Team\x1b"))
    assert lines == [
        "line 2: the item_owner contains control characters: remove them and try again",
        "line 3: the evidence_owner contains control characters: remove them and try again",
    ]


def test_a_bad_owner_is_refused_even_after_a_good_owner_was_seen() -> None:
    lines = problems(rec(item_owner="Head"), rec(key="b", evidence_owner="Head\x00"))
    assert lines == ["line 3: the evidence_owner contains control characters: remove them and try again"]


def test_an_unknown_kind_lists_the_kinds_allowed() -> None:
    assert problems(rec(item_kind="memo")) == [
        "line 2: item_kind 'memo' is not one of ofsted-recommendation, improvement-notice"
    ]


def test_an_empty_title_and_description_are_said_without_a_full_stop() -> None:
    assert problems(rec(item_title="", evidence_description="")) == [
        "line 2: the item_title is empty: give the item_title as text; "
        "the evidence_description is empty: give the evidence_description as text"
    ]


def test_missing_columns_are_named_and_the_full_header_is_given() -> None:
    with pytest.raises(BadInput) as info:
        matrix.parse_rows([], ["item_ref", "item_kind", "item_title"], "m.csv")
    assert str(info.value) == (
        "m.csv is missing column(s) item_due, evidence_key, evidence_description, present_by: the header must "
        "include item_ref,item_kind,item_title,item_due,evidence_key,evidence_description,present_by."
    )


def test_records_with_padded_cells_are_trimmed() -> None:
    padded = rec(" OF-01 ", key=" audit ", item_title=" Title ", present_by=" 2013-11-30 ", item_owner=" Head ")
    (item,) = parse(padded)
    assert (item.ref, item.title, item.owner) == ("OF-01", "Title", "Head")
    assert (item.rows[0].key, item.rows[0].present_by) == ("audit", dt.date(2013, 11, 30))


def test_a_short_record_from_a_dict_reader_reports_how_many_cells_it_had() -> None:
    short = rec(present_by=None, evidence_description=None, item_owner=None, evidence_owner=None)
    assert problems(short, rec(key="b")) == ["line 2: wrong number of columns (expected 9, found 5)"]


def test_a_blank_record_is_skipped_and_the_records_after_it_still_count() -> None:
    blank = dict.fromkeys(COLUMNS, "")
    items = parse(rec(key="a"), blank, rec(key="b"), rec("OF-02", key="c"))
    assert [(i.ref, [r.key for r in i.rows]) for i in items] == [("OF-01", ["a", "b"]), ("OF-02", ["c"])]
    assert [r.line for r in items[0].rows] == [2, 4]


def test_a_row_repeating_its_item_with_a_different_title_is_refused() -> None:
    assert problems(rec(key="a"), rec(key="b", item_title="Other")) == [
        "line 3: item_title conflicts with the title on line 2"
    ]


def test_evidence_may_be_presented_on_the_day_the_item_is_due_but_not_after() -> None:
    (item,) = parse(rec(item_due="2013-12-31", present_by="2013-12-31"))
    assert item.rows[0].present_by == item.due
    assert problems(rec(item_due="2013-12-31", present_by="2014-01-01")) == [
        "line 2: present_by 2014-01-01 is after the item's due date 2013-12-31: "
        "evidence is presented before the item is due"
    ]


def test_a_bad_ref_key_and_date_are_each_named() -> None:
    assert problems(rec("no spaces allowed", key="bad key", item_due="31/12/2013")) == [
        "line 2: item_ref 'no spaces allowed' is not a valid ref; item_due '31/12/2013' is not a YYYY-MM-DD date; "
        "evidence_key 'bad key' is not a valid key"
    ]


def test_two_bad_owners_on_one_line_are_said_together() -> None:
    assert problems(rec(item_owner="A\x07", evidence_owner="B\x07")) == [
        "line 2: the item_owner contains control characters: remove them and try again; "
        "the evidence_owner contains control characters: remove them and try again"
    ]


HEADER = ",".join(matrix.REQUIRED_COLUMNS)
GOOD = "OF-01,ofsted-recommendation,Title,2013-12-31,audit,Audit,2013-11-30"


def test_a_csv_file_skips_blank_lines_anywhere() -> None:
    data = f"{HEADER}\n{GOOD}\n\n{GOOD.replace('audit,Audit', 'plan,Plan')}\n".encode()
    (item,) = matrix.parse_csv(data, "m.csv")
    assert [(r.key, r.line) for r in item.rows] == [("audit", 2), ("plan", 3)]


def test_csv_refusals_name_the_file() -> None:
    with pytest.raises(BadInput) as info:
        matrix.parse_csv(b"", "empty.csv")
    assert str(info.value).startswith("empty.csv is missing column(s) item_ref, item_kind,")
    with pytest.raises(BadInput) as info:
        matrix.parse_csv(b"\xff\xfe", "latin.csv")
    assert str(info.value) == "latin.csv is not UTF-8 text (byte 0): save it from Excel as 'CSV UTF-8'."
    with pytest.raises(BadInput) as info:
        matrix.parse_csv(f"{HEADER}\n{GOOD},extra\n".encode(), "wide.csv")
    assert str(info.value).splitlines() == [
        "wide.csv has 1 bad row(s) and nothing was imported:",
        "line 2: wrong number of columns (expected 7, found 8)",
    ]


def test_an_unreadable_csv_is_one_sentence_naming_the_file() -> None:
    data = f'{HEADER}\n"{"x" * 200_000}"\n'.encode()
    with pytest.raises(BadInput) as info:
        matrix.parse_csv(data, "huge.csv")
    message = str(info.value)
    assert message.startswith("huge.csv is not a readable CSV file (")
    assert message.endswith("): save it again as CSV.")


def test_a_csv_file_is_judged_against_the_kinds_given() -> None:
    data = f"{HEADER}\n{GOOD}\n".encode()
    with pytest.raises(BadInput, match="is not one of improvement-notice"):
        matrix.parse_csv(data, "m.csv", ("improvement-notice",))
