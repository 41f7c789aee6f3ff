"""Changing who may do what: a user's roles, and deactivating a user who has left the board.

A user is never deleted: their name stays on every record they made, and stays theirs (no
look-alike can be added). A deactivated user is refused every write, and the refusal is audited.
"""

from __future__ import annotations

from sqlmodel import select

from signoff.clock import local_day
from signoff.domain import names
from signoff.domain.roles import REGISTER_ACTIONS, ROLES, SECRETARY
from signoff.errors import BadInput, NotFound, Refused
from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
from signoff.store.location import DbRef
from signoff.store.tables import User
from signoff.store.uow import UnitOfWork


def _user(uow: UnitOfWork, name: str) -> User:
    user = uow.session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"unknown user {name!r}: see 'signoff user list'.")
    return user


def _other_active_secretaries(uow: UnitOfWork, name: str) -> list[str]:
    return [
        u.name
        for u in uow.session.exec(select(User).where(User.deactivated_at == None))  # type: ignore[arg-type]  # noqa: E711
        if u.name != name and SECRETARY in u.roles.split(",")
    ]


def _lockout(name: str, what: str) -> Refused:
    why = f"last secretary: {name} is the register's only active secretary"
    return Refused(
        f"{what} refused: {name} is the register's only active secretary, and without one nobody could add "
        "users or correct anything; give someone else the secretary role first.",
        [why],
    )


def change_role(
    db_path: DbRef, actor_name: str, name: str, reason: str, *, add: str | None = None, remove: str | None = None
) -> list[str]:
    """Give a user a role or take one away; returns their roles after the change."""
    name = names.nfc(name)
    reason = names.check_text(reason, "reason")
    if (add is None) == (remove is None):
        raise BadInput("give exactly one of --add ROLE or --remove ROLE.")
    role = add or remove
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}.")

    def body(uow: UnitOfWork, actor: Actor) -> list[str]:
        require_role(actor, REGISTER_ACTIONS["user.role"], "user role")
        user = _user(uow, name)
        if user.deactivated_at is not None:
            raise BadInput(f"{name} was deactivated on {local_day(user.deactivated_at)}: their roles no longer matter.")
        held = [r for r in user.roles.split(",") if r]
        if add is not None:
            if add in held:
                raise BadInput(f"{name} already has the role {add}.")
            roles = sorted({*held, add})
        else:
            if remove not in held:
                raise BadInput(f"{name} does not have the role {remove}: they are {', '.join(held)}.")
            roles = [r for r in held if r != remove]
            if not roles:
                raise BadInput(
                    f"{remove} is {name}'s only role: add their new role first, or deactivate them if they have left."
                )
            if remove == SECRETARY and not _other_active_secretaries(uow, name):
                raise _lockout(name, "user role")
        old = user.roles
        user.roles = ",".join(roles)
        uow.session.add(user)
        uow.session.flush()
        change = {"add": add} if add is not None else {"remove": remove}
        record_applied(
            uow,
            actor,
            "user.role",
            detail={"user": name, **change, "from_roles": old, "roles": roles, "reason": reason},
        )
        return roles

    return in_unit_of_work(db_path, actor_name, "user.role", body)


def deactivate_user(db_path: DbRef, actor_name: str, name: str, reason: str) -> None:
    """Stop a user acting: every write they attempt from now on is refused (and audited)."""
    name = names.nfc(name)
    reason = names.check_text(reason, "reason")

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["user.deactivate"], "user deactivate")
        user = _user(uow, name)
        if user.deactivated_at is not None:
            raise BadInput(f"{name} is already deactivated (since {local_day(user.deactivated_at)}).")
        if SECRETARY in user.roles.split(",") and not _other_active_secretaries(uow, name):
            raise _lockout(name, "user deactivate")
        user.deactivated_at = uow.now
        user.deactivated_by = actor.name
        uow.session.add(user)
        uow.session.flush()
        record_applied(uow, actor, "user.deactivate", detail={"user": name, "roles": user.roles, "reason": reason})

    in_unit_of_work(db_path, actor_name, "user.deactivate", body)
