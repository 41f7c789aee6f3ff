"""Tampering with the audit log, in every way the issue names, is caught at the right record.

Each test builds a real register, opens the database with stdlib sqlite3 as an attacker would,
drops the append-only triggers, edits, and checks that `audit verify` (and, for exports,
`audit verify-export`) reports exactly the records expected. A verifier that always passes fails
every test here: each one asserts the broken sequence numbers, not just a non-zero exit.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import CHAIR, MEMBER, SECRETARY, days_ago, write_matrix
from signing import fire_event, register_key

from signoff.domain import chain
from signoff.services import audit
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.register import add_user, init_register
from signoff.services.schedule import add_meeting

DUE = (dt.date.today() + dt.timedelta(days=60)).isoformat()
PRESENT_BY = (dt.date.today() + dt.timedelta(days=30)).isoformat()


def build_register(folder: Path) -> Path:
    """A register with users, a matrix, file and note evidence, a sign-off and a pending submission."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "register.db"
    init_register(db, SECRETARY)
    add_user(db, SECRETARY, CHAIR, ["chair"])
    add_user(db, SECRETARY, MEMBER, ["member"])
    register_key(db, CHAIR)
    add_meeting(db, SECRETARY, dt.date.today())
    rows = [
        ("OF-01", "ofsted-recommendation", "Screen every contact", DUE, "audit", "Case-file audit", PRESENT_BY),
        ("OF-02", "ofsted-recommendation", "Reduce caseloads", DUE, "data", "Caseload data", PRESENT_BY),
    ]
    import_matrix(db, SECRETARY, write_matrix(folder / "matrix.csv", rows))
    paper = folder / "audit-findings.txt"
    paper.write_text("Case-file audit: 48 of 50 contacts screened within a day. Café ✓\n", encoding="utf-8")
    add_evidence(db, SECRETARY, "OF-01", "audit", days_ago(3), file=paper)
    add_evidence(db, SECRETARY, "OF-02", "data", days_ago(2), note="Average caseload 22")
    fire_event(db, SECRETARY, "OF-01", "submit")
    fire_event(db, CHAIR, "OF-01", "approve", meeting=dt.date.today())
    fire_event(db, SECRETARY, "OF-02", "submit")
    fire_event(db, MEMBER, "OF-02", "challenge", reason="Show the trend, not a snapshot")
    return db


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_register(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def db(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the pristine register (and its evidence store) for one test to damage."""
    target = tmp_path / "copy"
    shutil.copytree(pristine.parent, target)
    return target / pristine.name


@contextmanager
def tampering(db: Path) -> Iterator[sqlite3.Connection]:
    """Open the database as an attacker: drop the append-only triggers first, commit on exit."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def records(db: Path) -> list[dict[str, object]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT " + ", ".join(chain.EXPORT_FIELDS) + " FROM audit ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [dict(zip(chain.EXPORT_FIELDS, r, strict=True)) for r in rows]


def insert(conn: sqlite3.Connection, rec: dict[str, object]) -> None:
    conn.execute(
        f"INSERT INTO audit ({', '.join(chain.EXPORT_FIELDS)}) VALUES ({', '.join('?' * len(chain.EXPORT_FIELDS))})",
        [rec[f] for f in chain.EXPORT_FIELDS],
    )


def broken(db: Path, anchor: tuple[int, str] | None = None) -> list[int]:
    report, integrity = audit.verify(db, anchor)
    assert integrity == "ok"
    return [seq for seq, _ in report.broken]


def anchor_of(db: Path) -> tuple[int, str]:
    head = audit.head(db)
    assert head is not None
    return head


# --- the untouched log ------------------------------------------------------------------------


def test_untouched_log_verifies_with_and_without_its_anchor(db: Path) -> None:
    report, integrity = audit.verify(db, anchor_of(db))
    assert report.ok and integrity == "ok"
    assert report.checked == len(records(db)) == 14
    assert (report.last_seq, report.last_hash) == anchor_of(db)


def test_triggers_refuse_update_and_delete(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit WHERE seq = 3")
    finally:
        conn.close()
    assert broken(db) == []


# --- without an anchor: edits, deletions, insertions, reordering ------------------------------

EDITS = {
    "recorded_at": "2013-09-30T10:00:00.000000+00:00",
    "actor": "mallory",
    "roles": "chair,secretary",
    "item_ref": "OF-02",
    "event": "reopen",
    "from_state": "proposed",
    "to_state": "challenged",
    "outcome": "refused",
    "detail": '{"bundle":"0000"}',
    "workflow_hash": None,
    "prev_hash": "0" * 64,
    "hash": "f" * 64,
}


@pytest.mark.parametrize("field", sorted(EDITS))
def test_edited_field_is_reported_at_its_record(db: Path, field: str) -> None:
    target = next(r for r in records(db) if r["event"] == "approve")
    seq = int(target["seq"])  # type: ignore[call-overload]
    with tampering(db) as conn:
        conn.execute(f"UPDATE audit SET {field} = ? WHERE seq = ?", (EDITS[field], seq))
    # A changed stored hash also breaks the next record's link to it; anything else is one record.
    assert broken(db) == ([seq, seq + 1] if field == "hash" else [seq])


def test_non_ascii_prev_hash_is_reported_not_a_crash(db: Path) -> None:
    with tampering(db) as conn:
        conn.execute("UPDATE audit SET prev_hash = 'é' WHERE seq = 4")
    assert broken(db) == [4]


def test_every_broken_record_is_reported_not_only_the_first(db: Path) -> None:
    with tampering(db) as conn:
        conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq IN (3, 7, 9)")
    assert broken(db) == [3, 7, 9]


def test_deleted_middle_record_is_reported_at_the_next(db: Path) -> None:
    with tampering(db) as conn:
        conn.execute("DELETE FROM audit WHERE seq = 6")
    report, _ = audit.verify(db)
    assert [s for s, _ in report.broken] == [7]
    assert "records 6..6 are missing" in report.broken[0][1]


def test_forged_record_with_a_made_up_hash_is_reported_at_its_seq(db: Path) -> None:
    last = records(db)[-1]
    seq = int(last["seq"]) + 1  # type: ignore[call-overload]
    forged = {**last, "seq": seq, "actor": CHAIR, "event": "approve", "prev_hash": last["hash"], "hash": "ab" * 32}
    with tampering(db) as conn:
        insert(conn, forged)
    assert broken(db) == [seq]


def test_forged_record_spliced_into_the_middle_is_caught_at_the_record_after_it(db: Path) -> None:
    """Even a forger who knows the algorithm cannot make the next record link to the forgery."""
    log = records(db)
    at = 6
    with tampering(db) as conn:
        for rec in reversed(log[at - 1 :]):  # make room: renumber seq >= 6 upwards, highest first
            conn.execute("UPDATE audit SET seq = seq + 1 WHERE seq = ?", (rec["seq"],))
        forged = {**log[at - 2], "seq": at, "actor": CHAIR, "event": "approve", "prev_hash": log[at - 2]["hash"]}
        forged["hash"] = chain.record_hash(forged)
        insert(conn, forged)
    # The forgery itself is self-consistent; the record after it no longer links, and every
    # renumbered record's seq no longer matches its hash.
    assert broken(db) == list(range(at + 1, len(log) + 2))


def test_swapped_records_are_reported(db: Path) -> None:
    log = records(db)
    with tampering(db) as conn:
        conn.execute("UPDATE audit SET seq = -1 WHERE seq = 5")
        conn.execute("UPDATE audit SET seq = 5 WHERE seq = 6")
        conn.execute("UPDATE audit SET seq = 6 WHERE seq = -1")
    assert len(records(db)) == len(log)
    report, _ = audit.verify(db)
    # Both swapped records; and record 7, whose prev_hash now names a record moved away from 6.
    assert [s for s, _ in report.broken] == [5, 6, 7]
    assert report.broken[2][1] == "its prev_hash does not match the record before it"


def test_swapped_contents_keeping_seq_are_reported(db: Path) -> None:
    log = records(db)
    with tampering(db) as conn:
        conn.execute("DELETE FROM audit WHERE seq IN (5, 6)")
        insert(conn, {**log[5], "seq": 5})
        insert(conn, {**log[4], "seq": 6})
    assert broken(db) == [5, 6, 7]


def test_record_edited_and_rehashed_alone_is_caught_at_the_next(db: Path) -> None:
    target = records(db)[4]
    target["actor"] = "mallory"
    target["hash"] = chain.record_hash(target)
    with tampering(db) as conn:
        conn.execute("UPDATE audit SET actor = ?, hash = ? WHERE seq = 5", (target["actor"], target["hash"]))
    assert broken(db) == [6]


def test_changed_database_id_breaks_the_genesis_link(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = 'another-database' WHERE key = 'database_id'")
    conn.commit()
    conn.close()
    report, _ = audit.verify(db)
    assert report.broken == [(1, "its prev_hash is not this database's genesis value")]


# --- with an anchor: truncation, re-hashing, an older copy ------------------------------------


def test_truncated_tail_passes_alone_but_fails_against_the_anchor(db: Path) -> None:
    anchor = anchor_of(db)
    with tampering(db) as conn:
        conn.execute("DELETE FROM audit WHERE seq > ?", (anchor[0] - 3,))
    assert broken(db) == []  # a shorter log is a valid chain: only the minutes can tell
    report, _ = audit.verify(db, anchor)
    assert report.broken == [
        (
            anchor[0],
            f"the anchored record {anchor[0]} is not in the log (it ends at {anchor[0] - 3}), "
            "so the log does not match the anchor",
        )
    ]


def rehash_everything(db: Path, edit: Callable[[dict[str, object]], None]) -> None:
    conn = sqlite3.connect(db)
    database_id = conn.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()[0]
    conn.close()
    prev = chain.genesis(database_id)
    log = records(db)
    with tampering(db) as conn:
        for rec in log:
            edit(rec)
            rec["prev_hash"] = prev
            rec["hash"] = prev = chain.record_hash(rec)
            conn.execute(
                "UPDATE audit SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (rec["actor"], rec["prev_hash"], rec["hash"], rec["seq"]),
            )


def test_fully_rehashed_log_passes_alone_but_fails_against_the_anchor(db: Path) -> None:
    anchor = anchor_of(db)
    early = (4, str(records(db)[3]["hash"]))

    def edit(rec: dict[str, object]) -> None:
        if rec["event"] == "approve":
            rec["actor"] = "mallory"

    rehash_everything(db, edit)
    approve_seq = next(int(r["seq"]) for r in records(db) if r["event"] == "approve")  # type: ignore[call-overload]
    assert early[0] < approve_seq < anchor[0]
    assert broken(db) == []  # documented: a consistent re-hash needs the anchor to be caught
    report, _ = audit.verify(db, anchor)
    assert report.broken == [(anchor[0], "its hash does not match the anchor read into the minutes")]
    assert broken(db, early) == []  # an anchor older than the edit cannot see it


def test_database_replaced_by_an_older_copy_fails_against_the_anchor(db: Path, tmp_path: Path) -> None:
    live = tmp_path / "live"
    shutil.copytree(db.parent, live)  # ``db`` stays behind as the older copy
    live_db = live / db.name
    add_evidence(live_db, SECRETARY, "OF-02", "data", days_ago(1), note="Caseloads by team")
    anchor = anchor_of(live_db)  # the chair reads this into the minutes
    # Someone puts the older copy back in place of the live register.
    assert broken(db) == []
    assert broken(db, anchor) == [anchor[0]]
    # Work carried on from the old copy reaches the anchored seq again, with a different record.
    add_evidence(db, SECRETARY, "OF-02", "data", days_ago(0), note="Three-month trend")
    assert anchor_of(db)[0] == anchor[0]
    report, _ = audit.verify(db, anchor)
    assert report.broken == [(anchor[0], "its hash does not match the anchor read into the minutes")]


# --- the command line --------------------------------------------------------------------------


def test_cli_verify_head_and_board_agree_and_a_break_exits_nonzero(db: Path, run_cli: Callable) -> None:
    head = run_cli("audit", "head", db=db)
    assert head.code == 0
    anchor = head.out.strip()
    seq, digest = anchor.split(":")
    assert json.loads(run_cli("audit", "head", "--json", db=db).out) == {"seq": int(seq), "hash": digest}
    assert anchor in run_cli("board", db=db).out
    ok = run_cli("audit", "verify", "--anchor", anchor, db=db)
    assert ok.code == 0, ok.err
    assert "quick_check ok" in ok.out

    with tampering(db) as conn:
        conn.execute("UPDATE audit SET detail = '{}' WHERE seq = 4")
        conn.execute("DELETE FROM audit WHERE seq = 8")
    bad = run_cli("audit", "verify", "--anchor", anchor, db=db)
    assert bad.code == 1
    assert [line.split(":")[0] for line in bad.out.splitlines()] == ["record 4", "record 9"]
    assert "2 broken record(s)" in bad.err

    wrong = run_cli("audit", "verify", "--anchor", "12:nothex", db=db)
    assert wrong.code == 2


def test_cli_verify_fails_when_sqlite_quick_check_fails(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from signoff.cli import cli
    from signoff.store.reader import SqliteReader

    monkeypatch.setattr(
        SqliteReader, "quick_check", lambda self: "*** in database main *** Page 7: btreeInitPage() error"
    )
    result = CliRunner().invoke(cli, ["--db", str(db), "audit", "verify"])
    assert result.exit_code == 1
    assert "quick_check" in str(result.output) + str(result.exception or "")


# --- exports -----------------------------------------------------------------------------------


def export(db: Path, fmt: str, tmp_path: Path, **filters: object) -> Path:
    out = tmp_path / f"audit-{fmt}-{'-'.join(map(str, filters)) or 'all'}.{fmt}"
    with out.open("w", encoding="utf-8", newline="") as fh:
        audit.export(db, fh, fmt, **filters)  # type: ignore[arg-type]
    return out


def export_broken(path: Path, filtered: bool = False) -> list[int]:
    return [seq for seq, _ in audit.verify_export(path, filtered=filtered).broken]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_every_export_format_verifies_and_carries_the_chain(db: Path, tmp_path: Path, fmt: str) -> None:
    path = export(db, fmt, tmp_path)
    report = audit.verify_export(path)
    assert report.ok
    assert (report.first_seq, report.last_seq, report.last_hash) == (1, *anchor_of(db))
    assert report.checked == len(records(db))


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_one_edited_byte_in_an_export_is_reported_at_its_record(db: Path, tmp_path: Path, fmt: str) -> None:
    path = export(db, fmt, tmp_path)
    text = path.read_text(encoding="utf-8")
    # Change one byte inside the chair's name on the approval record (seq 12 in this register).
    target = next(r for r in records(db) if r["event"] == "approve")
    assert target["seq"] == 12
    line_no = next(i for i, line in enumerate(text.splitlines()) if str(target["hash"]) in line and "approve" in line)
    lines = text.splitlines(keepends=True)
    lines[line_no] = lines[line_no].replace(CHAIR, "chaiR", 1)
    path.write_text("".join(lines), encoding="utf-8")
    assert export_broken(path) == [12]


def test_a_damaged_jsonl_line_is_reported_and_the_rest_still_checked(db: Path, tmp_path: Path) -> None:
    path = export(db, "jsonl", tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].replace('", "', '" "', 1)  # one byte: record 5 is no longer JSON
    lines[10] = lines[10].replace('"actor": "', '"actor": "x', 1)  # and record 11 is edited
    path.write_text("".join(lines), encoding="utf-8")
    report = audit.verify_export(path)
    assert report.broken == [(5, "line 5 is not JSON"), (11, "its contents do not match its hash")]


def test_a_deleted_or_reordered_export_line_is_caught(db: Path, tmp_path: Path) -> None:
    path = export(db, "jsonl", tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:5] + lines[6:]), encoding="utf-8")
    assert export_broken(path) == [7]
    path.write_text("".join([*lines[:5], lines[6], lines[5], *lines[7:]]), encoding="utf-8")
    assert export_broken(path) == [7, 6, 8]


def test_export_since_a_date_starts_mid_chain_and_verifies(db: Path, tmp_path: Path) -> None:
    log = records(db)
    cut = dt.date.fromisoformat(str(log[6]["recorded_at"])[:10])
    with tampering(db) as conn:  # backdate the first records so the window starts mid-log
        for rec in log[:6]:
            rec["recorded_at"] = "2013-09-30T10:00:00.000000+00:00"
        rehash_from_genesis(conn, log)
    path = export(db, "csv", tmp_path, since=cut)
    assert export_broken(path) == [7]  # not a full export: records 1..6 are not in it
    report = audit.verify_export(path, filtered=True)
    assert report.ok
    assert (report.first_seq, report.checked) == (7, len(log) - 6)


def rehash_from_genesis(conn: sqlite3.Connection, log: list[dict[str, object]]) -> None:
    prev = chain.genesis(conn.execute("SELECT value FROM meta WHERE key = 'database_id'").fetchone()[0])
    for rec in log:
        rec["prev_hash"] = prev
        rec["hash"] = prev = chain.record_hash(rec)
        conn.execute(
            "UPDATE audit SET recorded_at = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (rec["recorded_at"], rec["prev_hash"], rec["hash"], rec["seq"]),
        )


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_export_of_one_item_verifies_as_a_filtered_export(
    db: Path, tmp_path: Path, fmt: str, run_cli: Callable
) -> None:
    path = export(db, fmt, tmp_path, item="OF-01")
    seqs = [int(r["seq"]) for r in records(db) if r["item_ref"] == "OF-01"]  # type: ignore[call-overload]
    assert seqs[0] > 1 and seqs != list(range(seqs[0], seqs[-1] + 1))  # mid-chain, with gaps
    report = audit.verify_export(path, filtered=True)
    assert report.ok and report.checked == len(seqs)
    ok = run_cli("audit", "verify-export", "--filtered", str(path))
    assert ok.code == 0, ok.out + ok.err
    # Checked as a whole log, its gaps look like deletions, and the message says what to do.
    whole = run_cli("audit", "verify-export", str(path))
    assert whole.code == 1 and "--filtered" in whole.err


def test_tampered_filtered_export_is_still_caught(db: Path, tmp_path: Path) -> None:
    path = export(db, "jsonl", tmp_path, item="OF-01")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    seq = json.loads(lines[1])["seq"]
    lines[1] = lines[1].replace('"outcome": "applied"', '"outcome": "refused"')
    path.write_text("".join(lines), encoding="utf-8")
    assert export_broken(path, filtered=True) == [seq]
    path.write_text("".join(lines[2:] + lines[:1]), encoding="utf-8")  # order is still checked
    assert len(set(export_broken(path, filtered=True))) == 1


def test_cli_verify_export_exit_codes(db: Path, tmp_path: Path, run_cli: Callable) -> None:
    path = tmp_path / "audit.csv"
    made = run_cli("audit", "export", "--format", "csv", "-o", str(path), db=db)
    assert made.code == 0, made.err
    good = run_cli("audit", "verify-export", str(path))
    assert good.code == 0 and f"last record {':'.join(map(str, anchor_of(db)))}" in good.out
    path.write_text(path.read_text(encoding="utf-8").replace("Show the trend", "Show the trenD"), encoding="utf-8")
    bad = run_cli("audit", "verify-export", str(path))
    assert bad.code == 1
    assert bad.out.startswith(f"record {len(records(db))}: its contents do not match its hash")
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    assert run_cli("audit", "verify-export", str(other)).code == 2


# --- the workflow in force is in every record ---------------------------------------------------


def test_changed_workflow_file_shows_a_different_workflow_hash(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A changed file on disk changes nothing; adopted rules do, and records then name them."""
    from signoff.engine import workflow as workflows
    from signoff.services import rules as rule_sets

    before = {r["workflow_hash"] for r in records(db) if r["event"] in ("submit", "approve", "challenge")}
    assert len(before) == 1 and None not in before
    rules = tmp_path / "rules"
    shutil.copytree(workflows.workflows_dir(), rules)
    toml = rules / "ofsted-recommendation.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("limbo_days = 28", "limbo_days = 14"), encoding="utf-8")
    monkeypatch.setenv("SIGNOFF_WORKFLOWS", str(rules))
    add_evidence(db, SECRETARY, "OF-02", "data", days_ago(0), note="Three-month trend")
    assert records(db)[-1]["workflow_hash"] in before  # the environment does not change the rules in force
    digest = rule_sets.propose(db, SECRETARY, rules, "A shorter limbo for recommendations")
    rule_sets.adopt(db, CHAIR, digest)
    fire_event(db, SECRETARY, "OF-02", "resubmit", response="Trend added")
    after = records(db)[-1]
    assert after["event"] == "resubmit"
    assert after["workflow_hash"] not in before
    assert after["workflow_hash"] == workflows.parse(toml, toml.read_bytes()).digest
    assert broken(db) == []
