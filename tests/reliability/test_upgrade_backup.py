"""Safe upgrades and backups: a register made by the first released schema upgrades with nothing lost,
a failed upgrade changes nothing, and a backup taken while others write is one consistent snapshot."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    check_register,
    cli_env,
    connect_ro,
    make_register,
    run_signoff,
    state_mismatches,
)

from signoff.domain import chain
from signoff.store import location, migrate

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

FIRST_RELEASED = "0001"
TS = "2013-06-0{}T09:30:00.000000+00:00"


def _audit(conn: sqlite3.Connection, database_id: str, **fields: Any) -> None:
    head = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (head[0] + 1, head[1]) if head else (1, chain.genesis(database_id))
    record = {
        "seq": seq,
        "recorded_at": TS.format(min(seq, 9)),
        "actor": "sec",
        "roles": "secretary",
        "item_ref": None,
        "event": "",
        "from_state": None,
        "to_state": None,
        "outcome": "applied",
        "detail": "{}",
        "workflow_hash": None,
        "prev_hash": prev,
    }
    record.update(fields)
    record["detail"] = chain.detail_text(record["detail"]) if isinstance(record["detail"], dict) else record["detail"]
    record["hash"] = chain.record_hash(record)
    cols = ", ".join(record)
    conn.execute(f"INSERT INTO audit ({cols}) VALUES ({', '.join('?' * len(record))})", tuple(record.values()))


def make_first_release_register(db: Path) -> None:
    """A register at schema 0001 with rows in every table, written with 0001's columns only."""
    migrate.upgrade(db, FIRST_RELEASED)
    database_id = str(uuid.uuid4())
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('database_id', ?), ('created_at', ?)", (database_id, TS.format(1))
    )
    for name, roles in (("sec", "secretary"), ("chair", "chair"), ("dci.morgan", "member"), ("Zoë", "auditor")):
        conn.execute(
            "INSERT INTO users (name, roles, created_at, created_by) VALUES (?, ?, ?, 'sec')",
            (name, roles, TS.format(1)),
        )
    _audit(conn, database_id, event="register.init", detail={"database_id": database_id, "schema": "0001"})
    items = (
        ("OF-01", "ofsted-recommendation", "Screen contacts within one working day", "signed_off", 3),
        ("OF-02", "ofsted-recommendation", "Reduce caseloads — “CAT, CIN & CP”", "challenged", 3),
        ("IN-01", "improvement-notice", "A1 at most 639 days", "proposed", 1),
    )
    for ref, kind, title, state, version in items:
        conn.execute(
            "INSERT INTO items (ref, kind, title, owner, due, original_due, state, version, created_at,"
            " last_transition_at) VALUES (?, ?, ?, 'Head of ChECS', '2013-09-30', '2013-09-30', ?, ?, ?, ?)",
            (ref, kind, title, state, version, TS.format(2), TS.format(4)),
        )
        conn.execute(
            "INSERT INTO matrix_rows (item_id, key, description, present_by, owner)"
            " VALUES ((SELECT id FROM items WHERE ref = ?), 'audit', 'Case-file audit', '2013-06-01', NULL)",
            (ref,),
        )
        _audit(conn, database_id, event="item.add", item_ref=ref, to_state="proposed", detail={"title": title})
    for ref in ("OF-01", "OF-02"):
        conn.execute(
            "INSERT INTO evidence (item_id, key, kind, note, sha256, dated, recorded_at, added_by)"
            " VALUES ((SELECT id FROM items WHERE ref = ?), 'audit', 'note', 'Audit of 30 files', ?, '2013-06-01', ?,"
            " 'sec')",
            (ref, hashlib.sha256(b"Audit of 30 files").hexdigest(), TS.format(3)),
        )
        conn.execute(
            "INSERT INTO submissions (item_id, event, submitted_at, submitted_by, bundle_digest, evidence_ids)"
            " VALUES ((SELECT id FROM items WHERE ref = ?), 'submit', ?, 'sec', ?, '1')",
            (ref, TS.format(3), "cd" * 32),
        )
        _audit(conn, database_id, event="submit", item_ref=ref, from_state="proposed", to_state="evidence_submitted")
    conn.execute(
        "INSERT INTO approvals (item_id, submission_id, approved_at, approved_by, meeting, bundle_digest)"
        " VALUES ((SELECT id FROM items WHERE ref = 'OF-01'), 1, ?, 'chair', '2013-06-04', ?)",
        (TS.format(4), "cd" * 32),
    )
    _audit(conn, database_id, event="approve", item_ref="OF-01", from_state="evidence_submitted", to_state="signed_off")
    conn.execute(
        "INSERT INTO challenges (item_id, event, raised_at, raised_by, reason)"
        " VALUES ((SELECT id FROM items WHERE ref = 'OF-02'), 'challenge', ?, 'dci.morgan', 'Audit sample too small')",
        (TS.format(4),),
    )
    _audit(
        conn,
        database_id,
        actor="dci.morgan",
        roles="member",
        event="challenge",
        item_ref="OF-02",
        from_state="evidence_submitted",
        to_state="challenged",
        detail={"reason": "Audit sample too small"},
    )
    _audit(conn, database_id, actor="chair", roles="chair", event="approve", item_ref="OF-02", outcome="refused")
    conn.commit()
    conn.close()


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table that schema 0001 had, with 0001's columns, in rowid order."""
    conn = connect_ro(db)
    try:
        out = {}
        for table in (
            "meta",
            "users",
            "items",
            "matrix_rows",
            "evidence",
            "challenges",
            "submissions",
            "approvals",
            "audit",
        ):
            cols = FIRST_COLUMNS[table]
            out[table] = conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY rowid").fetchall()
        return out
    finally:
        conn.close()


FIRST_COLUMNS: dict[str, list[str]] = {}


def _first_columns(db: Path) -> None:
    conn = sqlite3.connect(db)
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'alembic_version'"):
        FIRST_COLUMNS[table] = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    conn.close()


def test_upgrade_from_the_first_released_schema_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    make_first_release_register(db)
    _first_columns(db)
    before = snapshot(db)
    assert len(before["audit"]) == 9 and all(before.values())

    # The new version refuses to use it until it is upgraded, and says how.
    r = run_signoff(db, "item", "list")
    assert r.code == 1 and "signoff db upgrade" in r.err, r.err

    r = run_signoff(db, "db", "upgrade")
    assert r.code == 0, r.err
    head = migrate.head_revision()
    assert head == location.SCHEMA_HEAD
    assert migrate.current_revision(db) == head
    after = snapshot(db)
    assert {t: rows for t, rows in after.items() if t not in ("audit", "meta")} == {
        t: rows for t, rows in before.items() if t not in ("audit", "meta")
    }
    assert after["meta"][: len(before["meta"])] == before["meta"]  # plus the rules now in force
    assert after["audit"][:9] == before["audit"]  # every row of every original table survived, byte for byte
    # and the upgrade is on the record: a baseline of the tables, the rules it ran on, the upgrade
    assert len(after["audit"]) == 12
    check_register(db)
    verified = run_signoff(db, "audit", "verify")
    assert verified.code == 0, verified.err
    assert "12 record(s)" in verified.out
    assert "records 1..9 predate full detail" in verified.out
    log = [
        json.loads(line) for line in run_signoff(db, "audit", "export", "--format", "jsonl").out.strip().splitlines()
    ]
    assert [rec["event"] for rec in log[9:]] == ["register.baseline", "workflow.pin", "register.upgrade"]
    assert json.loads(log[-1]["detail"])["from_schema"] == FIRST_RELEASED
    # The baseline holds the tables as they stood: a later edit of a row it carries is reported.
    conn = sqlite3.connect(db)
    (title,) = conn.execute("SELECT title FROM items WHERE ref = 'IN-01'").fetchone()
    conn.execute("UPDATE items SET title = 'edited' WHERE ref = 'IN-01'")
    conn.commit()
    edited = run_signoff(db, "audit", "verify")
    assert edited.code == 1 and "items IN-01 title: the chain says" in edited.out, edited.out
    conn.execute("UPDATE items SET title = ? WHERE ref = 'IN-01'", (title,))
    conn.commit()
    conn.close()

    # The backup was taken first, with the online backup API: the register exactly as it was.
    backups = sorted(tmp_path.glob("old.db.bak-*"))
    assert len(backups) == 1 and str(backups[0].name) in r.out
    assert migrate.current_revision(backups[0]) == FIRST_RELEASED
    assert snapshot(backups[0]) == before

    # The next run works, and writes chain on from the old records.
    r = run_signoff(
        db, "evidence", "add", "IN-01", "audit", "--dated", "2013-06-01", "--note", "after upgrade", actor="sec"
    )
    assert r.code == 0, r.err
    check_register(db)
    # A second upgrade has nothing to do and takes no second backup.
    r = run_signoff(db, "db", "upgrade")
    assert r.code == 0 and "nothing to do" in r.out, r.err
    assert len(sorted(tmp_path.glob("old.db.bak-*"))) == 1


def test_a_failed_upgrade_changes_nothing_and_keeps_the_backup(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    make_first_release_register(db)
    _first_columns(db)
    before = snapshot(db)
    conn = sqlite3.connect(db)
    tables_before = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    # Fail at the very last step, stamping the head revision: everything before it must roll back.
    head = migrate.head_revision()
    assert head.replace("_", "").isalnum()
    conn.execute(
        "CREATE TRIGGER fail_upgrade BEFORE UPDATE ON alembic_version"
        f" WHEN NEW.version_num = '{head}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    )
    conn.commit()
    conn.close()
    tables_before.add("fail_upgrade")
    r = run_signoff(db, "db", "upgrade")
    assert r.code == 1
    assert len(r.err.strip().splitlines()) == 1 and "not applied" in r.err and ".bak-" in r.err, r.err
    assert migrate.current_revision(db) == FIRST_RELEASED
    conn = sqlite3.connect(db)
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master")} == tables_before
    conn.execute("DROP TRIGGER fail_upgrade")
    conn.commit()
    conn.close()
    assert snapshot(db) == before
    r = run_signoff(db, "db", "upgrade")
    assert r.code == 0, r.err
    after = snapshot(db)
    skip = ("audit", "meta")
    assert {t: v for t, v in after.items() if t not in skip} == {t: v for t, v in before.items() if t not in skip}
    assert after["audit"][:-3] == before["audit"]  # the re-run upgrade added only its own baseline, pin and record
    check_register(db)


BUSY_WRITER = """
import sys, datetime as dt
from pathlib import Path
from signoff.services.evidence import add_evidence
db = Path(sys.argv[1])
for i in range(100000):
    add_evidence(db, "sec-0", "IT-%d" % (i % 6), "k1", dt.date(2013, 6, 1), note="busy %d" % i)
    if i == 0:
        print("started", flush=True)  # after a write has committed: every backup then holds one
"""


def test_backup_while_others_write_is_a_consistent_copy(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    make_register(db, workers=1)
    writers = [
        subprocess.Popen([sys.executable, "-c", BUSY_WRITER, str(db)], stdout=subprocess.PIPE, text=True, env=cli_env())
        for _ in range(2)
    ]
    try:
        for w in writers:
            assert w.stdout is not None and w.stdout.readline().strip() == "started"
        copies = []
        for n in range(4):
            target = tmp_path / f"copy-{n}.db"
            r = run_signoff(db, "db", "backup", str(target))
            assert r.code == 0, r.err
            copies.append(target)
    finally:
        for w in writers:
            w.kill()
            w.wait()
    sizes = []
    for copy in copies:
        assert not copy.with_name(copy.name + ".partial").exists()
        check_register(copy)  # integrity, chain and states all hold in the copy
        conn = connect_ro(copy)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # self-contained: no -wal needed
        evidence, audit = (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("evidence", "audit"))
        assert state_mismatches(conn) == []
        conn.close()
        sizes.append((evidence, audit))
    # The writers were writing during the backups: later copies hold more, each a whole snapshot.
    assert sizes == sorted(sizes) and sizes[-1][0] > 0
    assert all(a - e == sizes[0][1] - sizes[0][0] for e, a in sizes)  # one audit record per evidence row

    # A restored copy is a working register.
    restored = tmp_path / "restored.db"
    restored.write_bytes(copies[-1].read_bytes())
    r = run_signoff(restored, "evidence", "add", "IT-0", "k2", "--dated", "2013-06-01", "--note", "x", actor="sec-0")
    assert r.code == 0, r.err
    check_register(restored)


def test_backup_refuses_to_overwrite_and_names_the_problem(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    make_register(db)
    target = tmp_path / "copy.db"
    target.write_text("precious")
    r = run_signoff(db, "db", "backup", str(target))
    assert r.code == 2 and "already exists" in r.err
    assert target.read_text() == "precious"
    r = run_signoff(db, "db", "backup", str(tmp_path / "no-such-folder" / "copy.db"))
    assert r.code == 2 and "does not exist" in r.err
    r = run_signoff(db, "db", "backup", str(db))
    assert r.code == 2
    r = run_signoff(db, "db", "backup", "--force", str(target))
    assert r.code == 0, r.err
    check_register(target)
    r = run_signoff(db, "db", "check")
    assert r.code == 0 and "integrity_check ok" in r.out
