"""Benchmark: ``kpi template`` and ``kpi plan export`` as plans grow (issues 24 and 25).

    python bench/bench_template.py                          # seed, 20, 200, 1,000 indicators; 3 runs
    python bench/bench_template.py --sizes seed,200 --runs 5

Each command runs in a fresh process under :func:`bench.measure.run` (CPU of the process
and everything below it; peak memory read by the process from itself, ``VmHWM``).  The runs
are interleaved (run 1 of every case, then run 2 …); each figure is the median CPU, the peak
the largest seen.  Per indicator, each size is compared with the smallest size of the same
run: issue 25 asks the template's per-indicator CPU to stay within 1.5× of it, and every
peak under 300 MB.  Wall time is printed but not compared (a shared machine measures its
neighbours).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import xlsxwriter

from bench import measure
from bench.inputs import plan_text
from kpi_engine import parse_plan

FLAT = 1.5  #: largest per-indicator CPU over the smallest size's, at most
PEAK_MB = 300  #: every peak below this (MB = 10^6 bytes)
STEPS = {
    "template .xlsx": lambda plan, out: ["kpi", "template", str(plan), "-o", str(out)],
    "plan export .xlsx": lambda plan, out: ["kpi", "plan", "export", str(plan), "-o", str(out)],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="seed,20,200,1000", help="seed and/or numbers of indicators")
    parser.add_argument("-n", "--runs", type=int, default=3, help="runs per case (median); default 3")
    args = parser.parse_args(argv)
    sizes = [s for s in args.sizes.split(",") if s]
    if args.runs < 1 or not sizes:
        parser.error("at least one size and one run")

    with tempfile.TemporaryDirectory(prefix="kpi-bench-template-") as tmp:
        plans, counts = {}, {}
        for size in sizes:
            plans[size] = Path(tmp) / f"plan-{size}.yaml"
            plans[size].write_text(plan_text(size), encoding="utf-8")
            counts[size] = len(parse_plan(plans[size].read_text(encoding="utf-8")).indicators)
        costs: dict[tuple[str, str], list[measure.Cost]] = {}
        for i in range(args.runs):
            for size in sizes:
                for step, argv_of in STEPS.items():
                    out = Path(tmp) / f"out-{i}-{size}-{step.split()[0]}.xlsx"
                    costs.setdefault((step, size), []).append(measure.run(argv_of(plans[size], out)))
                    out.unlink()

    print(
        f"kpi template / plan export — median CPU of {args.runs} interleaved runs, fresh processes; "
        f"Python {platform.python_version()}, XlsxWriter {xlsxwriter.__version__}"
    )
    header = (
        f"{'step':<18} {'size':>5} {'indicators':>10} {'CPU s':>7} {'CPU ms/ind':>10} "
        f"{'× smallest':>10} {'peak MiB':>8} {'wall s':>7}"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for step in STEPS:
        base = None
        for size in sizes:
            runs = costs[(step, size)]
            cpu = statistics.median(c.cpu for c in runs)
            per = cpu / counts[size]
            base = per if base is None else base
            peak = max(c.hwm_mb for c in runs)
            wall = statistics.median(c.wall for c in runs)
            print(
                f"{step:<18} {size:>5} {counts[size]:>10} {cpu:>7.2f} {per * 1000:>10.2f} "
                f"{per / base:>10.2f} {peak:>8.0f} {wall:>7.2f}"
            )
            if peak * 1.048576 >= PEAK_MB:
                verdicts.append(f"{step} at {size}: peak {peak * 1.048576:.0f} MB ≥ {PEAK_MB} MB")
            if per / base > FLAT:
                verdicts.append(f"{step} at {size}: {per / base:.2f}× the smallest size's CPU per indicator")
    print()
    print(
        "\n".join(f"NOT MET: {v}" for v in verdicts)
        or f"met: per-indicator CPU within {FLAT}×, peaks < {PEAK_MB} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
