"""Property: over random logs, any single-record tampering is reported at exactly the right seq."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signoff.domain import chain

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
NULLABLE = ("item_ref", "from_state", "to_state", "workflow_hash")


@st.composite
def logs(draw: st.DrawFn) -> tuple[str, list[dict[str, object]]]:
    database_id = draw(st.uuids()).hex
    prev = chain.genesis(database_id)
    out: list[dict[str, object]] = []
    for seq in range(1, draw(st.integers(1, 8)) + 1):
        rec: dict[str, object] = {
            "seq": seq,
            "recorded_at": draw(TEXT),
            "actor": draw(TEXT),
            "roles": draw(TEXT),
            "event": draw(TEXT),
            "outcome": draw(st.sampled_from(["applied", "refused"])),
            "detail": chain.detail_text(draw(st.dictionaries(TEXT, TEXT | st.integers(), max_size=3))),
            "prev_hash": prev,
        }
        for f in NULLABLE:
            rec[f] = draw(st.none() | TEXT)
        rec["hash"] = prev = chain.record_hash(rec)
        out.append(rec)
    return chain.genesis(database_id), out


def verify(start: str, log: list[dict[str, object]], anchor: tuple[int, str] | None = None) -> list[int]:
    return [seq for seq, _ in chain.verify_stream(log, start, anchor=anchor).broken]


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(logs())
def test_an_untouched_log_verifies(case: tuple[str, list[dict[str, object]]]) -> None:
    start, log = case
    report = chain.verify_stream(log, start, anchor=(len(log), str(log[-1]["hash"])))
    assert report.ok and report.checked == len(log)


FIELDS = [f for f in chain.EXPORT_FIELDS if f != "seq"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs(), st.data())
def test_one_edited_field_is_reported_at_its_seq(
    case: tuple[str, list[dict[str, object]]], data: st.DataObject
) -> None:
    start, log = case
    anchor = (len(log), str(log[-1]["hash"]))
    k = data.draw(st.integers(0, len(log) - 1), label="record")
    field = data.draw(st.sampled_from(FIELDS), label="field")
    old = log[k][field]
    new = data.draw(((st.none() | TEXT) if field in NULLABLE else TEXT).filter(lambda v: v != old), label="value")
    log[k] = {**log[k], field: new}
    seq = k + 1
    expected = [seq]
    if field == "hash" and seq < len(log):
        expected.append(seq + 1)  # the next record's link to the stored hash breaks too
    assert verify(start, log, anchor) == expected
    assert verify(start, log)[:1] == [seq]  # without the anchor the first break is still this record


@FAST
@given(logs(), st.data())
def test_a_deleted_record_is_reported_at_the_next_seq(
    case: tuple[str, list[dict[str, object]]], data: st.DataObject
) -> None:
    start, log = case
    anchor = (len(log), str(log[-1]["hash"]))
    k = data.draw(st.integers(0, len(log) - 1), label="record")
    del log[k]
    # The next record is reported; a deleted last record is only visible against the anchor.
    assert verify(start, log, anchor) == [min(k + 2, anchor[0])]
    assert verify(start, log) == ([k + 2] if k < len(log) else [])


@FAST
@given(logs(), st.data())
def test_swapped_neighbours_are_reported(case: tuple[str, list[dict[str, object]]], data: st.DataObject) -> None:
    start, log = case
    if len(log) < 2:
        return
    k = data.draw(st.integers(0, len(log) - 2), label="record")
    log[k], log[k + 1] = {**log[k + 1], "seq": k + 1}, {**log[k], "seq": k + 2}
    expected = [k + 1, k + 2] + ([k + 3] if k + 3 <= len(log) else [])
    assert verify(start, log) == expected


@FAST
@given(logs(), st.data())
def test_a_consistently_rehashed_log_is_caught_only_by_the_anchor(
    case: tuple[str, list[dict[str, object]]], data: st.DataObject
) -> None:
    start, log = case
    anchor = (len(log), str(log[-1]["hash"]))
    k = data.draw(st.integers(0, len(log) - 1), label="record")
    log[k] = {**log[k], "actor": str(log[k]["actor"]) + "!"}
    prev = start
    for i, rec in enumerate(log):
        log[i] = {**rec, "prev_hash": prev}
        log[i]["hash"] = prev = chain.record_hash(log[i])
    assert verify(start, log) == []
    assert verify(start, log, anchor) == [anchor[0]]


@given(st.dictionaries(TEXT, TEXT | st.integers() | st.none(), max_size=6), st.randoms())
def test_canonical_form_ignores_key_order(detail: dict[str, object], rnd: random.Random) -> None:
    keys = list(detail)
    rnd.shuffle(keys)
    assert chain.detail_text(detail) == chain.detail_text({k: detail[k] for k in keys})
