"""What the board reads: the plan on a page, an item's history, the workflows in force."""

from __future__ import annotations

from pathlib import Path

import click

from signoff.cli.app import Context, pass_ctx
from signoff.render import output


@click.command()
@click.option("--page", default=1, type=click.IntRange(min=1), help="Page of the item table on a terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def board(c: Context, page: int, as_json: bool) -> None:
    """The plan on a page: every item by state with its due date and RAG status, red first."""
    from functools import partial

    from signoff.render.board import emit_board_json, show_board
    from signoff.services.views import board_stream

    if as_json:
        emit_board_json(partial(board_stream, c.db))
    else:
        show_board(partial(board_stream, c.db), page)


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
    """The workflow rules pinned in the register: in force, proposed, and how they change."""


@workflow.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def workflow_list(c: Context, as_json: bool) -> None:
    """The sets of rules in the register: the one in force, pending proposals, retired sets."""
    from dataclasses import asdict

    from signoff.services.rules import listing

    rows = [asdict(v) for v in listing(c.db)]
    if as_json:
        output.emit_json(rows)
        return
    for row in rows:
        row["workflows"] = ", ".join(row["workflows"])
    output.table(
        rows,
        [
            ("digest", "Digest"),
            ("status", "Status"),
            ("workflows", "Workflows"),
            ("proposed_by", "Proposed by"),
            ("reason", "Reason"),
            ("adopted_at", "Adopted at"),
            ("adopted_by", "Adopted by"),
        ],
        all_rows=True,
    )


@workflow.command("show")
@click.argument("name")
@pass_ctx
def workflow_show(c: Context, name: str) -> None:
    """Print the pinned TOML text of one workflow in force."""
    from signoff.services.rules import show

    click.echo(show(c.db, name), nl=False)


@workflow.command("events")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def workflow_events(c: Context, as_json: bool) -> None:
    """Each workflow in force with its events, states, roles and guards."""
    from signoff.store.reader import Reader

    with Reader(c.db) as r:
        flows = r.rules().flows
    rows = []
    for wf in flows.values():
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


@workflow.command("propose")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--reason", required=True, help="Why the rules should change (recorded).")
@pass_ctx
def workflow_propose(c: Context, directory: Path, reason: str) -> None:
    """Propose a new set of workflow definitions (secretary); the chair adopts it by its digest."""
    from signoff.services.rules import propose

    digest = propose(c.db, c.who(), directory, reason)
    output.message(
        f"Proposed rules {digest}: the chair puts them in force with 'signoff workflow adopt {digest[:16]}'."
    )


@workflow.command("adopt")
@click.argument("digest")
@pass_ctx
def workflow_adopt(c: Context, digest: str) -> None:
    """Put a proposed set of workflow definitions in force (chair)."""
    from signoff.services.rules import adopt

    found = adopt(c.db, c.who(), digest)
    output.message(f"Rules {found} are now in force.")


@workflow.command("guards")
def workflow_guards() -> None:
    """The named guard rules a workflow file may use."""
    from signoff.domain.guards import GUARDS

    output.table(
        [{"name": g.name, "summary": g.summary} for g in GUARDS.values()],
        [("name", "Guard"), ("summary", "Holds when")],
        all_rows=True,
    )
