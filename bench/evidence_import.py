"""Thirty evidence records: one `signoff evidence import` against thirty `signoff evidence add`.

    python -m bench.evidence_import              # 30 records (notes, files and measures), 3 runs each
    python -m bench.evidence_import --records 5 --runs 1

Each run starts from a fresh copy of the same register (6 items x 5 matrix rows, made by the real
`signoff init` and `matrix import`), so both ways write into the same state. Prints wall-clock
seconds per way (median over the runs), per record, and the ratio; nothing is asserted.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench import datasets
from signoff.services.evidence_import import COLUMNS

ROWS_PER_ITEM = 5


def rows(records: int, folder: Path) -> list[dict[str, str]]:
    """A mix of notes, files and measures against the matrix rows, dated yesterday."""
    dated = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    out = []
    for n in range(records):
        r = {"item_ref": datasets.ref(n // ROWS_PER_ITEM), "evidence_key": f"key-{n % ROWS_PER_ITEM}", "dated": dated}
        if n % 3 == 0:
            name = f"paper-{n}.txt"
            (folder / name).write_text(f"Case audit paper {n}\n" * 50, encoding="utf-8")
            r["file"] = name
        elif n % 3 == 1:
            r["note"] = f"Minutes of the executive group, item {n}"
        else:
            r.update(measure=f"M{n}", value=str(10 + n), unit="days", period="2026", threshold="30")
            r["direction"] = "at-most"
        out.append(r)
    return out


def add_args(r: dict[str, str], folder: Path) -> list[str]:
    args = ["evidence", "add", r["item_ref"], r["evidence_key"], "--dated", r["dated"]]
    if "file" in r:
        return [*args, "--file", str(folder / r["file"])]
    if "note" in r:
        return [*args, "--note", r["note"]]
    return [
        *args,
        *("--measure", r["measure"], "--value", r["value"], "--unit", r["unit"], "--period", r["period"]),
        *("--threshold", r["threshold"], "--direction", r["direction"]),
    ]


def fresh(template: Path, work: Path, n: int) -> Path:
    target = work / f"run-{n}"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(template.parent, target)
    return target / template.name


def timed(commands: list[list[str]]) -> float:
    start = time.perf_counter()
    for cmd in commands:
        subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="signoff-bench-import-") as tmp:
        work = Path(tmp)
        (work / "template").mkdir()
        template = work / "template" / "register.db"
        datasets.init_register(template)
        items = -(-args.records // ROWS_PER_ITEM)
        matrix = datasets.write_matrix_csv(work / "matrix.csv", items, ROWS_PER_ITEM)
        subprocess.run(
            datasets.signoff_cmd("matrix", "import", str(matrix), db=template, actor=datasets.SECRETARY),
            check=True,
            capture_output=True,
        )
        papers = work / "papers"
        papers.mkdir()
        records = rows(args.records, papers)
        with (papers / "evidence.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS)
            w.writerows([r.get(c, "") for c in COLUMNS] for r in records)
        one, many = [], []
        for n in range(args.runs):
            db = fresh(template, work, n)
            sheet = ["evidence", "import", str(papers / "evidence.csv")]
            one.append(timed([datasets.signoff_cmd(*sheet, db=db, actor=datasets.SECRETARY)]))
            db = fresh(template, work, n)
            many.append(
                timed([datasets.signoff_cmd(*add_args(r, papers), db=db, actor=datasets.SECRETARY) for r in records])
            )
    figures = {
        "records": float(args.records),
        "import_s": statistics.median(one),
        "add_each_s": statistics.median(many),
    }
    figures["ratio"] = figures["add_each_s"] / figures["import_s"]
    n = args.records
    print(f"bulk.evidence_import: {n} records, median of {args.runs} run(s)")
    print(f"  one 'evidence import':   {figures['import_s']:7.2f} s  ({figures['import_s'] / n * 1000:6.1f} ms/record)")
    print(
        f"  {n} 'evidence add':      {figures['add_each_s']:7.2f} s  ({figures['add_each_s'] / n * 1000:6.1f} ms/record)"
    )
    print(f"  the sheet is {figures['ratio']:.1f}x faster")
    return figures


if __name__ == "__main__":
    main()
