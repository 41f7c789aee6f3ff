"""A shared register an IT department would sign off: no password kept or shown, copies that are
atomic and consistent while others write, and waits for locks that end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import SECRETARY, days_ago, write_matrix
from signing import key_file

from signoff.services.copy import copy_register
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.register import init_register
from signoff.store.reader import Reader

pytestmark = pytest.mark.slow  # each run starts a PostgreSQL cluster; every test makes a database


def matrix(tmp_path: Path, refs: list[str]) -> Path:
    rows = [
        (ref, "ofsted-recommendation", f"Recommendation {ref}", "", key, f"Evidence {key}", days_ago(-20).isoformat())
        for ref in refs
        for key in ("audit", "data")
    ]
    return write_matrix(tmp_path / "matrix.csv", rows)


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def table_count(url: str) -> int:
    import psycopg

    with psycopg.connect(libpq(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchone()
    assert row is not None
    return int(row[0])


def audit_lines(run_cli: Any, db: str | Path) -> list[str]:
    result = run_cli("audit", "export", "--format", "jsonl", db=db)
    assert result.code == 0, result.err
    lines: list[str] = result.out.splitlines()
    return lines


# --- 1. secrets ---------------------------------------------------------------------------------------


def test_no_password_reaches_any_output_error_or_audit_record(run_cli: Any, pg_cluster: str, tmp_path: Path) -> None:
    import pgserver

    first, second = pgserver.new_database(pg_cluster), pgserver.new_database(pg_cluster)
    # The cluster trusts local logins, so any password is accepted: what matters is where it ends up.
    in_userinfo = first.replace("postgres@", "postgres:Pw%40Secret1@") + (
        "?sslpassword=SslSecret2&passfile=/nowhere/PassfileSecret3&application_name=signoff"
    )
    in_query = second + "?password=QuerySecret4"
    secrets = ("Secret1", "Pw@", "Pw%40", "SslSecret2", "PassfileSecret3", "QuerySecret4", "Secret5", "TOP@")
    runs = []

    def run(*args: str, db: str | Path, actor: str | None = None) -> Any:
        result = run_cli(*args, db=db, actor=actor)
        runs.append((args, result))
        return result

    assert run("init", "--secretary", SECRETARY, db=in_userinfo).code == 0
    assert run("matrix", "import", str(matrix(tmp_path, ["OF-01"])), db=in_userinfo, actor=SECRETARY).code == 0
    assert run("history", "NOPE", db=in_userinfo).code == 4
    assert (
        run(
            "evidence",
            "add",
            "NOPE",
            "audit",
            "--note",
            "x",
            "--dated",
            days_ago(1).isoformat(),
            db=in_userinfo,
            actor=SECRETARY,
        ).code
        == 4
    )
    copied = run("db", "copy", "--to", in_query, db=in_userinfo, actor=SECRETARY)
    assert copied.code == 0, copied.err
    again = run("db", "copy", "--to", in_query, db=in_userinfo, actor=SECRETARY)
    assert again.code == 2 and "already holds a register" in again.err
    back = tmp_path / "back.db"
    assert run("db", "copy", "--to", str(back), db=in_query, actor=SECRETARY).code == 0
    missing = first.rsplit("/", 1)[0].replace("postgres@", "postgres:Pw%40Secret1@") + "/no_such_db"
    assert run("board", db=missing).code == 1
    unreadable = first.replace("postgres@", "postgres:TOP@Secret5@")
    refused = run("board", db=unreadable)
    assert refused.code == 2 and "PGPASSWORD" in refused.err and len(refused.err.strip().splitlines()) == 1
    records = [*audit_lines(run_cli, in_userinfo), *audit_lines(run_cli, in_query), *audit_lines(run_cli, back)]
    copy_records = [json.loads(r) for r in records if '"register.copy"' in r]
    assert {json.loads(r["detail"])["to"] for r in copy_records if r["outcome"] == "applied"} >= {str(back)}
    for args, result in runs:
        for secret in secrets:
            assert secret not in result.out and secret not in result.err, (args, secret)
    for record in records:
        for secret in secrets:
            assert secret not in record, (record, secret)


# --- 2. copies ----------------------------------------------------------------------------------------


def test_a_copy_taken_while_eight_writers_run_is_the_register_as_of_one_moment(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    from signoff.services.audit import verify
    from signoff.store.tables import metadata

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
    writers = [subprocess.Popen([sys.executable, str(script), pg_url, ref, "40"]) for ref in refs]
    copies: list[Path] = []
    try:
        with psycopg.connect(libpq(pg_url), autocommit=True) as conn:  # until the writers are under way
            deadline = time.monotonic() + 120
            while not conn.execute("SELECT count(*) FROM evidence").fetchone()[0]:  # type: ignore[index]
                assert time.monotonic() < deadline and all(w.poll() in (None, 0) for w in writers)
                time.sleep(0.01)
        while any(w.poll() is None for w in writers) or len(copies) < 2:
            copies.append(tmp_path / f"copy-{len(copies)}.db")
            copy_register(pg_url, copies[-1], SECRETARY)
    finally:
        assert [w.wait(timeout=180) for w in writers] == [0] * len(refs)
    assert len(copies) >= 2
    for copy in copies:
        report, _ = verify(copy)
        assert report.ok, (copy, report.broken)
        with Reader(copy) as r:
            evidence = r.one("SELECT COUNT(*) AS n FROM evidence")
            logged = r.one("SELECT COUNT(*) AS n FROM audit WHERE event = 'evidence.add' AND outcome = 'applied'")
        assert evidence is not None and logged is not None
        assert evidence["n"] == logged["n"], copy  # never a row without the record that made it
    # Once the writers are done, a copy holds every row of every table signoff defines.
    final = tmp_path / "final.db"
    copy_register(pg_url, final, SECRETARY)
    for table in metadata.sorted_tables:
        if table.name == "alembic_version":
            continue
        with Reader(pg_url) as r:
            at_source = r.one(f"SELECT COUNT(*) AS n FROM {table.name}")
        with Reader(final) as r:
            in_copy = r.one(f"SELECT COUNT(*) AS n FROM {table.name}")
        assert at_source is not None and in_copy is not None
        extra = 1 if table.name == "audit" else 0  # the copy's own register.copy record
        assert in_copy["n"] == at_source["n"] + extra, table.name


def _source_with_a_file(tmp_path: Path, db_path: Path) -> Path:
    import_matrix(db_path, SECRETARY, matrix(tmp_path, ["OF-01"]))
    paper = tmp_path / "audit.txt"
    paper.write_text("Audit of 30 contacts\n", encoding="utf-8")
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), file=paper)
    return db_path


def _signoff(db: str | Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "signoff", "--db", str(db), "--as", SECRETARY, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_a_waiter(conn: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute("SELECT COUNT(*) FROM pg_locks WHERE NOT granted").fetchone()
        if row and row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("no session ever waited for the held lock")


def _wait_until_alone(conn: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        if row and not row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("a killed client's session kept running past the lock bound")


def test_an_interrupted_or_failed_copy_leaves_the_destination_as_it_was(
    db_path: Path, pg_url: str, tmp_path: Path
) -> None:
    import psycopg

    from signoff.store.uow import AUDIT_HEAD_LOCK

    _source_with_a_file(tmp_path, db_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    env["SIGNOFF_EVIDENCE_DIR"] = str(tmp_path / "pg-evidence")
    blocker = psycopg.connect(libpq(pg_url), autocommit=True)
    try:
        # The copy writes everything, then waits to append its register.copy record: kill it there.
        blocker.execute("SELECT pg_advisory_lock(%s)", (AUDIT_HEAD_LOCK,))
        copying = _signoff(db_path, "db", "copy", "--to", pg_url, env={**env, "SIGNOFF_BUSY_TIMEOUT_MS": "2000"})
        _wait_for_a_waiter(blocker)
        copying.send_signal(signal.SIGKILL)
        copying.wait(timeout=30)
        assert table_count(pg_url) == 0
        # The killed client's server session gives up at the lock bound (2 s) and takes its transaction with
        # it; without the bound it would wait for the blocker for ever. The wait here only guards a hang.
        _wait_until_alone(blocker, timeout=120)
        # Or it gives up at the lock's bound: exit 5, one sentence, and again nothing is kept.
        failing = _signoff(db_path, "db", "copy", "--to", pg_url, env={**env, "SIGNOFF_BUSY_TIMEOUT_MS": "500"})
        _, err = failing.communicate(timeout=60)
        assert failing.returncode == 5 and "stayed locked" in err and len(err.strip().splitlines()) == 1, err
        assert table_count(pg_url) == 0
    finally:
        blocker.close()
    # A missing evidence file stops the copy after every row is written: still nothing kept.
    blob = next(p for p in (tmp_path / "register.db.evidence").rglob("*") if p.is_file())
    blob.rename(tmp_path / "aside")
    missing = _signoff(db_path, "db", "copy", "--to", pg_url, env=env)
    _, err = missing.communicate(timeout=60)
    assert missing.returncode == 1 and "is missing" in err, err
    assert table_count(pg_url) == 0
    into_file = _signoff(db_path, "db", "copy", "--to", str(tmp_path / "new.db"), env=env)
    into_file.communicate(timeout=60)
    assert into_file.returncode == 1 and not (tmp_path / "new.db").exists()
    (tmp_path / "aside").rename(blob)
    done = _signoff(db_path, "db", "copy", "--to", pg_url, env=env)
    out, err = done.communicate(timeout=60)
    assert done.returncode == 0 and "1 evidence file" in out, err


def test_a_copy_to_postgres_without_an_evidence_folder_writes_nothing(
    db_path: Path, pg_url: str, tmp_path: Path, run_cli: Any
) -> None:
    _source_with_a_file(tmp_path, db_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    refused = _signoff(db_path, "db", "copy", "--to", pg_url, env=env)
    _, err = refused.communicate(timeout=60)
    assert refused.returncode == 2 and "SIGNOFF_EVIDENCE_DIR" in err, err
    assert table_count(pg_url) == 0
    retried = run_cli("db", "copy", "--to", pg_url, db=db_path, actor=SECRETARY)
    assert retried.code == 0, retried.err
    assert json.loads(audit_lines(run_cli, pg_url)[-1])["event"] == "register.copy"
    assert run_cli("evidence", "verify", db=pg_url).code == 0


# --- 3. bounded waits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("held", ["item row", "audit chain"])
def test_a_held_lock_ends_in_exit_5_within_the_bound(pg_url: str, tmp_path: Path, held: str) -> None:
    import psycopg

    from signoff.store.uow import AUDIT_HEAD_LOCK

    init_register(pg_url, SECRETARY)
    import_matrix(pg_url, SECRETARY, matrix(tmp_path, ["OF-01"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    env["SIGNOFF_BUSY_TIMEOUT_MS"] = "1000"
    with psycopg.connect(libpq(pg_url)) as other:
        if held == "item row":
            other.execute("SELECT state FROM items WHERE ref = 'OF-01' FOR UPDATE")
        else:
            other.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_HEAD_LOCK,))
        writer = _signoff(
            pg_url, "evidence", "add", "OF-01", "data", "--note", "figures", "--dated", days_ago(1).isoformat(), env=env
        )
        out, err = writer.communicate(timeout=120)  # bounded by the lock bound's retries; this only guards a hang
        other.rollback()
    assert writer.returncode == 5, (out, err)
    assert "stayed locked by another user" in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    with Reader(pg_url) as r:
        assert r.one("SELECT COUNT(*) AS n FROM evidence") == {"n": 0}
        applied = r.one("SELECT COUNT(*) AS n FROM audit WHERE event = 'evidence.add' AND outcome = 'applied'")
    assert applied == {"n": 0}
    add_evidence(pg_url, SECRETARY, "OF-01", "data", days_ago(1), note="after the lock is released")


# --- 4. least privilege -------------------------------------------------------------------------------


def test_the_runtime_role_runs_the_lifecycle_and_cannot_touch_the_record(
    run_cli: Any, pg_cluster: str, tmp_path: Path
) -> None:
    import pgserver
    import psycopg

    from signoff.store.tables import metadata

    url = pgserver.new_database(pg_cluster)
    database = url.rsplit("/", 1)[1]
    printed = run_cli("db", "roles", "--owner", "board_owner", "--runtime", "board_app", db=url)
    assert printed.code == 0, printed.err
    admin_sql, owner_sql = printed.out.split("\n\n")
    assert (
        "GRANT SELECT, INSERT, UPDATE ON public.challenges, public.items, public.matrix_rows, public.meetings,"
        " public.meta, public.rulesets, public.user_keys, public.users TO board_app;" in owner_sql
    )
    assert "GRANT DELETE ON public.matrix_rows TO board_app;" in owner_sql
    assert owner_sql.count("DELETE") == 1 and "TRUNCATE" not in owner_sql
    with psycopg.connect(libpq(url), autocommit=True) as admin:  # the administrator's part, as printed
        for statement in admin_sql.splitlines():
            if not statement.startswith("--"):
                admin.execute(statement)
    as_owner, as_app = url.replace("postgres@", "board_owner@"), url.replace("postgres@", "board_app@")
    assert f'ALTER DATABASE "{database}" OWNER TO board_owner;' in admin_sql

    def ok(*args: str, db: str = as_app, actor: str | None = SECRETARY) -> str:
        result = run_cli(*args, db=db, actor=actor)
        assert result.code == 0, (args, result.err)
        out: str = result.out
        return out

    ok("init", "--secretary", SECRETARY, db=as_owner, actor=None)
    before = run_cli("board", db=as_app)
    assert before.code == 1 and "db roles --apply" in before.err and "Traceback" not in before.err
    assert "Granted board_app" in ok("db", "roles", "--runtime", "board_app", "--apply", db=as_owner)
    not_owner = run_cli("db", "roles", "--runtime", "board_app", "--apply", db=as_app, actor=SECRETARY)
    assert not_owner.code == 2 and "owner of the register's tables (board_owner)" in not_owner.err
    # The whole life of an item, as the runtime role.
    ok("user", "add", "chair", "--role", "chair")
    ok("user", "add", "police", "--role", "member")
    ok("user", "key", "add", "chair", "--public-key", str(key_file(tmp_path / "keys", "chair")) + ".pub")
    ok("matrix", "import", str(matrix(tmp_path, ["OF-01"])))
    (tmp_path / "audit.txt").write_text("Audit of 30 contacts\n", encoding="utf-8")
    dated = days_ago(2).isoformat()
    ok("evidence", "add", "OF-01", "audit", "--file", str(tmp_path / "audit.txt"), "--dated", dated)
    ok("evidence", "add", "OF-01", "data", "--note", "Figures", "--dated", dated)
    ok("submit", "OF-01")
    ok("challenge", "OF-01", "--reason", "Show the trend", actor="police")
    ok("evidence", "add", "OF-01", "data", "--note", "Trend", "--dated", days_ago(1).isoformat())
    ok("resubmit", "OF-01", "--response", "Trend added")
    ok("item", "reschedule", "OF-01", "--due", days_ago(-30).isoformat(), "--reason", "Board moved")
    ok("matrix", "add", "OF-01", "extra", "--description", "Spare", "--present-by", days_ago(-5).isoformat())
    ok("matrix", "remove", "OF-01", "extra", "--reason", "Not needed after all")
    ok("meeting", "add", days_ago(0).isoformat())
    ok("meeting", "add", days_ago(-14).isoformat())
    ok("meeting", "add", days_ago(-28).isoformat())
    ok("meeting", "move", days_ago(-14).isoformat(), "--to", days_ago(-15).isoformat(), "--reason", "Room")
    ok("meeting", "cancel", days_ago(-28).isoformat(), "--reason", "Snow")
    ok("approve", "OF-01", "--meeting", days_ago(0).isoformat(), actor="chair")
    assert "Audit chain intact" in ok("audit", "verify", actor=None)
    assert "signed off OF-01" in ok("meeting", "show", days_ago(0).isoformat(), actor=None)
    assert "Nothing is waiting" in ok("todo", actor="chair")
    ok("evidence", "verify", actor=None)
    ok("db", "copy", "--to", str(tmp_path / "copy.db"))
    events = [json.loads(line)["event"] for line in audit_lines(run_cli, as_app)]
    assert "register.roles" in events and events[-1] == "approve"
    # What the runtime role must never do to the record.
    with psycopg.connect(libpq(as_app), autocommit=True) as app:
        refused = [
            "ALTER TABLE audit DISABLE TRIGGER USER",
            "ALTER TABLE audit DISABLE TRIGGER ALL",
            "TRUNCATE audit",
            "UPDATE audit SET actor = 'someone else'",
            "DROP TABLE audit",
            "CREATE TABLE audit_copy (seq integer)",
            *(f"DELETE FROM {t}" for t in sorted(metadata.tables) if t != "matrix_rows"),
        ]
        for statement in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(statement)


# --- 5. refuse what is not ours -----------------------------------------------------------------------


def test_init_refuses_another_applications_tables_and_may_use_its_own_schema(run_cli: Any, pg_url: str) -> None:
    import psycopg

    with psycopg.connect(libpq(pg_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE payroll (id integer)")
        conn.execute("CREATE SCHEMA board")
    refused = run_cli("init", "--secretary", SECRETARY, db=pg_url)
    assert refused.code == 2 and "payroll" in refused.err and "search_path" in refused.err, refused.err
    assert len(refused.err.strip().splitlines()) == 1 and table_count(pg_url) == 1
    in_schema = pg_url + "?options=-csearch_path%3Dboard"
    done = run_cli("init", "--secretary", SECRETARY, db=in_schema)
    assert done.code == 0, done.err
    assert run_cli("board", db=in_schema).code == 0
    with psycopg.connect(libpq(pg_url), autocommit=True) as conn:
        schemas = conn.execute(
            "SELECT table_schema, COUNT(*) FROM information_schema.tables"
            " WHERE table_schema IN ('public', 'board') GROUP BY table_schema"
        ).fetchall()
    assert dict(schemas)["public"] == 1 and dict(schemas)["board"] > 10
    missing = run_cli("init", "--secretary", SECRETARY, db=pg_url + "?options=-csearch_path%3Dnowhere")
    assert missing.code == 2 and "does not exist" in missing.err, missing.err


def test_the_evidence_folder_is_absolute_and_recorded_at_init(pg_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    relative = _signoff(pg_url, "init", "--secretary", SECRETARY, env={**env, "SIGNOFF_EVIDENCE_DIR": "evidence"})
    _, err = relative.communicate(timeout=60)
    assert relative.returncode == 2 and "absolute" in err, err
    assert table_count(pg_url) == 0
    shared = tmp_path / "shared"
    init = _signoff(pg_url, "init", "--secretary", SECRETARY, env={**env, "SIGNOFF_EVIDENCE_DIR": str(shared)})
    assert init.wait(timeout=60) == 0
    import_matrix(pg_url, SECRETARY, matrix(tmp_path, ["OF-01"]))
    paper = tmp_path / "audit.txt"
    paper.write_text("Audit of 30 contacts\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # No SIGNOFF_EVIDENCE_DIR on this machine, another working folder: the recorded folder is used.
    add = ["evidence", "add", "OF-01", "audit", "--file", str(paper), "--dated", days_ago(1).isoformat()]
    added = subprocess.run(
        [sys.executable, "-m", "signoff", "--db", pg_url, "--as", SECRETARY, *add],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert added.returncode == 0, added.stderr
    assert [p for p in shared.rglob("*") if p.is_file()] and not any(elsewhere.iterdir())
    checked = subprocess.run(
        [sys.executable, "-m", "signoff", "--db", pg_url, "evidence", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


def test_concurrent_inits_one_wins_the_others_get_one_sentence(pg_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    procs = [_signoff(pg_url, "init", "--secretary", f"sec{n}", env=env) for n in range(4)]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2, 2, 2], results
    for code, err in results:
        if code:
            assert "already a signoff register" in err and len(err.strip().splitlines()) == 1, err
    with Reader(pg_url) as r:
        inits = r.all("SELECT actor FROM audit WHERE event = 'register.init'")
        ids = r.all("SELECT value FROM meta WHERE key = 'database_id'")
    assert len(inits) == 1 and len(ids) == 1
    from signoff.services.audit import verify

    assert verify(pg_url)[0].ok
