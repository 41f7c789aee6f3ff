"""Run the signoff CLI with its clock set back: ``python bench/shifted.py DAYS ARGS...``.

The bench's realistic board register (datasets.build_board_register) is a quarter old: its first
records (init, users, meetings, the matrix import) must be dated then, and the audit chain's
times only move forward, so these commands run with ``signoff.clock.now`` and ``today`` moved
``DAYS`` days back. Only the bench's data set builder uses this; nothing measured runs through it.
"""

import datetime as dt
import sys


def main() -> None:
    from signoff import clock

    back = dt.timedelta(days=int(sys.argv[1]))
    now, today = clock.now, clock.today

    def shifted_now() -> dt.datetime:
        return now() - back

    def shifted_today() -> dt.date:
        return today() - back

    clock.now, clock.today = shifted_now, shifted_today  # type: ignore[assignment]
    sys.argv = ["signoff", *sys.argv[2:]]
    from signoff.cli import main as signoff_main

    signoff_main()


if __name__ == "__main__":
    main()
