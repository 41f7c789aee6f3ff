"""A writer to be killed: loops over writes and prints ``ack TOKEN KIND`` after each one has returned.

Run as ``python _crash_writer.py DB RUN SEED [bulk]``. Each write is one attempt that leaves exactly
one audit record when it completes (applied or refused); the evidence note or reason carries TOKEN.
With ``bulk``, the first write is a large matrix import (one long transaction) to be killed midway.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

from signoff.errors import Refused
from signoff.services.events import fire_event
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix


def main() -> int:
    db, run, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    rnd = random.Random(seed)
    today = dt.date.today()
    print("ready", flush=True)  # imports done: the kill's clock starts now, whatever the machine's load
    if len(sys.argv) > 4 and sys.argv[4] == "bulk":
        csv_path = db.with_name(f"bulk-{run}.csv")
        lines = ["item_ref,item_kind,item_title,item_due,evidence_key,evidence_description,present_by"]
        lines += [f"B{run}-{n},ofsted-recommendation,Bulk {n},,k1,Row {n},{today}" for n in range(4000)]
        csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_matrix(db, "sec", csv_path)
        print(f"ack bulk-{run} bulk", flush=True)
    for i in range(100_000):
        token = f"r{run}-{i}"
        ref = f"IT-{rnd.randrange(6)}"
        choice = rnd.random()
        kind = "note" if choice < 0.6 else "submit" if choice < 0.75 else "reason" if choice < 0.9 else "response"
        try:
            if kind == "note":
                add_evidence(db, "sec-0", ref, rnd.choice(("k1", "k2")), today, note=token)
            elif kind == "submit":
                fire_event(db, "sec-0", ref, "submit")
            elif kind == "reason":
                fire_event(db, "mem-0", ref, "challenge", reason=token)
            else:
                fire_event(db, "sec-0", ref, "resubmit", response=token)
        except Refused:
            pass  # refused attempts are acknowledged too: their audit record was committed
        print(f"ack {token} {kind}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
