"""The board pack: one self-contained, printable HTML file (or Markdown), no network, no scripts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from html import escape
from typing import Any

from signoff.clock import local_day

STATE_COLOURS = {
    "proposed": "#9e9e9e",
    "evidence_submitted": "#1e88e5",
    "challenged": "#f9a825",
    "signed_off": "#2e7d32",
}

CSS = """
body { font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 10.5pt; margin: 1.5em; color: #222; }
h1 { font-size: 17pt; margin-bottom: 0; } h2 { font-size: 13pt; border-bottom: 2px solid #444; margin-top: 1.4em; }
.meta { color: #555; margin-top: .2em; }
table { border-collapse: collapse; width: 100%; margin: .4em 0; page-break-inside: auto; }
th, td { border: 1px solid #bbb; padding: 3px 5px; vertical-align: top; text-align: left; }
th { background: #eee; } tr { page-break-inside: avoid; } td:nth-child(2) { white-space: nowrap; }
.rag { font-weight: bold; color: #fff; text-align: center; width: 4em; }
.red { background: #c62828; } .amber { background: #f9a825; color: #222; } .green { background: #2e7d32; }
.met { color: #2e7d32; font-weight: bold; } .missed { color: #c62828; font-weight: bold; }
.small { font-size: 9pt; color: #555; } code { font-size: 8.5pt; word-break: break-all; }
@media print { body { margin: 0; } h2 { page-break-after: avoid; } }
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _table(headings: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """A table a row at a time."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headings)
    yield f"<table><thead><tr>{head}</tr></thead><tbody>"
    for row in rows:
        yield "<tr>" + "".join(row) + "</tr>"
    yield "</tbody></table>"


def _td(value: Any, cls: str = "") -> str:
    return f'<td class="{cls}">{_e(value)}</td>' if cls else f"<td>{_e(value)}</td>"


def chart_svg(series: list[dict[str, Any]], width: int = 640, height: int = 220) -> str:
    """Items by state over time as stacked bars, inline SVG."""
    if not series:
        return "<p class='small'>No history yet.</p>"
    states = list(STATE_COLOURS)
    extra = sorted({k for p in series for k in p if k != "date" and k not in STATE_COLOURS})
    states += extra
    top = max(sum(p.get(s, 0) for s in states) for p in series) or 1
    left, bottom, legend = 34, 28, 150
    plot_w, plot_h = width - left - legend, height - bottom - 10
    bar_w = max(4.0, min(40.0, plot_w / len(series) * 0.7))
    step = plot_w / len(series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img"'
        f' aria-label="Items by state over time">',
        f'<line x1="{left}" y1="{10 + plot_h}" x2="{left + plot_w}" y2="{10 + plot_h}" stroke="#444"/>',
        f'<text x="{left - 4}" y="16" font-size="10" text-anchor="end">{top}</text>',
        f'<text x="{left - 4}" y="{10 + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    for n, point in enumerate(series):
        x = left + n * step + (step - bar_w) / 2
        y = 10 + plot_h
        for s in states:
            count = point.get(s, 0)
            if not count:
                continue
            h = plot_h * count / top
            y -= h
            colour = STATE_COLOURS.get(s, "#7e57c2")
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{_e(point['date'])}: {count} {_e(s)}</title></rect>"
            )
        if n == 0 or n == len(series) - 1 or len(series) <= 8:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - 12}" font-size="9" text-anchor="middle">'
                f"{_e(point['date'][5:])}</text>"
            )
    for n, s in enumerate(states):
        y = 16 + n * 16
        parts.append(
            f'<rect x="{width - legend + 10}" y="{y - 9}" width="10" height="10" fill="{STATE_COLOURS.get(s, "#7e57c2")}"/>'
        )
        parts.append(f'<text x="{width - legend + 25}" y="{y}" font-size="10">{_e(s)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _evidence_text(e: dict[str, Any]) -> str:
    if e["kind"] == "measure":
        return f"{e['measure']} = {e['value']} {e['unit'] or ''} (threshold {e['direction']} {e['threshold']})"
    return e["file_name"] or e["note"] or ""


def _withdrawn(e: dict[str, Any]) -> str:
    return f"withdrawn by {e['withdrawn_by']}: {e['withdrawn_reason']}" if e.get("withdrawn_by") else ""


def _evidence_line(e: dict[str, Any]) -> str:
    """Plain text (Markdown): withdrawn evidence struck through, with who withdrew it and why."""
    text = _evidence_text(e)
    return f"~~{text}~~ ({_withdrawn(e)})" if _withdrawn(e) else text


def _evidence_cell(e: dict[str, Any]) -> str:
    """An HTML cell: withdrawn evidence struck through, with who withdrew it and why."""
    if _withdrawn(e):
        return f"<td><s>{_e(_evidence_text(e))}</s> ({_e(_withdrawn(e))})</td>"
    return _td(_evidence_text(e))


def html(pack: dict[str, Any]) -> str:
    return "".join(html_chunks(pack))


def html_chunks(pack: dict[str, Any]) -> Iterator[str]:
    """The HTML pack in pieces, in order: the plan, changes and other long sections may be streams
    (sized iterables such as ``views.Spool``) read once, so the pack is never held whole."""
    for n, part in enumerate(_html_parts(pack)):
        if n:
            yield "\n"
        if isinstance(part, str):
            yield part
        else:
            yield from part


def _html_parts(pack: dict[str, Any]) -> Iterator[str | Iterator[str]]:
    plan = pack["plan"]
    rag = plan["by_rag"]
    yield "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
    yield f"<title>Board pack — meeting of {_e(pack['meeting'])}</title><style>{CSS}</style></head><body>"
    yield f"<h1>Improvement Board pack — meeting of {_e(pack['meeting'])}</h1>"
    yield (
        f"<p class='meta'>{len(plan['items'])} items: {rag['red']} red, {rag['amber']} amber, {rag['green']} green."
        f" Changes since {_e(pack['previous_meeting'])}. Audit head <code>{_e(plan['audit_head'])}</code>"
        " (read into the minutes; check with <code>signoff audit verify --anchor</code>).</p>"
    )
    yield "<h2>Plan on a page</h2>"
    yield (
        _table(
            ["RAG", "Ref", "State", "Due", "Owner", "Item", "Why"],
            (
                [
                    _td(i["rag"].upper(), f"rag {i['rag']}"),
                    _td(i["ref"]),
                    _td(i["state"]),
                    _td((i["due"] or "") + (f" (was {i['original_due']})" if i["slipped"] else "")),
                    _td(i["owner"]),
                    _td(i["title"]),
                    _td("; ".join(i["rag_reasons"])),
                ]
                for i in plan["items"]
            ),
        )
        if plan["items"]
        else "<p>No items on the register yet.</p>"
    )
    yield "<h2>Items by state over time</h2>"
    yield chart_svg(pack["states_over_time"])
    yield "<h2>What changed since the last meeting</h2>"
    if pack["changes"]:
        yield _table(
            ["When (UTC)", "Item", "What changed", "By"],
            (
                [
                    _td(c["recorded_at"][:16].replace("T", " ")),
                    _td(c["item_ref"] or ""),
                    _td(c["text"]),
                    _td(c["actor"]),
                ]
                for c in pack["changes"]
            ),
        )
    else:
        yield "<p>No change was applied since the last meeting.</p>"
    yield "<h2>Items asking for sign-off</h2>"
    if not pack["asking_for_sign_off"]:
        yield "<p>None.</p>"
    for item in pack["asking_for_sign_off"]:
        sub = item["submission"]
        yield (
            f"<h3>{_e(item['ref'])} — {_e(item['title'])}</h3><p class='small'>Submitted by {_e(sub['submitted_by'])}"
            f" on {_e(local_day(sub['submitted_at']))}; frozen bundle <code>{_e(sub['bundle_digest'])}</code></p>"
        )
        yield "".join(
            _table(
                ["Matrix row", "Evidence", "Dated", "SHA-256"],
                (
                    [
                        _td(e["key"]),
                        _evidence_cell(e),
                        _td(e["dated"]),
                        f"<td><code>{_e(e['sha256'][:16])}…</code></td>",
                    ]
                    for e in item["evidence"]
                ),
            )
        )
    yield "<h2>Measures against thresholds</h2>"
    if pack["measures"]:
        yield _table(
            ["Measure", "Item", "Value", "Threshold", "Period", "Status", "Trend"],
            (
                [
                    _td(m["measure"]),
                    _td(m["item"]),
                    _td(f"{m['value']:g} {m['unit'] or ''}"),
                    _td(f"{m['direction']} {m['threshold']:g}"),
                    _td(m["period"]),
                    _td("met" if m["met"] else "not met", "met" if m["met"] else "missed"),
                    _td(
                        ", ".join(f"{t['period']}: {t['value']:g}" for t in m["trend"])
                        + f" ({m['trend_direction']})"
                        + "".join(f"; {c}" for c in m.get("threshold_changes", []))
                    ),
                ]
                for m in pack["measures"]
            ),
        )
    else:
        yield "<p>No measures recorded.</p>"
    yield f"<h2>Overdue evidence by owner (as of {_e(pack['overdue']['as_of'])})</h2>"
    owners = pack["overdue"]["owners"]
    if not owners:
        yield "<p>Nothing overdue.</p>"
    for owner, due in _owner_pairs(owners):
        yield f"<h3>{_e(owner)}</h3>"
        yield "".join(_table(["Item", "Matrix row", "What", "Due by", "Days late"], _overdue_rows(due)))
    yield "<h2>Perpetual limbo alarms</h2>"
    if pack["limbo"]:
        yield _table(
            ["Ref", "State", "Why"],
            ([_td(i["ref"]), _td(i["state"]), _td("; ".join(i["limbo"]))] for i in pack["limbo"]),
        )
    else:
        yield "<p>No item is stalling.</p>"
    yield "<h2>Appendix: refused attempts since the last meeting</h2>"
    if pack["refusals"]:
        yield _table(
            ["Refused for", "Times", "For example"],
            ([_td(f["reason"]), _td(f["count"]), _td(f["example"])] for f in pack["refusals"]),
        )
    else:
        yield "<p>No attempt was refused.</p>"
    yield "</body></html>"


def _owner_pairs(owners: Any) -> Iterable[tuple[str, dict[str, Iterable[dict[str, Any]]]]]:
    """Owners with what they have overdue: a dict's items, or a stream's pairs (``oversight.Overdue``)."""
    return owners.items() if isinstance(owners, dict) else owners  # type: ignore[no-any-return]


def _overdue_rows(due: dict[str, Iterable[dict[str, Any]]]) -> Iterator[list[str]]:
    for r in due["evidence"]:
        yield [_td(r["ref"]), _td(r["key"]), _td(r["description"]), _td(r["present_by"]), _td(r["days_late"])]
    for r in due["items"]:
        yield [_td(r["ref"]), _td("(item)"), _td(r["title"]), _td(r["due"]), _td(r["days_late"])]


def markdown(pack: dict[str, Any]) -> str:
    return "".join(markdown_chunks(pack))


def markdown_chunks(pack: dict[str, Any]) -> Iterator[str]:
    """The Markdown pack a line at a time (see ``html_chunks``)."""
    for line in _markdown_lines(pack):
        yield line + "\n"


def _cell(v: Any) -> str:
    return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")


def _markdown_lines(pack: dict[str, Any]) -> Iterator[str]:
    plan = pack["plan"]
    rag = plan["by_rag"]
    cell = _cell
    yield f"# Improvement Board pack — meeting of {pack['meeting']}"
    yield ""
    yield (
        f"{len(plan['items'])} items: {rag['red']} red, {rag['amber']} amber, {rag['green']} green. "
        f"Audit head `{plan['audit_head']}`."
    )
    yield ""
    yield "## Plan on a page"
    yield ""
    if plan["items"]:
        yield "| RAG | Ref | State | Due | Owner | Item | Why |"
        yield "|---|---|---|---|---|---|---|"
        for i in plan["items"]:
            yield (
                f"| {i['rag'].upper()} | {cell(i['ref'])} | {i['state']} | {cell(i['due'])} | {cell(i['owner'])} | "
                f"{cell(i['title'])} | {cell('; '.join(i['rag_reasons']))} |"
            )
    else:
        yield "No items on the register yet."
    yield from ("", f"## What changed since {pack['previous_meeting']}", "")
    if pack["changes"]:
        for c in pack["changes"]:
            yield f"- {c['recorded_at'][:16].replace('T', ' ')} {cell(c['text'])}"
    else:
        yield "No change was applied since the last meeting."
    yield from ("", "## Items asking for sign-off", "")
    for item in pack["asking_for_sign_off"]:
        yield f"### {item['ref']} — {item['title']}"
        yield f"Frozen bundle `{item['submission']['bundle_digest']}`"
        for e in item["evidence"]:
            yield f"- {e['key']}: {_evidence_line(e)} (dated {e['dated']})"
    if not pack["asking_for_sign_off"]:
        yield "None."
    yield from ("", "## Measures against thresholds", "")
    if pack["measures"]:
        for m in pack["measures"]:
            yield (
                f"- {m['measure']} ({m['item']}): {m['value']:g} {m['unit'] or ''} against {m['direction']} "
                f"{m['threshold']:g} — {'met' if m['met'] else 'NOT MET'} ({m['trend_direction']})"
                + "".join(f"; {c}" for c in m.get("threshold_changes", []))
            )
    else:
        yield "No measures recorded."
    yield from ("", "## Overdue evidence by owner", "")
    if not pack["overdue"]["owners"]:
        yield "Nothing overdue."
    for owner, due in _owner_pairs(pack["overdue"]["owners"]):
        yield f"### {owner}"
        for r in due["evidence"]:
            yield f"- {r['ref']} {r['key']}: due {r['present_by']}, {r['days_late']} days late"
        for r in due["items"]:
            yield f"- {r['ref']} (item): due {r['due']}, {r['days_late']} days late"
    yield from ("", "## Perpetual limbo alarms", "")
    if pack["limbo"]:
        for i in pack["limbo"]:
            yield f"- {i['ref']}: {'; '.join(i['limbo'])}"
    else:
        yield "No item is stalling."
    yield from ("", "## Appendix: refused attempts since the last meeting", "")
    if pack["refusals"]:
        for f in pack["refusals"]:
            yield f"- {f['reason']}: {f['count']} (e.g. {cell(f['example'])})"
    else:
        yield "No attempt was refused."
