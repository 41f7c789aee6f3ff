"""Imports and read views that grow with the register work a part at a time: the same results as
before for small registers, whole-file-or-nothing for large ones, and JSON that is still one value."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY, write_matrix

from signoff.domain import matrix
from signoff.errors import BadInput
from signoff.render import output
from signoff.services import audit, views
from signoff.services.matrix import PART_ROWS, import_matrix

KIND = "ofsted-recommendation"
ROWS_PER_ITEM = 3
ITEMS = PART_ROWS  # three parts' worth of rows: the import is recorded in several audit records


def row(i: int, k: int, **kw: str) -> tuple[str, ...]:
    values = {
        "item_ref": f"BX-{i:05d}",
        "item_kind": KIND,
        "item_title": f"Recommendation {i} — café review",
        "item_due": "2031-12-31",
        "evidence_key": f"key-{k}",
        "evidence_description": f"Evidence {k} for item {i}",
        "present_by": f"2031-{1 + (i + k) % 12:02d}-01",
    }
    values.update(kw)
    return tuple(values[c] for c in matrix.REQUIRED_COLUMNS)


def rows(items: int = ITEMS) -> list[tuple[str, ...]]:
    return [row(i, k) for i in range(items) for k in range(ROWS_PER_ITEM)]


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("items", "matrix_rows", "audit")}


def refused(db: Path, event: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [
            d for (d,) in conn.execute("SELECT detail FROM audit WHERE event = ? AND outcome = 'refused'", (event,))
        ]


def test_a_large_matrix_is_recorded_in_parts_that_replay_to_the_same_tables(db_path: Path, tmp_path: Path) -> None:
    result = import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows()))
    assert (result.items_created, result.rows_created) == (ITEMS, ITEMS * ROWS_PER_ITEM)
    with sqlite3.connect(db_path) as conn:
        parts = [json.loads(d) for (d,) in conn.execute("SELECT detail FROM audit WHERE event = 'matrix.import'")]
    assert len(parts) == ROWS_PER_ITEM and [p["part"] for p in parts] == [1, 2, 3]
    assert sum(len(p["items"]) for p in parts) == ITEMS
    assert sum(len(p["rows"]) for p in parts) == ITEMS * ROWS_PER_ITEM
    report, _, reconciled = audit.verify_register(db_path)
    assert report.ok and reconciled.problems == [] and reconciled.differences == []
    again = import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows()))
    assert (again.items_created, again.items_existing, again.rows_unchanged) == (0, ITEMS, ITEMS * ROWS_PER_ITEM)


def test_a_small_matrix_is_still_one_record_without_parts(db_path: Path, tmp_path: Path) -> None:
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows(5)))
    with sqlite3.connect(db_path) as conn:
        (detail,) = conn.execute("SELECT detail FROM audit WHERE event = 'matrix.import'").fetchone()
    assert set(json.loads(detail)) == {"file", "sha256", "items", "rows", "rows_unchanged", "rows_left_out"}


def test_an_item_whose_rows_are_scattered_imports_as_if_they_were_together(db_path: Path, tmp_path: Path) -> None:
    scattered = [row(i, k) for k in range(ROWS_PER_ITEM) for i in range(40)]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "s.csv", scattered))
    with sqlite3.connect(db_path) as conn:
        got = conn.execute(
            "SELECT i.ref, m.key FROM matrix_rows m JOIN items i ON i.id = m.item_id ORDER BY m.id"
        ).fetchall()
    # Written item by item in the order items first appear, each with its rows in file order.
    assert got == [(f"BX-{i:05d}", f"key-{k}") for i in range(40) for k in range(ROWS_PER_ITEM)]
    report, _, reconciled = audit.verify_register(db_path)
    assert report.ok and reconciled.differences == []


def test_a_key_repeated_far_from_its_first_row_is_found(db_path: Path, tmp_path: Path) -> None:
    repeated = [*rows(), row(0, 1), row(7, 0, item_kind="improvement-notice")]
    before = counts(db_path)
    with pytest.raises(BadInput) as info:
        import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", repeated))
    last = len(repeated) + 1
    assert str(info.value).splitlines()[1:] == [
        f"line {last - 1}: evidence_key 'key-1' appears twice for BX-00000",
        f"line {last}: item_kind 'improvement-notice' conflicts with '{KIND}' on line {2 + 7 * ROWS_PER_ITEM}",
    ]
    assert counts(db_path) == before


def test_a_bad_last_row_of_a_large_file_writes_nothing(db_path: Path, tmp_path: Path) -> None:
    bad = [*rows(), row(ITEMS, 0, present_by="2031-13-01")]
    before = counts(db_path)
    with pytest.raises(BadInput, match=f"line {len(bad) + 1}: present_by"):
        import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", bad))
    assert counts(db_path) == before  # the file is refused before the register is opened, as ever


def test_a_last_row_the_register_refuses_rolls_back_every_part_and_is_audited(db_path: Path, tmp_path: Path) -> None:
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "one.csv", [row(ITEMS, 0)]))
    before = counts(db_path)
    clash = [*rows(), row(ITEMS, 0, evidence_description="changed")]
    with pytest.raises(BadInput) as info:
        import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", clash))
    assert str(info.value).splitlines()[1:] == [
        f"line {len(clash) + 1}: BX-{ITEMS:05d} already has a different 'key-0' row"
    ]
    after = counts(db_path)
    assert (after["items"], after["matrix_rows"]) == (before["items"], before["matrix_rows"])
    assert after["audit"] == before["audit"] + 1
    assert len(refused(db_path, "matrix.import")) == 1


def _captured(write: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> str:
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stdout", buffer)
    write()
    return buffer.getvalue()


VALUES: list[Any] = [
    [],
    [{}],
    [{"a": 1, "b": [1, 2, {"c": None}], "é": "line\nbreak\ttab — ünïcode", "t": True}],
    [{"x": []}, {"y": {}}, 3, "s", None],
]


@pytest.mark.parametrize("items", VALUES)
def test_a_streamed_json_array_is_the_text_json_dumps_gives(items: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    streamed = _captured(lambda: output.emit_json_array(iter(items)), monkeypatch)
    whole = _captured(lambda: output.emit_json(items), monkeypatch)
    assert streamed == whole and json.loads(streamed) == items


@pytest.mark.parametrize("items", VALUES)
def test_a_streamed_json_object_is_the_text_json_dumps_gives(items: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"as_of": "2026-01-01", "items": items, "counts": {"red": 1}, "limbo": items[:1], "head": None}
    fields = [(k, output.Streamed(iter(v)) if k in ("items", "limbo") else v) for k, v in value.items()]
    streamed = _captured(lambda: output.emit_json_object(fields), monkeypatch)
    assert streamed == _captured(lambda: output.emit_json(value), monkeypatch)


def test_a_json_array_is_written_before_its_next_element_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr("sys.stdout", buffer)
    seen: list[int] = []

    def items() -> Iterator[dict[str, int]]:
        for n in range(3):
            seen.append(len(buffer.getvalue()))
            yield {"n": n}

    output.emit_json_array(items())
    assert seen[0] == 0 and seen[1] < seen[2]  # each element is out before the next is asked for


def test_the_item_stream_reads_lazily_and_a_list_is_the_same_rows(db_path: Path, tmp_path: Path) -> None:
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows(30)))
    with views.item_stream(db_path) as stream:
        assert isinstance(stream, Iterator)
        first = next(stream)
        rest = list(stream)
    assert [first, *rest] == views.item_rows(db_path)
    assert [r["ref"] for r in [first, *rest]] == sorted(f"BX-{i:05d}" for i in range(30))


def test_board_and_item_list_json_parse_and_match_the_views(
    db_path: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows(30)))
    board = json.loads(run_cli("board", "--json", db=db_path).out)
    assert board == views.board(db_path)
    order = [(("red", "amber", "green").index(i["rag"]), i["ref"]) for i in board["items"]]
    assert order == sorted(order) and len(order) == 30
    listed = json.loads(run_cli("item", "list", "--json", db=db_path).out)
    assert listed == views.item_rows(db_path) and len(listed) == 30


def test_a_matrix_in_parts_replays_on_either_backend(register_db: Path | str, tmp_path: Path) -> None:
    before = len(views.item_rows(register_db))
    result = import_matrix(register_db, SECRETARY, write_matrix(tmp_path / "m.csv", rows()))
    assert result.rows_created == ITEMS * ROWS_PER_ITEM
    assert len(views.item_rows(register_db)) == before + ITEMS
    report, _, reconciled = audit.verify_register(register_db)
    assert report.ok and reconciled.problems == [] and reconciled.differences == []


@pytest.mark.parametrize("items", VALUES)
def test_json_elements_encoded_ahead_are_the_text_json_dumps_gives(
    items: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    element = output.json_element("  ")
    text = "".join(element(item) for item in items)
    blocks = ["", text[:1], text[1:7], "", text[7:]]  # split anywhere, empty blocks included
    value = {"as_of": "2026-01-01", "items": items, "limbo": [], "head": None}
    fields = [
        ("as_of", "2026-01-01"),
        ("items", output.Encoded(iter(blocks))),
        ("limbo", output.Encoded(iter([""]))),
        ("head", None),
    ]
    encoded = _captured(lambda: output.emit_json_object(fields), monkeypatch)
    assert encoded == _captured(lambda: output.emit_json(value), monkeypatch)


def test_text_spools_past_their_budget_read_back_every_piece_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views.TextSpool, "BUDGET", 50)
    new = views.TextSpool.board()
    spools = [new(), new()]
    written: list[list[str]] = [[], []]
    for n in range(40):
        piece = f"line {n} — é\r\n" if n % 7 == 0 else f"line {n}\n"  # carriage returns kept as written
        spools[n % 3 == 0].add(piece)
        written[n % 3 == 0].append(piece)
    assert all(s.file is not None for s in spools)  # both went to their files
    try:
        for spool, pieces in zip(spools, written, strict=True):
            assert "".join(spool.blocks()) == "".join(pieces) and len(spool) == len(pieces)
    finally:
        for spool in spools:
            spool.close()
