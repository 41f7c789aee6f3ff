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


def run_once(cmd: Sequence[str], stdout_path: str = os.devnull, env: dict[str, str] | None = None) -> Sample:
    """Run ``cmd`` through bench/peak.py; stdout goes to ``stdout_path``, stderr is kept for errors."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as rep, open(stdout_path, "wb") as out:
        launcher = [sys.executable, "-S", str(Path(__file__).with_name("peak.py")), rep.name, *cmd]
        proc = subprocess.run(launcher, stdout=out, stderr=subprocess.PIPE, env=env, check=False)
        fields = Path(rep.name).read_text().split()
    if proc.returncode != 0 or not fields or fields[2] != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    return Sample(float(fields[0]), int(fields[1]) / 1024.0, int(fields[2]))  # ru_maxrss is KiB on Linux


@dataclass
class Measure:
    median_s: float
    min_s: float
    runs: int
    peak_rss_mib: float

    def as_dict(self) -> dict[str, float | int]:
        return {
            "median_s": round(self.median_s, 6),
            "min_s": round(self.min_s, 6),
            "runs": self.runs,
            "peak_rss_mib": round(self.peak_rss_mib, 1),
        }


def measure(
    make_cmd: Callable[[int], Sequence[str]],
    runs: int,
    warmup: int = 1,
    before: Callable[[int], None] | None = None,
    stdout_path: str = os.devnull,
) -> Measure:
    """Median wall time of ``runs`` whole-process runs (after ``warmup`` untimed ones)."""
    samples = []
    for n in range(warmup + runs):
        if before is not None:
            before(n)
        s = run_once(make_cmd(n), stdout_path)
        if n >= warmup:
            samples.append(s)
    times = [s.seconds for s in samples]
    return Measure(statistics.median(times), min(times), len(times), max(s.maxrss_mib for s in samples))
