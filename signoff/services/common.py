"""What every write use case shares: who is acting, and auditing refusals after a rollback."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from signoff.clock import local_day
from signoff.errors import BadInput, Conflict, NotFound, Refused, SignoffError, TransientConflict
from signoff.store.location import DbRef
from signoff.store.uow import Row, UnitOfWork

if TYPE_CHECKING:  # the ORM classes are imported by the use cases that load them, not by every command
    from signoff.store.tables import Item

T = TypeVar("T")
TRANSIENT_RETRIES = 3


@dataclass(frozen=True)
class Actor:
    name: str
    roles: frozenset[str]

    @property
    def roles_text(self) -> str:
        return ",".join(sorted(self.roles))


def load_actor(uow: UnitOfWork, name: str) -> Actor:
    found = uow.rows(_ACTOR_SQL, (name,))
    if not found:
        err = NotFound(f"unknown user {name!r}: ask the secretary to add you with 'signoff user add'.")
        raise err
    user_name, roles, deactivated_at, deactivated_by = found[0]
    if deactivated_at is not None:
        day = local_day(deactivated_at)
        why = f"deactivated: {user_name} was deactivated on {day} by {deactivated_by}"
        raise Refused(f"{user_name} was deactivated on {day} and can no longer act here.", [why])
    return Actor(user_name, frozenset(r for r in roles.split(",") if r))


_ACTOR_SQL = "SELECT name, roles, deactivated_at, deactivated_by FROM users WHERE name = ?"


def load_item(uow: UnitOfWork, ref: str) -> Item:
    """The item, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite already holds the write lock)."""
    from sqlmodel import select

    from signoff.store.tables import Item

    item = uow.session.exec(select(Item).where(Item.ref == ref).with_for_update()).first()
    if item is None:
        raise NotFound(f"unknown item {ref!r}: see 'signoff item list' for the register's refs.")
    return item


def item_row(uow: UnitOfWork, ref: str) -> Row:
    """``load_item`` without the ORM: the item's columns as a Row, locked the same way."""
    lock = "" if uow.target.is_sqlite else " FOR UPDATE"
    found = uow.dicts(f"SELECT * FROM items WHERE ref = ?{lock}", (ref,))
    if not found:
        raise NotFound(f"unknown item {ref!r}: see 'signoff item list' for the register's refs.")
    return found[0]


def require_role(actor: Actor, allowed: frozenset[str], action: str, item_ref: str | None = None) -> None:
    if actor.roles & allowed:
        return
    why = f"permission: {action} needs the role {' or '.join(sorted(allowed))}"
    err = Refused(f"{action} refused: {why}", [why])
    err.audit = {"item_ref": item_ref}
    raise err


def record_applied(uow: UnitOfWork, actor: Actor, event: str, **fields: Any) -> dict[str, Any]:
    """Append the audit record of an applied change by ``actor``, in the change's own transaction."""
    return uow.audit(actor=actor.name, roles=actor.roles_text, event=event, outcome="applied", **fields)


def in_unit_of_work(
    db_path: DbRef,
    actor_name: str,
    event: str,
    body: Callable[[UnitOfWork, Actor], T],
    item_ref: str | None = None,
) -> T:
    """Run ``body`` in one write transaction; any failed attempt is rolled back, then audited on its own.

    The record of a refused attempt (a guard, a permission, an unknown user or item, a conflict,
    input the register rejects) is written in a second transaction so that it survives the
    rollback of the attempt it describes. Failures before the attempt began (no register, a
    lock never obtained) and faults of the machinery itself (a failed write) leave no record:
    the attempt neither happened nor was refused.
    """
    from signoff.domain.names import nfc

    actor_name = nfc(actor_name)  # one spelling per person, whichever the caller typed
    actor: Actor | None = None
    began = False
    try:
        for attempt in range(1, TRANSIENT_RETRIES + 1):
            try:
                with UnitOfWork(db_path) as uow:
                    began = True
                    actor = load_actor(uow, actor_name)
                    result = body(uow, actor)
                    uow.commit()
                    return result
            except TransientConflict:
                # PostgreSQL aborted the transaction to keep writers apart: nothing was kept, so
                # run the whole attempt again, a bounded number of times.
                if attempt == TRANSIENT_RETRIES:
                    raise
                time.sleep(0.02 * attempt)
        raise AssertionError("unreachable")
    except (Refused, NotFound, BadInput, Conflict) as failure:
        if not began:
            raise
        _audit_failure(db_path, actor_name, actor, event, item_ref, failure)
        raise


_KIND: dict[type[SignoffError], str] = {NotFound: "unknown", Conflict: "conflict", BadInput: "input"}


def _audit_failure(
    db_path: DbRef, actor_name: str, actor: Actor | None, event: str, item_ref: str | None, failure: SignoffError
) -> None:
    if isinstance(failure, Refused):
        fields: dict[str, Any] = dict(failure.audit)
        failures = failure.failures
    else:
        fields = {}
        kind = "actor" if actor is None else _KIND.get(type(failure), "error")
        failures = [f"{kind}: {failure}"]
    detail = dict(fields.pop("detail", {}) or {})
    detail["failures"] = failures
    try:
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
    except SignoffError:
        pass  # the register cannot take the record (locked, full): the original error is what the user needs
