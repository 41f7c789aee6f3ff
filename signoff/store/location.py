"""Where the register lives and whether its schema is one this version can use.

Imports nothing heavy: read commands go through here before deciding what else to load.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from signoff.errors import BadInput, SignoffError

DEFAULT_DB = "signoff.db"
# The newest migration in db/versions; a test checks it against Alembic's own view of the head.
SCHEMA_HEAD = "0007"
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")


@dataclass(frozen=True)
class Target:
    """Which register: a SQLite file (the embedded default) or a PostgreSQL database by URL.

    ``url`` may carry a password; ``str()`` and ``repr()`` never do, so a Target can be put in any
    message, log line or audit record as it is.
    """

    url: str
    path: Path | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.path is not None

    def __str__(self) -> str:
        if self.path is not None:
            return str(self.path)
        return redact_url(self.url)

    def __repr__(self) -> str:
        return f"Target({self!s})"

    def exists(self) -> bool:
        return self.path.exists() if self.path is not None else True


DbRef = Path | str | Target
SERVER_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")
MASK = "***"
# Query parameters whose values are never shown: libpq's password, sslpassword and passfile, and
# anything else whose name says it is a secret. (sslkey and sslcert are paths to files and may stay.)
_SECRET_WORDS = ("pass", "secret", "token")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Every secret seen in a URL this process was given: scrub() removes them from any text.
_SECRETS: set[str] = set()
UNPARSEABLE_URL = (
    "the database URL could not be read and is not shown, as it may hold a password: percent-encode "
    "@ : / ? # and % in the user name and password (@ as %40), or better, keep the password out of the URL "
    "with PGPASSWORD, ~/.pgpass or PGSERVICE."
)


def _is_secret_param(name: str) -> bool:
    lowered = unquote(name).lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _split_url(url: str) -> tuple[str, str, str, str, str]:
    """scheme, userinfo, hosts, path and query of a server URL; BadInput (not echoing it) if unreadable."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise BadInput(UNPARSEABLE_URL)
    if "#" in rest:
        raise BadInput(UNPARSEABLE_URL)  # an unencoded '#' in a password would cut the URL short
    end = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    path, _, query = tail.partition("?")
    if "@" in tail or netloc.count("@") > 1:
        # An unencoded '@', '/' or '?' in a password: a driver would take part of it for the host.
        raise BadInput(UNPARSEABLE_URL)
    userinfo, at, hosts = netloc.rpartition("@")
    if at and not userinfo:
        raise BadInput(UNPARSEABLE_URL)
    for hostspec in hosts.split(","):
        _, _, port = hostspec.rpartition("]") if hostspec.startswith("[") else ("", "", hostspec)
        port = port.rpartition(":")[2] if ":" in port else ""
        if port and not port.isdigit():
            raise BadInput(UNPARSEABLE_URL)  # e.g. an unencoded '/' cut a password short: never echo it
    if _BAD_PERCENT.search(userinfo) or _BAD_PERCENT.search(query):
        raise BadInput(UNPARSEABLE_URL)
    return scheme, userinfo, hosts, path, query


def url_secrets(url: str) -> list[str]:
    """The password and secret query-parameter values in a URL, as written and decoded."""
    _, userinfo, _, _, query = _split_url(url)
    found: list[str] = []
    if ":" in userinfo:
        found.append(userinfo.split(":", 1)[1])
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        if eq and _is_secret_param(name):
            found.append(value)
    return [v for raw in found if raw for v in {raw, unquote(raw), quote(unquote(raw), safe="")}]


def redact_url(url: str) -> str:
    """The URL without any password: userinfo passwords and secret query parameters become ***.

    Used for everything that is printed, logged or recorded (the audit log keeps what it is given forever).
    """
    try:
        scheme, userinfo, hosts, path, query = _split_url(url)
    except BadInput:
        return "(a database URL that could not be read)"
    if ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":" + MASK
    shown = []
    for pair in query.split("&") if query else []:
        name, eq, _ = pair.partition("=")
        shown.append(f"{name}={MASK}" if eq and _is_secret_param(name) else pair)
    return f"{scheme}://{userinfo}{'@' if userinfo else ''}{hosts}{path}{'?' if shown else ''}{'&'.join(shown)}"


def scrub(text: str) -> str:
    """``text`` with every secret of every URL this process has seen replaced by ***: a last guard for
    driver messages, which may quote what they were given."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


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
                f"--db {text.split('://')[0][:40]}://… is not supported: use a file path or postgresql+psycopg://USER@HOST/DB."
            )
        if text.startswith(("postgresql://", "postgres://")):
            text = "postgresql+psycopg://" + text.split("://", 1)[1]
        _SECRETS.update(url_secrets(text))  # refuses a URL it cannot read, without echoing it
        return Target(text, None)
    path = Path(text)
    return Target(f"sqlite:///{path}", path)


EVIDENCE_DIR_KEY = "evidence_dir"


def shared_evidence_dir() -> Path | None:
    """SIGNOFF_EVIDENCE_DIR, which must be absolute: a relative folder would be a different folder
    from each working directory, and the same register would pass and fail its checks."""
    shared = os.environ.get("SIGNOFF_EVIDENCE_DIR")
    if not shared:
        return None
    folder = Path(shared).expanduser()
    if not folder.is_absolute():
        raise BadInput(
            f"SIGNOFF_EVIDENCE_DIR must be an absolute path (it is {shared!r}): "
            "give the shared folder's full path, the same on every user's machine."
        )
    return folder


def evidence_dir(db: DbRef) -> Path:
    """Content-addressed copies of evidence files: beside a SQLite file; for a server, a shared folder.

    With PostgreSQL the board's users share one database from several machines, so the evidence
    store must be a shared folder too. ``init`` records SIGNOFF_EVIDENCE_DIR in the register, so
    every later command finds the same folder; a machine that mounts it elsewhere sets
    SIGNOFF_EVIDENCE_DIR to its own absolute path, which wins.
    """
    t = target(db)
    if t.path is not None:
        return t.path.with_name(t.path.name + ".evidence")
    shared = shared_evidence_dir() or _recorded_evidence_dir(t)
    if shared is None:
        raise BadInput(
            "evidence files of a PostgreSQL register live in a shared folder: set SIGNOFF_EVIDENCE_DIR to it "
            "(the same folder on every user's machine)."
        )
    return shared


def _recorded_evidence_dir(t: Target) -> Path | None:
    import psycopg

    from signoff.store.pg_reader import dsn

    try:
        with psycopg.connect(dsn(t.url), autocommit=True, connect_timeout=15) as conn:
            exists = conn.execute("SELECT to_regclass('meta') IS NOT NULL").fetchone()
            if not exists or not exists[0]:
                return None
            row = conn.execute("SELECT value FROM meta WHERE key = %s", (EVIDENCE_DIR_KEY,)).fetchone()
    except psycopg.Error as err:
        raise translate(err, t) from None
    return Path(row[0]) if row else None


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
    if "locked" in text or "busy" in text or "lock timeout" in text or "statement timeout" in text:
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
    if "permission denied" in text or "must be owner" in text:
        return SignoffError(
            f"the database login in {db_path} may not do that ({scrub(str(err).strip().splitlines()[0])}): "
            "the register's owner grants what signoff needs with 'signoff db roles --apply'."
        )
    if "no schema has been selected" in text:
        return BadInput(
            f"the schema named in the search_path of {db_path} does not exist: create it "
            "(CREATE SCHEMA name AUTHORIZATION owner) or correct options=-csearch_path=… in the URL."
        )
    if "authentication failed" in text or ("role" in text and "does not exist" in text):
        return SignoffError(
            f"the database server refused the login for {db_path}: check the user and password in SIGNOFF_DB."
        )
    if "database" in text and "does not exist" in text:
        return SignoffError(f"the database {db_path} does not exist: create it (createdb) and run 'signoff init'.")
    if "too many clients" in text or "connection slots are reserved" in text:
        return SignoffError(
            f"the database server for {db_path} has no free connections (max_connections reached): "
            "wait for other users' commands to finish and run it again, or ask its administrator to raise max_connections."
        )
    if "connection" in text or "could not connect" in text or "server closed" in text:
        return SignoffError(
            f"cannot reach the database server for {db_path}: check that it is running and the host in SIGNOFF_DB."
        )
    first_line = scrub(str(err).strip().splitlines()[0]) if str(err).strip() else type(err).__name__
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
