"""Evidence commands: add against a matrix row, list an item's evidence, verify stored files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from signoff.cli.app import DATE, Context, pass_ctx
from signoff.clock import local_day
from signoff.errors import SignoffError
from signoff.render import output


@click.group()
def evidence() -> None:
    """Evidence presented against the matrix. Never edited or deleted: corrections supersede or withdraw."""


@evidence.command("add")
@click.argument("ref")
@click.argument("key")
@click.option("--file", "file", type=click.Path(path_type=Path), help="A document; a copy is kept by its SHA-256.")
@click.option("--note", help="A short written record instead of a file.")
@click.option("--measure", help="An indicator name, e.g. A1 (with --value, --threshold, --direction).")
@click.option("--value", type=float, help="The measured value.")
@click.option("--unit", default="", help="The unit, e.g. days.")
@click.option("--period", default="", help="The period, e.g. 2010-13 for a 3-year rolling average.")
@click.option("--threshold", type=float, help="The threshold the measure is judged against.")
@click.option(
    "--direction",
    type=click.Choice(["at-most", "at-least"]),
    help="Whether the value must be at most or at least the threshold.",
)
@click.option("--dated", required=True, type=DATE, help="The date the evidence carries (YYYY-MM-DD).")
@click.option("--supersedes", type=int, metavar="ID", help="The evidence record this one corrects.")
@pass_ctx
def evidence_add(
    c: Context,
    ref: str,
    key: str,
    file: Path | None,
    note: str | None,
    measure: str | None,
    value: float | None,
    unit: str,
    period: str,
    threshold: float | None,
    direction: str | None,
    dated: dt.date,
    supersedes: int | None,
) -> None:
    """Record evidence for matrix row KEY of item REF (secretary only).

    Adding a file whose stored copy is damaged or missing repairs the copy from it (its SHA-256 is
    checked first) and says so.
    """
    from signoff.errors import BadInput
    from signoff.services.evidence import MeasureInput, record_evidence

    measure_input = None
    if measure is not None:
        if value is None or threshold is None or direction is None:
            raise BadInput("a measure needs --value, --threshold and --direction (at-most or at-least).")
        measure_input = MeasureInput(measure, value, unit, period, threshold, direction)
    added = record_evidence(
        c.db, c.who(), ref, key, dated, file=file, note=note, measure=measure_input, supersedes=supersedes
    )
    output.message(f"Recorded evidence {added.evidence_id} for {ref} / {key}.")
    if added.repaired and file is not None:
        output.message(f"Repaired the stored copy of {file.name} from this file: {added.repaired}.")


@evidence.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@pass_ctx
def evidence_import(c: Context, file: Path) -> None:
    """Add many evidence records from a CSV or Excel sheet (secretary only), all or none.

    Columns: item_ref,evidence_key,dated,note,file,measure,value,unit,period,threshold,direction,
    with exactly one of note, file or measure on each row; file paths are relative to the sheet.
    Every row is checked first; one bad row rejects the sheet, listing every bad line. Each record
    is audited exactly as 'evidence add' audits it.
    """
    from signoff.services.evidence_import import import_evidence

    r = import_evidence(c.db, c.who(), file)
    output.message(f"Imported {r.records} evidence record(s) for {r.items} item(s) from {file.name}.")
    if r.repaired:
        output.message(f"Repaired the stored copy of {', '.join(sorted(set(r.repaired)))} from the sheet's files.")


@evidence.command("list")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def evidence_list(c: Context, ref: str, as_json: bool) -> None:
    """Every evidence record of an item, superseded and withdrawn ones included."""
    from signoff.services.views import item_detail

    rows = item_detail(c.db, ref)["evidence"]
    if as_json:
        output.emit_json(rows)
    else:
        for r in rows:
            r["what"] = r["file_name"] or r["note"] or (f"{r['measure']} = {r['value']} {r['unit'] or ''}".strip())
            r["withdrawn_note"] = (
                f"{local_day(r['withdrawn_at'])} by {r['withdrawn_by']}: {r['withdrawn_reason']}"
                if r["withdrawn"]
                else ""
            )
        output.table(
            rows,
            [
                ("id", "Id"),
                ("key", "Key"),
                ("kind", "Kind"),
                ("what", "Evidence"),
                ("dated", "Dated"),
                ("added_by", "Added by"),
                ("superseded_by", "Superseded by"),
                ("withdrawn_note", "Withdrawn"),
            ],
            title=f"Evidence for {ref}",
            all_rows=True,
        )


@evidence.command("withdraw")
@click.argument("evidence_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="Why the evidence no longer counts; the board sees it.")
@pass_ctx
def evidence_withdraw(c: Context, evidence_id: int, reason: str) -> None:
    """Withdraw an evidence record: it stays on the record, marked, but no longer counts as cover
    (secretary only). A submitted item then needs 'amend' before approval."""
    from signoff.services.corrections import withdraw_evidence

    ref = withdraw_evidence(c.db, c.who(), evidence_id, reason)
    output.message(f"Withdrew evidence {evidence_id} of {ref}.")


@evidence.command("verify")
@pass_ctx
def evidence_verify(c: Context) -> None:
    """Re-hash stored evidence files and recompute note and measure digests; report mismatches (exit 1 if any)."""
    from signoff.services.audit import verify_evidence

    checked, problems = verify_evidence(c.db)
    if problems:
        output.lines(problems)
        raise SignoffError(
            f"{len(problems)} problem(s) with {checked} evidence file(s): missing, altered, or not the file the log recorded."
        )
    output.message(f"All {checked} evidence file(s), and every note and measure, match their SHA-256.")
