"""Rules that keep the register honest when it changes under a decision."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import CHAIR, MEMBER, SECRETARY, days_ago, write_matrix
from signing import fire_event

from signoff.domain.matrix import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from signoff.errors import BadInput, Refused
from signoff.services import oversight, views
from signoff.services.evidence import MeasureInput, add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.schedule import add_meeting
from signoff.store import location
from signoff.store.reader import Reader


@pytest.fixture
def db_path(register_db: Path | str) -> Path | str:
    """These rules hold on both backends."""
    return register_db


ROW = ("OF-01", "ofsted-recommendation", "Screen contacts", "", "audit", "Case audit", days_ago(3).isoformat())


def submitted(db: Path, tmp_path: Path) -> Path:
    import_matrix(db, SECRETARY, write_matrix(tmp_path / "m.csv", [ROW]))
    add_evidence(db, SECRETARY, "OF-01", "audit", days_ago(2), note="Audit of 30 contacts")
    fire_event(db, SECRETARY, "OF-01", "submit")
    return db


def test_a_row_added_after_submission_must_be_evidenced_before_sign_off(db_path: Path, tmp_path: Path) -> None:
    submitted(db_path, tmp_path)
    more = (*ROW[:4], "data", "Performance data", days_ago(1).isoformat())
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "more.csv", [ROW, more]))
    with pytest.raises(Refused) as refused:
        fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    assert refused.value.failures[0] == "matrix_covered: no evidence for matrix rows: data"
    add_evidence(db_path, SECRETARY, "OF-01", "data", days_ago(1), note="97% within a day")
    fire_event(db_path, SECRETARY, "OF-01", "amend")
    assert fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0)) == "signed_off"


def test_a_signed_off_item_takes_no_new_evidence_requirements(db_path: Path, tmp_path: Path) -> None:
    submitted(db_path, tmp_path)
    fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    more = (*ROW[:4], "data", "Performance data", days_ago(1).isoformat())
    with pytest.raises(BadInput, match="OF-01 is signed off; reopen it before adding the evidence requirement 'data'"):
        import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "more.csv", [ROW, more]))
    assert len(views.item_detail(db_path, "OF-01")["matrix"]) == 1


def test_a_measure_is_judged_on_its_latest_period(db_path: Path, tmp_path: Path) -> None:
    rows = [("IN-03", "improvement-notice", "Adoption A2", "", "a2", "A2 average", days_ago(3).isoformat())]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    add_evidence(
        db_path,
        SECRETARY,
        "IN-03",
        "a2",
        days_ago(20),
        measure=MeasureInput("A2", 240, "days", "2010-13", 213, "at-most"),
    )
    assert views.item_detail(db_path, "IN-03")["measures_missed"] == 1
    add_evidence(
        db_path,
        SECRETARY,
        "IN-03",
        "a2",
        days_ago(2),
        measure=MeasureInput("A2", 205, "days", "2011-14", 213, "at-most"),
    )
    assert views.item_detail(db_path, "IN-03")["measures_missed"] == 0
    [tracker] = oversight.measures(db_path)
    assert tracker["met"] and [t["value"] for t in tracker["trend"]] == [240.0, 205.0]
    fire_event(db_path, SECRETARY, "IN-03", "submit")
    assert fire_event(db_path, CHAIR, "IN-03", "approve", meeting=days_ago(0)) == "signed_off"


def test_measures_must_be_ordinary_numbers(db_path: Path, tmp_path: Path) -> None:
    rows = [("IN-03", "improvement-notice", "Adoption A2", "", "a2", "A2 average", days_ago(3).isoformat())]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    for value, threshold in ((float("inf"), 10.0), (float("nan"), 10.0), (5.0, float("-inf"))):
        with pytest.raises(BadInput, match="ordinary numbers"):
            add_evidence(
                db_path,
                SECRETARY,
                "IN-03",
                "a2",
                days_ago(2),
                measure=MeasureInput("A2", value, "d", "x", threshold, "at-most"),
            )


def test_a_correction_supersedes_evidence_of_the_same_row_only(db_path: Path, tmp_path: Path) -> None:
    rows = [ROW, (*ROW[:4], "data", "Performance data", days_ago(1).isoformat())]
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
    first = add_evidence(db_path, SECRETARY, "OF-01", "audit", days_ago(2), note="Audit")
    with pytest.raises(BadInput, match="is for matrix row 'audit', not 'data'"):
        add_evidence(db_path, SECRETARY, "OF-01", "data", days_ago(1), note="Figures", supersedes=first)
    detail = views.item_detail(db_path, "OF-01")
    assert [m["covered"] for m in detail["matrix"]] == [True, False] and detail["keys_covered"] == 1


def test_a_refused_file_is_not_copied_into_the_evidence_store(db_path: Path, tmp_path: Path) -> None:
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", [ROW]))
    paper = tmp_path / "audit.txt"
    paper.write_text("audit\n", encoding="utf-8")
    with pytest.raises(Refused):
        add_evidence(db_path, MEMBER, "OF-01", "audit", days_ago(2), file=paper)
    store = location.evidence_dir(db_path)
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))
    missing = tmp_path / "nowhere" / "x.db"
    with pytest.raises(Exception, match="no register"):
        add_evidence(missing, SECRETARY, "OF-01", "audit", days_ago(2), file=paper)
    assert not location.evidence_dir(missing).exists()


def test_the_pack_shows_what_was_decided_on_the_previous_meeting_day(db_path: Path, tmp_path: Path) -> None:
    submitted(db_path, tmp_path)
    fire_event(db_path, CHAIR, "OF-01", "approve", meeting=days_ago(0))
    add_meeting(db_path, SECRETARY, days_ago(0) + dt.timedelta(days=14), "Board")
    pack = oversight.board_pack(db_path, days_ago(0) + dt.timedelta(days=14))
    assert pack["previous_meeting"] == days_ago(0).isoformat()
    assert any(c["event"] == "approve" and c["item_ref"] == "OF-01" for c in pack["changes"])


def test_owners_in_a_matrix_follow_the_free_text_rule(db_path: Path, tmp_path: Path) -> None:
    header = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    with pytest.raises(BadInput, match="line 2: the item_owner contains control characters"):
        import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", [(*ROW, "Evil\u202eowner", "")], header))
    with Reader(db_path) as r:
        assert r.one("SELECT COUNT(*) AS n FROM items") == {"n": 0}


def test_a_custom_workflow_kind_imports_through_the_matrix(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from signoff.engine import workflow

    folder = tmp_path / "flows"
    folder.mkdir()
    shipped = workflow.workflows_dir()
    for f in shipped.glob("*.toml"):
        (folder / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    custom = (shipped / "ofsted-recommendation.toml").read_text(encoding="utf-8")
    custom = custom.replace('name = "ofsted-recommendation"', 'name = "lscb-action"')
    (folder / "lscb-action.toml").write_text(custom, encoding="utf-8")
    from signoff.services import rules

    rules.adopt(db_path, CHAIR, rules.propose(db_path, SECRETARY, folder, "Safeguarding partnership actions"))
    try:
        rows = [
            (
                "LS-01",
                "lscb-action",
                "Frontline reference group",
                "",
                "terms",
                "Terms of reference",
                days_ago(3).isoformat(),
            )
        ]
        result = import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", rows))
        assert result.items_created == 1 and views.item_detail(db_path, "LS-01")["kind"] == "lscb-action"
    finally:
        workflow._load_dir.cache_clear()


def test_a_reimport_reports_items_whose_title_or_due_date_it_would_change(db_path: Path, tmp_path: Path) -> None:
    import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m.csv", [ROW]))
    changed = (ROW[0], ROW[1], "Screen every contact", days_ago(-40).isoformat(), *ROW[4:])
    result = import_matrix(db_path, SECRETARY, write_matrix(tmp_path / "m2.csv", [changed]))
    assert result.items_differing == ("OF-01",) and result.rows_unchanged == 1
    assert views.item_detail(db_path, "OF-01")["title"] == "Screen contacts"  # left as registered
