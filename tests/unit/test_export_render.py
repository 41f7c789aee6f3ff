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
batch_record = st.tuples(
    mixed,
    mixed,
    mixed,
    st.none() | mixed,
    mixed,
    st.none() | mixed,
    st.none() | mixed,
    mixed,
    st.one_of(st.just('{"a":1}'), mixed),
    st.none() | mixed,
    mixed,
    mixed,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(batch_record, min_size=1, max_size=12))
def test_plain_path_batches_match_python(rows: list[tuple[Any, ...]]) -> None:
    """The CSV export's plain path (a batch tested as a whole, re-rendered carefully if it fails)
    writes exactly what csv.writer writes, whatever mix of plain and awkward records a batch holds."""
    conn = sqlite3.connect(":memory:")
    fields = chain.EXPORT_FIELDS
    conn.execute(f"CREATE TABLE audit ({', '.join(fields)})")
    numbered = [(seq, *row) for seq, row in enumerate(rows, 1)]
    conn.executemany(f"INSERT INTO audit VALUES ({', '.join('?' * len(fields))})", numbered)
    reader = types.SimpleNamespace(conn=conn)
    got = audit._plain_lines(reader, "SELECT * FROM audit", (), audit._sql_line("csv"))  # type: ignore[arg-type]
    assert got.decode() == "\n".join(audit._python_line("csv")(row) for row in numbered)
