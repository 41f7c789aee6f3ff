"""The records ``evidence import`` writes for a known sheet and clock are byte for byte what they have
always been: its ``evidence.add`` audit records, the evidence rows, its refusal and its messages.

Replay and third-party verification rebuild the evidence from these records, and the chain hashes
their text: a faster import must write exactly the same fields. The digest below was taken from the
import as it was before it was reworked for speed. The chain's hashes themselves are left out (the
register's random id seeds them); verifying the chain checks them instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from conftest import SECRETARY, write_matrix

from signoff import clock
from signoff.errors import BadInput
from signoff.services import audit, evidence_import
from signoff.services.evidence_import import COLUMNS, import_evidence
from signoff.services.matrix import import_matrix
from signoff.store import blobs, location

KINDS = ("ofsted-recommendation", "improvement-notice")
MOMENT = dt.datetime(2040, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)  # after the fixture's own records


def write_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows([r.get(c, "") for c in COLUMNS] for r in rows)
    return path


def sheet_rows(papers: Path) -> list[dict[str, str]]:
    """Notes, files (some with the same content) and measures, an item's records together and
    scattered, the same matrix row more than once."""
    out: list[dict[str, str]] = []
    for n in range(90):
        i = n % 30 if n < 60 else (n * 7) % 30
        r = {
            "item_ref": f"RC-{i:03d}",
            "evidence_key": f"key-{n % 3}",
            "dated": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}",
        }
        if n % 3 == 0:
            name = f"paper-{n % 4}.txt"
            (papers / name).write_text(f"Case audit paper {n % 4} — café\n" * (1 + n % 4), encoding="utf-8")
            r["file"] = name
        elif n % 3 == 1:
            r["note"] = f"  Minutes of the executive group, item {n}: «reviewed» \u212a  "
        else:
            value = ("19.5", "1e3", "-0", "30", "0.1")[n % 5]
            r.update(measure=f"M{n % 4}", value=value, unit="days", period="2026-Q3", threshold=("20", "2.50")[n % 2])
            r["direction"] = ("at-most", "at-least")[n % 2]
        out.append(r)
    return out


@pytest.mark.parametrize("batch", [None, 7])
def test_the_records_of_a_known_sheet_are_unchanged(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int | None
) -> None:
    """Also with the register read a few rows at a time: the sheet's batches change nothing written."""
    monkeypatch.setattr(clock, "now", lambda: MOMENT)
    if batch is not None:
        monkeypatch.setattr(evidence_import, "BATCH", batch)
    rows = [
        (f"RC-{i:03d}", KINDS[i % 2], f"Recommendation {i}", "2031-01-31", f"key-{k}", f"Evidence {k}", "2031-01-31")
        for i in range(30)
        for k in range(3)
    ]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    with sqlite3.connect(db_path) as conn:
        start = conn.execute("SELECT max(seq) FROM audit").fetchone()[0]
    papers = tmp_path / "papers"
    papers.mkdir()
    texts: list[str] = []

    first = import_evidence(db_path, SECRETARY, write_sheet(papers / "first.csv", sheet_rows(papers)))
    texts.append(repr(first))

    # Refused against the register: unknown item, no such matrix row, a file over the limit.
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('max_evidence_mib', '1')")
    (papers / "big.bin").write_bytes(b"x" * (1 << 20) + b"!")
    bad = [
        {"item_ref": "RC-001", "evidence_key": "key-0", "dated": "2025-01-01", "note": "fine"},
        {"item_ref": "RC-999", "evidence_key": "key-0", "dated": "2025-01-01", "note": "no item"},
        {"item_ref": "RC-002", "evidence_key": "key-9", "dated": "2025-01-01", "note": "no row"},
        {"item_ref": "RC-003", "evidence_key": "key-1", "dated": "2025-01-01", "file": "big.bin"},
    ]
    with pytest.raises(BadInput) as refused:
        import_evidence(db_path, SECRETARY, write_sheet(papers / "bad.csv", bad))
    texts.append(str(refused.value))
    with sqlite3.connect(db_path) as conn:  # the limit as the register had it (no row: the default)
        conn.execute("DELETE FROM meta WHERE key = 'max_evidence_mib'")
    # Refused before the register is opened: nothing audited, but the message is pinned.
    sheet_bad = [{"item_ref": "RC-001", "evidence_key": "key-0", "dated": "soon", "note": "n", "value": "3"}]
    with pytest.raises(BadInput) as early:
        import_evidence(db_path, SECRETARY, write_sheet(papers / "early.csv", sheet_bad))
    texts.append(str(early.value))

    # A stored copy gone while records still name it: the next import repairs it.
    digest = blobs.sha256_file(papers / "paper-0.txt")[0]
    blobs.blob_path(location.evidence_dir(db_path), digest).unlink()
    again = [{"item_ref": "RC-004", "evidence_key": "key-2", "dated": "2025-02-03", "file": "paper-0.txt"}]
    second = import_evidence(db_path, SECRETARY, write_sheet(papers / "again.csv", again))
    texts.append(repr(second))

    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        records = conn.execute("SELECT * FROM audit WHERE seq > ? ORDER BY seq", (start,)).fetchall()
        evidence = conn.execute("SELECT * FROM evidence ORDER BY id").fetchall()
    assert len(records) == 90 + 1 + 1 and len(evidence) == 91
    assert [r["event"] for r in records][-2:] == ["evidence.import", "evidence.add"]
    texts += [json.dumps({k: v for k, v in dict(r).items() if k not in ("hash", "prev_hash")}) for r in records]
    texts += [json.dumps(dict(r)) for r in evidence]
    report, _, reconciled = audit.verify_register(db_path)
    assert report.ok and reconciled.problems == [] and reconciled.differences == []
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    assert digest == "74a0f07ff8dbcb5742ca4e268ab0788d9e7badce41ee620f68507d04f6b900f8", digest
