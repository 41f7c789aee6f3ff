"""The SQL-rendered export lines are byte for byte what json.JSONEncoder and csv.writer write."""

from __future__ import annotations

import sqlite3
import types
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from signoff.domain import chain
from signoff.services import audit

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
maybe = st.none() | text
record = st.tuples(
    st.integers(min_value=1, max_value=2**62),
    text,
    text,
    text,
    maybe,
    text,
    maybe,
    maybe,
    text,
    text,
    maybe,
    text,
    text,
)


def _render_sql(fmt: str, row: tuple[Any, ...]) -> str:
    conn = sqlite3.connect(":memory:")
    cols = ", ".join(f"? AS {f}" for f in chain.EXPORT_FIELDS)
    return conn.execute(f"SELECT {audit._sql_line(fmt)} FROM (SELECT {cols})", row).fetchone()[0]


@settings(max_examples=300, deadline=None)
@given(record)
def test_sql_lines_match_python(row: tuple[Any, ...]) -> None:
    for fmt in ("jsonl", "csv"):
        assert _render_sql(fmt, row) == audit._python_line(fmt)(row)


def test_probes_cover_every_ascii_character() -> None:
    for fmt in ("jsonl", "csv"):
        for probe in audit._PROBES:
            assert _render_sql(fmt, probe) == audit._python_line(fmt)(probe)


# Cells that are mostly plain, with the characters a timestamp, a ref or a hash holds (some of them
# formula leads when first), so batches pass the plain path's test as often as they fail it.
plainish = st.text(alphabet="ab0-+:T'=@,\"\n\t", max_size=6) | st.text(alphabet="abz09:T-", max_size=20)
mixed = st.one_of(plainish, text)
# Details as the register stores them (JSON objects, only quoted), details that only look like them
# (a NUL byte inside), and anything else (rendered carefully), mixed within one batch.
detail = st.one_of(
    st.just('{"a":1}'),
    st.builds(lambda t: '{"' + t, mixed),
    st.builds(lambda t: '{"' + t + "\0", plainish),
    st.just("{}"),
    mixed,
)
batch_record = st.tuples(
    mixed,
    mixed,
    mixed,
    st.none() | mixed,
    mixed,
    st.none() | mixed,
    st.none() | mixed,
    mixed,
    detail,
    st.none() | mixed,
    mixed,
    mixed,
)


# Short cells that always pass the plain path's test, so the batch is written by the plain path.
safe = st.text(alphabet="abz09:T", max_size=20)
plain_record = st.tuples(safe, safe, safe, st.none() | safe, safe, st.none() | safe, st.none() | safe, safe, detail)
plain_record = plain_record.map(lambda r: (*r, *(("f" * 64,) * 3)))


def _plain_export(rows: list[tuple[Any, ...]]) -> tuple[str, str]:
    """What the plain path writes for ``rows`` (numbered from 1), and what csv.writer writes."""
    conn = sqlite3.connect(":memory:")
    fields = chain.EXPORT_FIELDS
    conn.execute(f"CREATE TABLE audit ({', '.join(fields)})")
    numbered = [(seq, *row) for seq, row in enumerate(rows, 1)]
    conn.executemany(f"INSERT INTO audit VALUES ({', '.join('?' * len(fields))})", numbered)
    reader = types.SimpleNamespace(conn=conn)
    got = audit._plain_lines(reader, "SELECT * FROM audit", (), audit._sql_line("csv"))  # type: ignore[arg-type]
    return got.decode(), "\n".join(audit._python_line("csv")(row) for row in numbered)


@settings(max_examples=300, deadline=None)
@given(st.lists(batch_record, min_size=1, max_size=12))
def test_plain_path_batches_match_python(rows: list[tuple[Any, ...]]) -> None:
    """The CSV export's plain path (a batch tested as a whole, re-rendered carefully if it fails)
    writes exactly what csv.writer writes, whatever mix of plain and awkward records a batch holds."""
    got, expected = _plain_export(rows)
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(plain_record, min_size=1, max_size=12))
def test_plain_batches_with_every_kind_of_detail_match_python(rows: list[tuple[Any, ...]]) -> None:
    """Where every short cell is plain (so the batch takes the plain path), each detail, quoted or
    rendered carefully (a formula lead, no quote), is written as csv.writer would write it."""
    got, expected = _plain_export(rows)
    assert got == expected


def test_a_batch_of_json_details_and_empty_ones_is_written_as_csv_writer_writes_it() -> None:
    rows = [("a", "b", "c", None, "d", None, None, "e", d, None, "h", "h") for d in ('{"x":"y"}', "{}", '{"q":""\n"}')]
    got, expected = _plain_export(rows)
    assert got == expected
    assert got.splitlines()[1] == "2,a,b,c,,d,,,e,{},,h,h"
