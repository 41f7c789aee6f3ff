"""Setting up the register: the database itself, its users, and items added one at a time."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from pathlib import Path

from signoff.domain import names
from signoff.domain.roles import REGISTER_ACTIONS, ROLES, SECRETARY
from signoff.engine import workflow as workflows
from signoff.errors import BadInput, SignoffError
from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
from signoff.store import location, migrate
from signoff.store.location import DbRef
from signoff.store.uow import UnitOfWork


def init_register(
    db: location.DbRef, secretary: str, workflows_dir: Path | None = None, max_evidence_mib: int | None = None
) -> str:
    """Create the database through the migrations, give it an id, pin its workflow rules (the shipped
    ones, or those in ``workflows_dir``) and add its first secretary.

    ``max_evidence_mib``: the largest evidence file the register takes (default 512 MiB), kept in meta."""
    secretary = names.check_user_name(secretary)
    if max_evidence_mib is not None and max_evidence_mib < 1:
        raise BadInput(f"--max-evidence-mib {max_evidence_mib} is not a size: give a whole number of MiB, 1 or more.")
    from signoff.services import rules as rule_sets
    from signoff.store.tables import Meta

    pinned_rules = rule_sets.load_folder(workflows_dir)  # a bad definition is refused before anything is written
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
    return _give_identity(db_path, secretary, pinned_rules, rule_sets.origin_of(workflows_dir), max_evidence_mib)


# The transaction-level advisory lock concurrent inits of one PostgreSQL database queue on.
INIT_LOCK = 0x5160F1


def _create_schema(db_path: location.Target) -> None:
    if db_path.path is not None:
        if db_path.path.exists() and db_path.path.stat().st_size > 0:
            raise BadInput(f"{db_path} exists and is not a signoff register: choose another path with --db.")
        made = _make_folder(db_path.path.parent)
        try:
            migrate.upgrade(db_path)
        except BaseException as err:
            for folder in made:  # nothing half-made stays behind: only the folders made here, and only if empty
                with contextlib.suppress(OSError):
                    folder.rmdir()
            if isinstance(err, SignoffError) or not isinstance(err, Exception):
                raise
            raise location.translate(err, db_path) from None  # an OS or driver error while creating the file
        return
    _create_server_schema(db_path)


def _make_folder(folder: Path) -> list[Path]:
    """Create the register's folder and any missing parents; return the ones made, deepest first."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    if not missing:
        if not folder.is_dir():
            raise BadInput(f"{folder} is a file, not a folder: choose another --db path.")
        return []
    try:
        folder.mkdir(parents=True)
    except OSError as err:
        raise BadInput(
            f"cannot create the folder {folder} ({err.strerror or err}): create it yourself or choose another --db path."
        ) from None
    return missing


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


def _give_identity(
    db_path: location.Target, secretary: str, rules: workflows.Rules, origin: str, max_evidence_mib: int | None
) -> str:
    """The register's id, its creation record, its rules and its first secretary, in one transaction.

    On PostgreSQL the shared evidence folder is recorded too, so every later command, from any
    working folder, finds the same one.
    """
    from sqlalchemy import exc as sa_exc

    from signoff.services import rules as rule_sets
    from signoff.store.tables import Meta, User

    database_id = str(uuid.uuid4())
    shared = None if db_path.is_sqlite else location.shared_evidence_dir()
    with UnitOfWork(db_path) as uow:
        now = uow.now
        uow.session.add(Meta(key="database_id", value=database_id))
        try:
            uow.session.flush()  # alone: a concurrent init's identity makes this one row clash
        except sa_exc.IntegrityError:
            raise BadInput(f"{db_path} is already a signoff register (another init finished first): use it.") from None
        uow.session.add(Meta(key="created_at", value=now))
        init_detail: dict[str, object] = {"database_id": database_id, "schema": location.SCHEMA_HEAD}
        if shared is not None:
            uow.session.add(Meta(key=location.EVIDENCE_DIR_KEY, value=str(shared)))
            init_detail["evidence_dir"] = str(shared)
        if max_evidence_mib is not None:
            uow.session.add(Meta(key="max_evidence_mib", value=str(max_evidence_mib)))
            init_detail["max_evidence_mib"] = max_evidence_mib
        uow.session.add(User(name=secretary, roles=SECRETARY, created_at=now, created_by=secretary))
        uow.session.flush()
        uow.audit(
            actor=secretary,
            roles=SECRETARY,
            event="register.init",
            outcome="applied",
            detail=init_detail,
            workflow_hash=rules.digest,
        )
        rule_sets.pin(uow, secretary, SECRETARY, rules, origin)
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
    name = names.check_user_name(name)
    wanted = sorted(set(roles))
    if not wanted:
        raise BadInput(f"give {name} at least one role with --role ({', '.join(ROLES)}).")
    for role in wanted:
        if role not in ROLES:
            raise BadInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}.")

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["user.add"], "user add")
        everyone = [n for (n,) in uow.rows("SELECT name FROM users ORDER BY id")]
        if name in everyone:
            raise BadInput(f"user {name!r} already exists: choose another name.")
        folded = names.name_fold(name)
        for existing in everyone:
            if names.name_fold(existing) == folded:
                raise BadInput(
                    f"user {name!r} would look like the existing user {existing!r} (names are compared "
                    "ignoring case and look-alike characters): use that user, or choose a distinct name."
                )
        uow.insert("users", {"name": name, "roles": ",".join(wanted), "created_at": uow.now, "created_by": actor.name})
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
    ref = names.check_ref(ref)
    title = names.check_text(title, "title")
    owner = names.check_text(owner, "owner", required=False) or None

    from sqlmodel import select

    from signoff.store.tables import Item

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["item.add"], "item add", ref)
        wf = uow.rules().get(kind)
        if uow.session.exec(select(Item).where(Item.ref == ref)).first() is not None:
            raise BadInput(f"item {ref!r} already exists: choose another ref.")
        now = uow.now
        due_text = due.isoformat() if due else None
        owner_text = owner_name(uow, owner)
        uow.session.add(
            Item(
                ref=ref,
                kind=kind,
                title=title,
                owner=owner_text,
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
            detail={"kind": kind, "title": title, "due": due_text, "owner": owner_text},
        )

    in_unit_of_work(db_path, actor_name, "item.add", body, item_ref=ref)


def owner_name(uow: UnitOfWork, owner: str | None) -> str | None:
    """An owner is a registered user when one matches (names compared folded: 'DCS' is user 'dcs'), so
    `todo` and `item list --owner` find their work; otherwise the owner stays free text as typed."""
    if owner is None:
        return None
    from sqlmodel import select

    from signoff.store.tables import User

    wanted = names.name_fold(owner)
    for name in uow.session.exec(select(User.name)):
        if names.name_fold(name) == wanted:
            return name
    return owner
