"""The evidence matrix ("Appendix 1"): validate every row of a file before anything is written.

Rows are checked one at a time (``Validator``); what must be remembered between rows — each item
as its first row gave it, and the keys it has so far — is kept by a ``Seen`` store the caller picks.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from signoff.clock import strict_date
from signoff.domain.model import KINDS
from signoff.domain.names import MAX_TEXT, check_key, check_ref, check_text, has_control
from signoff.errors import BadInput

REQUIRED_COLUMNS: tuple[str, ...] = (
    "item_ref",
    "item_kind",
    "item_title",
    "item_due",
    "evidence_key",
    "evidence_description",
    "present_by",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("item_owner", "evidence_owner")  # older files without them still import


@dataclass(frozen=True)
class MatrixRowSpec:
    key: str
    description: str
    present_by: dt.date
    owner: str | None
    line: int


@dataclass
class ItemSpec:
    ref: str
    kind: str
    title: str
    due: dt.date | None
    owner: str | None
    line: int
    rows: list[MatrixRowSpec] = field(default_factory=list)


def _date(text: str, column: str) -> dt.date:
    try:
        return strict_date(text)
    except ValueError:
        raise ValueError(f"{column} {text!r} is not a YYYY-MM-DD date") from None


def decode(data: bytes, source: str) -> str:
    """Accept what Excel writes: UTF-8 with or without a BOM; say so plainly otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadInput(f"{source} is not UTF-8 text (byte {err.start}): save it from Excel as 'CSV UTF-8'.") from None


def _item_columns(
    raw_ref: str, kind: str, title_cell: str, due_cell: str, errs: list[str], kinds: tuple[str, ...]
) -> tuple[str, str, dt.date | None]:
    """Validate the item columns of one row; append what is wrong to ``errs``."""
    try:
        ref = check_ref(raw_ref)
    except BadInput:
        errs.append(f"item_ref {raw_ref!r} is not a valid ref")
        ref = raw_ref
    if kind not in kinds:
        errs.append(f"item_kind {kind!r} is not one of {', '.join(kinds)}")
    try:
        title = check_text(title_cell, "item_title")
    except BadInput as e:
        errs.append(str(e).rstrip("."))
        title = ""
    due = None
    if due_cell:
        try:
            due = _date(due_cell, "item_due")
        except ValueError as e:
            errs.append(str(e))
    return ref, title, due


def _owner(text: str, column: str, errs: list[str], known_good: set[str]) -> str | None:
    """An owner cell, checked as free text; a name already accepted on an earlier row is not checked again."""
    if not text:
        return None
    if text in known_good:
        return text
    try:
        owner = check_text(text, column, required=False) or None
    except BadInput as e:
        errs.append(str(e).rstrip("."))
        return None
    known_good.add(text)
    return owner


def bad_rows(source: str, problems: list[str]) -> str:
    """One sentence, then one line per bad row, so a secretary can work down the list."""
    return f"{source} has {len(problems)} bad row(s) and nothing was imported:\n" + "\n".join(problems)


@dataclass(frozen=True)
class ItemHead:
    """An item as its first good row of the file gave it."""

    ref: str
    kind: str
    title: str
    due: dt.date | None
    owner: str | None
    line: int
    columns: tuple[str, str, str]  # item_kind, item_title, item_due exactly as that row wrote them


class Seen(Protocol):
    """What the validator remembers of the rows it accepted: kept in memory for a small file, in a
    scratch table for a large one, so that a 500,000-row matrix is checked in bounded memory."""

    def item(self, ref: str) -> ItemHead | None: ...

    def keys(self, ref: str) -> set[str]: ...

    def accept(
        self,
        item: ItemHead,
        new: bool,
        line: int,
        key: str,
        description: str,
        present_by: dt.date,
        present_text: str,
        owner: str | None,
    ) -> None: ...


class InMemory:
    """Seen rows kept as ItemSpecs: ``parse_rows`` returns them."""

    def __init__(self) -> None:
        self.items: dict[str, ItemSpec] = {}
        self.heads: dict[str, ItemHead] = {}
        self.keys_of: dict[str, set[str]] = {}

    def item(self, ref: str) -> ItemHead | None:
        return self.heads.get(ref)

    def keys(self, ref: str) -> set[str]:
        return self.keys_of[ref]

    def accept(
        self,
        item: ItemHead,
        new: bool,
        line: int,
        key: str,
        description: str,
        present_by: dt.date,
        present_text: str,
        owner: str | None,
    ) -> None:
        if new:
            self.heads[item.ref] = item
            self.items[item.ref] = ItemSpec(item.ref, item.kind, item.title, item.due, item.owner, item.line)
            self.keys_of[item.ref] = set()
        self.keys_of[item.ref].add(key)
        self.items[item.ref].rows.append(MatrixRowSpec(key, description, present_by, owner, line))


class Validator:
    """Checks a matrix one row at a time; every bad line is collected, the good rows go to ``seen``.

    Only the item of the rows being read is held here (a matrix lists an item's rows together);
    an item met again further down is looked up in ``seen``. A row comes either as the list of cells
    a CSV or XLSX reader gives (``cells``, the fast path: no record is built per row) or as a dict of
    column → text (``row``).
    """

    CACHE = 4096  # distinct dates, keys and owner names remembered between rows

    def __init__(self, header: list[str], source: str, seen: Seen, kinds: tuple[str, ...] = KINDS) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise BadInput(
                f"{source} is missing column(s) {', '.join(missing)}: "
                f"the header must include {','.join(REQUIRED_COLUMNS)}."
            )
        self.header, self.source, self.seen, self.kinds = header, source, seen, kinds
        self.problems: list[str] = []
        self.items = 0
        self._ref: str | None = None  # the ref of the item whose head and keys are cached
        self._head: ItemHead | None = None
        self._keys: set[str] = set()
        self._dates: dict[str, dt.date] = {}
        self._good_keys: dict[str, str] = {}  # a key cell as written → the key it names
        self._owners: set[str] = set()
        # Where each column is: a name given twice is read from its last cell, as a dict of the row would.
        at = {name: i for i, name in enumerate(header)}
        self._width = len(header)
        self._named = sorted(at.values())  # the cells that make a row not blank (an unnamed one too, in a CSV)
        self._at = tuple(at[c] for c in REQUIRED_COLUMNS)
        self._owner_at = tuple(at.get(c) for c in OPTIONAL_COLUMNS)

    def _lookup(self, raw_ref: str) -> ItemHead | None:
        if raw_ref != self._ref:
            self._ref, self._head = raw_ref, self.seen.item(raw_ref)
            self._keys = self.seen.keys(self._head.ref) if self._head is not None else set()
        return self._head

    def row(self, line: int, rec: dict[Any, Any], stripped: bool = False) -> None:
        """Check one record (a row as a dict of column → text; a value None means a missing cell)."""
        if None in rec or None in rec.values():
            found = rec[None] if isinstance(rec.get(None), int) else sum(v is not None for k, v in rec.items() if k)
            self.problems.append(f"line {line}: wrong number of columns (expected {len(self.header)}, found {found})")
            return
        values = rec if stripped else {k: v.strip() for k, v in rec.items() if k}
        self._check(line, [values.get(name, "") if name else "" for name in self.header])

    def cells(self, line: int, cells: list[str]) -> None:
        """Check one row given as its cells in header order, as read (not yet stripped)."""
        if len(cells) != self._width:
            self.problems.append(f"line {line}: wrong number of columns (expected {self._width}, found {len(cells)})")
            return
        self._check(line, list(map(str.strip, cells)))

    def _check(self, line: int, cells: list[str]) -> None:
        """The checks proper, on a row of stripped cells of the header's width."""
        at = self._at
        if not cells[at[0]] and not any(cells[i] for i in self._named):
            return
        errs: list[str] = []
        raw_ref, kind, title_cell, due_cell = cells[at[0]], cells[at[1]], cells[at[2]], cells[at[3]]
        item_columns = (kind, title_cell, due_cell)
        item = self._head if raw_ref == self._ref else self._lookup(raw_ref)
        if item is not None and item.columns == item_columns:
            ref, title, due = item.ref, item.title, item.due
        else:
            ref, title, due = _item_columns(raw_ref, kind, title_cell, due_cell, errs, self.kinds)
            if item is not None and not errs:
                if item.kind != kind:
                    errs.append(f"item_kind {kind!r} conflicts with {item.kind!r} on line {item.line}")
                if item.title != title:
                    errs.append(f"item_title conflicts with the title on line {item.line}")
                if item.due != due:
                    errs.append(f"item_due conflicts with the due date on line {item.line}")
        key_cell = cells[at[4]]
        key = self._good_keys.get(key_cell)
        if key is None:
            try:
                key = check_key(key_cell)
                if len(self._good_keys) >= self.CACHE:
                    self._good_keys.clear()
                self._good_keys[key_cell] = key
            except BadInput:
                errs.append(f"evidence_key {key_cell!r} is not a valid key")
                key = key_cell
        description = cells[at[5]]
        if not description or len(description) > MAX_TEXT or has_control(description):
            try:
                description = check_text(description, "evidence_description")
            except BadInput as e:
                errs.append(str(e).rstrip("."))
                description = ""
        present_cell = cells[at[6]]
        present_by = self._dates.get(present_cell)
        if present_by is None:
            try:
                present_by = _date(present_cell, "present_by")
                if len(self._dates) >= self.CACHE:
                    self._dates.clear()
                self._dates[present_cell] = present_by
            except ValueError as e:
                errs.append(str(e))
        if present_by is not None and due is not None and present_by > due:
            errs.append(
                f"present_by {present_by.isoformat()} is after the item's due date {due.isoformat()}: "
                f"evidence is presented before the item is due"
            )
        if item is not None and not errs and key in self._keys:
            errs.append(f"evidence_key {key!r} appears twice for {ref}")
        if errs:
            self.problems.append(f"line {line}: " + "; ".join(errs))
            return
        assert present_by is not None
        if len(self._owners) >= self.CACHE:
            self._owners.clear()
        item_at, evidence_at = self._owner_at
        item_owner = _owner(cells[item_at] if item_at is not None else "", "item_owner", errs, self._owners)
        evidence_owner = _owner(
            cells[evidence_at] if evidence_at is not None else "", "evidence_owner", errs, self._owners
        )
        if errs:
            self.problems.append(f"line {line}: " + "; ".join(errs))
            return
        new = item is None
        if item is None:
            item = ItemHead(ref, kind, title, due, item_owner, line, item_columns)
            self._ref, self._head, self._keys = raw_ref, item, set()
            self.items += 1
        self._keys.add(key)
        # present_by's cell is exactly its date's ISO text: strict_date takes nothing else
        self.seen.accept(item, new, line, key, description, present_by, present_cell, evidence_owner)

    def finish(self) -> None:
        """Raise one BadInput listing every bad line, or saying the file has no rows."""
        if self.problems:
            raise BadInput(bad_rows(self.source, self.problems))
        if not self.items:
            raise BadInput(f"{self.source} has no rows: add one row per evidence requirement under the header.")


def parse_rows(
    records: Iterable[dict[str, str]],
    header: list[str],
    source: str,
    first_line: int = 2,
    kinds: tuple[str, ...] = KINDS,
    stripped: bool = False,
) -> list[ItemSpec]:
    """Validate every row; raise one BadInput listing every bad line, or return the items."""
    seen = InMemory()
    v = Validator(header, source, seen, kinds)
    for offset, rec in enumerate(records):
        v.row(first_line + offset, rec, stripped)
    v.finish()
    return list(seen.items.values())


def check_csv(lines: Iterable[str], source: str, seen: Seen, kinds: tuple[str, ...] = KINDS) -> None:
    """Validate every row of a CSV matrix read line by line into ``seen``; raise one BadInput listing
    every bad line. Blank lines are skipped, as DictReader does."""
    reader = csv.reader(lines)
    try:
        header = [h.strip() for h in next(reader, [])]
        v = Validator(header, source, seen, kinds)
        check = v.cells
        # csv line numbers: header is line 1; quoted newlines are rare in matrices and counted as rows
        line = 1
        for row in reader:
            if row:
                line += 1
                check(line, row)
    except csv.Error as err:
        raise BadInput(f"{source} is not a readable CSV file ({err}): save it again as CSV.") from None
    v.finish()


def parse_csv(data: bytes, source: str, kinds: tuple[str, ...] = KINDS) -> list[ItemSpec]:
    seen = InMemory()
    check_csv(io.StringIO(decode(data, source), newline=""), source, seen, kinds)
    return list(seen.items.values())
