"""Faults a register meets in the field: each gives one clear sentence, a non-zero exit, no partial write.

And after the fault is cleared, the very next run works.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_support import (
    DOCUMENTED_EXIT_CODES,
    Run,
    assert_nothing_written,
    check_register,
    cli_env,
    make_register,
    run_signoff,
    table_counts,
)

from signoff.store import location

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

WRITE = ("evidence", "add", "IT-0", "k1", "--dated", "2013-06-01", "--note", "fault test")


def one_sentence(r: Run, code: int, *words: str) -> None:
    """The documented exit code, and stderr is a single 'signoff: ...' sentence naming the cause."""
    assert r.code == code, (r.code, r.err)
    assert r.code in DOCUMENTED_EXIT_CODES
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert lines[0].startswith("signoff: ") and lines[0].endswith("."), r.err
    assert "Traceback" not in r.err and "database is locked" not in r.err and "sqlalche.me" not in r.err
    for word in words:
        assert word in lines[0], (word, r.err)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def big_matrix(path: Path, rows: int = 3000) -> Path:
    lines = ["item_ref,item_kind,item_title,item_due,evidence_key,evidence_description,present_by"]
    lines += [f"BIG-{n},ofsted-recommendation,Item {n} {'x' * 300},,k1,Evidence,2013-06-01" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def small_disk(where: Path, size: str = "8m") -> Iterator[Path]:
    where.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({proc.stderr.decode().strip()}); see the max_page_count test")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Fill the small disk until only ``leave`` bytes are free."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free - leave
    with filler.open("wb") as fh, contextlib.suppress(OSError):
        while free > 0:
            fh.write(b"\0" * min(free, 1 << 16))
            fh.flush()
            free -= 1 << 16
    return filler


def test_disk_full_on_a_small_filesystem(tmp_path: Path) -> None:
    with small_disk(tmp_path / "small") as disk:
        db = disk / "r.db"
        make_register(db, workers=1)
        matrix = big_matrix(tmp_path / "big.csv")
        counts = table_counts(db)
        # Some space left, not enough for the import: SQLITE_FULL in the middle of the transaction.
        filler = fill(disk, 256 * 1024)
        r = run_signoff(db, "matrix", "import", str(matrix), actor="sec")
        one_sentence(r, 1, "is full", "nothing was written")
        assert_nothing_written(db, counts)
        check_register(db)
        # No space at all: even the -wal/-shm files cannot be made (an I/O error, reported as a full disk).
        filler.unlink()
        closed_cleanly(db)
        filler = fill(disk, 0)
        for args, actor in ((WRITE, "sec-0"), (("item", "list"), None)):
            r = run_signoff(db, *args, actor=actor)
            one_sentence(r, 1, "is full")
        filler.unlink()
        assert_nothing_written(db, counts)
        check_register(db)
        # Space freed: the very next run works.
        r = run_signoff(db, "matrix", "import", str(matrix), actor="sec")
        assert r.code == 0, r.err
        assert table_counts(db)["items"] == counts["items"] + 3000
        check_register(db)


def test_disk_full_forced_with_max_page_count(tmp_path: Path) -> None:
    """The same promise without root: SIGNOFF_MAX_PAGE_COUNT caps the file as a full disk would."""
    db = tmp_path / "r.db"
    make_register(db, workers=1)
    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    matrix = big_matrix(tmp_path / "big.csv")
    counts = table_counts(db)
    r = run_signoff(
        db, "matrix", "import", str(matrix), actor="sec", env=cli_env(SIGNOFF_MAX_PAGE_COUNT=str(pages + 5))
    )
    one_sentence(r, 1, "is full", "nothing was written")
    assert_nothing_written(db, counts)
    check_register(db)
    r = run_signoff(db, "matrix", "import", str(matrix), actor="sec")
    assert r.code == 0, r.err
    check_register(db)


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable even for root (chattr +i); as another user, chmod is enough."""
    if os.geteuid() == 0:
        proc = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip(f"running as root and chattr +i is not supported here: {proc.stderr.decode().strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


def closed_cleanly(db: Path) -> None:
    """Close this process's connections so SQLite folds the WAL in and removes -wal and -shm."""
    from signoff.store import uow

    uow.close_connections()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert not db.with_name(db.name + "-wal").exists()


def test_read_only_database_file(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    make_register(db, workers=1)
    counts = table_counts(db)
    closed_cleanly(db)
    digest = file_digest(db)
    with immutable(db):
        r = run_signoff(db, *WRITE, actor="sec-0")
        one_sentence(r, 1, "cannot be written", "read-only")
        reads = run_signoff(db, "item", "list", "--json")
        assert reads.code == 0, reads.err  # reading a read-only register still works
    assert file_digest(db) == digest
    assert_nothing_written(db, counts)
    r = run_signoff(db, *WRITE, actor="sec-0")
    assert r.code == 0, r.err
    check_register(db)


def test_read_only_directory(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "r.db"
    make_register(db, workers=1)
    counts = table_counts(db)
    closed_cleanly(db)  # no -wal/-shm left: SQLite must create them, and cannot
    digest = file_digest(db)
    with immutable(folder):
        # WAL mode needs to create DB-wal and DB-shm beside the file: a read-only folder stops writes.
        r = run_signoff(db, *WRITE, actor="sec-0")
        one_sentence(r, 1, "cannot be opened", "permissions")
        r = run_signoff(db, "db", "backup", str(folder / "copy.db"))
        one_sentence(r, 1, "cannot be opened")
    assert file_digest(db) == digest
    assert_nothing_written(db, counts)
    assert not (folder / "copy.db").exists()
    r = run_signoff(db, *WRITE, actor="sec-0")
    assert r.code == 0, r.err
    check_register(db)


def test_database_locked_past_the_timeout(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    make_register(db, workers=1)
    counts = table_counts(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock and does not let go
    try:
        # Bounded: a few retries of the busy timeout, then it gives up (run_signoff's timeout fails a hang).
        r = run_signoff(db, *WRITE, actor="sec-0", env=cli_env(SIGNOFF_BUSY_TIMEOUT_MS="300"))
        one_sentence(r, 5, "stayed locked", "run the command again")
        reads = run_signoff(db, "item", "list", "--json")  # readers are not blocked by the writer
        assert reads.code == 0, reads.err
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_nothing_written(db, counts)
    r = run_signoff(db, *WRITE, actor="sec-0")
    assert r.code == 0, r.err
    check_register(db)


def test_missing_database_file(tmp_path: Path) -> None:
    db = tmp_path / "nowhere.db"
    for args, actor in (
        (WRITE, "sec-0"),
        (("item", "list"), None),
        (("audit", "verify"), None),
        (("db", "upgrade"), None),
    ):
        r = run_signoff(db, *args, actor=actor)
        one_sentence(r, 1, "no register at", "signoff init")
        assert not db.exists()  # nothing was created by accident
    r = run_signoff(db, "init", "--secretary", "sec")
    assert r.code == 0, r.err


@pytest.mark.parametrize("damage", ["random-bytes", "truncated", "text-file", "zeroed-header"])
def test_corrupt_database_file(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "r.db"
    make_register(db, workers=1)
    closed_cleanly(db)
    good = tmp_path / "good.db"
    assert run_signoff(db, "db", "backup", str(good)).code == 0
    data = db.read_bytes()
    if damage == "random-bytes":
        db.write_bytes(os.urandom(len(data)))
    elif damage == "truncated":
        db.write_bytes(data[: len(data) // 3])
    elif damage == "text-file":
        db.write_text("item_ref,item_kind\nOF-01,ofsted-recommendation\n")
    else:
        db.write_bytes(b"\0" * 100 + data[100:])
    digest = file_digest(db)
    commands = [
        (WRITE, "sec-0"),
        (("item", "list"), None),
        (("audit", "verify"), None),
        (("db", "backup", str(tmp_path / "copy.db")), None),
        (("db", "upgrade"), None),
    ]
    for args, actor in commands:
        r = run_signoff(db, *args, actor=actor)
        assert r.code == 1, (args, r.err)
        one_sentence(r, 1)
        assert any(w in r.err for w in ("not a readable signoff register", "not an initialised", "failed")), r.err
    assert file_digest(db) == digest  # nothing was written into the damaged file
    assert not (tmp_path / "copy.db").exists()
    # Restored from the backup, the next run works.
    shutil.copy(good, db)
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    r = run_signoff(db, *WRITE, actor="sec-0")
    assert r.code == 0, r.err
    check_register(db)


def test_database_written_by_a_newer_schema(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    make_register(db, workers=1)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    conn.commit()
    conn.close()
    closed_cleanly(db)
    digest = file_digest(db)
    for args, actor in ((WRITE, "sec-0"), (("item", "list"), None), (("db", "upgrade"), None)):
        r = run_signoff(db, *args, actor=actor)
        one_sentence(r, 1, "newer version of signoff", "9999_from_the_future")
    assert file_digest(db) == digest
    # With the matching version installed (simulated: the schema mark put back), the next run works.
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = ?", (location.SCHEMA_HEAD,))
    conn.commit()
    conn.close()
    r = run_signoff(db, *WRITE, actor="sec-0")
    assert r.code == 0, r.err
    check_register(db)


def test_disk_full_while_copying_an_evidence_file(tmp_path: Path) -> None:
    with small_disk(tmp_path / "small") as disk:
        db = disk / "r.db"
        make_register(db, workers=1)
        counts = table_counts(db)
        closed_cleanly(db)
        document = tmp_path / "case-audit.pdf"
        document.write_bytes(os.urandom(2 << 20))
        filler = fill(disk, 1 << 20)  # room for the register's own writes, not for the document
        r = run_signoff(
            db, "evidence", "add", "IT-0", "k1", "--file", str(document), "--dated", "2013-09-30", actor="sec"
        )
        one_sentence(r, 1, "is full", "nothing was written")
        assert not [p for p in (disk / "r.db.evidence").rglob("*") if p.is_file()]
        filler.unlink()
        assert table_counts(db)["evidence"] == counts["evidence"]
        r = run_signoff(
            db, "evidence", "add", "IT-0", "k1", "--file", str(document), "--dated", "2013-09-30", actor="sec"
        )
        assert r.code == 0, r.err
