"""What the board reads: the plan on a page, an item's history, the workflows in force."""

from __future__ import annotations

import click

from signoff.cli.app import Context, pass_ctx
from signoff.render import output


@click.command()
@click.option("--page", default=1, type=click.IntRange(min=1), help="Page of the item table on a terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def board(c: Context, page: int, as_json: bool) -> None:
    """The plan on a page: every item by state with its due date and RAG status, red first."""
    from signoff.render.board import render_board
    from signoff.services.views import board as board_view

    data = board_view(c.db)
    if as_json:
        output.emit_json(data)
    else:
        render_board(data, page)


@click.command()
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def history(c: Context, ref: str, as_json: bool) -> None:
    """Every attempt on an item, applied or refused, in order."""
    from signoff.services.views import history as history_view

    rows = history_view(c.db, ref)
    if as_json:
        output.emit_json(rows)
    else:
        output.table(
            rows,
            [
                ("seq", "Seq"),
                ("recorded_at", "Recorded at"),
                ("actor", "Actor"),
                ("event", "Event"),
                ("from_state", "From"),
                ("to_state", "To"),
                ("outcome", "Outcome"),
                ("detail", "Detail"),
            ],
            title=f"History of {ref}",
            all_rows=True,
        )


@click.group()
def workflow() -> None:
    """The workflow definitions in force (workflows/*.toml)."""


@workflow.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def workflow_list(as_json: bool) -> None:
    """Each workflow with its states, events, roles and guards."""
    from signoff.engine.workflow import load_all

    rows = []
    for wf in load_all().values():
        for ev in wf.events.values():
            rows.append(
                {
                    "workflow": wf.name,
                    "event": ev.name,
                    "from": list(ev.source),
                    "to": ev.dest,
                    "roles": sorted(ev.roles),
                    "guards": list(ev.guards),
                    "digest": wf.digest,
                }
            )
    if as_json:
        output.emit_json(rows)
    else:
        output.table(
            rows,
            [
                ("workflow", "Workflow"),
                ("event", "Event"),
                ("from", "From"),
                ("to", "To"),
                ("roles", "Roles"),
                ("guards", "Guards"),
            ],
            all_rows=True,
        )


@workflow.command("guards")
def workflow_guards() -> None:
    """The named guard rules a workflow file may use."""
    from signoff.domain.guards import GUARDS

    output.table(
        [{"name": g.name, "summary": g.summary} for g in GUARDS.values()],
        [("name", "Guard"), ("summary", "Holds when")],
        all_rows=True,
    )
