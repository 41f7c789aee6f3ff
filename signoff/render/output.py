"""One emitter for every read view: --json, a rich table on a terminal, tab-separated lines when piped.

rich is imported only when a table is drawn on a terminal, and never for more than a page of
rows: a 10,000-row rich table takes seconds, a page takes milliseconds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

PAGE = 50
NO_WRAP = {"ref", "rag", "state", "due", "seq", "key", "id"}
RAG_STYLE = {"red": "bold red", "amber": "bold yellow", "green": "green"}
STATE_STYLE = {"signed_off": "green", "challenged": "yellow", "evidence_submitted": "cyan", "proposed": "white"}


def is_terminal() -> bool:
    return sys.stdout.isatty()


def emit_json(data: Any) -> None:
    import json  # not at import time: --help and write commands never need it

    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


class Streamed:
    """A list value of ``emit_json_object`` written one element at a time as it is produced."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


class Encoded:
    """A list value of ``emit_json_object`` whose elements were encoded beforehand by ``json_element``,
    given as blocks of their text in order."""

    def __init__(self, blocks: Iterable[str]) -> None:
        self.blocks = blocks


def json_element(indent: str = "  ") -> Callable[[Any], str]:
    """An element of a JSON array nested at ``indent`` as the streamed array writes every element
    after the first: a comma, a new line and the element at its indent (``Encoded`` mends the first)."""
    import json

    encode = json.JSONEncoder(indent=2, ensure_ascii=False, default=str).encode
    start, newline = ",\n" + indent + "  ", "\n" + indent + "  "
    return lambda item: start + encode(item).replace("\n", newline)


def _json_lines(items: Iterable[Any], indent: str) -> Iterator[str]:
    """The text json.dumps(list(items), indent=2) would give, nested at ``indent``, in pieces."""
    import json

    encode = json.JSONEncoder(indent=2, ensure_ascii=False, default=str).encode  # one encoder for every item
    inner, newline = indent + "  ", "\n" + indent + "  "
    first = True
    for item in items:
        text = encode(item).replace("\n", newline)
        yield ("[\n" if first else ",\n") + inner + text
        first = False
    yield "[]" if first else "\n" + indent + "]"


def emit_json_array(items: Iterable[Any]) -> None:
    """A JSON array written element by element: the same text as ``emit_json(list(items))``, in
    memory that does not grow with the number of items."""
    write = sys.stdout.write
    for piece in _json_lines(items, ""):
        write(piece)
    write("\n")


def emit_json_object(fields: Sequence[tuple[str, Any]]) -> None:
    """A JSON object whose ``Streamed`` values are written element by element; the same text as
    ``emit_json`` of the whole dict."""
    import json

    write = sys.stdout.write
    write("{")
    for n, (key, value) in enumerate(fields):
        write(("\n" if n == 0 else ",\n") + "  " + json.dumps(key, ensure_ascii=False) + ": ")
        if isinstance(value, Streamed):
            for piece in _json_lines(value.items, "  "):
                write(piece)
        elif isinstance(value, Encoded):
            empty = True
            for block in value.blocks:
                if block and empty:
                    block, empty = "[" + block[1:], False  # the first element opens the array: no comma
                write(block)
            write("[]" if empty else "\n  ]")
        else:
            write(json.dumps(value, indent=2, ensure_ascii=False, default=str).replace("\n", "\n  "))
    write("\n}\n" if fields else "}\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


_FLAT = str.maketrans("\t\n", "  ")


def tsv_line(cells: Sequence[Any]) -> str:
    """One row's cells as a tab-separated line, newline included: a cell's own tabs and newlines
    become spaces, so every row is one line."""
    texts = []
    for v in cells:
        text = v if type(v) is str else _cell(v)
        if "\t" in text or "\n" in text:
            text = text.translate(_FLAT)
        texts.append(text)
    return "\t".join(texts) + "\n"


def tsv_heading(columns: Sequence[tuple[str, str]]) -> str:
    return "\t".join(h for _, h in columns) + "\n"


def _plain(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> None:
    """Tab-separated lines written in blocks of a thousand: few writes, and memory that does not
    grow with the register."""
    keys = [k for k, _ in columns]
    lines = [tsv_heading(columns)]
    for row in rows:
        if len(lines) >= 1000:
            sys.stdout.write("".join(lines))
            lines = []
        lines.append(tsv_line([row.get(k) for k in keys]))
    sys.stdout.write("".join(lines))


def write_blocks(blocks: Iterable[str]) -> None:
    """Text already made (``tsv_line``s, say) to stdout as it comes, block by block."""
    sys.stdout.writelines(blocks)  # reads the blocks lazily: one write each, as they come


def table(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[tuple[str, str]],
    title: str | None = None,
    page: int = 1,
    all_rows: bool = False,
) -> None:
    """Rows as a table: ``columns`` are (key, heading). Plain TSV when piped, paged rich when not."""
    if not is_terminal():
        _plain(rows, columns)
        return
    from rich.console import Console
    from rich.table import Table

    start = 0 if all_rows else (page - 1) * PAGE
    it = iter(rows)
    skipped = sum(1 for _ in islice(it, start))  # earlier pages are counted, not kept
    shown = list(it) if all_rows else list(islice(it, PAGE))
    total = skipped + len(shown) + sum(1 for _ in it)
    t = Table(title=title, show_lines=False, header_style="bold")
    for key, heading in columns:
        t.add_column(heading, overflow="fold", no_wrap=key in NO_WRAP)
    for row in shown:
        cells = []
        for key, _ in columns:
            text = _cell(row.get(key))
            style = RAG_STYLE.get(text) if key == "rag" else STATE_STYLE.get(text) if key == "state" else None
            cells.append(f"[{style}]{text}[/]" if style else text.replace("[", "\\["))
        t.add_row(*cells)
    console = Console()
    console.print(t)
    if not all_rows and total > PAGE:
        pages = (total + PAGE - 1) // PAGE
        console.print(f"[dim]page {page} of {pages} ({total} rows): --page N for more, or pipe for all rows[/]")


def message(text: str) -> None:
    """A one-line confirmation for a write command."""
    sys.stdout.write(text + "\n")


def lines(items: Sequence[str]) -> None:
    sys.stdout.write("".join(i + "\n" for i in items))


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a half-written board pack must never be left behind."""
    write_pieces_atomically(path, (text,))


def write_pieces_atomically(path: Path, pieces: Iterable[str]) -> None:
    """Write text made in pieces as the whole file or nothing (see ``write_atomically``)."""
    tmp = path.with_name(path.name + ".partial")
    try:
        with tmp.open("w", encoding="utf-8") as f:
            for piece in pieces:
                f.write(piece)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def echo_pieces(pieces: Iterable[str], size: int = 1 << 16) -> None:
    """Text made in pieces to stdout, in blocks of about ``size`` characters."""
    import click  # as the whole-text echo did: the CLI has it loaded already

    block: list[str] = []
    held = 0
    for piece in pieces:
        block.append(piece)
        held += len(piece)
        if held >= size:
            click.echo("".join(block), nl=False)
            block, held = [], 0
    if block:
        click.echo("".join(block), nl=False)
