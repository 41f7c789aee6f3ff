"""The plan on a page, on a terminal or as plain lines."""

from __future__ import annotations

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


def render_board(data: dict[str, Any], page: int = 1) -> None:
    for item in data["items"]:
        item["why"] = "; ".join(item["rag_reasons"])
        if item["slipped"]:
            item["why"] += f"; due slipped from {item['original_due']}"
    states = ", ".join(f"{k} {v}" for k, v in sorted(data["by_state"].items()))
    rag = data["by_rag"]
    summary = (
        f"Plan on a page as of {data['as_of']}: {len(data['items'])} item(s) — {states}. "
        f"RAG: {rag['red']} red, {rag['amber']} amber, {rag['green']} green. "
        f"In limbo: {len(data['limbo'])}. Audit head: {data['audit_head']}"
    )
    output.message(summary)
    output.table(data["items"], COLUMNS, title="Plan on a page", page=page)
