"""Signing through OpenSSH's own ``ssh-keygen -Y sign``, for keys signoff cannot read itself.

A key held in ssh-agent never leaves it; ``ssh-keygen`` is given the public key and asks the agent
to sign. (Keys living on a security key would go the same way, but their types, ``sk-ssh-ed25519``
and ``sk-ecdsa``, sign a different envelope and are not accepted yet: see domain/sshkeys.py.) Without
an agent holding the key, ssh-keygen reads the private key next to the .pub file and asks for its
passphrase on the terminal itself. We hand it the statement on stdin, take
the armored signature from stdout, and check that signature ourselves before returning it, so a
wrong key in the agent or a confused ssh-keygen cannot slip an unusable signature into the record.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from signoff.domain import sshsig
from signoff.domain.sshkeys import PublicKey, parse_public_key
from signoff.errors import BadInput, SignoffError

SSH_KEYGEN = "ssh-keygen"
INSTALL_HINT = "install OpenSSH (Debian/Ubuntu: apt-get install openssh-client; it ships with Windows 10+ and macOS)"


def ssh_keygen_path() -> str:
    found = shutil.which(SSH_KEYGEN)
    if found is None:
        raise SignoffError(f"ssh-keygen was not found on PATH: {INSTALL_HINT}.")
    return found


def sign_with_ssh_keygen(
    public_key_file: Path,
    message: bytes,
    namespace: str = sshsig.NAMESPACE,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> tuple[str, PublicKey]:
    """Have ``ssh-keygen -Y sign -f PUBKEY -n NAMESPACE`` sign ``message``; return the armored
    signature and the key that made it. ``env`` carries SSH_AUTH_SOCK (default: this process's)."""
    source = f"the public key file {public_key_file}"
    try:
        text = public_key_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"cannot read {source} ({getattr(exc, 'strerror', None) or exc}): give the .pub file of your key."
        ) from None
    public = parse_public_key(text, source)
    command = [ssh_keygen_path(), "-q", "-Y", "sign", "-f", str(public_key_file), "-n", namespace]
    try:
        proc = subprocess.run(
            command,
            input=message,
            capture_output=True,
            env=dict(os.environ if env is None else env),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SignoffError(
            f"ssh-keygen did not sign within {timeout:.0f} seconds (a security key waiting for a touch?): try again."
        ) from None
    if proc.returncode != 0:
        said = [line.strip() for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        why = said[-1].rstrip(".") if said else f"exit status {proc.returncode}"
        raise BadInput(
            f"ssh-keygen could not sign with {public.fingerprint} ({why}): add the key to ssh-agent with ssh-add, "
            "or give the private key file instead."
        )
    armored = proc.stdout.decode("ascii", "replace")
    sshsig.verify(armored, message, namespace, public, source="the signature ssh-keygen made")
    return armored, public
