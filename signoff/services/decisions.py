"""Signed decisions: the statement a chair signs, and checking a signature when it is recorded.

Online, ``fire_signed`` builds the statement from a read snapshot, has it signed (a key file read
in-process, or ssh-keygen with an agent) and only then opens the write transaction, where
``fire_event`` re-checks the statement against the item as it stands. Offline, the secretary writes
the statement with ``statement_for``; the chair signs it with plain ``ssh-keygen -Y sign`` and the
secretary records the signature, the decision then being the key owner's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from signoff import clock
from signoff.domain import names
from signoff.domain.decision import DecisionStatement, build_statement, parse_statement
from signoff.domain.roles import REGISTER_ACTIONS, SECRETARY
from signoff.domain.signed import DecisionFacts, SignedStatement, check_statement, refusal
from signoff.errors import BadInput, NotFound, Refused
from signoff.store.location import DbRef
from signoff.store.reader import Reader

SIGN_HOW = (
    "sign it: 'signoff {event} {ref} … --key ~/.ssh/id_ed25519' (or set SIGNOFF_KEY), or offline have the "
    "secretary write 'signoff decision statement {ref} {event} … -o FILE', sign FILE with "
    "'ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n signoff-decision FILE' and record it with --signature FILE.sig"
)


def statement_for(
    db_path: DbRef,
    ref: str,
    event: str,
    *,
    signer: str,
    meeting: dt.date | None = None,
    reason: str | None = None,
    override_reason: str | None = None,
) -> DecisionStatement:
    """The statement ``signer`` signs to fire ``event`` on ``ref`` now, from one read snapshot."""
    names.check_ref(ref)
    with Reader(db_path) as r:
        register = r.meta("database_id")
        item = r.one("SELECT id, title FROM items WHERE ref = ?", (ref,))
        if item is None:
            raise NotFound(f"unknown item {ref!r}: see 'signoff item list' for the register's refs.")
        latest = r.one(
            "SELECT bundle_digest FROM submissions WHERE item_id = ? ORDER BY id DESC LIMIT 1", (item["id"],)
        )
        if r.one("SELECT name FROM users WHERE name = ?", (signer,)) is None:
            raise NotFound(f"unknown user {signer!r}: see 'signoff user list' for the register's users.")
    return build_statement(
        register=str(register),
        item=ref,
        title=item["title"],
        event=event,
        actor=signer,
        time=clock.now(),
        meeting=meeting,
        bundle=latest["bundle_digest"] if latest else None,
        reason=reason,
        override_reason=override_reason,
    )


def only_signer(db_path: DbRef, roles: frozenset[str]) -> str:
    """The one user holding one of ``roles`` with a current key, for a statement written for them."""
    with Reader(db_path) as r:
        rows = r.all(
            "SELECT DISTINCT u.name, u.roles FROM users u JOIN user_keys k ON k.user_name = u.name"
            " WHERE k.revoked_at IS NULL ORDER BY u.name"
        )
    found = [row["name"] for row in rows if set(row["roles"].split(",")) & roles]
    if len(found) != 1:
        who = f"{len(found)} users ({', '.join(found)})" if found else "no user"
        raise BadInput(f"{who} may sign this with a registered key: name the one who signs with --signer NAME.")
    return found[0]


def write_statement(
    db_path: DbRef,
    actor_name: str,
    ref: str,
    event: str,
    *,
    signer: str | None,
    meeting: dt.date | None,
    reason: str | None,
    override_reason: str | None,
) -> DecisionStatement:
    """The secretary's offline statement for a chair who signs with plain ssh-keygen."""
    from signoff.services.views import user_detail

    roles = set(user_detail(db_path, actor_name)["roles"])
    if not roles & REGISTER_ACTIONS["decision.statement"]:
        raise Refused(
            "decision statement refused: permission: it needs the role secretary",
            ["permission: decision statement needs the role secretary"],
        )
    with Reader(db_path) as r:
        kind = r.one("SELECT kind FROM items WHERE ref = ?", (ref,))
        rules = r.rules()
    if kind is None:
        raise NotFound(f"unknown item {ref!r}: see 'signoff item list' for the register's refs.")
    if signer is None:
        wf = rules.get(kind["kind"])
        ev = wf.events.get(event)
        if ev is None:
            raise NotFound(f"{event!r} is not an event of {kind['kind']}: use one of {', '.join(wf.events)}.")
        signer = only_signer(db_path, ev.roles)
    return statement_for(
        db_path,
        ref,
        event,
        signer=signer,
        meeting=meeting,
        reason=names.check_text(reason, "reason", required=False) or None,
        override_reason=names.check_text(override_reason, "override reason", required=False) or None,
    )


def fire_signed(
    db_path: DbRef,
    actor_name: str,
    ref: str,
    event: str,
    sign: Callable[[bytes], str],
    **kwargs: Any,
) -> str:
    """Build the statement, have ``sign`` sign its bytes (before any lock is taken), then fire."""
    from signoff.services.events import fire_event

    statement = statement_for(
        db_path,
        ref,
        event,
        signer=actor_name,
        meeting=kwargs.get("meeting"),
        reason=names.check_text(kwargs.get("reason"), "reason", required=False) or None,
        override_reason=names.check_text(kwargs.get("override_reason"), "override reason", required=False) or None,
    )
    data = statement.encode()
    return fire_event(db_path, actor_name, ref, event, signed=SignedStatement(data, sign(data)), **kwargs)


# -- inside the write transaction (called by services.events) -------------------------------------


def read_signed(signed: SignedStatement) -> DecisionStatement:
    """The statement of a signed decision; refuses text that is not a canonical statement (exit 2)."""
    return parse_statement(signed.statement, "the signed statement")


def signer_key(uow: Any, signed: SignedStatement) -> tuple[Any, Any, Refused | None]:
    """The parsed signature, the registered unrevoked key row that made it, and, when there is no
    such key, the refusal to raise once permissions and guards have had their say."""
    from sqlmodel import select

    from signoff.domain import sshsig
    from signoff.store.tables import UserKey

    signature = sshsig.parse(signed.signature, "the signature")
    rows = uow.session.exec(select(UserKey).where(UserKey.fingerprint == signature.fingerprint)).all()
    current = [row for row in rows if row.revoked_at is None]
    if current:
        return signature, current[0], None
    if rows:
        return (
            signature,
            None,
            refusal(
                f"the key {signature.fingerprint} that signed was revoked at {rows[0].revoked_at} "
                f"({rows[0].revoke_reason}); sign with {rows[0].user_name}'s current key"
            ),
        )
    return (
        signature,
        None,
        refusal(
            f"the key {signature.fingerprint} that signed is not registered to any user; "
            "the secretary registers it with 'signoff user key add NAME --public-key FILE'"
        ),
    )


def require_recorder(actor_roles: frozenset[str], actor: str, owner: str) -> None:
    """Only a secretary records a decision signed by someone else."""
    if SECRETARY not in actor_roles:
        raise refusal(
            f"the signature was made with {owner}'s key, not {actor}'s; only a secretary records a decision "
            "signed by another user"
        )


def unsigned(event: str, ref: str) -> Refused:
    return refusal(f"{event} is a signed decision and no signature was given; " + SIGN_HOW.format(event=event, ref=ref))


def check_signature(
    signed: SignedStatement, signature: Any, key_row: Any, statement: DecisionStatement, facts: DecisionFacts
) -> None:
    """The signature is by the registered key over exactly these bytes; the statement fits the facts."""
    from signoff.domain import sshsig
    from signoff.domain.sshkeys import parse_public_key

    sshsig.check(signature, signed.statement, public_key=parse_public_key(key_row.key), source="the signature")
    check_statement(statement, facts)


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# -- what an inspector takes away (read path) -------------------------------------------------------


def allowed_signers(db_path: DbRef) -> str:
    """Every key the register ever registered, as an OpenSSH allowed_signers file."""
    from signoff.domain.signers import allowed_signers_line
    from signoff.domain.sshkeys import parse_public_key

    with Reader(db_path) as r:
        rows = r.all("SELECT user_name, key, registered_at, revoked_at FROM user_keys ORDER BY id")
    lines = [
        allowed_signers_line(
            row["user_name"],
            parse_public_key(row["key"], "a registered key"),
            when(row["registered_at"]),
            when(row["revoked_at"]) if row["revoked_at"] else None,
        )
        for row in rows
    ]
    return "".join(line + "\n" for line in lines)


def signed_record(db_path: DbRef, seq: int) -> dict[str, Any]:
    """The statement, signature, signer and time of the signed decision audit record ``seq``."""
    import json

    with Reader(db_path) as r:
        rec = r.one("SELECT seq, actor, event, item_ref, outcome, detail FROM audit WHERE seq = ?", (seq,))
    if rec is None:
        raise NotFound(f"there is no audit record {seq}: see 'signoff history REF' for an item's records.")
    detail = json.loads(rec["detail"])
    if rec["outcome"] != "applied" or "signature" not in detail:
        raise NotFound(
            f"audit record {seq} ({rec['event']} {rec['item_ref'] or ''}) is not a signed decision.".replace(" )", ")")
        )
    statement = parse_statement(detail["statement"].encode("utf-8"), f"the statement of record {seq}")
    return {
        "seq": seq,
        "actor": rec["actor"],
        "event": rec["event"],
        "item_ref": rec["item_ref"],
        "signer": detail["signer"],
        "statement": detail["statement"],
        "signature": detail["signature"],
        "signed_at": statement.time,
    }
