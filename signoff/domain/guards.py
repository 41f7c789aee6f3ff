"""Named guard rules. Each is pure: it reads an Attempt and returns why it fails, or None.

Workflow files name these rules per event; the engine evaluates every named rule so that a
refusal lists all that failed, not just the first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from signoff.clock import local_date
from signoff.domain import calendar
from signoff.domain.model import Attempt, EvidenceFact
from signoff.domain.names import name_fold

Check = Callable[[Attempt], "str | None"]


@dataclass(frozen=True)
class Guard:
    name: str
    summary: str
    check: Check


def _matrix_covered(a: Attempt) -> str | None:
    covered = {e.key for e in a.evidence}
    missing = [k for k in a.matrix_keys if k not in covered]
    if not a.matrix_keys:
        return "the item has no evidence matrix rows: import its matrix first"
    if missing:
        return "no evidence for matrix rows: " + ", ".join(missing)
    return None


def _evidence_dated(a: Attempt) -> str | None:
    future = sorted({e.key for e in a.evidence if e.dated > a.today})
    if future:
        return "evidence dated in the future: " + ", ".join(future)
    return None


def _reason_given(a: Attempt) -> str | None:
    return None if (a.reason or "").strip() else "a reason is required"


def _response_given(a: Attempt) -> str | None:
    if not a.open_challenges:
        return "there is no open challenge to answer"
    open_ids = {c.id for c in a.open_challenges}
    stray = sorted(i for i, _ in a.responses if i not in open_ids)
    if stray:
        return "no open challenge has the id " + ", ".join(str(i) for i in stray)
    if (a.response or "").strip():
        return None
    answered = {i for i, text in a.responses if text.strip()}
    unanswered = [c for c in a.open_challenges if c.id not in answered]
    if not unanswered:
        return None
    if len(a.open_challenges) == 1:
        return "a written response to the open challenge is required"
    return "a written response is required to every open challenge; unanswered: " + ", ".join(
        f"{c.id} (by {c.raised_by})" for c in unanswered
    )


def _evidence_since_challenge(a: Attempt) -> str | None:
    """New evidence since the latest open challenge: every challenger has seen the case move on."""
    if not a.open_challenges:
        return None
    raised = max(c.raised_at for c in a.open_challenges)
    if any(e.recorded_at > raised for e in a.evidence):
        return None
    if len(a.open_challenges) == 1:
        return "no evidence has been added since the challenge was raised"
    return "no evidence has been added since the latest open challenge was raised"


def _no_open_challenge(a: Attempt) -> str | None:
    if not a.open_challenges:
        return None
    if len(a.open_challenges) == 1:
        return f"a challenge by {a.open_challenges[0].raised_by} is still open"
    by = ", ".join(f"{c.raised_by} ({c.id})" for c in a.open_challenges)
    return f"{len(a.open_challenges)} challenges are still open, by {by}"


def _meeting_date_valid(a: Attempt) -> str | None:
    if a.meeting is None:
        return "a board meeting date is required"
    if a.meeting > a.today:
        return f"the meeting date {a.meeting.isoformat()} is in the future"
    if a.latest_submission_at:
        submitted = local_date(a.latest_submission_at)
        if a.meeting < submitted:
            return (
                f"the meeting date {a.meeting.isoformat()} is before the latest submission on {submitted.isoformat()}"
            )
    return None


def _meeting_on_calendar(a: Attempt) -> str | None:
    """A decision belongs to a meeting on the calendar that was not cancelled. A missing date or one
    still to come is ``meeting_date_valid``'s to refuse: one reason, said once."""
    if a.meeting is None:
        return None
    return calendar.not_held(a.meeting, a.meetings_held, dict(a.meetings_cancelled))


def _segregation_of_duties(a: Attempt) -> str | None:
    """The approver is a different person from everyone who built or put the case: names are compared
    folded (``names.name_fold``), so look-alike spellings of one person do not pass as two."""
    me = name_fold(a.actor)
    roles = []
    if any(name_fold(p) == me for p in a.evidence_adders):
        roles.append("added evidence for")
    if any(name_fold(p) == me for p in a.evidence_withdrawers):
        roles.append("withdrew evidence of")
    if any(name_fold(p) == me for p in a.submitters):
        roles.append("submitted")
    if roles:
        return f"{a.actor} {' and '.join(roles)} this item and so cannot approve it"
    return None


def _bundle_unchanged(a: Attempt) -> str | None:
    if a.submitted_bundle is None:
        return "the item has no frozen submission to approve"
    if a.submitted_bundle != a.current_bundle:
        return "evidence changed after submission: run 'signoff amend REF' to put the changed evidence to the board before approval"
    return None


def _bundle_changed(a: Attempt) -> str | None:
    if a.submitted_bundle is not None and a.submitted_bundle == a.current_bundle:
        return "the evidence is unchanged since it was submitted: add or correct evidence first"
    return None


def _evidence_files_intact(a: Attempt) -> str | None:
    if a.damaged_files:
        return "stored evidence files are missing or altered: " + ", ".join(a.damaged_files)
    return None


def latest_measures(evidence: tuple[EvidenceFact, ...]) -> list[EvidenceFact]:
    """Each measure's standing value: its latest period (then its latest record). Earlier periods are
    the trend, not the test."""
    latest: dict[str, EvidenceFact] = {}
    for e in evidence:
        if e.kind != "measure" or e.value is None or e.threshold is None or e.measure is None:
            continue
        held = latest.get(e.measure)
        if held is None or (e.period or "", e.recorded_at) >= (held.period or "", held.recorded_at):
            latest[e.measure] = e
    return [latest[m] for m in sorted(latest)]


def measure_met(e: EvidenceFact) -> bool:
    assert e.value is not None and e.threshold is not None
    return e.value <= e.threshold if e.direction == "at-most" else e.value >= e.threshold


def _measures_met(a: Attempt) -> str | None:
    missed = []
    for e in latest_measures(a.evidence):
        ok = measure_met(e)
        if not ok:
            missed.append(f"{e.measure} {e.value:g} against {e.direction} {e.threshold:g}")
    if not missed:
        return None
    if (a.override_reason or "").strip():
        return None
    return "measures miss their thresholds (override with a recorded reason): " + "; ".join(missed)


GUARDS: dict[str, Guard] = {
    g.name: g
    for g in (
        Guard("matrix_covered", "every evidence-matrix row has at least one evidence record", _matrix_covered),
        Guard("evidence_dated", "no evidence record is dated in the future", _evidence_dated),
        Guard("reason_given", "a non-empty reason is given", _reason_given),
        Guard("response_given", "a written response answers every open challenge", _response_given),
        Guard(
            "evidence_since_challenge",
            "evidence was added after the latest open challenge was raised",
            _evidence_since_challenge,
        ),
        Guard("no_open_challenge", "no challenge is open", _no_open_challenge),
        Guard(
            "meeting_date_valid",
            "a meeting date, not in the future and not before the latest submission",
            _meeting_date_valid,
        ),
        Guard(
            "meeting_on_calendar",
            "the meeting named is on the board's calendar and was not cancelled or moved",
            _meeting_on_calendar,
        ),
        Guard(
            "segregation_of_duties",
            "the approver neither added, superseded or withdrew the item's evidence nor submitted, resubmitted or amended it",
            _segregation_of_duties,
        ),
        Guard("bundle_unchanged", "the evidence is the bundle frozen at submission", _bundle_unchanged),
        Guard(
            "evidence_files_intact",
            "every stored evidence file still has the SHA-256 recorded for it",
            _evidence_files_intact,
        ),
        Guard("bundle_changed", "evidence was added or corrected since the last submission", _bundle_changed),
        Guard("measures_met", "every measure meets its threshold, or the chair records why not", _measures_met),
    )
}


def failures(names: list[str] | tuple[str, ...], attempt: Attempt) -> list[str]:
    """Evaluate every named guard and return 'name: why' for each that fails."""
    out = []
    for name in names:
        why = GUARDS[name].check(attempt)
        if why:
            out.append(f"{name}: {why}")
    return out
