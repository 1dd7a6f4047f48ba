"""Benchmark: template build+save and headless calculate, seed plan vs a generated plan.

    python bench/bench_template.py            # 5 runs each, 200-indicator plan
    python bench/bench_template.py -n 9 --indicators 400 --goals 40

Each case is timed as the median of N runs:

* build     — ``write_template`` (build the workbook and save it atomically);
* calculate — ``FileBook`` open + ``calculate`` + save, as ``kpi calculate FILE`` does
  (the plan is read back from the workbook's own metadata), on a filled copy.

The seed case is the embedded plan with its 106 上半年 sample counts; the generated
case is :func:`bench.genplan.generated_plan` with error-free counts for every period.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import openpyxl

from bench.genplan import generated_entries, generated_plan
from kpi_engine import Plan, load_plan
from workbook.books.file import FileBook
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.calculate import calculate


def median_seconds(
    runs: int, task: Callable[[int], None], prepare: Callable[[int], None] | None = None
) -> float:
    """Median wall time of ``task(i)`` over ``runs`` runs; ``prepare(i)`` runs untimed before each."""
    times = []
    for i in range(runs):
        if prepare:
            prepare(i)
        start = time.perf_counter()
        task(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_case(
    name: str, scope: L.Scope, entries: dict, runs: int, folder: Path
) -> tuple[str, float, float, int]:
    """(case, build median, calculate median, number of sheets) for one scope."""
    work = folder / name
    work.mkdir()
    build = median_seconds(runs, lambda i: write_template(scope, work / f"template_{i}.xlsx"))

    filled = work / "filled.xlsx"
    shutil.copyfile(work / "template_0.xlsx", filled)
    book = FileBook(filled)
    fill(book, scope, entries)
    book.save()
    sheets = len(book.sheet_names())
    target = work / "calc.xlsx"

    def prepare(_: int) -> None:
        shutil.copyfile(filled, target)

    def calc(_: int) -> None:
        book = FileBook(target)
        outcome = calculate(book)
        book.save()
        if outcome.has_errors:  # pragma: no cover - the benchmark data is error-free
            raise SystemExit(f"{name}: unexpected error findings: {outcome.findings[:3]}")

    return name, build, median_seconds(runs, calc, prepare), sheets


def seed_case(plan: Plan) -> tuple[L.Scope, dict]:
    sample = plan.sample
    assert sample is not None
    scope = L.Scope(plan, unit=plan.agency, data_year=sample.year)
    return scope, {sample.period: sample.entries}


def generated_case(plan: Plan) -> tuple[L.Scope, dict]:
    scope = L.Scope(plan, unit="測試單位")
    return scope, {p.id: generated_entries(plan, p.id) for p in plan.periods}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=5, help="runs per measurement (median); default 5")
    parser.add_argument("--indicators", type=int, default=200, help="indicators in the generated plan")
    parser.add_argument("--goals", type=int, default=20, help="goals in the generated plan")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.indicators < 1 or args.goals < 1:
        parser.error("runs, indicators and goals must be at least 1")

    seed = load_plan()
    big = generated_plan(args.indicators, args.goals)
    label = f"generated-{args.indicators}"
    with tempfile.TemporaryDirectory(prefix="kpi-bench-") as tmp:
        rows = [
            bench_case("seed", *seed_case(seed), args.runs, Path(tmp)),
            bench_case(label, *generated_case(big), args.runs, Path(tmp)),
        ]

    print(
        f"KPI Workbook benchmark — median of {args.runs} runs; Python {platform.python_version()}, "
        f"openpyxl {openpyxl.__version__}"
    )
    print(
        f"seed: {len(seed.indicators)} indicators; {label}: {len(big.indicators)} indicators "
        f"in {len(big.goals)} goals; both periods"
    )
    print()
    header = f"{'case':<16} {'sheets':>6} {'build median s':>15} {'calculate median s':>19}"
    print(header)
    print("-" * len(header))
    for name, build, calc, sheets in rows:
        print(f"{name:<16} {sheets:>6} {build:>15.3f} {calc:>19.3f}")
    (_, b0, c0, s0), (_, b1, c1, s1) = rows
    print(f"{'ratio big/seed':<16} {s1 / s0:>6.1f} {b1 / b0:>15.1f} {c1 / c0:>19.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
