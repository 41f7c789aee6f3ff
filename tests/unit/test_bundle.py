"""The bundle digest: its exact serialisation, every field in it, and submissions frozen before it."""

from __future__ import annotations

import hashlib

import pytest

from signoff.domain import bundle

NOTE = {
    "id": 2,
    "key": "data",
    "kind": "note",
    "sha256": bundle.note_digest("98% screened in a day"),
    "file_name": None,
    "file_size": None,
    "measure": None,
    "value": None,
    "unit": None,
    "period": None,
    "threshold": None,
    "direction": None,
    "dated": "2026-11-20",
    "supersedes": None,
    "added_by": "Zoë",
    "recorded_at": "2026-11-21T09:30:00.000000+00:00",
}
MEASURE = {
    **NOTE,
    "id": 3,
    "kind": "measure",
    "sha256": bundle.measure_digest("A1", "240.0", "days", "2010-13", "639.0", "at-most"),
    "measure": "A1",
    "value": "240.0",
    "unit": "days",
    "period": "2010-13",
    "threshold": "639.0",
    "direction": "at-most",
    "supersedes": 1,
}
FILE = {**NOTE, "id": 1, "kind": "file", "sha256": "ab" * 32, "file_name": "audit.txt", "file_size": 58}
# A value of the right type, different from every value above, for each field.
OTHER = {f: (99 if f in ("id", "file_size", "supersedes") else "changed") for f in bundle.ENTRY_FIELDS}


def entries() -> list[bundle.Entry]:
    return [bundle.entry(e) for e in (MEASURE, FILE, NOTE)]


def test_the_canonical_serialisation_is_the_documented_json() -> None:
    """docs/AUDIT.md states this format; an inspector re-implements it from there."""
    text = bundle.canonical([bundle.entry(NOTE)]).decode("utf-8")
    assert text == (
        '{"evidence":[{"added_by":"Zoë","dated":"2026-11-20","direction":null,"file_name":null,'
        '"file_size":null,"id":2,"key":"data","kind":"note","measure":null,"period":null,'
        '"recorded_at":"2026-11-21T09:30:00.000000+00:00",'
        f'"sha256":"{NOTE["sha256"]}","supersedes":null,"threshold":null,"unit":null,"value":null}}],'
        '"format":"signoff.bundle.v2"}'
    )
    assert bundle.digest([bundle.entry(NOTE)]) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_digest_does_not_depend_on_the_order_records_are_given_in() -> None:
    assert bundle.digest(entries()) == bundle.digest(list(reversed(entries())))
    assert bundle.canonical(entries()).index(b'"id":1') < bundle.canonical(entries()).index(b'"id":3')


@pytest.mark.parametrize("field", bundle.ENTRY_FIELDS)
@pytest.mark.parametrize("record", [NOTE, MEASURE, FILE], ids=["note", "measure", "file"])
def test_every_field_of_every_record_changes_the_digest(field: str, record: dict[str, object]) -> None:
    before = bundle.digest(entries())
    edited = [bundle.entry({**e, field: OTHER[field]}) if e["id"] == record["id"] else e for e in entries()]
    assert bundle.digest(edited) != before


def test_a_record_added_or_removed_changes_the_digest() -> None:
    assert bundle.digest(entries()[:2]) != bundle.digest(entries())
    assert bundle.digest([]) != bundle.digest(entries())


def test_a_stored_row_enters_by_its_recomputed_content_digest() -> None:
    """A note's text and a measure's fields are hashed again, so editing them (and not the stored
    sha256 column) still changes the bundle."""
    row = {**NOTE, "note": "98% screened in a day", "supersedes_id": None}
    del row["supersedes"]
    assert bundle.stored_entry(row) == bundle.entry(NOTE)
    assert bundle.stored_entry({**row, "note": "99% screened in a day"})["sha256"] != NOTE["sha256"]
    measure_row = {**MEASURE, "note": None, "supersedes_id": 1}
    del measure_row["supersedes"]
    assert bundle.stored_entry(measure_row) == bundle.entry(MEASURE)
    assert bundle.stored_entry({**measure_row, "value": "200.0"})["sha256"] != MEASURE["sha256"]
    file_row = {**FILE, "note": None, "supersedes_id": None}
    assert bundle.stored_entry(file_row)["sha256"] == FILE["sha256"]  # a file's bytes are checked in the store


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({k: v for k, v in NOTE.items() if k != "dated"}, "missing"),
        ({**NOTE, "note": "the text itself"}, "extra"),
        ({**NOTE, "id": "2"}, "must be int"),
        ({**NOTE, "file_size": True}, "must be int"),
        ({**NOTE, "value": 240.0}, "must be str"),
    ],
)
def test_an_entry_takes_exactly_its_fields_as_strings_integers_or_null(fields: dict[str, object], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        bundle.entry(fields)


def old_digest(records: list[dict[str, object]]) -> str:
    """The digest submissions were frozen with before every field was covered, as it was written."""
    lines = sorted(f"{r['id']}:{r['key']}:{r['sha256']}:{r['dated']}" for r in records)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def test_a_submission_frozen_under_the_old_digest_is_judged_by_what_that_digest_covered() -> None:
    frozen = old_digest([MEASURE, FILE, NOTE])
    assert bundle.legacy_digest(entries()) == frozen
    assert bundle.as_frozen(frozen, entries()) == frozen  # unchanged: approval may go ahead
    # A note's text or a measure's value edited since: its recomputed digest no longer matches.
    edited = [bundle.entry({**e, "sha256": bundle.note_digest("edited")}) if e["id"] == 2 else e for e in entries()]
    assert bundle.as_frozen(frozen, edited) != frozen
    assert bundle.as_frozen(frozen, entries()[:2]) != frozen


def test_a_new_submission_is_judged_by_every_field() -> None:
    frozen = bundle.digest(entries())
    assert bundle.as_frozen(frozen, entries()) == frozen
    renamed = [bundle.entry({**e, "file_name": "other.txt"}) if e["id"] == 1 else e for e in entries()]
    assert bundle.legacy_digest(renamed) == bundle.legacy_digest(entries())  # the old digest cannot see this
    assert bundle.as_frozen(frozen, renamed) != frozen
    assert bundle.as_frozen(None, entries()) == frozen
