"""OpenSSH keys for signed decisions: read a public key line, fingerprint it, load a private key.

Only Ed25519 is accepted. It is what ``ssh-keygen -t ed25519`` makes on Windows, macOS and Linux,
it has one encoding and one signature algorithm, and signing and verifying it are complete here;
RSA (three signature hashes, weak sizes), ECDSA and security-key types are refused by name rather
than half-supported.

Fingerprints are computed exactly as ``ssh-keygen -lf`` prints them, so a chair can read theirs
aloud into the minutes and anyone can compare it with their own key. ``cryptography`` is imported
only inside the functions that need it: reading and fingerprinting a public key needs none.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from typing import Any

from signoff.domain import names
from signoff.domain.sshwire import Truncated, WireReader, string
from signoff.errors import BadInput, Refused

ED25519 = "ssh-ed25519"
_ED25519_LEN = 32

# Key types a user may well hand us, named so the refusal says what they gave.
_OTHER_TYPES = {
    "ssh-rsa": "an RSA key",
    "ssh-dss": "a DSA key",
    "ecdsa-sha2-nistp256": "an ECDSA key",
    "ecdsa-sha2-nistp384": "an ECDSA key",
    "ecdsa-sha2-nistp521": "an ECDSA key",
    "sk-ssh-ed25519@openssh.com": "a security-key (ed25519-sk) key",
    "sk-ecdsa-sha2-nistp256@openssh.com": "a security-key (ecdsa-sk) key",
}
_MAKE_ONE = "make an Ed25519 key with 'ssh-keygen -t ed25519'"


class KeyMismatch(Refused):
    """A private key, or a signature, belongs to a different key from the one registered."""


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key. Two keys are equal when their key bytes are; the comment is a label."""

    blob: bytes
    comment: str = field(default="", compare=False)

    @property
    def algorithm(self) -> str:
        return ED25519

    @property
    def raw(self) -> bytes:
        """The 32 key bytes, as ``cryptography`` wants them."""
        return self.blob[-_ED25519_LEN:]

    @property
    def fingerprint(self) -> str:
        """``SHA256:`` and the unpadded base64 of the SHA-256 of the key blob, as ``ssh-keygen -lf`` prints."""
        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    @property
    def openssh(self) -> str:
        """``ssh-ed25519 AAAA…`` without the comment: the form allowed_signers files and the chain use."""
        return f"{ED25519} {base64.b64encode(self.blob).decode('ascii')}"

    def line(self) -> str:
        """The key as a ``.pub`` file line, comment included."""
        return f"{self.openssh} {self.comment}" if self.comment else self.openssh


def ed25519_blob(raw: bytes) -> bytes:
    return string(ED25519.encode("ascii")) + string(raw)


def key_from_blob(blob: bytes) -> PublicKey:
    """The key in an SSH wire blob. Raises ValueError saying what is wrong (callers name the source)."""
    reader = WireReader(blob)
    try:
        algorithm = reader.text()
        if algorithm != ED25519:
            raise ValueError(f"it holds {_OTHER_TYPES.get(algorithm, repr(algorithm) + ' key')}, not an Ed25519 key")
        raw = reader.string()
    except Truncated:
        raise ValueError("the key data is truncated") from None
    if len(raw) != _ED25519_LEN or reader.remaining:
        raise ValueError("the key data has the wrong length for an Ed25519 key")
    return PublicKey(blob)


def parse_public_key(text: str, source: str = "the public key") -> PublicKey:
    """Read one OpenSSH public key line (the content of an ``id_ed25519.pub`` file).

    ``source`` names where the text came from ("the file chair.pub") in the one-sentence refusals.
    """
    stripped = text.strip()
    if not stripped:
        raise BadInput(f"{source} is empty: give the .pub file made by ssh-keygen, e.g. ~/.ssh/id_ed25519.pub.")
    if stripped.startswith("-----BEGIN"):
        raise BadInput(
            f"{source} is a private key or not in OpenSSH format: give the public key, the .pub file next to it."
        )
    if "\n" in stripped or "\r" in stripped:
        raise BadInput(f"{source} holds more than one line: give exactly one key, one 'ssh-ed25519 AAAA…' line.")
    parts = stripped.split(None, 2)
    algorithm = parts[0]
    if algorithm != ED25519:
        if algorithm in _OTHER_TYPES or algorithm.endswith("-cert-v01@openssh.com"):
            what = _OTHER_TYPES.get(algorithm, "an SSH certificate")
            raise BadInput(
                f"{source} is {what}; signoff accepts only Ed25519 keys: {_MAKE_ONE} and give its .pub file."
            )
        raise BadInput(
            f"{source} is not an OpenSSH public key line ('ssh-ed25519 AAAA… comment'): {_MAKE_ONE} and give its .pub file."
        )
    if len(parts) < 2:
        raise BadInput(f"{source} has no key data after 'ssh-ed25519': copy the whole line from the .pub file.")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(f"{source} has damaged key data (not base64): copy the whole line from the .pub file.") from None
    try:
        key = key_from_blob(blob)
    except ValueError as exc:
        raise BadInput(f"{source} is damaged: {exc}; copy the whole line from the .pub file.") from None
    comment = parts[2].strip() if len(parts) == 3 else ""
    if names.has_control(comment):
        raise BadInput(f"{source} has control characters in its comment: remove them or drop the comment.")
    return PublicKey(key.blob, comment)


# --- private keys ------------------------------------------------------------------------------

_PRIVATE_BEGIN = b"-----BEGIN OPENSSH PRIVATE KEY-----"
_PRIVATE_END = b"-----END OPENSSH PRIVATE KEY-----"
_PRIVATE_MAGIC = b"openssh-key-v1\x00"


def _private_kind(key: object) -> str:
    """What a private key other than Ed25519 is, in words (by class, whatever the backend calls it)."""
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

    for cls, kind in (
        (rsa.RSAPrivateKey, "an RSA key"),
        (ec.EllipticCurvePrivateKey, "an ECDSA key"),
        (dsa.DSAPrivateKey, "a DSA key"),
    ):
        if isinstance(key, cls):
            return kind
    return "a non-Ed25519 key"


@dataclass(frozen=True, eq=False)
class SigningKey:
    """An unlocked Ed25519 private key and its public half. Never printed, never stored."""

    public: PublicKey
    _key: Any = field(repr=False)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        signature: bytes = self._key.sign(data)
        return signature


def _not_private(source: str) -> BadInput:
    return BadInput(
        f"{source} is not an OpenSSH private key (it should begin '-----BEGIN OPENSSH PRIVATE KEY-----'): "
        "give the private key file made by ssh-keygen, e.g. ~/.ssh/id_ed25519."
    )


def private_key_is_encrypted(data: bytes, source: str = "the key file") -> bool:
    """Whether an OpenSSH private key file needs a passphrase, so the CLI knows to ask before loading."""
    text = data.strip()
    if text.startswith(b"ssh-"):
        raise BadInput(f"{source} is a public key: give the private key file, the one without .pub.")
    if not text.startswith(_PRIVATE_BEGIN) or not text.endswith(_PRIVATE_END):
        raise _not_private(source)
    body = text[len(_PRIVATE_BEGIN) : -len(_PRIVATE_END)]
    try:
        blob = base64.b64decode(b"".join(body.split()), validate=True)
        if not blob.startswith(_PRIVATE_MAGIC):
            raise ValueError("no openssh-key-v1 magic")
        cipher = WireReader(blob[len(_PRIVATE_MAGIC) :]).text()
    except (binascii.Error, ValueError):
        raise BadInput(f"{source} is damaged: it does not decode as an OpenSSH private key.") from None
    return cipher != "none"


def load_private_key(data: bytes, passphrase: str | bytes | None = None, source: str = "the key file") -> SigningKey:
    """Unlock an OpenSSH private key file. A passphrase given for an unencrypted key is ignored."""
    encrypted = private_key_is_encrypted(data, source)
    if encrypted and not passphrase:
        raise BadInput(f"{source} is protected by a passphrase: give the passphrase to unlock it.")
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")

    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_ssh_private_key

    try:
        key = load_ssh_private_key(data, passphrase if encrypted else None)
    except UnsupportedAlgorithm as exc:
        # The security-key types and unusual ciphers land here; so does a missing bcrypt module.
        raise BadInput(
            f"{source} uses something signoff cannot read in-process ({exc}): give an Ed25519 key file, "
            "or give its .pub file to sign through ssh-agent with ssh-keygen."
        ) from None
    except ValueError:
        if encrypted:
            raise BadInput(
                f"could not unlock {source} with that passphrase: check the passphrase and try again."
            ) from None
        raise BadInput(f"{source} is damaged: it does not decode as an OpenSSH private key.") from None
    if not isinstance(key, Ed25519PrivateKey):
        kind = _private_kind(key)
        raise BadInput(f"{source} holds {kind}; signoff accepts only Ed25519 keys: {_MAKE_ONE}.")
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return SigningKey(PublicKey(ed25519_blob(raw)), key)


def check_key_pair(key: SigningKey, registered: PublicKey, source: str = "the key file") -> None:
    """Refuse a private key that is not the half of the key registered for the user."""
    if key.public != registered:
        raise KeyMismatch(
            f"{source} holds the key {key.public.fingerprint}, not the registered key {registered.fingerprint}: "
            "sign with the registered key, or have the secretary register this one."
        )
