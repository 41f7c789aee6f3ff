"""Reading the audit log: export it, verify its hash chain, print its head, check an export offline."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gc
import io
import itertools
import json
import operator
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from signoff import clock
from signoff.domain import bundle, chain
from signoff.domain.cells import CSV_ESCAPE, FORMULA_LEADS, neutralise, restore
from signoff.domain.item_links import ItemLinks
from signoff.errors import BadInput, NotFound, SignoffError
from signoff.store import blobs, location
from signoff.store.location import DbRef
from signoff.store.reader import Reader, SqliteReader

FORMATS = ("csv", "jsonl", "json")
_NULLABLE = {"item_ref", "from_state", "to_state", "workflow_hash"}
_SEQ_PREFIX = re.compile(r'\s*\{\s*"seq"\s*:\s*(\d+)\s*,')
_SELECT = "SELECT " + ", ".join(chain.EXPORT_FIELDS) + " FROM audit"


def _filters(item: str | None, since: dt.date | None, until: dt.date | None) -> tuple[str, tuple[Any, ...]]:
    where, params = [], []
    if item:
        where.append("item_ref = ?")
        params.append(item)
    if since:
        where.append("recorded_at >= ?")
        params.append(clock.day_starts(since))
    if until:
        where.append("recorded_at < ?")
        params.append(clock.day_starts(until + dt.timedelta(days=1)))
    return (" WHERE " + " AND ".join(where) if where else ""), tuple(params)


def require_known_item(db_path: DbRef, item: str | None) -> None:
    """An export filter naming an item neither the register nor its log has ever seen is a typo (exit 4);
    a ref that only refused attempts named is still a fair filter for an auditor."""
    if not item:
        return
    with Reader(db_path) as r:
        known = r.one("SELECT 1 AS k FROM items WHERE ref = ?", (item,)) or r.one(
            "SELECT 1 AS k FROM audit WHERE item_ref = ? LIMIT 1", (item,)
        )
    if not known:
        raise NotFound(f"no item {item!r} in the register or its audit log: see 'signoff item list' for the refs.")


def export(
    db_path: DbRef,
    out: IO[str],
    fmt: str = "csv",
    item: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    advance: Callable[[int], None] | None = None,
) -> int:
    """Stream matching records to ``out`` in sequence order; return how many were written.

    ``advance(n)`` is told of every n records written (the CLI draws a progress bar with it).

    SQLite renders each record's line (json_quote, or CSV quoting) so Python only moves text in
    batches: a 1,000,000-record export runs near the sqlite3 shell's speed in flat memory. The
    lines are byte for byte what json.JSONEncoder and csv.writer write (the Python path kept
    below); a probe record with every awkward character checks that before each export, and the
    Python path is used if this SQLite renders anything differently.
    """
    if fmt not in FORMATS:
        raise BadInput(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}.")
    where, params = _filters(item, since, until)
    count = 0
    with Reader(db_path) as r:
        line = _sql_line(fmt)
        if r.dialect != "sqlite" or not _renders_alike(r, fmt, line):
            return _export_python(r, out, fmt, where, params, advance)
        assert isinstance(r, SqliteReader)
        write = _byte_writer(out)
        if fmt == "csv":
            write((",".join(chain.EXPORT_FIELDS) + "\n").encode())
            if _plain_path_alike(r, line):
                count = _export_csv_plain(r, write, line, where, params, advance)
                if count:
                    write(b"\n")
                return count
        sep = b",\n" if fmt == "json" else b"\n"
        if fmt == "json":
            write(b"[\n")
        for batch in _sized_batches(r, f"SELECT {line} FROM audit{where} ORDER BY seq", params):
            if count:
                write(sep)
            chunk = sep.join(map(_first, batch))
            write(chunk)
            count += len(batch)
            if advance:
                advance(len(batch))
        if fmt == "json":
            write(b"\n]\n")
        elif count:
            write(b"\n")
    return count


# The CSV export's plain path. A record's short cells (all but ``detail``) come joined by commas in
# two pieces, around the detail cell; nothing is tested per record in SQL, where scanning text costs
# most of the export. Instead each batch's pieces are tested together in Python (C-speed searches
# over one joined string): if they hold exactly the commas that separate cells, no quote or line
# break, and no cell starts with a formula lead or the escape, every short cell is written as it is
# stored. A batch that fails is rendered again record by record with the careful expression. The
# detail cell is quoted in SQL when it holds a '"' after a first character above every lead (what
# JSON objects look like), else rendered carefully.
_SHORT_HEAD = ("seq", "recorded_at", "actor", "roles", "item_ref", "event", "from_state", "to_state", "outcome")
_SHORT_TAIL = ("workflow_hash", "prev_hash", "hash")
_PLAIN_TARGET = 1 << 20  # bytes of lines per batch: memory follows the batch, not the log


def _plain_select() -> str:
    def joined(names: tuple[str, ...]) -> str:
        return " || ',' || ".join(f"ifnull({n}, '')" for n in names)

    above = _sql_text(chr(ord(max(FORMULA_LEADS + CSV_ESCAPE)) + 1))
    careful = _sql_cell("detail")
    detail = f"CASE WHEN detail >= {above} AND instr(detail, '\"') THEN {_sql_quoted('detail')} ELSE {careful} END"
    return f"{joined(_SHORT_HEAD)}, {detail}, {joined(_SHORT_TAIL)}"


def _plain_ok(heads: bytes, tails: bytes, n: int) -> bool:
    """Whether ``n`` records' short pieces (each side joined by newlines) need no quoting or escape."""
    marks, others = _marks()
    for piece, cells in ((heads, len(_SHORT_HEAD)), (tails, len(_SHORT_TAIL))):
        if any(c in piece for c in others):
            return False
        marked = piece.translate(marks)
        # Commas and newlines are both byte 2: exactly the separators, so no cell holds either.
        if marked.count(b"\x02") != n * cells - 1 or marked.startswith(b"\x01") or b"\x02\x01" in marked:
            return False
    return True


@functools.cache
def _marks() -> tuple[bytes, tuple[bytes, ...]]:
    """A table turning formula leads and the escape into byte 1 and cell starts (comma, newline) into
    byte 2, so a cell that starts with a lead shows as bytes 2, 1 (bytes 1 and 2 in the text itself can
    only send a batch to the careful path); and the other characters csv.writer quotes."""
    leads = (FORMULA_LEADS + CSV_ESCAPE).encode()
    marks = bytes.maketrans(leads + b",\n", b"\x01" * len(leads) + b"\x02\x02")
    return marks, tuple(c.encode() for c in _csv_quote_chars() if c not in ",\n")


def _plain_path_alike(r: SqliteReader, line: str) -> bool:
    """The plain path's assumptions hold here (what csv.writer quotes is known), and it renders the
    probes (rendered carefully when their test fails) and an ordinary record as csv.writer does."""
    if not set(_csv_quote_chars()) <= set(',"\n\r') or not {",", "\n"} <= set(_csv_quote_chars()):
        return False
    render = _python_line("csv")
    cols = ", ".join(f"? AS {f}" for f in chain.EXPORT_FIELDS)
    for probe in (*_PROBES, _ORDINARY):
        got = _plain_lines(r, f"SELECT * FROM (SELECT {cols})", probe, line)
        if got != render(probe).encode():
            return False
    return True


def _plain_lines(r: SqliteReader, source: str, params: Any, line: str) -> bytes:
    """Lines of one batch rendered by the plain path (tests and probes use this too)."""
    r.conn.text_factory = bytes
    try:
        rows = r.conn.execute(f"SELECT {_plain_select()} FROM ({source})", params).fetchall()
        out = _plain_batch(r, rows, source, params, line)
    finally:
        r.conn.text_factory = str
    return out


def _plain_batch(r: SqliteReader, rows: list[Any], source: str, params: Any, line: str) -> bytes:
    """One batch's lines joined by newlines: the rows' three pieces joined by commas if they pass
    ``_plain_ok``, else the batch's records again (by seq, the first short cell) rendered carefully."""
    heads = b"\n".join(map(_first, rows))
    tails = b"\n".join(map(_third, rows))
    if _plain_ok(heads, tails, len(rows)):
        return b"\n".join(map(b",".join, rows))
    first, last = (int(piece[0].partition(b",")[0]) for piece in (rows[0], rows[-1]))
    again = r.conn.execute(
        f"SELECT {line} FROM ({source}) WHERE seq >= ? AND seq <= ? ORDER BY seq", (*params, first, last)
    ).fetchall()
    return b"\n".join(row[0] for row in again)


def _export_csv_plain(
    r: SqliteReader,
    write: Callable[[bytes], Any],
    line: str,
    where: str,
    params: tuple[Any, ...],
    advance: Callable[[int], None] | None,
) -> int:
    source = f"SELECT * FROM audit{where}"
    count, size = 0, 16
    r.conn.text_factory = bytes
    try:
        cur = r.conn.execute(f"SELECT {_plain_select()} FROM ({source}) ORDER BY seq", params)
        while rows := cur.fetchmany(size):
            chunk = _plain_batch(r, rows, source, params, line)
            write(b"\n" + chunk if count else chunk)
            count += len(rows)
            if advance:
                advance(len(rows))
            # Rows per batch follow the records' size, so a run of large records (a matrix import's)
            # does not hold thousands of them at once.
            size = max(16, min(4096, _PLAIN_TARGET * len(rows) // max(1, len(chunk))))
    except sqlite3.Error as err:
        raise location.translate(err, r.path) from None
    finally:
        r.conn.text_factory = str
    return count


_first, _third = operator.itemgetter(0), operator.itemgetter(2)


def _sized_batches(r: SqliteReader, sql: str, params: tuple[Any, ...]) -> Iterator[list[tuple[bytes, ...]]]:
    """Rows with text as UTF-8 bytes, in batches of about ``_PLAIN_TARGET`` bytes of the first column:
    a run of large records (a matrix import's) is not held thousands at a time."""
    previous = r.conn.text_factory
    r.conn.text_factory = bytes
    try:
        cur = r.conn.execute(sql, params)
        size = 16
        while batch := cur.fetchmany(size):
            yield batch
            held = sum(map(len, map(_first, batch)))
            size = max(16, min(4096, _PLAIN_TARGET * len(batch) // max(1, held)))
    except sqlite3.Error as err:
        raise location.translate(err, r.path) from None
    finally:
        r.conn.text_factory = previous


def _byte_writer(out: IO[str]) -> Callable[[bytes], Any]:
    """Write UTF-8 bytes straight to a text stream's buffer (no decode and re-encode of a
    million lines); a stream without one (StringIO) gets the decoded text."""
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        return lambda data: out.write(data.decode("utf-8"))
    out.flush()
    return buffer.write  # type: ignore[no-any-return]


_BATCH = 4096


def _python_line(fmt: str) -> Any:
    """The reference rendering of one record (a tuple of EXPORT_FIELDS) as a line of text."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")

        def csv_line(row: tuple[Any, ...]) -> str:
            buf.seek(0)
            buf.truncate()
            writer.writerow([neutralise(v) for v in row])
            return buf.getvalue()[:-1]

        return csv_line
    encode = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    fields = chain.EXPORT_FIELDS
    return lambda row: encode(dict(zip(fields, row, strict=True)))


def _export_python(
    r: Reader, out: IO[str], fmt: str, where: str, params: tuple[Any, ...], advance: Callable[[int], None] | None
) -> int:
    render = _python_line(fmt)
    rows = r.stream(_SELECT + where + " ORDER BY seq", params)
    count = 0
    if fmt == "csv":
        out.write(",".join(chain.EXPORT_FIELDS) + "\n")
    sep, first = ("\n", "") if fmt != "json" else (",\n", "[\n")
    out.write(first)
    lead = ""
    for row in rows:
        out.write(lead + render(row))
        lead = sep
        count += 1
        if advance and count % _BATCH == 0:
            advance(_BATCH)
    if advance:
        advance(count % _BATCH)
    out.write("\n]\n" if fmt == "json" else ("\n" if count else ""))
    return count


@functools.cache
def _csv_quote_chars() -> str:
    """The characters that make csv.writer quote a field (',', '"' and '\\n' on CPython 3.11)."""
    render = _python_line("csv")
    return "".join(chr(c) for c in range(128) if render(("a" + chr(c) + "b",)).startswith('"'))


def _sql_line(fmt: str) -> str:
    """A SQL expression rendering one audit row as its export line.

    CSV: each cell is tested on the stored value with the cheapest tests SQLite has (a GLOB on the
    first character for a formula lead, one instr per character that makes csv.writer quote), most
    cells being neither; the probe records check the result against csv.writer before each export.
    """
    fields = chain.EXPORT_FIELDS
    if fmt != "csv":
        parts = [f"'{', ' if n else '{'}\"{f}\": ' || json_quote({f})" for n, f in enumerate(fields)]
        return " || ".join(parts) + " || '}'"
    return " || ',' || ".join(_sql_cell(name) for name in fields)


def _sql_cell(name: str) -> str:
    """One cell as csv.writer writes it after ``neutralise``."""
    escape = _sql_text(CSV_ESCAPE)
    lead = f"{_sql_text('[' + _glob_class(FORMULA_LEADS + CSV_ESCAPE) + ']*')}"
    special = " OR ".join(f"instr({name}, {_sql_text(c)})" for c in _csv_quote_chars()) or "0"
    neutral = f"{escape} || {name}"
    return (
        f"CASE WHEN {name} IS NULL THEN '' "
        f"WHEN {name} GLOB {lead} THEN (CASE WHEN {special} THEN {_sql_quoted(neutral)} ELSE {neutral} END) "
        f"WHEN {special} THEN {_sql_quoted(name)} ELSE {name} END"
    )


def _sql_text(text: str) -> str:
    """A SQL string literal of ``text`` (control characters included as they are)."""
    return "'" + text.replace("'", "''") + "'"


def _sql_quoted(expr: str) -> str:
    return f"'\"' || replace({expr}, '\"', '\"\"') || '\"'"


def _glob_class(chars: str) -> str:
    """The inside of a GLOB character class matching exactly ``chars``: ']' first and '-' last are
    taken literally, and '^' is never first."""
    rest = sorted(set(chars) - {"]", "-", "^"})
    return ("]" if "]" in chars else "") + "".join(rest) + ("^" if "^" in chars else "") + ("-" if "-" in chars else "")


_PROBES: tuple[tuple[Any, ...], ...] = (
    (
        1,
        "2026-01-02T03:04:05.000006+00:00",
        'a "b", c\nd\re\tf\\g',
        "secretary,chair",
        None,
        "".join(chr(c) for c in range(1, 128)),
        None,
        "",
        "applied",
        '{"reason":"Réunion — 会議 😀 \\u0000 \u2028\u2029\ufeff","n":[1,2.5,null]}',
        None,
        "0" * 64,
        "f" * 64,
    ),
    (2**53 + 1, "x", "y", "", "REF-1", "e", "s", "t", "refused", "{}", "ab" * 32, "1" * 64, "2" * 64),
    (3, "=1+1", "+sum", "-2", "@cmd", "\tx", "\r\ny", "'quoted", "''", "=a,b", "-", "'", '@"'),
)


_ORDINARY: tuple[Any, ...] = (
    7,
    "2026-01-02T03:04:05.000006+00:00",
    "sec",
    "secretary",
    "OF-01",
    "item.submit",
    "open",
    "submitted",
    "applied",
    '{"bundle":"ab","evidence_ids":[1,2]}',
    "c" * 64,
    "d" * 64,
    "e" * 64,
)


def _renders_alike(r: Reader, fmt: str, line: str) -> bool:
    """Whether SQLite renders the probe records exactly as the Python path does."""
    render = _python_line(fmt)
    cols = ", ".join(f"? AS {f}" for f in chain.EXPORT_FIELDS)
    for probe in _PROBES:
        got = r.conn.execute(f"SELECT {line} FROM (SELECT {cols})", probe).fetchone()
        if got is None or got[0] != render(probe):
            return False
    return True


def head(db_path: DbRef) -> tuple[int, str] | None:
    with Reader(db_path) as r:
        row = r.one("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
    return (row["seq"], row["hash"]) if row else None


def _as_records(rows: Iterator[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
    fields = chain.EXPORT_FIELDS
    for row in rows:
        yield dict(zip(fields, row, strict=True))


def verify(db_path: DbRef, anchor: tuple[int, str] | None = None) -> tuple[chain.ChainReport, str]:
    """Recompute the whole chain from the database's genesis; also run SQLite's quick_check."""
    report, integrity, _ = verify_register(db_path, anchor, replay=False)
    return report, integrity


def verify_register(
    db_path: DbRef, anchor: tuple[int, str] | None = None, replay: bool = True
) -> tuple[chain.ChainReport, str, Any]:
    """Recompute the chain, replay it and reconcile every table with it, in one read snapshot.

    Returns the chain report, SQLite's quick_check, and the reconciliation (None if not replayed).
    Records stream through once, the growing tables beside them: memory follows the register's
    items, not the log's length.
    """
    # A million records make millions of small acyclic objects, and replay holds every item's state
    # meanwhile: the cycle collector's repeated scans would cost about a tenth of the walk, and find
    # nothing to free. Paused for the walk only (as the matrix import pauses it for its parse).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _verify_register(db_path, anchor, replay)
    finally:
        if collecting:
            gc.enable()


def _verify_register(
    db_path: DbRef, anchor: tuple[int, str] | None, replay: bool
) -> tuple[chain.ChainReport, str, Any]:
    from signoff.engine.replay import Replay
    from signoff.services.reconcile import Merger, reconcile

    with Reader(db_path) as r:
        database_id = r.meta("database_id")
        if database_id is None:
            raise SignoffError(f"{db_path} has no database id: it was not made by 'signoff init'.")
        rows = _as_records(r.stream(_SELECT + " ORDER BY seq", size=256))
        # The growing tables are compared beside the walk (a Merger), so memory follows the items.
        replayer = Replay(sink=Merger(r)) if replay else None
        if replayer is not None:
            rows = _fed(rows, replayer)
        report = chain.verify_stream(rows, chain.genesis(database_id), anchor=anchor)
        reconciled = reconcile(r, replayer) if replayer is not None else None
        integrity = r.quick_check()
    return report, integrity, reconciled


def _fed(rows: Iterator[dict[str, Any]], replayer: Any) -> Iterator[dict[str, Any]]:
    feed = replayer.feed
    for row in rows:
        feed(row)
        yield row


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Malformed(f"the key {key!r} appears twice in one record")
        out[key] = value
    return out


class _Malformed(ValueError):
    """Not a record signoff wrote: refused as a whole (exit 2) rather than reported record by record."""


def _loads(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise _Malformed("it is nested too deeply to be an audit record") from None


def _read_export(path: Path) -> tuple[Iterator[dict[str, Any]], bool]:
    """Records from a CSV, JSONL or JSON export, typed as they were hashed.

    A line that cannot be read as a record comes back as ``{"_bad": why}``, so the chain check
    reports it in place and carries on instead of stopping at the first damaged byte. What no
    signoff export holds (a repeated key, an unknown field or column, deep nesting) raises _Malformed.
    """
    if not path.is_file():
        raise BadInput(f"export file {path} does not exist: check the path.")
    fh = path.open("r", encoding="utf-8-sig", newline="")
    first = fh.read(256).lstrip()[:1]
    fh.seek(0)
    if first == "[":
        try:
            data = _loads(fh.read())
        except json.JSONDecodeError as err:
            raise BadInput(f"{path} is not valid JSON ({err}): export it again.") from None
        if not isinstance(data, list):
            raise BadInput(f"{path} is not a signoff audit export (expected a JSON array of records).")
        return iter(data), True
    if first == "{":

        def lines() -> Iterator[dict[str, Any]]:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield _loads(line)
                    except json.JSONDecodeError:
                        seq = _SEQ_PREFIX.match(line)
                        yield {"_bad": f"line {n} is not JSON", "seq": int(seq.group(1)) if seq else None}

        return lines(), True

    def rows() -> Iterator[dict[str, Any]]:
        # csv's default 128 KiB cell limit is less than a large matrix import's detail (~140 KiB at
        # 10k items): the export writes such cells, so the verifier reads them.
        # The limit is process-wide: it is put back once the file is read, so that other CSV readers
        # in the same process (the matrix and evidence imports) keep the default.
        limit = csv.field_size_limit(_CSV_CELL_LIMIT)
        try:
            yield from _csv_records(fh, path)
        finally:
            csv.field_size_limit(limit)

    return rows(), False


def _csv_records(fh: IO[str], path: Path) -> Iterator[dict[str, Any]]:
    """The records of a CSV export, a line at a time; a line that cannot be one is a `_bad` entry."""
    reader = csv.DictReader(fh)
    header = list(reader.fieldnames or [])
    if header and not set(chain.EXPORT_FIELDS) <= set(header):
        raise BadInput(f"{path} is not a signoff audit export (its header lacks {', '.join(chain.EXPORT_FIELDS)}).")
    extra = [h for h in header if h not in chain.EXPORT_FIELDS] + [h for n, h in enumerate(header) if h in header[:n]]
    if extra:
        raise _Malformed(f"its header has columns no signoff export has: {', '.join(map(repr, extra))}")
    for rec in reader:
        if None in rec or None in rec.values():
            seq = rec.get("seq") or ""
            yield {
                "_bad": f"line {reader.line_num} does not have the columns of the header",
                "seq": int(seq) if seq.isdigit() else None,
            }
            continue
        # Undo the spreadsheet-safe apostrophe first: "'-" is the text "-", "''" is "'".
        cells = {k: restore(v) for k, v in rec.items()}
        out: dict[str, Any] = {k: None if v == "" and k in _NULLABLE else v for k, v in cells.items()}
        out["seq"] = int(cells["seq"]) if cells["seq"].isascii() and cells["seq"].isdigit() else cells["seq"]
        yield out


_CSV_CELL_LIMIT = 2**31 - 1
_TEXT_FIELDS = frozenset(chain.EXPORT_FIELDS) - _NULLABLE - {"seq"}


def _shape_problem(rec: Any, n: int) -> str | None:
    """Why a record read from JSON is not one signoff wrote, or None (missing fields are reported in place)."""
    if not isinstance(rec, dict):
        return f"record {n} is not a JSON object"
    unknown = sorted(k for k in rec if k not in chain.EXPORT_FIELDS)
    if unknown:
        return f"record {n} has fields no signoff export has: {', '.join(map(repr, unknown))}"
    seq = rec.get("seq")
    if "seq" in rec and (isinstance(seq, bool) or not isinstance(seq, int) or seq < 1):
        return f"record {n} has seq {seq!r}, not a whole number"
    for f in chain.EXPORT_FIELDS:
        if f == "seq" or f not in rec:
            continue
        value = rec[f]
        if not (isinstance(value, str) or (value is None and f in _NULLABLE)):
            return f"record {n} has {f} {value!r}, not {'text or null' if f in _NULLABLE else 'text'}"
    return None


def verify_export(
    path: Path, filtered: bool = False, anchor: tuple[int, str] | None = None, replay: Any = None
) -> chain.ChainReport:
    """Check an exported file offline: every record's hash, and the links between consecutive records.

    A full export must start at record 1, the register's creation, whose prev_hash is checked against
    the genesis of the database id it carries, and have no gaps. ``filtered``: the file was exported
    with --item, --since or --until, so gaps in seq are expected (see verify_stream); instead each
    item's records must be linked by their ``item_prev`` (signoff.domain.item_links), so a record
    missing from the file is still found. ``anchor`` as in ``verify``.
    ``replay`` (an ``engine.replay.Replay``) is fed every readable record of a full export, so the
    signatures it carries are checked against the keys its own records registered.
    """
    try:
        records, typed = _read_export(path)
        head = next(iter(records), None)
    except UnicodeDecodeError as err:
        raise BadInput(
            f"{path} is not UTF-8 text (byte {err.start}): give the file exactly as it was exported."
        ) from None
    except _Malformed as err:
        raise BadInput(f"{path} is not a signoff audit export: {err}.") from None
    if head is None:
        raise BadInput(f"{path} holds no audit records: an empty export proves nothing; export it again.")
    records = itertools.chain([head], records)
    start_prev = _genesis_of(head)
    fields = chain.EXPORT_FIELDS
    links = ItemLinks()

    def checked() -> Iterator[dict[str, Any]]:
        for n, rec in enumerate(records, 1):
            if isinstance(rec, dict) and "_bad" in rec:
                yield rec
                continue
            if typed:
                problem = _shape_problem(rec, n)
                if problem:
                    raise _Malformed(problem)
            lacks = [f for f in fields if not isinstance(rec, dict) or f not in rec]
            if lacks and n == 1:
                raise BadInput(f"{path} is not a signoff audit export (its first record lacks {', '.join(lacks)}).")
            if lacks:
                yield {"_bad": f"record {n} in the file lacks {', '.join(lacks)}"}
            elif isinstance(rec["seq"], bool) or not isinstance(rec["seq"], int | str) or not str(rec["seq"]).isdigit():
                yield {"_bad": f"record {n} in the file has seq {rec['seq']!r}, not a whole number"}
            else:
                if filtered:
                    links.see(rec)
                if replay is not None:
                    replay.feed({**rec, "seq": int(rec["seq"])})
                yield rec

    try:
        report = chain.verify_stream(checked(), start_prev=start_prev, contiguous=not filtered, anchor=anchor)
    except UnicodeDecodeError as err:
        raise BadInput(
            f"{path} is not UTF-8 text (byte {err.start}): give the file exactly as it was exported."
        ) from None
    except _Malformed as err:
        raise BadInput(f"{path} is not a signoff audit export: {err}.") from None
    except RecursionError:
        raise BadInput(f"{path} is not a signoff audit export: a record is nested too deeply.") from None
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        raise BadInput(f"{path} has a malformed record ({err}): export it again.") from None
    if not filtered and report.first_seq is not None and report.first_seq != 1:
        report.broken.insert(
            0, (report.first_seq, f"records 1..{report.first_seq - 1} are missing before it: a full export starts at 1")
        )
    elif not filtered and report.first_seq == 1 and start_prev is None:
        report.broken.insert(0, (1, "it is not the register.init record, so its link to genesis cannot be checked"))
    if filtered:
        report.broken = sorted(report.broken + links.broken, key=lambda b: b[0])
        report.notes.extend(links.notes())
    return report


def _genesis_of(first: Any) -> str | None:
    """The genesis hash when the export starts at record 1 (the register's creation), else None."""
    try:
        if not isinstance(first, dict) or str(first.get("seq")) != "1" or first.get("event") != "register.init":
            return None
        database_id = json.loads(first["detail"]).get("database_id")
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None
    return chain.genesis(database_id) if isinstance(database_id, str) else None


def verify_evidence(db_path: DbRef) -> tuple[int, list[str]]:
    """Re-hash every stored evidence file and re-compute every note's and measure's digest; return
    how many files were checked and what is wrong.

    Each evidence record is also checked against the evidence.add audit record that created it,
    so a document swapped by editing the register's sha256 (and the store), or a note edited
    together with its sha256, is caught as well.
    """
    problems = []
    with Reader(db_path) as r:
        rows = r.all("SELECT DISTINCT sha256, file_name FROM evidence WHERE kind = 'file' ORDER BY sha256")
        registered = r.all(
            "SELECT e.id, i.ref, e.key, e.kind, e.note, e.file_name, e.file_size, e.sha256, e.dated, e.measure,"
            " e.value, e.unit, e.period, e.threshold, e.direction FROM evidence e"
            " JOIN items i ON i.id = e.item_id ORDER BY e.id"
        )
        logged: dict[Any, tuple[int, str, dict[str, Any]]] = {}
        for a in r.all("SELECT seq, item_ref, detail FROM audit WHERE event = 'evidence.add' AND outcome = 'applied'"):
            try:
                detail = json.loads(a["detail"])
            except ValueError:
                continue  # an edited record: 'audit verify' reports it
            if isinstance(detail, dict):
                logged[detail.get("evidence_id")] = (a["seq"], a["item_ref"], detail)
    for e in registered:
        what = f"evidence record {e['id']} ({e['ref']} {e['key']})"
        if e["kind"] in ("note", "measure") and bundle.content_digest(e) != e["sha256"]:
            problems.append(f"{what}: {_CONTENT[e['kind']]} its SHA-256")
        if e["id"] not in logged:
            problems.append(f"{what} has no evidence.add record in the audit log")
            continue
        seq, ref, detail = logged[e["id"]]
        differ = [f for f in ("key", "kind", "sha256", "dated") if detail.get(f) != e[f]]
        if e["kind"] == "file":
            differ += [col for f, col in (("file", "file_name"), ("size", "file_size")) if detail.get(f) != e[col]]
        differ += ["item"] if ref != e["ref"] else []
        if differ:
            problems.append(f"{what}: its {', '.join(differ)} differ from audit record {seq}")
    store = location.evidence_dir(db_path) if rows else Path()
    for row in rows:
        path = blobs.blob_path(store, row["sha256"])
        if not path.is_file():
            problems.append(f"{row['file_name']} ({row['sha256'][:12]}…) is missing from {store}")
            continue
        digest, _ = blobs.sha256_file(path)
        if digest != row["sha256"]:
            problems.append(f"{row['file_name']} ({row['sha256'][:12]}…) has been altered")
    return len(rows), problems


_CONTENT = {
    "note": "its note text does not match",
    "measure": "its measure (name, value, unit, period, threshold, direction) does not match",
}


def records(
    db_path: DbRef, item: str | None = None, since: dt.date | None = None, until: dt.date | None = None
) -> Iterator[tuple[Any, ...]]:
    """Matching records as tuples in EXPORT_FIELDS order, streamed (for spreadsheet exports)."""
    where, params = _filters(item, since, until)
    with Reader(db_path) as r:
        yield from r.stream(_SELECT + where + " ORDER BY seq", params)


def count(db_path: DbRef, item: str | None = None, since: dt.date | None = None, until: dt.date | None = None) -> int:
    where, params = _filters(item, since, until)
    with Reader(db_path) as r:
        row = r.one("SELECT COUNT(*) AS n FROM audit" + where, params)
    return int(row["n"]) if row else 0
