"""docs/AUDIT.md's stand-alone verifier is run, as written, against real exports: it cannot drift."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from signoff.services import audit
from signoff.services.demo import build_demo

DOC = Path(__file__).resolve().parents[2] / "docs" / "AUDIT.md"


def verifier_source() -> str:
    found = re.search(r"<!-- verifier -->\s*```python\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.S)
    assert found, "docs/AUDIT.md lost its <!-- verifier --> python block"
    return found.group(1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A real register (the demo), its full JSONL export, the stand-alone verifier and the head."""
    folder = tmp_path_factory.mktemp("doc")
    db = build_demo(folder / "demo", echo=lambda _: None)
    export = folder / "audit.jsonl"
    with export.open("w", encoding="utf-8") as fh:
        audit.export(db, fh, "jsonl")
    script = folder / "verify_audit.py"
    script.write_text(verifier_source(), encoding="utf-8")
    head = audit.head(db)
    assert head is not None
    return export, script, f"{head[0]}:{head[1]}"


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -I: isolated, so the script sees only the standard library, never signoff.
    return subprocess.run([sys.executable, "-I", str(script), *args], capture_output=True, text=True, timeout=60)


def test_doc_verifier_is_short_and_standard_library_only() -> None:
    source = verifier_source()
    assert len(source.splitlines()) <= 36
    imports = set(re.findall(r"^import (.+)$", source, re.M))
    assert imports == {"csv, hashlib, json, sys"}


def test_doc_verifier_passes_a_real_export_with_and_without_the_anchor(demo: tuple[Path, Path, str]) -> None:
    export, script, head = demo
    assert audit.verify_export(export).ok
    for args in ((), (head,)):
        result = run(script, str(export), *args)
        assert (result.returncode, result.stdout) == (0, "broken records: none\n"), result.stderr


def edited(export: Path, tmp: Path, change: callable) -> Path:  # type: ignore[valid-type]
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    records = change(records)
    out = tmp / "tampered.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return out


def set_actor(records: list[dict]) -> list[dict]:
    records[9]["actor"] = "mallory"
    return records


def drop_middle(records: list[dict]) -> list[dict]:
    return records[:9] + records[10:]


def truncate(records: list[dict]) -> list[dict]:
    return records[:-2]


@pytest.mark.parametrize(
    ("change", "with_anchor", "expected"),
    [(set_actor, False, [10]), (drop_middle, False, [11]), (truncate, False, []), (truncate, True, ["HEAD"])],
)
def test_doc_verifier_and_signoff_agree_on_tampered_exports(
    demo: tuple[Path, Path, str],
    tmp_path: Path,
    change,
    with_anchor: bool,
    expected: list,  # type: ignore[no-untyped-def]
) -> None:
    export, script, head = demo
    head_seq = int(head.split(":")[0])
    expected = [head_seq if e == "HEAD" else e for e in expected]
    path = edited(export, tmp_path, change)
    result = run(script, str(path), *([head] if with_anchor else []))
    assert result.returncode == (1 if expected else 0), result.stderr
    assert result.stdout == f"broken records: {expected or 'none'}\n"
    anchor = (head_seq, head.split(":")[1]) if with_anchor else None
    report = audit.chain.verify_stream(audit._read_export(path)[0], start_prev=None, anchor=anchor)
    assert [seq for seq, _ in report.broken] == expected


def test_doc_states_the_constants_the_code_uses() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert audit.chain.RECORD_TAG == b"signoff.audit.v1\n" and 'b"signoff.audit.v1\\n"' in text
    assert audit.chain.GENESIS_TAG == b"signoff.genesis.v1\n" and 'b"signoff.genesis.v1\\n"' in text
    for field in audit.chain.EXPORT_FIELDS:
        assert f"`{field}`" in text
