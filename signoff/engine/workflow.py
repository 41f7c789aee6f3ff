"""Load and strictly validate workflow definitions from TOML.

A definition names states, events, the roles allowed to fire each event, the guards that must
all hold, and the effects the event has on the register (open a challenge, freeze the evidence
bundle...). Anything unknown is refused with the file, the key and what was expected.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from signoff.domain.guards import GUARDS
from signoff.domain.roles import ROLES
from signoff.errors import BadInput, NotFound

# What an event does to the register besides moving the state, and the parameter each needs.
EFFECTS: dict[str, str | None] = {
    "open_challenge": "reason",
    "answer_challenge": "response",
    "freeze_bundle": None,
    "record_approval": "meeting",
    "record_reason": "reason",
}
DEFAULT_EFFECTS: dict[str, tuple[str, ...]] = {
    "submit": ("freeze_bundle",),
    "challenge": ("open_challenge",),
    "resubmit": ("answer_challenge", "freeze_bundle"),
    "amend": ("freeze_bundle",),
    "approve": ("record_approval",),
    "reopen": ("open_challenge",),
}
_TOP_KEYS = {"name", "title", "initial", "states", "final", "limbo_days", "events"}
_EVENT_KEYS = {"source", "dest", "roles", "guards", "effects", "signed"}


class WorkflowError(BadInput):
    """A workflow definition that cannot be used."""


@dataclass(frozen=True)
class EventDef:
    name: str
    source: tuple[str, ...]
    dest: str
    roles: frozenset[str]
    guards: tuple[str, ...]
    effects: tuple[str, ...]
    # A signed event is refused without a valid signature by the acting user's current key.
    signed: bool = False


@dataclass(frozen=True)
class Workflow:
    name: str
    title: str
    initial: str
    states: tuple[str, ...]
    final: tuple[str, ...]
    limbo_days: int
    events: dict[str, EventDef]
    digest: str
    path: str
    source: str = ""


def shipped_dir() -> Path:
    """The definitions shipped with signoff: the copy in the wheel, else the source tree's workflows/."""
    here = Path(__file__).resolve().parent.parent
    shipped = here / "_workflows"
    if shipped.is_dir():
        return shipped
    return here.parent / "workflows"


def workflows_dir() -> Path:
    """Where a NEW register's rules come from: SIGNOFF_WORKFLOWS, else the shipped definitions.

    Read only when rules are first pinned in a register (``init``, or ``db upgrade`` of a register
    made before rules were pinned). An existing register runs on the rules pinned inside it.
    """
    override = os.environ.get("SIGNOFF_WORKFLOWS")
    return Path(override) if override else shipped_dir()


def _fail(path: Path, key: str, problem: str) -> WorkflowError:
    return WorkflowError(f"workflow {path}: key '{key}' {problem}.")


def _str_list(path: Path, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(path, key, "must be a list of names")
    return list(value)


def parse(path: Path, data: bytes) -> Workflow:
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise WorkflowError(f"workflow {path} is not valid TOML: {err}.") from None
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(path, key, f"is unknown; expected one of {', '.join(sorted(_TOP_KEYS))}")
    for key in ("name", "initial", "states", "events"):
        if key not in doc:
            raise _fail(path, key, "is missing")
    name = doc["name"]
    if not isinstance(name, str) or not name:
        raise _fail(path, "name", "must be a non-empty string")
    states = _str_list(path, "states", doc["states"])
    repeated = sorted({st for st in states if states.count(st) > 1})
    if repeated:
        raise _fail(path, "states", f"repeats {', '.join(repeated)}; expected each state once")
    if doc["initial"] not in states:
        raise _fail(path, "initial", f"names unknown state {doc['initial']!r}; expected one of {', '.join(states)}")
    final = _str_list(path, "final", doc.get("final", []))
    for s in final:
        if s not in states:
            raise _fail(path, "final", f"names unknown state {s!r}; expected one of {', '.join(states)}")
    limbo = doc.get("limbo_days", 28)
    if not isinstance(limbo, int) or isinstance(limbo, bool) or limbo < 1:
        raise _fail(path, "limbo_days", "must be a whole number of days, 1 or more")
    if not isinstance(doc["events"], dict) or not doc["events"]:
        raise _fail(path, "events", "must declare at least one event table, e.g. [events.submit]")
    events: dict[str, EventDef] = {}
    for ev_name, ev in doc["events"].items():
        prefix = f"events.{ev_name}"
        if not isinstance(ev, dict):
            raise _fail(path, prefix, "must be a table")
        for key in ev:
            if key not in _EVENT_KEYS:
                raise _fail(path, f"{prefix}.{key}", f"is unknown; expected one of {', '.join(sorted(_EVENT_KEYS))}")
        for key in ("source", "dest", "roles"):
            if key not in ev:
                raise _fail(path, f"{prefix}.{key}", "is missing")
        source = _str_list(path, f"{prefix}.source", ev["source"])
        for key, s in [*((f"{prefix}.source", s) for s in source), (f"{prefix}.dest", ev["dest"])]:
            if s not in states:
                raise _fail(path, key, f"names unknown state {s!r}; expected one of {', '.join(states)}")
        roles = _str_list(path, f"{prefix}.roles", ev["roles"])
        if not roles:
            raise _fail(path, f"{prefix}.roles", f"is empty; expected at least one of {', '.join(ROLES)}")
        for r in roles:
            if r not in ROLES:
                raise _fail(path, f"{prefix}.roles", f"names unknown role {r!r}; expected one of {', '.join(ROLES)}")
        guards = _str_list(path, f"{prefix}.guards", ev.get("guards", []))
        for g in guards:
            if g not in GUARDS:
                raise _fail(path, f"{prefix}.guards", f"names unknown guard {g!r}; expected one of {', '.join(GUARDS)}")
        effects = _str_list(path, f"{prefix}.effects", ev.get("effects", list(DEFAULT_EFFECTS.get(ev_name, ()))))
        for e in effects:
            if e not in EFFECTS:
                raise _fail(
                    path, f"{prefix}.effects", f"names unknown effect {e!r}; expected one of {', '.join(EFFECTS)}"
                )
        signed = ev.get("signed", False)
        if not isinstance(signed, bool):
            raise _fail(path, f"{prefix}.signed", "must be true or false")
        events[ev_name] = EventDef(
            ev_name, tuple(source), ev["dest"], frozenset(roles), tuple(guards), tuple(effects), signed
        )
    return Workflow(
        name=name,
        title=str(doc.get("title", name)),
        initial=doc["initial"],
        states=tuple(states),
        final=tuple(final),
        limbo_days=limbo,
        events=events,
        digest=hashlib.sha256(data).hexdigest(),
        path=str(path),
        source=data.decode("utf-8"),
    )


@cache
def _load_dir(directory: str) -> dict[str, Workflow]:
    found: dict[str, Workflow] = {}
    base = Path(directory)
    if not base.is_dir():
        raise WorkflowError(f"workflow folder {base} does not exist: give a folder of .toml workflow files.")
    for path in sorted(p for p in base.glob("*.toml") if p.is_file()):
        wf = parse(path, path.read_bytes())
        if wf.name in found:
            raise _fail(path, "name", f"repeats workflow name {wf.name!r} already defined in {found[wf.name].path}")
        found[wf.name] = wf
    if not found:
        raise WorkflowError(f"workflow folder {base} holds no .toml workflow files: give a folder that does.")
    return found


def load_dir(directory: Path) -> dict[str, Workflow]:
    """Parse and validate every definition in a folder (for ``init --workflows`` and ``workflow propose``)."""
    return _load_dir(str(directory.resolve()))


def load_all() -> dict[str, Workflow]:
    """The definitions a new register would pin (see ``workflows_dir``)."""
    return _load_dir(str(workflows_dir()))


def ruleset_digest(flows: dict[str, Workflow] | None = None) -> str:
    """One digest of a set of workflows: the rules a register-wide record was made under."""
    flows = load_all() if flows is None else flows
    text = "\n".join(f"{name}:{flows[name].digest}" for name in sorted(flows))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get(name: str) -> Workflow:
    """A definition among those a new register would pin (unit tests and the demo use these)."""
    flows = load_all()
    if name not in flows:
        raise NotFound(f"unknown workflow {name!r}: use one of {', '.join(sorted(flows))}.")
    return flows[name]


@dataclass(frozen=True)
class Rules:
    """The set of workflows in force in one register, as pinned in it (never read from disk)."""

    digest: str
    flows: dict[str, Workflow]

    def get(self, name: str) -> Workflow:
        if name not in self.flows:
            raise NotFound(f"unknown workflow {name!r}: use one of {', '.join(sorted(self.flows))}.")
        return self.flows[name]

    def sources(self) -> dict[str, str]:
        return {name: wf.source for name, wf in sorted(self.flows.items())}


def rules_from_sources(sources: dict[str, str]) -> Rules:
    """Rules from pinned TOML texts by workflow name; parsed once per process for each set."""
    return _rules(tuple(sorted(sources.items())))


@cache
def _rules(pairs: tuple[tuple[str, str], ...]) -> Rules:
    flows: dict[str, Workflow] = {}
    for name, source in pairs:
        wf = parse(Path(f"<pinned {name}>"), source.encode("utf-8"))
        if wf.name != name:
            raise WorkflowError(f"pinned workflow {name!r} declares the name {wf.name!r}: the register is damaged.")
        flows[name] = wf
    return Rules(ruleset_digest(flows), flows)


def rules_of(flows: dict[str, Workflow]) -> Rules:
    return Rules(ruleset_digest(flows), dict(flows))
