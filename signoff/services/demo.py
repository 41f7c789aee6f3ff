"""A realistic register built from the 2013 highlight report, walked through a board cycle.

Dates are set relative to today so that every guard (evidence not in the future, meeting not
before the submission) holds as it would for a real board meeting held today.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from signoff import clock
from signoff.domain.matrix import REQUIRED_COLUMNS
from signoff.errors import BadInput, Refused
from signoff.services.decisions import fire_signed
from signoff.services.events import fire_event
from signoff.services.evidence import MeasureInput, add_evidence
from signoff.services.keys import add_key, generate_key_file, signer_from_file
from signoff.services.matrix import import_matrix
from signoff.services.register import add_user, init_register
from signoff.services.schedule import add_meeting

SECRETARY = "sarah.okoro"
CHAIR = "chair.whitfield"
POLICE = "dci.morgan"
HEALTH = "dr.patel"
AUDITOR = "scrutiny.clerk"

# ref, kind, title, due offset (days), owner, [(key, description, present-by offset)]
ITEMS: list[tuple[str, str, str, int, str, list[tuple[str, str, int]]]] = [
    (
        "OF-01",
        "ofsted-recommendation",
        "Immediately: ensure every contact to ChECS is screened by a qualified social worker within one working day",
        -20,
        "Head of ChECS",
        [
            ("checs-performance", "Performance data: contacts passed to social care within one working day", -40),
            ("checs-audit", "Case-file audit of 30 ChECS contacts", -35),
            ("partner-feedback", "Partners' view of ChECS from the Executive Group exercise", -30),
        ],
    ),
    (
        "OF-02",
        "ofsted-recommendation",
        "Immediately: reduce maximum social work caseloads in CAT, CIN and CP teams",
        -10,
        "Service Manager, CIN/CP",
        [
            ("caseload-data", "Caseload figures per worker, monthly", -30),
            ("workforce-plan", "Workforce plan and recruitment of key staff", -25),
            ("staff-survey", "Social worker survey on workload", -20),
        ],
    ),
    (
        "OF-03",
        "ofsted-recommendation",
        "Within three months: improve the consistency and recording of practice so that case records show the child's journey",
        30,
        "Principal Social Worker",
        [
            ("qa-framework", "Quality assurance framework, as endorsed by the Executive Group", -15),
            ("major-case-audit", "Major case audit findings (Quality of Practice focus report)", 10),
            ("recording-policy", "Revised recording policy", 20),
        ],
    ),
    (
        "OF-04",
        "ofsted-recommendation",
        "Within three months: revise the complaints process to link with the new advocacy service",
        4,
        "Customer Relations Manager",
        [
            ("complaints-procedure", "Revised complaints procedure", 2),
            ("advocacy-contract", "Advocacy service contract award", -5),
            ("complaints-data", "Complaints performance data", 4),
        ],
    ),
    (
        "OF-05",
        "ofsted-recommendation",
        "Within three months: provide social workers with mobile IT equipment to record in the field",
        -3,
        "Head of ICT",
        [
            ("it-rollout-plan", "IT roll-out plan with supplier dates", -45),
            ("it-rollout-report", "Roll-out completion report", -3),
        ],
    ),
    (
        "OF-06",
        "ofsted-recommendation",
        "Within six months: gather and act on feedback from children and young people, linked to the LSCB",
        60,
        "Participation Lead",
        [
            ("rights-service-contract", "Children's rights and participation service contract", -10),
            ("feedback-report", "Report of feedback from children and young people", 40),
            ("lscb-minutes", "LSCB minutes showing the feedback considered", 50),
        ],
    ),
    (
        "OF-07",
        "ofsted-recommendation",
        "Within six months: increase the proportion of permanent social workers",
        90,
        "HR Business Partner",
        [
            ("recruitment-data", "Permanent and agency staff figures", 20),
            ("retention-strategy", "Recruitment and retention strategy", 30),
            ("agency-quality", "Audit of agency social work quality", 60),
        ],
    ),
    (
        "OF-08",
        "ofsted-recommendation",
        "Within six months: strengthen partner engagement in child protection, including attendance at conferences",
        120,
        "LSCB Business Manager",
        [
            ("section-11-audits", "Section 11 audits of partner agencies", 45),
            ("conference-attendance", "Multi-agency attendance at child protection conferences", 60),
            ("cava-review", "Review of CAVA referral quality", 75),
        ],
    ),
    (
        "IN-01",
        "improvement-notice",
        "The improvement plan incorporates every requirement of the Improvement Notice",
        -5,
        "Director of Children's Services",
        [
            ("improvement-plan", "Revised improvement plan mapped to the Notice", -20),
            ("board-minutes", "Improvement Board minutes endorsing the plan", -12),
        ],
    ),
    (
        "IN-02",
        "improvement-notice",
        "Adoption scorecard A1: average days from entering care to moving in with the adoptive family (3-year average) at most 639",
        -1,
        "Adoption Service Manager",
        [
            ("a1-measure", "A1 three-year rolling average", -15),
            ("adoption-plan", "Adoption Improvement Plan progress report", -15),
        ],
    ),
    (
        "IN-03",
        "improvement-notice",
        "Adoption scorecard A2: average days from court authority to place to a match (3-year average) at most 213",
        25,
        "Adoption Service Manager",
        [
            ("a2-measure", "A2 three-year rolling average", -5),
            ("matching-tracker", "Family-finding and matching tracker", 5),
        ],
    ),
    (
        "IN-04",
        "improvement-notice",
        "The LSCB performance report is revised and in operation, with a frontline reference group",
        45,
        "LSCB Chair",
        [
            ("lscb-performance-report", "Revised LSCB performance report", 15),
            ("reference-group-terms", "Frontline reference group terms of reference", 30),
            ("young-person-rep", "Appointment of the young person representative", -8),
        ],
    ),
]

PAPERS = {
    "checs-performance": "ChECS performance: 76% of consultations by telephone; cases passed within one working day up 10%.\n",
    "checs-audit": "Audit of 30 ChECS contacts: all screened by a qualified social worker within one working day.\n",
    "partner-feedback": "Agency view of ChECS, collated by Executive Group members from police, health and schools.\n",
    "caseload-data": "Maximum caseloads: CAT 24, CIN 22, CP 20, down from 31, 29, 27.\n",
    "workforce-plan": "Workforce plan: recruitment of two team managers and six social workers completed.\n",
    "staff-survey": "Staff survey: 68% of social workers say their caseload is manageable (up from 41%).\n",
    "improvement-plan": "Improvement plan v3: every Notice requirement mapped to an action, owner and date.\n",
    "board-minutes": "Minutes: the Improvement Board endorsed improvement plan v3.\n",
    "adoption-plan": "Adoption Improvement Plan: 31 adoptions expected this year, the most to date.\n",
    "it-rollout-plan": "IT roll-out plan: supplier delivery delayed; revised completion at the end of the month.\n",
}


def _write_matrix(path: Path, today: dt.date) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*REQUIRED_COLUMNS, "item_owner"])
        for ref, kind, title, due, owner, rows in ITEMS:
            for key, description, by in rows:
                w.writerow(
                    [
                        ref,
                        kind,
                        title,
                        (today + dt.timedelta(days=due)).isoformat(),
                        key,
                        description,
                        (today + dt.timedelta(days=by)).isoformat(),
                        owner,
                    ]
                )


def build_demo(directory: Path, echo: Callable[[str], None] = print) -> Path:
    """Create ``directory`` with a register, its matrix and papers, and a board cycle; return the db path."""
    if directory.exists() and any(directory.iterdir()):
        raise BadInput(f"{directory} is not empty: run the demo in a fresh folder, e.g. --dir demo-{clock.today()}.")
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "signoff.db"
    today = clock.today()
    days = dt.timedelta

    def step(text: str) -> None:
        echo(f"  - {text}")

    def attempt(actor: str, ref: str, event: str, **kw: object) -> None:
        try:
            if actor == CHAIR:  # the chair's decisions are signed with the chair's own key
                state = fire_signed(db, actor, ref, event, signer_from_file(chair_key, None), **kw)
            else:
                state = fire_event(db, actor, ref, event, **kw)  # type: ignore[arg-type]
            step(f"{actor}: {event} {ref} -> {state}")
        except Refused as refusal:
            step(f"{actor}: {event} {ref} REFUSED ({'; '.join(refusal.failures)})")

    echo(f"Building a demo register in {directory} from the 2013 highlight report")
    init_register(db, SECRETARY)
    add_user(db, SECRETARY, CHAIR, ["chair"])
    add_user(db, SECRETARY, POLICE, ["member"])
    add_user(db, SECRETARY, HEALTH, ["member"])
    add_user(db, SECRETARY, AUDITOR, ["auditor"])
    step("users: secretary, independent chair, police and health members, scrutiny auditor")
    keys = directory / "keys"
    keys.mkdir()
    chair_key = keys / "chair.whitfield_ed25519"
    fingerprint = add_key(db, SECRETARY, CHAIR, generate_key_file(chair_key, f"{CHAIR}@demo"))
    step(f"the chair's signing key {fingerprint} made in {keys} and registered by the secretary")
    add_meeting(db, SECRETARY, today, "Improvement Board")
    add_meeting(db, SECRETARY, today + days(28), "Improvement Board")
    step(f"meetings: today's board and the next on {(today + days(28)).isoformat()}")

    matrix_csv = directory / "evidence-matrix.csv"
    _write_matrix(matrix_csv, today)
    result = import_matrix(db, SECRETARY, matrix_csv)
    step(f"imported the evidence matrix: {result.items_created} items, {result.rows_created} rows")

    papers = directory / "papers"
    papers.mkdir()
    for key, text in PAPERS.items():
        (papers / f"{key}.txt").write_text(text, encoding="utf-8")

    def paper(ref: str, key: str, ago: int) -> None:
        add_evidence(db, SECRETARY, ref, key, today - days(ago), file=papers / f"{key}.txt")

    # OF-01: complete evidence, submitted and signed off at today's board.
    for key in ("checs-performance", "checs-audit", "partner-feedback"):
        paper("OF-01", key, 10)
    attempt(SECRETARY, "OF-01", "submit")
    attempt(CHAIR, "OF-01", "approve", meeting=today)

    # OF-02: challenged by the police member, answered with new evidence, then signed off.
    for key in ("caseload-data", "workforce-plan"):
        paper("OF-02", key, 8)
    add_evidence(db, SECRETARY, "OF-02", "staff-survey", today - days(7), note="Survey summary circulated to members")
    attempt(SECRETARY, "OF-02", "submit")
    attempt(POLICE, "OF-02", "challenge", reason="Caseload figures are a snapshot; show the trend over three months.")
    attempt(CHAIR, "OF-02", "approve", meeting=today)
    paper("OF-02", "staff-survey", 1)
    add_evidence(
        db,
        SECRETARY,
        "OF-02",
        "caseload-data",
        today - days(1),
        note="Caseloads for the last three months: 27, 24, 22 on average",
    )
    attempt(SECRETARY, "OF-02", "resubmit", response="Three-month caseload trend added; survey attached in full.")
    attempt(CHAIR, "OF-02", "approve", meeting=today)

    # OF-03: the secretary tries to submit too early; the matrix guard refuses.
    add_evidence(
        db, SECRETARY, "OF-03", "qa-framework", today - days(20), note="QA framework endorsed by the Executive Group"
    )
    attempt(SECRETARY, "OF-03", "submit")

    # OF-05: evidence overdue (the IT supplier slipped): stays proposed and shows red.
    paper("OF-05", "it-rollout-plan", 50)

    # IN-01: submitted and awaiting the board.
    paper("IN-01", "improvement-plan", 20)
    paper("IN-01", "board-minutes", 12)
    attempt(SECRETARY, "IN-01", "submit")

    # IN-02: adoption A1 at 612 days against a threshold of at most 639: signed off.
    add_evidence(
        db,
        SECRETARY,
        "IN-02",
        "a1-measure",
        today - days(15),
        measure=MeasureInput("A1", 612, "days", "2010-13", 639, "at-most"),
    )
    paper("IN-02", "adoption-plan", 15)
    attempt(SECRETARY, "IN-02", "submit")
    attempt(CHAIR, "IN-02", "approve", meeting=today)

    # IN-03: adoption A2 misses its threshold; the chair's approval is refused.
    add_evidence(
        db,
        SECRETARY,
        "IN-03",
        "a2-measure",
        today - days(5),
        measure=MeasureInput("A2", 240, "days", "2010-13", 213, "at-most"),
    )
    add_evidence(db, SECRETARY, "IN-03", "matching-tracker", today - days(2), note="Matching tracker, 14 children")
    attempt(SECRETARY, "IN-03", "submit")
    attempt(CHAIR, "IN-03", "approve", meeting=today)
    attempt(HEALTH, "IN-03", "challenge", reason="A2 is 27 days over the threshold; what is the recovery plan?")
    return db
