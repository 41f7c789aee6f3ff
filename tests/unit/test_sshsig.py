"""OpenSSH keys, SSHSIG signatures and allowed_signers lines, checked without any program outside Python.

The same behaviour against the real ssh-keygen and ssh-agent is in tests/integration/test_openssh.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from signoff.domain import sshsig
from signoff.domain.signers import allowed_signers_line, principal, ssh_time, verify_command
from signoff.domain.sshkeys import (
    KeyMismatch,
    PublicKey,
    SigningKey,
    check_key_pair,
    load_private_key,
    parse_public_key,
    private_key_is_encrypted,
)
from signoff.domain.sshsig import BadSignature, SignatureRefused, WrongKey
from signoff.domain.sshwire import string, uint32
from signoff.errors import BadInput

# A key made by ssh-keygen -t ed25519, and the fingerprint ssh-keygen -lf printed for it.
KNOWN_LINE = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOWBRsoW37v/ESElAZkEP06pcf0N90lhEdYHSFyqfn01 chair@board"
KNOWN_FINGERPRINT = "SHA256:MmbcABG+7zQPkzncAuGDJpCrkvhs/Levf3GzH1Gp1Vs"
MESSAGE = b"signoff decision v1\nitem: OF-02\n"


def key_file(passphrase: bytes | None = None) -> bytes:
    encryption = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
    return Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, encryption)


@pytest.fixture(scope="module")
def chair() -> SigningKey:
    return load_private_key(key_file())


def test_fingerprint_and_line_are_those_ssh_keygen_prints() -> None:
    key = parse_public_key(KNOWN_LINE + "\n")
    assert key.fingerprint == KNOWN_FINGERPRINT
    assert key.comment == "chair@board"
    assert key.line() == KNOWN_LINE
    assert key.openssh == KNOWN_LINE.rsplit(" ", 1)[0]
    assert key == parse_public_key(key.openssh)  # the comment is a label, not part of the key


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "is empty"),
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== me", "is an RSA key; signoff accepts only Ed25519 keys"),
        ("ecdsa-sha2-nistp256 AAAAE2VjZHNh me", "is an ECDSA key"),
        ("sk-ssh-ed25519@openssh.com AAAAGnNr me", "security-key"),
        ("ssh-ed25519-cert-v01@openssh.com AAAA me", "SSH certificate"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----", "is a private key"),
        ('from="10.0.0.1" ' + KNOWN_LINE, "is not an OpenSSH public key line"),
        (KNOWN_LINE + "\n" + KNOWN_LINE, "more than one line"),
        ("ssh-ed25519", "no key data"),
        ("ssh-ed25519 AAAA!!!!", "not base64"),
        ("ssh-ed25519 " + KNOWN_LINE.split()[1][:-8], "damaged"),
        ("ssh-ed25519 " + base64.b64encode(string(b"ssh-rsa") + string(b"x" * 32)).decode(), "RSA key"),
        ("ssh-ed25519 " + base64.b64encode(string(b"ssh-ed25519") + string(b"x" * 31)).decode(), "wrong length"),
        (KNOWN_LINE + "\x1b[2J", "control characters"),
    ],
)
def test_public_keys_other_than_one_ed25519_line_are_refused(line: str, says: str) -> None:
    with pytest.raises(BadInput, match=says) as caught:
        parse_public_key(line, source="the file chair.pub")
    assert str(caught.value).startswith("the file chair.pub")


def test_an_encrypted_key_needs_its_passphrase() -> None:
    data = key_file(b"correct horse")
    assert private_key_is_encrypted(data) and not private_key_is_encrypted(key_file())
    with pytest.raises(BadInput, match="protected by a passphrase"):
        load_private_key(data)
    with pytest.raises(BadInput, match="could not unlock the key file with that passphrase"):
        load_private_key(data, "wrong horse")
    assert load_private_key(data, "correct horse").public.fingerprint.startswith("SHA256:")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (KNOWN_LINE.encode(), "is a public key"),
        (b"not a key at all", "is not an OpenSSH private key"),
        (b"-----BEGIN OPENSSH PRIVATE KEY-----\n!!!\n-----END OPENSSH PRIVATE KEY-----\n", "is damaged"),
    ],
)
def test_files_that_are_not_private_keys_are_refused(data: bytes, says: str) -> None:
    with pytest.raises(BadInput, match=says):
        load_private_key(data)


def test_a_private_key_must_match_the_registered_key(chair: SigningKey) -> None:
    other = load_private_key(key_file())
    check_key_pair(other, other.public)
    with pytest.raises(
        KeyMismatch, match=re.escape(f"holds the key {other.public.fingerprint}, not the registered key")
    ) as caught:
        check_key_pair(other, parse_public_key(KNOWN_LINE))
    assert caught.value.exit_code == 3


def test_a_signature_verifies_and_names_its_signer(chair: SigningKey) -> None:
    armored = sshsig.sign(chair, MESSAGE)
    lines = armored.splitlines()
    assert lines[0] == sshsig.BEGIN and lines[-1] == sshsig.END and armored.endswith("\n")
    assert all(len(line) == 70 for line in lines[1:-2]) and 0 < len(lines[-2]) <= 70
    got = sshsig.verify(armored, MESSAGE, public_key=chair.public)
    assert got.public_key == chair.public and got.fingerprint == chair.public.fingerprint
    assert (got.namespace, got.hash_algorithm) == ("signoff-decision", "sha512")
    assert sshsig.verify(armored.replace("\n", "\r\n").encode(), MESSAGE).public_key == chair.public


def test_sha256_signatures_verify_too(chair: SigningKey) -> None:
    raw = chair.sign(sshsig.signed_data(MESSAGE, hash_algorithm="sha256"))
    armored = sshsig.armor(sshsig.encode(sshsig.SshSignature(chair.public, "signoff-decision", "sha256", raw)))
    assert sshsig.verify(armored, MESSAGE).hash_algorithm == "sha256"


def resign(key: SigningKey, **changes: object) -> str:
    """A signature made honestly but with one part of the envelope changed."""
    namespace = str(changes.get("namespace", "signoff-decision"))
    raw = key.sign(sshsig.signed_data(MESSAGE, namespace))
    return sshsig.armor(sshsig.encode(sshsig.SshSignature(key.public, namespace, "sha512", raw)))


def test_refusals_for_namespace_key_and_message_are_distinct(chair: SigningKey) -> None:
    good = sshsig.sign(chair, MESSAGE)
    with pytest.raises(
        SignatureRefused, match="namespace 'git', not 'signoff-decision': sign again with -n signoff-decision"
    ):
        sshsig.verify(resign(chair, namespace="git"), MESSAGE)
    with pytest.raises(
        WrongKey,
        match=re.escape(f"made with the key {chair.public.fingerprint}, not the registered key {KNOWN_FINGERPRINT}"),
    ):
        sshsig.verify(good, MESSAGE, public_key=parse_public_key(KNOWN_LINE))
    with pytest.raises(SignatureRefused, match="does not sign this statement") as caught:
        sshsig.verify(good, MESSAGE.replace(b"OF-02", b"OF-03"))
    assert caught.value.exit_code == 3


def blob_of(armored: str) -> bytes:
    return base64.b64decode("".join(armored.splitlines()[1:-1]))


def test_a_forged_signature_under_the_right_key_is_refused(chair: SigningKey) -> None:
    blob = bytearray(blob_of(sshsig.sign(chair, MESSAGE)))
    blob[-1] ^= 0x01
    with pytest.raises(SignatureRefused, match="does not sign this statement"):
        sshsig.verify(sshsig.armor(bytes(blob)), MESSAGE, public_key=chair.public)


@pytest.mark.parametrize(
    ("mangle", "says"),
    [
        (lambda a: "", "not an SSH signature"),
        (lambda a: "hello", "not an SSH signature"),
        (lambda a: a.replace("SSH SIGNATURE", "PGP SIGNATURE"), "not an SSH signature"),
        (lambda a: a.rsplit(sshsig.END, 1)[0], "truncated \\(no '-----END SSH SIGNATURE-----' line\\)"),
        (lambda a: "\n".join(a.splitlines()[:3]) + "\n", "truncated \\(no"),
        (
            lambda a: "\n".join(a.splitlines()[:2] + a.splitlines()[3:]) + "\n",
            "truncated \\(part of its body is missing\\)",
        ),
        (lambda a: a + "trailing words\n", "text after"),
        (lambda a: a.replace("U1NIU0lH", "U1NI*0lH"), "garbled \\(its body is not base64\\)"),
        (lambda a: "é" + a, "not an SSH signature"),
        (lambda a: sshsig.armor(blob_of(a)[:-8]), "is truncated: use the whole"),
        (lambda a: sshsig.armor(blob_of(a) + b"\0\0\0\0"), "extra data after the signature"),
        (lambda a: sshsig.armor(b"SSHSIH" + blob_of(a)[6:]), "no SSHSIG header"),
        (lambda a: sshsig.armor(blob_of(a)[:6] + uint32(2) + blob_of(a)[10:]), "SSHSIG version 2"),
    ],
)
def test_garbled_and_truncated_signatures_are_bad_input(chair: SigningKey, mangle: object, says: str) -> None:
    armored = sshsig.sign(chair, MESSAGE)
    with pytest.raises(BadSignature, match=says) as caught:
        sshsig.verify(mangle(armored), MESSAGE, source="the file OF-02.txt.sig")  # type: ignore[operator]
    assert str(caught.value).startswith("the file OF-02.txt.sig") and caught.value.exit_code == 2


def test_non_ascii_bytes_are_garbled(chair: SigningKey) -> None:
    armored = sshsig.sign(chair, MESSAGE).encode()
    with pytest.raises(BadSignature, match="garbled \\(it is not text\\)"):
        sshsig.verify(armored.replace(b"U1NI", b"\xff\xfe\xfd\xfc"), MESSAGE)


def test_signatures_by_other_key_types_or_hashes_are_refused_by_name(chair: SigningKey) -> None:
    sig = sshsig.SshSignature(chair.public, "signoff-decision", "sha512", b"\0" * 64)
    rsa = sshsig.encode(sig).replace(string(chair.public.blob), string(string(b"ssh-rsa") + string(b"\1" * 32)))
    with pytest.raises(BadSignature, match="RSA key"):
        sshsig.parse(sshsig.armor(rsa))
    md5 = sshsig.encode(sig).replace(string(b"sha512"), string(b"md5"))
    with pytest.raises(BadSignature, match="uses the hash 'md5'"):
        sshsig.parse(sshsig.armor(md5))


WHEN = dt.datetime(2026, 12, 1, 9, 30, 0, 250_000, tzinfo=dt.UTC)


def test_allowed_signers_lines_carry_namespace_and_validity_in_utc() -> None:
    key = parse_public_key(KNOWN_LINE)
    line = allowed_signers_line("key.whitfield", key, WHEN)
    assert line == f'key.whitfield namespaces="signoff-decision",valid-after="20261201093000Z" {key.openssh}'
    bst = dt.timezone(dt.timedelta(hours=1))
    revoked = dt.datetime(2027, 3, 1, 13, 0, 0, tzinfo=bst)
    assert ',valid-before="20270301120000Z" ssh-ed25519 ' in allowed_signers_line("key.whitfield", key, WHEN, revoked)
    assert allowed_signers_line("Chair Whitfield", key, WHEN).startswith('"Chair Whitfield" namespaces=')
    with pytest.raises(ValueError, match="timezone-aware"):
        ssh_time(dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="revoked before it was registered"):
        allowed_signers_line("chair", key, WHEN, WHEN - dt.timedelta(seconds=1))


@pytest.mark.parametrize("name", ["a*", "chair,member", "who?", '"quoted"', "!chair"])
def test_names_ssh_keygen_would_read_as_patterns_are_refused(name: str) -> None:
    with pytest.raises(BadInput, match="cannot be an OpenSSH signer"):
        principal(name)


def test_the_verify_command_pins_the_statement_time_and_quotes_for_the_shell() -> None:
    assert verify_command("chair.whitfield", "OF-02.approve.txt", WHEN) == (
        "ssh-keygen -Y verify -f allowed_signers -I chair.whitfield -n signoff-decision "
        "-O verify-time=20261201093000Z -s OF-02.approve.txt.sig < OF-02.approve.txt"
    )
    assert "-I 'Chair Whitfield' " in verify_command("Chair Whitfield", "my statement.txt", WHEN)
    assert "-s 'my statement.txt.sig' < 'my statement.txt'" in verify_command("c", "my statement.txt", WHEN)


def test_public_key_equality_ignores_the_comment() -> None:
    a = parse_public_key(KNOWN_LINE)
    assert a == PublicKey(a.blob, "other label") and hash(a) == hash(PublicKey(a.blob))


def test_reading_keys_and_statements_does_not_import_cryptography() -> None:
    """Read commands (user show, audit signers, audit statement) stay fast: cryptography loads only to sign or verify."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import signoff.domain.decision, signoff.domain.signers, signoff.domain.sshsig, signoff.sshkeygen\n"
        "from signoff.domain.sshkeys import parse_public_key\n"
        f"print(parse_public_key({KNOWN_LINE!r}).fingerprint)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cryptography', 'bcrypt')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.splitlines() == [KNOWN_FINGERPRINT, "[]"]
