"""Setting up the register: the database itself, its users, and items added one at a time."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel import select

from signoff import clock
from signoff.domain import names
from signoff.domain.roles import REGISTER_ACTIONS, ROLES, SECRETARY
from signoff.engine import workflow as workflows
from signoff.errors import BadInput, SignoffError
from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
from signoff.store import location, migrate
from signoff.store.location import DbRef
from signoff.store.tables import Item, Meta, User
from signoff.store.uow import UnitOfWork


def init_register(db: location.DbRef, secretary: str) -> str:
    """Create the database through the migrations, give it an id, and add its first secretary."""
    names.check_user_name(secretary)
    db_path = location.target(db)
    if not db_path.is_sqlite:
        location.shared_evidence_dir()  # a relative folder is refused before anything is created
    if migrate.current_revision(db_path) is not None:
        with UnitOfWork(db_path) as uow:
            finished = uow.session.get(Meta, "database_id") is not None
        if finished:
            raise BadInput(f"{db_path} is already a signoff register: use it, or pass --db with a new path.")
        # An init that stopped after the migrations and before its first user: finish it now.
    else:
        _create_schema(db_path)
    return _give_identity(db_path, secretary)


# The transaction-level advisory lock concurrent inits of one PostgreSQL database queue on.
INIT_LOCK = 0x5160F1


def _create_schema(db_path: location.Target) -> None:
    if db_path.path is not None:
        if db_path.path.exists() and db_path.path.stat().st_size > 0:
            raise BadInput(f"{db_path} exists and is not a signoff register: choose another path with --db.")
        if not db_path.path.parent.exists():
            raise BadInput(
                f"the folder {db_path.path.parent} does not exist: create it first or choose another --db path."
            )
        try:
            migrate.upgrade(db_path)
        except SignoffError:
            raise
        except Exception as err:  # an OS or driver error while creating the file
            raise location.translate(err, db_path) from None
        return
    _create_server_schema(db_path)


def _create_server_schema(db_path: location.Target) -> None:
    """Migrations on PostgreSQL, only into a database (or schema) that holds no tables of anyone else's.

    Concurrent inits queue on an advisory lock: the first creates the tables, the others find them.
    """
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    from signoff.store.database import table_names
    from signoff.store.uow import engine_for

    try:
        with engine_for(db_path).connect() as conn:
            conn.begin()
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INIT_LOCK})
            present = table_names(conn)
            if "alembic_version" in present:
                return  # another init got here first; giving the register its identity decides
            if present:
                shown = ", ".join(present[:5]) + (f" and {len(present) - 5} more" if len(present) > 5 else "")
                raise BadInput(
                    f"{db_path} already holds tables of another application ({shown}): give signoff its own "
                    "database, or its own schema with ?options=-csearch_path%3DSCHEMA in the URL."
                )
            migrate.upgrade_in(conn, db_path)
            conn.commit()
    except sa_exc.DBAPIError as err:
        raise location.translate(err.orig or err, db_path) from None


def _give_identity(db_path: location.Target, secretary: str) -> str:
    """The register's id, its creation record and its first secretary, in one transaction.

    On PostgreSQL the shared evidence folder is recorded too, so every later command, from any
    working folder, finds the same one.
    """
    from sqlalchemy import exc as sa_exc

    database_id = str(uuid.uuid4())
    now = clock.now_iso()
    shared = None if db_path.is_sqlite else location.shared_evidence_dir()
    detail: dict[str, object] = {"database_id": database_id, "schema": location.SCHEMA_HEAD}
    if shared is not None:
        detail["evidence_dir"] = str(shared)
    with UnitOfWork(db_path) as uow:
        uow.session.add(Meta(key="database_id", value=database_id))
        try:
            uow.session.flush()  # alone: a concurrent init's identity makes this one row clash
        except sa_exc.IntegrityError:
            raise BadInput(f"{db_path} is already a signoff register (another init finished first): use it.") from None
        uow.session.add(Meta(key="created_at", value=now))
        if shared is not None:
            uow.session.add(Meta(key=location.EVIDENCE_DIR_KEY, value=str(shared)))
        uow.session.add(User(name=secretary, roles=SECRETARY, created_at=now, created_by=secretary))
        uow.session.flush()
        uow.audit(
            actor=secretary,
            roles=SECRETARY,
            event="register.init",
            outcome="applied",
            detail=detail,
        )
        uow.audit(
            actor=secretary,
            roles=SECRETARY,
            event="user.add",
            outcome="applied",
            detail={"user": secretary, "roles": [SECRETARY]},
        )
        uow.commit()
    return database_id


def add_user(db_path: DbRef, actor_name: str, name: str, roles: list[str]) -> None:
    names.check_user_name(name)
    wanted = sorted(set(roles))
    if not wanted:
        raise BadInput(f"give {name} at least one role with --role ({', '.join(ROLES)}).")
    for role in wanted:
        if role not in ROLES:
            raise BadInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}.")

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["user.add"], "user add")
        if uow.session.exec(select(User).where(User.name == name)).first() is not None:
            raise BadInput(f"user {name!r} already exists: choose another name.")
        uow.session.add(User(name=name, roles=",".join(wanted), created_at=clock.now_iso(), created_by=actor.name))
        uow.session.flush()
        record_applied(
            uow,
            actor,
            "user.add",
            detail={"user": name, "roles": wanted},
        )

    in_unit_of_work(db_path, actor_name, "user.add", body)


def add_item(
    db_path: DbRef,
    actor_name: str,
    ref: str,
    kind: str,
    title: str,
    due: dt.date | None = None,
    owner: str | None = None,
) -> None:
    names.check_ref(ref)
    title = names.check_text(title, "title")
    owner = names.check_text(owner, "owner", required=False) or None
    wf = workflows.get(kind)

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["item.add"], "item add", ref)
        if uow.session.exec(select(Item).where(Item.ref == ref)).first() is not None:
            raise BadInput(f"item {ref!r} already exists: choose another ref.")
        now = clock.now_iso()
        due_text = due.isoformat() if due else None
        uow.session.add(
            Item(
                ref=ref,
                kind=kind,
                title=title,
                owner=owner,
                due=due_text,
                original_due=due_text,
                state=wf.initial,
                created_at=now,
                last_transition_at=now,
            )
        )
        uow.session.flush()
        record_applied(
            uow,
            actor,
            "item.add",
            item_ref=ref,
            to_state=wf.initial,
            workflow_hash=wf.digest,
            detail={"kind": kind, "title": title, "due": due_text, "owner": owner},
        )

    in_unit_of_work(db_path, actor_name, "item.add", body, item_ref=ref)
