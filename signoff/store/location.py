"""Where the register lives and whether its schema is one this version can use.

Imports nothing heavy: read commands go through here before deciding what else to load.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from signoff.errors import SignoffError

DEFAULT_DB = "signoff.db"
# The newest migration in db/versions; a test checks it against Alembic's own view of the head.
SCHEMA_HEAD = "0002"
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002")


def resolve(db: str | None) -> Path:
    return Path(db or os.environ.get("SIGNOFF_DB") or DEFAULT_DB)


def evidence_dir(db_path: Path) -> Path:
    """Content-addressed copies of evidence files, beside the database."""
    return db_path.with_name(db_path.name + ".evidence")


def translate(err: sqlite3.Error | Exception, db_path: Path) -> SignoffError:
    """Turn a driver error into one sentence a secretary can act on."""
    from signoff.errors import Conflict

    text = str(err).lower()
    if "locked" in text or "busy" in text:
        return Conflict(
            f"the register {db_path} stayed locked by another user: wait a moment and run the command again."
        )
    if "readonly" in text or "read-only" in text:
        return SignoffError(
            f"the register {db_path} cannot be written (read-only file or folder): check its permissions and try again."
        )
    if "full" in text or ("disk i/o error" in text and _nearly_full(db_path)):
        # A completely full disk often shows as an I/O error creating the -shm or -wal file.
        return SignoffError(
            f"the disk holding {db_path} is full: free some space and run the command again; nothing was written."
        )
    if "disk i/o error" in text:
        return SignoffError(
            f"reading or writing {db_path} failed with a disk I/O error: check the disk, then run the command again."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return SignoffError(
            f"{db_path} is not a readable signoff register (corrupt or another kind of file): restore it from a backup."
        )
    if "unable to open" in text:
        return SignoffError(f"the register {db_path} cannot be opened: check the path and its folder's permissions.")
    return SignoffError(f"the register {db_path} could not be used ({err}).")


def _nearly_full(db_path: Path) -> bool:
    import shutil

    try:
        return shutil.disk_usage(db_path.resolve().parent).free < 1 << 20
    except OSError:
        return False


def check_revision(revision: str | None, db_path: Path) -> None:
    if revision is None:
        raise SignoffError(
            f"{db_path} is not an initialised signoff register: run 'signoff init --secretary NAME' first."
        )
    if revision not in KNOWN_REVISIONS:
        raise SignoffError(
            f"{db_path} was written by a newer version of signoff (schema {revision}): upgrade signoff to use it."
        )
    if revision != SCHEMA_HEAD:
        raise SignoffError(f"{db_path} uses an older schema ({revision}): run 'signoff db upgrade' first.")


def require_existing(db_path: Path) -> None:
    if not db_path.exists():
        raise SignoffError(
            f"no register at {db_path}: run 'signoff init --secretary NAME' there first, or pass --db PATH."
        )
