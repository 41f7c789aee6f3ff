"""The SQL-rendered export lines are byte for byte what json.JSONEncoder and csv.writer write."""

from __future__ import annotations

import sqlite3
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
