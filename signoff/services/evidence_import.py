"""Importing many evidence records from one sheet: check every row, then write them all in one
transaction, each with the ``evidence.add`` audit record ``evidence add`` would have written."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from signoff.clock import strict_date
from signoff.domain.matrix import decode
from signoff.domain.roles import REGISTER_ACTIONS
from signoff.errors import BadInput
from signoff.services.common import Actor, in_unit_of_work, require_role
from signoff.services.evidence import Checked, MeasureInput, check_evidence, matrix_row, size_problem, write_evidence
from signoff.store.location import DbRef
from signoff.store.tables import Item
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
class Row:
    line: int
    evidence: Checked


@dataclass(frozen=True)
class ImportResult:
    records: int
    items: int
    evidence_ids: tuple[int, ...]
    repaired: tuple[str, ...] = ()  # file names whose damaged or missing stored copy was rewritten


def rejected(source: str, problems: list[str]) -> BadInput:
    """One sentence, then one line per bad row."""
    return BadInput(
        f"{source} has {len(problems)} bad row(s) and nothing was imported; fix these lines and import it again:\n"
        + "\n".join(problems)
    )


def read_sheet(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]], list[str]]:
    """The header, each non-blank row with its line number, and the rows whose cell count is wrong."""
    if not path.is_file():
        raise BadInput(f"evidence sheet {path} does not exist: check the path.")
    if path.suffix.lower() == ".xlsx":
        from signoff.services import xlsx_input

        try:
            header, records = xlsx_input.read(path)
        except Exception as err:  # openpyxl raises many kinds for a damaged workbook
            raise BadInput(f"{path.name} is not a readable Excel workbook ({err}): save it again from Excel.") from None
        return header, [(n, r) for n, r in enumerate(records, start=2)], []
    if path.suffix.lower() != ".csv":
        raise BadInput(f"{path.name} is neither .csv nor .xlsx: save the sheet as 'CSV UTF-8' or as an Excel workbook.")
    text = decode(path.read_bytes(), path.name)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    ragged: list[str] = []
    try:
        header = [h.strip() for h in next(reader, [])]
        line = reader.line_num + 1
        for cells in reader:
            if cells and any(c.strip() for c in cells):
                if len(cells) != len(header):
                    ragged.append(f"line {line}: wrong number of columns (expected {len(header)}, found {len(cells)})")
                else:
                    rows.append((line, dict(zip(header, cells, strict=True))))
            line = reader.line_num + 1
    except csv.Error as err:
        raise BadInput(f"{path.name} is not a readable CSV file ({err}): save it again as CSV.") from None
    return header, rows, ragged


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


def check_sheet(path: Path) -> list[Row]:
    """Every row of the sheet checked without the register; one BadInput lists every bad line."""
    header, records, problems = read_sheet(path)
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h and h not in COLUMNS]
    if missing or unknown:
        wrong = ([f"missing column(s) {', '.join(missing)}"] if missing else []) + (
            [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        )
        raise BadInput(f"{path.name} has {' and '.join(wrong)}: the header is {','.join(COLUMNS)}.")
    rows: list[Row] = []
    for line, values in records:
        if not any((v or "").strip() for v in values.values()):
            continue
        try:
            rows.append(Row(line, check_row(values, path.parent)))
        except BadInput as err:
            problems.append(f"line {line}: {str(err).rstrip('.')}")
    if problems:
        problems.sort(key=lambda p: int(p.split(":", 1)[0].removeprefix("line ")))
        raise rejected(path.name, problems)
    if not rows:
        raise BadInput(f"{path.name} has no rows: add one row per evidence record under the header.")
    return rows


def import_evidence(db_path: DbRef, actor_name: str, path: Path) -> ImportResult:
    """Check the whole sheet, then add every record in one transaction, or none."""
    rows = check_sheet(path)

    def body(uow: UnitOfWork, actor: Actor) -> ImportResult:
        require_role(actor, REGISTER_ACTIONS["evidence.add"], "evidence import")
        refs = sorted({r.evidence.ref for r in rows})
        items = {
            i.ref: i
            for i in uow.session.exec(select(Item).where(col(Item.ref).in_(refs)).with_for_update())  # type: ignore[call-overload]
        }
        problems: list[str] = []
        have_row: dict[tuple[str, str], bool] = {}
        for r in rows:
            e = r.evidence
            item = items.get(e.ref)
            if item is None:
                problems.append(f"line {r.line}: unknown item {e.ref!r} (see 'signoff item list')")
                continue
            assert item.id is not None
            if (e.ref, e.key) not in have_row:
                have_row[(e.ref, e.key)] = matrix_row(uow, item.id, e.key) is not None
            if not have_row[(e.ref, e.key)]:
                problems.append(
                    f"line {r.line}: {e.ref} has no evidence matrix row {e.key!r} (see 'signoff matrix show {e.ref}')"
                )
                continue
            too_big = size_problem(uow, e)
            if too_big:
                problems.append(f"line {r.line}: {too_big.rstrip('.')}")
        if problems:
            raise rejected(path.name, problems)
        added = [write_evidence(uow, actor, db_path, items[r.evidence.ref], r.evidence) for r in rows]
        return ImportResult(
            len(added),
            len(items),
            tuple(a.evidence_id for a in added),
            tuple(str(r.evidence.file_name) for r, a in zip(rows, added, strict=True) if a.repaired),
        )

    return in_unit_of_work(db_path, actor_name, "evidence.import", body)
