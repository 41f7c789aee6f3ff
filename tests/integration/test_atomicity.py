"""A failure inside a transition leaves neither a state change nor an audit record behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAIR, SECRETARY, days_ago, write_matrix
from signing import fire_event

from signoff.errors import Conflict, SignoffError
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.store.uow import UnitOfWork


def snapshot(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        return {
            "item": conn.execute("SELECT state, version, last_transition_at FROM items WHERE ref = 'OF-01'").fetchone(),
            **{
                t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("audit", "submissions", "approvals", "challenges", "evidence")
            },
        }


@pytest.fixture
def ready(db_path: Path, tmp_path: Path) -> Path:
    rows = [("OF-01", "ofsted-recommendation", "Screen contacts", "", "audit", "Case audit", days_ago(-30).isoformat())]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(2), note="audit of 40 cases")
    return db_path


def add_trigger(db: Path, event: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            f"CREATE TRIGGER inject_failure BEFORE INSERT ON audit WHEN NEW.event = '{event}' AND NEW.outcome = 'applied' "
            "BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END"
        )


def drop_trigger(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER inject_failure")


@pytest.mark.parametrize("event", ["submit", "approve"])
def test_a_failing_audit_insert_rolls_back_the_state_change(ready: Path, event: str) -> None:
    if event == "approve":
        fire_event(ready, SECRETARY, "OF-01", "submit")
    before = snapshot(ready)
    add_trigger(ready, event)
    actor, kw = (SECRETARY, {}) if event == "submit" else (CHAIR, {"meeting": days_ago(0)})
    with pytest.raises(SignoffError) as info:
        fire_event(ready, actor, "OF-01", event, **kw)
    assert "injected audit failure" in str(info.value)
    assert snapshot(ready) == before
    # Nothing was left locked or half-written: once the fault is gone the same event applies.
    drop_trigger(ready)
    fire_event(ready, actor, "OF-01", event, **kw)
    after = snapshot(ready)
    assert after["audit"] == before["audit"] + 1 and after["item"][1] == before["item"][1] + 1


def test_an_exception_after_the_machine_moved_leaves_nothing(ready: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail in Python after the item UPDATE ran in the transaction, at the audit append."""
    before = snapshot(ready)
    real_audit = UnitOfWork.audit
    calls: list[dict[str, Any]] = []

    def failing_audit(self: UnitOfWork, **kw: Any) -> dict[str, Any]:
        calls.append(kw)
        if kw["outcome"] == "applied" and kw["event"] == "submit":
            # The state change is already in this transaction when the audit append fails.
            with self.session.no_autoflush:
                state = self.session.connection().exec_driver_sql("SELECT state FROM items WHERE ref='OF-01'").scalar()
            assert state == "evidence_submitted"
            raise RuntimeError("disk on fire")
        return real_audit(self, **kw)

    monkeypatch.setattr(UnitOfWork, "audit", failing_audit)
    with pytest.raises(RuntimeError, match="disk on fire"):
        fire_event(ready, SECRETARY, "OF-01", "submit")
    assert len(calls) == 1
    assert snapshot(ready) == before
    monkeypatch.setattr(UnitOfWork, "audit", real_audit)
    assert fire_event(ready, SECRETARY, "OF-01", "submit") == "evidence_submitted"


def test_a_stale_version_is_a_conflict_that_changes_nothing(ready: Path) -> None:
    before = snapshot(ready)
    with pytest.raises(Conflict) as info:
        fire_event(ready, SECRETARY, "OF-01", "submit", expected_version=before["item"][1] - 1 + 7)
    assert info.value.exit_code == 5
    assert snapshot(ready) == {**before, "audit": before["audit"] + 1}  # only the refusal's record
    with sqlite3.connect(ready) as conn:
        outcome, detail = conn.execute("SELECT outcome, detail FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    assert outcome == "refused" and "conflict:" in detail
    assert fire_event(ready, SECRETARY, "OF-01", "submit", expected_version=before["item"][1]) == "evidence_submitted"


def test_a_refusal_writes_only_its_audit_record(ready: Path) -> None:
    fire_event(ready, SECRETARY, "OF-01", "submit")
    before = snapshot(ready)
    with pytest.raises(SignoffError):
        fire_event(ready, CHAIR, "OF-01", "approve", meeting=days_ago(-3))
    after = snapshot(ready)
    assert after == {**before, "audit": before["audit"] + 1}
