"""The workflow rules a register runs on: pinned at init, changed only by two people.

The secretary proposes a set of definitions (``workflow propose``); the chair puts it in force
(``workflow adopt``). Both are audit records carrying what replay needs to rebuild the rule
tables, and the full TOML text travels in the proposing record, so the chain alone says which
rules every later record was made under.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from signoff.domain import names
from signoff.domain.roles import CHAIR, SECRETARY
from signoff.engine import workflow as workflows
from signoff.errors import BadInput, NotFound, Refused
from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
from signoff.store import pinned
from signoff.store.location import DbRef
from signoff.store.reader import Reader
from signoff.store.tables import Item, Meta, RuleSet, WorkflowDef
from signoff.store.uow import UnitOfWork


def pin_detail(rules: workflows.Rules, origin: str) -> dict[str, Any]:
    return {
        "ruleset": rules.digest,
        "origin": origin,
        "workflows": {name: {"digest": wf.digest, "source": wf.source} for name, wf in sorted(rules.flows.items())},
    }


def _store_set(uow: UnitOfWork, rules: workflows.Rules, actor: str, reason: str | None) -> None:
    uow.session.add(RuleSet(digest=rules.digest, proposed_at=uow.now, proposed_by=actor, reason=reason))
    uow.session.flush()
    for name, wf in sorted(rules.flows.items()):
        uow.session.add(WorkflowDef(ruleset=rules.digest, name=name, digest=wf.digest, source=wf.source))
    uow.session.flush()


def _put_in_force(uow: UnitOfWork, digest: str, actor: str) -> None:
    ruleset = uow.session.get(RuleSet, digest)
    assert ruleset is not None
    ruleset.adopted_at, ruleset.adopted_by = uow.now, actor
    uow.session.add(ruleset)
    row = uow.session.get(Meta, pinned.IN_FORCE)
    if row is None:
        uow.session.add(Meta(key=pinned.IN_FORCE, value=digest))
    else:
        row.value = digest
        uow.session.add(row)
    uow.session.flush()
    uow.rules_changed()


def pin(uow: UnitOfWork, actor: str, roles: str, rules: workflows.Rules, origin: str) -> None:
    """Pin ``rules`` in force at once (a new register, or one made before rules were pinned)."""
    _store_set(uow, rules, actor, None)
    _put_in_force(uow, rules.digest, actor)
    uow.audit(
        actor=actor,
        roles=roles,
        event="workflow.pin",
        outcome="applied",
        detail=pin_detail(rules, origin),
        workflow_hash=rules.digest,
    )


def origin_of(directory: Path | None) -> str:
    return "shipped" if directory is None else directory.name


def load_folder(directory: Path | None) -> workflows.Rules:
    """The definitions in ``directory`` (or those a new register gets), validated strictly."""
    flows = workflows.load_all() if directory is None else workflows.load_dir(directory)
    return workflows.rules_of(flows)


def propose(db_path: DbRef, actor_name: str, directory: Path, reason: str) -> str:
    """Record a proposed set of definitions (secretary); return its digest for the chair to adopt."""
    reason = names.check_text(reason, "reason")
    rules = load_folder(directory)

    def body(uow: UnitOfWork, actor: Actor) -> str:
        require_role(actor, frozenset({SECRETARY}), "workflow propose")
        if uow.session.get(RuleSet, rules.digest) is not None:
            raise BadInput(
                f"this set of workflows ({rules.digest[:16]}…) is already in the register: see 'signoff workflow list'."
            )
        _store_set(uow, rules, actor.name, reason)
        detail = pin_detail(rules, origin_of(directory))
        detail["reason"] = reason
        record_applied(uow, actor, "workflow.propose", detail=detail)
        return rules.digest

    return in_unit_of_work(db_path, actor_name, "workflow.propose", body)


def adopt(db_path: DbRef, actor_name: str, digest: str) -> str:
    """Put a proposed set in force (chair). Refused while an item sits where the new rules cannot hold it."""
    wanted = (digest or "").strip().lower()
    if len(wanted) < 16 or any(c not in "0123456789abcdef" for c in wanted):
        raise BadInput(
            f"{digest!r} is not a rules digest: copy it as 'signoff workflow list' prints it (16 or more hex digits)."
        )

    def body(uow: UnitOfWork, actor: Actor) -> str:
        require_role(actor, frozenset({CHAIR}), "workflow adopt")
        matches = list(uow.session.exec(select(RuleSet).where(col(RuleSet.digest).startswith(wanted))))
        if not matches:
            raise NotFound(f"no proposed set of workflows has the digest {wanted}: see 'signoff workflow list'.")
        if len(matches) > 1:
            raise BadInput(f"{wanted} matches {len(matches)} sets of workflows: give more of the digest.")
        found = matches[0]
        if found.adopted_at is not None and found.digest == uow.rules().digest:
            raise BadInput(f"the set {found.digest[:16]}… is already in force.")
        defs = uow.session.execute(
            select(col(WorkflowDef.name), col(WorkflowDef.source)).where(col(WorkflowDef.ruleset) == found.digest)
        ).all()
        new = workflows.rules_from_sources({n: s for n, s in defs})
        stranded = []
        for ref, kind, state in uow.session.execute(select(col(Item.ref), col(Item.kind), col(Item.state))):
            if kind not in new.flows:
                stranded.append(f"{ref} (workflow {kind} is not in the new set)")
            elif state not in new.flows[kind].states:
                stranded.append(f"{ref} (state {state} is not in the new {kind})")
        if stranded:
            why = "items the new rules cannot hold: " + ", ".join(stranded[:10]) + (" …" if len(stranded) > 10 else "")
            err = Refused(f"workflow adopt refused: {why}", [why])
            raise err
        _put_in_force(uow, found.digest, actor.name)
        record_applied(uow, actor, "workflow.adopt", detail={"ruleset": found.digest}, workflow_hash=found.digest)
        return found.digest

    return in_unit_of_work(db_path, actor_name, "workflow.adopt", body)


@dataclass(frozen=True)
class RuleSetView:
    digest: str
    status: str  # in force | proposed | retired
    workflows: tuple[str, ...]
    proposed_at: str
    proposed_by: str
    reason: str | None
    adopted_at: str | None
    adopted_by: str | None


def listing(db_path: DbRef) -> list[RuleSetView]:
    with Reader(db_path) as r:
        in_force = r.meta(pinned.IN_FORCE)
        sets = r.all("SELECT * FROM rulesets ORDER BY proposed_at, digest")
        defs = r.all("SELECT ruleset, name FROM workflow_defs ORDER BY name")
    names_of: dict[str, list[str]] = {}
    for d in defs:
        names_of.setdefault(d["ruleset"], []).append(d["name"])
    out = []
    for s in sets:
        status = "in force" if s["digest"] == in_force else "proposed" if s["adopted_at"] is None else "retired"
        out.append(
            RuleSetView(
                s["digest"],
                status,
                tuple(names_of.get(s["digest"], ())),
                s["proposed_at"],
                s["proposed_by"],
                s["reason"],
                s["adopted_at"],
                s["adopted_by"],
            )
        )
    return out


def show(db_path: DbRef, name: str) -> str:
    """The pinned TOML text of workflow ``name`` in force."""
    with Reader(db_path) as r:
        found = r.rules()
    return found.get(name).source
