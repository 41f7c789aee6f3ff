"""The rules in force in a register, read from the register itself (never from files on disk).

``meta.rules_in_force`` names the adopted set; ``workflow_defs`` holds its TOML texts. Both the
write path (a unit of work) and the read path (a Reader) come through here.
"""

from __future__ import annotations

from collections.abc import Iterable

from signoff.engine.workflow import Rules, rules_from_sources
from signoff.errors import SignoffError

IN_FORCE = "rules_in_force"
IN_FORCE_SQL = "SELECT value FROM meta WHERE key = 'rules_in_force'"
DEFS_SQL = "SELECT name, source FROM workflow_defs WHERE ruleset = ?"


def rules(where: object, in_force: str | None, defs: Iterable[tuple[str, str]]) -> Rules:
    """Build the Rules named by ``in_force`` from its definitions; refuse a register without them."""
    if in_force is None:
        raise SignoffError(f"{where} has no workflow rules pinned: run 'signoff db upgrade' to pin the rules it uses.")
    found = rules_from_sources(dict(defs))
    if found.digest != in_force:
        raise SignoffError(
            f"{where}: the pinned workflow definitions do not match the rules in force ({in_force[:16]}…): "
            "run 'signoff audit verify' and restore the register from a backup."
        )
    return found
