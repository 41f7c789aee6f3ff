"""The decision statement: one spelling per decision, read back exactly, anything else refused."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signoff.domain.decision import FIELDS, HEADER, BadStatement, build_statement, escape, parse_statement
from signoff.errors import BadInput

WHEN = dt.datetime(2026, 12, 14, 10, 31, 7, tzinfo=dt.UTC)
BUNDLE = "9f2c" + "0" * 60

EXPECTED = (
    "signoff decision v1\n"
    "register: 3b0f6c1e-8a52-4d55-9f1e-2f4c1e0a7b19\n"
    "item: OF-02\n"
    "title: Strengthen management oversight of casework\n"
    "event: approve\n"
    "meeting: 2026-12-14\n"
    f"bundle: {BUNDLE}\n"
    "reason:\n"
    "override-reason: A2 misses by 3 days; the board accepts the trend\n"
    "actor: chair.whitfield\n"
    "time: 2026-12-14T10:31:07Z\n"
)


def approval(**changes: object) -> dict[str, object]:
    facts: dict[str, object] = {
        "register": "3b0f6c1e-8a52-4d55-9f1e-2f4c1e0a7b19",
        "item": "OF-02",
        "title": "Strengthen management oversight of casework",
        "event": "approve",
        "meeting": dt.date(2026, 12, 14),
        "bundle": BUNDLE,
        "reason": None,
        "override_reason": "A2 misses by 3 days; the board accepts the trend",
        "actor": "chair.whitfield",
        "time": WHEN,
    }
    facts.update(changes)
    return facts


def text(**changes: object) -> str:
    return build_statement(**approval(**changes)).text()  # type: ignore[arg-type]


def test_the_statement_reads_as_documented_and_parses_back_to_the_same_facts() -> None:
    statement = build_statement(**approval())  # type: ignore[arg-type]
    assert statement.text() == EXPECTED
    assert statement.encode() == EXPECTED.encode("utf-8")
    assert parse_statement(EXPECTED.encode("utf-8")) == statement
    assert [line.split(":")[0] for line in EXPECTED.splitlines()[1:]] == list(FIELDS)


def test_a_reopening_has_no_meeting_and_its_reason_on_the_reason_line() -> None:
    t = text(event="reopen", meeting=None, bundle=None, override_reason=None, reason="Ofsted found otherwise")
    assert "\nmeeting:\n" in t and "\nbundle:\n" in t and "\nreason: Ofsted found otherwise\n" in t
    parsed = parse_statement(t)
    assert parsed.meeting is None and parsed.bundle is None and parsed.override_reason is None


def test_the_time_is_kept_in_utc_to_the_second() -> None:
    bst = dt.timezone(dt.timedelta(hours=1))
    statement = build_statement(**approval(time=dt.datetime(2026, 6, 1, 11, 0, 5, 999_999, tzinfo=bst)))  # type: ignore[arg-type]
    assert statement.time == dt.datetime(2026, 6, 1, 10, 0, 5, tzinfo=dt.UTC)
    assert "\ntime: 2026-06-01T10:00:05Z\n" in statement.text()


def test_newlines_tabs_backslashes_and_invisible_characters_are_escaped_visibly() -> None:
    reason = "first line\nsecond\tcolumn C:\\path \u202eevil\u200b"
    t = text(reason=reason)
    assert "\nreason: first line\\nsecond\\tcolumn C:\\\\path \\u{202E}evil\\u{200B}\n" in t
    assert t.count("\n") == len(FIELDS) + 1
    assert parse_statement(t).reason == reason


def test_unicode_text_is_written_as_itself() -> None:
    t = text(title="Zoë’s review — «children first»", actor="zoë.ashby")
    assert "title: Zoë’s review — «children first»\n" in t
    assert parse_statement(t.encode("utf-8")).actor == "zoë.ashby"


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"time": dt.datetime(2026, 12, 14, 10, 31, 7)}, "no time zone"),
        ({"title": ""}, "title is empty"),
        ({"title": " padded"}, "leading or trailing whitespace"),
        ({"reason": "trailing\n"}, "leading or trailing whitespace"),
        ({"item": "OF 02"}, "item ref"),
        ({"actor": " chair"}, "user name"),
        ({"bundle": "ABC"}, "bundle digest"),
        ({"event": "approve now"}, "event"),
        ({"register": ""}, "register id"),
        ({"meeting": dt.datetime(2026, 12, 14, 9, 0)}, "not a calendar date"),
        ({"reason": "x" * 10_001}, "at most 10,000"),
        ({"title": "broken \udc80 text"}, "unpaired UTF-16 surrogate"),
    ],
)
def test_the_builder_refuses_bad_facts_with_one_sentence(changes: dict[str, object], says: str) -> None:
    with pytest.raises(BadInput, match=says):
        build_statement(**approval(**changes))  # type: ignore[arg-type]


def swap(t: str, old: str, new: str) -> str:
    assert old in t
    return t.replace(old, new, 1)


@pytest.mark.parametrize(
    ("mangle", "says"),
    [
        (lambda t: t.replace("\n", "\r\n"), "carriage returns"),
        (lambda t: "\ufeff" + t, "byte-order mark"),
        (lambda t: t[:-1], "exactly one line break"),
        (lambda t: t + "\n", "exactly one line break"),
        (lambda t: swap(t, HEADER, "signoff decision v2"), "does not begin"),
        (lambda t: swap(t, "item: OF-02\n", "item: OF-02\nitem: OF-03\n"), "appears twice"),
        (lambda t: swap(t, "item: OF-02\n", ""), "out of order or 'item' is missing"),
        (
            lambda t: swap(t, "event: approve\nmeeting: 2026-12-14\n", "meeting: 2026-12-14\nevent: approve\n"),
            "out of order",
        ),
        (lambda t: swap(t, "reason:\n", "reason:\nnote: hello\n"), "'note' is not a statement field"),
        (lambda t: swap(t, "reason:\n", "reason:\n\n"), "is not a statement field"),
        (lambda t: t.split("actor:")[0], "ends before the field 'actor'"),
        (lambda t: t + "extra: 1\n", "not a statement field"),
        (lambda t: swap(t, "event: approve", "event:approve"), "one space after"),
        (lambda t: swap(t, "reason:\n", "reason: \n"), "with no space after it"),
        (lambda t: swap(t, "title: Strengthen", "title: \u202eStrengthen"), "unescaped control or invisible"),
        (lambda t: swap(t, "title: Strengthen", "title: Strengthen\x07"), "unescaped control or invisible"),
        (lambda t: swap(t, "title: Strengthen", "title: C:\\Strengthen"), "bad escape"),
        (lambda t: swap(t, "title: Strengthen", "title: \\u{D800}Strengthen"), "bad escape"),
        (lambda t: swap(t, "title: Strengthen", "title: \\u{0053}trengthen"), "written as itself"),
        (lambda t: swap(t, "title: Strengthen", "title: \\u{000A}Strengthen"), "written as itself"),
        (lambda t: swap(t, "title: Strengthen", "title: \\u{202e}Strengthen"), "bad escape"),
        (lambda t: swap(t, "actor: chair.whitfield", "actor:"), "actor is empty"),
        (lambda t: swap(t, "meeting: 2026-12-14", "meeting: 2026-13-14"), "not a calendar date"),
        (lambda t: swap(t, "meeting: 2026-12-14", "meeting: 14/12/2026"), "YYYY-MM-DD"),
        (lambda t: swap(t, "T10:31:07Z", "T10:31:07+00:00"), "YYYY-MM-DDTHH:MM:SSZ"),
        (lambda t: swap(t, "T10:31:07Z", "T25:31:07Z"), "not a real date and time"),
        (lambda t: swap(t, "title: Strengthen", "title:  Strengthen"), "leading or trailing whitespace"),
        (lambda t: swap(t, f"bundle: {BUNDLE}", f"bundle: {BUNDLE.upper()}"), "bundle digest"),
    ],
)
def test_the_parser_refuses_anything_signoff_would_not_write(mangle: object, says: str) -> None:
    bad = mangle(EXPECTED)  # type: ignore[operator]
    with pytest.raises(BadStatement, match=says) as caught:
        parse_statement(bad, source="the statement OF-02.txt")
    assert str(caught.value).startswith("the statement OF-02.txt")
    assert caught.value.exit_code == 2


def test_the_parser_refuses_bytes_that_are_not_utf8() -> None:
    with pytest.raises(BadStatement, match="not UTF-8"):
        parse_statement(EXPECTED.encode("utf-8").replace(b"Strengthen", b"Str\xe9ngthen"))


# Free text as the register stores it: trimmed, any character a person might type or paste.
_free_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60).filter(
    lambda s: s == s.strip() and s != ""
)


@given(title=_free_text, reason=st.none() | _free_text, override=st.none() | _free_text)
def test_every_statement_reads_back_exactly_and_stays_one_line_per_field(
    title: str, reason: str | None, override: str | None
) -> None:
    statement = build_statement(**approval(title=title, reason=reason, override_reason=override))  # type: ignore[arg-type]
    data = statement.encode()
    assert parse_statement(data) == statement
    assert data.count(b"\n") == len(FIELDS) + 1 and b"\r" not in data
    for value in (title, reason, override):
        if value:
            assert "\n" not in escape(value) and "\u2028" not in escape(value)
