"""Spreadsheet-safe cells: every formula lead is escaped, nothing else is touched, and reading undoes it exactly."""

from __future__ import annotations

import pytest

from signoff.domain.cells import neutralise, restore


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r", "'"])
def test_a_cell_a_spreadsheet_would_run_gets_one_apostrophe(lead: str) -> None:
    assert neutralise(f"{lead}SUM(A1)") == f"'{lead}SUM(A1)"
    assert neutralise(lead) == f"'{lead}"
    assert restore(neutralise(f"{lead}x")) == f"{lead}x"


@pytest.mark.parametrize("value", ["", "plain", "a=b", " =x", "x'", "\n=x", "1-2", "XX=", "=x"[1:]])
def test_other_text_is_left_alone(value: str) -> None:
    assert neutralise(value) == value
    assert restore(value) == value


@pytest.mark.parametrize("value", [None, 0, -1, 2.5, b"=x"])
def test_values_that_are_not_text_are_left_alone(value: object) -> None:
    assert neutralise(value) is value


def test_reading_removes_exactly_one_leading_apostrophe() -> None:
    assert restore("''x") == "'x"
    assert restore("'") == ""
    assert restore("x'") == "x'"
    assert restore("") == ""
    assert restore(neutralise("''x")) == "''x"
