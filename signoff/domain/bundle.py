"""What the board read, as one digest: the canonical serialisation of a bundle of evidence.

Submission freezes this digest and approval recomputes it, so any edit to any field of any
standing evidence record after submission refuses the approval (guard ``bundle_unchanged``).
Everything here takes plain values, so the live approval and a verifier replaying the audit
chain compute the same digest from the same facts (docs/AUDIT.md has the rules):

    entry     = {field: value for field in ENTRY_FIELDS}: each a string, an integer or null
    canonical = JSON {"evidence": [entries by id], "format": "signoff.bundle.v2"},
                keys sorted, separators (",", ":"), non-ASCII as is, UTF-8
    digest    = hex(sha256(canonical))

An entry's ``sha256`` is the digest of what the board read: a file's SHA-256, the SHA-256 of a
note's text, or of a measure's fields. Notes enter by that digest, not their text, so the audit
chain (which carries the digest) is enough to recompute a bundle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMAT = "signoff.bundle.v2"

ENTRY_FIELDS: tuple[str, ...] = (
    "id",
    "key",
    "kind",
    "sha256",
    "file_name",
    "file_size",
    "measure",
    "value",
    "unit",
    "period",
    "threshold",
    "direction",
    "dated",
    "supersedes",
    "added_by",
    "recorded_at",
)
_INTEGERS = frozenset({"id", "file_size", "supersedes"})
_FIELD_SET = frozenset(ENTRY_FIELDS)
_FIELD_TYPES: tuple[tuple[str, type[int] | type[str]], ...] = tuple(
    (f, int if f in _INTEGERS else str) for f in ENTRY_FIELDS
)

Entry = dict[str, "str | int | None"]

_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def note_digest(text: str | None) -> str:
    """The SHA-256 of a note's text, as recorded when the note was added."""
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def measure_digest(
    measure: object, value: object, unit: object, period: object, threshold: object, direction: object
) -> str:
    """The SHA-256 of a measure's fields, as recorded when it was added.

    ``value`` and ``threshold`` are the decimal text the register stores (Python's ``repr`` of the
    number), so the digest never depends on how a float is re-rendered.
    """
    text = f"{measure}|{value}|{unit}|{period}|{threshold}|{direction}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_digest(row: Mapping[str, Any]) -> str:
    """The digest of what the board read in one stored evidence row (the table's column names):
    recomputed from a note's text or a measure's fields; a file's recorded SHA-256."""
    kind = row.get("kind")
    if kind == "note":
        return note_digest(row.get("note"))
    if kind == "measure":
        fields = ("measure", "value", "unit", "period", "threshold", "direction")
        return measure_digest(*(row.get(f) for f in fields))
    return str(row.get("sha256"))


def entry(fields: Mapping[str, Any]) -> Entry:
    """One record's entry from exactly ENTRY_FIELDS (plain values, e.g. replayed from the chain)."""
    if fields.keys() != _FIELD_SET:
        missing = [f for f in ENTRY_FIELDS if f not in fields]
        extra = sorted(set(fields) - set(ENTRY_FIELDS))
        raise ValueError(f"a bundle entry needs exactly {', '.join(ENTRY_FIELDS)} (missing {missing}, extra {extra})")
    out: Entry = {}
    for name, wanted in _FIELD_TYPES:
        value = fields[name]
        if value is not None and (type(value) is not wanted):
            raise ValueError(f"bundle entry field {name} must be {wanted.__name__} or null, not {value!r}")
        out[name] = value
    return out


def fits(values: Sequence[Any]) -> bool:
    """Whether ``values``, in ENTRY_FIELDS order, are ones ``entry`` takes: each its field's type, or null."""
    return len(values) == len(_FIELD_TYPES) and all(
        value is None or type(value) is wanted for value, (_, wanted) in zip(values, _FIELD_TYPES, strict=True)
    )


def stored_entry(row: Mapping[str, Any]) -> Entry:
    """The entry for one evidence row as the table holds it (``note``, ``supersedes_id`` …),
    with its content digest recomputed so that an edited note or measure shows.

    What ``entry`` makes of the same fields, in one pass (a transition builds one per record)."""
    get = row.get
    out: Entry = {}
    for name, wanted in _FIELD_TYPES:
        value: Any
        if name == "sha256":
            value = content_digest(row)
        elif name == "supersedes":
            value = get("supersedes_id")
        else:
            value = get(name)
        if value is not None and (type(value) is not wanted):
            raise ValueError(f"bundle entry field {name} must be {wanted.__name__} or null, not {value!r}")
        out[name] = value
    return out


def canonical(entries: Iterable[Entry]) -> bytes:
    ordered = sorted(entries, key=lambda e: (e["id"] is None, e["id"] or 0))
    return _dumps({"evidence": ordered, "format": FORMAT}).encode("utf-8")


def digest(entries: Iterable[Entry]) -> str:
    """The digest a submission freezes and an approval recomputes."""
    return hashlib.sha256(canonical(entries)).hexdigest()


def encoded(entry: Entry) -> bytes:
    """One entry as ``canonical`` writes it: for a caller that keeps entries and digests them
    again and again as they come and go (``digest_encoded``)."""
    return _dumps(entry).encode("utf-8")


_HEAD, _TAIL = b'{"evidence":[', b'],"format":' + _dumps(FORMAT).encode("utf-8") + b"}"


def digest_encoded(entries: Iterable[bytes]) -> str:
    """``digest`` of entries given as ``encoded`` makes them, in id order."""
    return hashlib.sha256(_HEAD + b",".join(entries) + _TAIL).hexdigest()


def legacy_digest(entries: Iterable[Entry]) -> str:
    """The digest submissions were frozen with before the bundle covered every field: each
    record's id, key, digest and date. Computed from the recomputed content digest, so a note
    or measure edited since still shows."""
    lines = sorted(f"{e['id']}:{e['key']}:{e['sha256']}:{e['dated']}" for e in entries)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def as_frozen(frozen: str | None, entries: Iterable[Entry], current: str | None = None) -> str:
    """The current bundle's digest in the format ``frozen`` was made in, to compare with it.

    A submission made before the bundle covered every field is judged by the fields its digest
    covers (id, key, date, and the content of files, notes and measures); everything made since,
    by every field. The two formats cannot be confused: a collision between them is a SHA-256
    collision. ``current`` is ``digest(entries)`` where the caller has it already.
    """
    entries = list(entries)
    current = current or digest(entries)
    if frozen is None or frozen == current:
        return current
    legacy = legacy_digest(entries)
    return legacy if legacy == frozen else current
