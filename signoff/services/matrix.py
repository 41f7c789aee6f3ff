"""Importing the evidence matrix: check the whole file, then write it in one transaction.

Two passes, each in bounded memory whatever the file's size. The first reads the file a row at a
time and checks it without the register, keeping the good rows in a private scratch database (a
temporary SQLite file, not the register). The second, inside the write transaction, reads them back
an item at a time in parts of about ``PART_ROWS`` rows: compares each part with the register, adds
its new items and rows with executemany, and appends one ``matrix.import`` audit record for it. Any
conflict with the register rolls the whole transaction back, so the file goes in whole or not at
all, and the refusal is audited.
"""

from __future__ import annotations

import codecs
import datetime as dt
import gc
import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signoff.clock import strict_date
from signoff.domain import matrix as matrix_rules
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput
from signoff.services.common import Actor, in_unit_of_work, record_applied, require_role
from signoff.store.location import DbRef
from signoff.store.uow import UnitOfWork

# Rows per audit record (and per round of writes): a register of 100,000 items is imported as
# about a hundred records, each small enough to read, export and replay comfortably.
PART_ROWS = 1000


@dataclass(frozen=True)
class ImportResult:
    items_created: int
    items_existing: int
    rows_created: int
    rows_unchanged: int
    items_differing: tuple[str, ...] = ()  # registered items whose title or due date the file gives differently
    rows_left_out: int = 0  # rows the file still has that the secretary since removed from the matrix


# One item of the file as pass two reads it: (ref, kind, title, owner, due) and its rows
# (ref, key, description, present_by, owner, line), as the scratch database returns them.
Part = list[tuple[tuple[str, str, str, str | None, str | None], list[tuple[str, str, str, str, str | None, int]]]]


class Scratch:
    """The good rows of a matrix file, kept in a private temporary SQLite database (``matrix_rules.Seen``).

    sqlite3.connect("") makes a file that only this connection sees and that is deleted when it
    closes; its page cache is bounded, so a file of any size is held in a few MiB.
    """

    BATCH = 500

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-256")  # KiB: the file on disk holds the rest
        self.db.execute("BEGIN")
        self.db.execute(
            "CREATE TABLE items (ref TEXT NOT NULL UNIQUE, kind TEXT, title TEXT, due TEXT, owner TEXT,"
            " line INTEGER, c_kind TEXT, c_title TEXT, c_due TEXT)"
        )
        self.db.execute(
            "CREATE TABLE rows (line INTEGER PRIMARY KEY, ref TEXT, key TEXT, description TEXT,"
            " present_by TEXT, owner TEXT)"
        )
        self._items: dict[str, matrix_rules.ItemHead] = {}
        self._rows: list[tuple[int, str, str, str, str, str | None]] = []
        self._last: str | None = None
        self._indexed = False
        self.revisited = False  # an item's rows are not all together in the file
        self.kinds: set[str] = set()
        self.rows = 0
        self.sha256 = ""

    def close(self) -> None:
        self.db.close()

    def _flush(self) -> None:
        if self._items:
            self.db.executemany(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (h.ref, h.kind, h.title, h.due.isoformat() if h.due else None, h.owner, h.line, *h.columns)
                    for h in self._items.values()
                ],
            )
            self._items.clear()
        if self._rows:
            self.db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?)", self._rows)
            self._rows.clear()

    def item(self, ref: str) -> matrix_rules.ItemHead | None:
        head = self._items.get(ref)
        if head is not None:
            return head
        row = self.db.execute(
            "SELECT ref, kind, title, due, owner, line, c_kind, c_title, c_due FROM items WHERE ref = ?", (ref,)
        ).fetchone()
        if row is None:
            return None
        due = strict_date(row[3]) if row[3] else None
        return matrix_rules.ItemHead(row[0], row[1], row[2], due, row[4], row[5], (row[6], row[7], row[8]))

    def keys(self, ref: str) -> set[str]:
        self._flush()
        if not self._indexed:  # only a file that returns to an earlier item needs it
            self.db.execute("CREATE INDEX rows_ref ON rows (ref)")
            self._indexed = True
        return {k for (k,) in self.db.execute("SELECT key FROM rows WHERE ref = ?", (ref,))}

    def accept(
        self,
        item: matrix_rules.ItemHead,
        new: bool,
        line: int,
        key: str,
        description: str,
        present_by: dt.date,
        present_text: str,
        owner: str | None,
    ) -> None:
        if new:
            self._items[item.ref] = item
            self.kinds.add(item.kind)
            if len(self._items) >= self.BATCH:
                self._flush()
        elif item.ref != self._last:
            self.revisited = True
        self._last = item.ref
        self._rows.append((line, item.ref, key, description, present_text, owner))
        self.rows += 1
        if len(self._rows) >= self.BATCH:
            self._flush()

    def parts(self, size: int = PART_ROWS) -> Iterator[Part]:
        """The items in the order of their first row, each with its rows in file order, in parts of
        about ``size`` rows (an item is never split)."""
        self._flush()
        if self.revisited:
            cur = self.db.execute(
                "SELECT r.ref, r.key, r.description, r.present_by, r.owner, r.line"
                " FROM rows r JOIN items i ON i.ref = r.ref ORDER BY i.line, r.line"
            )
            heads = self.db.cursor().execute("SELECT ref, kind, title, owner, due FROM items ORDER BY line")
        else:
            # Each item's rows are together in the file, and the items were stored in the order of
            # their first rows: two plain scans in step, no join.
            cur = self.db.execute("SELECT ref, key, description, present_by, owner, line FROM rows ORDER BY line")
            heads = self.db.cursor().execute("SELECT ref, kind, title, owner, due FROM items ORDER BY rowid")
        part: Part = []
        rows: list[tuple[str, str, str, str, str | None, int]] = []
        n = 0
        last = None
        for row in cur:
            if row[0] != last:
                last = row[0]
                if n >= size:
                    yield part
                    part, n = [], 0
                head = next(heads)
                assert head[0] == last
                rows = []
                part.append((head, rows))
            rows.append(row)
            n += 1
        if part:
            yield part


def check_utf8(path: Path) -> str:
    """The file's SHA-256, read in blocks; a byte that is not UTF-8 is named by its offset."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 16):
            digest.update(block)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block)
            except UnicodeDecodeError as err:
                byte = offset - pending + err.start
                raise BadInput(
                    f"{path.name} is not UTF-8 text (byte {byte}): save it from Excel as 'CSV UTF-8'."
                ) from None
            offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as err:
        raise BadInput(
            f"{path.name} is not UTF-8 text (byte {offset - len(decoder.getstate()[0]) + err.start}): "
            "save it from Excel as 'CSV UTF-8'."
        ) from None
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 16):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def staged(path: Path, kinds: tuple[str, ...]) -> Iterator[Scratch]:
    """Pass one: check every row of a matrix file (CSV or XLSX) without the register, and keep the
    good rows in a scratch database; BadInput lists every bad line."""
    if not path.is_file():
        raise BadInput(f"matrix file {path} does not exist: check the path.")
    scratch = Scratch()
    try:
        if path.suffix.lower() == ".xlsx":
            _stage_xlsx(path, kinds, scratch)
        else:
            _stage_csv(path, kinds, scratch)
        yield scratch
    finally:
        scratch.close()


def _stage_csv(path: Path, kinds: tuple[str, ...], scratch: Scratch) -> None:
    scratch.sha256 = check_utf8(path)
    # Each row makes a handful of small acyclic objects; pausing the cycle collector while they are
    # made saves its repeated scans (about a tenth of the pass).
    gc.disable()
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            matrix_rules.check_csv(fh, path.name, scratch, kinds)
    finally:
        gc.enable()


def _stage_xlsx(path: Path, kinds: tuple[str, ...], scratch: Scratch) -> None:
    from signoff.services import xlsx_input

    scratch.sha256 = _file_digest(path)
    try:
        header, rows = xlsx_input.cells(path)
        v = matrix_rules.Validator(header, path.name, scratch, kinds)
        # A sheet row may be shorter or longer than its header: the cells past the header and those
        # under an unnamed column are not read, and missing ones are empty.
        named = [i for i, name in enumerate(header) if name]
        blank = [""] * len(header)
        for line, cells in enumerate(rows, start=2):
            row = blank.copy()
            for i in named:
                if i < len(cells):
                    row[i] = cells[i]
            v.cells(line, row)
    except BadInput:
        raise
    except Exception as err:  # openpyxl raises many kinds for a damaged workbook
        raise BadInput(f"{path.name} is not a readable Excel workbook ({err}): save it again from Excel.") from None
    v.finish()


def import_matrix(db_path: DbRef, actor_name: str, path: Path) -> ImportResult:
    from signoff.store.reader import Reader

    with Reader(db_path) as r:
        kinds = tuple(r.rules().flows)
    with staged(path, kinds) as scratch:
        return in_unit_of_work(
            db_path, actor_name, "matrix.import", lambda uow, actor: _write(uow, actor, path, scratch)
        )


_ITEM_COLUMNS = ("ref", "kind", "title", "owner", "due", "original_due", "state", "version", "created_at")
_ROW_COLUMNS = ("item_id", "key", "description", "present_by", "owner")


@dataclass
class _Tally:
    items_created: int = 0
    items_existing: int = 0
    rows_created: int = 0
    unchanged: int = 0
    left_out: int = 0
    differing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # items registered under another workflow
    clashes: list[str] = field(default_factory=list)  # rows the register cannot take


def _write(uow: UnitOfWork, actor: Actor, path: Path, scratch: Scratch) -> ImportResult:
    """Pass two, in the write transaction: part by part, compare with the register and write."""
    require_role(actor, REGISTER_ACTIONS["matrix.import"], "matrix import")
    known = uow.rules().flows
    gone = sorted(k for k in scratch.kinds if k not in known)
    if gone:
        raise BadInput(f"{path.name} names workflows no longer in force ({', '.join(gone)}): import it again.")
    if uow.target.is_sqlite:
        # This transaction's pages go to the write-ahead log as they are written rather than waiting
        # in SQLite's page cache (2 MiB by default): the import's memory stays flat.
        uow.rows("PRAGMA cache_size=-512")
    # A first import into an empty register has nothing to compare with.
    register_empty = not uow.rows("SELECT id FROM items LIMIT 1")
    several = scratch.rows > PART_ROWS
    t = _Tally()
    for number, part in enumerate(scratch.parts(), start=1):
        _write_part(uow, actor, path, scratch.sha256, part, known, register_empty, t, number if several else None)
    if uow.target.is_sqlite:
        uow.rows("PRAGMA cache_size=-2000")  # SQLite's default, for the connection's next use
    if t.problems:
        raise BadInput(f"{path.name} conflicts with the register and nothing was imported:\n" + "\n".join(t.problems))
    if t.clashes:
        raise BadInput(f"{path.name} conflicts with the register and nothing was imported:\n" + "\n".join(t.clashes))
    return ImportResult(t.items_created, t.items_existing, t.rows_created, t.unchanged, tuple(t.differing), t.left_out)


def _write_part(
    uow: UnitOfWork,
    actor: Actor,
    path: Path,
    sha256: str,
    part: Part,
    known: Any,
    register_empty: bool,
    t: _Tally,
    number: int | None,
) -> None:
    refs = [head[0] for head, _ in part]
    registered = [] if register_empty else _registered(uow, refs)
    existing = {r[1]: (r[0], r[2]) for r in registered}
    closed = {r[1] for r in registered if r[2] in known and r[3] in known[r[2]].final}
    # What each item has been: a file made before a title was corrected or a date moved agrees with it.
    history = _history(uow, [item_id for item_id, _ in existing.values()])
    titles = {r[1]: {r[4], *history.titles.get(r[0], ())} for r in registered}
    dues = {r[1]: {r[5], r[6], *history.dues.get(r[0], ())} for r in registered}
    t.items_existing += len(existing)
    for (ref, kind, title, _, due), rows in part:
        if ref in existing:
            if title not in titles[ref] or due not in dues[ref]:
                t.differing.append(ref)
            if existing[ref][1] != kind:
                t.problems.append(f"line {rows[0][5]}: {ref} is already registered as {existing[ref][1]}, not {kind}")
    if t.problems:
        return  # the import is refused: only the rest of the file's conflicts are still looked for
    now = uow.now
    new_items = [
        (ref, kind, title, owner, due, due, known[kind].initial, 1, now, now)
        for (ref, kind, title, owner, due), _ in part
        if ref not in existing
    ]
    have_rows: dict[tuple[int, str], tuple[str, str]] = {}
    if existing:
        ids_known = [item_id for item_id, _ in existing.values()]
        have_rows = {
            (int(item_id), str(key)): (description, present_by)
            for item_id, key, description, present_by in uow.rows(
                f"SELECT item_id, key, description, present_by FROM matrix_rows WHERE item_id IN ({_marks(ids_known)})",
                ids_known,
            )
        }
    writing = not t.clashes
    if writing:
        uow.insert_many("items", (*_ITEM_COLUMNS, "last_transition_at"), new_items)
    ids = {ref: item_id for ref, (item_id, _) in existing.items()}
    if new_items and writing:
        ids.update(_ids(uow, [i[0] for i in new_items]))
    new_rows: list[tuple[int, str, str, str, str | None]] = []
    audit_rows: list[Sequence[Any]] = []
    unchanged = left_out = 0
    for (ref, _, _, _, _), rows in part:
        item_id = ids.get(ref, 0)
        if ref not in existing:  # a new item: every row is new
            new_rows.extend(
                (item_id, key, description, present_by, owner) for _, key, description, present_by, owner, _ in rows
            )
            audit_rows.extend(row[:5] for row in rows)  # [ref, key, description, present_by, owner]
            continue
        for _, key, description, present_by, owner, line in rows:
            old = have_rows.get((item_id, key)) if ref in existing else None
            if old is None and ref in existing and (item_id, key) in history.removed:
                left_out += 1
            elif old is None and ref in closed:
                t.clashes.append(
                    f"line {line}: {ref} is signed off; reopen it before adding the evidence requirement {key!r}"
                )
            elif old is None:
                new_rows.append((item_id, key, description, present_by, owner))
                audit_rows.append([ref, key, description, present_by, owner])
            elif old[0] == description and present_by in {old[1], *history.present_by.get((item_id, key), ())}:
                unchanged += 1
            else:
                t.clashes.append(f"line {line}: {ref} already has a different {key!r} row")
    t.unchanged += unchanged
    t.left_out += left_out
    if t.clashes:
        return  # refused at the end: nothing more is written
    uow.insert_many("matrix_rows", _ROW_COLUMNS, new_rows)
    t.items_created += len(new_items)
    t.rows_created += len(new_rows)
    detail: dict[str, Any] = {
        "file": path.name,
        "sha256": sha256,
        # What replay rebuilds the new items and rows from: [ref, kind, title, owner, due] and
        # [ref, key, description, present_by, owner].
        "items": [[i[0], i[1], i[2], i[3], i[4]] for i in new_items],
        "rows": audit_rows,
        "rows_unchanged": unchanged,
        "rows_left_out": left_out,
    }
    if number is not None:
        detail["part"] = number  # a large file is recorded in parts, all in the one transaction
    record_applied(uow, actor, "matrix.import", detail=detail)


def _marks(values: list[Any]) -> str:
    return ", ".join("?" for _ in values)


def _registered(uow: UnitOfWork, refs: list[str]) -> list[tuple[int, str, str, str, str, str | None, str | None]]:
    """These refs' items (those registered): id, ref, kind, state, title, due date and original due date."""
    rows = uow.rows(
        f"SELECT id, ref, kind, state, title, due, original_due FROM items WHERE ref IN ({_marks(refs)})", refs
    )
    return [(int(i), str(r), str(k), str(st), str(t), d, o) for i, r, k, st, t, d, o in rows]


def _ids(uow: UnitOfWork, refs: list[str]) -> dict[str, int]:
    rows = uow.rows(f"SELECT ref, id FROM items WHERE ref IN ({_marks(refs)})", refs)
    return {str(ref): int(item_id) for ref, item_id in rows}


@dataclass
class _History:
    titles: dict[int, set[str]] = field(default_factory=dict)  # item id → titles it had before an edit
    dues: dict[int, set[str | None]] = field(default_factory=dict)  # item id → due dates before a reschedule
    present_by: dict[tuple[int, str], set[str]] = field(default_factory=dict)  # row → dates before a reschedule
    removed: set[tuple[int, str]] = field(default_factory=set)  # rows removed and not added again


def _history(uow: UnitOfWork, item_ids: list[int]) -> _History:
    """The corrections made to these items since they were imported (item edit, item reschedule,
    matrix reschedule and remove): a file that still says what they were is not in conflict."""
    h = _History()
    if not item_ids:
        return h
    changes = uow.rows(
        "SELECT item_id, field, row_key, from_value, to_value FROM item_changes"
        f" WHERE item_id IN ({_marks(item_ids)}) ORDER BY id",
        item_ids,
    )
    for item_id, field_, row_key, from_value, to_value in changes:
        if field_ == "title" and from_value is not None:
            h.titles.setdefault(item_id, set()).add(from_value)
        elif field_ == "present_by" and row_key is not None and from_value is not None:
            h.present_by.setdefault((item_id, row_key), set()).add(from_value)
        elif field_ == "row" and row_key is not None:
            if to_value is None:
                h.removed.add((item_id, row_key))
            else:
                h.removed.discard((item_id, row_key))
    moves = uow.rows(f"SELECT item_id, from_due FROM reschedules WHERE item_id IN ({_marks(item_ids)})", item_ids)
    for item_id, from_due in moves:
        h.dues.setdefault(int(item_id), set()).add(from_due)
    return h
