"""Exports that open safely in a spreadsheet and verify strictly: complete, well-formed, anchored."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY, days_ago, write_matrix
from signing import fire_event
from test_audit_doc import verifier_source

from signoff.domain import chain
from signoff.errors import Refused
from signoff.services import audit
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.register import add_user

FORMULA = '=HYPERLINK("http://evil","x")'


@pytest.fixture
def register(db_path: Path, tmp_path: Path) -> Path:
    """Two items with a few records each, and a member whose name a spreadsheet would run as a formula."""
    due = days_ago(-30).isoformat()
    rows = [(ref, "ofsted-recommendation", f"T {ref}", "", "audit", "audit", due) for ref in ("OF-01", "OF-02")]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    add_user(db_path, SECRETARY, FORMULA, ["member"])
    add_user(db_path, SECRETARY, "@sum", ["member"])
    for ref in ("OF-01", "OF-02", "OF-01"):
        add_evidence(db_path, SECRETARY, ref, "audit", days_ago(1), note=f"-{ref} +note")
    fire_event(db_path, SECRETARY, "OF-01", "submit")
    fire_event(db_path, FORMULA, "OF-01", "challenge", reason="=1+1 is not evidence")
    with pytest.raises(Refused):
        fire_event(db_path, "@sum", "OF-02", "approve", meeting=days_ago(0))
    return db_path


def export(db: Path, fmt: str, out: Path, **filters: Any) -> Path:
    with out.open("w", encoding="utf-8", newline="") as fh:
        audit.export(db, fh, fmt, **filters)
    return out


def broken(path: Path, filtered: bool = False) -> list[int]:
    return [seq for seq, _ in audit.verify_export(path, filtered=filtered).broken]


def test_csv_cells_never_start_a_formula_and_the_export_still_verifies(
    register: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    path = tmp_path / "audit.csv"
    assert run_cli("audit", "export", "-o", str(path), db=register).code == 0
    with path.open(encoding="utf-8", newline="") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert "'" + FORMULA in cells and "'@sum" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    # The SQLite-rendered lines and the Python reference agree, byte for byte.
    from signoff.store.reader import Reader

    with Reader(register) as r:
        assert audit._renders_alike(r, "csv", audit._sql_line("csv"))
    python_path = tmp_path / "python.csv"
    with python_path.open("w", encoding="utf-8", newline="") as fh, Reader(register) as r:
        audit._export_python(r, fh, "csv", "", (), None)
    assert python_path.read_bytes() == path.read_bytes()
    good = run_cli("audit", "verify-export", str(path))
    assert good.code == 0, good.out + good.err
    script = tmp_path / "verify_audit.py"
    script.write_text(verifier_source(), encoding="utf-8")
    doc = subprocess.run([sys.executable, "-I", str(script), str(path)], capture_output=True, text=True, timeout=60)
    assert (doc.returncode, doc.stdout) == (0, "broken records: none\n"), doc.stderr


def test_the_apostrophe_is_undone_exactly_once() -> None:
    for value in ("=x", "'", "''a", "-", "plain", "", "@"):
        assert audit.restore(audit.neutralise(value)) == value


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_full_export_missing_its_first_records_does_not_verify(register: Path, tmp_path: Path, fmt: str) -> None:
    path = export(register, fmt, tmp_path / f"audit.{fmt}")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[:1] if fmt == "csv" else []
    path.write_text("".join(header + lines[len(header) + 5 :]), encoding="utf-8")
    report = audit.verify_export(path)
    assert report.broken[0] == (6, "records 1..5 are missing before it: a full export starts at 1")


def test_every_item_record_links_to_the_items_previous_record(register: Path) -> None:
    last: dict[str, int] = {}
    for rec in (dict(zip(chain.EXPORT_FIELDS, row, strict=True)) for row in audit.records(register)):
        if rec["item_ref"] is None:
            assert "item_prev" not in json.loads(rec["detail"])
            continue
        assert json.loads(rec["detail"])["item_prev"] == last.get(rec["item_ref"], 0), rec
        last[rec["item_ref"]] = rec["seq"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_a_record_missing_from_a_filtered_export_is_found(register: Path, tmp_path: Path, fmt: str) -> None:
    path = export(register, fmt, tmp_path / f"of01.{fmt}", item="OF-01")
    assert audit.verify_export(path, filtered=True).ok
    if fmt == "json":
        records = json.loads(path.read_text(encoding="utf-8"))
        missing, after = records[2]["seq"], records[3]["seq"]
        path.write_text(json.dumps(records[:2] + records[3:]), encoding="utf-8")
    else:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        body = 1 if fmt == "csv" else 0
        missing = int(next(csv.reader([lines[body + 2]]))[0]) if fmt == "csv" else json.loads(lines[2])["seq"]
        after = int(next(csv.reader([lines[body + 3]]))[0]) if fmt == "csv" else json.loads(lines[3])["seq"]
        path.write_text("".join(lines[: body + 2] + lines[body + 3 :]), encoding="utf-8")
    report = audit.verify_export(path, filtered=True)
    assert report.broken == [(after, f"record {missing}, the previous record of OF-01, is missing from the file")]


def test_records_written_before_item_links_are_reported_as_unprovable(register: Path, tmp_path: Path) -> None:
    """Strip item_prev and re-hash from genesis, as a register written before links existed looks."""
    conn = sqlite3.connect(register)
    conn.execute("DROP TRIGGER audit_no_update")
    prev = chain.genesis(conn.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()[0])
    conn.row_factory = sqlite3.Row
    for row in conn.execute("SELECT * FROM audit ORDER BY seq").fetchall():
        rec = dict(row)
        detail = json.loads(rec["detail"])
        detail.pop("item_prev", None)
        rec["detail"], rec["prev_hash"] = chain.detail_text(detail), prev
        rec["hash"] = prev = chain.record_hash(rec)
        conn.execute(
            "UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (rec["detail"], rec["prev_hash"], rec["hash"], rec["seq"]),
        )
    conn.commit()
    conn.close()
    path = export(register, "jsonl", tmp_path / "old.jsonl", item="OF-01")
    report = audit.verify_export(path, filtered=True)
    assert report.ok and len(report.notes) == 1 and "cannot prove none is missing" in report.notes[0]


def one_line(result: Any, code: int, text: str) -> None:
    assert result.code == code, (result.code, result.out, result.err)
    assert text in result.err and len(result.err.strip().splitlines()) == 1, result.err
    assert "Traceback" not in result.err + result.out


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("dup.jsonl", '{"seq": 1, "seq": 2}\n', "appears twice"),
        ("unknown.jsonl", None, "fields no signoff export has: 'note'"),
        ("type.jsonl", None, "has actor 5, not text"),
        ("seqtext.jsonl", None, "has seq '1', not a whole number"),
        ("extra.csv", None, "columns no signoff export has: 'note'"),
        ("deep.json", "[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ("deep.jsonl", '{"seq": ' + "[" * 200_000 + "]" * 200_000 + "}\n", "nested too deeply"),
    ],
)
def test_malformed_exports_are_exit_2_in_one_sentence(
    register: Path, tmp_path: Path, run_cli: Callable[..., Any], name: str, content: str | None, says: str
) -> None:
    good = export(register, "jsonl", tmp_path / "good.jsonl")
    records = [json.loads(line) for line in good.read_text(encoding="utf-8").splitlines()]
    path = tmp_path / name
    if name == "unknown.jsonl":
        records[3]["note"] = "hidden"
    elif name == "type.jsonl":
        records[3]["actor"] = 5
    elif name == "seqtext.jsonl":
        records[0]["seq"] = "1"
    if name == "extra.csv":
        text = export(register, "csv", tmp_path / "good.csv").read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join([text[0] + ",note", *(line + ",x" for line in text[1:])]) + "\n", encoding="utf-8")
    else:
        path.write_text(content or "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    one_line(run_cli("audit", "verify-export", str(path)), 2, says)


def test_anchor_prefix_and_a_wrong_anchor_is_not_a_broken_chain(
    register: Path, tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    seq, digest = audit.head(register) or (0, "")
    path = export(register, "jsonl", tmp_path / "audit.jsonl")
    assert run_cli("audit", "verify", "--anchor", f"{seq}:{digest[:16]}", db=register).code == 0
    assert run_cli("audit", "verify-export", str(path), "--anchor", f"{seq}:{digest[:16].upper()}").code == 0
    one_line(run_cli("audit", "verify", "--anchor", f"{seq}:{digest[:15]}", db=register), 2, "16 or more hex digits")
    wrong = f"{seq}:{'0' * 16}"
    for result in (
        run_cli("audit", "verify", "--anchor", wrong, db=register),
        run_cli("audit", "verify-export", str(path), "--anchor", wrong),
    ):
        assert result.code == 1
        assert "does not match the anchor" in result.err and "broken" not in result.err, result.err
    add_user(register, SECRETARY, "later", ["member"])  # the log carries on past the anchor: still fine
    assert run_cli("audit", "verify", "--anchor", f"{seq}:{digest[:20]}", db=register).code == 0


def test_a_csv_export_with_a_record_over_csv_default_cell_limit_still_verifies(db_path: Path, tmp_path: Path) -> None:
    """A large matrix import logs a detail longer than csv's default 128 KiB cell limit."""
    due = days_ago(-30).isoformat()
    rows = [
        (f"BX-{n:04d}", "ofsted-recommendation", f"T{n} " + "long title " * 30, "", "audit", "audit", due)
        for n in range(600)
    ]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    with sqlite3.connect(db_path) as conn:
        longest = conn.execute("SELECT max(length(detail)) FROM audit").fetchone()[0]
    assert longest > 131072
    path = export(db_path, "csv", tmp_path / "audit.csv")
    assert broken(path) == []
    # csv's limit is process-wide: the verifier puts it back, so the imports' CSV readers still
    # refuse a cell no matrix or evidence sheet should hold.
    assert csv.field_size_limit() == 131072
