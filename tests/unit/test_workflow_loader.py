"""Workflow definitions are data, checked strictly when loaded: a mistake names the file, key and fix."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from signoff.domain.guards import GUARDS
from signoff.domain.model import KINDS
from signoff.domain.roles import ROLES
from signoff.engine import workflow

REPO = Path(__file__).resolve().parents[2]

VALID = """\
name = "custom"
title = "A custom workflow"
initial = "proposed"
states = ["proposed", "evidence_submitted", "challenged", "signed_off"]
final = ["signed_off"]
limbo_days = 14

[events.submit]
source = ["proposed"]
dest = "evidence_submitted"
roles = ["secretary"]
guards = ["matrix_covered", "evidence_dated"]

[events.approve]
source = ["evidence_submitted"]
dest = "signed_off"
roles = ["chair"]
guards = ["meeting_date_valid"]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_workflows_load_and_cover_every_item_kind() -> None:
    flows = workflow.load_all()
    assert set(KINDS) <= set(flows)
    for kind in KINDS:
        wf = flows[kind]
        path = Path(wf.path)
        assert wf.digest == hashlib.sha256(path.read_bytes()).hexdigest()
        assert wf.initial == "proposed" and wf.final == ("signed_off",)
        assert set(wf.events) == {"submit", "challenge", "resubmit", "amend", "approve", "reopen"}
        assert wf.events["approve"].roles == frozenset({"chair"})
        assert "segregation_of_duties" in wf.events["approve"].guards
        assert wf.events["submit"].effects == ("freeze_bundle",)
    assert "measures_met" in flows["improvement-notice"].events["approve"].guards
    assert "measures_met" not in flows["ofsted-recommendation"].events["approve"].guards


def test_the_source_tree_workflows_are_the_ones_loaded_by_default() -> None:
    shipped = {p.name for p in (REPO / "workflows").glob("*.toml")}
    assert {Path(wf.path).name for wf in workflow.load_all().values()} == shipped


def test_a_valid_custom_definition_parses(tmp_path: Path) -> None:
    path = write(tmp_path, "custom.toml", VALID)
    wf = workflow.parse(path, path.read_bytes())
    assert wf.name == "custom" and wf.limbo_days == 14
    assert wf.events["approve"].effects == ("record_approval",)
    assert wf.events["submit"].source == ("proposed",)


BAD: list[tuple[str, str, str, list[str]]] = [
    # (what, replace this, with this, fragments the message must contain)
    (
        "unknown top-level key",
        "limbo_days = 14",
        'limbo_days = 14\ncolour = "red"',
        ["'colour'", "is unknown", "events"],
    ),
    ("unknown initial state", 'initial = "proposed"', 'initial = "draft"', ["'initial'", "'draft'", "proposed"]),
    ("unknown final state", 'final = ["signed_off"]', 'final = ["done"]', ["'final'", "'done'", "signed_off"]),
    (
        "unknown dest state",
        'dest = "signed_off"',
        'dest = "signed"',
        ["'events.approve.dest'", "'signed'", "expected one of proposed"],
    ),
    (
        "unknown source state",
        'source = ["proposed"]',
        'source = ["propsed"]',
        ["'events.submit.source'", "'propsed'", "expected one of proposed"],
    ),
    (
        "unknown guard",
        'guards = ["meeting_date_valid"]',
        'guards = ["meeting_date_valid", "chair_is_happy"]',
        ["'events.approve.guards'", "'chair_is_happy'", "segregation_of_duties"],
    ),
    (
        "unknown role",
        'roles = ["chair"]',
        'roles = ["chairman"]',
        ["'events.approve.roles'", "'chairman'", "expected one of " + ", ".join(ROLES)],
    ),
    (
        "unknown event key",
        'roles = ["chair"]',
        'roles = ["chair"]\nguard = ["reason_given"]',
        ["'events.approve.guard'", "is unknown", "guards"],
    ),
    (
        "unknown effect",
        'roles = ["chair"]',
        'roles = ["chair"]\neffects = ["send_email"]',
        ["'events.approve.effects'", "'send_email'", "record_approval"],
    ),
    ("missing events", "[events.submit]", "[other]", ["'other'", "is unknown"]),
    ("bad limbo days", "limbo_days = 14", "limbo_days = 0", ["'limbo_days'", "1 or more"]),
    ("roles not a list", 'roles = ["chair"]', 'roles = "chair"', ["'events.approve.roles'", "list of names"]),
    ("missing dest", 'dest = "signed_off"\n', "", ["'events.approve.dest'", "is missing"]),
    ("not TOML", 'name = "custom"', "name = custom", ["not valid TOML"]),
    (
        "an event nobody may fire",
        'roles = ["chair"]',
        "roles = []",
        ["'events.approve.roles'", "is empty", "secretary"],
    ),
    (
        "a repeated state",
        'states = ["proposed", "evidence_submitted", "challenged", "signed_off"]',
        'states = ["proposed", "evidence_submitted", "challenged", "signed_off", "proposed"]',
        ["'states'", "repeats proposed"],
    ),
]


@pytest.mark.parametrize(("what", "old", "new", "fragments"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_definition_is_refused_naming_file_key_and_expectation(
    tmp_path: Path, what: str, old: str, new: str, fragments: list[str]
) -> None:
    assert old in VALID
    path = write(tmp_path, "custom.toml", VALID.replace(old, new, 1))
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.parse(path, path.read_bytes())
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{what}: {fragment!r} not in {message!r}"
    assert info.value.exit_code == 2


def test_missing_required_top_level_keys_are_named(tmp_path: Path) -> None:
    for key in ("name", "initial", "states"):
        text = "\n".join(line for line in VALID.splitlines() if not line.startswith(f"{key} ="))
        path = write(tmp_path, f"no-{key}.toml", text)
        with pytest.raises(workflow.WorkflowError, match=rf"key '{key}' is missing"):
            workflow.parse(path, path.read_bytes())


def test_unknown_guard_message_lists_every_guard(tmp_path: Path) -> None:
    path = write(tmp_path, "g.toml", VALID.replace('"meeting_date_valid"]', '"nope"]'))
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.parse(path, path.read_bytes())
    for name in GUARDS:
        assert name in str(info.value)


def test_signoff_workflows_points_at_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "flows"
    write(folder, "custom.toml", VALID)
    monkeypatch.setenv("SIGNOFF_WORKFLOWS", str(folder))
    assert list(workflow.load_all()) == ["custom"]
    assert workflow.get("custom").title == "A custom workflow"
    with pytest.raises(workflow.NotFound, match=r"unknown workflow 'ofsted-recommendation'.*custom"):
        workflow.get("ofsted-recommendation")


def test_a_bad_file_in_the_folder_refuses_the_whole_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "flows"
    write(folder, "a-good.toml", VALID)
    bad = write(folder, "b-bad.toml", VALID.replace('name = "custom"', 'name = "other"').replace('"chair"]', '"boss"]'))
    monkeypatch.setenv("SIGNOFF_WORKFLOWS", str(folder))
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.load_all()
    assert str(bad) in str(info.value) and "'boss'" in str(info.value)


def test_two_files_with_the_same_name_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "flows"
    first = write(folder, "a.toml", VALID)
    second = write(folder, "b.toml", VALID)
    monkeypatch.setenv("SIGNOFF_WORKFLOWS", str(folder))
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.load_all()
    assert str(second) in str(info.value) and str(first) in str(info.value) and "'custom'" in str(info.value)


def test_a_missing_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNOFF_WORKFLOWS", str(tmp_path / "nowhere"))
    with pytest.raises(workflow.WorkflowError, match="does not exist"):
        workflow.load_all()


def test_the_cli_reports_a_bad_workflow_in_one_line_with_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    bad = write(folder, "custom.toml", VALID.replace('"chair"]', '"chairman"]'))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    proc = subprocess.run(
        [sys.executable, "-m", "signoff", "init", "--secretary", "sec", "--workflows", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "'chairman'" in lines[0]
