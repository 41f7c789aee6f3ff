"""Completeness of an export of some items: each record of an item names the item's previous record.

The audit writer adds ``"item_prev"`` (the seq of the item's previous record, 0 for its first) to the
detail of every record that has an item_ref. A filtered export (``--item``) has gaps in seq by design,
so the hash chain cannot show a record deleted from it; these links can.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class MalformedDetail(ValueError):
    """A detail that is not one flat JSON object with unique keys and a whole-number item_prev."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedDetail(f"the key {key!r} appears twice")
        out[key] = value
    return out


def item_prev(detail: object) -> int | None:
    """The link a record's detail carries, or None for a record written before links existed."""
    if not isinstance(detail, str):
        raise MalformedDetail("its detail is not text")
    try:
        parsed = json.loads(detail, object_pairs_hook=_unique)
    except RecursionError:
        raise MalformedDetail("its detail is nested too deeply") from None
    except ValueError as err:
        raise MalformedDetail(f"its detail is not JSON ({err})") from None
    if not isinstance(parsed, dict):
        raise MalformedDetail("its detail is not a JSON object")
    if "item_prev" not in parsed:
        return None
    link = parsed["item_prev"]
    if isinstance(link, bool) or not isinstance(link, int) or link < 0:
        raise MalformedDetail(f"its item_prev {link!r} is not a whole number")
    return link


@dataclass
class ItemLinks:
    """Fed every record of a file in order; collects broken links and what it could not prove."""

    first_seq: int | None = None
    broken: list[tuple[int, str]] = field(default_factory=list)
    unlinked: list[int] = field(default_factory=list)  # item records written before links existed
    starts_after: dict[str, int] = field(default_factory=dict)  # item -> its record before the file
    _last: dict[str, int] = field(default_factory=dict)

    def see(self, record: Mapping[str, Any]) -> None:
        seq = int(record["seq"])
        if self.first_seq is None:
            self.first_seq = seq
        ref = record.get("item_ref")
        if ref is None:
            return
        try:
            link = item_prev(record.get("detail"))
        except MalformedDetail as err:
            self.broken.append((seq, str(err)))
            return
        held = self._last.get(ref)
        self._last[ref] = seq
        if link is None:
            self.unlinked.append(seq)
            return
        if held is None:
            if link >= self.first_seq:
                self.broken.append((seq, f"record {link}, the previous record of {ref}, is missing from the file"))
            elif link:
                self.starts_after[ref] = link
        elif link > held:
            self.broken.append((seq, f"record {link}, the previous record of {ref}, is missing from the file"))
        elif link != held:
            self.broken.append((seq, f"its link to the previous record of {ref} ({link}) is not record {held}"))

    def notes(self) -> list[str]:
        """What the file cannot prove, in sentences: never accepted silently."""
        out = []
        if self.unlinked:
            out.append(
                f"{len(self.unlinked)} item record(s) (from record {self.unlinked[0]} to {self.unlinked[-1]}) were "
                "written before records carried item links: the file cannot prove none is missing between them"
            )
        for ref, link in sorted(self.starts_after.items()):
            out.append(f"{ref} starts after its record {link}, which is before the file begins")
        return out
