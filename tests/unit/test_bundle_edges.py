"""The bundle digest at its edges: an empty note, and a frozen digest that matches neither format."""

from __future__ import annotations

import hashlib
import json

import pytest

from signoff.domain import bundle

NOTE: dict[str, object] = {
    **dict.fromkeys(bundle.ENTRY_FIELDS),
    "id": 1,
    "key": "data",
    "kind": "note",
    "sha256": bundle.note_digest("text"),
    "dated": "2026-11-20",
    "added_by": "sec",
    "recorded_at": "2026-11-21T09:30:00.000000+00:00",
}


def test_a_note_without_text_has_the_digest_of_empty_text() -> None:
    assert bundle.note_digest(None) == bundle.note_digest("") == hashlib.sha256(b"").hexdigest()


def test_a_frozen_digest_matching_neither_format_is_compared_with_the_current_full_digest() -> None:
    entries = [bundle.entry(NOTE)]
    current = bundle.digest(entries)
    assert bundle.as_frozen("0" * 64, entries) == current
    assert bundle.as_frozen(None, entries) == current
    assert bundle.as_frozen(bundle.legacy_digest(entries), entries) == bundle.legacy_digest(entries)


def test_entries_are_ordered_by_id_from_zero_with_unnumbered_ones_last() -> None:
    zero, one, none = (bundle.entry({**NOTE, "id": i}) for i in (0, 1, None))
    order = [e["id"] for e in json.loads(bundle.canonical([none, one, zero]))["evidence"]]
    assert order == [0, 1, None]
    assert [e["id"] for e in json.loads(bundle.canonical([one, zero]))["evidence"]] == [0, 1]


def test_an_entry_with_fields_missing_or_extra_names_them_all() -> None:
    fields = {k: v for k, v in NOTE.items() if k != "key"} | {"colour": "red"}
    with pytest.raises(ValueError) as info:
        bundle.entry(fields)
    assert str(info.value) == (
        f"a bundle entry needs exactly {', '.join(bundle.ENTRY_FIELDS)} (missing ['key'], extra ['colour'])"
    )
