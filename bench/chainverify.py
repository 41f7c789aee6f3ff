"""The chain-only verify: what 'signoff audit verify' did before it replayed the chain.

``python -m bench.chainverify DB`` runs ``signoff.services.audit.verify`` (every record's hash and
link from the register's genesis, and SQLite's quick_check) with no replay and no reconciliation,
as a whole process like the command it is compared with. Exit 1 if the chain is broken.
"""

from __future__ import annotations

import sys

from signoff.services.audit import verify


def main() -> None:
    report, integrity = verify(sys.argv[1])
    print(f"{report.checked} records, {len(report.broken)} broken; quick_check {integrity}")
    sys.exit(0 if report.ok and integrity == "ok" else 1)


if __name__ == "__main__":
    main()
