"""A content-addressed copy of every evidence file, beside the database, named by its SHA-256.

The copy is written before the database transaction and is idempotent: a file whose record
never committed is an unreferenced blob, harmless, and the same bytes are only stored once.
A stored copy that no longer has the SHA-256 it is named by is damaged: adding the genuine file
again (its hash checked first) replaces it, and ``put`` says so.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from signoff.errors import BadInput, SignoffError


def _disk_full(err: OSError, store: Path) -> SignoffError | None:
    """The documented disk-full sentence for a copy that ran out of room (the partial copy is removed)."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return SignoffError(
            f"the disk holding {store} is full: free some space and run the command again; nothing was written."
        )
    return None


@dataclass(frozen=True)
class Stored:
    digest: str
    size: int
    found: Literal["absent", "intact", "damaged"]  # the stored copy before this put


def blob_path(store: Path, digest: str) -> Path:
    return store / digest[:2] / digest


def sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def put(store: Path, source: Path) -> Stored:
    """Copy ``source`` into the store unless an intact copy is already there; say what was there.

    ``source`` is hashed first, so a damaged copy is only ever replaced by bytes that have the
    SHA-256 the copy is named by.
    """
    if not source.is_file():
        raise BadInput(f"evidence file {source} does not exist or is not a file: check the path.")
    digest, size = sha256_file(source)
    target = blob_path(store, digest)
    found: Literal["absent", "intact", "damaged"] = "absent"
    if target.exists() or target.is_symlink():
        found = "intact" if target.is_file() and sha256_file(target)[0] == digest else "damaged"
        if found == "intact":
            return Stored(digest, size, found)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    except OSError as err:
        raise _disk_full(err, store) or err from None
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            try:
                shutil.copyfileobj(src, out)
                out.flush()
                os.fsync(out.fileno())
            except OSError as err:
                raise _disk_full(err, store) or err from None
        copied, _ = sha256_file(Path(tmp))
        if copied != digest:
            raise BadInput(f"evidence file {source} changed while it was being copied: try again.")
        os.replace(tmp, target)  # a damaged copy is read-only, but replacing it needs only the folder
        os.chmod(target, 0o444)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return Stored(digest, size, found)
