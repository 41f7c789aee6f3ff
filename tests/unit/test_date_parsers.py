"""Every date parser takes exactly YYYY-MM-DD and refuses its look-alikes: a compact date, a date with a
time, a one-digit month, and a date that is not on the calendar. What a cell or option is trimmed of
before it is parsed (surrounding spaces, as every cell and free text is) is the reader's habit, not
the parser's: the parsers themselves refuse a padded date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
import pytest

from signoff import clock
from signoff.cli.app import DATE
from signoff.domain import decision, matrix
from signoff.errors import BadInput
from signoff.services.evidence_import import check_row

GOOD = "2013-11-30"
LOOK_ALIKES = ["20131130", "2013-11-30T00:00", "2013-1-30", "2013-02-30", "2013-W48-6", "2013/11/30", "١٢٣٤-11-30"]


def test_the_strict_parser_takes_a_date_and_nothing_like_one() -> None:
    assert clock.strict_date(GOOD) == dt.date(2013, 11, 30)
    for text in [*LOOK_ALIKES, " 2013-11-30", "2013-11-30 ", "2013-11-30\n", ""]:
        with pytest.raises(ValueError):
            clock.strict_date(text)


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_a_command_line_date_refuses_a_look_alike_naming_the_option(text: str) -> None:
    with pytest.raises(BadInput, match=rf"due {text!r} is not a date: write it as YYYY-MM-DD"):
        clock.parse_date(text, "due")
    with pytest.raises(click.BadParameter, match="is not a date: write it as YYYY-MM-DD"):
        DATE.convert(text, None, None)


def test_a_command_line_date_is_trimmed_like_every_option_then_parsed_strictly() -> None:
    assert clock.parse_date(" 2013-11-30 ") == dt.date(2013, 11, 30)
    assert DATE.convert(GOOD, None, None) == dt.date(2013, 11, 30)


@pytest.mark.parametrize("text", [*LOOK_ALIKES, " 2013-11-30"])
def test_a_signed_statement_names_its_meeting_exactly(text: str) -> None:
    assert decision._parse_date(GOOD) == dt.date(2013, 11, 30)
    with pytest.raises(BadInput, match="the meeting"):
        decision._parse_date(text)


def _matrix(**cells: str) -> bytes:
    values = {
        "item_ref": "OF-01",
        "item_kind": "ofsted-recommendation",
        "item_title": "Title",
        "item_due": "2013-12-31",
        "evidence_key": "audit",
        "evidence_description": "audit evidence",
        "present_by": GOOD,
    }
    values.update(cells)
    return (
        ",".join(matrix.REQUIRED_COLUMNS) + "\n" + ",".join(values[c] for c in matrix.REQUIRED_COLUMNS) + "\n"
    ).encode()


@pytest.mark.parametrize("column", ["item_due", "present_by"])
@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_the_matrix_refuses_a_look_alike_in_either_date_column(column: str, text: str) -> None:
    with pytest.raises(BadInput, match=rf"line 2: .*{column} {text!r} is not a YYYY-MM-DD date"):
        matrix.parse_csv(_matrix(**{column: text}), "m.csv")


def test_the_matrix_takes_a_date_and_trims_its_cell() -> None:
    (item,) = matrix.parse_csv(_matrix(present_by=" 2013-11-30 "), "m.csv")
    assert item.rows[0].present_by == dt.date(2013, 11, 30)


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_an_evidence_import_row_refuses_a_look_alike(text: str, tmp_path: Path) -> None:
    assert check_row({"item_ref": "OF-01", "evidence_key": "audit", "dated": GOOD, "note": "minutes"}, tmp_path)
    with pytest.raises(BadInput, match=rf"dated {text!r} is not a YYYY-MM-DD date"):
        check_row({"item_ref": "OF-01", "evidence_key": "audit", "dated": text, "note": "minutes"}, tmp_path)


@pytest.mark.parametrize(
    ("cell", "refused"),
    [
        (dt.datetime(2013, 11, 30), None),
        (dt.date(2013, 11, 30), None),
        ("2013-11-30", None),
        (dt.datetime(2013, 11, 30, 15, 0), "present_by '2013-11-30 15:00:00' is not a YYYY-MM-DD date"),
        (20131130, "present_by '20131130' is not a YYYY-MM-DD date"),
        ("2013-1-30", "present_by '2013-1-30' is not a YYYY-MM-DD date"),
    ],
)
def test_a_workbook_date_cell_is_a_date_only_at_midnight(cell: object, refused: str | None, tmp_path: Path) -> None:
    """Excel stores a date as a date-time at midnight; any other time of day is not a date to drop silently."""
    from openpyxl import Workbook

    from signoff.services import xlsx_input

    def read_file(path: Path, kinds: tuple[str, ...]) -> list[matrix.ItemSpec]:
        header, records = xlsx_input.read(path)
        return matrix.parse_rows(records, header, path.name, kinds=kinds)

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(matrix.REQUIRED_COLUMNS))
    ws.append(["OF-01", "ofsted-recommendation", "Title", "2013-12-31", "audit", "audit evidence", cell])
    wb.save(tmp_path / "m.xlsx")
    if refused is None:
        (item,) = read_file(tmp_path / "m.xlsx", matrix.KINDS)
        assert item.rows[0].present_by == dt.date(2013, 11, 30)
    else:
        with pytest.raises(BadInput, match=f"line 2: {refused}"):
            read_file(tmp_path / "m.xlsx", matrix.KINDS)
