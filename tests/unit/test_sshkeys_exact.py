"""Public and private OpenSSH keys: every refusal word for word, and the edges of a key line."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from signing import key_file, user_key

from signoff.domain.sshkeys import (
    PublicKey,
    check_key_pair,
    ed25519_blob,
    key_from_blob,
    load_private_key,
    parse_public_key,
    private_key_is_encrypted,
)
from signoff.domain.sshwire import string
from signoff.errors import BadInput, Refused

KEY = user_key("chair").public
B64 = base64.b64encode(KEY.blob).decode("ascii")
REMEDY = "copy the whole line from the .pub file."


def refusal(text: str) -> str:
    with pytest.raises(BadInput) as caught:
        parse_public_key(text, "the file k.pub")
    return str(caught.value)


def test_a_key_line_with_and_without_a_comment() -> None:
    assert PublicKey(KEY.blob).line() == f"ssh-ed25519 {B64}"
    assert PublicKey(KEY.blob, "ann@laptop").line() == f"ssh-ed25519 {B64} ann@laptop"
    got = parse_public_key(f"  ssh-ed25519 {B64}  ann at  the laptop \n")
    assert got == KEY
    assert got.comment == "ann at  the laptop"
    assert parse_public_key(f"ssh-ed25519 {B64}").comment == ""
    assert parse_public_key(f"ssh-ed25519\t{B64}\tx y").line() == f"ssh-ed25519 {B64} x y"


@pytest.mark.parametrize(
    ("blob", "why"),
    [
        (string(b"ssh-rsa") + string(b"x"), "it holds an RSA key, not an Ed25519 key"),
        (string(b"ssh-foo") + string(b"x"), "it holds 'ssh-foo' key, not an Ed25519 key"),
        (string(b"ssh-ed25519") + b"\x00\x00", "the key data is truncated"),
        (string(b"ssh-ed25519") + string(b"x" * 31), "the key data has the wrong length for an Ed25519 key"),
        (ed25519_blob(b"x" * 32) + b"!", "the key data has the wrong length for an Ed25519 key"),
    ],
)
def test_a_damaged_blob_is_named(blob: bytes, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        key_from_blob(blob)
    assert str(caught.value) == why


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("  ", "the file k.pub is empty: give the .pub file made by ssh-keygen, e.g. ~/.ssh/id_ed25519.pub."),
        (f"ssh-ed25519 {B64}\rssh-ed25519 {B64}", "the file k.pub holds more than one line: give exactly one key,"
         " one 'ssh-ed25519 AAAA…' line."),
        (f"ssh-ed25519 {B64}\nx", "the file k.pub holds more than one line: give exactly one key, one 'ssh-ed25519"
         " AAAA…' line."),
        ("ssh-ed25519-cert-v01@openssh.com AAAA", "the file k.pub is an SSH certificate; signoff accepts only Ed25519"
         " keys: make an Ed25519 key with 'ssh-keygen -t ed25519' and give its .pub file."),
        ("ssh-rsa AAAA", "the file k.pub is an RSA key; signoff accepts only Ed25519 keys: make an Ed25519 key with"
         " 'ssh-keygen -t ed25519' and give its .pub file."),
        ("ssh-ed25519", f"the file k.pub has no key data after 'ssh-ed25519': {REMEDY}"),
        ("ssh-ed25519 AAAA!", f"the file k.pub has damaged key data (not base64): {REMEDY}"),
        ("ssh-ed25519 AAAA", f"the file k.pub is damaged: the key data is truncated; {REMEDY}"),
        (f"ssh-ed25519 {B64} a\x07b", "the file k.pub has control characters in its comment: remove them or drop"
         " the comment."),
    ],
)  # fmt: skip
def test_a_bad_key_line_is_refused_in_words(text: str, why: str) -> None:
    assert refusal(text) == why


def test_private_key_files() -> None:
    want = (
        "the key file is not an OpenSSH private key (it should begin '-----BEGIN OPENSSH PRIVATE KEY-----'): "
        "give the private key file made by ssh-keygen, e.g. ~/.ssh/id_ed25519."
    )
    with pytest.raises(BadInput) as caught:
        private_key_is_encrypted(b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
    assert str(caught.value) == want


def test_a_key_pair_that_does_not_match_is_refused_in_words() -> None:
    mine, other = user_key("chair"), user_key("member")
    check_key_pair(mine, mine.public)
    with pytest.raises(Refused) as caught:
        check_key_pair(mine, other.public, "the file id")
    assert str(caught.value) == (
        f"the file id holds the key {mine.public.fingerprint}, not the registered key {other.public.fingerprint}: "
        "sign with the registered key, or have the secretary register this one."
    )
    with pytest.raises(Refused) as caught:
        check_key_pair(mine, other.public)
    assert str(caught.value).startswith("the key file holds the key ")


NOT_PRIVATE = (
    "is not an OpenSSH private key (it should begin '-----BEGIN OPENSSH PRIVATE KEY-----'): "
    "give the private key file made by ssh-keygen, e.g. ~/.ssh/id_ed25519."
)
DAMAGED = "the file id is damaged: it does not decode as an OpenSSH private key."


def encrypted(data: bytes) -> bool:
    return private_key_is_encrypted(data, "the file id")


def not_readable(data: bytes) -> str:
    with pytest.raises(BadInput) as caught:
        encrypted(data)
    return str(caught.value)


def test_a_private_key_file_is_read_whole(tmp_path: Path) -> None:
    data = key_file(tmp_path, "chair").read_bytes()
    assert data.count(b"\n") > 3  # the body is wrapped over several lines
    assert encrypted(data) is False
    assert encrypted(b"  " + data + b"\n\n") is False
    assert load_private_key(data).public == user_key("chair").public
    assert load_private_key(data, "ignored for a key without one").public == user_key("chair").public
    begin, _, rest = data.partition(b"\n")
    assert not_readable(begin + b"\n!" + rest) == DAMAGED  # not base64, even where the rest is
    assert not_readable(data.replace(b"-----END OPENSSH PRIVATE KEY-----", b"")) == f"the file id {NOT_PRIVATE}"
    assert not_readable(b"AAAA\n-----END OPENSSH PRIVATE KEY-----") == f"the file id {NOT_PRIVATE}"
    assert not_readable(b"ssh-ed25519 AAAA") == (
        "the file id is a public key: give the private key file, the one without .pub."
    )
    plain = (
        b"-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + base64.b64encode(b"not-the-magic")
        + (b"\n-----END OPENSSH PRIVATE KEY-----")
    )
    assert not_readable(plain) == DAMAGED
    with pytest.raises(BadInput) as caught:
        load_private_key(b"junk", source="the file id")
    assert str(caught.value) == f"the file id {NOT_PRIVATE}"


def test_a_key_line_is_named_the_public_key_by_default() -> None:
    with pytest.raises(BadInput) as caught:
        parse_public_key("")
    assert str(caught.value) == (
        "the public key is empty: give the .pub file made by ssh-keygen, e.g. ~/.ssh/id_ed25519.pub."
    )


def test_a_private_key_of_another_kind_or_damaged_inside_is_named(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    ecdsa = ec.generate_private_key(ec.SECP256R1()).private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
    with pytest.raises(BadInput) as caught:
        load_private_key(ecdsa, source="the file id")
    assert str(caught.value) == (
        "the file id holds an ECDSA key; signoff accepts only Ed25519 keys: "
        "make an Ed25519 key with 'ssh-keygen -t ed25519'."
    )
    data = key_file(tmp_path, "chair").read_bytes()
    lines = data.splitlines()
    damaged = b"\n".join([*lines[:2], *lines[-1:]])  # the header survives, the key inside does not
    with pytest.raises(BadInput) as caught:
        load_private_key(damaged, source="the file id")
    assert str(caught.value) == DAMAGED
