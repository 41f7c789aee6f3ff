"""The bundle helpers replay uses to keep entries encoded: ``fits`` decides whether a record's
values may skip the full check, and ``encoded``/``digest_encoded`` must give ``digest``'s answer."""

from __future__ import annotations

from typing import Any

import pytest

from signoff.domain import bundle

NOTE: dict[str, Any] = {
    **dict.fromkeys(bundle.ENTRY_FIELDS),
    "id": 1,
    "key": "data",
    "kind": "note",
    "sha256": bundle.note_digest("text"),
    "dated": "2026-11-20",
    "added_by": "sec",
    "recorded_at": "2026-11-21T09:30:00.000000+00:00",
}
FILE: dict[str, Any] = {
    **NOTE,
    "id": 2,
    "kind": "file",
    "file_name": "audit.pdf",
    "file_size": 1234,
    "sha256": "ab" * 32,
    "supersedes": 1,
}
INTEGERS = ("id", "file_size", "supersedes")


def values(entry: dict[str, Any]) -> list[Any]:
    return [entry[f] for f in bundle.ENTRY_FIELDS]


def test_an_entrys_values_in_field_order_fit_and_nulls_fit_anywhere() -> None:
    assert bundle.fits(values(NOTE))
    assert bundle.fits(values(FILE))
    assert bundle.fits([None] * len(bundle.ENTRY_FIELDS))


@pytest.mark.parametrize("field", bundle.ENTRY_FIELDS)
def test_a_value_of_the_wrong_type_in_any_field_does_not_fit(field: str) -> None:
    wrong = "7" if field in INTEGERS else 7
    assert not bundle.fits(values({**FILE, field: wrong}))
    assert not bundle.fits(values({**FILE, field: 7.0}))  # a float is neither
    if field in INTEGERS:
        assert not bundle.fits(values({**FILE, field: True}))  # a bool is not an int here


def test_too_few_or_too_many_values_do_not_fit() -> None:
    assert not bundle.fits(values(FILE)[:-1])
    assert not bundle.fits([*values(FILE), None])
    assert not bundle.fits([])


def test_what_fits_is_what_entry_takes() -> None:
    for entry in (NOTE, FILE):
        assert bundle.entry(dict(zip(bundle.ENTRY_FIELDS, values(entry), strict=True))) == entry


def test_encoded_entries_digest_as_the_entries_do() -> None:
    text = {**NOTE, "id": 3, "key": "ünïcode", "added_by": "sec"}
    entries = [NOTE, FILE, text]
    assert bundle.encoded(text) in bundle.canonical(entries)
    assert bundle.digest_encoded(bundle.encoded(e) for e in entries) == bundle.digest(entries)
    assert bundle.digest_encoded([]) == bundle.digest([])
    assert bundle.digest_encoded([bundle.encoded(FILE), bundle.encoded(NOTE)]) != bundle.digest(entries[:2])
