"""The plan on a page, on a terminal or as plain lines."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from signoff.render import output

COLUMNS = [
    ("rag", "RAG"),
    ("ref", "Ref"),
    ("state", "State"),
    ("due", "Due"),
    ("owner", "Owner"),
    ("title", "Title"),
    ("why", "Why"),
]

# ``services.views.board_stream`` bound to a register: called with a shape, or none for rows.
OpenBoard = Callable[..., AbstractContextManager[Any]]


def _why(reasons: list[str], slipped: bool, original_due: str | None) -> str:
    why = "; ".join(reasons)
    return f"{why}; due slipped from {original_due}" if slipped else why


def _with_why(items: Any) -> Iterator[dict[str, Any]]:
    for item in items:
        item["why"] = _why(item["rag_reasons"], item["slipped"], item["original_due"])
        yield item


def _summary(board: Any) -> str:
    states = ", ".join(f"{k} {v}" for k, v in sorted(board.by_state.items()))
    rag = board.by_rag
    return (
        f"Plan on a page as of {board.as_of}: {board.total} item(s) — {states}. "
        f"RAG: {rag['red']} red, {rag['amber']} amber, {rag['green']} green. "
        f"In limbo: {board.limbo_count}. Audit head: {board.audit_head}"
    )


def render_board(board: Any, page: int = 1) -> None:
    """``board`` is a ``services.views.Board``: its items are streamed, never all held at once."""
    output.message(_summary(board))
    output.table(_with_why(board.items()), COLUMNS, title="Plan on a page", page=page)


def show_board(open_board: OpenBoard, page: int = 1) -> None:
    """The board as ``render_board`` shows it. Piped, each item is made into its tab-separated line as
    it is judged, from the item without its facts (the lines show none), and the lines are written
    back in large blocks: the same text, without holding or decoding the rows."""
    if output.is_terminal():
        with open_board() as board:
            render_board(board, page)
        return

    def line(item: Any) -> str:  # a services.views.ItemView, in COLUMNS order
        why = _why(item.rag_reasons, item.slipped, item.original_due)
        return output.tsv_line((item.rag, item.ref, item.state, item.due, item.owner, item.title, why))

    with open_board(line, limbo_rows=False, facts=False) as board:
        output.message(_summary(board))
        output.write_blocks([output.tsv_heading(COLUMNS)])
        output.write_blocks(board.blocks())


def emit_board_json(open_board: OpenBoard) -> None:
    """The board as JSON, each item encoded once as it is judged (the limbo list repeats the text of
    its items) and written back in blocks: the same text as ``json.dumps`` of the whole board."""
    with open_board(output.json_element("  "), limbo_rows=True) as board:
        output.emit_json_object(
            [
                ("as_of", board.as_of),
                ("items", output.Encoded(board.blocks())),
                ("by_state", board.by_state),
                ("by_rag", board.by_rag),
                ("limbo", output.Encoded(board.limbo_blocks())),
                ("audit_head", board.audit_head),
            ]
        )
