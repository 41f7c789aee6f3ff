"""The audit chain's anchors and the check of a stream from its genesis, word for word."""

from __future__ import annotations

from typing import Any

import pytest

from signoff.domain.chain import genesis, parse_anchor, record_hash, verify_stream
from signoff.errors import BadInput


def chained(n: int, database_id: str = "db-1") -> list[dict[str, Any]]:
    prev, out = genesis(database_id), []
    for seq in range(1, n + 1):
        rec: dict[str, Any] = {
            "seq": seq, "recorded_at": f"2026-01-0{seq}T00:00:00.000000+00:00", "actor": "sec",
            "roles": "secretary", "item_ref": None, "event": "meeting.add", "from_state": None, "to_state": None,
            "outcome": "applied", "detail": "{}", "workflow_hash": "w", "prev_hash": prev,
        }  # fmt: skip
        rec["hash"] = prev = record_hash(rec)
        out.append(rec)
    return out


def test_a_stream_from_its_genesis_starts_at_record_one() -> None:
    recs = chained(3)
    assert verify_stream(recs, genesis("db-1")).broken == []
    assert verify_stream(recs[1:], genesis("db-1")).broken == [
        (2, "records 1..1 are missing before it; its prev_hash does not match the record before it")
    ]
    assert verify_stream(recs[1:], None).broken == []
    assert verify_stream(recs, genesis("db-2")).broken == [(1, "its prev_hash is not this database's genesis value")]


RULE = "is not SEQ:HASH: copy it as 'signoff audit head' prints it (the hash may be shortened to its first 16 or more hex digits)."


def test_anchors_are_read() -> None:
    assert parse_anchor(" 12:ABCDEF0123456789 ") == (12, "abcdef0123456789")
    assert parse_anchor("7:" + "a" * 64) == (7, "a" * 64)


@pytest.mark.parametrize(
    "text",
    ["", "12", "x:0123456789abcdef", "١٢:0123456789abcdef", "12:0123456789abcde", "12:" + "a" * 65,
     "12:0123456789abcdeg", "12:0123456789abcdef:00", ":0123456789abcdef"],
)  # fmt: skip
def test_a_bad_anchor_is_refused_in_words(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_anchor(text)
    assert str(caught.value) == f"anchor {text!r} {RULE}"


def test_no_anchor_text_at_all() -> None:
    with pytest.raises(BadInput) as caught:
        parse_anchor(None)  # type: ignore[arg-type]
    assert str(caught.value) == f"anchor None {RULE}"
