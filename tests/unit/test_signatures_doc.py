"""docs/AUDIT.md's signed-decisions examples are what the code writes, so the documentation cannot drift."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from signoff.domain import decision
from signoff.domain.decision import FIELDS, parse_statement
from signoff.domain.signers import allowed_signers_line, verify_command
from signoff.domain.sshkeys import parse_public_key

AUDIT = (Path(__file__).resolve().parents[2] / "docs" / "AUDIT.md").read_text(encoding="utf-8")
DOC = AUDIT.split("\n## Signed decisions\n", 1)[1]


def block(marker: str) -> str:
    found = re.search(rf"<!-- {marker} -->\s*```\w+\n(.*?)```", DOC, re.S)
    assert found, f"docs/AUDIT.md's Signed decisions section lost its <!-- {marker} --> block"
    return found.group(1)


def test_the_example_statement_is_one_signoff_writes_and_the_table_lists_its_fields_in_order() -> None:
    example = block("statement")
    statement = parse_statement(example)
    assert statement.text() == example
    table = re.findall(r"^\| `([a-z-]+)` +\|", DOC, re.M)
    assert tuple(table) == FIELDS


def _sig_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)


def test_the_allowed_signers_example_is_what_the_renderer_writes() -> None:
    for line in block("allowed-signers").splitlines():
        name, options, key_text = line.split(" ", 2)
        times = dict(re.findall(r'(valid-after|valid-before)="(\d{14}Z)"', options))
        before = _sig_time(times["valid-before"]) if "valid-before" in times else None
        assert allowed_signers_line(name, parse_public_key(key_text), _sig_time(times["valid-after"]), before) == line


def test_the_verify_command_is_the_one_signoff_prints_for_the_example() -> None:
    statement = parse_statement(block("statement"))
    assert block("verify-command").strip() == verify_command(statement.actor, "OF-02.approve.txt", statement.time)


def test_the_list_of_escaped_characters_is_the_one_the_code_escapes() -> None:
    paragraph = DOC.split("<!-- escaped -->", 1)[1].split("\n\n", 1)[0]
    listed: set[str] = set()
    for first, last in re.findall(r"U\+([0-9A-F]{4})(?:–U\+([0-9A-F]{4}))?", paragraph):
        listed.update(chr(c) for c in range(int(first, 16), int(last or first, 16) + 1))
    assert "other than line\nfeed and tab" in paragraph
    assert listed - {"\n", "\t"} == decision._INVISIBLE - {"\n", "\t"}
    assert {"\n", "\t"} <= decision._INVISIBLE  # escaped too, by their short forms \n and \t
