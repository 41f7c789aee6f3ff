"""Signing in tests: every test user has a fixed Ed25519 key derived from their name.

The fixtures register the chair's key; ``fire_event`` here is the service's, signing the decisions
a workflow declares signed with the actor's key when that key is registered, so tests that walk
items through the board stay as they read. Tests of signing itself call the services directly.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from signoff.domain import sshsig
from signoff.domain.sshkeys import PublicKey, SigningKey, ed25519_blob
from signoff.services import events
from signoff.services.decisions import fire_signed
from signoff.services.keys import add_key
from signoff.store.location import DbRef
from signoff.store.reader import Reader

SIGNED_EVENTS = ("approve", "reopen")


@cache
def user_key(name: str) -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"signoff test key:{name}".encode()).digest())
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return SigningKey(PublicKey(ed25519_blob(raw), f"{name}@test"), private)


def key_file(folder: Path, name: str) -> Path:
    """The user's key as an OpenSSH private key file (and its .pub beside it)."""
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}_ed25519"
    if not path.exists():
        key = user_key(name)
        path.write_bytes(key._key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()))
        path.with_name(path.name + ".pub").write_text(key.public.line() + "\n")
    return path


def register_key(db: DbRef, name: str, by: str = "sec") -> str:
    return add_key(db, by, name, user_key(name).public)


def sign_as(name: str) -> Any:
    return lambda data: sshsig.sign(user_key(name), data)


def has_key(db: DbRef, name: str) -> bool:
    with Reader(db) as r:
        return (
            r.one(
                "SELECT id FROM user_keys WHERE user_name = ? AND fingerprint = ? AND revoked_at IS NULL",
                (name, user_key(name).public.fingerprint),
            )
            is not None
        )


def fire_event(db: DbRef, actor: str, ref: str, event: str, **kwargs: Any) -> str:
    """``services.events.fire_event``, signing approvals and re-openings with the actor's registered key."""
    if event in SIGNED_EVENTS and "signed" not in kwargs and has_key(db, actor):
        return fire_signed(db, actor, ref, event, sign_as(actor), **kwargs)
    return events.fire_event(db, actor, ref, event, **kwargs)
