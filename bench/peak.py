"""A tiny launcher that runs one command and reports its wall time, CPU time and its own peak RSS.

A child forked straight from the harness inherits the harness's RSS high-water mark (Linux keeps
the pre-exec mm's peak in ru_maxrss), so the harness launches each measured command through this
small process instead: ``python -S -m bench.peak OUT CMD...`` writes
"seconds maxrss_kib code cpu_seconds" to OUT, where cpu_seconds is the child's user + system time
(its own and that of the children it waited for), from the same wait4 rusage.
"""

import os
import sys
import time


def main() -> None:
    out, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    with open(out, "w") as fh:
        code = os.waitstatus_to_exitcode(status)
        fh.write(f"{elapsed} {usage.ru_maxrss} {code} {usage.ru_utime + usage.ru_stime}\n")


if __name__ == "__main__":
    main()
