"""The evidence matrix CSV: the whole file is validated first and every bad line is reported."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from conftest import SECRETARY, write_matrix

from signoff.domain import matrix
from signoff.errors import BadInput
from signoff.services.matrix import import_matrix

HEADER = ",".join(matrix.REQUIRED_COLUMNS)


def row(ref: str = "OF-01", key: str = "audit", **kw: str) -> tuple[str, ...]:
    values = {
        "item_ref": ref,
        "item_kind": "ofsted-recommendation",
        "item_title": f"Title of {ref}",
        "item_due": "2013-12-31",
        "evidence_key": key,
        "evidence_description": f"{key} evidence",
        "present_by": "2013-11-30",
    }
    values.update(kw)
    return tuple(values[c] for c in matrix.REQUIRED_COLUMNS)


def csv_bytes(*rows: tuple[str, ...], header: str = HEADER, eol: str = "\n") -> bytes:
    return (eol.join([header, *(",".join(r) for r in rows)]) + eol).encode("utf-8")


def test_a_good_file_groups_rows_by_item() -> None:
    specs = matrix.parse_csv(
        csv_bytes(row(), row(key="policy"), row("IN-01", "a1", item_kind="improvement-notice")), "m.csv"
    )
    assert [(s.ref, s.kind, [r.key for r in s.rows]) for s in specs] == [
        ("OF-01", "ofsted-recommendation", ["audit", "policy"]),
        ("IN-01", "improvement-notice", ["a1"]),
    ]
    assert specs[0].due == dt.date(2013, 12, 31)
    assert specs[0].rows[1].present_by == dt.date(2013, 11, 30) and specs[0].rows[1].line == 3


def test_utf8_bom_and_crlf_from_excel_are_accepted() -> None:
    title = "Caf\u00e9 r\u00e9view"
    data = b"\xef\xbb\xbf" + csv_bytes(row(item_title=title), row(key="policy", item_title=title), eol="\r\n")
    assert data.count(b"\r\n") == 3
    specs = matrix.parse_csv(data, "excel.csv")
    assert len(specs) == 1 and specs[0].ref == "OF-01" and specs[0].title == "Caf\u00e9 r\u00e9view"
    assert [r.key for r in specs[0].rows] == ["audit", "policy"]
    assert all(not r.description.endswith("\r") for r in specs[0].rows)


def test_headers_with_stray_spaces_are_accepted() -> None:
    header = ", ".join(matrix.REQUIRED_COLUMNS)
    specs = matrix.parse_csv(csv_bytes(row(), header=header), "m.csv")
    assert specs[0].ref == "OF-01"


BAD_ROWS: list[tuple[str, list[tuple[str, ...]], str]] = [
    ("duplicate key", [row(), row()], "line 3: evidence_key 'audit' appears twice for OF-01"),
    (
        "conflicting title",
        [row(), row(key="policy", item_title="Other")],
        "line 3: item_title conflicts with the title on line 2",
    ),
    (
        "conflicting kind",
        [row(), row(key="p", item_kind="improvement-notice")],
        "line 3: item_kind 'improvement-notice' conflicts",
    ),
    ("conflicting due", [row(), row(key="p", item_due="2014-01-01")], "line 3: item_due conflicts"),
    ("unknown kind", [row(item_kind="ofsted")], "line 2: item_kind 'ofsted' is not one of"),
    ("bad present_by", [row(present_by="30/11/2013")], "line 2: present_by '30/11/2013' is not a YYYY-MM-DD date"),
    ("impossible date", [row(present_by="2013-02-30")], "present_by '2013-02-30'"),
    ("bad item_due", [row(item_due="2013-1-5")], "item_due '2013-1-5'"),
    ("bad ref", [row(ref="-bad ref")], "item_ref '-bad ref' is not a valid ref"),
    ("bad key", [row(key="has space")], "evidence_key 'has space' is not a valid key"),
    ("empty title", [row(item_title="")], "item_title is empty"),
]


@pytest.mark.parametrize(("what", "rows", "fragment"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_each_kind_of_bad_row_is_rejected(what: str, rows: list[tuple[str, ...]], fragment: str) -> None:
    with pytest.raises(BadInput) as info:
        matrix.parse_csv(csv_bytes(*rows), "m.csv")
    assert fragment in str(info.value)
    assert "nothing was imported" in str(info.value)


def test_every_bad_line_is_listed_not_just_the_first() -> None:
    data = csv_bytes(
        row("OF-01", "a"),
        row("OF-01", "b", present_by="soon"),
        row("OF-02", "a"),
        row("OF-03", "a", item_kind="nope"),
        row("OF-02", "a"),
        row("OF-04", "a"),
    )
    with pytest.raises(BadInput) as info:
        matrix.parse_csv(data, "m.csv")
    message = str(info.value)
    assert "has 3 bad row(s)" in message
    for line in (3, 5, 6):
        assert f"line {line}:" in message
    for line in (2, 4, 7):
        assert f"line {line}:" not in message


def test_a_missing_column_is_named() -> None:
    header = ",".join(c for c in matrix.REQUIRED_COLUMNS if c != "present_by")
    with pytest.raises(BadInput, match="missing column\\(s\\) present_by"):
        matrix.parse_csv(csv_bytes(row()[:-1], header=header), "m.csv")


def test_wrong_number_of_columns_is_a_bad_line() -> None:
    data = csv_bytes(row(), row(key="b")[:-2], (*row(key="c"), "extra"))
    with pytest.raises(BadInput) as info:
        matrix.parse_csv(data, "m.csv")
    assert str(info.value).splitlines()[1:] == [
        "line 3: wrong number of columns (expected 7, found 5)",
        "line 4: wrong number of columns (expected 7, found 8)",
    ]


def test_non_utf8_and_empty_files_are_refused() -> None:
    with pytest.raises(BadInput, match="not UTF-8"):
        matrix.parse_csv(csv_bytes(row(item_title="Caf\u00e9")).decode().encode("cp1252"), "m.csv")
    with pytest.raises(BadInput, match="has no rows"):
        matrix.parse_csv(csv_bytes(), "m.csv")


def _counts(db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(db) as conn:
        return tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("items", "matrix_rows", "audit"))  # type: ignore[return-value]


def test_import_writes_nothing_when_any_line_is_bad(db_path: Path, tmp_path: Path) -> None:
    before = _counts(db_path)
    bad = write_matrix(tmp_path / "m.csv", [row("OF-01", "a"), row("OF-02", "a"), row("OF-03", "a", present_by="x")])
    with pytest.raises(BadInput, match="line 4"):
        import_matrix(db_path, SECRETARY, bad)
    assert _counts(db_path) == before


def test_import_of_bom_crlf_bytes_through_the_service(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes(row(), row(key="policy"), row("OF-02", "x"), eol="\r\n"))
    result = import_matrix(db_path, SECRETARY, path)
    assert (result.items_created, result.rows_created) == (2, 3)
    again = import_matrix(db_path, SECRETARY, path)
    assert (again.items_created, again.items_existing, again.rows_created, again.rows_unchanged) == (0, 2, 0, 3)


def test_import_conflicting_with_the_register_writes_nothing(db_path: Path, tmp_path: Path) -> None:
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "one.csv", [row()]))
    before = _counts(db_path)
    changed = write_matrix(tmp_path / "two.csv", [row("OF-09", "x"), row(evidence_description="changed")])
    with pytest.raises(BadInput, match="already has a different 'audit' row"):
        import_matrix(db_path, SECRETARY, changed)
    items, rows, audit = _counts(db_path)
    assert (items, rows) == before[:2]
    assert audit == before[2] + 1  # the refused import is on the record, and nothing else was written
