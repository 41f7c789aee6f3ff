"""The verify reference: a bare loop that re-hashes every audit row as chain.py documents, nothing else.

``python -m bench.hashloop DB`` streams the rows with stdlib sqlite3, builds each record's
canonical JSON, hashes it with its prev_hash and compares with the stored hash.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys

from signoff.domain.chain import CHAINED_FIELDS

FIELDS = CHAINED_FIELDS  # the field list only; the hashing below is written out independently


def main() -> None:
    conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    sha = hashlib.sha256
    cur = conn.execute(f"SELECT {', '.join(FIELDS)}, hash FROM audit ORDER BY seq")
    bad = n = 0
    while batch := cur.fetchmany(2000):
        for row in batch:
            n += 1
            digest = sha(
                b"signoff.audit.v1\n" + row[11].encode() + b"\n" + encode(dict(zip(FIELDS, row, strict=False))).encode()
            ).hexdigest()
            bad += digest != row[12]
    print(f"{n} rows, {bad} bad")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
