"""Where the register lives and whether its schema is one this version can use.

Imports nothing heavy: read commands go through here before deciding what else to load.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from signoff.errors import BadInput, SignoffError

DEFAULT_DB = "signoff.db"
# The newest migration in db/versions; a test checks it against Alembic's own view of the head.
SCHEMA_HEAD = "0005"
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005")


@dataclass(frozen=True)
class Target:
    """Which register: a SQLite file (the embedded default) or a PostgreSQL database by URL."""

    url: str
    path: Path | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    def __str__(self) -> str:
        if self.path is not None:
            return str(self.path)
        scheme, _, rest = self.url.partition("://")
        creds, at, host = rest.rpartition("@")
        if at and ":" in creds:  # never print a password
            creds = creds.split(":", 1)[0] + ":***"
        return f"{scheme}://{creds}{at}{host}"

    def exists(self) -> bool:
        return self.path.exists() if self.path is not None else True


DbRef = Path | str | Target
SERVER_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def target(db: DbRef) -> Target:
    """A plain path means SQLite; a postgresql:// URL means a PostgreSQL server."""
    if isinstance(db, Target):
        return db
    text = str(db)
    if isinstance(db, str) and "://" in text:
        if text.startswith("sqlite:///"):
            path = Path(text[len("sqlite:///") :])
            return Target(f"sqlite:///{path}", path)
        if not text.startswith(SERVER_SCHEMES):
            raise BadInput(
                f"--db {text.split('://')[0]}://… is not supported: use a file path or postgresql+psycopg://USER@HOST/DB."
            )
        if text.startswith(("postgresql://", "postgres://")):
            text = "postgresql+psycopg://" + text.split("://", 1)[1]
        return Target(text, None)
    path = Path(text)
    return Target(f"sqlite:///{path}", path)


def evidence_dir(db: DbRef) -> Path:
    """Content-addressed copies of evidence files: beside a SQLite file; for a server, SIGNOFF_EVIDENCE_DIR.

    With PostgreSQL the board's users share one database from several machines, so the evidence
    store must be a shared folder too; SIGNOFF_EVIDENCE_DIR must name it (a default
    that depends on the working folder would make the same register pass and fail checks).
    """
    t = target(db)
    if t.path is not None:
        return t.path.with_name(t.path.name + ".evidence")
    shared = os.environ.get("SIGNOFF_EVIDENCE_DIR")
    if not shared:
        raise BadInput(
            "evidence files of a PostgreSQL register live in a shared folder: set SIGNOFF_EVIDENCE_DIR to it "
            "(the same folder on every user's machine)."
        )
    return Path(shared)


def translate(err: sqlite3.Error | Exception, db_path: DbRef) -> SignoffError:
    """Turn a driver error into one sentence a secretary can act on."""
    from signoff.errors import Conflict

    text = str(err).lower()
    # Before 'locked': PostgreSQL's deadlock message says 'blocked by process'.
    if "could not serialize" in text or "deadlock detected" in text:
        from signoff.errors import TransientConflict

        return TransientConflict(
            f"another user changed the register {db_path} at the same moment, again and again: run the command again."
        )
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
    if "authentication failed" in text or ("role" in text and "does not exist" in text):
        return SignoffError(
            f"the database server refused the login for {db_path}: check the user and password in SIGNOFF_DB."
        )
    if "database" in text and "does not exist" in text:
        return SignoffError(f"the database {db_path} does not exist: create it (createdb) and run 'signoff init'.")
    if "connection" in text or "could not connect" in text or "server closed" in text:
        return SignoffError(
            f"cannot reach the database server for {db_path}: check that it is running and the host in SIGNOFF_DB."
        )
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return SignoffError(f"the register {db_path} could not be used ({first_line}).")


def _nearly_full(db_path: DbRef) -> bool:
    import shutil

    t = target(db_path)
    if t.path is None:
        return False
    try:
        return shutil.disk_usage(t.path.resolve().parent).free < 1 << 20
    except OSError:
        return False


def check_revision(revision: str | None, db_path: DbRef) -> None:
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


def require_existing(db_path: DbRef) -> None:
    if not target(db_path).exists():
        raise SignoffError(
            f"no register at {db_path}: run 'signoff init --secretary NAME' there first, or pass --db PATH."
        )
