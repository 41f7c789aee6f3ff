"""Signed decisions against the real OpenSSH: ssh-keygen signs and verifies, ssh-agent holds keys.

Whatever signoff writes must check with plain ``ssh-keygen -Y verify`` (an inspector has nothing
else), and whatever a chair makes with ``ssh-keygen -Y sign`` must be accepted by signoff.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from signoff.domain import sshsig
from signoff.domain.decision import build_statement, parse_statement
from signoff.domain.signers import allowed_signers_line, verify_command
from signoff.domain.sshkeys import load_private_key, parse_public_key
from signoff.domain.sshsig import BadSignature, SignatureRefused, WrongKey
from signoff.errors import BadInput, SignoffError
from signoff.sshkeygen import sign_with_ssh_keygen


def _openssh(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is not installed: make system-deps installs Debian's openssh-client for this test")
        pytest.skip(f"{program} is not installed (apt-get install openssh-client)")
    return found


@pytest.fixture
def ssh_keygen() -> str:
    return _openssh("ssh-keygen")


def make_key(ssh_keygen: str, path: Path, passphrase: str = "", kind: str = "ed25519") -> Path:
    subprocess.run(
        [ssh_keygen, "-q", "-t", kind, "-N", passphrase, "-C", f"{path.name}@board", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def keygen_sign(ssh_keygen: str, key: Path, file: Path, *options: str, namespace: str = "signoff-decision") -> Path:
    """The offline flow's step: the chair runs ssh-keygen -Y sign on the statement file; FILE.sig appears."""
    signature = file.with_name(file.name + ".sig")
    signature.unlink(missing_ok=True)  # ssh-keygen will not overwrite one without asking
    subprocess.run(
        [ssh_keygen, "-Y", "sign", "-f", str(key), "-n", namespace, *options, str(file)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return signature


def statement_file(folder: Path, actor: str = "chair.whitfield", name: str = "OF-02.approve.txt") -> Path:
    statement = build_statement(
        register="3b0f6c1e-8a52-4d55-9f1e-2f4c1e0a7b19",
        item="OF-02",
        title="Strengthen management oversight — “front door” audits",
        event="approve",
        meeting=dt.date(2026, 12, 14),
        bundle="ab" * 32,
        reason=None,
        override_reason="A2 misses by 3 days\nthe board accepts the trend",
        actor=actor,
        time=SIGNED_AT,
    )
    path = folder / name
    path.write_bytes(statement.encode())
    return path


REGISTERED = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=dt.UTC)
SIGNED_AT = dt.datetime(2026, 12, 14, 10, 31, 7, tzinfo=dt.UTC)


def keygen_verify(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the printed command exactly as an inspector would paste it into a shell."""
    return subprocess.run(["sh", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_fingerprints_are_those_ssh_keygen_prints(ssh_keygen: str, tmp_path: Path) -> None:
    key = make_key(ssh_keygen, tmp_path / "id_ed25519")
    printed = subprocess.run([ssh_keygen, "-lf", str(key) + ".pub"], capture_output=True, text=True, check=True)
    ours = parse_public_key((tmp_path / "id_ed25519.pub").read_text())
    assert printed.stdout.split()[1] == ours.fingerprint
    assert load_private_key(key.read_bytes()).public == ours


def test_a_signature_made_by_ssh_keygen_is_accepted_and_ours_is_byte_identical(ssh_keygen: str, tmp_path: Path) -> None:
    key = make_key(ssh_keygen, tmp_path / "id_ed25519")
    public = parse_public_key((tmp_path / "id_ed25519.pub").read_text())
    file = statement_file(tmp_path)
    sig_file = keygen_sign(ssh_keygen, key, file)

    statement = parse_statement(file.read_bytes(), source=f"the statement {file.name}")
    checked = sshsig.verify(sig_file.read_text(), statement.encode(), public_key=public)
    assert checked.fingerprint == public.fingerprint and checked.hash_algorithm == "sha512"
    # Ed25519 signatures are deterministic: the same key over the same text gives the same file.
    assert sshsig.sign(load_private_key(key.read_bytes()), file.read_bytes()) == sig_file.read_text()


def test_a_sha256_signature_from_ssh_keygen_is_accepted(ssh_keygen: str, tmp_path: Path) -> None:
    key = make_key(ssh_keygen, tmp_path / "id_ed25519")
    file = statement_file(tmp_path)
    sig_file = keygen_sign(ssh_keygen, key, file, "-O", "hashalg=sha256")
    assert sshsig.verify(sig_file.read_bytes(), file.read_bytes()).hash_algorithm == "sha256"


@pytest.mark.parametrize("name", ["chair.whitfield", "Chair Whitfield", "zoë.o'brien"])
def test_our_signature_verifies_with_the_printed_ssh_keygen_command(ssh_keygen: str, tmp_path: Path, name: str) -> None:
    key = load_private_key(make_key(ssh_keygen, tmp_path / "id_ed25519").read_bytes())
    file = statement_file(tmp_path, actor=name)
    (tmp_path / (file.name + ".sig")).write_text(sshsig.sign(key, file.read_bytes()))
    (tmp_path / "allowed_signers").write_text(
        allowed_signers_line(name, key.public, REGISTERED) + "\n", encoding="utf-8"
    )

    command = verify_command(name, file.name, SIGNED_AT)
    result = keygen_verify(command, tmp_path)
    assert result.returncode == 0, result.stderr
    assert f'Good "signoff-decision" signature for {name} with ED25519 key {key.public.fingerprint}' in result.stdout

    # The same command fails for a changed statement: the check above is a real one.
    file.write_bytes(file.read_bytes().replace(b"OF-02", b"OF-03"))
    assert keygen_verify(command, tmp_path).returncode != 0


def test_ssh_keygen_honours_registration_and_revocation_times(ssh_keygen: str, tmp_path: Path) -> None:
    key = load_private_key(make_key(ssh_keygen, tmp_path / "id_ed25519").read_bytes())
    file = statement_file(tmp_path)
    (tmp_path / (file.name + ".sig")).write_text(sshsig.sign(key, file.read_bytes()))
    signers = tmp_path / "allowed_signers"

    def verifies(valid_after: dt.datetime, valid_before: dt.datetime | None, at: dt.datetime) -> bool:
        signers.write_text(allowed_signers_line("chair.whitfield", key.public, valid_after, valid_before) + "\n")
        return keygen_verify(verify_command("chair.whitfield", file.name, at), tmp_path).returncode == 0

    second = dt.timedelta(seconds=1)
    assert verifies(REGISTERED, None, SIGNED_AT)
    assert verifies(SIGNED_AT, None, SIGNED_AT)  # registered in the same second it signed
    assert not verifies(SIGNED_AT + second, None, SIGNED_AT)  # signed before the key was registered
    assert verifies(REGISTERED, SIGNED_AT + dt.timedelta(days=30), SIGNED_AT)  # revoked later: still good
    assert not verifies(REGISTERED, SIGNED_AT - second, SIGNED_AT)  # signed after revocation
    # Without a pinned verify-time ssh-keygen checks against now, and a revoked key's line is over.
    signers.write_text(allowed_signers_line("chair.whitfield", key.public, REGISTERED, SIGNED_AT + second) + "\n")
    now_check = f"ssh-keygen -Y verify -f allowed_signers -I chair.whitfield -n signoff-decision -s {file.name}.sig < {file.name}"
    assert keygen_verify(now_check, tmp_path).returncode != 0


def test_the_wrong_principal_or_namespace_fails_ssh_keygen_too(ssh_keygen: str, tmp_path: Path) -> None:
    key = load_private_key(make_key(ssh_keygen, tmp_path / "id_ed25519").read_bytes())
    file = statement_file(tmp_path)
    (tmp_path / (file.name + ".sig")).write_text(sshsig.sign(key, file.read_bytes(), namespace="file"))
    (tmp_path / "allowed_signers").write_text(allowed_signers_line("chair.whitfield", key.public, REGISTERED) + "\n")
    assert keygen_verify(verify_command("chair.whitfield", file.name, SIGNED_AT), tmp_path).returncode != 0
    (tmp_path / (file.name + ".sig")).write_text(sshsig.sign(key, file.read_bytes()))
    assert keygen_verify(verify_command("chair.whitfield", file.name, SIGNED_AT), tmp_path).returncode == 0
    assert keygen_verify(verify_command("member.jones", file.name, SIGNED_AT), tmp_path).returncode != 0


def test_ssh_keygen_signatures_that_are_wrong_are_refused_each_with_its_reason(ssh_keygen: str, tmp_path: Path) -> None:
    key_path = make_key(ssh_keygen, tmp_path / "id_ed25519")
    public = parse_public_key((tmp_path / "id_ed25519.pub").read_text())
    file = statement_file(tmp_path)

    git_sig = keygen_sign(ssh_keygen, key_path, file, namespace="git").read_text()
    with pytest.raises(SignatureRefused, match="namespace 'git'"):
        sshsig.verify(git_sig, file.read_bytes(), public_key=public)

    good = keygen_sign(ssh_keygen, key_path, file).read_text()
    other = parse_public_key(make_key(ssh_keygen, tmp_path / "other").with_suffix(".pub").read_text())
    with pytest.raises(WrongKey, match="not the registered key"):
        sshsig.verify(good, file.read_bytes(), public_key=other)
    with pytest.raises(SignatureRefused, match="does not sign this statement"):
        sshsig.verify(good, file.read_bytes().replace(b"2026-12-14", b"2026-12-15"), public_key=public)

    lines = good.splitlines(keepends=True)
    with pytest.raises(BadSignature, match="truncated"):
        sshsig.verify("".join(lines[:-2]), file.read_bytes())  # cut off mid-file, as a broken mail attachment is
    with pytest.raises(BadSignature, match="truncated"):
        sshsig.verify("".join(lines[:2] + lines[3:]), file.read_bytes())
    with pytest.raises(BadSignature, match="garbled"):
        sshsig.verify(good.replace(lines[2], lines[2].replace("A", "*", 1)), file.read_bytes())

    rsa = make_key(ssh_keygen, tmp_path / "id_rsa", kind="rsa")
    with pytest.raises(BadSignature, match="RSA key"):
        sshsig.verify(keygen_sign(ssh_keygen, rsa, file).read_text(), file.read_bytes())


def test_a_key_encrypted_by_ssh_keygen_loads_with_its_passphrase_and_is_refused_without(
    ssh_keygen: str, tmp_path: Path
) -> None:
    data = make_key(ssh_keygen, tmp_path / "id_ed25519", passphrase="tea at the town hall").read_bytes()
    with pytest.raises(BadInput, match="protected by a passphrase"):
        load_private_key(data, source="the key file id_ed25519")
    with pytest.raises(BadInput, match="could not unlock the key file id_ed25519 with that passphrase"):
        load_private_key(data, "coffee", source="the key file id_ed25519")
    key = load_private_key(data, "tea at the town hall")
    assert key.public == parse_public_key((tmp_path / "id_ed25519.pub").read_text())


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private ssh-agent for this test only; its environment has SSH_AUTH_SOCK pointing at it."""
    program = _openssh("ssh-agent")
    _openssh("ssh-add")
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen([program, "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if sock.exists():
                break
            if proc.poll() is not None:
                pytest.fail("ssh-agent exited at start")
            time.sleep(0.05)
        env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "SSH_AGENT_PID")}
        env["SSH_AUTH_SOCK"] = str(sock)
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_key_held_in_ssh_agent_signs_through_ssh_keygen(
    ssh_keygen: str, tmp_path: Path, agent: dict[str, str]
) -> None:
    (tmp_path / "held").mkdir()
    private = make_key(ssh_keygen, tmp_path / "held" / "id_ed25519")
    subprocess.run(["ssh-add", "-q", str(private)], env=agent, check=True, capture_output=True, timeout=60)
    # Only the public half stays on disk, in another folder: the signature can only come from the agent.
    public_file = tmp_path / "chair.pub"
    shutil.move(str(private) + ".pub", public_file)
    private.unlink()
    file = statement_file(tmp_path)

    armored, signer = sign_with_ssh_keygen(public_file, file.read_bytes(), env=agent)
    assert signer == parse_public_key(public_file.read_text())
    assert sshsig.verify(armored, file.read_bytes(), public_key=signer).fingerprint == signer.fingerprint
    (tmp_path / (file.name + ".sig")).write_text(armored)
    (tmp_path / "allowed_signers").write_text(allowed_signers_line("chair.whitfield", signer, REGISTERED) + "\n")
    result = keygen_verify(verify_command("chair.whitfield", file.name, SIGNED_AT), tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_key_the_agent_does_not_hold_is_refused_in_one_sentence(
    ssh_keygen: str, tmp_path: Path, agent: dict[str, str]
) -> None:
    make_key(ssh_keygen, tmp_path / "id_ed25519")
    public_file = tmp_path / "chair.pub"
    shutil.move(tmp_path / "id_ed25519.pub", public_file)
    with pytest.raises(BadInput, match=r"ssh-keygen could not sign with SHA256:.*add the key to ssh-agent") as caught:
        sign_with_ssh_keygen(public_file, b"statement\n", env=agent)
    assert "\n" not in str(caught.value)
    with pytest.raises(BadInput, match="cannot read the public key file"):
        sign_with_ssh_keygen(tmp_path / "missing.pub", b"statement\n", env=agent)


def test_without_ssh_keygen_on_path_signing_through_it_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "chair.pub").write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOWBRsoW37v/ESElAZkEP06pcf0N90lhEdYHSFyqfn01\n"
    )
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SignoffError, match="ssh-keygen was not found on PATH: install OpenSSH"):
        sign_with_ssh_keygen(tmp_path / "chair.pub", b"statement\n")
