"""What a reference, a user name and an evidence key may look like.

Refs and names end up in board papers, file names and audit exports, so they are kept to
printable text without control characters or surrounding whitespace.
"""

from __future__ import annotations

import re

from signoff.errors import BadInput

_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$")
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,64}$")
MAX_TEXT = 10_000


def _has_control(text: str) -> bool:
    return any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in text)


def check_ref(ref: str) -> str:
    if not _REF.match(ref or ""):
        raise BadInput(
            f"item ref {ref!r} is not allowed: use 1-40 letters, digits, '.', '_', '/' or '-', "
            "starting with a letter or digit (e.g. OF-01)."
        )
    return ref


def check_key(key: str) -> str:
    if not _KEY.match(key or ""):
        raise BadInput(
            f"evidence key {key!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. case-audit)."
        )
    return key


def check_user_name(name: str) -> str:
    if not name or name != name.strip() or not _NAME.match(name):
        raise BadInput(
            f"user name {name!r} is not allowed: use 1-64 printable characters with no leading or trailing spaces."
        )
    return name


def check_text(text: str | None, what: str, required: bool = True) -> str:
    """Free text (titles, reasons, responses): trimmed, no control characters, bounded."""
    value = (text or "").strip()
    if required and not value:
        raise BadInput(f"the {what} is empty: give the {what} as text.")
    if _has_control(value):
        raise BadInput(f"the {what} contains control characters: remove them and try again.")
    if len(value) > MAX_TEXT:
        raise BadInput(f"the {what} is {len(value)} characters long: keep it under {MAX_TEXT}.")
    return value
