"""The OpenSSH ``allowed_signers`` file and the one command that checks a decision without signoff.

An inspector with nothing but OpenSSH can check a signed decision against the keys the register
had on file::

    chair.whitfield namespaces="signoff-decision",valid-after="20261201093000Z" ssh-ed25519 AAAA…

(ssh-keygen(1), ALLOWED SIGNERS). Each key is valid from its registration and, once revoked,
until its revocation; times are written in UTC with the ``Z`` suffix, which ssh-keygen reads as
UTC whatever the inspector's time zone. Because a revoked key's line ends in the past, the check
command pins ``-O verify-time=`` to the statement's own time: a decision signed before the
revocation still verifies years later, one signed after it does not.
"""

from __future__ import annotations

import datetime as dt
import shlex

from signoff.domain import names
from signoff.domain.sshkeys import PublicKey
from signoff.domain.sshsig import NAMESPACE
from signoff.errors import BadInput

# In the principals field these are pattern syntax (ssh_config(5) PATTERNS): a user named "a*"
# would vouch for every user whose name starts with "a".
_PATTERN_CHARS = frozenset(',*?"')


def ssh_time(moment: dt.datetime) -> str:
    """``YYYYMMDDHHMMSSZ`` in UTC, the form ssh-keygen accepts for valid-after, valid-before and verify-time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("ssh_time needs a timezone-aware time")
    return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


def principal(name: str) -> str:
    """A user name as an allowed_signers principal: refused when ssh-keygen would read it as a pattern."""
    names.check_user_name(name)
    bad = sorted(ch for ch in set(name) if ch in _PATTERN_CHARS)
    if bad or name.startswith("!"):
        shown = " ".join(repr(ch) for ch in bad) or "'!' at the start"
        raise BadInput(
            f"user name {name!r} cannot be an OpenSSH signer: it contains {shown}, which ssh-keygen reads as a "
            'pattern; register the key for a user whose name has none of , * ? " and no leading !.'
        )
    # ssh-keygen splits the line at spaces unless the field is in double quotes; '#' would start a comment.
    return f'"{name}"' if " " in name or name.startswith("#") else name


def allowed_signers_line(
    name: str, key: PublicKey, valid_after: dt.datetime, valid_before: dt.datetime | None = None
) -> str:
    """One line of an allowed_signers file, without its newline."""
    options = f'namespaces="{NAMESPACE}",valid-after="{ssh_time(valid_after)}"'
    if valid_before is not None:
        if valid_before < valid_after:
            raise ValueError("a key cannot be revoked before it was registered")
        options += f',valid-before="{ssh_time(valid_before)}"'
    return f"{principal(name)} {options} {key.openssh}"


def verify_command(
    name: str,
    statement_file: str,
    signed_at: dt.datetime,
    signature_file: str | None = None,
    allowed_signers: str = "allowed_signers",
) -> str:
    """The shell command (POSIX quoting) that checks one statement with plain OpenSSH."""
    principal(name)  # refuse names an allowed_signers file cannot hold before printing a command for one
    sig = signature_file or statement_file + ".sig"
    return (
        f"ssh-keygen -Y verify -f {shlex.quote(allowed_signers)} -I {shlex.quote(name)} -n {NAMESPACE} "
        f"-O verify-time={ssh_time(signed_at)} -s {shlex.quote(sig)} < {shlex.quote(statement_file)}"
    )
