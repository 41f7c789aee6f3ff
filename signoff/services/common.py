"""What every write use case shares: who is acting, and auditing refusals after a rollback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlmodel import select

from signoff.errors import BadInput, NotFound, Refused
from signoff.store.tables import Item, User
from signoff.store.uow import UnitOfWork

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    name: str
    roles: frozenset[str]

    @property
    def roles_text(self) -> str:
        return ",".join(sorted(self.roles))


def require_actor_name(name: str | None) -> str:
    if not name:
        raise BadInput("say who you are: pass --as NAME before the command, or set SIGNOFF_USER.")
    from signoff.domain.names import check_user_name

    # A name no user can have is bad input, not an attempt to audit: control characters stay out of the log.
    return check_user_name(name)


def load_actor(uow: UnitOfWork, name: str) -> Actor:
    user = uow.session.exec(select(User).where(User.name == name)).first()
    if user is None:
        err = NotFound(f"unknown user {name!r}: ask the secretary to add you with 'signoff user add'.")
        raise err
    return Actor(user.name, frozenset(r for r in user.roles.split(",") if r))


def load_item(uow: UnitOfWork, ref: str) -> Item:
    item = uow.session.exec(select(Item).where(Item.ref == ref)).first()
    if item is None:
        raise NotFound(f"unknown item {ref!r}: see 'signoff item list' for the register's refs.")
    return item


def require_role(actor: Actor, allowed: frozenset[str], action: str, item_ref: str | None = None) -> None:
    if actor.roles & allowed:
        return
    why = f"permission: {action} needs the role {' or '.join(sorted(allowed))}"
    err = Refused(f"{action} refused: {why}", [why])
    err.audit = {"item_ref": item_ref}
    raise err


def in_unit_of_work(
    db_path: Path,
    actor_name: str,
    event: str,
    body: Callable[[UnitOfWork, Actor], T],
    item_ref: str | None = None,
) -> T:
    """Run ``body`` in one write transaction; a refusal is rolled back, then audited on its own.

    The refusal record is written in a second transaction so that it survives the rollback of
    the attempt it describes.
    """
    actor: Actor | None = None
    try:
        with UnitOfWork(db_path) as uow:
            actor = load_actor(uow, actor_name)
            result = body(uow, actor)
            uow.commit()
            return result
    except Refused as refusal:
        fields: dict[str, Any] = dict(refusal.audit)
        detail = dict(fields.pop("detail", {}) or {})
        detail["failures"] = refusal.failures
        with UnitOfWork(db_path) as uow:
            uow.audit(
                actor=actor_name,
                roles=actor.roles_text if actor else "",
                event=event,
                outcome="refused",
                detail=detail,
                item_ref=fields.get("item_ref", item_ref),
                from_state=fields.get("from_state"),
                to_state=fields.get("from_state"),
                workflow_hash=fields.get("workflow_hash"),
            )
            uow.commit()
        raise
    except NotFound as missing:
        if actor is None:
            # Someone unknown tried to act: that attempt is part of the record too.
            with UnitOfWork(db_path) as uow:
                uow.audit(
                    actor=actor_name,
                    roles="",
                    event=event,
                    outcome="refused",
                    detail={"failures": [f"actor: {missing}"]},
                    item_ref=item_ref,
                )
                uow.commit()
        raise
