"""Importing many evidence records from one sheet: check every row, then write them all in one
transaction, each with the ``evidence.add`` audit record ``evidence add`` would have written."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func
from sqlmodel import col, select

from signoff.clock import strict_date
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput
from signoff.services.common import Actor, in_unit_of_work, require_role
from signoff.services.evidence import Checked, MeasureInput, check_evidence, matrix_row, size_problem, write_evidence
from signoff.store.location import DbRef
from signoff.store.tables import Evidence, Item
from signoff.store.uow import UnitOfWork

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


class _Items:
    """The items the sheet names, read (and locked) as they are met; only the last few are kept."""

    KEEP = 256

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.known: dict[str, Item | None] = {}

    def get(self, ref: str) -> Item | None:
        if ref not in self.known:
            if len(self.known) >= self.KEEP:
                self.known.clear()
            self.known[ref] = self.uow.session.exec(
                select(Item).where(col(Item.ref) == ref).with_for_update()  # type: ignore[call-overload]
            ).first()
        return self.known[ref]


def import_evidence(db_path: DbRef, actor_name: str, path: Path) -> ImportResult:
    """Check the whole sheet, then add every record in one transaction, or none.

    Three passes over the sheet, each a row at a time: the checks that need no register, then in
    the write transaction the checks against the register (nothing written until all pass), then the
    writes; memory does not grow with the sheet."""
    check_sheet(path)

    def body(uow: UnitOfWork, actor: Actor) -> ImportResult:
        require_role(actor, REGISTER_ACTIONS["evidence.add"], "evidence import")
        items = _Items(uow)
        problems: list[str] = []
        last_row: tuple[str, str, bool] | None = None
        for line, e in _rows(path):
            item = items.get(e.ref)
            if item is None:
                problems.append(f"line {line}: unknown item {e.ref!r} (see 'signoff item list')")
                continue
            assert item.id is not None
            if last_row is None or last_row[:2] != (e.ref, e.key):
                last_row = (e.ref, e.key, matrix_row(uow, item.id, e.key) is not None)
            if not last_row[2]:
                problems.append(
                    f"line {line}: {e.ref} has no evidence matrix row {e.key!r} (see 'signoff matrix show {e.ref}')"
                )
                continue
            too_big = size_problem(uow, e)
            if too_big:
                problems.append(f"line {line}: {too_big.rstrip('.')}")
        if problems:
            raise rejected(path.name, problems)
        records = 0
        first = last = None
        repaired: list[str] = []
        for _, e in _rows(path):
            item = items.get(e.ref)
            assert item is not None
            added = write_evidence(uow, actor, db_path, item, e)
            records += 1
            first = added.evidence_id if first is None else first
            last = added.evidence_id
            if added.repaired:
                repaired.append(str(e.file_name))
        # The writer holds the register's write lock: the records just added are the ids first..last.
        counted = uow.session.execute(
            select(func.count(func.distinct(col(Evidence.item_id)))).where(
                col(Evidence.id) >= first, col(Evidence.id) <= last
            )
        ).scalar_one()
        return ImportResult(records, int(counted), first, last, tuple(repaired))

    return in_unit_of_work(db_path, actor_name, "evidence.import", body)
