"""The board's working week: what is waiting for me, and what changed since a date."""

from __future__ import annotations

import datetime as dt

import click

from signoff.cli.app import DATE, Context, pass_ctx
from signoff.render import output

HEADINGS = {
    "decide": "Decisions due at the next meeting",
    "submit": "Ready to submit",
    "answer": "Challenges to answer",
    "amend": "Evidence changed since submission: amend",
    "challenge": "Open for challenge",
    "evidence_due": "Evidence you own, overdue or due soon",
}


@click.command()
@click.option("--as-of", "as_of", type=DATE, help="Judge what is due on this date instead of today.")
@click.option(
    "--within", default=14, show_default=True, type=click.IntRange(min=0), help="Days ahead for evidence due soon."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def todo(c: Context, as_of: dt.date | None, within: int, as_json: bool) -> None:
    """What is waiting for you: by your roles, and the evidence you own."""
    from signoff.services.todo import todo as todo_view

    data = todo_view(c.db, c.who(), as_of, within)
    if as_json:
        output.emit_json(data)
        return
    rows = []
    for key, items in data["sections"].items():
        for i in items:
            if key == "evidence_due":
                when = ("OVERDUE since " if i["overdue"] else "due ") + i["present_by"]
                what = f"{i['key']}: {i['description']} ({when})"
            elif key == "answer":
                ch = i["challenge"]
                what = f"{ch['raised_by']}: {ch['reason']}"
            elif key == "decide":
                what = f"{i['title']} (meeting {i['meeting'] or 'not yet on the calendar'})"
            else:
                what = i["title"]
            rows.append({"todo": HEADINGS[key], "ref": i["ref"], "what": what})
    if not rows:
        output.message(f"Nothing is waiting for {data['user']} as of {data['as_of']}.")
        return
    output.table(
        rows,
        [("todo", "To do"), ("ref", "Ref"), ("what", "What")],
        title=f"Waiting for {data['user']} as of {data['as_of']}",
        all_rows=True,
    )


@click.command()
@click.option("--since", required=True, type=DATE, help="From the start of this date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def changes(c: Context, since: dt.date, as_json: bool) -> None:
    """Every applied change since a date, in plain words."""
    from signoff.services.minutes import changes_since

    data = changes_since(c.db, since)
    if as_json:
        output.emit_json(data)
        return
    if not data["changes"]:
        output.message(f"No change since {data['since']}.")
        return
    rows = [
        {"seq": ch["seq"], "when": ch["recorded_at"][:16].replace("T", " "), "what": ch["text"]}
        for ch in data["changes"]
    ]
    output.table(
        rows, [("seq", "#"), ("when", "When (UTC)"), ("what", "What changed")], title=f"Since {since}", all_rows=True
    )
