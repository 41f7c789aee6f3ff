"""The audit chain's hash rule re-computed independently, and every verdict of the stream check in full.

docs/AUDIT.md promises a third party can re-implement the chain in a few lines; the first tests do
exactly that and compare. The rest compare the whole report (every counter, not only the breaks)
for each way a stream can be wrong, so a check that stops counting, forgets where it is or words
a break differently is seen at once.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from signoff.domain.chain import (
    CHAINED_FIELDS,
    EXPORT_FIELDS,
    ChainReport,
    canonical,
    detail_text,
    genesis,
    record_hash,
    verify_stream,
)


def by_hand(record: dict[str, Any]) -> str:
    """The rule as docs/AUDIT.md states it, written without the module."""
    body = json.dumps({k: record[k] for k in CHAINED_FIELDS}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    data = b"signoff.audit.v1\n" + str(record["prev_hash"]).encode("utf-8") + b"\n" + body.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def log(n: int, database_id: str = "db-1", first: int = 1, prev: str | None = None) -> list[dict[str, Any]]:
    prev = genesis(database_id) if prev is None else prev
    out = []
    for seq in range(first, first + n):
        rec: dict[str, Any] = {
            "seq": seq, "recorded_at": f"2026-02-{seq:02d}T09:00:00.000000+00:00", "actor": "sec",
            "roles": "secretary", "item_ref": f"R-{seq}", "event": "item.add", "from_state": None,
            "to_state": "proposed", "outcome": "applied", "detail": detail_text({"n": seq}),
            "workflow_hash": "w", "prev_hash": prev,
        }  # fmt: skip
        rec["hash"] = prev = record_hash(rec)
        out.append(rec)
    return out


def test_the_genesis_value_is_the_tagged_hash_of_the_database_id() -> None:
    assert genesis("db-1") == hashlib.sha256(b"signoff.genesis.v1\ndb-1").hexdigest()
    assert genesis("bürö") == hashlib.sha256("signoff.genesis.v1\nbürö".encode()).hexdigest()


def test_a_record_hash_is_the_documented_rule() -> None:
    rec = log(1)[0]
    assert rec["hash"] == by_hand(rec)
    odd = {**rec, "actor": "Zoë “chair” ☃", "detail": detail_text({"b": "é", "a": None, "c": 2})}
    assert record_hash(odd) == by_hand(odd)
    assert canonical(odd).decode("utf-8").startswith('{"actor":"Zoë “chair” ☃","detail":')
    # Fields outside the chain (the stored hash itself, anything a reader added) are not hashed.
    assert record_hash({**rec, "hash": "x", "extra": 1}) == rec["hash"]


def test_a_tampered_prev_hash_that_is_not_ascii_still_hashes() -> None:
    rec = {**log(1)[0], "prev_hash": "é" * 64}
    assert record_hash(rec) == by_hand(rec)
    rec = {**rec, "prev_hash": 7}
    assert record_hash(rec) == by_hand(rec)


def test_the_detail_column_is_canonical_json() -> None:
    assert detail_text({"b": "é", "a": [1, None]}) == '{"a":[1,null],"b":"é"}'
    assert (*CHAINED_FIELDS, "hash") == EXPORT_FIELDS


def test_an_empty_report_is_ok_and_intact() -> None:
    report = verify_stream([], genesis("db-1"))
    assert report == ChainReport(0, None, None, None, [], [], 0)
    assert report.ok and report.chain_intact


def test_a_whole_log_from_its_genesis() -> None:
    recs = log(3)
    report = verify_stream(recs, genesis("db-1"))
    assert report == ChainReport(3, 1, 3, recs[2]["hash"], [], [], 0)
    assert report.ok and report.chain_intact


def test_an_export_starting_mid_log_takes_its_first_link_on_trust() -> None:
    recs = log(4)
    assert verify_stream(recs[2:], None) == ChainReport(2, 3, 4, recs[3]["hash"], [], [], 0)
    # Checked from the genesis, the same records are missing their start.
    assert verify_stream(recs[2:], genesis("db-1")).broken == [
        (3, "records 1..2 are missing before it; its prev_hash does not match the record before it")
    ]


def test_a_wrong_genesis_is_named_only_at_the_first_record() -> None:
    recs = log(2)
    report = verify_stream(recs, genesis("db-2"))
    assert report == ChainReport(2, 1, 2, recs[1]["hash"], [(1, "its prev_hash is not this database's genesis value")])
    assert not report.ok and not report.chain_intact
    # A record 1 that is not the first record read is a plain broken link, not a genesis problem.
    again = verify_stream([recs[0], recs[0]], genesis("db-1"))
    assert again.broken == [(1, "out of order: expected record 2; its prev_hash does not match the record before it")]
    assert (again.checked, again.first_seq, again.last_seq) == (2, 1, 1)


def test_an_edited_record_is_reported_once_and_the_check_carries_on_from_its_stored_hash() -> None:
    recs = log(4)
    recs[1] = {**recs[1], "actor": "mallory"}
    report = verify_stream(recs, genesis("db-1"))
    assert report == ChainReport(4, 1, 4, recs[3]["hash"], [(2, "its contents do not match its hash")])


def test_a_replaced_hash_breaks_its_record_and_the_next_link() -> None:
    recs = log(3)
    recs[1] = {**recs[1], "hash": "0" * 64}
    assert verify_stream(recs, genesis("db-1")).broken == [
        (2, "its contents do not match its hash"),
        (3, "its prev_hash does not match the record before it"),
    ]


def test_missing_records_in_a_whole_log() -> None:
    recs = log(6)
    report = verify_stream([recs[0], recs[4], recs[5]], genesis("db-1"))
    assert report == ChainReport(
        3, 1, 6, recs[5]["hash"],
        [(5, "records 2..4 are missing before it; its prev_hash does not match the record before it")],
    )  # fmt: skip


def test_records_out_of_order() -> None:
    recs = log(3)
    report = verify_stream([recs[0], recs[2], recs[1]], genesis("db-1"))
    assert report.broken == [
        (3, "records 2..2 are missing before it; its prev_hash does not match the record before it"),
        (2, "out of order: expected record 4; its prev_hash does not match the record before it"),
    ]
    assert (report.first_seq, report.last_seq, report.last_hash) == (1, 2, recs[1]["hash"])


def test_a_filtered_export_may_skip_records_but_its_adjacent_links_are_checked() -> None:
    recs = log(6)
    kept = [recs[1], recs[2], recs[4]]
    assert verify_stream(kept, None, contiguous=False) == ChainReport(3, 2, 5, recs[4]["hash"])
    # Across a gap the link cannot be checked; between neighbours it still is.
    bad_link = [recs[1], {**recs[2], "prev_hash": "f" * 64}, recs[4]]
    bad_link[1]["hash"] = record_hash(bad_link[1])
    assert verify_stream(bad_link, None, contiguous=False).broken == [
        (3, "its prev_hash does not match the record before it")
    ]
    # Going backwards is refused even when gaps are allowed.
    assert verify_stream([recs[2], recs[1]], None, contiguous=False).broken == [(2, "out of order: expected record 4")]
    # From the genesis, a filtered export that starts later has a gap, not a broken genesis.
    assert verify_stream([recs[2]], genesis("db-1"), contiguous=False).broken == []
    assert verify_stream([{**recs[0], "prev_hash": "e" * 64}], genesis("db-1"), contiguous=False).broken == [
        (1, "its prev_hash is not this database's genesis value; its contents do not match its hash")
    ]


def test_an_anchor_that_matches_by_prefix_or_in_full() -> None:
    recs = log(3)
    for digest in (recs[1]["hash"], recs[1]["hash"][:16]):
        report = verify_stream(recs, genesis("db-1"), anchor=(2, digest))
        assert report == ChainReport(3, 1, 3, recs[2]["hash"], [], [], 0)


def test_an_anchor_that_differs_where_the_chain_holds_counts_as_an_anchor_mismatch() -> None:
    recs = log(3)
    report = verify_stream(recs, genesis("db-1"), anchor=(2, "0" * 16))
    assert report == ChainReport(
        3, 1, 3, recs[2]["hash"], [(2, "its hash does not match the anchor read into the minutes")], [], 1
    )
    assert not report.ok and report.chain_intact


def test_an_anchor_that_differs_where_the_chain_is_also_broken_is_a_chain_problem() -> None:
    recs = log(3)
    recs[1] = {**recs[1], "actor": "mallory"}
    report = verify_stream(recs, genesis("db-1"), anchor=(2, "0" * 16))
    assert report.broken == [
        (2, "its contents do not match its hash; its hash does not match the anchor read into the minutes")
    ]
    assert report.anchor_mismatches == 0 and not report.chain_intact


def test_an_anchored_record_beyond_the_log_is_named_with_where_the_log_ends() -> None:
    recs = log(3)
    report = verify_stream(recs, genesis("db-1"), anchor=(5, "a" * 16))
    message = "the anchored record 5 is not in the log (it ends at 3), so the log does not match the anchor"
    assert report == ChainReport(3, 1, 3, recs[2]["hash"], [(5, message)], [], 1)
    assert report.chain_intact
    empty = verify_stream([], genesis("db-1"), anchor=(1, "a" * 16))
    assert empty.broken == [
        (1, "the anchored record 1 is not in the log (it ends at 0), so the log does not match the anchor")
    ]
    assert empty.anchor_mismatches == 1


def test_an_unreadable_line_is_reported_under_the_seq_it_shows() -> None:
    recs = log(4)
    rows: list[dict[str, Any]] = [recs[0], {"_bad": "line 3 is not JSON", "seq": 2}, recs[2], recs[3]]
    report = verify_stream(rows, genesis("db-1"))
    # The record after the bad line cannot be linked to it, so only the bad line is broken.
    assert report == ChainReport(4, 1, 4, recs[3]["hash"], [(2, "line 3 is not JSON")])


def test_an_unreadable_line_without_a_seq_takes_the_next_expected_one() -> None:
    recs = log(3)
    report = verify_stream([recs[0], {"_bad": "garbled", "seq": "2"}, recs[2]], genesis("db-1"))
    assert report.broken == [(2, "garbled")] and report.checked == 3 and report.last_seq == 3
    # With nothing expected yet (mid-log, or the very first row), it is named as record 0 and
    # the next record is taken as it comes.
    report = verify_stream([{"_bad": "garbled"}, recs[1], recs[2]], None)
    assert report == ChainReport(3, 2, 3, recs[2]["hash"], [(0, "garbled")])
    report = verify_stream([{"_bad": "garbled"}, recs[1]], genesis("db-1"))
    assert report.broken == [(1, "garbled")] and report.first_seq == 2


def test_an_unreadable_line_is_named_by_its_own_seq_not_the_expected_one() -> None:
    recs = log(5)
    report = verify_stream([recs[0], {"_bad": "garbled", "seq": 4}, recs[4]], genesis("db-1"))
    assert report.broken == [(4, "garbled")] and report.last_seq == 5
    assert verify_stream([{"_bad": "garbled", "seq": 7}], None).broken == [(7, "garbled")]


def test_after_an_unreadable_line_the_order_is_still_checked() -> None:
    recs = log(4)
    report = verify_stream([recs[0], {"_bad": "garbled", "seq": 2}, recs[3]], genesis("db-1"))
    assert report.broken == [(2, "garbled"), (4, "records 3..3 are missing before it")]


def test_an_anchored_record_met_twice_counts_its_anchor_mismatch_once() -> None:
    recs = log(2)
    report = verify_stream([recs[0], recs[1], recs[1]], genesis("db-1"), anchor=(2, "0" * 16))
    assert [seq for seq, _ in report.broken] == [2, 2]
    assert report.anchor_mismatches == 1 and not report.chain_intact
