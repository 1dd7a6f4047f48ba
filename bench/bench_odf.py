"""Benchmark: what writing .ods costs against writing .xlsx (issue 24: ``-o x.ods`` ≤ 2× ``-o x.xlsx``).

    python bench/bench_odf.py                  # seed and 200 indicators, 3 runs each
    python bench/bench_odf.py -n 5 --sizes seed

For each size and each output the same ``kpi`` command is run with ``-o FILE.xlsx`` and
``-o FILE.ods``, interleaved, each in a fresh process (:func:`bench.measure.run`: CPU of
the command and of every process below it — LibreOffice included, re-parented orphans
reaped — and wall time); medians are printed with the .ods/.xlsx ratio:

* template — ``kpi template PLAN -o …``;
* summary  — ``kpi collect INBOX --plan PLAN -o …`` (one filled return; the summary has
  its charts);
* plan workbook — ``kpi plan export PLAN -o …``.

The .ods is written in Python (:mod:`workbook.formats.xlsx_to_ods`); LibreOffice is started
only when the converter cannot write a package, and then its CPU is counted here.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.inputs import make
from bench.measure import run


def commands(size_dir: Path, paths: dict[str, Path]) -> dict[str, list[str]]:
    """The command of each task, without its ``-o`` output."""
    plan = str(paths["plan"])
    inbox = size_dir / "inbox"
    if not inbox.exists():
        inbox.mkdir()
        shutil.copyfile(paths["xlsx"], inbox / "return.xlsx")
    return {
        "template": ["kpi", "template", plan],
        "summary": ["kpi", "collect", str(inbox), "--plan", plan],
        "plan workbook": ["kpi", "plan", "export", plan],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=3)
    parser.add_argument("--sizes", default="seed,200", help="seed and/or numbers of indicators")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kpi-bench-odf-") as tmp:
        for size in [s for s in args.sizes.split(",") if s]:
            folder = Path(tmp) / size
            paths = make(size, folder, ods=False)
            for task, argv in commands(folder, paths).items():
                cpu: dict[str, list[float]] = {"xlsx": [], "ods": []}
                wall: dict[str, list[float]] = {"xlsx": [], "ods": []}
                for i in range(args.runs):
                    for fmt in ("xlsx", "ods"):  # interleaved
                        cost = run([*argv, "-o", str(folder / f"out{i}.{fmt}")])
                        cpu[fmt].append(cost.cpu)
                        wall[fmt].append(cost.wall)
                x, o = statistics.median(cpu["xlsx"]), statistics.median(cpu["ods"])
                wx, wo = statistics.median(wall["xlsx"]), statistics.median(wall["ods"])
                rows.append((size, task, x, o, wx, wo))
    print(
        f".ods against .xlsx, median of {args.runs} interleaved runs, CPU s incl. children — "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"{'size':<6}{'output':<15}{'.xlsx CPU':>10}{'.ods CPU':>10}{'ratio':>8}{'.xlsx wall':>12}{'.ods wall':>11}"
    )
    for size, task, x, o, wx, wo in rows:
        print(f"{size:<6}{task:<15}{x:>10.2f}{o:>10.2f}{o / x:>7.2f}×{wx:>12.2f}{wo:>11.2f}")


if __name__ == "__main__":
    main()
