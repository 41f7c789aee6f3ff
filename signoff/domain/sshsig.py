"""OpenSSH signatures (``PROTOCOL.sshsig``): what ``ssh-keygen -Y sign`` writes and ``-Y verify`` checks.

A signature signs not the message but a small envelope around its hash, which binds the
signature to a *namespace* so a decision signature can never be replayed as, say, a git commit
signature:

    signed data = "SSHSIG" string(namespace) string("") string(hash name) string(H(message))
    signature   = "SSHSIG" uint32(1) string(public key blob) string(namespace) string("")
                  string(hash name) string(string("ssh-ed25519") string(64-byte Ed25519 signature))

armored as base64 in 70-character lines between ``-----BEGIN SSH SIGNATURE-----`` and
``-----END SSH SIGNATURE-----``, exactly as ssh-keygen writes it. We sign with sha512, ssh-keygen's
default; we verify sha512 and sha256, the two it can produce.

Refusals are split by what the user must do: ``BadSignature`` (exit 2) when the file is not a
usable signature at all (garbled, truncated, not a signature), ``SignatureRefused`` (exit 3) when
it is a well-formed signature that does not sign this statement with this key for this purpose.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from signoff.domain.sshkeys import ED25519, KeyMismatch, PublicKey, SigningKey, key_from_blob
from signoff.domain.sshwire import Truncated, WireReader, string, uint32
from signoff.errors import BadInput, Refused

NAMESPACE = "signoff-decision"
MAGIC = b"SSHSIG"
VERSION = 1
HASHES: dict[str, Callable[[bytes], bytes]] = {
    "sha512": lambda data: hashlib.sha512(data).digest(),
    "sha256": lambda data: hashlib.sha256(data).digest(),
}
DEFAULT_HASH = "sha512"
BEGIN = "-----BEGIN SSH SIGNATURE-----"
END = "-----END SSH SIGNATURE-----"
_LINE = 70  # ssh-keygen wraps the base64 at 70 characters
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class BadSignature(BadInput):
    """The signature file is garbled, truncated or not an SSH signature."""


class SignatureRefused(Refused):
    """A well-formed signature that does not sign this message, in this namespace, with this key."""


class WrongKey(SignatureRefused, KeyMismatch):
    """The signature was made with a key other than the one it must be made with."""


@dataclass(frozen=True)
class SshSignature:
    """A parsed SSHSIG signature. ``public_key`` is the key that claims to have made it."""

    public_key: PublicKey
    namespace: str
    hash_algorithm: str
    signature: bytes

    @property
    def fingerprint(self) -> str:
        return self.public_key.fingerprint


def signed_data(message: bytes, namespace: str = NAMESPACE, hash_algorithm: str = DEFAULT_HASH) -> bytes:
    """The envelope the key actually signs (PROTOCOL.sshsig, "Signed Data")."""
    digest = HASHES[hash_algorithm](message)
    return (
        MAGIC
        + string(namespace.encode("utf-8"))
        + string(b"")
        + string(hash_algorithm.encode("ascii"))
        + string(digest)
    )


def encode(sig: SshSignature) -> bytes:
    inner = string(ED25519.encode("ascii")) + string(sig.signature)
    return (
        MAGIC
        + uint32(VERSION)
        + string(sig.public_key.blob)
        + string(sig.namespace.encode("utf-8"))
        + string(b"")
        + string(sig.hash_algorithm.encode("ascii"))
        + string(inner)
    )


def armor(blob: bytes) -> str:
    text = base64.b64encode(blob).decode("ascii")
    lines = [text[i : i + _LINE] for i in range(0, len(text), _LINE)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def sign(key: SigningKey, message: bytes, namespace: str = NAMESPACE) -> str:
    """An armored signature of ``message``, in the form ``ssh-keygen -Y sign -n NAMESPACE`` writes."""
    raw = key.sign(signed_data(message, namespace, DEFAULT_HASH))  # pragma: no mutate (DEFAULT_HASH is the default)
    return armor(encode(SshSignature(key.public, namespace, DEFAULT_HASH, raw)))


def parse(armored: str | bytes, source: str = "the signature") -> SshSignature:
    """Read an armored signature without checking it; every structural problem is a BadSignature."""
    if isinstance(armored, bytes):
        try:
            armored = armored.decode("ascii")
        except UnicodeDecodeError:
            raise BadSignature(
                f"{source} is garbled (it is not text): use the .sig file exactly as ssh-keygen wrote it."
            ) from None
    # Windows mail clients and editors may have turned LF into CRLF; the signed bytes are inside, unaffected.
    lines = [line.strip() for line in armored.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines or lines[0] != BEGIN:
        raise BadSignature(
            f"{source} is not an SSH signature (it should begin '{BEGIN}'): give the .sig file made by ssh-keygen -Y sign."
        )
    if END not in lines:
        raise BadSignature(f"{source} is truncated (no '{END}' line): use the whole .sig file as ssh-keygen wrote it.")
    end = lines.index(END)
    if end != len(lines) - 1:
        raise BadSignature(f"{source} has text after '{END}': use the .sig file exactly as ssh-keygen wrote it.")
    body = "".join(lines[1:end])
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        if _BASE64.fullmatch(body):  # every character is fine, the length is not: lines went missing
            raise BadSignature(
                f"{source} is truncated (part of its body is missing): use the whole .sig file as ssh-keygen wrote it."
            ) from None
        raise BadSignature(
            f"{source} is garbled (its body is not base64): use the .sig file exactly as ssh-keygen wrote it."
        ) from None
    try:
        return _decode(blob, source)
    except Truncated:
        raise BadSignature(f"{source} is truncated: use the whole .sig file as ssh-keygen wrote it.") from None


def _decode(blob: bytes, source: str) -> SshSignature:
    reader = WireReader(blob)
    if reader.raw(len(MAGIC)) != MAGIC:
        raise BadSignature(f"{source} is garbled (no SSHSIG header): use the .sig file exactly as ssh-keygen wrote it.")
    version = reader.uint32()
    if version != VERSION:
        raise BadSignature(
            f"{source} is SSHSIG version {version}; signoff reads version {VERSION}: sign again with ssh-keygen -Y sign."
        )
    key_blob = reader.string()
    namespace = reader.text()
    reader.string()  # reserved; ssh-keygen ignores its content, and so do we
    hash_algorithm = reader.text()
    inner = WireReader(reader.string())
    if reader.remaining:
        raise BadSignature(
            f"{source} is garbled (extra data after the signature): use the .sig file exactly as ssh-keygen wrote it."
        )
    try:
        public_key = key_from_blob(key_blob)
    except ValueError as exc:
        raise BadSignature(
            f"{source} cannot be used: {exc}; sign with an Ed25519 key (ssh-keygen -t ed25519)."
        ) from None
    if hash_algorithm not in HASHES:
        raise BadSignature(
            f"{source} uses the hash {hash_algorithm!r}; signoff accepts sha512 and sha256: sign again with ssh-keygen -Y sign."
        )
    algorithm = inner.text()
    raw = inner.string()
    if algorithm != ED25519 or len(raw) != 64 or inner.remaining:
        raise BadSignature(
            f"{source} is garbled (its {algorithm!r} signature does not match its Ed25519 key): sign again."
        )
    return SshSignature(public_key, namespace, hash_algorithm, raw)


def check(
    sig: SshSignature,
    message: bytes,
    namespace: str = NAMESPACE,
    public_key: PublicKey | None = None,
    source: str = "the signature",
) -> SshSignature:
    """Check a parsed signature: namespace, then the key it must be made with, then the mathematics."""
    if sig.namespace != namespace:
        raise SignatureRefused(
            f"{source} was made for the namespace {sig.namespace!r}, not {namespace!r}: sign again with -n {namespace}."
        )
    if public_key is not None and sig.public_key != public_key:
        raise WrongKey(
            f"{source} was made with the key {sig.fingerprint}, not the registered key {public_key.fingerprint}: "
            "sign with the registered key."
        )
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(sig.public_key.raw).verify(
            sig.signature, signed_data(message, sig.namespace, sig.hash_algorithm)
        )
    except InvalidSignature:
        raise SignatureRefused(
            f"{source} does not sign this statement: the statement was changed after signing, or the signature is for "
            "another one; sign the statement again."
        ) from None
    return sig


def verify(
    armored: str | bytes,
    message: bytes,
    namespace: str = NAMESPACE,
    public_key: PublicKey | None = None,
    source: str = "the signature",
) -> SshSignature:
    """Parse and check an armored signature of ``message``; return it, naming the key that made it.

    With ``public_key`` the signature must be made with that key. Without it, any Ed25519 key is
    accepted and the caller must decide whether the returned signer may sign (the offline flow
    finds the user by the key's fingerprint).
    """
    return check(parse(armored, source), message, namespace, public_key, source)
