"""Random sequences of events through the services, checked against a simple independent model.

The model below knows the Ofsted workflow only from the issue's rules, not from the code: who may
fire what, from which state, and which guards must hold. After every step the database must agree
with it, a refusal must list exactly the failures the model expects, and the audit log must have
grown by exactly one record.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import days_ago, write_matrix
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from signing import fire_event, register_key

from signoff.errors import BadInput, Refused
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix
from signoff.services.register import add_user, init_register
from signoff.services.schedule import add_meeting
from signoff.store import uow as uow_module

ROLES = {
    "sec": {"secretary"},
    "chair": {"chair"},
    "member": {"member"},
    "auditor": {"auditor"},
    "both": {"chair", "secretary"},
}
REFS = ("OF-A", "OF-B")
KEYS = ("audit", "policy")
refs = st.sampled_from(REFS)
# Half the draws favour what moves an item on, so 20 steps regularly reach signed_off and beyond;
# the other half are anything at all, so refusals of every kind are exercised too.
texts = st.one_of(st.just("the evidence is thin"), st.sampled_from(["", "  ", "answered in full"]))


def actors(*likely: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(likely), st.sampled_from(sorted(ROLES)))


_TEMPLATE: dict[str, Path] = {}


def template() -> Path:
    """One initialised register with users and both items, built once and copied per example."""
    if "db" not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="signoff-stateful-template-"))
        db = folder / "template.db"
        init_register(db, "sec")
        for name, roles in ROLES.items():
            if name != "sec":
                add_user(db, "sec", name, sorted(roles))
            if "chair" in roles:
                register_key(db, name)
        rows = [
            (ref, "ofsted-recommendation", f"Item {ref}", "", key, f"{key} evidence", days_ago(-30).isoformat())
            for ref in REFS
            for key in KEYS
        ]
        import_matrix(db, "sec", write_matrix(folder / "m.csv", rows))
        for offset in (-2, -1, 0, 1):  # every meeting date the rules draw is on the calendar
            add_meeting(db, "sec", days_ago(-offset))
        uow_module.close_connections(db)
        _TEMPLATE["db"] = db
    return _TEMPLATE["db"]


@dataclass
class ItemModel:
    state: str = "proposed"
    # (key, dated, added_by, clock tick when added)
    evidence: list[tuple[str, dt.date, str, int]] = field(default_factory=list)
    open_challenge_ticks: list[int] = field(default_factory=list)  # clock ticks of the open challenges
    bundle: frozenset[int] | None = None  # indices into evidence frozen at the last submission
    submitters: set[str] = field(default_factory=set)  # who submitted or resubmitted it


class SignoffModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="signoff-stateful-"))
        self.db = self.folder / "register.db"
        src = sqlite3.connect(template())
        dst = sqlite3.connect(self.db)
        src.backup(dst)
        src.close()
        dst.close()
        self.items = {ref: ItemModel() for ref in REFS}
        self.tick = 0
        self.audit_base = self.audit_count()
        self.attempts = 0
        self.today = days_ago(0)

    def teardown(self) -> None:
        uow_module.close_connections(self.db)
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- reading the real register -------------------------------------------------------
    def audit_count(self) -> int:
        with sqlite3.connect(self.db) as conn:
            return conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]

    def db_state(self, ref: str) -> str:
        with sqlite3.connect(self.db) as conn:
            return conn.execute("SELECT state FROM items WHERE ref = ?", (ref,)).fetchone()[0]

    # --- the independent model of the rules ----------------------------------------------
    def coverage_failures(self, m: ItemModel) -> list[str]:
        out = []
        if not all(any(e[0] == k for e in m.evidence) for k in KEYS):
            out.append("matrix_covered")
        if any(e[1] > self.today for e in m.evidence):
            out.append("evidence_dated")
        return out

    def expect(
        self, ref: str, event: str, actor: str, text: str = "", meeting: dt.date | None = None
    ) -> tuple[list[str], str]:
        """The failures the model expects (empty when the event applies) and the state after it."""
        m = self.items[ref]
        roles = ROLES[actor]
        src, dest, allowed = {
            "submit": ("proposed", "evidence_submitted", {"secretary"}),
            "challenge": (("evidence_submitted", "challenged"), "challenged", {"secretary", "chair", "member"}),
            "resubmit": ("challenged", "evidence_submitted", {"secretary"}),
            "approve": ("evidence_submitted", "signed_off", {"chair"}),
            "reopen": ("signed_off", "challenged", {"chair"}),
        }[event]
        out = []
        if m.state not in ((src,) if isinstance(src, str) else src):
            out.append("state")
        if not roles & allowed:
            out.append("permission")
        if event == "submit":
            out += self.coverage_failures(m)
        elif event in ("challenge", "reopen"):
            if not text.strip():
                out.append("reason_given")
        elif event == "resubmit":
            out += self.coverage_failures(m)
            if not m.open_challenge_ticks or not text.strip():
                out.append("response_given")
            # Several challengers: new evidence must postdate the latest open challenge.
            if m.open_challenge_ticks and not any(e[3] > max(m.open_challenge_ticks) for e in m.evidence):
                out.append("evidence_since_challenge")
        elif event == "approve":
            out += self.coverage_failures(m)
            if m.open_challenge_ticks:
                out.append("no_open_challenge")
            # Every submission in these runs happens today: once submitted, only today's meeting is valid.
            if meeting is None or meeting > self.today or (m.bundle is not None and meeting < self.today):
                out.append("meeting_date_valid")
            if actor in {e[2] for e in m.evidence} | m.submitters:
                out.append("segregation_of_duties")
            if m.bundle is None or m.bundle != frozenset(range(len(m.evidence))):
                out.append("bundle_unchanged")
        return out, dest

    def apply(self, ref: str, event: str, actor: str = "") -> None:
        m = self.items[ref]
        self.tick += 1
        if event in ("challenge", "reopen"):
            m.open_challenge_ticks.append(self.tick)
        if event == "resubmit":
            m.open_challenge_ticks.clear()
        if event in ("submit", "resubmit"):
            m.bundle = frozenset(range(len(m.evidence)))
            m.submitters.add(actor)

    def attempt(self, ref: str, event: str, actor: str, text: str = "", meeting: dt.date | None = None) -> None:
        expected, dest = self.expect(ref, event, actor, text, meeting)
        kw: dict[str, object] = {}
        if event in ("challenge", "reopen"):
            kw["reason"] = text
        if event == "resubmit":
            kw["response"] = text
        if event in ("approve", "reopen"):
            kw["meeting"] = meeting
        self.attempts += 1
        try:
            new_state = fire_event(self.db, actor, ref, event, **kw)  # type: ignore[arg-type]
        except Refused as err:
            got = [f.split(":")[0] for f in err.failures]
            assert got == expected, (event, actor, got, expected)
            return
        assert expected == [], f"{event} by {actor} applied although the model expected {expected}"
        assert new_state == dest
        self.items[ref].state = dest
        self.apply(ref, event, actor)

    @initialize()
    def cover_the_first_item(self) -> None:
        """OF-A starts with its matrix covered by the secretary; OF-B starts bare."""
        for key in KEYS:
            self.add_evidence("OF-A", "sec", key, -1)

    # --- rules -----------------------------------------------------------------------------
    @rule(
        ref=refs,
        actor=actors("sec"),
        key=st.sampled_from(KEYS),
        offset=st.one_of(st.just(-1), st.sampled_from([-5, -1, 0, 3])),
    )
    def add_evidence(self, ref: str, actor: str, key: str, offset: int) -> None:
        dated = self.today + dt.timedelta(days=offset)
        if offset > 0:
            # Evidence dated after today is bad input, refused before any attempt begins: nothing
            # is written, and there is no attempt to audit.
            with pytest.raises(BadInput, match="after today"):
                add_evidence(self.db, actor, ref, key, dated, note=f"{key} by {actor}")
            return
        self.attempts += 1
        try:
            add_evidence(self.db, actor, ref, key, dated, note=f"{key} by {actor}")
        except Refused as err:
            assert "secretary" not in ROLES[actor]
            assert [f.split(":")[0] for f in err.failures] == ["permission"]
            return
        assert "secretary" in ROLES[actor]
        self.tick += 1
        self.items[ref].evidence.append((key, dated, actor, self.tick))

    @rule(ref=refs, actor=actors("sec", "both"))
    def submit(self, ref: str, actor: str) -> None:
        self.attempt(ref, "submit", actor)

    @rule(ref=refs, actor=actors("member", "chair"), reason=texts)
    def challenge(self, ref: str, actor: str, reason: str) -> None:
        self.attempt(ref, "challenge", actor, reason)

    @rule(ref=refs, actor=actors("sec"), response=texts)
    def resubmit(self, ref: str, actor: str, response: str) -> None:
        self.attempt(ref, "resubmit", actor, response)

    @rule(ref=refs, actor=actors("chair"), offset=st.one_of(st.just(0), st.sampled_from([None, -2, -1, 0, 1])))
    def approve(self, ref: str, actor: str, offset: int | None) -> None:
        meeting = None if offset is None else self.today + dt.timedelta(days=offset)
        self.attempt(ref, "approve", actor, meeting=meeting)

    @precondition(lambda self: any(m.state == "challenged" for m in self.items.values()))
    @rule(ref=refs, key=st.sampled_from(KEYS))
    def answer_the_challenge(self, ref: str, key: str) -> None:
        """What a diligent secretary does: new evidence, then a written response (two attempts)."""
        self.add_evidence(ref, "sec", key, -1)
        self.attempt(ref, "resubmit", "sec", "answered in full")

    @precondition(lambda self: any(m.state == "signed_off" for m in self.items.values()))
    @rule(ref=refs, actor=actors("chair"), reason=texts)
    def reopen(self, ref: str, actor: str, reason: str) -> None:
        self.attempt(ref, "reopen", actor, reason, meeting=self.today)

    # --- invariants ------------------------------------------------------------------------
    @invariant()
    def the_database_agrees_with_the_model(self) -> None:
        for ref, m in self.items.items():
            assert self.db_state(ref) == m.state

    @invariant()
    def every_attempt_is_audited_exactly_once(self) -> None:
        assert self.audit_count() == self.audit_base + self.attempts

    @invariant()
    def every_sign_off_held_its_guards(self) -> None:
        """Independently of the model: each approval is by a chair who had added none of the evidence then,
        on the frozen bundle, at a meeting neither in the future nor before the submission."""
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute(
                "SELECT a.item_id, a.approved_at, a.approved_by, a.meeting, a.bundle_digest, s.bundle_digest, s.submitted_at"
                " FROM approvals a JOIN submissions s ON s.id = a.submission_id"
            ).fetchall()
            for item_id, approved_at, by, meeting, approved_bundle, frozen, submitted_at in rows:
                adders = {
                    r[0]
                    for r in conn.execute(
                        "SELECT added_by FROM evidence WHERE item_id = ? AND recorded_at < ?", (item_id, approved_at)
                    )
                }
                assert by not in adders
                assert approved_bundle == frozen
                assert submitted_at[:10] <= meeting <= self.today.isoformat()
                assert "chair" in ROLES[by]


SignoffModel.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TestSignoffModel = SignoffModel.TestCase
