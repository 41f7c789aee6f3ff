"""The matrix CSV reader at its edges: a header it cannot read, and line ends inside a quoted cell."""

from __future__ import annotations

import pytest

from signoff.domain import matrix
from signoff.errors import BadInput

HEADER = ",".join(matrix.REQUIRED_COLUMNS)


def row(description: str) -> str:
    return f'OF-01,ofsted-recommendation,Title,2013-12-31,audit,"{description}",2013-11-30'


def test_a_header_the_csv_reader_cannot_read_is_one_sentence_naming_the_file() -> None:
    data = f'"{"x" * 200_000}"\n'.encode()
    with pytest.raises(BadInput) as info:
        matrix.parse_csv(data, "huge.csv")
    assert str(info.value) == (
        "huge.csv is not a readable CSV file (field larger than field limit (131072)): save it again as CSV."
    )


def test_a_line_feed_inside_a_quoted_cell_is_kept() -> None:
    text = HEADER + "\r\n" + row("first\nsecond") + "\r\n"
    (item,) = matrix.parse_csv(text.encode(), "m.csv")
    assert [r.description for r in item.rows] == ["first\nsecond"]


def test_a_carriage_return_inside_a_quoted_cell_is_read_as_written_and_refused() -> None:
    for inside in ("first\r\nsecond", "first\rsecond"):
        with pytest.raises(BadInput) as info:
            matrix.parse_csv(f"{HEADER}\n{row(inside)}\n".encode(), "m.csv")
        assert str(info.value).splitlines() == [
            "m.csv has 1 bad row(s) and nothing was imported:",
            "line 2: the evidence_description contains control characters: remove them and try again",
        ]


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_every_line_end_between_records_reads_the_same(end: str) -> None:
    (item,) = matrix.parse_csv(f"{HEADER}{end}{row('Audit')}{end}".encode(), "m.csv")
    assert (item.ref, [r.key for r in item.rows], [r.description for r in item.rows]) == ("OF-01", ["audit"], ["Audit"])


def test_each_item_and_row_carries_the_line_it_was_read_from() -> None:
    other = "OF-02,ofsted-recommendation,Other,2013-12-31,plan,Plan,2013-11-30"
    text = "\n".join([HEADER, row("Audit"), other, row("Audit").replace("audit", "minutes")]) + "\n"
    first, second = matrix.parse_csv(text.encode(), "m.csv")
    assert (first.ref, first.line, [r.line for r in first.rows]) == ("OF-01", 2, [2, 4])
    assert (second.ref, second.line, [r.line for r in second.rows]) == ("OF-02", 3, [3])


def test_a_workbook_row_given_as_read_is_trimmed_by_the_validator() -> None:
    seen = matrix.InMemory()
    v = matrix.Validator(list(matrix.REQUIRED_COLUMNS), "m.xlsx", seen)
    cells = [" OF-01 ", "ofsted-recommendation ", " Title", "2013-12-31 ", " audit ", " Audit ", " 2013-11-30"]
    v.row(2, dict(zip(matrix.REQUIRED_COLUMNS, cells, strict=True)))
    v.finish()
    (item,) = seen.items.values()
    assert (item.ref, item.kind, item.title, item.rows[0].key, item.rows[0].description) == (
        "OF-01", "ofsted-recommendation", "Title", "audit", "Audit",
    )  # fmt: skip
