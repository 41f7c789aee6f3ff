"""The bundle digest at its edges: an empty note, and a frozen digest that matches neither format."""

from __future__ import annotations

import hashlib

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
