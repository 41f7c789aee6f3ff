"""The ``matrix.import`` audit records of a known file are byte for byte what they have always been.

Replay and third-party verification rebuild the items and rows from these records, and the chain
hashes their text: a faster import must write exactly the same details, part for part. The digest
below was taken from the import as it was before its first pass was reworked for speed.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from conftest import SECRETARY, write_matrix

from signoff.domain import matrix
from signoff.errors import BadInput
from signoff.services.matrix import import_matrix

COLUMNS = (*matrix.REQUIRED_COLUMNS, *matrix.OPTIONAL_COLUMNS)
KINDS = ("ofsted-recommendation", "improvement-notice")


def row(i: int, k: int, **kw: str) -> tuple[str, ...]:
    values = {
        "item_ref": f"RC-{i:04d}",
        "item_kind": KINDS[i % 2],
        "item_title": f" Recommendation {i} — café review " if i % 7 == 0 else f"Recommendation {i}",
        "item_due": "" if i % 5 == 0 else f"2031-{1 + i % 12:02d}-28",
        "evidence_key": f"key-{k}" if k != 3 else "\u212a-three",  # a Kelvin sign: the key is its NFC form
        "evidence_description": f'Evidence {k} for item {i}: minutes, "quoted", data',
        "present_by": f"2031-{1 + (i + k) % 12:02d}-01" if i % 5 == 0 else f"2031-{1 + i % 12:02d}-{1 + k:02d}",
        "item_owner": f" Head of Service {i % 3} " if i % 4 else "",
        "evidence_owner": f"Team {k}" if (i + k) % 3 else "",
    }
    values.update(kw)
    return tuple(values[c] for c in COLUMNS)


def details(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [d for (d,) in conn.execute("SELECT detail FROM audit WHERE event = 'matrix.import' ORDER BY seq")]


def test_the_import_records_of_a_known_file_are_unchanged(db_path: Path, tmp_path: Path) -> None:
    # 600 items of four rows, most together, some of them scattered further down: three parts.
    rows = [row(i, k) for i in range(600) for k in range(3)]
    rows += [row(i, 3) for i in range(0, 600, 2)]
    first = import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "first.csv", rows, COLUMNS))
    assert (first.items_created, first.rows_created) == (600, 2100)
    # Again, with a new item, a new row for a registered item and the rest unchanged.
    again = [row(i, k) for i in range(595, 600) for k in range(3)] + [row(600, 0), row(1, 5)]
    second = import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "second.csv", again, COLUMNS))
    assert (second.items_created, second.rows_created, second.rows_unchanged) == (1, 2, 15)
    # Refused against the register: the refusal's record says why.
    clash = [row(3, 0, item_kind=KINDS[0])]
    with pytest.raises(BadInput, match="conflicts with the register"):
        import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "clash.csv", clash, COLUMNS))
    with sqlite3.connect(db_path) as conn:
        refused = [
            d for (d,) in conn.execute("SELECT detail FROM audit WHERE event = 'matrix.import' AND outcome = 'refused'")
        ]
    assert len(refused) == 1 and "RC-0003 is already registered as improvement-notice" in refused[0]
    texts = details(db_path)
    assert len(texts) == 5  # three parts, the second file, the refusal
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    assert digest == "210abcd91c47cf8789f8af3e872912f1c3fe2a88f2dc1dd3bb9d7f7a108c150a", digest
