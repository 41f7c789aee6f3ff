"""Importing many evidence records from one sheet: check every row, then write them all in one
transaction, each with the ``evidence.add`` audit record ``evidence add`` would have written."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from signoff.clock import strict_date
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput
from signoff.services.common import Actor, in_unit_of_work, require_role
from signoff.services.evidence import (
    Checked,
    MeasureInput,
    check_evidence,
    max_evidence_bytes,
    size_problem,
    write_evidence,
)
from signoff.store.location import DbRef
from signoff.store.uow import Row, UnitOfWork

COLUMNS: tuple[str, ...] = (
    "item_ref",
    "evidence_key",
    "dated",
    "note",
    "file",
    "measure",
    "value",
    "unit",
    "period",
    "threshold",
    "direction",
)
REQUIRED: tuple[str, ...] = ("item_ref", "evidence_key", "dated")
MEASURE_ONLY: tuple[str, ...] = ("value", "unit", "period", "threshold", "direction")


@dataclass(frozen=True)
class ImportResult:
    records: int
    items: int
    first_evidence_id: int | None
    last_evidence_id: int | None
    repaired: tuple[str, ...] = ()  # file names whose damaged or missing stored copy was rewritten


def rejected(source: str, problems: list[str]) -> BadInput:
    """One sentence, then one line per bad row."""
    return BadInput(
        f"{source} has {len(problems)} bad row(s) and nothing was imported; fix these lines and import it again:\n"
        + "\n".join(problems)
    )


@contextmanager
def sheet_rows(path: Path) -> Iterator[tuple[list[str], Iterator[tuple[int, dict[str, str] | str]]]]:
    """The header, and each non-blank row read one at a time with its line number: its cells by
    column, or the sentence saying its cell count is wrong. Read again for each pass over the sheet."""
    if not path.is_file():
        raise BadInput(f"evidence sheet {path} does not exist: check the path.")
    if path.suffix.lower() == ".xlsx":
        from signoff.services import xlsx_input

        try:
            header, records = xlsx_input.records(path)
        except Exception as err:  # openpyxl raises many kinds for a damaged workbook
            raise BadInput(f"{path.name} is not a readable Excel workbook ({err}): save it again from Excel.") from None

        def numbered() -> Iterator[tuple[int, dict[str, str] | str]]:
            try:
                yield from enumerate(records, start=2)
            except BadInput:
                raise
            except Exception as err:
                raise BadInput(
                    f"{path.name} is not a readable Excel workbook ({err}): save it again from Excel."
                ) from None

        yield header, numbered()
        return
    if path.suffix.lower() != ".csv":
        raise BadInput(f"{path.name} is neither .csv nor .xlsx: save the sheet as 'CSV UTF-8' or as an Excel workbook.")
    from signoff.services.matrix import check_utf8

    check_utf8(path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader, [])]
        except csv.Error as err:
            raise BadInput(f"{path.name} is not a readable CSV file ({err}): save it again as CSV.") from None

        def lines() -> Iterator[tuple[int, dict[str, str] | str]]:
            try:
                line = reader.line_num + 1
                for cells in reader:
                    if cells and any(c.strip() for c in cells):
                        if len(cells) != len(header):
                            yield line, f"wrong number of columns (expected {len(header)}, found {len(cells)})"
                        else:
                            yield line, dict(zip(header, cells, strict=True))
                    line = reader.line_num + 1
            except csv.Error as err:
                raise BadInput(f"{path.name} is not a readable CSV file ({err}): save it again as CSV.") from None

        yield header, lines()


def _number(values: dict[str, str], column: str, errs: list[str]) -> float:
    text = values.get(column, "")
    if not text:
        errs.append(f"a measure needs {column}")
        return 0.0
    try:
        number = float(text)
    except ValueError:
        errs.append(f"{column} {text!r} is not a number")
        return 0.0
    if not math.isfinite(number):
        errs.append(f"{column} {text!r} is not an ordinary number (not inf or nan)")
    return number


def check_row(values: dict[str, str], folder: Path) -> Checked:
    """One row as evidence ``evidence add`` would take; BadInput says everything wrong with it."""
    values = {k: (v or "").strip() for k, v in values.items() if k}
    errs: list[str] = []
    given = [c for c in ("note", "file", "measure") if values.get(c)]
    if len(given) != 1:
        errs.append(f"give exactly one of note, file or measure (found {', '.join(given) or 'none'})")
    try:
        dated = strict_date(values["dated"])
    except ValueError:
        errs.append(f"dated {values['dated']!r} is not a YYYY-MM-DD date")
    measure = None
    if values.get("measure"):
        value = _number(values, "value", errs)
        threshold = _number(values, "threshold", errs)
        direction = values.get("direction", "")
        if direction not in ("at-most", "at-least"):
            errs.append(f"direction {direction!r} is not at-most or at-least")
        measure = MeasureInput(
            values["measure"], value, values.get("unit", ""), values.get("period", ""), threshold, direction
        )
    else:
        stray = [c for c in MEASURE_ONLY if values.get(c)]
        if stray:
            errs.append(f"{', '.join(stray)} belong to a measure, but the row has no measure")
    if errs:
        raise BadInput("; ".join(errs))
    return check_evidence(
        values["item_ref"],
        values["evidence_key"],
        dated,
        file=folder / values["file"] if values.get("file") else None,
        note=values.get("note") or None,
        measure=measure,
    )


def checked(path: Path) -> Iterator[tuple[int, Checked | str]]:
    """Each row of the sheet checked without the register: the evidence, or what is wrong with it."""
    with sheet_rows(path) as (header, records):
        missing = [c for c in REQUIRED if c not in header]
        unknown = [h for h in header if h and h not in COLUMNS]
        if missing or unknown:
            wrong = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
                [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
            )
            raise BadInput(f"{path.name} has {' and '.join(wrong)}: the header is {','.join(COLUMNS)}.")
        for line, values in records:
            if isinstance(values, str):
                yield line, values
                continue
            if not any((v or "").strip() for v in values.values()):
                continue
            try:
                yield line, check_row(values, path.parent)
            except BadInput as err:
                yield line, str(err).rstrip(".")


def check_sheet(path: Path) -> int:
    """Pass one: every row of the sheet checked without the register, one at a time; one BadInput
    lists every bad line. Returns the number of rows."""
    problems: list[str] = []
    rows = 0
    for line, e in checked(path):
        if isinstance(e, str):
            problems.append(f"line {line}: {e}")
        else:
            rows += 1
    if problems:
        raise rejected(path.name, problems)
    if not rows:
        raise BadInput(f"{path.name} has no rows: add one row per evidence record under the header.")
    return rows


def _rows(path: Path) -> Iterator[tuple[int, Checked]]:
    """The sheet's rows again (pass one found them all good)."""
    for line, e in checked(path):
        if isinstance(e, str):  # the sheet changed under us since pass one
            raise rejected(path.name, [f"line {line}: {e}"])
        yield line, e


BATCH = 500  # rows of the sheet looked up in the register with one query per table


def _batches(rows: Iterator[tuple[int, Checked]]) -> Iterator[list[tuple[int, Checked]]]:
    batch: list[tuple[int, Checked]] = []
    for r in rows:
        batch.append(r)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class _Register:
    """The items (read and locked) and matrix rows a batch of the sheet names: one query for each,
    and only the current batch's are kept, so memory does not grow with the sheet."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.lock = "" if uow.target.is_sqlite else " FOR UPDATE"
        self.items: dict[str, Row] = {}
        self.keys: set[tuple[int, str]] = set()

    def load(self, batch: list[tuple[int, Checked]], with_keys: bool) -> None:
        refs = list(dict.fromkeys(e.ref for _, e in batch))
        self.items = {
            r.ref: r
            for r in self.uow.dicts(
                f"SELECT id, ref, kind, state FROM items WHERE ref IN ({_marks(len(refs))}){self.lock}", tuple(refs)
            )
        }
        if with_keys:
            ids = [r.id for r in self.items.values()]
            keys = list(dict.fromkeys(e.key for _, e in batch))
            found = (
                self.uow.rows(
                    f"SELECT item_id, key FROM matrix_rows WHERE item_id IN ({_marks(len(ids))}) "
                    f"AND key IN ({_marks(len(keys))})",
                    (*ids, *keys),
                )
                if ids
                else []
            )
            self.keys = {(int(i), k) for i, k in found}


def import_evidence(db_path: DbRef, actor_name: str, path: Path) -> ImportResult:
    """Check the whole sheet, then add every record in one transaction, or none.

    Three passes over the sheet, each a row at a time: the checks that need no register, then in
    the write transaction the checks against the register (nothing written until all pass), then the
    writes; memory does not grow with the sheet. The register is read a batch of rows at a time."""
    check_sheet(path)

    def body(uow: UnitOfWork, actor: Actor) -> ImportResult:
        require_role(actor, REGISTER_ACTIONS["evidence.add"], "evidence import")
        register = _Register(uow)
        limit = max_evidence_bytes(uow)
        problems: list[str] = []
        for batch in _batches(_rows(path)):
            register.load(batch, with_keys=True)
            for line, e in batch:
                item = register.items.get(e.ref)
                if item is None:
                    problems.append(f"line {line}: unknown item {e.ref!r} (see 'signoff item list')")
                    continue
                if (item.id, e.key) not in register.keys:
                    problems.append(
                        f"line {line}: {e.ref} has no evidence matrix row {e.key!r} (see 'signoff matrix show {e.ref}')"
                    )
                    continue
                too_big = size_problem(uow, e, limit)
                if too_big:
                    problems.append(f"line {line}: {too_big.rstrip('.')}")
        if problems:
            raise rejected(path.name, problems)
        records = 0
        first = last = None
        repaired: list[str] = []
        for batch in _batches(_rows(path)):
            register.load(batch, with_keys=False)
            for _, e in batch:
                added = write_evidence(uow, actor, db_path, register.items[e.ref], e)
                records += 1
                first = added.evidence_id if first is None else first
                last = added.evidence_id
                if added.repaired:
                    repaired.append(str(e.file_name))
        # The writer holds the register's write lock: the records just added are the ids first..last.
        counted = uow.rows("SELECT count(DISTINCT item_id) FROM evidence WHERE id >= ? AND id <= ?", (first, last))
        return ImportResult(records, int(counted[0][0]), first, last, tuple(repaired))

    return in_unit_of_work(db_path, actor_name, "evidence.import", body)
