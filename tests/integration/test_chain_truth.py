"""The chain is the truth: tables edited behind signoff's back, and records that break the rules.

Each test damages a real register the way someone with write access to the file would (stdlib
sqlite3, triggers dropped where needed, environment variables), then checks that replaying the
chain names exactly what was changed: the table, the row, the column, both values; or the record
and why it could not have been made.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CHAIR, MEMBER, SECRETARY, days_ago
from signing import fire_event
from test_tamper import build_register

from signoff.domain import chain
from signoff.errors import NotFound, Refused
from signoff.services import audit, rules
from signoff.services.maintenance import integrity_check
from signoff.services.register import add_item

SHIPPED = Path(__file__).resolve().parents[2] / "workflows"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_register(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def db(pristine: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(pristine.parent, target)
    return target / pristine.name


def replayed(db: Path) -> tuple[list[tuple[int, str]], list[str]]:
    report, _, reconciled = audit.verify_register(db)
    assert report.ok, report.broken
    return reconciled.problems, reconciled.differences


def edit(db: Path, *statements: str, drop: tuple[str, ...] = ()) -> None:
    conn = sqlite3.connect(db)
    for trigger in drop:
        conn.execute(f"DROP TRIGGER {trigger}")
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


def append_chained(db: Path, **fields: object) -> int:
    """Append a correctly chained record, as an attacker who knows the algorithm would."""
    conn = sqlite3.connect(db)
    seq, prev, at, wf = conn.execute(
        "SELECT seq, hash, recorded_at, workflow_hash FROM audit ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    rec: dict[str, object] = {
        "seq": seq + 1,
        "recorded_at": at,
        "actor": CHAIR,
        "roles": "chair",
        "item_ref": None,
        "event": "approve",
        "from_state": None,
        "to_state": None,
        "outcome": "applied",
        "detail": "{}",
        "workflow_hash": wf,
        "prev_hash": prev,
    }
    rec.update(fields)
    rec["hash"] = chain.record_hash(rec)
    cols = ", ".join(chain.EXPORT_FIELDS)
    conn.execute(
        f"INSERT INTO audit ({cols}) VALUES ({', '.join('?' for _ in chain.EXPORT_FIELDS)})",
        [rec[f] for f in chain.EXPORT_FIELDS],
    )
    conn.commit()
    conn.close()
    return seq + 1


def test_an_untouched_register_replays_to_exactly_its_tables(db: Path) -> None:
    problems, differences = replayed(db)
    assert problems == [] and differences == []
    assert integrity_check(db) == []


def test_a_state_set_in_the_table_is_reported_with_both_values(db: Path) -> None:
    edit(db, "UPDATE items SET state = 'signed_off' WHERE ref = 'OF-02'")
    problems, differences = replayed(db)
    assert problems == []
    assert differences == ["items OF-02 state: the chain says 'challenged', the table says 'signed_off'"]
    assert any("OF-02 state" in p for p in integrity_check(db))


def test_roles_granted_in_the_table_are_reported(db: Path) -> None:
    edit(db, f"UPDATE users SET roles = 'chair,member' WHERE name = '{MEMBER}'")
    _, differences = replayed(db)
    assert differences == [f"users {MEMBER} roles: the chain says 'member', the table says 'chair,member'"]


def test_a_measure_value_or_note_edited_behind_the_triggers_is_reported(db: Path) -> None:
    edit(
        db,
        "UPDATE evidence SET note = 'Average caseload 12' WHERE kind = 'note'",
        "UPDATE evidence SET dated = '2001-01-01' WHERE kind = 'file'",
        drop=("evidence_no_update",),
    )
    _, differences = replayed(db)
    assert any(d.startswith("evidence ") and "note: the text no longer matches its digest" in d for d in differences)
    assert any(d.startswith("evidence ") and "dated: the chain says" in d and "'2001-01-01'" in d for d in differences)


@pytest.mark.parametrize(
    ("table", "sql", "expected"),
    [
        ("approvals", "UPDATE approvals SET meeting = '2001-01-01'", "approvals 1 meeting"),
        ("challenges", "UPDATE challenges SET reason = 'nothing'", "challenges 1 reason"),
        ("submissions", "UPDATE submissions SET evidence_ids = ''", "submissions 1 evidence_ids"),
        ("matrix_rows", "UPDATE matrix_rows SET present_by = '2099-01-01'", "matrix_rows OF-01 audit present_by"),
        ("meta", "UPDATE meta SET value = 'x' WHERE key = 'database_id'", "meta database_id value"),
    ],
)
def test_each_table_is_reconciled_column_by_column(db: Path, table: str, sql: str, expected: str) -> None:
    drop = (f"{table}_no_update",) if table in ("approvals", "submissions") else ()
    edit(db, sql, drop=drop)
    if table == "meta":
        # The genesis hangs on the database id: the chain itself reports it, before any replay.
        report, _, _ = audit.verify_register(db)
        assert not report.ok
        return
    _, differences = replayed(db)
    assert any(d.startswith(expected) for d in differences), differences


def test_a_row_no_record_created_and_a_row_deleted_are_both_reported(db: Path) -> None:
    edit(
        db,
        "INSERT INTO users (name, roles, created_at, created_by) VALUES ('mallory', 'chair', '2026-01-01', 'sec')",
        "DELETE FROM meetings",
        "DELETE FROM challenges",
    )
    _, differences = replayed(db)
    assert "users mallory: no record in the chain created this row" in differences
    assert any(d.startswith("challenges 1: the chain created this row but the table lacks it") for d in differences)


def test_a_chained_approval_of_an_item_never_submitted_is_illegal(db: Path) -> None:
    add_item(db, SECRETARY, "OF-04", "ofsted-recommendation", "Never evidenced")
    seq = append_chained(
        db,
        item_ref="OF-04",
        event="approve",
        from_state="evidence_submitted",
        to_state="signed_off",
        detail=chain.detail_text(
            {"meeting": dt.date.today().isoformat(), "bundle": "0" * 64, "approval_id": 9, "submission_id": 9}
        ),
        workflow_hash=rules.load_folder(None).flows["ofsted-recommendation"].digest,
    )
    problems, _ = replayed(db)
    whys = [why for s, why in problems if s == seq]
    assert any("replay has it in 'proposed'" in w for w in whys), problems
    assert any("not a frozen bundle of OF-04" in w for w in whys), problems


def test_a_chained_record_by_someone_without_the_role_is_illegal(db: Path) -> None:
    seq = append_chained(
        db,
        actor=MEMBER,
        roles="member",
        event="meeting.add",
        detail=chain.detail_text({"meeting_id": 5, "date": "2027-01-01", "note": None}),
    )
    problems, _ = replayed(db)
    assert any(s == seq and "may not add meetings" in why for s, why in problems), problems


def test_a_chained_record_claiming_roles_its_actor_does_not_hold_is_illegal(db: Path) -> None:
    seq = append_chained(
        db,
        actor=MEMBER,
        roles="secretary",
        event="meeting.add",
        detail=chain.detail_text({"meeting_id": 5, "date": "2027-01-01", "note": None}),
    )
    problems, _ = replayed(db)
    assert any(s == seq and "claims roles 'secretary'" in why for s, why in problems), problems


@pytest.mark.parametrize(
    ("at", "why"),
    [("2026-13-01T00:00:00.000000+00:00", "not canonical"), ("2001-01-01T00:00:00.000000+00:00", "earlier than")],
)
def test_record_times_must_be_canonical_and_never_go_back(db: Path, at: str, why: str) -> None:
    seq = append_chained(db, recorded_at=at, outcome="refused", event="approve", detail='{"failures":[]}')
    problems, _ = replayed(db)
    assert any(s == seq and why in w for s, w in problems), problems


def test_a_workflow_hash_that_is_not_the_rules_in_force_is_illegal(db: Path) -> None:
    seq = append_chained(
        db,
        actor=SECRETARY,
        roles="secretary",
        event="meeting.add",
        detail=chain.detail_text({"meeting_id": 5, "date": "2027-01-01", "note": None}),
        workflow_hash="f" * 64,
    )
    problems, _ = replayed(db)
    assert any(s == seq and "not that of the rules in force" in w for s, w in problems), problems


def permissive_copy(folder: Path) -> Path:
    """A copy of the shipped rules in which a member may approve from 'proposed' with no guards."""
    shutil.copytree(SHIPPED, folder)
    path = folder / "ofsted-recommendation.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index("[events.approve]")
    end = text.index("[events.reopen]")
    text = (
        text[:start]
        + '[events.approve]\nsource = ["proposed", "evidence_submitted"]\ndest = "signed_off"\nroles = ["member", "chair"]\nguards = []\n\n'
        + text[end:]
    )
    path.write_text(text, encoding="utf-8")
    return folder


def test_rules_from_the_environment_do_not_change_an_existing_register(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: Callable
) -> None:
    add_item(db, SECRETARY, "OF-04", "ofsted-recommendation", "Never evidenced")
    folder = permissive_copy(tmp_path / "my-rules")
    monkeypatch.setenv("SIGNOFF_WORKFLOWS", str(folder))
    with pytest.raises(Refused, match=r"permission|not allowed|cannot"):
        fire_event(db, MEMBER, "OF-04", "approve", meeting=dt.date.today())
    # The same through the real CLI with the variable set.
    import os
    import subprocess
    import sys

    env = {**os.environ, "SIGNOFF_WORKFLOWS": str(folder)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "signoff",
            "--db",
            str(db),
            "--as",
            MEMBER,
            "approve",
            "OF-04",
            "--meeting",
            dt.date.today().isoformat(),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    problems, differences = replayed(db)
    assert problems == [] and differences == []


def test_rules_change_only_by_proposal_and_adoption(db: Path, tmp_path: Path, run_cli: Callable) -> None:
    add_item(db, SECRETARY, "OF-04", "ofsted-recommendation", "Never evidenced")
    folder = permissive_copy(tmp_path / "new-rules")
    with pytest.raises(Refused):
        rules.propose(db, MEMBER, folder, "members may approve")
    digest = rules.propose(db, SECRETARY, folder, "members may approve")
    listed = {v.digest: v.status for v in rules.listing(db)}
    assert listed[digest] == "proposed" and "in force" in listed.values()
    # Not in force yet: a member still cannot approve.
    with pytest.raises(Refused):
        fire_event(db, MEMBER, "OF-04", "approve", meeting=dt.date.today())
    with pytest.raises(Refused):
        rules.adopt(db, SECRETARY, digest[:16])
    with pytest.raises(NotFound):
        rules.adopt(db, CHAIR, "0123456789abcdef0")
    assert rules.adopt(db, CHAIR, digest[:20]) == digest
    assert {v.digest: v.status for v in rules.listing(db)}[digest] == "in force"
    assert fire_event(db, MEMBER, "OF-04", "approve", meeting=dt.date.today()) == "signed_off"
    # Replay follows the rules in force at each point: the member's approval is legal now.
    problems, differences = replayed(db)
    assert problems == [] and differences == []
    shown = run_cli("workflow", "show", "ofsted-recommendation", db=db)
    assert shown.code == 0 and 'roles = ["member", "chair"]' in shown.out
    listed_cli = run_cli("workflow", "list", "--json", db=db)
    assert listed_cli.code == 0 and digest in listed_cli.out


def test_adoption_is_refused_while_an_item_sits_in_a_state_the_new_rules_lack(db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "narrow"
    shutil.copytree(SHIPPED, folder)
    (folder / "ofsted-recommendation.toml").write_text(
        'name = "ofsted-recommendation"\ninitial = "proposed"\n'
        'states = ["proposed", "evidence_submitted", "signed_off"]\nfinal = ["signed_off"]\n'
        '[events.submit]\nsource = ["proposed"]\ndest = "evidence_submitted"\nroles = ["secretary"]\n'
        '[events.approve]\nsource = ["evidence_submitted"]\ndest = "signed_off"\nroles = ["chair"]\n',
        encoding="utf-8",
    )
    digest = rules.propose(db, SECRETARY, folder, "no challenges")
    with pytest.raises(Refused, match="OF-02"):
        rules.adopt(db, CHAIR, digest)
    problems, differences = replayed(db)
    assert problems == [] and differences == []


def test_edited_pinned_rules_are_reported_and_stop_the_register(db: Path) -> None:
    edit(
        db,
        "UPDATE workflow_defs SET source = replace(source, 'roles = [\"chair\"]', 'roles = [\"member\"]')",
        drop=("workflow_defs_no_update",),
    )
    _, _, reconciled = audit.verify_register(db)
    assert any(d.startswith("workflow_defs ") and " source: the chain says" in d for d in reconciled.differences)
    # Commands refuse rules whose text no longer matches the digest in force.
    with pytest.raises(Exception, match="do not match the rules in force"):
        fire_event(db, MEMBER, "OF-02", "challenge", reason="again")


def test_init_pins_a_given_folder_and_records_it(tmp_path: Path, run_cli: Callable) -> None:
    folder = permissive_copy(tmp_path / "board-rules")
    r = run_cli("init", "--secretary", SECRETARY, "--workflows", str(folder), db=tmp_path / "r.db")
    assert r.code == 0, r.err
    log = [
        json.loads(line)
        for line in run_cli("audit", "export", "--format", "jsonl", db=tmp_path / "r.db").out.splitlines()
    ]
    assert [rec["event"] for rec in log] == ["register.init", "workflow.pin", "user.add"]
    pinned = json.loads(log[1]["detail"])
    assert pinned["origin"] == "board-rules" and "ofsted-recommendation" in pinned["workflows"]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.toml").write_text("name = 1\n", encoding="utf-8")
    r = run_cli("init", "--secretary", SECRETARY, "--workflows", str(bad), db=tmp_path / "s.db")
    assert r.code == 2 and "x.toml" in r.err and not (tmp_path / "s.db").exists()


def test_db_check_reports_a_missing_trigger(db: Path) -> None:
    edit(db, drop=("evidence_no_update",))
    assert integrity_check(db) == ["the append-only trigger evidence_no_update is missing or disabled"]


def test_replay_holds_after_every_kind_of_change(db: Path, tmp_path: Path) -> None:
    from signoff.services.schedule import add_meeting, reschedule

    reschedule(db, SECRETARY, "OF-02", dt.date.today() + dt.timedelta(days=90), "Waiting for the data team")
    add_meeting(db, SECRETARY, dt.date.today() + dt.timedelta(days=7), "December board")
    from signoff.services.evidence import MeasureInput, add_evidence

    add_evidence(
        db,
        SECRETARY,
        "OF-02",
        "data",
        days_ago(0),
        measure=MeasureInput("caseload", 19.5, "cases", "2026-Q3", 20.0, "at-most"),
    )
    fire_event(db, SECRETARY, "OF-02", "resubmit", response="Trend attached")
    fire_event(db, CHAIR, "OF-01", "reopen", reason="Inspection found gaps", meeting=dt.date.today())
    problems, differences = replayed(db)
    assert problems == [] and differences == []
    edit(db, "UPDATE items SET due = '2030-01-01' WHERE ref = 'OF-02'", "UPDATE challenges SET response = 'x'")
    _, differences = replayed(db)
    assert any(d.startswith("items OF-02 due:") for d in differences)
    assert any(" response: the chain says 'Trend attached'" in d for d in differences)
    assert days_ago(0) == dt.date.today()


def test_a_chained_submission_of_a_bundle_that_is_not_the_standing_evidence_is_illegal(db: Path) -> None:
    from signoff.services.evidence import add_evidence

    add_item(db, SECRETARY, "OF-05", "ofsted-recommendation", "Forged bundle")
    conn = sqlite3.connect(db)
    conn.execute(
        "INSERT INTO matrix_rows (item_id, key, description, present_by) "
        "SELECT id, 'audit', 'x', '2030-01-01' FROM items WHERE ref = 'OF-05'"
    )
    conn.commit()
    conn.close()
    del add_evidence  # the forged record below names no evidence at all
    seq = append_chained(
        db,
        actor=SECRETARY,
        roles="secretary",
        item_ref="OF-05",
        event="submit",
        from_state="proposed",
        to_state="evidence_submitted",
        detail=chain.detail_text({"bundle": "0" * 64, "evidence_ids": [], "submission_id": 77}),
        workflow_hash=rules.load_folder(None).flows["ofsted-recommendation"].digest,
    )
    problems, differences = replayed(db)
    assert any(s == seq and "not the digest of OF-05's standing evidence" in w for s, w in problems), problems
    assert "matrix_rows OF-05 audit: no record in the chain created this row" in differences


# --- corrections: withdrawals, item and matrix changes, roles, deactivation, several challengers ---------


@pytest.fixture(scope="module")
def corrected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pristine register after a week of corrections, one of each kind."""
    from signoff.services import corrections, people

    db = build_register(tmp_path_factory.mktemp("corrected"))
    fire_event(db, CHAIR, "OF-02", "challenge", reason="And who checked the figures?")
    corrections.add_row(db, SECRETARY, "OF-02", "trend", "Three months of data", days_ago(-10))
    corrections.add_row(db, SECRETARY, "OF-02", "spare", "Spare", days_ago(-10))
    corrections.remove_row(db, SECRETARY, "OF-02", "spare", "Duplicate")
    corrections.reschedule_row(db, SECRETARY, "OF-02", "trend", days_ago(-20), "Data late")
    corrections.edit_item(db, SECRETARY, "OF-02", "Agreed wording", title="Reduce caseloads to 18")
    from signoff.services.evidence import add_evidence

    add_evidence(db, SECRETARY, "OF-02", "data", days_ago(0), note="Average caseload 19")
    add_evidence(db, SECRETARY, "OF-02", "trend", days_ago(0), note="Falling for three months")
    corrections.withdraw_evidence(db, SECRETARY, 2, "Snapshot replaced by the trend")
    fire_event(db, SECRETARY, "OF-02", "resubmit", response="Trend added; checked by the auditor")
    people.change_role(db, SECRETARY, MEMBER, "Also records for the board", add="secretary")
    people.deactivate_user(db, SECRETARY, MEMBER, "Left the partnership")
    return db


@pytest.fixture
def cdb(corrected: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(corrected.parent, target)
    return target / corrected.name


def test_a_corrected_register_replays_to_exactly_its_tables(cdb: Path) -> None:
    assert replayed(cdb) == ([], [])
    assert integrity_check(cdb) == []


@pytest.mark.parametrize(
    ("statements", "drop", "expected"),
    [
        (
            ["UPDATE withdrawals SET reason = 'Wrong'"],
            ("withdrawals_no_update",),
            "withdrawals 1 reason: the chain says 'Snapshot replaced by the trend', the table says 'Wrong'",
        ),
        (["DELETE FROM withdrawals"], ("withdrawals_no_delete",), "withdrawals 1: the chain created this row"),
        (
            ["UPDATE item_changes SET from_value = 'Something else' WHERE field = 'title'"],
            ("item_changes_no_update",),
            "from_value: the chain says 'Reduce caseloads', the table says 'Something else'",
        ),
        (
            ["UPDATE users SET deactivated_at = NULL"],
            (),
            f"users {MEMBER} deactivated_at: the chain says",
        ),
        (["UPDATE users SET roles = 'member'"], (), f"users {MEMBER} roles: the chain says 'member,secretary'"),
        (
            ["UPDATE items SET title = 'Reduce caseloads'"],
            (),
            "items OF-02 title: the chain says 'Reduce caseloads to 18'",
        ),
        (
            ["UPDATE matrix_rows SET present_by = '2000-01-01' WHERE key = 'trend'"],
            (),
            "matrix_rows OF-02 trend present_by",
        ),
        (
            [
                "INSERT INTO matrix_rows (item_id, key, description, present_by) VALUES (2, 'spare', 'Spare', '2030-01-01')"
            ],
            (),
            "matrix_rows OF-02 spare: no record in the chain created this row",
        ),
        (
            ["UPDATE challenges SET response = 'Nothing to add' WHERE raised_by = 'chair'"],
            (),
            "response: the chain says 'Trend added; checked by the auditor', the table says 'Nothing to add'",
        ),
    ],
)
def test_an_edit_to_what_a_correction_wrote_is_reported(
    cdb: Path, statements: list[str], drop: tuple[str, ...], expected: str
) -> None:
    edit(cdb, *statements, drop=drop)
    problems, differences = replayed(cdb)
    assert problems == []
    assert any(expected in d for d in differences), differences


def test_a_record_forged_for_a_deactivated_user_is_illegal(cdb: Path) -> None:
    seq = append_chained(
        cdb,
        actor=MEMBER,
        roles="member,secretary",
        event="meeting.add",
        detail=json.dumps({"meeting_id": 9, "date": "2030-01-01", "note": None}),
    )
    problems, _ = replayed(cdb)
    assert (seq, f"its actor {MEMBER!r} was deactivated at this point and may do nothing") in problems


def test_a_resubmit_that_leaves_a_challenge_unanswered_is_illegal(cdb: Path) -> None:
    from signoff.services.events import fire_event as fire

    fire(cdb, CHAIR, "OF-02", "challenge", reason="One more")
    fire(cdb, SECRETARY, "OF-02", "challenge", reason="Recorded for the partner")
    conn = sqlite3.connect(cdb)
    ids = [r[0] for r in conn.execute("SELECT id FROM challenges WHERE answered_at IS NULL ORDER BY id")]
    conn.close()
    assert len(ids) == 2
    seq = append_chained(
        cdb,
        actor=SECRETARY,
        roles="secretary",
        item_ref="OF-02",
        event="resubmit",
        from_state="challenged",
        to_state="evidence_submitted",
        detail=json.dumps(
            {"answers_challenges": [[ids[0], "Only the first"]], "submission_id": 99, "bundle": "x", "evidence_ids": []}
        ),
    )
    problems, _ = replayed(cdb)
    assert any(s == seq and "open challenges are" in why for s, why in problems), problems


def test_a_withdrawal_forged_into_the_chain_of_a_signed_off_item_is_illegal(cdb: Path) -> None:
    seq = append_chained(
        cdb,
        actor=SECRETARY,
        roles="secretary",
        item_ref="OF-01",
        event="evidence.withdraw",
        from_state="signed_off",
        to_state="signed_off",
        detail=json.dumps({"withdrawal_id": 7, "evidence_id": 1, "reason": "x"}),
    )
    problems, _ = replayed(cdb)
    assert (seq, "it withdraws evidence of OF-01, which is signed_off") in problems


# -- the growing tables are compared beside the walk, each read in id order -------------------------


def _seq_of(db: Path, event: str) -> int:
    conn = sqlite3.connect(db)
    (seq,) = conn.execute("SELECT MAX(seq) FROM audit WHERE event = ? AND outcome = 'applied'", (event,)).fetchone()
    conn.close()
    return int(seq)


def test_rows_of_the_growing_tables_are_met_by_id_whatever_is_added_or_removed(db: Path) -> None:
    # A missing or an extra row is reported once, and the rows after it still line up.
    edit(
        db,
        "DELETE FROM submissions WHERE id = 1",
        "DELETE FROM signatures",
        "INSERT INTO evidence (id, item_id, key, kind, note, sha256, dated, recorded_at, added_by)"
        " SELECT 99, item_id, key, kind, note, sha256, dated, recorded_at, added_by FROM evidence WHERE id = 2",
        drop=("submissions_no_delete", "signatures_no_delete"),
    )
    problems, differences = replayed(db)
    assert problems == []
    assert sorted(differences) == [
        "evidence 99: no record in the chain created this row",
        f"signatures {_seq_of(db, 'approve')}: the chain created this row but the table lacks it",
        "submissions 1: the chain created this row but the table lacks it",
    ]


def test_an_answer_written_into_a_challenge_the_chain_leaves_open_is_reported(cdb: Path) -> None:
    from signoff.services.events import fire_event as fire

    fire(cdb, CHAIR, "OF-02", "challenge", reason="One more")
    fire(cdb, SECRETARY, "OF-02", "challenge", reason="Recorded for the partner")
    assert replayed(cdb) == ([], [])
    conn = sqlite3.connect(cdb)
    first, second = [r[0] for r in conn.execute("SELECT id FROM challenges WHERE answered_at IS NULL ORDER BY id")]
    conn.close()
    # Several challenges stay open to the end of the chain: each is held to its row there.
    edit(cdb, f"UPDATE challenges SET response = 'Settled at the meeting' WHERE id = {second}")
    assert replayed(cdb) == (
        [],
        [f"challenges {second} response: the chain says None, the table says 'Settled at the meeting'"],
    )
    assert first < second


def _chained_evidence(db: Path, evidence_id: int, supersedes: int | None) -> int:
    detail: dict[str, object] = {
        "evidence_id": evidence_id,
        "key": "data",
        "kind": "note",
        "sha256": "0" * 64,
        "dated": "2026-01-01",
    }
    if supersedes is not None:
        detail["supersedes"] = supersedes
    return append_chained(
        db,
        actor=SECRETARY,
        roles="secretary",
        item_ref="OF-02",
        event="evidence.add",
        from_state="challenged",
        to_state="challenged",
        detail=chain.detail_text(detail),
        workflow_hash=rules.load_folder(None).flows["ofsted-recommendation"].digest,
    )


def test_a_chained_correction_of_evidence_already_corrected_is_illegal(db: Path) -> None:
    from signoff.services.evidence import add_evidence

    add_evidence(db, SECRETARY, "OF-02", "data", days_ago(0), note="Average caseload 19", supersedes=2)
    seq = _chained_evidence(db, 4, supersedes=2)
    problems, _ = replayed(db)
    assert [why for s, why in problems if s == seq] == [
        "it supersedes evidence 2, which is not standing OF-02 data evidence (another row's or item's,"
        " or already superseded)"
    ]


def test_a_chained_record_that_makes_an_existing_row_again_is_illegal(db: Path) -> None:
    seq = _chained_evidence(db, 2, supersedes=None)
    problems, _ = replayed(db)
    assert [why for s, why in problems if s == seq] == ["it makes evidence row 2, but ids only grow (the last was 2)"]


def test_a_chained_baseline_after_records_with_full_detail_is_illegal(db: Path) -> None:
    seq = append_chained(db, actor=SECRETARY, roles="secretary", event="register.baseline", detail='{"tables": {}}')
    problems, _ = replayed(db)
    assert problems == [(seq, "it is a baseline of the tables, but the records before it already carry full detail")]
