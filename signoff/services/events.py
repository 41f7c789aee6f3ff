"""Firing a workflow event on an item: submit, challenge, resubmit, approve, reopen, or a custom one.

One unit of work: load the facts, let the workflow's shared machine decide, apply the event's
effects, move the item with an optimistic version check, append the audit record, commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from signoff import clock
from signoff.domain import bundle, names
from signoff.domain.model import Attempt, ChallengeFact
from signoff.domain.signed import DecisionFacts, SignedStatement
from signoff.engine import machine
from signoff.engine import workflow as workflows
from signoff.errors import Conflict, Refused
from signoff.services import decisions
from signoff.services.common import Actor, in_unit_of_work, item_row, load_actor, record_applied
from signoff.services.evidence import bundle_entries, current, fact
from signoff.store import blobs, location
from signoff.store.location import DbRef
from signoff.store.uow import Row, UnitOfWork

if TYPE_CHECKING:
    from signoff.store.tables import Evidence


def fire_event(
    db_path: DbRef,
    actor_name: str,
    ref: str,
    event: str,
    *,
    reason: str | None = None,
    response: str | None = None,
    responses: dict[int, str] | None = None,
    meeting: dt.date | None = None,
    override_reason: str | None = None,
    expected_version: int | None = None,
    signed: SignedStatement | None = None,
) -> str:
    """Fire ``event`` on item ``ref`` as ``actor_name``; return the new state or raise Refused.

    With ``signed``, the decision is that of the signing key's owner (``actor_name`` records it
    when it is someone else: a secretary recording a signature made offline). An event its
    workflow declares ``signed`` is refused without one.
    """
    ref = names.check_ref(ref)
    statement = decisions.read_signed(signed) if signed is not None else None
    if statement is not None:  # offline, the statement says what was decided; the command may repeat it
        meeting = meeting or statement.meeting
        reason = reason if reason is not None else statement.reason
        override_reason = override_reason if override_reason is not None else statement.override_reason
    reason = names.check_text(reason, "reason", required=False) or None
    response = names.check_text(response, "response", required=False) or None
    answers = {int(i): names.check_text(text, f"response to challenge {i}") for i, text in (responses or {}).items()}
    override_reason = names.check_text(override_reason, "override reason", required=False) or None

    def body(uow: UnitOfWork, actor: Actor) -> str:
        recorder: Actor | None = None
        no_key: Refused | None = None
        if signed is not None:
            signature, key_row, no_key = decisions.signer_key(uow, signed)
            if key_row is not None and key_row.user_name != actor.name:
                decisions.require_recorder(actor.roles, actor.name, key_row.user_name)
                recorder, actor = actor, load_actor(uow, key_row.user_name)
        # The facts are read with plain statements, not ORM loads: a transition is a handful of
        # indexed reads, and the ORM's per-row machinery cost more than the reads themselves.
        item = item_row(uow, ref)
        from_state, version = item.state, item.version
        wf = uow.rules().get(item.kind)
        records = uow.dicts(_EVIDENCE_SQL, (item.id,))
        withdrawn: dict[int, str] = dict(uow.rows(_WITHDRAWN_SQL, (item.id,)))  # evidence id → withdrawn by
        standing = current(records, withdrawn)
        open_challenges = uow.dicts(_OPEN_CHALLENGES_SQL, (item.id,))
        submissions = uow.dicts(_SUBMISSIONS_SQL, (item.id,))
        latest = submissions[-1] if submissions else None
        entries = bundle_entries(standing)
        current_digest = bundle.digest(entries)
        frozen = latest.bundle_digest if latest else None
        attempt = Attempt(
            ref=ref,
            kind=item.kind,
            state=from_state,
            event=event,
            actor=actor.name,
            actor_roles=actor.roles,
            today=clock.today(),
            matrix_keys=tuple(k for (k,) in uow.rows(_MATRIX_KEYS_SQL, (item.id,))),
            evidence=tuple(fact(r) for r in standing),
            evidence_adders=frozenset(r.added_by for r in records),
            evidence_withdrawers=frozenset(withdrawn.values()),
            submitters=frozenset(s.submitted_by for s in submissions),
            open_challenges=tuple(
                ChallengeFact(c.raised_at, c.raised_by, c.reason, c.id or 0) for c in open_challenges
            ),
            latest_submission_at=latest.submitted_at if latest else None,
            submitted_bundle=frozen,
            current_bundle=bundle.as_frozen(frozen, entries, current_digest),
            reason=reason,
            response=response,
            responses=tuple(sorted(answers.items())),
            meeting=meeting,
            override_reason=override_reason,
            damaged_files=_damaged_files(db_path, standing) if _guarded_by(wf, event, "evidence_files_intact") else (),
            **_calendar(uow),
        )
        detail: dict[str, object] = {
            k: v
            for k, v in {
                "reason": reason,
                "response": response,
                "meeting": meeting.isoformat() if meeting else None,
                "override_reason": override_reason,
            }.items()
            if v is not None
        }
        if answers:
            detail["responses"] = {str(i): text for i, text in sorted(answers.items())}
        sig_fields: dict[str, str] = {}
        try:
            new_state = machine.fire(wf, attempt)
            if signed is None and wf.events[event].signed:
                raise decisions.unsigned(event, ref)
            if no_key is not None:
                raise no_key
            if signed is not None and statement is not None:
                decisions.check_signature(
                    signed,
                    signature,
                    key_row,
                    statement,
                    DecisionFacts(
                        register=uow.database_id(),
                        item=ref,
                        title=item.title,
                        event=event,
                        meeting=meeting,
                        bundle=latest.bundle_digest if latest else None,
                        frozen_at=decisions.when(latest.submitted_at) if latest else None,
                        reason=reason,
                        override_reason=override_reason,
                        actor=actor.name,
                        now=decisions.when(uow.now),
                        key_registered_at=decisions.when(key_row.registered_at),
                    ),
                )
                sig_fields.update(
                    statement=signed.statement.decode("utf-8"), signature=signed.signature, signer=key_row.fingerprint
                )
                detail.update(sig_fields)
                if recorder is not None:
                    detail["recorded_by"] = recorder.name
        except Refused as refusal:
            refusal.audit = {
                "item_ref": ref,
                "from_state": from_state,
                "workflow_hash": wf.digest,
                "detail": detail,
            }
            raise
        now = uow.now
        effects = wf.events[event].effects
        if "answer_challenge" in effects and open_challenges:
            # Every open challenge is answered: by its own response where one was given, else by the one.
            answered = []
            for c in open_challenges:
                answer = answers.get(c.id or 0, response)
                uow.rows(_ANSWER_SQL, (answer, now, actor.name, c.id))
                answered.append([c.id, answer])
            detail["answers_challenges"] = answered
        if "open_challenge" in effects:
            detail["challenge_id"] = uow.insert(
                "challenges",
                {"item_id": item.id, "event": event, "raised_at": now, "raised_by": actor.name, "reason": reason or ""},
            )
        if "freeze_bundle" in effects:
            digest = current_digest
            detail["submission_id"] = uow.insert(
                "submissions",
                {
                    "item_id": item.id,
                    "event": event,
                    "submitted_at": now,
                    "submitted_by": actor.name,
                    "bundle_digest": digest,
                    "evidence_ids": ",".join(str(r.id) for r in standing),
                },
            )
            detail["bundle"] = digest
            detail["evidence_ids"] = [r.id for r in standing]
        if "record_approval" in effects and latest is not None and meeting is not None:
            detail["approval_id"] = uow.insert(
                "approvals",
                {
                    "item_id": item.id,
                    "submission_id": latest.id,
                    "approved_at": now,
                    "approved_by": actor.name,
                    "meeting": meeting.isoformat(),
                    "bundle_digest": latest.bundle_digest,
                    "override_reason": override_reason,
                    "statement": sig_fields.get("statement"),
                    "signature": sig_fields.get("signature"),
                    "signer": sig_fields.get("signer"),
                },
            )
            detail["submission_id"] = latest.id
            detail["bundle"] = latest.bundle_digest
        if expected_version is not None:
            version = expected_version
        moved = uow.rows(_MOVE_SQL, (new_state, now, item.id, version))
        if len(moved) != 1:
            raise Conflict(f"{ref} was changed by someone else meanwhile: look at it again and retry.")
        record = record_applied(
            uow,
            actor,
            event,
            item_ref=ref,
            from_state=from_state,
            to_state=new_state,
            workflow_hash=wf.digest,
            detail=detail,
        )
        if sig_fields:
            from signoff.store.tables import Signature

            uow.session.add(Signature(seq=record["seq"], item_ref=ref, event=event, signed_by=actor.name, **sig_fields))
            uow.session.flush()
        return new_state

    return in_unit_of_work(db_path, actor_name, event, body, item_ref=ref)


_EVIDENCE_SQL = "SELECT * FROM evidence WHERE item_id = ? ORDER BY id"
_WITHDRAWN_SQL = "SELECT evidence_id, withdrawn_by FROM withdrawals WHERE item_id = ?"
_OPEN_CHALLENGES_SQL = (
    "SELECT id, raised_at, raised_by, reason FROM challenges WHERE item_id = ? AND answered_at IS NULL ORDER BY id"
)
_SUBMISSIONS_SQL = "SELECT id, submitted_at, submitted_by, bundle_digest FROM submissions WHERE item_id = ? ORDER BY id"
_MATRIX_KEYS_SQL = "SELECT key FROM matrix_rows WHERE item_id = ? ORDER BY id"
_MEETINGS_SQL = "SELECT date, cancelled_at, moved_to FROM meetings"
_ANSWER_SQL = "UPDATE challenges SET response = ?, answered_at = ?, answered_by = ? WHERE id = ?"
# RETURNING: the optimistic version check counts the rows it moved on every backend.
_MOVE_SQL = "UPDATE items SET state = ?, version = version + 1, last_transition_at = ? WHERE id = ? AND version = ? RETURNING id"


def _calendar(uow: UnitOfWork) -> dict[str, Any]:
    """The board's calendar as the meeting guard reads it: held dates, and cancelled ones with where they moved."""
    rows = uow.rows(_MEETINGS_SQL)
    return {
        "meetings_held": tuple(dt.date.fromisoformat(d) for d, cancelled, _ in rows if cancelled is None),
        "meetings_cancelled": tuple(
            (dt.date.fromisoformat(d), moved_to) for d, cancelled, moved_to in rows if cancelled is not None
        ),
    }


def _guarded_by(wf: workflows.Workflow, event: str, guard: str) -> bool:
    ev = wf.events.get(event)
    return ev is not None and guard in ev.guards


def _damaged_files(db_path: DbRef, records: Sequence[Evidence | Row]) -> tuple[str, ...]:
    """Re-hash the stored copies of the bundle's files: the board signs off what was put to it."""
    files = [r for r in records if r.kind == "file"]
    if not files:
        return ()
    store = location.evidence_dir(db_path)
    damaged = []
    for r in files:
        path = blobs.blob_path(store, r.sha256)
        if not path.is_file() or blobs.sha256_file(path)[0] != r.sha256:
            damaged.append(f"#{r.id} {r.file_name}")
    return tuple(damaged)
