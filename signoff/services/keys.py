"""Users' signing keys: the secretary registers a chair's OpenSSH public key, and revokes it.

A key is registered once, to one user; revoking it ends it (signatures made with it earlier still
verify). Both are audited with the key line and fingerprint, so the chain alone says which key
spoke for whom at every point.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlmodel import select

from signoff.domain import names
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.domain.signers import principal
from signoff.domain.sshkeys import PublicKey, parse_public_key
from signoff.errors import BadInput, NotFound
from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
from signoff.store.location import DbRef
from signoff.store.tables import User, UserKey
from signoff.store.uow import UnitOfWork


def read_public_key(file: Path) -> PublicKey:
    source = f"the public key file {file}"
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"cannot read {source} ({getattr(exc, 'strerror', None) or exc}): give the .pub file made by ssh-keygen."
        ) from None
    return parse_public_key(text, source)


def signer_from_file(key_file: Path, passphrase: Callable[[], str] | None) -> Callable[[bytes], str]:
    """How to sign with ``key_file``: a private key read in-process (``passphrase`` asks for its
    passphrase when it is encrypted), or, for a ``.pub`` file, ssh-keygen and the agent holding it."""

    def sign(data: bytes) -> str:
        from signoff.domain import sshsig
        from signoff.domain.sshkeys import load_private_key, private_key_is_encrypted

        if key_file.suffix == ".pub":
            from signoff.sshkeygen import sign_with_ssh_keygen

            return sign_with_ssh_keygen(key_file, data)[0]
        source = f"the key file {key_file}"
        try:
            raw = key_file.read_bytes()
        except OSError as exc:
            raise BadInput(
                f"cannot read {source} ({exc.strerror or exc}): give your private key file, e.g. ~/.ssh/id_ed25519."
            ) from None
        secret = None
        if private_key_is_encrypted(raw, source):
            if passphrase is None:
                raise BadInput(
                    f"{source} is protected by a passphrase and there is no terminal to type it: run the command on a "
                    f"terminal, or add the key to ssh-agent (ssh-add) and pass --key {key_file}.pub."
                )
            secret = passphrase()
        return sshsig.sign(load_private_key(raw, secret, source), data)

    return sign


def generate_key_file(path: Path, comment: str) -> PublicKey:
    """Make an unencrypted Ed25519 key pair as ``ssh-keygen -t ed25519 -N ''`` would: ``path`` and
    ``path.pub`` (for the demo; a chair makes theirs with ssh-keygen and a passphrase)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    private = Ed25519PrivateKey.generate()
    path.write_bytes(private.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()))
    path.chmod(0o600)
    line = private.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode("ascii")
    path.with_name(path.name + ".pub").write_text(f"{line} {comment}\n", encoding="utf-8")
    return parse_public_key(f"{line} {comment}", f"the new key {path}.pub")


def add_key(db_path: DbRef, actor_name: str, name: str, key: PublicKey) -> str:
    """Register ``key`` for user ``name``; return its fingerprint."""
    names.check_user_name(name)
    principal(name)  # a name an allowed_signers file cannot hold could never be checked with OpenSSH

    def body(uow: UnitOfWork, actor: Actor) -> str:
        require_role(actor, REGISTER_ACTIONS["user.key.add"], "user key add")
        if uow.session.exec(select(User).where(User.name == name)).first() is None:
            raise NotFound(f"unknown user {name!r}: add them with 'signoff user add' before registering their key.")
        existing = uow.session.exec(select(UserKey).where(UserKey.fingerprint == key.fingerprint)).first()
        if existing is not None:
            if existing.revoked_at is not None:
                raise BadInput(
                    f"the key {key.fingerprint} was registered to {existing.user_name} and revoked: "
                    "a revoked key is never registered again; make a new key with 'ssh-keygen -t ed25519'."
                )
            raise BadInput(f"the key {key.fingerprint} is already registered to {existing.user_name}.")
        row = UserKey(
            user_name=name,
            key=key.openssh,
            fingerprint=key.fingerprint,
            registered_at=uow.now,
            registered_by=actor.name,
        )
        uow.session.add(row)
        uow.session.flush()
        record_applied(
            uow,
            actor,
            "user.key.add",
            detail={"user": name, "key_id": row.id, "key": key.openssh, "fingerprint": key.fingerprint},
        )
        return key.fingerprint

    return in_unit_of_work(db_path, actor_name, "user.key.add", body)


def revoke_key(db_path: DbRef, actor_name: str, name: str, fingerprint: str, reason: str) -> None:
    """Revoke user ``name``'s key ``fingerprint``: from now on it signs nothing."""
    names.check_user_name(name)
    reason = names.check_text(reason, "reason")

    def body(uow: UnitOfWork, actor: Actor) -> None:
        require_role(actor, REGISTER_ACTIONS["user.key.revoke"], "user key revoke")
        row = uow.session.exec(
            select(UserKey).where(UserKey.user_name == name, UserKey.fingerprint == fingerprint)
        ).first()
        if row is None:
            raise NotFound(
                f"{name} has no key {fingerprint}: see 'signoff user show {name}' for their keys' fingerprints."
            )
        if row.revoked_at is not None:
            raise BadInput(f"{name}'s key {fingerprint} was already revoked at {row.revoked_at}.")
        row.revoked_at = uow.now
        row.revoked_by = actor.name
        row.revoke_reason = reason
        uow.session.add(row)
        uow.session.flush()
        record_applied(
            uow,
            actor,
            "user.key.revoke",
            detail={"user": name, "key_id": row.id, "fingerprint": fingerprint, "reason": reason},
        )

    in_unit_of_work(db_path, actor_name, "user.key.revoke", body)
