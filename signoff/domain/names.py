"""What a reference, a user name and an evidence key may look like.

Refs and names end up in board papers, file names and audit exports, so they are kept to
printable text without control characters or surrounding whitespace. Every check returns the
value in Unicode NFC: "zo\u00eb" and "zoe\u0308" look the same on a board paper, so they must be
the same person in the register (see ``name_fold`` for names that merely look alike).
"""

from __future__ import annotations

import re
import unicodedata

from signoff.errors import BadInput

# fullmatch, never match with "$": "$" also matches before a trailing newline, so "OF-01\n" got in.
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MAX_NAME = 64
MAX_TEXT = 10_000
# Right-to-left overrides and isolates can make text in an export read differently from what was stored.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Unicode category Cc is exactly U+0000-001F and U+007F-009F; one regex scan instead of a
# category lookup per character keeps a 50,000-row matrix import fast.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(_BIDI)) + "]")


def has_control(text: str) -> bool:
    """C0 and C1 control characters (except newline and tab), DEL, and bidirectional overrides."""
    return _CONTROL.search(text) is not None


def _name_problem(name: str) -> str | None:
    if not name:
        return "is empty"
    if name != name.strip():
        return "has leading or trailing whitespace: remove it"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long: use at most {MAX_NAME}"
    for ch in name:
        # Control, invisible (format, e.g. zero-width), private-use, unassigned and line-separator characters.
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return f"contains the control or invisible character U+{ord(ch):04X}: remove it"
    return None


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def name_fold(name: str) -> str:
    """The form two user names are compared in: NFKC and case folded, so "Zoë", "ZOË" and "Ｚｏë"
    (full-width) are one person and a second user cannot be added under a look-alike name."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def check_ref(ref: str) -> str:
    ref = nfc(ref or "")
    if ref and ref != ref.strip() and _REF.fullmatch(ref.strip()):
        raise BadInput(f"item ref {ref!r} has leading or trailing whitespace: remove it (e.g. {ref.strip()}).")
    if not _REF.fullmatch(ref or ""):
        raise BadInput(
            f"item ref {ref!r} is not allowed: use 1-40 letters, digits, '.', '_', '/' or '-', "
            "starting with a letter or digit (e.g. OF-01)."
        )
    return ref


def check_key(key: str) -> str:
    key = nfc(key or "")
    if not _KEY.fullmatch(key or ""):
        raise BadInput(
            f"evidence key {key!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. case-audit)."
        )
    return key


def check_user_name(name: str) -> str:
    name = nfc(name or "")
    problem = _name_problem(name or "")
    if problem:
        raise BadInput(
            f"user name {name!r} {problem} (a name is 1-{MAX_NAME} printable characters, "
            "no leading or trailing spaces)."
        )
    return name


def check_file_name(name: str) -> str:
    """An evidence file's name is shown on the board, in packs and in exports: a control character or a
    right-to-left override there could make "report\u202eexe.pdf" read as something it is not."""
    for ch in name:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            raise BadInput(
                f"evidence file name {name.encode('unicode_escape').decode('ascii')!r} contains the control or "
                f"bidirectional-override character U+{ord(ch):04X}: rename the file and add it again."
            )
    return nfc(name)


def check_text(text: str | None, what: str, required: bool = True) -> str:
    """Free text (titles, reasons, responses): trimmed, no control characters, bounded."""
    value = (text or "").strip()
    if required and not value:
        raise BadInput(f"the {what} is empty: give the {what} as text.")
    if has_control(value):
        raise BadInput(f"the {what} contains control characters: remove them and try again.")
    if len(value) > MAX_TEXT:
        raise BadInput(f"the {what} is {len(value)} characters long: keep it to at most {MAX_TEXT:,}.")
    return value


def require_actor_name(name: str | None) -> str:
    """Who is acting, as given with --as or SIGNOFF_USER. Light to import: read commands that act for
    someone (``todo``) check the name without loading the write stack."""
    if not name:
        raise BadInput("say who you are: pass --as NAME before the command, or set SIGNOFF_USER.")
    # A name no user can have is bad input, not an attempt to audit: control characters stay out of the log.
    return check_user_name(name)
