"""Writers to be killed, forked one at a time from a process that has done its imports once.

Run as ``python _crash_writer.py``; each line read from stdin, ``DB RUN SEED [bulk]``, forks one writer.
The writer prints ``ready PID``, then loops over writes and prints ``ack TOKEN KIND`` after each one has
returned; this process prints ``exit PID STATUS`` once that writer has ended (it is meant to be killed).
Each write is one attempt that leaves exactly one audit record when it completes (applied or
refused); the evidence note or reason carries TOKEN. With ``bulk``, the first write is a large matrix
import (one long transaction) to be killed midway.

A forked writer is a process of its own, like a fresh ``python`` one, minus the second or so of
imports: it opens the register itself (this process never does), and SIGKILL ends it as abruptly.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
from pathlib import Path

import sqlalchemy.dialects.sqlite  # noqa: F401  (imported once here, not in every writer)

from signoff.errors import Refused
from signoff.services.events import fire_event
from signoff.services.evidence import add_evidence
from signoff.services.matrix import import_matrix


def say(line: str) -> None:
    """One line in one write: print() writes the text and its newline apart when output is unbuffered
    (PYTHONUNBUFFERED), so a writer killed between the two would leave a line the next one runs into."""
    os.write(1, (line + "\n").encode())


def write(db: Path, run: str, seed: int, bulk: bool) -> None:
    rnd = random.Random(seed)
    today = dt.date.today()
    say(f"ready {os.getpid()}")  # the kill's clock starts now, whatever the machine's load
    if bulk:
        csv_path = db.with_name(f"bulk-{run}.csv")
        lines = ["item_ref,item_kind,item_title,item_due,evidence_key,evidence_description,present_by"]
        lines += [f"B{run}-{n},ofsted-recommendation,Bulk {n},,k1,Row {n},{today}" for n in range(4000)]
        csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_matrix(db, "sec", csv_path)
        say(f"ack bulk-{run} bulk")
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
        say(f"ack {token} {kind}")


def main() -> int:
    for line in sys.stdin:
        db, run, seed, *rest = line.split()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                write(Path(db), run, int(seed), rest == ["bulk"])
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        say(f"exit {pid} {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
