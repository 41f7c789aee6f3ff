"""What the board reads beyond the plan on a page: overdue, limbo, measures, meetings, the board pack."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from signoff.cli.app import DATE, OUTPUT, Context, format_chosen, output_format, pass_ctx
from signoff.render import output


@click.command()
@click.option("--as-of", "as_of", type=DATE, help="Judge lateness on this date instead of today.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def overdue(c: Context, as_of: dt.date | None, as_json: bool) -> None:
    """Matrix evidence past its present-by date, and items past due, grouped by owner."""
    from signoff.services.oversight import overdue as overdue_view

    data = overdue_view(c.db, as_of)
    if as_json:
        output.emit_json(data)
        return
    rows = []
    for owner, due in data["owners"].items():
        rows += [
            {
                "owner": owner,
                "ref": r["ref"],
                "what": f"{r['key']}: {r['description']}",
                "due": r["present_by"],
                "late": r["days_late"],
            }
            for r in due["evidence"]
        ]
        rows += [
            {
                "owner": owner,
                "ref": r["ref"],
                "what": f"item ({r['state']}): {r['title']}",
                "due": r["due"],
                "late": r["days_late"],
            }
            for r in due["items"]
        ]
    if not rows:
        output.message(f"Nothing overdue as of {data['as_of']}.")
        return
    output.table(
        rows,
        [("owner", "Owner"), ("ref", "Ref"), ("what", "Overdue"), ("due", "Due by"), ("late", "Days late")],
        title=f"Overdue as of {data['as_of']}",
        all_rows=True,
    )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def limbo(c: Context, as_json: bool) -> None:
    """Items in 'perpetual limbo': no progress for weeks, repeated challenges, or left waiting past a meeting."""
    from signoff.services.oversight import limbo as limbo_view

    rows = limbo_view(c.db)
    if as_json:
        output.emit_json(rows)
        return
    if not rows:
        output.message("No item is stalling.")
        return
    output.table(
        rows, [("ref", "Ref"), ("state", "State"), ("owner", "Owner"), ("limbo", "Why")], title="Limbo", all_rows=True
    )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def measures(c: Context, as_json: bool) -> None:
    """The target tracker: each measure against its threshold, with its trend over periods."""
    from signoff.services.oversight import measures as measures_view

    rows = measures_view(c.db)
    if as_json:
        output.emit_json(rows)
        return
    for m in rows:
        m["status"] = "met" if m["met"] else "NOT MET"
        m["against"] = f"{m['direction']} {m['threshold']:g}"
        m["shown"] = f"{m['value']:g} {m['unit'] or ''}".strip()
        m["trend_text"] = ", ".join(f"{t['period']}: {t['value']:g}" for t in m["trend"]) + f" ({m['trend_direction']})"
        m["flag"] = "; ".join(m["threshold_changes"])
    output.table(
        rows,
        [
            ("measure", "Measure"),
            ("item", "Item"),
            ("shown", "Value"),
            ("against", "Threshold"),
            ("period", "Period"),
            ("status", "Status"),
            ("trend_text", "Trend"),
            ("flag", "Flag"),
        ],
        title="Measures",
        all_rows=True,
    )


@click.group()
def meeting() -> None:
    """The board's meeting calendar."""


@meeting.command("add")
@click.argument("date", type=DATE)
@click.option("--note", help="e.g. 'Improvement Board, Town Hall'.")
@pass_ctx
def meeting_add(c: Context, date: dt.date, note: str | None) -> None:
    """Put a board meeting on the calendar (secretary)."""
    from signoff.services.schedule import add_meeting

    add_meeting(c.db, c.who(), date, note)
    output.message(f"Board meeting on {date.isoformat()} added.")


@meeting.command("cancel")
@click.argument("date", type=DATE)
@click.option("--reason", required=True, help="Why the meeting will not take place.")
@pass_ctx
def meeting_cancel(c: Context, date: dt.date, reason: str) -> None:
    """Cancel a meeting that has not decided anything; it stays on the calendar as cancelled (secretary)."""
    from signoff.services.schedule import cancel_meeting

    cancel_meeting(c.db, c.who(), date, reason)
    output.message(f"Board meeting on {date.isoformat()} cancelled.")


@meeting.command("move")
@click.argument("date", type=DATE)
@click.option("--to", "to", required=True, type=DATE, help="The meeting's new date (YYYY-MM-DD).")
@click.option("--reason", required=True, help="Why the meeting moves.")
@pass_ctx
def meeting_move(c: Context, date: dt.date, to: dt.date, reason: str) -> None:
    """Move a meeting to another date; the old date stays on the calendar as moved (secretary)."""
    from signoff.services.schedule import move_meeting

    move_meeting(c.db, c.who(), date, to, reason)
    output.message(f"Board meeting on {date.isoformat()} moved to {to.isoformat()}.")


@meeting.command("show")
@click.argument("date", type=DATE)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-o", "--output", "out", type=OUTPUT, help="Write the minutes to FILE: .md or .html.")
@pass_ctx
def meeting_show(c: Context, date: dt.date, as_json: bool, out: Path | None) -> None:
    """What a meeting decided: sign-offs, overrides, re-openings, challenges and reschedules, and the audit head."""
    from signoff.errors import BadInput
    from signoff.render import minutes
    from signoff.services.minutes import meeting_log

    if out is not None and out.suffix.lower() not in (".md", ".html", ".htm"):
        raise BadInput(f"{out} does not end in .md or .html: the minutes are written as Markdown or HTML.")
    log = meeting_log(c.db, date)
    if as_json and out is None:
        output.emit_json(log)
        return
    text = minutes.markdown(log) if out is None or out.suffix.lower() == ".md" else minutes.html(log)
    if out is None:
        click.echo(text, nl=False)
        return
    output.write_atomically(out, text)
    click.echo(f"Wrote the decision log of {date.isoformat()} to {out}.", err=True)


@meeting.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def meeting_list(c: Context, as_json: bool) -> None:
    """Board meetings on the calendar."""
    from signoff.clock import today as clock_today
    from signoff.services.views import meetings

    rows = meetings(c.db)
    today = clock_today().isoformat()
    if as_json:
        output.emit_json(rows)
    else:
        for row in rows:
            row["status"] = (
                f"moved to {row['moved_to']}"
                if row["moved_to"]
                else "cancelled"
                if row["cancelled_at"]
                else "held"
                if row["date"] <= today
                else "to come"
            )
        output.table(
            rows,
            [
                ("date", "Date"),
                ("status", "Status"),
                ("note", "Note"),
                ("added_by", "Added by"),
                ("cancel_reason", "Why"),
            ],
            all_rows=True,
        )


@click.command()
@click.option("--meeting", "meeting_date", required=True, type=DATE, help="The meeting the pack is for.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md"]),
    default="html",
    show_default=True,
    help="html: one printable file; md: Markdown for the minutes.",
)
@click.option("-o", "--output", "out", type=OUTPUT, help="Write to FILE (default: stdout).")
@pass_ctx
def report(c: Context, meeting_date: dt.date, fmt: str, out: Path | None) -> None:
    """The board pack: plan on a page, changes, items for sign-off, measures, overdue, limbo, a chart."""
    from signoff.render import pack
    from signoff.services.oversight import board_pack_stream

    fmt = output_format(out, fmt, {"html": (".html", ".htm"), "md": (".md", ".markdown")}, format_chosen())
    with board_pack_stream(c.db, meeting_date) as data:
        pieces = pack.html_chunks(data) if fmt == "html" else pack.markdown_chunks(data)
        if out is None:
            output.echo_pieces(pieces)
            return
        output.write_pieces_atomically(out, pieces)
    click.echo(f"Wrote the board pack for {meeting_date.isoformat()} to {out}.", err=True)
