"""Signed decisions through the CLI with the real OpenSSH: the chair's day, online and offline.

The commands an inspector is told to run are run exactly as printed, with ssh-keygen alone.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import test_openssh
from conftest import CHAIR, SECRETARY, days_ago
from test_openssh import keygen_sign, make_key
from test_signed_decisions import submitted

# The real ssh-keygen and a private ssh-agent, as the OpenSSH tests use them.
ssh_keygen = test_openssh.ssh_keygen
agent = test_openssh.agent

TODAY = days_ago(0).isoformat()


@pytest.fixture
def board(db_path: Path, tmp_path: Path, ssh_keygen: str) -> tuple[Path, Path]:
    """A register with OF-01 submitted, and a new chair 'whitfield' with a key made by ssh-keygen."""
    from signoff.services.register import add_user

    submitted(db_path, tmp_path)
    add_user(db_path, SECRETARY, "whitfield", ["chair"])
    (tmp_path / "home").mkdir()
    return db_path, make_key(ssh_keygen, tmp_path / "home" / "id_ed25519")


def ok(run_cli: Callable[..., Any], *args: str, db: Path, actor: str | None = SECRETARY) -> str:
    r = run_cli(*args, db=db, actor=actor)
    assert r.code == 0, (args, r.err)
    return str(r.out)


def test_the_offline_flow_step_by_step_verifies_with_ssh_keygen_alone(
    board: tuple[Path, Path],
    run_cli: Callable[..., Any],
    tmp_path: Path,
    ssh_keygen: str,
) -> None:
    db, key = board
    # The chair's day starts with a key; the secretary registers it and the chair reads it into the minutes.
    out = ok(run_cli, "user", "key", "add", "whitfield", "--public-key", f"{key}.pub", db=db)
    printed = subprocess.run([ssh_keygen, "-lf", f"{key}.pub"], capture_output=True, text=True, check=True)
    fingerprint = printed.stdout.split()[1]
    assert fingerprint in out
    shown = ok(run_cli, "user", "show", "whitfield", "--json", db=db, actor=None)
    assert '"fingerprint": "' + fingerprint in shown and '"status": "current"' in shown

    # Offline: the secretary writes the statement, the chair signs it anywhere, the secretary records it.
    statement = tmp_path / "OF-01.approve.txt"
    written = ok(run_cli, "decision", "statement", "OF-01", "approve", "--meeting", TODAY, "--signer", "whitfield",
                 "-o", str(statement), db=db)  # fmt: skip
    assert "ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n signoff-decision" in written
    sig = keygen_sign(ssh_keygen, key, statement)
    ok(run_cli, "approve", "OF-01", "--meeting", TODAY, "--signature", str(sig), db=db)
    history = ok(run_cli, "history", "OF-01", "--json", db=db, actor=None)
    assert '"actor": "whitfield"' in history

    verify = ok(run_cli, "audit", "verify", db=db, actor=None)
    assert "1 signed decision(s) verified" in verify and "0 decision(s) unsigned" in verify
    assert "signed with key " + fingerprint in ok(run_cli, "item", "show", "OF-01", db=db, actor=None)

    # What an inspector does, with OpenSSH alone: run exactly the command printed.
    records = json.loads(history)
    approve_seq = next(r["seq"] for r in records if r["event"] == "approve" and r["outcome"] == "applied")
    inspector = tmp_path / "inspector"
    inspector.mkdir()
    said = ok(run_cli, "audit", "statement", str(approve_seq), "-o", str(inspector), db=db, actor=None)
    command = said.strip().splitlines()[-1]
    assert command.startswith("ssh-keygen -Y verify -f allowed_signers -I whitfield -n signoff-decision")
    checked = subprocess.run(["sh", "-c", command], cwd=inspector, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert 'Good "signoff-decision" signature for whitfield' in checked.stdout + checked.stderr

    # The same file checked against a statement changed by one character fails.
    text = (inspector / f"decision-{approve_seq}.txt").read_text(encoding="utf-8")
    (inspector / f"decision-{approve_seq}.txt").write_text(text.replace("OF-01", "OF-02"), encoding="utf-8")
    assert subprocess.run(["sh", "-c", command], cwd=inspector, capture_output=True, timeout=60).returncode != 0

    # audit signers writes the same allowed_signers file; an export carries the signatures too.
    signers = ok(run_cli, "audit", "signers", db=db, actor=None)
    assert 'whitfield namespaces="signoff-decision",valid-after="' in signers
    export = tmp_path / "audit.jsonl"
    ok(run_cli, "audit", "export", "--format", "jsonl", "-o", str(export), db=db, actor=None)
    assert "1 signed decision(s) verified" in ok(run_cli, "audit", "verify-export", str(export), db=db, actor=None)


def test_an_offline_statement_refuses_when_the_evidence_changed(
    board: tuple[Path, Path],
    run_cli: Callable[..., Any],
    tmp_path: Path,
    ssh_keygen: str,
) -> None:
    db, key = board
    ok(run_cli, "user", "key", "add", "whitfield", "--public-key", f"{key}.pub", db=db)
    statement = tmp_path / "s.txt"
    ok(run_cli, "decision", "statement", "OF-01", "approve", "--meeting", TODAY, "--signer", "whitfield",
       "-o", str(statement), db=db)  # fmt: skip
    sig = keygen_sign(ssh_keygen, key, statement)
    time.sleep(1.1)  # the statement's time is to the second
    ok(run_cli, "evidence", "add", "OF-01", "audit", "--note", "a later audit", "--dated", TODAY, db=db)
    ok(run_cli, "amend", "OF-01", db=db)
    r = run_cli("approve", "OF-01", "--meeting", TODAY, "--signature", str(sig), db=db, actor=SECRETARY)
    assert r.code == 3 and "the evidence changed since the chair signed" in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


@pytest.mark.parametrize("damage", ["garbled", "truncated"])
def test_a_damaged_sig_file_is_one_sentence_and_exit_2(
    board: tuple[Path, Path],
    run_cli: Callable[..., Any],
    tmp_path: Path,
    ssh_keygen: str,
    damage: str,
) -> None:
    db, key = board
    ok(run_cli, "user", "key", "add", "whitfield", "--public-key", f"{key}.pub", db=db)
    statement = tmp_path / "s.txt"
    ok(run_cli, "decision", "statement", "OF-01", "approve", "--meeting", TODAY, "--signer", "whitfield",
       "-o", str(statement), db=db)  # fmt: skip
    sig = keygen_sign(ssh_keygen, key, statement)
    lines = sig.read_text().splitlines()
    sig.write_text(
        "\n".join([*lines[:2], lines[2][:20] + "!!" + lines[2][22:], *lines[3:]]) + "\n"
        if damage == "garbled"
        else "\n".join(lines[:-3]) + "\n"
    )
    r = run_cli("approve", "OF-01", "--meeting", TODAY, "--signature", str(sig), db=db, actor=SECRETARY)
    assert r.code == 2 and "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err


def test_the_chair_signs_online_with_a_key_file(
    board: tuple[Path, Path],
    run_cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    db, key = board
    ok(run_cli, "user", "key", "add", "whitfield", "--public-key", f"{key}.pub", db=db)
    r = run_cli("approve", "OF-01", "--meeting", TODAY, "--key", str(key), db=db, actor="whitfield")
    assert r.code == 0, r.err
    assert "1 signed decision(s) verified" in ok(run_cli, "audit", "verify", db=db, actor=None)


def test_a_key_in_ssh_agent_signs_through_its_pub_file(
    board: tuple[Path, Path], run_cli: Callable[..., Any], agent: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    db, key = board
    ok(run_cli, "user", "key", "add", "whitfield", "--public-key", f"{key}.pub", db=db)
    subprocess.run(["ssh-add", "-q", str(key)], env=agent, check=True, capture_output=True, timeout=60)
    public = key.parent.parent / "agent-only.pub"
    public.write_text(Path(f"{key}.pub").read_text())
    key.unlink()  # the private half is only in the agent now
    monkeypatch.setenv("SSH_AUTH_SOCK", agent["SSH_AUTH_SOCK"])
    r = run_cli("approve", "OF-01", "--meeting", TODAY, "--key", str(public), db=db, actor="whitfield")
    assert r.code == 0, r.err


def test_an_encrypted_key_prompts_for_its_passphrase_without_echoing_it(
    db_path: Path,
    tmp_path: Path,
    ssh_keygen: str,
) -> None:
    from signoff.services.keys import add_key, read_public_key

    submitted(db_path, tmp_path)
    (tmp_path / "home").mkdir()
    key = make_key(ssh_keygen, tmp_path / "home" / "id_ed25519", passphrase="correct horse")
    add_key(db_path, SECRETARY, CHAIR, read_public_key(Path(f"{key}.pub")))
    # CHAIR already has the fixture's key; a second current key for the same user is allowed.
    argv = [sys.executable, "-m", "signoff", "--db", str(db_path), "--as", CHAIR, "approve", "OF-01",
            "--meeting", TODAY, "--key", str(key)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNOFF_", "SSH_AUTH"))}
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty, as a chair's shell would be
        os.execve(sys.executable, argv, env)
    seen = b""
    deadline = time.monotonic() + 60
    while b"Passphrase" not in seen and time.monotonic() < deadline:
        seen += os.read(fd, 1024)
    os.write(fd, b"correct horse\n")
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    text = seen.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "correct horse" not in text and "now signed_off" in text
