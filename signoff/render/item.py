"""One item in full, as readable lines."""

from __future__ import annotations

from typing import Any

from signoff.clock import local_day
from signoff.render import output


def render_item(d: dict[str, Any]) -> None:
    due = d["due"] or "none"
    if d["slipped"]:
        due += f" (originally {d['original_due']})"
    out = [
        f"{d['ref']} — {d['title']}",
        f"  kind: {d['kind']}   state: {d['state']}   RAG: {d['rag']} ({'; '.join(d['rag_reasons'])})",
        f"  due: {due}   owner: {d['owner'] or 'none'}   version: {d['version']}",
        f"  evidence matrix ({d['keys_covered']} of {d['matrix_rows']} rows covered):",
    ]
    for m in d["matrix"]:
        mark = "x" if m["covered"] else " "
        out.append(f"    [{mark}] {m['key']}: {m['description']} (by {m['present_by']})")
    if d["evidence"]:
        out.append("  evidence:")
        for e in d["evidence"]:
            what = e["file_name"] or e["note"] or f"{e['measure']} = {e['value']} {e['unit'] or ''}".strip()
            gone = f" (superseded by {e['superseded_by']})" if e["superseded_by"] else ""
            if e.get("withdrawn"):
                gone += (
                    f" — WITHDRAWN on {local_day(e['withdrawn_at'])} by {e['withdrawn_by']}: {e['withdrawn_reason']}"
                )
                what = f"~~{what}~~"
            out.append(f"    #{e['id']} {e['key']}: {what} — dated {e['dated']}, added by {e['added_by']}{gone}")
    for ch in d["challenges"]:
        answer = (
            f" — answered by {ch['answered_by']} on {local_day(ch['answered_at'])}: {ch['response']}"
            if ch["answered_at"]
            else " — OPEN"
        )
        out.append(
            f"  challenge {ch['id']}: {ch['event']} by {ch['raised_by']} on {local_day(ch['raised_at'])}: {ch['reason']}{answer}"
        )
    for s in d["submissions"]:
        out.append(
            f"  {s['event']} by {s['submitted_by']} on {local_day(s['submitted_at'])}, bundle {s['bundle_digest'][:16]}…"
        )
    for a in d["approvals"]:
        how = f", signed with key {a['signer']}" if a.get("signer") else ", unsigned"
        out.append(
            f"  signed off by {a['approved_by']} at the meeting of {a['meeting']}, bundle {a['bundle_digest'][:16]}…{how}"
        )
    for sig in d.get("signatures", []):
        if sig["event"] != "approve":
            out.append(f"  {sig['event']} signed by {sig['signed_by']} with key {sig['signer']} (record {sig['seq']})")
    for r in d.get("reschedules", []):
        out.append(
            f"  due moved from {r['from_due'] or 'none'} to {r['to_due']} by {r['changed_by']} "
            f"on {local_day(r['changed_at'])}: {r['reason']}"
        )
    for ch in d.get("changes", []):
        what = f"row {ch['row_key']} " if ch["row_key"] else ""
        if ch["field"] == "row":
            verb = "added" if ch["from_value"] is None else "removed"
            line = f"  matrix row {ch['row_key']} {verb}"
        else:
            line = f"  {what}{ch['field']} changed from {ch['from_value'] or 'none'} to {ch['to_value'] or 'none'}"
        why = f": {ch['reason']}" if ch["reason"] else ""
        out.append(f"{line} by {ch['changed_by']} on {local_day(ch['changed_at'])}{why}")
    if d["limbo"]:
        out.append("  LIMBO: " + "; ".join(d["limbo"]))
    output.lines(out)
