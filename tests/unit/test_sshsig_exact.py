"""SSHSIG at the byte level and the exact refusals, without ssh-keygen (docs/MUTATION.md)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from signoff.domain import sshsig
from signoff.domain.sshkeys import SigningKey, load_private_key
from signoff.domain.sshsig import BadSignature, SignatureRefused, SshSignature, WrongKey
from signoff.domain.sshwire import string

MESSAGE = b"signoff decision v1\nitem: OF-02\n"


def new_key() -> SigningKey:
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
    return load_private_key(pem)


@pytest.fixture(scope="module")
def chair() -> SigningKey:
    return new_key()


def test_the_signed_envelope_is_the_one_in_openssh_protocol_sshsig() -> None:
    expected = (
        b"SSHSIG"
        + b"\x00\x00\x00\x02ns"
        + b"\x00\x00\x00\x00"
        + b"\x00\x00\x00\x06sha256"
        + b"\x00\x00\x00\x20"
        + hashlib.sha256(b"msg").digest()
    )
    assert sshsig.signed_data(b"msg", "ns", "sha256") == expected


def test_a_signature_of_the_wrong_length_is_garbled(chair: SigningKey) -> None:
    short = SshSignature(chair.public, sshsig.NAMESPACE, "sha512", b"x" * 63)
    with pytest.raises(BadSignature) as info:
        sshsig.parse(sshsig.armor(sshsig.encode(short)), "OF-02.sig")
    assert str(info.value) == (
        "OF-02.sig is garbled (its 'ssh-ed25519' signature does not match its Ed25519 key): sign again."
    )


def test_refusals_name_the_signature_and_say_what_to_do(chair: SigningKey) -> None:
    armored = sshsig.sign(chair, MESSAGE)
    with pytest.raises(SignatureRefused) as info:
        sshsig.verify(armored, MESSAGE, namespace="other")
    assert str(info.value) == (
        "the signature was made for the namespace 'signoff-decision', not 'other': sign again with -n other."
    )
    with pytest.raises(SignatureRefused) as info:
        sshsig.verify(armored, MESSAGE, namespace="other", source="OF-02.sig")
    assert str(info.value).startswith("OF-02.sig was made for the namespace")
    sig = sshsig.parse(armored)
    with pytest.raises(SignatureRefused) as info:
        sshsig.check(sig, MESSAGE, namespace="other")
    assert str(info.value).startswith("the signature was made for the namespace")
    other = new_key().public
    with pytest.raises(WrongKey) as info:
        sshsig.verify(armored, MESSAGE, public_key=other)
    assert str(info.value) == (
        f"the signature was made with the key {chair.public.fingerprint}, not the registered key "
        f"{other.fingerprint}: sign with the registered key."
    )
    with pytest.raises(SignatureRefused) as info:
        sshsig.verify(armored, MESSAGE + b"x", public_key=chair.public)
    assert str(info.value) == (
        "the signature does not sign this statement: the statement was changed after signing, or the signature "
        "is for another one; sign the statement again."
    )


def test_a_signature_names_the_key_that_made_it(chair: SigningKey) -> None:
    sig = sshsig.verify(sshsig.sign(chair, MESSAGE), MESSAGE)
    assert sig.fingerprint == chair.public.fingerprint
    assert (sig.namespace, sig.hash_algorithm, len(sig.signature)) == (sshsig.NAMESPACE, "sha512", 64)
    assert string(b"") == b"\x00\x00\x00\x00"


def test_a_signature_is_read_with_its_default_name_and_its_body_must_be_strict_base64(chair: SigningKey) -> None:
    with pytest.raises(BadSignature) as info:
        sshsig.parse("not a signature")
    assert str(info.value).startswith("the signature is not an SSH signature (it should begin '-----BEGIN")
    lines = sshsig.sign(chair, MESSAGE).splitlines()
    lines[1] = lines[1][:10] + "!!!!" + lines[1][10:]
    with pytest.raises(BadSignature) as info:
        sshsig.parse("\n".join(lines), "OF-02.sig")
    assert str(info.value) == (
        "OF-02.sig is garbled (its body is not base64): use the .sig file exactly as ssh-keygen wrote it."
    )
