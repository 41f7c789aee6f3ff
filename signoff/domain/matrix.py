"""The evidence matrix ("Appendix 1"): parse and validate a whole CSV before anything is written."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from signoff.clock import strict_date
from signoff.domain.model import KINDS
from signoff.domain.names import check_key, check_ref, check_text
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
        return data.decode("utf-8-sig")  # pragma: no mutate (codec names ignore case)
    except UnicodeDecodeError as err:
        raise BadInput(f"{source} is not UTF-8 text (byte {err.start}): save it from Excel as 'CSV UTF-8'.") from None


def _item_columns(values: dict[str, str], errs: list[str], kinds: tuple[str, ...]) -> tuple[str, str, dt.date | None]:
    """Validate the item columns of one row; append what is wrong to ``errs``."""
    try:
        ref = check_ref(values["item_ref"])
    except BadInput:
        errs.append(f"item_ref {values['item_ref']!r} is not a valid ref")
        ref = values["item_ref"]  # pragma: no mutate (a row with errors is reported, never used)
    kind = values["item_kind"]
    if kind not in kinds:
        errs.append(f"item_kind {kind!r} is not one of {', '.join(kinds)}")
    try:
        title = check_text(values["item_title"], "item_title")
    except BadInput as e:
        errs.append(str(e).rstrip("."))
        title = ""  # pragma: no mutate (a row with errors is reported, never used)
    due = None
    if values["item_due"]:
        try:
            due = _date(values["item_due"], "item_due")
        except ValueError as e:
            errs.append(str(e))
    return ref, title, due


def _owner(values: dict[str, str], column: str, errs: list[str], known_good: set[str]) -> str | None:
    """An owner cell, checked as free text; a name already accepted on an earlier row is not checked again."""
    text = values.get(column)
    if not text:
        return None
    if text in known_good:
        return text
    try:
        owner = check_text(text, column)  # cells arrive trimmed, so a non-empty cell stays non-empty
    except BadInput as e:
        errs.append(str(e).rstrip("."))
        return None
    known_good.add(text)  # pragma: no mutate (a cache: a miss only checks the name again)
    return owner


def bad_rows(source: str, problems: list[str]) -> str:
    """One sentence, then one line per bad row, so a secretary can work down the list."""
    return f"{source} has {len(problems)} bad row(s) and nothing was imported:\n" + "\n".join(problems)


def parse_rows(
    records: list[dict[str, str]],
    header: list[str],
    source: str,
    first_line: int = 2,
    kinds: tuple[str, ...] = KINDS,
    stripped: bool = False,
) -> list[ItemSpec]:
    """Validate every row; raise one BadInput listing every bad line, or return the items."""
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise BadInput(
            f"{source} is missing column(s) {', '.join(missing)}: the header must include {','.join(REQUIRED_COLUMNS)}."
        )
    problems: list[str] = []
    items: dict[str, ItemSpec] = {}
    keys_of: dict[str, set[str]] = {}
    # The item columns repeat on every row of an item: rows that repeat them exactly as the
    # item's first row did need no second validation (a 50,000-row matrix stays fast).
    first_seen: dict[str, tuple[str, str, str]] = {}
    dates: dict[str, dt.date] = {}
    owners: set[str] = set()
    for offset, rec in enumerate(records):
        line = first_line + offset
        if None in rec or None in rec.values():
            raw: dict[Any, Any] = rec
            found = raw[None] if isinstance(raw.get(None), int) else sum(v is not None for k, v in raw.items() if k)
            problems.append(f"line {line}: wrong number of columns (expected {len(header)}, found {found})")
            continue
        values = rec if stripped else {k: v.strip() for k, v in rec.items() if k}
        if not any(values.values()):
            continue
        errs: list[str] = []
        raw_ref, kind = values["item_ref"], values["item_kind"]
        item_columns = (kind, values["item_title"], values["item_due"])
        item = items.get(raw_ref)
        if item is not None and first_seen.get(raw_ref) == item_columns:  # pragma: no mutate (a shortcut)
            ref, title, due = item.ref, item.title, item.due
        else:
            ref, title, due = _item_columns(values, errs, kinds)
            if item is not None and not errs:
                if item.kind != kind:
                    errs.append(f"item_kind {kind!r} conflicts with {item.kind!r} on line {item.line}")
                if item.title != title:
                    errs.append(f"item_title conflicts with the title on line {item.line}")
                if item.due != due:
                    errs.append(f"item_due conflicts with the due date on line {item.line}")
        try:
            key = check_key(values["evidence_key"])
        except BadInput:
            errs.append(f"evidence_key {values['evidence_key']!r} is not a valid key")
            key = values["evidence_key"]  # pragma: no mutate (a row with errors is reported, never used)
        try:
            description = check_text(values["evidence_description"], "evidence_description")
        except BadInput as e:
            errs.append(str(e).rstrip("."))
            description = ""  # pragma: no mutate (a row with errors is reported, never used)
        present_by = dates.get(values["present_by"])  # pragma: no mutate (a cache: a miss parses the date again)
        if present_by is None:
            try:
                present_by = dates[values["present_by"]] = _date(values["present_by"], "present_by")
            except ValueError as e:
                errs.append(str(e))
        if present_by is not None and due is not None and present_by > due:
            errs.append(
                f"present_by {present_by.isoformat()} is after the item's due date {due.isoformat()}: "
                f"evidence is presented before the item is due"
            )
        if item is not None and not errs and key in keys_of[ref]:
            errs.append(f"evidence_key {key!r} appears twice for {ref}")
        if errs:
            problems.append(f"line {line}: " + "; ".join(errs))
            continue
        assert present_by is not None
        item_owner = _owner(values, "item_owner", errs, owners)
        evidence_owner = _owner(values, "evidence_owner", errs, owners)
        if errs:
            problems.append(f"line {line}: " + "; ".join(errs))
            continue
        if item is None:
            item = items[ref] = ItemSpec(ref, kind, title, due, item_owner, line)
            keys_of[ref] = set()
            first_seen[ref] = item_columns  # pragma: no mutate (feeds the shortcut above)
        keys_of[ref].add(key)
        item.rows.append(MatrixRowSpec(key, description, present_by, evidence_owner, line))
    if problems:
        raise BadInput(bad_rows(source, problems))
    if not items:
        raise BadInput(f"{source} has no rows: add one row per evidence requirement under the header.")
    return list(items.values())


def parse_csv(data: bytes, source: str, kinds: tuple[str, ...] = KINDS) -> list[ItemSpec]:
    text = decode(data, source)
    reader = csv.reader(io.StringIO(text, newline=""))  # pragma: no mutate (line ends in cells are refused either way)
    try:
        header = [h.strip() for h in next(reader, [])]
        width = len(header)
        records: list[dict[Any, Any]] = []
        for row in reader:
            if not row:
                continue  # a blank line, as csv.DictReader skips them
            rec: dict[Any, Any] = dict(
                zip(header, map(str.strip, row), strict=False)  # pragma: no mutate (the default)
            )
            if len(row) != width:
                rec[None] = len(row)  # the number of cells found: reported as a wrong number of columns
            records.append(rec)
    except csv.Error as err:
        raise BadInput(f"{source} is not a readable CSV file ({err}): save it again as CSV.") from None
    # csv line numbers: header is line 1; quoted newlines are rare in matrices and counted as rows
    return parse_rows(records, header, source, kinds=kinds, stripped=True)
