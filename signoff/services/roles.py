"""Least privilege on PostgreSQL: an owner role that runs migrations, a runtime role for everyone else.

The runtime role gets exactly what the engine does: it reads every table, appends to every
table, and updates only the rows the engine updates in place (items' state, due date, title and
owner, challenges' answers, matrix rows' dates, users' roles, meetings cancelled or moved), and
deletes only matrix rows that never had evidence. It owns nothing, so it cannot ALTER a table,
DISABLE TRIGGER, TRUNCATE, DELETE or UPDATE the audit log: the append-only promise then holds against the application's
own login, not only against mistakes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from signoff.domain.roles import SECRETARY
from signoff.errors import BadInput
from signoff.store import location

# The only tables whose rows the engine changes after inserting them: items and challenges
# (services/events.py, schedule.py, corrections.py), matrix rows and users (corrections.py,
# people.py), meetings (cancelled or moved, schedule.py), meta and rulesets (the chair adopting new
# rules, rules.py), user_keys (a key's revocation). Every other table is append-only for the runtime role.
UPDATED_TABLES = ("challenges", "items", "matrix_rows", "meetings", "meta", "rulesets", "user_keys", "users")
# The only table whose rows the engine deletes: a matrix row that never had evidence
# (services/corrections.py, 'matrix remove'); the deletion and its reason are in the chain.
DELETED_TABLES = ("matrix_rows",)
MIGRATIONS_TABLE = "alembic_version"
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SECRETARY_ONLY = frozenset({SECRETARY})


@dataclass(frozen=True)
class RolePlan:
    owner: str
    runtime: str
    schema: str
    setup: list[str]  # for a PostgreSQL administrator, once
    grants: list[str]  # for the owner, after init and after every upgrade


def _name(value: str, what: str) -> str:
    if not _ROLE_NAME.fullmatch(value):
        raise BadInput(
            f"{what} {value!r} is not a plain PostgreSQL name: use lower-case letters, digits and _ (e.g. signoff_app)."
        )
    return value


def table_names() -> list[str]:
    """Every table signoff defines, from the one set of table definitions."""
    from signoff.store.tables import metadata

    return sorted(metadata.tables)


def plan(owner: str, runtime: str, schema: str = "public", database: str = "DATABASE") -> RolePlan:
    owner, runtime, schema = _name(owner, "--owner"), _name(runtime, "--runtime"), _name(schema, "--schema")
    if owner == runtime:
        raise BadInput("the owner and the runtime role must be two roles: give --runtime another name.")
    tables = [t for t in table_names() if t != MIGRATIONS_TABLE]
    append_only = [t for t in tables if t not in UPDATED_TABLES]
    setup = [
        f"CREATE ROLE {owner} LOGIN;",
        f"CREATE ROLE {runtime} LOGIN;",
        f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner};"
        if schema != "public"
        else f'ALTER DATABASE "{database.replace(chr(34), chr(34) * 2)}" OWNER TO {owner};',
        f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC;",
    ]
    grants = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM PUBLIC, {runtime};",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM PUBLIC, {runtime};",
        f"GRANT USAGE ON SCHEMA {schema} TO {runtime};",
        f"GRANT SELECT ON {schema}.{MIGRATIONS_TABLE} TO {runtime};",
        f"GRANT SELECT, INSERT ON {', '.join(f'{schema}.{t}' for t in append_only)} TO {runtime};",
        f"GRANT SELECT, INSERT, UPDATE ON {', '.join(f'{schema}.{t}' for t in UPDATED_TABLES)} TO {runtime};",
        f"GRANT DELETE ON {', '.join(f'{schema}.{t}' for t in DELETED_TABLES)} TO {runtime};",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {runtime};",
    ]
    return RolePlan(owner, runtime, schema, setup, grants)


def apply(db: location.DbRef, actor_name: str, runtime: str) -> RolePlan:
    """Run the owner's grants on the register, as its owner, with a register.roles audit record."""
    from sqlalchemy import text

    from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
    from signoff.store.uow import UnitOfWork

    t = location.target(db)
    if t.is_sqlite:
        raise BadInput(
            "'db roles --apply' sets PostgreSQL privileges; a SQLite register is protected by its file's permissions."
        )

    def body(uow: UnitOfWork, actor: Actor) -> RolePlan:
        require_role(actor, SECRETARY_ONLY, "db roles --apply")
        session = uow.session
        me, schema = session.execute(text("SELECT current_user, current_schema()")).one()
        owner = session.execute(
            text("SELECT tableowner FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'audit'")
        ).scalar()
        if owner != me:
            raise BadInput(
                f"'db roles --apply' must run as the owner of the register's tables ({owner}), not {me}: "
                "connect as the owner in --db."
            )
        the_plan = plan(me, runtime, schema)
        if session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": runtime}).first() is None:
            raise BadInput(
                f"the role {runtime} does not exist: have an administrator run the first part of 'signoff db roles'."
            )
        for statement in the_plan.grants:
            session.execute(text(statement))
        record_applied(
            uow,
            actor,
            "register.roles",
            detail={"owner": me, "runtime": runtime, "schema": schema, "updates": list(UPDATED_TABLES)},
        )
        return the_plan

    return in_unit_of_work(t, actor_name, "register.roles", body)
