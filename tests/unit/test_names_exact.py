"""What refs, keys, user names, file names and free text may look like: each refusal, word for word."""

from __future__ import annotations

import pytest

from signoff.domain.names import (
    MAX_NAME,
    MAX_TEXT,
    check_file_name,
    check_key,
    check_ref,
    check_text,
    check_user_name,
    name_fold,
    nfc,
    require_actor_name,
)
from signoff.errors import BadInput

RULE = "(a name is 1-64 printable characters, no leading or trailing spaces)."


def refusal(check: object, *args: object) -> str:
    with pytest.raises(BadInput) as caught:
        check(*args)  # type: ignore[operator]
    return str(caught.value)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "user name '' is empty"),
        (" ann", "user name ' ann' has leading or trailing whitespace: remove it"),
        ("ann\t", "user name 'ann\\t' has leading or trailing whitespace: remove it"),
        ("a" * 65, f"user name {'a' * 65!r} is 65 characters long: use at most 64"),
        ("an\x07n", "user name 'an\\x07n' contains the control or invisible character U+0007: remove it"),
        ("an\u200bn", "user name 'an\\u200bn' contains the control or invisible character U+200B: remove it"),
        ("an\ue000n", "user name 'an\\ue000n' contains the control or invisible character U+E000: remove it"),
        ("an\u0378n", "user name 'an\\u0378n' contains the control or invisible character U+0378: remove it"),
        ("an\u2028n", "user name 'an\\u2028n' contains the control or invisible character U+2028: remove it"),
        ("an\u2029n", "user name 'an\\u2029n' contains the control or invisible character U+2029: remove it"),
        ("an\ud800n", "user name 'an\\ud800n' contains the control or invisible character U+D800: remove it"),
    ],
)
def test_a_bad_user_name_is_refused_in_words(name: str, why: str) -> None:
    assert refusal(check_user_name, name) == f"{why} {RULE}"


def test_good_user_names_come_back_in_nfc() -> None:
    assert MAX_NAME == 64
    assert check_user_name("a" * 64) == "a" * 64
    assert check_user_name("zoe\u0308") == "zo\u00eb"
    assert check_user_name("Ann Lee") == "Ann Lee"
    assert nfc("e\u0301") == "\u00e9"
    assert name_fold("ＺＯË") == name_fold("zoë") == "zoë"
    assert refusal(check_user_name, None) == f"user name '' is empty {RULE}"


def test_who_is_acting() -> None:
    hint = "say who you are: pass --as NAME before the command, or set SIGNOFF_USER."
    assert refusal(require_actor_name, None) == hint
    assert refusal(require_actor_name, "") == hint
    assert require_actor_name("sec") == "sec"
    assert refusal(require_actor_name, " sec").startswith("user name ' sec' has leading")


def test_refs() -> None:
    assert check_ref("OF-01") == "OF-01"
    assert check_ref("a" * 40) == "a" * 40
    assert check_ref("A1._/-z") == "A1._/-z"
    rule = (
        "is not allowed: use 1-40 letters, digits, '.', '_', '/' or '-', starting with a letter or digit (e.g. OF-01)."
    )
    assert refusal(check_ref, "a" * 41) == f"item ref {'a' * 41!r} {rule}"
    assert refusal(check_ref, "-OF") == f"item ref '-OF' {rule}"
    assert refusal(check_ref, "") == f"item ref '' {rule}"
    assert refusal(check_ref, None) == f"item ref '' {rule}"
    assert refusal(check_ref, "OF-01\n") == (
        "item ref 'OF-01\\n' has leading or trailing whitespace: remove it (e.g. OF-01)."
    )
    assert refusal(check_ref, " O F") == f"item ref ' O F' {rule}"


def test_keys() -> None:
    assert check_key("case-audit") == "case-audit"
    assert check_key("k" * 64) == "k" * 64
    rule = (
        "is not allowed: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. case-audit)."
    )
    assert refusal(check_key, "k" * 65) == f"evidence key {'k' * 65!r} {rule}"
    assert refusal(check_key, "a/b") == f"evidence key 'a/b' {rule}"
    assert refusal(check_key, None) == f"evidence key '' {rule}"


def test_file_names() -> None:
    assert check_file_name("Re\u0301port.pdf") == "R\u00e9port.pdf"
    for ch, code in (("\x00", "0000"), ("\u202e", "202E"), ("\u2028", "2028"), ("\u2029", "2029")):
        name = f"report{ch}exe.pdf"
        shown = name.encode("unicode_escape").decode("ascii")
        assert refusal(check_file_name, name) == (
            f"evidence file name {shown!r} contains the control or bidirectional-override character U+{code}: "
            "rename the file and add it again."
        )
    assert check_file_name("a\ue000.pdf") == "a\ue000.pdf"


def test_free_text() -> None:
    assert MAX_TEXT == 10_000
    assert check_text("  Why?  ", "reason") == "Why?"
    assert check_text(None, "reason", required=False) == ""
    assert check_text("line one\nline two\tend", "note") == "line one\nline two\tend"
    assert check_text("x" * 10_000, "note") == "x" * 10_000
    assert refusal(check_text, "  ", "reason") == "the reason is empty: give the reason as text."
    assert refusal(check_text, None, "title") == "the title is empty: give the title as text."
    for bad in ("a\x00b", "a\x1fb", "a\x7fb", "a\x9fb", "a\u202eb", "a\u2066b", "a\x0bb"):
        assert refusal(check_text, bad, "note") == "the note contains control characters: remove them and try again."
    assert check_text("a\xa0b", "note") == "a\xa0b"
    assert refusal(check_text, "x" * 10_001, "note") == "the note is 10001 characters long: keep it to at most 10,000."
