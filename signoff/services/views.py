"""Read use cases: the board, item lists, one item in full, its history, users.

These run on the read-only sqlite3 path (store/reader.py) and never import SQLAlchemy, so a
secretary's most frequent commands start fast.
"""

from __future__ import annotations

import bisect
import datetime as dt
import marshal
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from signoff import clock
from signoff.domain.names import name_fold
from signoff.domain.rag import ItemStatus, Judge
from signoff.engine import workflow as workflows
from signoff.errors import BadInput, NotFound
from signoff.store.location import DbRef
from signoff.store.reader import Reader

# One pass per table, grouped and joined, rather than correlated subqueries per item: the board
# of a 10,000-item register reads each table once. {scope} and the {in_*} marks are empty, or (see
# _status_sql) limit the facts to the items that need judging.
_ITEM_STATUS_TEMPLATE = """
WITH {scope}covered AS (
  SELECT DISTINCT e.item_id, e.key FROM evidence e
  WHERE {in_e}NOT EXISTS (SELECT 1 FROM evidence n WHERE n.supersedes_id = e.id)
    AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.evidence_id = e.id)),
mx AS (
  SELECT m.item_id, COUNT(*) AS matrix_rows, COUNT(c.key) AS keys_covered,
         MIN(CASE WHEN c.key IS NULL THEN m.present_by END) AS next_uncovered
  FROM matrix_rows m LEFT JOIN covered c ON c.item_id = m.item_id AND c.key = m.key{in_m}
  GROUP BY m.item_id),
ch AS (SELECT item_id, COUNT(*) AS challenges FROM challenges{in_where} GROUP BY item_id),
ms AS (
  SELECT item_id, COUNT(*) AS measures_missed FROM (
    SELECT e.item_id, e.value, e.threshold, e.direction,
           ROW_NUMBER() OVER (PARTITION BY e.item_id, e.measure
                              ORDER BY COALESCE(e.period, '') DESC, e.recorded_at DESC) AS latest
    FROM evidence e
    WHERE e.kind = 'measure' AND {in_e}NOT EXISTS (SELECT 1 FROM evidence n WHERE n.supersedes_id = e.id)
      AND NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.evidence_id = e.id)) m
  WHERE m.latest = 1
    AND ((m.direction = 'at-most' AND CAST(m.value AS DOUBLE PRECISION) > CAST(m.threshold AS DOUBLE PRECISION))
      OR (m.direction = 'at-least' AND CAST(m.value AS DOUBLE PRECISION) < CAST(m.threshold AS DOUBLE PRECISION)))
  GROUP BY item_id),
sub AS (SELECT item_id, MAX(submitted_at) AS latest_submission_at FROM submissions{in_where} GROUP BY item_id)
SELECT i.id, i.ref, i.kind, i.title, i.owner, i.state, i.due, i.original_due, i.version,
       i.created_at, i.last_transition_at,
       mx.next_uncovered, COALESCE(mx.matrix_rows, 0) AS matrix_rows, COALESCE(mx.keys_covered, 0) AS keys_covered,
       COALESCE(ch.challenges, 0) AS challenges, COALESCE(ms.measures_missed, 0) AS measures_missed,
       NULL AS missed_meeting, sub.latest_submission_at
FROM items i
LEFT JOIN mx ON mx.item_id = i.id
LEFT JOIN ch ON ch.item_id = i.id
LEFT JOIN ms ON ms.item_id = i.id
LEFT JOIN sub ON sub.item_id = i.id
"""
_ITEM_STATUS_SQL = _ITEM_STATUS_TEMPLATE.format(scope="", in_e="", in_m="", in_where="")


def _status_sql(flows: dict[str, workflows.Workflow]) -> tuple[str, dict[str, Any]]:
    """_ITEM_STATUS_SQL reading the facts (evidence, challenges, measures, submissions) only of items
    not in a final state of their workflow, with its parameters: a final item is green, 'signed off',
    whatever its facts, so a view that shows an item's RAG and nothing of its facts need not read them.
    The final items' rows show no facts (NULL and 0)."""
    params: dict[str, Any] = {}
    finals = []
    for n, (name, wf) in enumerate(sorted(flows.items())):
        if wf.final:
            marks = ", ".join(f":final_{n}_{k}" for k in range(len(wf.final)))
            finals.append(f"(o.kind = :kind_{n} AND o.state IN ({marks}))")
            params[f"kind_{n}"] = name
            params.update({f"final_{n}_{k}": state for k, state in enumerate(wf.final)})
    if not finals:
        return _ITEM_STATUS_SQL, params
    in_open = "{}.item_id IN (SELECT id FROM open_items)"
    sql = _ITEM_STATUS_TEMPLATE.format(
        scope=f"open_items AS (SELECT o.id FROM items o WHERE NOT ({' OR '.join(finals)})),\n",
        in_e=in_open.format("e") + " AND ",
        in_m=" WHERE " + in_open.format("m"),
        in_where=" WHERE item_id IN (SELECT id FROM open_items)",
    )
    return sql, params


# The names of the columns _ITEM_STATUS_SQL selects, in order (rows are streamed as plain tuples).
_ITEM_STATUS_COLUMNS = (
    "id",
    "ref",
    "kind",
    "title",
    "owner",
    "state",
    "due",
    "original_due",
    "version",
    "created_at",
    "last_transition_at",
    "next_uncovered",
    "matrix_rows",
    "keys_covered",
    "challenges",
    "measures_missed",
    "missed_meeting",
    "latest_submission_at",
)
_SHOWN_COLUMNS = _ITEM_STATUS_COLUMNS[1:-1]  # what a view shows of each row: not the id, not the submission
_SUBMITTED = len(_ITEM_STATUS_COLUMNS) - 1  # the latest submission's place in a row
_NO_FLOW: tuple[frozenset[str], int] = (frozenset(), 28)  # an item of a workflow no longer in force
_AT = {name: n for n, name in enumerate(_ITEM_STATUS_COLUMNS)}  # a column's place in a row
RAG_ORDER = ("red", "amber", "green")


class ItemView(NamedTuple):
    """An item as a view that shows none of its facts sees it: its own columns and its judgement
    (what ``board_stream(db, shape, facts=False)`` shapes; a tuple, cheap for 10,000 items)."""

    ref: str
    kind: str
    title: str
    owner: str | None
    state: str
    due: str | None
    original_due: str | None
    rag: str
    rag_reasons: list[str]
    slipped: bool


class _HeldMeetings:
    """Board meetings held before today, to find the first one an item waited through since it was
    submitted. Both sides are on the board's local calendar: a meeting counts when its local day
    ends after the submission's instant (``clock.day_starts``), so an evening submission in Honolulu,
    stored as tomorrow in UTC, still waits through today's meeting."""

    def __init__(self, r: Reader, today: dt.date) -> None:
        rows = r.all(
            "SELECT date FROM meetings WHERE date < :today AND cancelled_at IS NULL ORDER BY date",
            {"today": today.isoformat()},
        )
        self.dates = [row["date"] for row in rows]
        self.ends = [clock.day_starts(dt.date.fromisoformat(d) + dt.timedelta(days=1)) for d in self.dates]

    def first_since(self, submitted_at: str | None) -> str | None:
        if not submitted_at:
            return None
        at = bisect.bisect_right(self.ends, submitted_at)
        return self.dates[at] if at < len(self.dates) else None


class _Judging:
    """The board's judgement of item rows on one day: the workflows' finals and limbo limits looked up
    once, the rule itself in ``domain.rag`` (one definition for every view)."""

    def __init__(self, r: Reader, flows: dict[str, workflows.Workflow], today: dt.date) -> None:
        self.held = _HeldMeetings(r, today)
        self.judge = Judge(today)
        self.kinds = {name: (frozenset(wf.final), wf.limbo_days) for name, wf in flows.items()}

    def judged(self, values: tuple[Any, ...]) -> tuple[str, list[str], list[str], str | None]:
        """The RAG colour, its reasons and the limbo flags of one row of _ITEM_STATUS_SQL, and the
        board meeting it waited through since it was submitted, if any."""
        state = values[_STATE]
        missed = self.held.first_since(values[_SUBMITTED]) if state == "evidence_submitted" else values[_MISSED]
        finals, limbo_days = self.kinds.get(values[_KIND], _NO_FLOW)
        colour, reasons, limbo = self.judge(
            ItemStatus(
                state,
                state in finals,
                values[_DUE],
                values[_NEXT_UNCOVERED],
                values[_LAST_MOVED],
                limbo_days,
                values[_CHALLENGES],
                values[_MEASURES_MISSED],
                missed,
            )
        )
        return colour, reasons, limbo, missed

    def __call__(self, values: tuple[Any, ...]) -> dict[str, Any]:
        """One row of _ITEM_STATUS_SQL as the views show it: its columns (less the id and the latest
        submission), then rag, rag_reasons, limbo and slipped."""
        colour, reasons, limbo, missed = self.judged(values)
        row = dict(zip(_SHOWN_COLUMNS, values[1:_SUBMITTED], strict=True))
        row["missed_meeting"] = missed
        row["rag"], row["rag_reasons"], row["limbo"] = colour, reasons, limbo
        row["slipped"] = _slipped(values)
        return row

    def view(self, values: tuple[Any, ...]) -> tuple[ItemView, list[str]]:
        """One row as an ItemView, and its limbo flags."""
        colour, reasons, limbo, _ = self.judged(values)
        v = values
        return ItemView(v[1], v[2], v[3], v[4], v[5], v[6], v[7], colour, reasons, _slipped(v)), limbo


def _slipped(values: tuple[Any, ...]) -> bool:
    due, original = values[_DUE], values[_ORIGINAL_DUE]
    return bool(original and due and due > original)


(_KIND, _STATE, _DUE, _ORIGINAL_DUE, _LAST_MOVED, _NEXT_UNCOVERED, _CHALLENGES, _MEASURES_MISSED, _MISSED) = (
    _AT[name]
    for name in (
        "kind",
        "state",
        "due",
        "original_due",
        "last_transition_at",
        "next_uncovered",
        "challenges",
        "measures_missed",
        "missed_meeting",
    )
)
assert _AT["ref"] == 1 and _AT["original_due"] == 7  # ItemView is made from values[1:8]


def item_rows(
    db_path: DbRef,
    state: str | None = None,
    kind: str | None = None,
    *,
    owner: str | None = None,
    rag: str | None = None,
    due_before: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Items with their RAG, filtered, as a list (see ``item_stream``)."""
    with item_stream(db_path, state, kind, owner=owner, rag=rag, due_before=due_before) as rows:
        return list(rows)


@contextmanager
def item_stream(
    db_path: DbRef,
    state: str | None = None,
    kind: str | None = None,
    *,
    owner: str | None = None,
    rag: str | None = None,
    due_before: dt.date | None = None,
) -> Iterator[Iterator[dict[str, Any]]]:
    """Items with their RAG, filtered, read one batch at a time in one snapshot: ``with item_stream(db)
    as rows: for row in rows: ...``. ``owner`` matches the item's owner or any of its matrix rows'
    owners, compared as names are (``names.name_fold``), so owners typed as free text still match."""
    with Reader(db_path) as r:
        rows = item_rows_in(r, state, kind)
        if owner is not None:
            wanted = name_fold(owner.strip())
            owned = {
                o["ref"]
                for o in r.all(
                    "SELECT i.ref, i.owner FROM items i UNION SELECT i.ref, m.owner FROM matrix_rows m"
                    " JOIN items i ON i.id = m.item_id"
                )
                if o["owner"] and name_fold(o["owner"].strip()) == wanted
            }
            rows = (row for row in rows if row["ref"] in owned)
        if rag is not None:
            rows = (row for row in rows if row["rag"] == rag)
        if due_before is not None:
            before = due_before.isoformat()
            rows = (row for row in rows if row["due"] and row["due"] < before)
        yield rows


def item_rows_in(r: Reader, state: str | None, kind: str | None) -> Iterator[dict[str, Any]]:
    """Items with their RAG in ref order, streamed from a reader's snapshot that other views share
    (``todo``). The arguments are checked at once; the rows are read as they are consumed."""
    flows = r.rules().flows
    if kind and kind not in flows:
        raise NotFound(f"unknown workflow {kind!r}: use one of {', '.join(sorted(flows))}.")
    states = sorted({st for wf in flows.values() for st in wf.states})
    if state and state not in states:
        raise BadInput(f"unknown state {state!r}: use one of {', '.join(states)}.")
    where = []
    today = clock.today()
    params: dict[str, Any] = {"state": state, "kind": kind}
    if state:
        where.append("i.state = :state")
    if kind:
        where.append("i.kind = :kind")
    sql = _ITEM_STATUS_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY i.ref"
    return _judged(r, sql, params, flows, today)


def _judged(
    r: Reader, sql: str, params: dict[str, Any], flows: dict[str, workflows.Workflow], today: dt.date
) -> Iterator[dict[str, Any]]:
    judging = _Judging(r, flows, today)
    for batch in r.batches(sql, params, 1000):
        for values in batch:
            yield judging(values)


class Spool:
    """Rows written now and read back later, in order, from a temporary file once they pass a few
    MiB (marshal: plain dicts of text, numbers, lists and None)."""

    def __init__(self) -> None:
        import tempfile  # not at import time: a piped board spools text (TextSpool) and seldom needs it

        self.file = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - closed by close()
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        data = marshal.dumps(row)
        self.file.write(len(data).to_bytes(4, "little") + data)
        self.count += 1

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.file.seek(0)
        for _ in range(self.count):
            size = int.from_bytes(self.file.read(4), "little")
            yield marshal.loads(self.file.read(size))

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        self.file.close()


class _Budget:
    """Characters the text spools of one board hold in memory together, and the spools."""

    def __init__(self) -> None:
        self.spools: list[TextSpool] = []
        self.held = 0


class TextSpool:
    """Text written now and read back later, in order, in large blocks. What a board shaped for output
    spools: each item as the text it is printed as, so reading back is copying, not decoding. The
    spools of one board share a budget of text held in memory (``TextSpool.board``); past it, each
    spool moves what it holds to its own temporary file."""

    BUDGET = 2 << 20  # characters: a piped board of 10,000 items fits

    def __init__(self, budget: _Budget) -> None:
        self.budget = budget
        budget.spools.append(self)
        self.pieces: list[str] = []
        self.count = 0
        self.file: Any = None

    @classmethod
    def board(cls) -> Callable[[], TextSpool]:
        """A maker of spools that share one budget."""
        budget = _Budget()
        return lambda: cls(budget)

    def add(self, text: str) -> None:
        self.pieces.append(text)
        self.count += 1
        budget = self.budget
        budget.held += len(text)
        if budget.held > self.BUDGET:
            for spool in budget.spools:
                spool._spill()
            budget.held = 0

    def _spill(self) -> None:
        if not self.pieces:
            return
        if self.file is None:
            import tempfile  # only past the budget: a piped board of 10,000 items never needs it

            self.file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 - see close()
        self.file.writelines(self.pieces)  # not joined first: no second copy of the text in memory
        self.pieces = []

    def blocks(self) -> Iterator[str]:
        """The text in order, in blocks of up to about a MiB (read it once)."""
        if self.file is not None:
            self.file.seek(0)
            while block := self.file.read(1 << 20):
                yield block
        yield "".join(self.pieces)

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class SpoolChain:
    """Spools read back one after another, with their total length: a long list that is never held."""

    def __init__(self, spools: list[Spool]) -> None:
        self.spools = spools

    def __len__(self) -> int:
        return sum(len(s) for s in self.spools)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for spool in self.spools:
            yield from spool


@dataclass
class Board:
    """The plan on a page, streamed: the counts are known up front, the items are read back in board
    order (red, amber, green, each by ref) from spools, so a register of any size is shown in bounded
    memory. ``as_dict()`` gives the whole board as one value (for small registers and the pack).
    A board shaped for output (``board_stream(db, shape)``) holds each item's text instead of its row:
    read it back with ``blocks()`` and ``limbo_blocks()``."""

    as_of: str
    audit_head: str | None
    by_state: dict[str, int]
    by_rag: dict[str, int]
    spools: dict[str, Any]  # Spool, or TextSpool when shaped
    limbo_spool: Any
    limbo_count: int

    @property
    def total(self) -> int:
        return sum(self.by_rag.values())

    def items(self) -> Iterator[dict[str, Any]]:
        return iter(self.item_chain())

    def item_chain(self) -> SpoolChain:
        """The items in board order as a sized, re-readable sequence (read it once at a time)."""
        return SpoolChain([self.spools[colour] for colour in RAG_ORDER])

    def limbo(self) -> Iterator[dict[str, Any]]:
        return iter(self.limbo_spool)

    def blocks(self) -> Iterator[str]:
        """A shaped board's items in board order, as blocks of their text."""
        for colour in RAG_ORDER:
            yield from self.spools[colour].blocks()

    def limbo_blocks(self) -> Iterator[str]:
        """A shaped board's limbo items (kept with ``limbo_rows``), in board order, as blocks of text."""
        return self.limbo_spool.blocks()  # type: ignore[no-any-return]

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "items": list(self.items()),
            "by_state": self.by_state,
            "by_rag": self.by_rag,
            "limbo": list(self.limbo()),
            "audit_head": self.audit_head,
        }


@contextmanager
def board_stream(
    db_path: DbRef,
    shape: Callable[[Any], str] | None = None,
    *,
    limbo_rows: bool = True,
    facts: bool = True,
) -> Iterator[Board]:
    """The plan on a page: every item with its RAG, counts by state and RAG, and the audit head,
    made in one streaming pass over the register.

    ``shape`` (a render's) turns each item into the text it is printed as while it is judged; the
    spools then hold that text, and the board is written back by copying blocks rather than decoding
    rows. ``limbo_rows=False`` counts the limbo items without keeping them, for a view that shows
    only their number. ``facts=False``, for a view that shows none of an item's facts, shapes each
    item as an ``ItemView`` rather than a row, and does not read the facts of final items at all
    (``_status_sql``)."""
    if not facts and shape is None:
        raise ValueError("a board without facts is shaped: give shape")
    today = clock.today()
    new_spool: Callable[[], Spool | TextSpool] = Spool if shape is None else TextSpool.board()
    spools = {colour: new_spool() for colour in RAG_ORDER}
    limbo = new_spool()
    limbo_count = 0
    try:
        by_state: Counter[str] = Counter()
        # The states in the order the board first shows them (red, amber, green; each by ref), as
        # counting the sorted board did: the JSON's by_state keeps its key order.
        first_seen: dict[str, dict[str, None]] = {colour: {} for colour in RAG_ORDER}
        with Reader(db_path) as r:
            flows = r.rules().flows
            sql, params = (_ITEM_STATUS_SQL, {}) if facts else _status_sql(flows)
            judging = _Judging(r, flows, today)
            for values in r.stream(sql + " ORDER BY i.ref", params, 1000):
                if facts:
                    item: Any = judging(values)
                    colour, state, flags = item["rag"], item["state"], item["limbo"]
                else:
                    item, flags = judging.view(values)
                    colour, state = item.rag, item.state
                kept: Any = item if shape is None else shape(item)
                spools[colour].add(kept)
                by_state[state] += 1
                first_seen[colour].setdefault(state, None)
                if flags:
                    limbo_count += 1
                    if limbo_rows:
                        limbo.add(kept)
            head = r.one("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        # Limbo items are red (limbo is a red reason), so the limbo list keeps the board's order.
        yield Board(
            as_of=today.isoformat(),
            audit_head=f"{head['seq']}:{head['hash']}" if head else None,
            by_state={st: by_state[st] for colour in RAG_ORDER for st in first_seen[colour]},
            by_rag={k: spools[k].count for k in RAG_ORDER},
            spools=spools,
            limbo_spool=limbo,
            limbo_count=limbo_count,
        )
    finally:
        for spool in (*spools.values(), limbo):
            spool.close()


def board(db_path: DbRef) -> dict[str, Any]:
    """The plan on a page as one value (see ``board_stream``)."""
    with board_stream(db_path) as b:
        return b.as_dict()


def item_detail(db_path: DbRef, ref: str) -> dict[str, Any]:
    today = clock.today()
    with Reader(db_path) as r:
        flows = r.rules().flows
        row = r.one(_ITEM_STATUS_SQL + " WHERE i.ref = :ref", {"ref": ref})
        if row is None:
            raise NotFound(f"unknown item {ref!r}: see 'signoff item list' for the register's refs.")
        judging = _Judging(r, flows, today)
        item_id = row["id"]
        matrix = r.all(
            "SELECT key, description, present_by, owner FROM matrix_rows WHERE item_id = ? ORDER BY id", (item_id,)
        )
        evidence = r.all(
            "SELECT e.id, e.key, e.kind, e.note, e.file_name, e.file_size, e.sha256, e.dated, e.recorded_at,"
            " e.added_by, e.supersedes_id, e.measure, e.value, e.unit, e.period, e.threshold, e.direction,"
            " (SELECT n.id FROM evidence n WHERE n.supersedes_id = e.id) AS superseded_by,"
            " w.withdrawn_at, w.withdrawn_by, w.reason AS withdrawn_reason"
            " FROM evidence e LEFT JOIN withdrawals w ON w.evidence_id = e.id WHERE e.item_id = ? ORDER BY e.id",
            (item_id,),
        )
        challenges = r.all(
            "SELECT id, event, raised_at, raised_by, reason, response, answered_at, answered_by"
            " FROM challenges WHERE item_id = ? ORDER BY id",
            (item_id,),
        )
        submissions = r.all(
            "SELECT event, submitted_at, submitted_by, bundle_digest, evidence_ids FROM submissions"
            " WHERE item_id = ? ORDER BY id",
            (item_id,),
        )
        approvals = r.all(
            "SELECT approved_at, approved_by, meeting, bundle_digest, override_reason, signer FROM approvals"
            " WHERE item_id = ? ORDER BY id",
            (item_id,),
        )
        signatures = r.all(
            "SELECT seq, event, signed_by, signer FROM signatures WHERE item_ref = ? ORDER BY seq", (row["ref"],)
        )
        reschedules = r.all(
            "SELECT from_due, to_due, reason, changed_by, changed_at FROM reschedules WHERE item_id = ? ORDER BY id",
            (item_id,),
        )
        changes = r.all(
            "SELECT row_key, field, from_value, to_value, reason, changed_by, changed_at FROM item_changes"
            " WHERE item_id = ? ORDER BY id",
            (item_id,),
        )
    detail = judging(tuple(row.values()))
    for e in evidence:
        e["withdrawn"] = e["withdrawn_at"] is not None
    covered = {e["key"] for e in evidence if e["superseded_by"] is None and not e["withdrawn"]}
    for m in matrix:
        m["covered"] = m["key"] in covered
    detail.update(
        matrix=matrix,
        evidence=evidence,
        challenges=challenges,
        submissions=submissions,
        approvals=approvals,
        signatures=signatures,
        reschedules=reschedules,
        changes=changes,
    )
    return detail


def history(db_path: DbRef, ref: str) -> list[dict[str, Any]]:
    with Reader(db_path) as r:
        if r.one("SELECT 1 FROM items WHERE ref = ?", (ref,)) is None:
            raise NotFound(f"unknown item {ref!r}: see 'signoff item list' for the register's refs.")
        return r.all(
            "SELECT seq, recorded_at, actor, roles, event, from_state, to_state, outcome, detail"
            " FROM audit WHERE item_ref = ? ORDER BY seq",
            (ref,),
        )


def users(db_path: DbRef) -> list[dict[str, Any]]:
    with Reader(db_path) as r:
        return r.all("SELECT name, roles, created_at, created_by, deactivated_at FROM users ORDER BY name")


def user_detail(db_path: DbRef, name: str) -> dict[str, Any]:
    """One user: roles, and every key ever registered to them with its fingerprint and status."""
    with Reader(db_path) as r:
        user = r.one("SELECT name, roles, created_at, created_by FROM users WHERE name = ?", (name,))
        if user is None:
            raise NotFound(f"unknown user {name!r}: see 'signoff user list' for the register's users.")
        user["roles"] = [role for role in user["roles"].split(",") if role]
        keys = r.all(
            "SELECT fingerprint, key, registered_at, registered_by, revoked_at, revoked_by, revoke_reason"
            " FROM user_keys WHERE user_name = ? ORDER BY id",
            (name,),
        )
    for key in keys:
        key["status"] = "revoked" if key["revoked_at"] else "current"
    user["keys"] = keys
    return user


def meetings(db_path: DbRef) -> list[dict[str, Any]]:
    with Reader(db_path) as r:
        return r.all(
            "SELECT date, note, added_by, added_at, cancelled_at, cancelled_by, cancel_reason, moved_to"
            " FROM meetings ORDER BY date"
        )
