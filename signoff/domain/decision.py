"""The decision statement: the short text a chair signs, saying exactly what is decided.

It is what a person reads before signing and what an inspector reads years later, so it is plain
UTF-8 text, one ``field: value`` line per fact in a fixed order after a fixed first line::

    signoff decision v1
    register: 3b0f6c1e-8a52-4d55-9f1e-2f4c1e0a7b19
    item: OF-02
    title: Strengthen management oversight of casework
    event: approve
    meeting: 2026-12-14
    bundle: 9f2c…(64 hex digits)
    reason:
    override-reason:
    actor: chair.whitfield
    time: 2026-12-14T10:31:07Z

A field with no value (a re-opening has no meeting; most approvals have no reason) is the field
name and the colon alone. The text ends with one line feed and has no carriage returns.

There is exactly one way to write each statement, so the bytes that were signed can be rebuilt
from the facts and compared: a parser that accepted two spellings of one decision would let a
signature be moved onto a text that reads differently. Inside values a backslash, a line feed
and a tab are written ``\\\\``, ``\\n`` and ``\\t``, and characters that are invisible or move
text around (control characters, line and paragraph separators, bidirectional controls,
zero-width characters, the byte-order mark, the soft hyphen) are written ``\\u{XXXX}`` with
upper-case hex, so what a reader sees is what was signed. Nothing else is escaped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from signoff.domain import names
from signoff.errors import BadInput

HEADER = "signoff decision v1"
FIELDS: tuple[str, ...] = (
    "register",
    "item",
    "title",
    "event",
    "meeting",
    "bundle",
    "reason",
    "override-reason",
    "actor",
    "time",
)
OPTIONAL = frozenset({"meeting", "bundle", "reason", "override-reason"})

# A fixed set, not a Unicode category lookup: the canonical form must not change with the
# Unicode version of whichever Python later reads the statement.
_INVISIBLE = frozenset(
    [chr(c) for c in range(0x00, 0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u00ad", "\u061c", "\u180e", "\u2028", "\u2029", "\ufeff"]
    + [chr(c) for c in range(0x200B, 0x2010)]  # zero-width space/joiners, LRM, RLM
    + [chr(c) for c in range(0x202A, 0x202F)]  # bidirectional embeddings and overrides
    + [chr(c) for c in range(0x2060, 0x2065)]  # word joiner, invisible operators
    + [chr(c) for c in range(0x2066, 0x206A)]  # bidirectional isolates
)
_SHORT = {"\\": "\\\\", "\n": "\\n", "\t": "\\t"}
_ESCAPE_RE = re.compile(r"\\(?:(\\)|(n)|(t)|u\{([0-9A-F]{4,6})\})")
_REGISTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_EVENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_BUNDLE = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class BadStatement(BadInput):
    """A statement file that is not exactly a decision statement as signoff writes it."""


@dataclass(frozen=True)
class DecisionStatement:
    """What is decided. Build with ``build_statement`` (it checks and normalises); read with ``parse_statement``."""

    register: str
    item: str
    title: str
    event: str
    meeting: dt.date | None
    bundle: str | None
    reason: str | None
    override_reason: str | None
    actor: str
    time: dt.datetime

    def values(self) -> tuple[tuple[str, str], ...]:
        """Each field and its unescaped text, in statement order ('' for an absent value)."""
        return (
            ("register", self.register),
            ("item", self.item),
            ("title", self.title),
            ("event", self.event),
            ("meeting", self.meeting.isoformat() if self.meeting else ""),
            ("bundle", self.bundle or ""),
            ("reason", self.reason or ""),
            ("override-reason", self.override_reason or ""),
            ("actor", self.actor),
            ("time", self.time.strftime("%Y-%m-%dT%H:%M:%SZ")),
        )

    def text(self) -> str:
        lines = [HEADER] + [f"{name}: {escape(value)}" if value else f"{name}:" for name, value in self.values()]
        return "\n".join(lines) + "\n"

    def encode(self) -> bytes:
        """The exact bytes that are signed."""
        return self.text().encode("utf-8")


def escape(value: str) -> str:
    return "".join(_SHORT.get(ch) or (f"\\u{{{ord(ch):04X}}}" if ch in _INVISIBLE else ch) for ch in value)


def _unescape(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        backslash, newline, tab, code = match.groups()
        if backslash:
            return "\\"
        if newline:
            return "\n"
        if tab:
            return "\t"
        point = int(code, 16)
        if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
            raise ValueError(f"\\u{{{code}}} is not a character")
        return chr(point)

    pos = 0  # pragma: no mutate (value[None:] is value[0:])
    out = []
    for match in _ESCAPE_RE.finditer(value):
        if "\\" in value[pos : match.start()]:
            break
        out.append(value[pos : match.start()])
        out.append(one(match))
        pos = match.end()
    rest = value[pos:]
    if "\\" in rest:
        raise ValueError("a backslash starts no known escape (write a backslash as \\\\)")
    out.append(rest)
    return "".join(out)


def _text(value: str | None, field: str, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise BadInput(f"the {field} is empty: a decision statement needs it.")
        return None
    if value != value.strip():
        raise BadInput(f"the {field} has leading or trailing whitespace: remove it.")
    if _SURROGATE.search(value):
        raise BadInput(f"the {field} contains a broken character (an unpaired UTF-16 surrogate): retype it.")
    if len(value) > names.MAX_TEXT:
        raise BadInput(f"the {field} is {len(value)} characters long: keep it to at most {names.MAX_TEXT:,}.")
    return value


def build_statement(
    *,
    register: str,
    item: str,
    title: str,
    event: str,
    actor: str,
    time: dt.datetime,
    meeting: dt.date | None = None,
    bundle: str | None = None,
    reason: str | None = None,
    override_reason: str | None = None,
) -> DecisionStatement:
    """Check each fact and build the statement. The time is kept in UTC to the whole second."""
    if not _REGISTER.fullmatch(register or ""):
        raise BadInput(f"register id {register!r} is not a register id (1-64 letters, digits, '.', '_', ':' or '-').")
    names.check_ref(item)
    if not _EVENT.fullmatch(event or ""):
        raise BadInput(f"event {event!r} is not an event name (1-64 letters, digits, '.', '_' or '-').")
    names.check_user_name(actor)
    if bundle is not None and not _BUNDLE.fullmatch(bundle):
        raise BadInput(f"bundle digest {bundle!r} is not a bundle digest (64 lower-case hex digits).")
    if not isinstance(time, dt.datetime) or time.tzinfo is None or time.utcoffset() is None:
        raise BadInput("the decision time has no time zone: give it in UTC.")
    if meeting is not None and (not isinstance(meeting, dt.date) or isinstance(meeting, dt.datetime)):
        raise BadInput(f"meeting {meeting!r} is not a calendar date.")
    return DecisionStatement(
        register=register,
        item=item,
        title=_text(title, "title", required=True) or "",  # pragma: no mutate (a required title is never None)
        event=event,
        meeting=meeting,
        bundle=bundle or None,
        reason=_text(reason, "reason", required=False),
        override_reason=_text(override_reason, "override reason", required=False),
        actor=actor,
        time=time.astimezone(dt.UTC).replace(microsecond=0),
    )


def parse_statement(data: bytes | str, source: str = "the statement") -> DecisionStatement:
    """Read a statement written by ``DecisionStatement.text``; refuse anything written any other way."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadStatement(
                f"{source} is not UTF-8 text: use the statement file exactly as signoff wrote it."
            ) from None
    if data.startswith("\ufeff"):
        raise BadStatement(
            f"{source} begins with a byte-order mark that an editor added: use the file exactly as signoff wrote it."
        )
    if "\r" in data:
        raise BadStatement(
            f"{source} contains carriage returns (an editor changed its line endings): use the file exactly as signoff wrote it."
        )
    if not data.endswith("\n") or data.endswith("\n\n"):
        raise BadStatement(f"{source} must end with exactly one line break: use the file exactly as signoff wrote it.")
    lines = data[:-1].split("\n")
    if lines[0] != HEADER:
        raise BadStatement(f"{source} does not begin with the line '{HEADER}': it is not a signoff decision statement.")

    seen: dict[str, int] = {}
    raw: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        name, colon, rest = line.partition(":")
        if not colon or name not in FIELDS:
            raise BadStatement(
                f"{source}, line {number}: {name if colon else line!r} is not a statement field ({', '.join(FIELDS)})."
            )
        if name in seen:
            raise BadStatement(
                f"{source}, line {number}: the field {name!r} appears twice (first on line {seen[name]})."
            )
        expected = FIELDS[len(seen)]
        if name != expected:
            raise BadStatement(
                f"{source}, line {number}: the field {name!r} is out of order or {expected!r} is missing: the fields come in the order {', '.join(FIELDS)}."
            )
        if rest and not rest.startswith(" "):
            raise BadStatement(f"{source}, line {number}: write one space after '{name}:'.")
        value = rest[1:]
        if rest and not value:
            raise BadStatement(f"{source}, line {number}: an empty {name} is written '{name}:' with no space after it.")
        if any(ch in _INVISIBLE for ch in value):
            raise BadStatement(
                f"{source}, line {number}: the {name} contains an unescaped control or invisible character."
            )
        try:
            text = _unescape(value)
        except ValueError as exc:
            raise BadStatement(f"{source}, line {number}: the {name} has a bad escape: {exc}.") from None
        if escape(text) != value:
            raise BadStatement(f"{source}, line {number}: the {name} escapes a character that is written as itself.")
        seen[name] = number
        raw[name] = text
    missing = [name for name in FIELDS if name not in raw]
    if missing:
        raise BadStatement(f"{source} ends before the field {missing[0]!r}: the statement is incomplete.")
    for name in FIELDS:
        if name not in OPTIONAL and not raw[name]:
            raise BadStatement(f"{source}, line {seen[name]}: the {name} is empty, but every statement has one.")

    try:
        meeting = _parse_date(raw["meeting"]) if raw["meeting"] else None
        if not _TIME.fullmatch(raw["time"]):
            raise BadInput(f"the time {raw['time']!r} is not written YYYY-MM-DDTHH:MM:SSZ.")
        try:
            time = dt.datetime.strptime(raw["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            raise BadInput(f"the time {raw['time']!r} is not a real date and time.") from None
        statement = build_statement(
            register=raw["register"],
            item=raw["item"],
            title=raw["title"],
            event=raw["event"],
            actor=raw["actor"],
            time=time,
            meeting=meeting,
            bundle=raw["bundle"] or None,
            reason=raw["reason"] or None,
            override_reason=raw["override-reason"] or None,
        )
    except BadInput as exc:
        raise BadStatement(f"{source} has a bad value: {str(exc).rstrip('.')}.") from None
    if statement.text() != data:  # a safety net: every rule above should already have caught a difference
        raise BadStatement(
            f"{source} is not written in the one canonical form: use the file exactly as signoff wrote it."
        )
    return statement


def _parse_date(text: str) -> dt.date:
    if not _DATE.fullmatch(text):
        raise BadInput(f"the meeting {text!r} is not written YYYY-MM-DD.")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"the meeting {text!r} is not a calendar date.") from None
