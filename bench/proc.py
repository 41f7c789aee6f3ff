"""Run a command as a child process; time it and read its own peak RSS from wait4's rusage."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


def signoff_exe() -> list[str]:
    """The installed console script beside this interpreter (what users run), else python -m signoff."""
    script = Path(sys.executable).with_name("signoff")
    return [str(script)] if script.exists() else [sys.executable, "-m", "signoff"]


def tool(name: str) -> str | None:
    """A tool from this virtualenv first, then PATH."""
    local = Path(sys.executable).with_name(name)
    return str(local) if local.exists() else shutil.which(name)


@dataclass
class Sample:
    seconds: float
    maxrss_mib: float
    code: int
    cpu_s: float  # user + system time of the child (and of the children it waited for)


def run_once(cmd: Sequence[str], stdout_path: str = os.devnull, env: dict[str, str] | None = None) -> Sample:
    """Run ``cmd`` through bench/peak.py; stdout goes to ``stdout_path``, stderr is kept for errors."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as rep, open(stdout_path, "wb") as out:
        launcher = [sys.executable, "-S", str(Path(__file__).with_name("peak.py")), rep.name, *cmd]
        proc = subprocess.run(launcher, stdout=out, stderr=subprocess.PIPE, env=env, check=False)
        fields = Path(rep.name).read_text().split()
    if proc.returncode != 0 or not fields or fields[2] != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    # ru_maxrss is KiB on Linux
    return Sample(float(fields[0]), int(fields[1]) / 1024.0, int(fields[2]), float(fields[3]))


@dataclass
class Measure:
    median_s: float
    min_s: float
    runs: int
    peak_rss_mib: float
    median_cpu_s: float | None = None

    def as_dict(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {
            "median_s": round(self.median_s, 6),
            "min_s": round(self.min_s, 6),
            "runs": self.runs,
            "peak_rss_mib": round(self.peak_rss_mib, 1),
        }
        if self.median_cpu_s is not None:
            out["median_cpu_s"] = round(self.median_cpu_s, 6)
        return out

    @classmethod
    def of(cls, samples: Sequence[Sample]) -> Measure:
        times = [s.seconds for s in samples]
        return cls(
            statistics.median(times),
            min(times),
            len(times),
            max(s.maxrss_mib for s in samples),
            statistics.median(s.cpu_s for s in samples),
        )


Make = Callable[[int], Sequence[str]]
Before = Callable[[int], None] | None


def measure(
    make_cmd: Make,
    runs: int,
    warmup: int = 1,
    before: Before = None,
    stdout_path: str = os.devnull,
) -> Measure:
    """Median wall and CPU time of ``runs`` whole-process runs (after ``warmup`` untimed ones).

    For a case with no reference; a case with one is timed with ``measure_pair``.
    """
    samples = []
    for n in range(warmup + runs):
        if before is not None:
            before(n)
        s = run_once(make_cmd(n), stdout_path)
        if n >= warmup:
            samples.append(s)
    return Measure.of(samples)


def measure_pair(
    ours: Make,
    ref: Make,
    runs: int,
    warmup: int = 1,
    before_ours: Before = None,
    before_ref: Before = None,
) -> tuple[Measure, Measure]:
    """Ours and the reference run by run, alternating (A B A B ...), so a change in the machine's
    load lands on both sides of the ratio instead of on one block of runs. ``warmup`` untimed
    pairs go first. Run ``n`` of each side gets ``make(n)``."""
    a: list[Sample] = []
    b: list[Sample] = []
    for n in range(warmup + runs):
        if before_ours is not None:
            before_ours(n)
        sa = run_once(ours(n))
        if before_ref is not None:
            before_ref(n)
        sb = run_once(ref(n))
        if n >= warmup:
            a.append(sa)
            b.append(sb)
    return Measure.of(a), Measure.of(b)
