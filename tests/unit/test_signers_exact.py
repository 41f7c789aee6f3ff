"""The allowed_signers file and the OpenSSH check command, exactly as an inspector receives them."""

from __future__ import annotations

import datetime as dt

import pytest
from signing import user_key

from signoff.domain.signers import allowed_signers_line, principal, ssh_time, verify_command
from signoff.domain.sshwire import Truncated, WireReader, string, uint32
from signoff.errors import BadInput

UTC = dt.UTC
AT = dt.datetime(2026, 12, 1, 9, 30, 0, tzinfo=UTC)


def test_ssh_time_is_utc_with_z() -> None:
    assert ssh_time(AT) == "20261201093000Z"
    assert ssh_time(dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == "20261201093000Z"
    with pytest.raises(ValueError, match=r"^ssh_time needs a timezone-aware time$"):
        ssh_time(dt.datetime(2026, 12, 1))


class NoOffset(dt.tzinfo):
    def utcoffset(self, d: dt.datetime | None) -> None:
        return None


def test_a_zone_without_an_offset_is_not_aware() -> None:
    with pytest.raises(ValueError, match=r"^ssh_time needs a timezone-aware time$"):
        ssh_time(dt.datetime(2026, 12, 1, tzinfo=NoOffset()))


def refusal(name: str) -> str:
    with pytest.raises(BadInput) as caught:
        principal(name)
    return str(caught.value)


TAIL = (
    'which ssh-keygen reads as a pattern; register the key for a user whose name has none of , * ? " and no leading !.'
)


def test_principals() -> None:
    assert principal("chair.whitfield") == "chair.whitfield"
    assert principal("Ann Lee") == '"Ann Lee"'
    assert principal("#ann") == '"#ann"'
    assert principal("an#n") == "an#n"
    assert principal("an!n") == "an!n"
    assert refusal("a*") == f"user name 'a*' cannot be an OpenSSH signer: it contains '*', {TAIL}"
    assert refusal('a?,"b') == f"user name 'a?,\"b' cannot be an OpenSSH signer: it contains '\"' ',' '?', {TAIL}"
    assert refusal("!ann") == f"user name '!ann' cannot be an OpenSSH signer: it contains '!' at the start, {TAIL}"
    with pytest.raises(BadInput, match="has leading or trailing whitespace"):
        principal(" ann")


def test_allowed_signers_lines() -> None:
    key = user_key("chair").public
    assert allowed_signers_line("chair", key, AT) == (
        f'chair namespaces="signoff-decision",valid-after="20261201093000Z" {key.openssh}'
    )
    assert allowed_signers_line("chair", key, AT, AT) == (
        f'chair namespaces="signoff-decision",valid-after="20261201093000Z",valid-before="20261201093000Z" {key.openssh}'
    )
    later = AT + dt.timedelta(days=1)
    assert allowed_signers_line("Ann Lee", key, AT, later).endswith(f',valid-before="20261202093000Z" {key.openssh}')
    with pytest.raises(ValueError, match=r"^a key cannot be revoked before it was registered$"):
        allowed_signers_line("chair", key, later, AT)


def test_the_verify_command() -> None:
    assert verify_command("chair", "OF-01.txt", AT) == (
        "ssh-keygen -Y verify -f allowed_signers -I chair -n signoff-decision -O verify-time=20261201093000Z"
        " -s OF-01.txt.sig < OF-01.txt"
    )
    assert verify_command("Ann Lee", "my file.txt", AT, "s.sig", "keys file") == (
        "ssh-keygen -Y verify -f 'keys file' -I 'Ann Lee' -n signoff-decision -O verify-time=20261201093000Z"
        " -s s.sig < 'my file.txt'"
    )
    with pytest.raises(BadInput):
        verify_command("a*", "f", AT)


def test_the_wire_encoding() -> None:
    assert uint32(0x80000000) == b"\x80\x00\x00\x00"
    assert uint32(1) == b"\x00\x00\x00\x01"
    assert string(b"ab") == b"\x00\x00\x00\x02ab"
    r = WireReader(b"\x80\x00\x00\x00" + string(b"caf\xc3\xa9") + string(b"\xff") + b"xy")
    assert r.uint32() == 0x80000000
    assert r.text() == "café"
    assert r.text() == "\ufffd"
    assert r.remaining == 2
    with pytest.raises(Truncated) as caught:
        r.raw(3)
    assert str(caught.value) == "wanted 3 bytes at offset 18, 2 left"
    assert r.raw(2) == b"xy"
    assert r.remaining == 0
    assert WireReader(b"").raw(0) == b""


def test_ssh_time_is_utc_whatever_the_local_zone() -> None:
    from conftest import local_zone

    with local_zone("Pacific/Kiritimati"):
        assert ssh_time(AT) == "20261201093000Z"
