"""The packed state replay keeps per item: matrix rows and standing evidence behave as the dicts they replace."""

from __future__ import annotations

import json

import pytest

from signoff.domain import bundle
from signoff.engine.replay import _ABSENT, Matrix, Standing


def test_matrix_rows_come_back_in_the_order_they_were_made_a_row_made_again_after_removal_last() -> None:
    m = Matrix()
    m.put([("A", "k1", "one", "2025-01-01", "Lead"), ("B", "k1", "two", "2025-02-01", None)])
    m.put([("A", "k2", "three", "2025-03-01", "Lead")])
    m.remove("A", "k1")
    m.put([("A", "k1", "again", "2025-04-01", "Other")])
    m.put([("B", "k1", "two, edited", "2025-02-01", None)])  # made again in place: keeps its turn
    m.move("A", "k2", "2025-05-01")
    assert list(m.rows().items()) == [
        (("B", "k1"), ("two, edited", "2025-02-01", None)),
        (("A", "k2"), ("three", "2025-05-01", "Lead")),
        (("A", "k1"), ("again", "2025-04-01", "Other")),
    ]
    assert m.due("A", "k2") == "2025-05-01"
    assert m.due("A", "nope") is _ABSENT and m.due("C", "k1") is _ABSENT


def test_taking_matrix_rows_pops_each_once_and_leaves_the_untaken_in_made_order() -> None:
    m = Matrix()
    m.put([("A", f"k{n}", f"row {n}", "2025-01-01", None) for n in range(4)] + [("B", "k0", "b", None, "X")])
    taken = m.taker()
    assert taken.pop(("B", "k0")) == ("b", None, "X")
    assert taken.pop(("B", "k0")) is None
    assert taken.pop(("A", "k2")) == ("row 2", "2025-01-01", None)
    assert taken.pop((None, "k1")) is None
    assert list(taken) == [("A", "k0"), ("A", "k1"), ("A", "k3")]


def test_a_row_that_cannot_be_made_leaves_the_rows_before_it_made() -> None:
    m = Matrix()
    seen: list[str] = []
    with pytest.raises(TypeError):
        m.put([("A", "k1", "one", None, None), ("A", ["unhashable"], "two", None, None)], seen.append)
    assert seen == ["A", "A"]
    assert m.rows() == {("A", "k1"): ("one", None, None)}


def test_standing_evidence_keeps_id_order_and_removes_by_id_only_for_its_item() -> None:
    s = Standing()
    for ev_id, ref in ((3, "A"), (5, "B"), (12, "A"), (31, "A")):
        s.add(ref, json.dumps([ev_id, f"key-{ev_id}"], separators=(",", ":")).encode())
    assert s.get("A", 1) is None and s.get("A", 12) == b'[12,"key-12"]'
    assert not s.remove("B", 3) and not s.remove("A", "3")
    assert s.remove("A", 3) and not s.remove("A", 3)
    assert s.entries("A") == [b'[12,"key-12"]', b'[31,"key-31"]']
    assert s.remove("B", 5) and s.entries("B") == []


@pytest.mark.parametrize("ref", ["A", 7], ids=["text ref, in the scratch file", "forged number ref, in memory"])
def test_standing_evidence_is_removed_for_its_row_only_when_a_key_is_given(ref: object) -> None:
    s = Standing()
    for ev_id, key in ((4, "k1"), (9, "k2"), (40, "k1")):
        s.add(ref, json.dumps([ev_id, key, "file"], separators=(",", ":")).encode())
    assert not s.remove(ref, 4, b'"k2"') and not s.remove(ref, 4, b'"k"')
    assert s.remove(ref, 4, b'"k1"') and not s.remove(ref, 4, b'"k1"')
    assert s.remove(ref, 40) and s.entries(ref) == [b'[9,"k2","file"]']
    s.close()
    assert s.entries(ref) == []


def test_a_bundle_digested_from_its_encoded_entries_is_the_bundle_digest() -> None:
    entries = [
        bundle.entry({f: None for f in bundle.ENTRY_FIELDS} | {"id": 3, "key": "k", "kind": "note", "sha256": "ab"}),
        bundle.entry({f: None for f in bundle.ENTRY_FIELDS} | {"id": 8, "key": "é", "file_size": 12, "dated": "x"}),
    ]
    assert bundle.digest_encoded([bundle.encoded(e) for e in entries]) == bundle.digest(entries)
    assert bundle.digest_encoded([]) == bundle.digest([])
    assert bundle.digest_encoded([bundle.encoded(entries[0])]) != bundle.digest(entries)
