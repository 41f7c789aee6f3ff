"""Signed decisions on a real register: approvals and re-openings are refused without the chair's
signature, a signature fits exactly one decision, and verification replays every signature."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import AUDITOR, CHAIR, MEMBER, SECRETARY, days_ago, write_matrix
from signing import fire_event, register_key, sign_as, user_key
from test_chain_truth import append_chained

from signoff.domain import sshsig
from signoff.domain.decision import build_statement, parse_statement
from signoff.domain.signed import SignedStatement
from signoff.errors import BadInput, NotFound, Refused
from signoff.services import audit, events
from signoff.services.decisions import fire_signed, statement_for
from signoff.services.evidence import add_evidence
from signoff.services.keys import revoke_key
from signoff.services.matrix import import_matrix
from signoff.services.views import item_detail, user_detail
from signoff.store.reader import Reader

TODAY = days_ago(0)


def submitted(db: Path | str, tmp_path: Path, ref: str = "OF-01") -> None:
    rows = [(ref, "ofsted-recommendation", f"Title of {ref}", "", "audit", "Audit", days_ago(-30).isoformat())]
    import_matrix(db, SECRETARY, write_matrix(tmp_path / f"{ref}.csv", rows))
    add_evidence(db, SECRETARY, ref, "audit", days_ago(1), note=f"audit of {ref}")
    assert events.fire_event(db, SECRETARY, ref, "submit") == "evidence_submitted"


def signed(db: Path | str, ref: str = "OF-01", event: str = "approve", signer: str = CHAIR, key: str | None = None,
           **kw: Any) -> SignedStatement:  # fmt: skip
    kw.setdefault("meeting", TODAY if event == "approve" else None)
    data = statement_for(db, ref, event, signer=signer, **kw).encode()
    return SignedStatement(data, sshsig.sign(user_key(key or signer), data))


def refused(db: Path | str, actor: str, ref: str, event: str, **kw: Any) -> Refused:
    with pytest.raises(Refused) as err:
        events.fire_event(db, actor, ref, event, **kw)
    return err.value


def verified(db: Path | str) -> Any:
    report, _, reconciled = audit.verify_register(db)
    assert report.ok, report.broken
    return reconciled


def last_refusal(db: Path | str) -> dict[str, Any]:
    with Reader(db) as r:
        row = r.one("SELECT actor, event, outcome, detail FROM audit ORDER BY seq DESC LIMIT 1")
    assert row is not None and row["outcome"] == "refused"
    return row


@pytest.fixture
def item(db_path: Path, tmp_path: Path) -> Path:
    submitted(db_path, tmp_path)
    return db_path


# --- refused, each with its reason ------------------------------------------------------------------


def test_approve_without_a_signature_is_refused_and_audited(item: Path) -> None:
    err = refused(item, CHAIR, "OF-01", "approve", meeting=TODAY)
    assert "approve is a signed decision and no signature was given" in str(err)
    assert "--key" in str(err) and "ssh-keygen -Y sign" in str(err)
    assert last_refusal(item)["event"] == "approve"
    assert item_detail(item, "OF-01")["state"] == "evidence_submitted"


def test_a_signed_approval_is_recorded_with_its_statement_and_replayed(item: Path) -> None:
    decision = signed(item)
    assert events.fire_event(item, CHAIR, "OF-01", "approve", meeting=TODAY, signed=decision) == "signed_off"
    with Reader(item) as r:
        approval = r.one("SELECT statement, signature, signer FROM approvals")
        record = r.one("SELECT actor, detail FROM audit WHERE event = 'approve' AND outcome = 'applied'")
        kept = r.one("SELECT seq, signer, statement FROM signatures")
    assert approval is not None and record is not None and kept is not None
    fingerprint = user_key(CHAIR).public.fingerprint
    assert approval["statement"].encode() == decision.statement and approval["signer"] == fingerprint
    detail = json.loads(record["detail"])
    assert detail["statement"] == approval["statement"] and detail["signature"] == decision.signature
    assert kept["statement"] == approval["statement"]
    reconciled = verified(item)
    assert reconciled.ok and reconciled.signed == 1 and reconciled.unsigned == 0
    shown = item_detail(item, "OF-01")
    assert shown["approvals"][0]["signer"] == fingerprint


def test_a_members_or_auditors_key_does_not_sign_an_approval(item: Path) -> None:
    for user in (MEMBER, AUDITOR):
        register_key(item, user)
        # Signed with their own key, as themselves: they hold no role that may approve.
        err = refused(item, user, "OF-01", "approve", meeting=TODAY, signed=signed(item, signer=user))
        assert "needs the role chair" in str(err)
        # Their signature recorded by the secretary: the decision is theirs, and still not allowed.
        err = refused(item, SECRETARY, "OF-01", "approve", meeting=TODAY, signed=signed(item, signer=user))
        assert "needs the role chair" in str(err)
        # The chair presenting a member's signature.
        err = refused(item, CHAIR, "OF-01", "approve", meeting=TODAY, signed=signed(item, signer=user))
        assert "not chair's" in str(err)


def test_an_unregistered_key_is_refused(item: Path) -> None:
    err = refused(item, CHAIR, "OF-01", "approve", meeting=TODAY, signed=signed(item, key="stranger"))
    assert "is not registered to any user" in str(err)


def test_a_revoked_key_signs_nothing_but_its_earlier_signatures_still_verify(item: Path, tmp_path: Path) -> None:
    assert fire_signed(item, CHAIR, "OF-01", "approve", sign_as(CHAIR), meeting=TODAY) == "signed_off"
    submitted(item, tmp_path, "OF-02")
    fingerprint = user_key(CHAIR).public.fingerprint
    revoke_key(item, SECRETARY, CHAIR, fingerprint, "laptop lost")
    err = refused(item, CHAIR, "OF-02", "approve", meeting=TODAY, signed=signed(item, "OF-02"))
    assert "was revoked" in str(err) and "laptop lost" in str(err)
    assert user_detail(item, CHAIR)["keys"][0]["status"] == "revoked"
    reconciled = verified(item)
    assert reconciled.ok and reconciled.signed == 1
    with pytest.raises(BadInput, match="never registered again"):
        register_key(item, CHAIR)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"item": "OF-09"}, "is for item OF-09, not OF-01"),
        ({"event": "reopen"}, "is for the event reopen, not approve"),
        ({"meeting": dt.date(2020, 1, 6)}, "is for 2020-01-06"),
        ({"register": "another-register"}, "is for another register"),
        ({"actor": MEMBER}, "names member as the one deciding"),
        ({"override_reason": "just because"}, "gives the override reason 'just because', not 'as minuted'"),
    ],
)
def test_a_statement_for_another_decision_is_refused(item: Path, change: dict[str, Any], said: str) -> None:
    good = parse_statement(signed(item).statement)
    fields = {f.name: getattr(good, f.name) for f in dataclasses.fields(good)}
    other = build_statement(**{**fields, **change}).encode()
    forged = SignedStatement(other, sshsig.sign(user_key(CHAIR), other))
    override = "as minuted" if "override_reason" in change else None
    err = refused(item, CHAIR, "OF-01", "approve", meeting=TODAY, override_reason=override, signed=forged)
    assert said in str(err)
    assert "signature:" in json.loads(last_refusal(item)["detail"])["failures"][-1]


def test_a_statement_signed_before_the_evidence_changed_is_refused(item: Path) -> None:
    before = signed(item)
    add_evidence(item, SECRETARY, "OF-01", "audit", days_ago(0), note="a later audit")
    assert events.fire_event(item, SECRETARY, "OF-01", "amend") == "evidence_submitted"
    err = refused(item, CHAIR, "OF-01", "approve", meeting=TODAY, signed=before)
    assert "the evidence changed since the chair signed" in str(err)
    assert fire_signed(item, CHAIR, "OF-01", "approve", sign_as(CHAIR), meeting=TODAY) == "signed_off"


def test_a_signature_over_other_bytes_is_refused(item: Path) -> None:
    good = signed(item)
    other = signed(item, meeting=days_ago(1))
    err = refused(
        item, CHAIR, "OF-01", "approve", meeting=TODAY, signed=SignedStatement(good.statement, other.signature)
    )
    assert "does not sign this statement" in str(err)


@pytest.mark.parametrize("damage", ["garbled", "truncated", "empty"])
def test_a_garbled_or_truncated_signature_is_bad_input(item: Path, damage: str) -> None:
    good = signed(item)
    lines = good.signature.splitlines()
    broken = {
        "garbled": "\n".join([lines[0], lines[1].replace("A", "%", 3), *lines[2:]]) + "\n",
        "truncated": "\n".join(lines[:-2]) + "\n",
        "empty": "",
    }[damage]
    with pytest.raises(BadInput):
        events.fire_event(
            item, CHAIR, "OF-01", "approve", meeting=TODAY, signed=SignedStatement(good.statement, broken)
        )
    assert item_detail(item, "OF-01")["state"] == "evidence_submitted"


def test_a_decision_signed_offline_is_the_key_owners_and_names_who_recorded_it(item: Path) -> None:
    decision = signed(item)
    assert events.fire_event(item, SECRETARY, "OF-01", "approve", signed=decision) == "signed_off"
    with Reader(item) as r:
        rec = r.one("SELECT actor, detail FROM audit WHERE event = 'approve' AND outcome = 'applied'")
    assert rec is not None and rec["actor"] == CHAIR
    assert json.loads(rec["detail"])["recorded_by"] == SECRETARY
    assert verified(item).ok


def test_a_reopening_is_signed_too(item: Path) -> None:
    fire_event(item, CHAIR, "OF-01", "approve", meeting=TODAY)
    err = refused(item, CHAIR, "OF-01", "reopen", reason="inspection found gaps", meeting=dt.date.today())
    assert "reopen is a signed decision" in str(err)
    assert (
        fire_event(item, CHAIR, "OF-01", "reopen", reason="inspection found gaps", meeting=dt.date.today())
        == "challenged"
    )
    reconciled = verified(item)
    assert reconciled.ok and reconciled.signed == 2
    assert [s["event"] for s in item_detail(item, "OF-01")["signatures"]] == ["approve", "reopen"]


def test_an_unknown_user_cannot_have_a_key(db_path: Path) -> None:
    with pytest.raises(NotFound):
        register_key(db_path, "nobody")


# --- verification catches what was written without the key --------------------------------------------


def test_a_forged_approval_with_a_correctly_chained_record_fails_verification(item: Path) -> None:
    """An attacker with write access but without the chair's private key: the approval row and its
    record are consistent and chained, but the signature cannot be made."""
    good = signed(item)
    with Reader(item) as r:
        sub = r.one("SELECT id, bundle_digest FROM submissions")
        last = r.one("SELECT recorded_at, workflow_hash FROM audit WHERE event = 'submit' ORDER BY seq DESC")
    assert sub is not None and last is not None
    forged_sig = sshsig.sign(user_key("attacker"), good.statement)  # the attacker's own key, not the chair's
    detail = {
        "meeting": TODAY.isoformat(),
        "approval_id": 1,
        "submission_id": sub["id"],
        "bundle": sub["bundle_digest"],
        "statement": good.statement.decode(),
        "signature": forged_sig,
        "signer": user_key(CHAIR).public.fingerprint,
    }
    conn = sqlite3.connect(item)
    at = conn.execute("SELECT MAX(recorded_at) FROM audit").fetchone()[0]
    conn.execute(
        "INSERT INTO approvals (id, item_id, submission_id, approved_at, approved_by, meeting, bundle_digest,"
        " statement, signature, signer) VALUES (1, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            sub["id"],
            at,
            CHAIR,
            TODAY.isoformat(),
            sub["bundle_digest"],
            detail["statement"],
            forged_sig,
            detail["signer"],
        ),
    )
    conn.execute("DROP TRIGGER IF EXISTS items_no_update")
    conn.execute("UPDATE items SET state = 'signed_off', version = version + 1, last_transition_at = ?", (at,))
    conn.commit()
    conn.close()
    seq = append_chained(
        item,
        recorded_at=at,
        item_ref="OF-01",
        event="approve",
        from_state="evidence_submitted",
        to_state="signed_off",
        workflow_hash=last["workflow_hash"],
        detail=json.dumps(detail, separators=(",", ":"), sort_keys=True),
    )
    with sqlite3.connect(item) as conn:
        conn.execute(
            "INSERT INTO signatures (seq, item_ref, event, signed_by, signer, statement, signature)"
            " VALUES (?, 'OF-01', 'approve', ?, ?, ?, ?)",
            (seq, CHAIR, detail["signer"], detail["statement"], forged_sig),
        )
    report, _, reconciled = audit.verify_register(item)
    assert report.ok  # the chain itself is intact: only the signature gives the forgery away
    assert any(s == seq and "signature does not verify" in why for s, why in reconciled.problems), reconciled.problems


def test_an_approval_record_without_a_signature_fails_verification_under_signed_rules(item: Path) -> None:
    with Reader(item) as r:
        sub = r.one("SELECT id, bundle_digest FROM submissions")
        wf = r.one("SELECT workflow_hash FROM audit WHERE event = 'submit'")
    assert sub is not None and wf is not None
    seq = append_chained(
        item,
        item_ref="OF-01",
        event="approve",
        from_state="evidence_submitted",
        to_state="signed_off",
        workflow_hash=wf["workflow_hash"],
        detail=json.dumps(
            {"meeting": TODAY.isoformat(), "approval_id": 1, "submission_id": sub["id"], "bundle": sub["bundle_digest"]}
        ),
    )
    _, _, reconciled = audit.verify_register(item)
    assert (
        seq,
        "approve is a signed decision in the rules in force, but it carries no signature",
    ) in reconciled.problems


def test_a_key_row_edited_in_the_table_is_reported(item: Path) -> None:
    with sqlite3.connect(item) as conn:
        conn.execute("DROP TRIGGER user_keys_no_update")
        conn.execute("UPDATE user_keys SET user_name = ?", (MEMBER,))
    _, _, reconciled = audit.verify_register(item)
    assert any(d.startswith("user_keys 1 user_name") for d in reconciled.differences), reconciled.differences


def test_key_rows_cannot_be_deleted_or_rewritten(item: Path) -> None:
    with sqlite3.connect(item) as conn:
        for sql in ("DELETE FROM user_keys", "UPDATE user_keys SET key = 'x'"):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(sql)
