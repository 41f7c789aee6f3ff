"""Write ``replay_chain.json``: the audit records of a small real register, built with the services.

The unit tests of ``signoff.engine.replay`` (tests/unit/test_replay_walk.py) feed these records to
``Replay`` in-process, so they run in milliseconds and see a mutant of replay. Regenerate after a
change to what records carry:

    .venv/bin/python tests/unit/data/make_replay_chain.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for conftest and signing

from conftest import CHAIR, MEMBER, SECRETARY, write_matrix  # noqa: E402
from signing import fire_event, register_key  # noqa: E402

from signoff.domain import chain  # noqa: E402
from signoff.engine.replay import TABLES  # noqa: E402
from signoff.services import corrections, people  # noqa: E402
from signoff.services.evidence import add_evidence  # noqa: E402
from signoff.services.keys import revoke_key  # noqa: E402
from signoff.services.matrix import import_matrix  # noqa: E402
from signoff.services.reconcile import table_rows  # noqa: E402
from signoff.services.register import add_user, init_register  # noqa: E402
from signoff.services.schedule import add_meeting, cancel_meeting, move_meeting, reschedule  # noqa: E402
from signoff.store.reader import Reader  # noqa: E402


def build(folder: Path) -> dict[str, object]:
    today = dt.date.today()
    due, present_by = (today + dt.timedelta(days=60)).isoformat(), (today + dt.timedelta(days=30)).isoformat()
    db = folder / "register.db"
    init_register(db, SECRETARY)
    add_user(db, SECRETARY, CHAIR, ["chair"])
    add_user(db, SECRETARY, MEMBER, ["member"])
    add_user(db, SECRETARY, "clerk", ["member"])
    people.change_role(db, SECRETARY, "clerk", "Takes the minutes", add="secretary")
    people.change_role(db, SECRETARY, "clerk", "Minutes only", remove="member")
    people.deactivate_user(db, SECRETARY, "clerk", "Left the council")
    register_key(db, CHAIR)
    register_key(db, MEMBER)
    revoke_key(db, SECRETARY, MEMBER, _fingerprint(MEMBER), "Laptop lost")
    add_meeting(db, SECRETARY, today, note="Board")
    add_meeting(db, SECRETARY, today + dt.timedelta(days=7))
    move_meeting(db, SECRETARY, today + dt.timedelta(days=7), today + dt.timedelta(days=14), "Room booked")
    cancel_meeting(db, SECRETARY, today + dt.timedelta(days=14), "Quorum")
    rows = [
        ("OF-01", "ofsted-recommendation", "Screen every contact", due, "audit", "Case-file audit", present_by),
        ("OF-02", "ofsted-recommendation", "Reduce caseloads", due, "data", "Caseload data", present_by),
    ]
    import_matrix(db, SECRETARY, write_matrix(folder / "matrix.csv", rows))
    paper = folder / "audit-findings.txt"
    paper.write_text("Case-file audit: 48 of 50 contacts screened within a day.\n", encoding="utf-8")
    first = add_evidence(db, SECRETARY, "OF-01", "audit", today - dt.timedelta(days=3), note="Draft audit")
    add_evidence(db, SECRETARY, "OF-01", "audit", today - dt.timedelta(days=3), file=paper, supersedes=first)
    spare = add_evidence(db, SECRETARY, "OF-02", "data", today - dt.timedelta(days=2), note="Old figure")
    corrections.withdraw_evidence(db, SECRETARY, spare, "Wrong month")
    add_evidence(db, SECRETARY, "OF-02", "data", today - dt.timedelta(days=2), note="Average caseload 22")
    corrections.edit_item(db, SECRETARY, "OF-02", "Clearer", title="Reduce caseloads to 20", owner="Head of Service")
    corrections.add_row(db, SECRETARY, "OF-02", "plan", "Workforce plan", today + dt.timedelta(days=20))
    corrections.reschedule_row(db, SECRETARY, "OF-02", "plan", today + dt.timedelta(days=25), "Later panel")
    corrections.remove_row(db, SECRETARY, "OF-02", "plan", "Not needed")
    reschedule(db, SECRETARY, "OF-02", today + dt.timedelta(days=90), "Recruitment")
    fire_event(db, SECRETARY, "OF-01", "submit")
    fire_event(db, CHAIR, "OF-01", "approve", meeting=today)
    fire_event(db, SECRETARY, "OF-02", "submit")
    fire_event(db, MEMBER, "OF-02", "challenge", reason="Show the trend, not a snapshot")
    fire_event(db, CHAIR, "OF-02", "challenge", reason="And the vacancies")
    add_evidence(db, SECRETARY, "OF-02", "data", today, note="Trend: 26, 24, 22")
    challenges = _ids(db, "SELECT id FROM challenges ORDER BY id")
    fire_event(db, SECRETARY, "OF-02", "resubmit", responses={c: "Trend added" for c in challenges})
    fire_event(db, MEMBER, "OF-02", "challenge", reason="Still open")
    conn = sqlite3.connect(db)
    try:
        got = conn.execute("SELECT " + ", ".join(chain.EXPORT_FIELDS) + " FROM audit ORDER BY seq").fetchall()
    finally:
        conn.close()
    records = [dict(zip(chain.EXPORT_FIELDS, r, strict=True)) for r in got]
    # The tables as the store holds them, in the form replay rebuilds them: what replay must match.
    with Reader(db) as r:
        tables = {name: sorted([list(k), list(v)] for k, v, _ in table_rows(r, name)) for name in TABLES}
    return {"records": records, "tables": tables}


def _fingerprint(name: str) -> str:
    from signing import user_key

    return user_key(name).public.fingerprint


def _ids(db: Path, sql: str) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute(sql)]
    finally:
        conn.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        built = build(Path(tmp))
    (HERE / "replay_chain.json").write_text(json.dumps(built, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
