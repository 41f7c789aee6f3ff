"""One stress-test writer process: N random events on the shared items, each acknowledged in a log.

Run as ``python _stress_worker.py DB WORKER EVENTS SEED LOG REFS``. Every attempt is written to LOG
as one JSON line *after* the service call returned (the acknowledgement), with its outcome.
The worker acts only as its own users (``sec-W``, ``chair-W``, ``mem-W``), so the test can match
the audit records of those users one-for-one, in order, against this log.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import time
from pathlib import Path

from signoff.errors import SignoffError
from signoff.services.evidence import add_evidence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the test users' signing keys
from signing import fire_event  # signs the chair's approvals and re-openings

KEYS = ("k1", "k2")


def main() -> int:
    db, worker, events, seed, log_path, refs_text = sys.argv[1:7]
    db_path = Path(db)
    refs = refs_text.split(",")
    rnd = random.Random(int(seed))
    sec, chair, mem = f"sec-{worker}", f"chair-{worker}", f"mem-{worker}"
    today = dt.date.today()
    with open(log_path, "w", encoding="utf-8") as log:
        for i in range(int(events)):
            ref = rnd.choice(refs)
            token = f"w{worker}-{i}"
            kind = rnd.choice(("evidence", "evidence", "submit", "challenge", "resubmit", "approve", "reopen", "wrong"))
            entry: dict[str, object] = {"i": i, "ref": ref, "token": token}
            started = time.monotonic()
            try:
                if kind == "evidence":
                    entry.update(event="evidence.add", actor=sec)
                    eid = add_evidence(db_path, sec, ref, rnd.choice(KEYS), today, note=f"note {token}")
                    entry.update(outcome="applied", evidence_id=eid)
                else:
                    actor, kwargs = {
                        "submit": (sec, {}),
                        "challenge": (mem, {"reason": f"challenge {token}"}),
                        "resubmit": (sec, {"response": f"response {token}"}),
                        "approve": (chair, {"meeting": today, "override_reason": f"override {token}"}),
                        "reopen": (chair, {"reason": f"reopen {token}", "meeting": today}),
                        "wrong": (mem, {"meeting": today}),  # a member may never approve: always refused
                    }[kind]
                    event = "approve" if kind == "wrong" else kind
                    entry.update(event=event, actor=actor)
                    state = fire_event(db_path, actor, ref, event, **kwargs)  # type: ignore[arg-type]
                    entry.update(outcome="applied", state=state)
            except SignoffError as err:
                entry.update(outcome="refused" if err.exit_code == 3 else f"exit{err.exit_code}", message=str(err))
            entry["seconds"] = round(time.monotonic() - started, 4)
            log.write(json.dumps(entry) + "\n")
            log.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
