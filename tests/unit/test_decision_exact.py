"""The decision statement's escapes at their edges and its exact refusals (docs/MUTATION.md)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from signoff.domain import decision, names
from signoff.domain.decision import BadStatement, build_statement, parse_statement
from signoff.errors import BadInput

WHEN = dt.datetime(2026, 12, 14, 10, 31, 7, tzinfo=dt.UTC)


def facts(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "register": "reg-1",
        "item": "OF-02",
        "title": "Oversight",
        "event": "approve",
        "actor": "chair",
        "time": WHEN,
    }
    base.update(changes)
    return base


def statement_text(**changes: object) -> str:
    return build_statement(**facts(**changes)).text()  # type: ignore[arg-type]


def refusal(data: str) -> str:
    with pytest.raises(BadStatement) as info:
        parse_statement(data)
    return str(info.value)


@pytest.mark.parametrize(
    ("escaped", "char"),
    [("\\u{10FFFF}", "\U0010ffff"), ("\\u{E000}", "\ue000"), ("\\u{D7FF}", "\ud7ff"), ("\\\\\\n\\t", "\\\n\t")],
)
def test_escapes_at_the_edges_of_unicode_are_characters(escaped: str, char: str) -> None:
    assert decision._unescape(escaped) == char


@pytest.mark.parametrize("code", ["110000", "D800", "DFFF"])
def test_escapes_outside_unicode_or_of_surrogates_are_refused_by_name(code: str) -> None:
    with pytest.raises(ValueError) as info:
        decision._unescape(f"\\u{{{code}}}")
    assert str(info.value) == f"\\u{{{code}}} is not a character"


@pytest.mark.parametrize("value", ["\\q\\n", "a\\", "\\x"])
def test_a_stray_backslash_is_refused_even_before_a_good_escape(value: str) -> None:
    with pytest.raises(ValueError) as info:
        decision._unescape(value)
    assert str(info.value) == "a backslash starts no known escape (write a backslash as \\\\)"


def test_a_title_of_exactly_the_longest_length_is_kept() -> None:
    assert build_statement(**facts(title="x" * names.MAX_TEXT)).title == "x" * names.MAX_TEXT  # type: ignore[arg-type]


def test_an_empty_event_is_refused() -> None:
    with pytest.raises(BadInput, match="is not an event name"):
        build_statement(**facts(event=""))  # type: ignore[arg-type]


class _NoOffset(dt.tzinfo):
    def utcoffset(self, d: dt.datetime | None) -> dt.timedelta | None:
        return None


@pytest.mark.parametrize(
    "when", [dt.datetime(2026, 12, 14, 10, 31), dt.date(2026, 12, 14), dt.datetime(2026, 12, 14, tzinfo=_NoOffset())]
)
def test_a_time_without_an_offset_is_refused_in_one_sentence(when: object) -> None:
    with pytest.raises(BadInput) as info:
        build_statement(**facts(time=when))  # type: ignore[arg-type]
    assert str(info.value) == "the decision time has no time zone: give it in UTC."


def test_the_time_is_written_in_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Pacific/Honolulu")
    time.tzset()
    try:
        paris = dt.datetime(2026, 12, 14, 11, 31, 7, 500, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        assert statement_text(time=paris).endswith("time: 2026-12-14T10:31:07Z\n")
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(("field", "name"), [("reason", "reason"), ("override_reason", "override reason")])
def test_reason_fields_are_named_when_refused(field: str, name: str) -> None:
    with pytest.raises(BadInput) as info:
        build_statement(**facts(**{field: " padded"}))  # type: ignore[arg-type]
    assert str(info.value) == f"the {name} has leading or trailing whitespace: remove it."


FIELD_LIST = "register, item, title, event, meeting, bundle, reason, override-reason, actor, time"


def test_parse_refusals_give_the_line_and_the_fields() -> None:
    good = statement_text()
    lines = good.splitlines()
    assert refusal("\n".join([lines[0], "bogus", *lines[1:]]) + "\n") == (
        f"the statement, line 2: 'bogus' is not a statement field ({FIELD_LIST})."
    )
    assert refusal("\n".join([*lines[:2], "bogus: x", *lines[2:]]) + "\n") == (
        f"the statement, line 3: 'bogus' is not a statement field ({FIELD_LIST})."
    )
    assert refusal("\n".join([lines[0], lines[2], lines[1], *lines[3:]]) + "\n") == (
        "the statement, line 2: the field 'item' is out of order or 'register' is missing: "
        f"the fields come in the order {FIELD_LIST}."
    )
    assert refusal("\n".join([*lines[:3], lines[2], *lines[3:]]) + "\n") == (
        "the statement, line 4: the field 'item' appears twice (first on line 3)."
    )


def test_a_bad_value_in_a_statement_file_is_said_once_with_one_full_stop() -> None:
    good = statement_text(meeting=dt.date(2026, 12, 14))
    assert refusal(good.replace("meeting: 2026-12-14", "meeting: 2026-13-01")) == (
        "the statement has a bad value: the meeting '2026-13-01' is not a calendar date."
    )
