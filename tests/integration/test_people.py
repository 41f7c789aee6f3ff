"""People are who they appear to be: one person, one user name, and an approver who did not build the case."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CHAIR, SECRETARY, days_ago, write_matrix
from signing import fire_event

from signoff.errors import BadInput, Refused
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.register import add_user
from signoff.store.reader import Reader

NFC = "zo\u00eb.secretary"
NFD = "zoe\u0308.secretary"


def users(db: Path) -> list[str]:
    with Reader(db) as r:
        return [row["name"] for row in r.all("SELECT name FROM users ORDER BY id")]


def item_with_evidence(db: Path, tmp_path: Path, adder: str = SECRETARY) -> None:
    due = days_ago(-30).isoformat()
    rows = [("OF-01", "ofsted-recommendation", "Title", "", k, f"{k} evidence", due) for k in ("audit", "policy")]
    import_matrix(db, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    for key in ("audit", "policy"):
        add_evidence(db, adder, "OF-01", key, days_ago(1), note=f"{key} note")


def test_names_are_stored_in_nfc_and_a_decomposed_spelling_is_the_same_user(db_path: Path) -> None:
    add_user(db_path, SECRETARY, NFD, ["secretary"])
    assert users(db_path)[-1] == NFC
    with pytest.raises(BadInput, match="already exists"):
        add_user(db_path, SECRETARY, NFC, ["chair"])


@pytest.mark.parametrize("look_alike", ["ZOË.SECRETARY", "Zoe\u0308.Secretary", "\uff5a\uff4f\u00eb.secretary"])
def test_a_look_alike_of_an_existing_user_is_refused_naming_them(
    db_path: Path, run_cli: Callable[..., object], look_alike: str
) -> None:
    add_user(db_path, SECRETARY, NFC, ["secretary"])
    result = run_cli("user", "add", look_alike, "--role", "chair", db=db_path, actor=SECRETARY)
    assert result.code == 2, result.err  # type: ignore[attr-defined]
    assert f"the existing user '{NFC}'" in result.err  # type: ignore[attr-defined]
    assert "Traceback" not in result.err  # type: ignore[attr-defined]
    assert users(db_path).count(NFC) == 1 and len(users(db_path)) == 5


def test_acting_as_a_decomposed_spelling_acts_as_the_one_user(db_path: Path, tmp_path: Path) -> None:
    """The attack in issue 10: one spelling adds evidence and submits, the other approves."""
    add_user(db_path, SECRETARY, NFC, ["chair", "secretary"])
    item_with_evidence(db_path, tmp_path, adder=NFC)
    fire_event(db_path, NFD, "OF-01", "submit")
    with pytest.raises(Refused) as err:
        fire_event(db_path, NFD, "OF-01", "approve", meeting=days_ago(0))
    assert err.value.failures[0].startswith(f"segregation_of_duties: {NFC} added evidence for and submitted")
    with Reader(db_path) as r:
        actors = {row["actor"] for row in r.all("SELECT actor FROM audit WHERE item_ref = 'OF-01'")}
    assert NFD not in actors and NFC in actors


def test_a_chair_and_secretary_who_submits_cannot_approve(db_path: Path, tmp_path: Path) -> None:
    add_user(db_path, SECRETARY, "both", ["chair", "secretary"])
    item_with_evidence(db_path, tmp_path, adder=SECRETARY)  # someone else built the case
    assert fire_event(db_path, "both", "OF-01", "submit") == "evidence_submitted"
    with pytest.raises(Refused) as err:
        fire_event(db_path, "both", "OF-01", "approve", meeting=days_ago(0))
    assert err.value.failures == ["segregation_of_duties: both submitted this item and so cannot approve it"]
    assert fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0)) == "signed_off"


def test_an_amender_cannot_approve(db_path: Path, tmp_path: Path) -> None:
    add_user(db_path, SECRETARY, "both", ["chair", "secretary"])
    item_with_evidence(db_path, tmp_path)
    fire_event(db_path, SECRETARY, "OF-01", "submit")
    with Reader(db_path) as r:
        first_id = r.all("SELECT id FROM evidence WHERE key = 'audit'")[0]["id"]
    add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(1), note="corrected", supersedes=first_id)
    fire_event(db_path, "both", "OF-01", "amend")
    with pytest.raises(Refused, match="segregation_of_duties"):
        fire_event(db_path, "both", "OF-01", "approve", meeting=days_ago(0))


@pytest.mark.parametrize("actor", ["bad\x07name", " sec", "a\u202eb"])
def test_an_invalid_as_name_is_exit_2_even_for_db_upgrade(
    db_path: Path, run_cli: Callable[..., object], actor: str
) -> None:
    result = run_cli("db", "upgrade", db=db_path, actor=actor)
    assert result.code == 2, (result.code, result.err)  # type: ignore[attr-defined]
    assert "user name" in result.err and "Traceback" not in result.err  # type: ignore[attr-defined]
