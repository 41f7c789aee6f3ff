"""The audit log: export it, verify its chain, print its head for the minutes, check an export."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from signoff.cli.app import DATE, OUTPUT, Context, format_chosen, output_format, pass_ctx
from signoff.errors import SignoffError
from signoff.render import output
from signoff.render.progress import shown as progress_shown


class ChainBroken(SignoffError):
    exit_code = 1


@click.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "json", "xlsx"]),
    default="csv",
    show_default=True,
    help="xlsx needs -o FILE.",
)
@click.option("--item", metavar="REF", help="Only this item's records.")
@click.option("--since", type=DATE, help="Records on or after this date.")
@click.option("--until", type=DATE, help="Records on or before this date.")
@click.option("-o", "--output", "out", type=OUTPUT, help="Write to FILE instead of stdout.")
@pass_ctx
def audit_export(
    c: Context, fmt: str, item: str | None, since: dt.date | None, until: dt.date | None, out: Path | None
) -> None:
    """Export records with prev_hash and hash, so anyone can check them with 'audit verify-export'."""
    from signoff.services.audit import export, require_known_item

    suffixes = {"csv": (".csv",), "jsonl": (".jsonl",), "json": (".json",), "xlsx": (".xlsx",)}
    fmt = output_format(out, fmt, suffixes, format_chosen())
    require_known_item(c.db, item)

    if fmt == "xlsx":
        _export_xlsx(c, item, since, until, out)
        return
    if out is None:
        export(c.db, sys.stdout, fmt, item, since, until)
        return
    from signoff.render.progress import progress
    from signoff.services.audit import count as count_records

    tmp = out.with_name(out.name + ".partial")
    try:
        total = count_records(c.db, item, since, until) if progress_shown() else None
        with tmp.open("w", encoding="utf-8", newline="") as fh, progress(total, "Exporting audit log") as advance:
            count = export(c.db, fh, fmt, item, since, until, advance=advance)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"Exported {count} record(s) to {out}.", err=True)


def _export_xlsx(c: Context, item: str | None, since: dt.date | None, until: dt.date | None, out: Path | None) -> None:
    from signoff.domain.chain import EXPORT_FIELDS
    from signoff.errors import BadInput
    from signoff.render import xlsx
    from signoff.render.progress import progress
    from signoff.services.audit import count, records

    if out is None:
        raise BadInput("an Excel export needs a file: add -o audit.xlsx.")
    total = count(c.db, item, since, until)
    with progress(total, "Exporting audit log") as advance:
        written = xlsx.write(out, "audit", EXPORT_FIELDS, records(c.db, item, since, until), advance)
    click.echo(f"Exported {written} record(s) to {out}.", err=True)


def _report(report: object, what: str, subject: str) -> None:
    """Every problem on its own line, then one sentence: a broken chain, or an intact chain that is
    not the one whose anchor was read into the minutes (a truncated log, an older copy, a re-hash)."""
    from signoff.domain.chain import ChainReport

    assert isinstance(report, ChainReport)
    for seq, why in report.broken:
        output.message(f"record {seq}: {why}")
    for note in report.notes:
        output.message(f"cannot prove: {note}")
    if report.ok:
        return
    if report.chain_intact:
        raise ChainBroken(
            f"{subject} does not match the anchor: its own links hold in {report.checked} record(s), but it is "
            "not the log whose head was read into the minutes."
        )
    raise ChainBroken(f"{what}: {len(report.broken)} broken record(s) in {report.checked} checked.")


@audit.command("verify")
@click.option(
    "--anchor",
    metavar="SEQ:HASH",
    help="A head read into the minutes (the hash may be cut to 16+ hex digits); catches truncation and re-hashing.",
)
@pass_ctx
def audit_verify(c: Context, anchor: str | None) -> None:
    """Recompute the hash chain, replay it, and reconcile every table with it; exit 1 on any break."""
    from signoff.domain.chain import parse_anchor
    from signoff.services.audit import verify_register

    parsed = parse_anchor(anchor) if anchor else None
    report, integrity, reconciled = verify_register(c.db, parsed)
    _report(report, "the audit chain is broken", "the audit log")
    _report_replay(reconciled)
    if integrity != "ok" and not integrity.startswith("not applicable"):
        raise ChainBroken(f"the database failed SQLite's quick_check: {integrity}.")
    output.message(
        f"Audit chain intact: {report.checked} record(s), head {report.last_seq}:{report.last_hash}; "
        f"replay: every record legal, {reconciled.rows_checked} table row(s) match the chain; quick_check {integrity}."
    )
    output.message(_signed_summary(reconciled.signed, reconciled.unsigned))


def _signed_summary(signed: int, unsigned: int) -> str:
    return (
        f"Signatures: {signed} signed decision(s) verified against the key registered to their signer; "
        f"{unsigned} decision(s) unsigned."
    )


def _report_replay(reconciled: object) -> None:
    """Print what replaying the chain found; raise ChainBroken if the tables or records are not what it proves."""
    from signoff.services.reconcile import Reconciliation

    assert isinstance(reconciled, Reconciliation)
    if reconciled.legacy:
        first, last = reconciled.legacy
        output.message(
            f"records {first}..{last} predate full detail: their hashes and times are checked; "
            "the tables are checked from the baseline taken when the register was upgraded."
        )
    for seq, why in reconciled.problems:
        output.message(f"record {seq}: {why}")
    for line in reconciled.differences:
        output.message(line)
    if not reconciled.ok:
        raise ChainBroken(
            f"the register does not match its audit chain: {len(reconciled.problems)} illegal record(s), "
            f"{len(reconciled.differences)} difference(s) between the chain and the tables."
        )


@audit.command("signers")
@click.option("-o", "--output", "out", type=OUTPUT, help="Write to FILE instead of stdout.")
@pass_ctx
def audit_signers(c: Context, out: Path | None) -> None:
    """Write every registered key as an OpenSSH allowed_signers file, valid from registration to revocation."""
    from signoff.services.decisions import allowed_signers

    text = allowed_signers(c.db)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {text.count(chr(10))} key(s) to {out}.", err=True)


@audit.command("statement")
@click.argument("seq", type=click.IntRange(min=1))
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder to write the statement, its .sig and allowed_signers to (default: here).",
)
@pass_ctx
def audit_statement(c: Context, seq: int, out: Path) -> None:
    """Write one signed decision's statement and .sig, and print the ssh-keygen command that checks it."""
    from signoff.domain.signers import verify_command
    from signoff.errors import BadInput
    from signoff.services.decisions import allowed_signers, signed_record

    if not out.is_dir():
        raise BadInput(f"the folder {out} does not exist: create it first or choose another with -o.")
    rec = signed_record(c.db, seq)
    name = f"decision-{seq}.txt"
    (out / name).write_bytes(rec["statement"].encode("utf-8"))
    (out / (name + ".sig")).write_text(rec["signature"], encoding="ascii")
    (out / "allowed_signers").write_text(allowed_signers(c.db), encoding="utf-8")
    output.message(
        f"Wrote {out / name}, its .sig and allowed_signers ({rec['event']} {rec['item_ref']} signed by {rec['actor']} "
        f"with {rec['signer']}). In {out}, check it with OpenSSH alone:"
    )
    output.message(verify_command(rec["actor"], name, rec["signed_at"]))


@audit.command("head")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def audit_head(c: Context, as_json: bool) -> None:
    """Print the chain's head as SEQ:HASH, for the chair to read into the board minutes."""
    from signoff.services.audit import head

    h = head(c.db)
    if h is None:
        raise SignoffError("the audit log is empty.")
    if as_json:
        output.emit_json({"seq": h[0], "hash": h[1]})
    else:
        output.message(f"{h[0]}:{h[1]}")


@audit.command("verify-export")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--filtered",
    is_flag=True,
    help="FILE was exported with --item, --since or --until: gaps in seq are expected; each item's records are "
    "checked complete through their links to the item's previous record.",
)
@click.option(
    "--anchor",
    metavar="SEQ:HASH",
    help="A head read into the minutes (the hash may be cut to 16+ hex digits); catches a truncated or re-hashed export.",
)
def audit_verify_export(file: Path, filtered: bool, anchor: str | None) -> None:
    """Check an exported CSV, JSONL or JSON file offline; exit 1 on any break."""
    from signoff.domain.chain import parse_anchor
    from signoff.engine.replay import Dropped, Replay
    from signoff.services.audit import verify_export

    # An export has no tables to reconcile: replay checks legality and signatures, keeping no rows.
    replay = None if filtered else Replay(sink=Dropped())
    report = verify_export(file, filtered=filtered, anchor=parse_anchor(anchor) if anchor else None, replay=replay)
    hint = ""
    if not filtered and any("missing before it" in why for _, why in report.broken):
        hint = " (if it was exported with --item, --since or --until, check it with --filtered)"
    if replay is not None and report.first_seq == 1:
        # Only a full export carries the key records its signatures are checked against.
        report.broken += [(seq, why) for seq, why in replay.problems if (seq, why) not in report.broken]
        report.broken.sort(key=lambda b: b[0])
    _report(report, f"{file} does not verify{hint}", str(file))
    output.message(
        f"{file}: {report.checked} record(s) verify ({report.first_seq}..{report.last_seq});"
        f" last record {report.last_seq}:{report.last_hash}"
    )
    if replay is not None and report.first_seq == 1:
        output.message(_signed_summary(replay.signed, replay.unsigned))
