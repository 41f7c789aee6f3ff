"""Workflow definitions read exactly: every default, every refusal word for word, and the rule sets made of them.

test_workflow_loader.py checks the messages name the file and key; these pin the whole sentence
and the whole parsed definition, so a default that drifts or a message that loses its advice
is seen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from signoff.domain.guards import GUARDS
from signoff.domain.roles import ROLES
from signoff.engine import workflow
from signoff.engine.workflow import EventDef, Rules, Workflow, WorkflowError
from signoff.errors import NotFound

MINIMAL = """\
name = "tiny"
initial = "a"
states = ["a", "b"]

[events.submit]
source = ["a"]
dest = "b"
roles = ["secretary"]
"""

P = Path("/flows/tiny.toml")


def parse(text: str, path: Path = P) -> Workflow:
    return workflow.parse(path, text.encode("utf-8"))


def refusal(text: str) -> str:
    with pytest.raises(WorkflowError) as caught:
        parse(text)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_a_minimal_definition_takes_every_default() -> None:
    assert parse(MINIMAL) == Workflow(
        name="tiny",
        title="tiny",
        initial="a",
        states=("a", "b"),
        final=(),
        limbo_days=28,
        events={"submit": EventDef("submit", ("a",), "b", frozenset({"secretary"}), (), ("freeze_bundle",), False)},
        digest=hashlib.sha256(MINIMAL.encode("utf-8")).hexdigest(),
        path="/flows/tiny.toml",
        source=MINIMAL,
    )


@pytest.mark.parametrize("event", sorted(workflow.DEFAULT_EFFECTS))
def test_each_known_event_has_its_default_effects(event: str) -> None:
    wf = parse(MINIMAL.replace("[events.submit]", f"[events.{event}]"))
    assert wf.events[event].effects == workflow.DEFAULT_EFFECTS[event]


def test_an_event_of_another_name_has_no_effects_unless_given() -> None:
    wf = parse(MINIMAL.replace("[events.submit]", "[events.note]"))
    assert wf.events["note"].effects == ()
    wf = parse(MINIMAL.replace("[events.submit]", "[events.note]") + 'effects = ["record_reason", "open_challenge"]\n')
    assert wf.events["note"].effects == ("record_reason", "open_challenge")
    wf = parse(MINIMAL + "effects = []\n")
    assert wf.events["submit"].effects == ()


def test_everything_given_is_kept() -> None:
    text = (
        MINIMAL.replace('initial = "a"', 'initial = "a"\ntitle = "Tiny flow"\nfinal = ["b"]\nlimbo_days = 1')
        + 'guards = ["reason_given", "matrix_covered"]\nsigned = true\n'
        + '[events.back]\nsource = ["b", "a"]\ndest = "a"\nroles = ["chair", "member"]\nsigned = false\n'
    )
    wf = parse(text)
    assert (wf.title, wf.final, wf.limbo_days) == ("Tiny flow", ("b",), 1)
    assert wf.events == {
        "submit": EventDef(
            "submit",
            ("a",),
            "b",
            frozenset({"secretary"}),
            ("reason_given", "matrix_covered"),
            ("freeze_bundle",),
            True,
        ),
        "back": EventDef("back", ("b", "a"), "a", frozenset({"chair", "member"}), (), (), False),
    }
    assert list(wf.events) == ["submit", "back"]


def test_a_title_that_is_not_text_is_shown_as_text() -> None:
    assert parse(MINIMAL.replace('initial = "a"', 'initial = "a"\ntitle = 7')).title == "7"


START = "workflow /flows/tiny.toml: key"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name = "tiny"', 'name = "tiny"\nowner = "x"',
         "'owner' is unknown; expected one of events, final, initial, limbo_days, name, states, title."),
        ('name = "tiny"\n', "", "'name' is missing."),
        ('initial = "a"\n', "", "'initial' is missing."),
        ('states = ["a", "b"]\n', "", "'states' is missing."),
        ('name = "tiny"', 'name = ""', "'name' must be a non-empty string."),
        ('name = "tiny"', "name = 3", "'name' must be a non-empty string."),
        ('states = ["a", "b"]', 'states = "a"', "'states' must be a list of names."),
        ('states = ["a", "b"]', 'states = ["a", ""]', "'states' must be a list of names."),
        ('states = ["a", "b"]', 'states = ["a", 2]', "'states' must be a list of names."),
        ('states = ["a", "b"]', 'states = ["b", "a", "c", "b", "a", "b"]',
         "'states' repeats a, b; expected each state once."),
        ('initial = "a"', 'initial = "z"', "'initial' names unknown state 'z'; expected one of a, b."),
        ('initial = "a"', 'initial = "a"\nfinal = "b"', "'final' must be a list of names."),
        ('initial = "a"', 'initial = "a"\nfinal = ["b", "y"]', "'final' names unknown state 'y'; expected one of a, b."),
        ('initial = "a"', 'initial = "a"\nlimbo_days = 0', "'limbo_days' must be a whole number of days, 1 or more."),
        ('initial = "a"', 'initial = "a"\nlimbo_days = -3', "'limbo_days' must be a whole number of days, 1 or more."),
        ('initial = "a"', 'initial = "a"\nlimbo_days = 2.0', "'limbo_days' must be a whole number of days, 1 or more."),
        ('initial = "a"', 'initial = "a"\nlimbo_days = true', "'limbo_days' must be a whole number of days, 1 or more."),
        ('initial = "a"', 'initial = "a"\nlimbo_days = "7"', "'limbo_days' must be a whole number of days, 1 or more."),
        ("[events.submit]", "[events]\n[other]",
         "'other' is unknown; expected one of events, final, initial, limbo_days, name, states, title."),
        ('roles = ["secretary"]', 'roles = ["secretary"]\ncolour = 1',
         "'events.submit.colour' is unknown; expected one of dest, effects, guards, roles, signed, source."),
        ('source = ["a"]\n', "", "'events.submit.source' is missing."),
        ('dest = "b"\n', "", "'events.submit.dest' is missing."),
        ('roles = ["secretary"]\n', "", "'events.submit.roles' is missing."),
        ('source = ["a"]', 'source = "a"', "'events.submit.source' must be a list of names."),
        ('source = ["a"]', 'source = ["a", "q"]', "'events.submit.source' names unknown state 'q'; expected one of a, b."),
        ('dest = "b"', 'dest = "q"', "'events.submit.dest' names unknown state 'q'; expected one of a, b."),
        ('roles = ["secretary"]', "roles = []", f"'events.submit.roles' is empty; expected at least one of {', '.join(ROLES)}."),
        ('roles = ["secretary"]', 'roles = ["secretary", "boss"]',
         f"'events.submit.roles' names unknown role 'boss'; expected one of {', '.join(ROLES)}."),
        ('roles = ["secretary"]', 'roles = ["secretary"]\nguards = "reason_given"', "'events.submit.guards' must be a list of names."),
        ('roles = ["secretary"]', 'roles = ["secretary"]\nguards = ["vibes"]',
         f"'events.submit.guards' names unknown guard 'vibes'; expected one of {', '.join(GUARDS)}."),
        ('roles = ["secretary"]', 'roles = ["secretary"]\neffects = "freeze_bundle"', "'events.submit.effects' must be a list of names."),
        ('roles = ["secretary"]', 'roles = ["secretary"]\neffects = ["party"]',
         f"'events.submit.effects' names unknown effect 'party'; expected one of {', '.join(workflow.EFFECTS)}."),
        ('roles = ["secretary"]', 'roles = ["secretary"]\nsigned = "yes"', "'events.submit.signed' must be true or false."),
        ('roles = ["secretary"]', 'roles = ["secretary"]\nsigned = 1', "'events.submit.signed' must be true or false."),
    ],
)  # fmt: skip
def test_each_refusal_word_for_word(old: str, new: str, message: str) -> None:
    assert old in MINIMAL
    assert refusal(MINIMAL.replace(old, new, 1)) == f"{START} {message}"


def test_events_that_are_not_tables() -> None:
    no_events = MINIMAL.split("[events.submit]")[0]
    rule = "'events' must declare at least one event table, e.g. [events.submit]."
    assert refusal(no_events + "events = {}\n") == f"{START} {rule}"
    assert refusal(no_events + "events = 3\n") == f"{START} {rule}"
    assert refusal(no_events + "[events]\nsubmit = 3\n") == f"{START} 'events.submit' must be a table."


def test_a_file_that_is_not_toml_or_not_utf8() -> None:
    with pytest.raises(WorkflowError) as caught:
        parse("name = tiny")
    assert str(caught.value).startswith("workflow /flows/tiny.toml is not valid TOML: ")
    assert str(caught.value).endswith(".") and "Invalid value" in str(caught.value)
    with pytest.raises(WorkflowError) as caught:
        workflow.parse(P, b'name = "\xff"')
    assert str(caught.value).startswith("workflow /flows/tiny.toml is not valid TOML: 'utf-8' codec can't decode")
    assert caught.value.__suppress_context__


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def test_a_folder_reads_only_its_toml_files_in_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    write(folder, "b.toml", MINIMAL.replace('"tiny"', '"beta"'))
    write(folder, "a.toml", MINIMAL.replace('"tiny"', '"alpha"'))
    write(folder, "c.txt", "not a workflow")
    (folder / "d.toml").mkdir()
    flows = workflow.load_dir(folder)
    assert list(flows) == ["alpha", "beta"]
    assert flows["alpha"].path == str((folder / "a.toml").resolve())


def test_a_folder_given_by_a_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "rel", "a.toml", MINIMAL)
    monkeypatch.chdir(tmp_path)
    assert workflow.load_dir(Path("rel"))["tiny"].path == str(tmp_path.resolve() / "rel" / "a.toml")


def test_folder_refusals_word_for_word(tmp_path: Path) -> None:
    missing = (tmp_path / "nowhere").resolve()
    with pytest.raises(WorkflowError) as caught:
        workflow.load_dir(missing)
    assert str(caught.value) == f"workflow folder {missing} does not exist: give a folder of .toml workflow files."
    empty = (tmp_path / "empty").resolve()
    write(empty, "readme.md", "# nothing")
    with pytest.raises(WorkflowError) as caught:
        workflow.load_dir(empty)
    assert str(caught.value) == f"workflow folder {empty} holds no .toml workflow files: give a folder that does."
    twice = (tmp_path / "twice").resolve()
    first, second = write(twice, "a.toml", MINIMAL), write(twice, "b.toml", MINIMAL)
    with pytest.raises(WorkflowError) as caught:
        workflow.load_dir(twice)
    assert (
        str(caught.value) == f"workflow {second}: key 'name' repeats workflow name 'tiny' already defined in {first}."
    )


def test_the_folder_for_a_new_register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNOFF_WORKFLOWS", str(tmp_path))
    assert workflow.workflows_dir() == tmp_path
    monkeypatch.setenv("SIGNOFF_WORKFLOWS", "")
    assert workflow.workflows_dir() == workflow.shipped_dir()
    monkeypatch.delenv("SIGNOFF_WORKFLOWS")
    assert workflow.workflows_dir() == workflow.shipped_dir()
    assert (workflow.shipped_dir() / "ofsted-recommendation.toml").is_file()


def test_the_ruleset_digest_is_one_line_per_workflow_in_name_order(tmp_path: Path) -> None:
    one, two = parse(MINIMAL), parse(MINIMAL.replace('"tiny"', '"alpha"'))
    expected = hashlib.sha256(f"alpha:{two.digest}\ntiny:{one.digest}".encode()).hexdigest()
    assert workflow.ruleset_digest({"tiny": one, "alpha": two}) == expected
    assert workflow.ruleset_digest({"alpha": two, "tiny": one}) == expected
    shipped = workflow.load_all()
    assert workflow.ruleset_digest() == workflow.ruleset_digest(shipped)
    assert workflow.ruleset_digest({}) == hashlib.sha256(b"").hexdigest()


def test_get_names_what_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "a.toml", MINIMAL.replace('"tiny"', '"alpha"'))
    write(tmp_path, "b.toml", MINIMAL)
    monkeypatch.setenv("SIGNOFF_WORKFLOWS", str(tmp_path))
    assert workflow.get("tiny").name == "tiny"
    with pytest.raises(NotFound) as caught:
        workflow.get("big")
    assert str(caught.value) == "unknown workflow 'big': use one of alpha, tiny."


def test_rules_from_pinned_sources() -> None:
    beta = MINIMAL.replace('"tiny"', '"beta"')
    rules = workflow.rules_from_sources({"tiny": MINIMAL, "beta": beta})
    assert list(rules.flows) == ["beta", "tiny"]
    assert rules.flows["tiny"] == parse(MINIMAL, Path("<pinned tiny>"))
    assert rules.digest == workflow.ruleset_digest(rules.flows)
    assert rules.sources() == {"beta": beta, "tiny": MINIMAL}
    assert list(rules.sources()) == ["beta", "tiny"]
    assert rules.get("beta") is rules.flows["beta"]
    with pytest.raises(NotFound) as caught:
        rules.get("gamma")
    assert str(caught.value) == "unknown workflow 'gamma': use one of beta, tiny."
    assert workflow.rules_from_sources({"beta": beta, "tiny": MINIMAL}) == rules


def test_a_pinned_source_under_another_name_is_damage() -> None:
    with pytest.raises(WorkflowError) as caught:
        workflow.rules_from_sources({"other": MINIMAL})
    assert str(caught.value) == "pinned workflow 'other' declares the name 'tiny': the register is damaged."
    with pytest.raises(WorkflowError) as caught:
        workflow.rules_from_sources({"bad": "name = ["})
    assert str(caught.value).startswith("workflow <pinned bad> is not valid TOML: ")


def test_rules_of_a_set_of_flows() -> None:
    flows = {"tiny": parse(MINIMAL)}
    rules = workflow.rules_of(flows)
    assert rules == Rules(workflow.ruleset_digest(flows), flows)
    flows.clear()
    assert list(rules.flows) == ["tiny"]
