"""The plan on a page, on a terminal or as plain lines."""

from __future__ import annotations

from collections.abc import Iterator
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


def _with_why(items: Any) -> Iterator[dict[str, Any]]:
    for item in items:
        item["why"] = "; ".join(item["rag_reasons"])
        if item["slipped"]:
            item["why"] += f"; due slipped from {item['original_due']}"
        yield item


def render_board(board: Any, page: int = 1) -> None:
    """``board`` is a ``services.views.Board``: its items are streamed, never all held at once."""
    states = ", ".join(f"{k} {v}" for k, v in sorted(board.by_state.items()))
    rag = board.by_rag
    summary = (
        f"Plan on a page as of {board.as_of}: {board.total} item(s) — {states}. "
        f"RAG: {rag['red']} red, {rag['amber']} amber, {rag['green']} green. "
        f"In limbo: {board.limbo_count}. Audit head: {board.audit_head}"
    )
    output.message(summary)
    output.table(_with_why(board.items()), COLUMNS, title="Plan on a page", page=page)


def emit_board_json(board: Any) -> None:
    """The board as JSON, its item lists written as they are read back: the same text as before."""
    output.emit_json_object(
        [
            ("as_of", board.as_of),
            ("items", output.Streamed(board.items())),
            ("by_state", board.by_state),
            ("by_rag", board.by_rag),
            ("limbo", output.Streamed(board.limbo())),
            ("audit_head", board.audit_head),
        ]
    )
