"""The same engine on a real PostgreSQL server: migrations, a whole item life from the CLI,
concurrency with the database's own locks, and registers moved between backends intact."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAIR, SECRETARY, days_ago, write_matrix
from signing import fire_event, key_file, register_key, user_key

from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.register import add_user, init_register
from signoff.services.schedule import add_meeting

TODAY = days_ago(0).isoformat()

pytestmark = pytest.mark.slow  # each run starts a PostgreSQL cluster; every test makes a database


def matrix(tmp_path: Path, refs: list[str]) -> Path:
    rows = [
        (ref, "ofsted-recommendation", f"Recommendation {ref}", "", key, f"Evidence {key}", days_ago(-20).isoformat())
        for ref in refs
        for key in ("audit", "data")
    ]
    return write_matrix(tmp_path / "matrix.csv", rows)


def test_models_and_migrations_agree_on_postgres(pg_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    from signoff.store import migrate
    from signoff.store.tables import metadata

    migrate.upgrade(pg_url)
    with create_engine(pg_url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        triggers = {r[0] for r in conn.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    assert diffs == []
    from signoff.services.maintenance import expected_triggers

    assert triggers == set(expected_triggers(postgres=True))
    assert migrate.current_revision(pg_url) == migrate.head_revision()


def test_a_whole_item_life_from_the_cli_on_postgres(run_cli: Any, pg_url: str, tmp_path: Path) -> None:
    def ok(*args: str, actor: str | None = None) -> str:
        result = run_cli(*args, db=pg_url, actor=actor)  # type: ignore[arg-type]
        assert result.code == 0, (args, result.err)
        return result.out

    ok("init", "--secretary", SECRETARY)
    ok("meeting", "add", TODAY, actor=SECRETARY)
    ok("user", "add", CHAIR, "--role", "chair", actor=SECRETARY)
    ok("user", "key", "add", CHAIR, "--public-key", f"{key_file(tmp_path / 'keys', CHAIR)}.pub", actor=SECRETARY)
    ok("user", "add", "police", "--role", "member", actor=SECRETARY)
    ok("matrix", "import", str(matrix(tmp_path, ["OF-01"])), actor=SECRETARY)
    refused = run_cli("submit", "OF-01", db=pg_url, actor=SECRETARY)  # type: ignore[arg-type]
    assert refused.code == 3 and "matrix_covered" in refused.err and "Traceback" not in refused.err
    (tmp_path / "audit.txt").write_text("Audit of 30 contacts\n", encoding="utf-8")
    ok(
        "evidence",
        "add",
        "OF-01",
        "audit",
        "--file",
        str(tmp_path / "audit.txt"),
        "--dated",
        days_ago(2).isoformat(),
        actor=SECRETARY,
    )
    ok("evidence", "add", "OF-01", "data", "--note", "Figures", "--dated", days_ago(2).isoformat(), actor=SECRETARY)
    ok("submit", "OF-01", actor=SECRETARY)
    ok("challenge", "OF-01", "--reason", "Show the trend", actor="police")
    ok("evidence", "add", "OF-01", "data", "--note", "Trend", "--dated", days_ago(1).isoformat(), actor=SECRETARY)
    ok("resubmit", "OF-01", "--response", "Trend added", actor=SECRETARY)
    ok("approve", "OF-01", "--meeting", TODAY, actor=CHAIR)
    shown = json.loads(ok("item", "show", "OF-01", "--json"))
    assert shown["state"] == "signed_off" and shown["version"] == 5
    board = json.loads(ok("board", "--json"))
    assert board["by_state"] == {"signed_off": 1}
    history = json.loads(ok("history", "OF-01", "--json"))
    assert [h["outcome"] for h in history].count("refused") == 1
    assert "Audit chain intact" in ok("audit", "verify")
    ok("audit", "export", "--format", "jsonl", "-o", str(tmp_path / "pg.jsonl"))
    assert "verify" in ok("audit", "verify-export", str(tmp_path / "pg.jsonl"))
    ok("report", "--meeting", TODAY, "-o", str(tmp_path / "pack.html"))
    assert "OF-01" in (tmp_path / "pack.html").read_text(encoding="utf-8")


def test_the_audit_table_is_append_only_on_postgres(pg_url: str) -> None:
    import psycopg

    init_register(pg_url, SECRETARY)
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in ("UPDATE audit SET actor = 'someone else'", "DELETE FROM audit", "TRUNCATE audit"):
            with pytest.raises(psycopg.Error, match=r"append-only|never edited or deleted"):
                conn.execute(statement)


def _race_worker(url: str, chair: str, flag: str, key: Path) -> int:
    while not Path(flag).exists():
        time.sleep(0.001)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "signoff",
            "--db",
            url,
            "--as",
            chair,
            "approve",
            "OF-01",
            "--meeting",
            TODAY,
            "--key",
            str(key),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode


def test_two_chairs_approving_at_once_on_postgres_one_wins(pg_url: str, tmp_path: Path) -> None:
    import threading

    init_register(pg_url, SECRETARY)
    add_meeting(pg_url, SECRETARY, days_ago(0))
    add_user(pg_url, SECRETARY, "chair-a", ["chair"])
    add_user(pg_url, SECRETARY, "chair-b", ["chair"])
    for chair in ("chair-a", "chair-b"):
        register_key(pg_url, chair)
    refs = [f"OF-{n:02d}" for n in range(1, 2)]
    import_matrix(pg_url, SECRETARY, matrix(tmp_path, refs))
    for key in ("audit", "data"):
        add_evidence(pg_url, SECRETARY, "OF-01", key, days_ago(1), note=key)
    fire_event(pg_url, SECRETARY, "OF-01", "submit")
    flag = str(tmp_path / "go")
    codes: list[int] = []
    threads = [
        threading.Thread(
            target=lambda c=chair: codes.append(_race_worker(pg_url, c, flag, key_file(tmp_path / "keys", c)))
        )
        for chair in ("chair-a", "chair-b")
    ]
    for t in threads:
        t.start()
    Path(flag).touch()  # both racers start their CLI process now, whichever thread runs first
    for t in threads:
        t.join()
    assert sorted(codes)[0] == 0 and sorted(codes)[1] in (3, 5), codes
    from signoff.store.reader import Reader

    with Reader(pg_url) as r:
        applied = r.all("SELECT actor FROM audit WHERE event = 'approve' AND outcome = 'applied'")
        approvals = r.all("SELECT COUNT(*) AS n FROM approvals")
    assert len(applied) == 1 and approvals[0]["n"] == 1


def test_concurrent_writers_on_postgres_lose_nothing(pg_url: str, tmp_path: Path) -> None:
    init_register(pg_url, SECRETARY)
    refs = [f"OF-{n:02d}" for n in range(1, 9)]
    import_matrix(pg_url, SECRETARY, matrix(tmp_path, refs))
    script = tmp_path / "writer.py"
    script.write_text(
        "import sys, datetime as dt\n"
        "from signoff.services.evidence import add_evidence\n"
        "url, ref, n = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
        "for i in range(n):\n"
        "    add_evidence(url, 'sec', ref, 'audit', dt.date.today(), note=f'{ref} note {i}')\n",
        encoding="utf-8",
    )
    procs = [subprocess.Popen([sys.executable, str(script), pg_url, ref, "25"]) for ref in refs]
    assert [p.wait(timeout=120) for p in procs] == [0] * len(refs)
    from signoff.services.audit import verify
    from signoff.store.reader import Reader

    report, _ = verify(pg_url)
    assert report.ok, report.broken
    with Reader(pg_url) as r:
        n = r.one("SELECT COUNT(*) AS n FROM evidence")
        adds = r.one("SELECT COUNT(*) AS n FROM audit WHERE event = 'evidence.add' AND outcome = 'applied'")
    assert n is not None and adds is not None
    assert n["n"] == adds["n"] == 8 * 25


def test_a_register_moves_to_postgres_and_back_with_its_history(run_cli: Any, pg_url: str, tmp_path: Path) -> None:
    demo = run_cli("demo", "--dir", str(tmp_path / "demo"))
    assert demo.code == 0, demo.err
    sqlite_db = tmp_path / "demo" / "signoff.db"
    to_pg = run_cli("db", "copy", "--to", pg_url, db=sqlite_db, actor="sarah.okoro")
    assert to_pg.code == 0, to_pg.err
    assert "chain verifies" in to_pg.out
    back = tmp_path / "back.db"
    to_sqlite = run_cli("db", "copy", "--to", str(back), db=pg_url, actor="sarah.okoro")  # type: ignore[arg-type]
    assert to_sqlite.code == 0, to_sqlite.err
    for db in (pg_url, back):
        assert run_cli("audit", "verify", db=db).code == 0  # type: ignore[arg-type]
        assert run_cli("evidence", "verify", db=db).code == 0  # type: ignore[arg-type]
    # The history is the same record for record: exports up to the copy's own entries are identical.
    original = run_cli("audit", "export", "--format", "jsonl", db=sqlite_db).out.splitlines()
    on_pg = run_cli("audit", "export", "--format", "jsonl", db=pg_url).out.splitlines()  # type: ignore[arg-type]
    returned = run_cli("audit", "export", "--format", "jsonl", db=back).out.splitlines()
    assert on_pg[: len(original)] == original == returned[: len(original)]
    assert json.loads(on_pg[-1])["event"] == "register.copy"
    boards = [json.loads(run_cli("board", "--json", db=db).out)["by_state"] for db in (sqlite_db, pg_url, back)]  # type: ignore[arg-type]
    assert boards[0] == boards[1] == boards[2]
    # The piped board reads the facts of open items only: the same lines from PostgreSQL's planner.
    piped = [run_cli("board", db=db).out.splitlines()[1:] for db in (sqlite_db, pg_url)]  # type: ignore[arg-type]
    assert piped[0] == piped[1] and any(line.startswith("green\tOF-") for line in piped[0])
    assert any("signed_off" in line for line in piped[0]) and any(line.startswith("red\t") for line in piped[0])
    again = run_cli("db", "copy", "--to", pg_url, db=sqlite_db, actor="sarah.okoro")
    assert again.code == 2 and "already holds a register" in again.err


def test_an_unreachable_server_is_one_sentence(run_cli: Any) -> None:
    result = run_cli("board", db="postgresql+psycopg://nobody@127.0.0.1:1/none")  # type: ignore[arg-type]
    assert result.code == 1 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1 and "database server" in result.err
    bad = run_cli("board", db="mysql://x@y/z")  # type: ignore[arg-type]
    assert bad.code == 2 and "postgresql" in bad.err


def test_a_deadlock_is_retried_and_the_attempt_applies_once(pg_url: str, tmp_path: Path) -> None:
    """A real deadlock inside a write: PostgreSQL aborts the attempt, which is run again and applies once.

    Writers take the chain head's lock first, so two signoff writers cannot deadlock each other; another
    client of the same database still can. Here a second connection holds OF-02 and waits for OF-01 while
    the attempt holds OF-01 and asks for OF-02. Each step waits for the previous one (events and the
    server's own lock table), so the cycle forms on every run, and the attempt's backend, with the
    shorter deadlock_timeout, is the one the server aborts.
    """
    import threading

    import psycopg
    from sqlalchemy import text

    from signoff.services.audit import verify
    from signoff.services.common import in_unit_of_work, record_applied
    from signoff.store.reader import Reader

    init_register(pg_url, SECRETARY)
    import_matrix(pg_url, SECRETARY, matrix(tmp_path, ["OF-01", "OF-02"]))
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    other_holds, attempt_holds = threading.Event(), threading.Event()
    other_got: list[str] = []

    def other_client() -> None:
        with psycopg.connect(dsn) as other:
            other.execute("SET deadlock_timeout = '60s'")  # never the one to give up
            other.execute("SELECT id FROM items WHERE ref = 'OF-02' FOR UPDATE")
            other_holds.set()
            attempt_holds.wait(timeout=60)
            other.execute("SELECT id FROM items WHERE ref = 'OF-01' FOR UPDATE")  # waits for the attempt
            other_got.append("OF-01")
            other.rollback()

    client = threading.Thread(target=other_client)
    client.start()
    assert other_holds.wait(timeout=60)
    attempts: list[int] = []

    def body(uow: Any, actor: Any) -> int:
        attempts.append(len(attempts) + 1)
        uow.session.execute(text("SELECT id FROM items WHERE ref = 'OF-01' FOR UPDATE"))
        if len(attempts) == 1:
            uow.session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
            attempt_holds.set()
            with psycopg.connect(dsn, autocommit=True) as watcher:  # until the other client waits for OF-01
                deadline = time.monotonic() + 60
                while not watcher.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                    " WHERE NOT l.granted AND a.query LIKE '%OF-01%'"
                ).fetchone()[0]:  # type: ignore[index]
                    assert time.monotonic() < deadline, "the other client never waited for OF-01"
                    time.sleep(0.01)
            uow.session.execute(text("SELECT id FROM items WHERE ref = 'OF-02' FOR UPDATE"))  # the cycle
        record_applied(uow, actor, "evidence.add", item_ref="OF-01", detail={"attempt": len(attempts)})
        return len(attempts)

    assert in_unit_of_work(pg_url, SECRETARY, "evidence.add", body, item_ref="OF-01") == 2
    client.join(timeout=60)
    assert attempts == [1, 2]  # the deadlock happened and the attempt was run again, once
    assert other_got == ["OF-01"]  # the other client was let through when the attempt was aborted
    with Reader(pg_url) as r:
        records = r.all("SELECT outcome, detail FROM audit WHERE event = 'evidence.add'")
    assert [(rec["outcome"], json.loads(rec["detail"])["attempt"]) for rec in records] == [("applied", 2)]
    report, _ = verify(pg_url)
    assert report.ok, report.broken


def test_evidence_files_of_a_server_register_need_the_shared_folder(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signoff.errors import BadInput

    init_register(pg_url, SECRETARY)
    import_matrix(pg_url, SECRETARY, matrix(tmp_path, ["OF-01"]))
    paper = tmp_path / "audit.txt"
    paper.write_text("audit\n", encoding="utf-8")
    monkeypatch.delenv("SIGNOFF_EVIDENCE_DIR", raising=False)
    with pytest.raises(BadInput, match="SIGNOFF_EVIDENCE_DIR"):
        add_evidence(pg_url, SECRETARY, "OF-01", "audit", days_ago(1), file=paper)
    add_evidence(pg_url, SECRETARY, "OF-01", "data", days_ago(1), note="notes need no folder")
    monkeypatch.setenv("SIGNOFF_EVIDENCE_DIR", str(tmp_path / "shared"))
    add_evidence(pg_url, SECRETARY, "OF-01", "audit", days_ago(1), file=paper)
    assert any((tmp_path / "shared").rglob("*"))


def test_db_upgrade_on_postgres_applies_the_migrations_and_records_itself(run_cli: Any, pg_url: str) -> None:
    import psycopg

    from signoff.store import migrate

    migrate.upgrade(pg_url, "0001")
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('database_id', 'pg-upgrade-test')")
    refused = run_cli("board", db=pg_url)
    assert refused.code == 1 and "signoff db upgrade" in refused.err
    done = run_cli("db", "upgrade", db=pg_url, actor="sec")
    assert done.code == 0 and "from schema 0001 to" in done.out and "pg_dump" in done.out, done.err
    assert migrate.current_revision(pg_url) == migrate.head_revision()
    log = [json.loads(line) for line in run_cli("audit", "export", "--format", "jsonl", db=pg_url).out.splitlines()]
    # No chain before: the baseline of its (empty) tables, the rules it ran on, then the upgrade.
    assert [(r["event"], r["actor"]) for r in log] == [
        ("register.baseline", "sec"),
        ("workflow.pin", "sec"),
        ("register.upgrade", "sec"),
    ]
    assert run_cli("audit", "verify", db=pg_url).code == 0
    again = run_cli("db", "upgrade", db=pg_url)
    assert again.code == 0 and "nothing to do" in again.out


def test_a_forged_approval_fails_audit_verify_on_postgres(pg_url: str, tmp_path: Path) -> None:
    """Rows and a correctly chained record written straight into the server, without the chair's key."""

    import psycopg

    from signoff.domain import chain, sshsig
    from signoff.services.audit import verify_register
    from signoff.services.decisions import statement_for
    from signoff.store.reader import Reader

    init_register(pg_url, SECRETARY)
    add_user(pg_url, SECRETARY, CHAIR, ["chair"])
    register_key(pg_url, CHAIR)
    import_matrix(pg_url, SECRETARY, matrix(tmp_path, ["OF-01"]))
    for key in ("audit", "data"):
        add_evidence(pg_url, SECRETARY, "OF-01", key, days_ago(1), note=key)
    fire_event(pg_url, SECRETARY, "OF-01", "submit")
    statement = statement_for(pg_url, "OF-01", "approve", signer=CHAIR, meeting=dt.date.today()).encode()
    forged = sshsig.sign(user_key("attacker"), statement)  # not the chair's key
    with Reader(pg_url) as r:
        sub = r.one("SELECT id, bundle_digest FROM submissions")
        last = r.one("SELECT * FROM audit ORDER BY seq DESC LIMIT 1")
        item = r.one("SELECT id FROM items WHERE ref = 'OF-01'")
    assert sub is not None and last is not None and item is not None
    detail = {
        "meeting": TODAY,
        "approval_id": 1,
        "submission_id": sub["id"],
        "bundle": sub["bundle_digest"],
        "statement": statement.decode(),
        "signature": forged,
        "signer": user_key(CHAIR).public.fingerprint,
    }
    rec = {
        **{f: last[f] for f in chain.EXPORT_FIELDS},
        "seq": last["seq"] + 1,
        "actor": CHAIR,
        "roles": "chair",
        "item_ref": "OF-01",
        "event": "approve",
        "from_state": "evidence_submitted",
        "to_state": "signed_off",
        "outcome": "applied",
        "detail": chain.detail_text(detail),
        "prev_hash": last["hash"],
    }
    rec["hash"] = chain.record_hash(rec)
    at = rec["recorded_at"]
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO approvals (id, item_id, submission_id, approved_at, approved_by, meeting, bundle_digest,"
            " statement, signature, signer) VALUES (1, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                item["id"],
                sub["id"],
                at,
                CHAIR,
                TODAY,
                sub["bundle_digest"],
                detail["statement"],
                forged,
                detail["signer"],
            ),
        )
        conn.execute("UPDATE items SET state = 'signed_off', version = version + 1, last_transition_at = %s", (at,))
        cols = ", ".join(chain.EXPORT_FIELDS)
        conn.execute(
            f"INSERT INTO audit ({cols}) VALUES ({', '.join('%s' for _ in chain.EXPORT_FIELDS)})",
            [rec[f] for f in chain.EXPORT_FIELDS],
        )
        conn.execute(
            "INSERT INTO signatures (seq, item_ref, event, signed_by, signer, statement, signature)"
            " VALUES (%s, 'OF-01', 'approve', %s, %s, %s, %s)",
            (rec["seq"], CHAIR, detail["signer"], detail["statement"], forged),
        )
    report, _, reconciled = verify_register(pg_url)
    assert report.ok, report.broken
    assert json.dumps(reconciled.differences) == "[]"
    assert any(s == rec["seq"] and "signature does not verify" in why for s, why in reconciled.problems)
