"""A meeting's decision log as Markdown or a self-contained HTML page, to paste into the minutes."""

from __future__ import annotations

from html import escape
from typing import Any

SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("sign_offs", "Signed off", "No item was signed off."),
    ("overrides", "Overrides of missed measures", "No measure was overridden."),
    ("reopenings", "Re-opened", "No item was re-opened."),
    ("other_decisions", "Other decisions", "No other decision names this meeting."),
    ("challenges", "Challenges raised on the day", "No challenge was raised on the day."),
    ("reschedules", "Timescales moved on the day", "No due date was moved on the day."),
    ("calendar", "Calendar changes on the day", "The calendar did not change on the day."),
)


def _line(c: dict[str, Any]) -> str:
    signed = f" (signed with key {c['signed_with']})" if c.get("signed_with") else ""
    return f"{c['text']}{signed} — record {c['seq']}, {c['recorded_at'][:16].replace('T', ' ')} UTC"


def markdown(log: dict[str, Any]) -> str:
    title = f"# Decision log — board meeting of {log['meeting']}"
    lines = [title, "", f"Status: {log['status']}" + (f" ({log['cancel_reason']})" if log["cancel_reason"] else "")]
    if log["note"]:
        lines.append(f"Note: {log['note']}")
    for key, heading, empty in SECTIONS:
        lines += ["", f"## {heading}", ""]
        lines += [f"- {_line(c)}" for c in log[key]] or [empty]
    lines += ["", "## Audit head", "", f"`{log['audit_head']}` (check with `signoff audit verify --anchor`)."]
    return "\n".join(lines) + "\n"


def html(log: dict[str, Any]) -> str:
    e = escape
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Decision log — board meeting of {e(log['meeting'])}</title>",
        "<style>body{font-family:'DejaVu Sans',Arial,sans-serif;margin:1.5em;color:#222}"
        "h2{border-bottom:2px solid #444;font-size:13pt}code{word-break:break-all}</style></head><body>",
        f"<h1>Decision log — board meeting of {e(log['meeting'])}</h1>",
        f"<p>Status: {e(log['status'])}" + (f" ({e(log['cancel_reason'])})" if log["cancel_reason"] else "") + "</p>",
    ]
    if log["note"]:
        out.append(f"<p>Note: {e(log['note'])}</p>")
    for key, heading, empty in SECTIONS:
        out.append(f"<h2>{e(heading)}</h2>")
        if log[key]:
            out.append("<ul>" + "".join(f"<li>{e(_line(c))}</li>" for c in log[key]) + "</ul>")
        else:
            out.append(f"<p>{e(empty)}</p>")
    out.append(
        f"<h2>Audit head</h2><p><code>{e(str(log['audit_head']))}</code>"
        " (check with <code>signoff audit verify --anchor</code>).</p></body></html>"
    )
    return "\n".join(out)
