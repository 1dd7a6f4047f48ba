"""``python -m bench``: CPU per item and peak memory as plans and inboxes grow (issue 25).

    python -m bench                                   # seed, 20, 200, 1,000 indicators; 100, 1,000, 10,000 returns
    python -m bench --sizes seed,20,200 --returns 100 --runs 3    # a quick look
    python -m bench --keep /tmp/kpi-bench             # keep (and reuse) the generated inputs

Every measurement is one fresh process (:mod:`bench.probe`), run under a child subreaper
(:mod:`bench.measure`), so its CPU includes LibreOffice and every worker, and its peak
memory is what the process read from itself (``VmHWM``); a worker's peak is sampled from
``/proc`` while it runs.  The cases run interleaved (run 1 of every case, then run 2 …)
and each figure is the median of ``--runs``; peaks are the largest seen.  Only CPU
seconds are compared: on a shared machine wall time measures the neighbours.

Cases: ``kpi calculate`` of a filled .xlsx and of the same workbook saved by LibreOffice as
.ods; ``kpi template -o .xlsx`` (``--ods-template`` adds ``-o .ods``, which converts in
LibreOffice); ``kpi collect`` of N distinct returns into a summary .xlsx; ``kpi report``
over ``--report-returns`` returns.  Per item: per indicator, or per return.
The verdicts at the end are issue 25's: per-item CPU within 1.5× from the smallest size to
the largest, and every peak under 300 MB.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import measure
from bench.inputs import make

FLAT = 1.5  #: largest per-item CPU over the smallest's, at most
PEAK_MB = 300  #: every peak below this (MB = 10^6 bytes, as the issue writes it)


@dataclass
class Case:
    """One command at one size: how to run it, and what it cost each time."""

    step: str
    size: str
    items: int  #: indicators, or returns
    argv: Callable[[int], list[str]]  #: the command of run i (its inputs made fresh, untimed)
    costs: list[measure.Cost] = field(default_factory=list)


def _indicators(size: str, plan: Path) -> int:
    from kpi_engine import parse_plan

    return len(parse_plan(plan.read_text(encoding="utf-8"), source=str(plan)).indicators)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def workbook_cases(sizes: list[str], root: Path, *, ods_template: bool) -> list[Case]:
    """calculate (.xlsx, .ods) and template at each size."""
    cases = []
    for size in sizes:
        folder = root / f"plan-{size}"
        paths = make(size, folder)
        n = _indicators(size, paths["plan"])
        work = folder / "work"
        work.mkdir(exist_ok=True)
        for fmt in ("xlsx", "ods"):
            cases.append(
                Case(
                    f"calculate .{fmt}",
                    size,
                    n,
                    lambda i, fmt=fmt, paths=paths, work=work: [
                        "kpi",
                        "calculate",
                        str(_copy(paths[fmt], work / f"calculate.{fmt}")),
                    ],
                )
            )
        if size == sizes[0]:  # LibreOffice's own CPU, charged now (it was killed, not reaped)
            cases.append(
                Case(
                    "calculate .xlsx --engine libreoffice",
                    size,
                    n,
                    lambda i, paths=paths, work=work: [
                        "kpi",
                        "calculate",
                        str(_copy(paths["xlsx"], work / "engine.xlsx")),
                        "--engine",
                        "libreoffice",
                    ],
                )
            )
        for fmt in ("xlsx", "ods") if ods_template else ("xlsx",):
            cases.append(
                Case(
                    f"template .{fmt}",
                    size,
                    n,
                    lambda i, fmt=fmt, paths=paths, work=work: [
                        "kpi",
                        "template",
                        str(paths["plan"]),
                        "-o",
                        str(work / f"template{i}.{fmt}"),
                    ],
                )
            )
    return cases


def inbox(root: Path, n: int) -> Path:
    """``n`` distinct returns of the seed plan (``bench/collect.py``'s generator), made once."""
    from bench.collect import generate

    folder = root / f"returns-{n}"
    done = folder / ".complete"
    if not done.exists():  # made now, or finished after an interrupted run
        generate(folder / "inbox", n)
        done.touch()
    return folder / "inbox"


def inbox_cases(returns: list[int], report_returns: int, root: Path) -> list[Case]:
    """collect at each inbox size, and report over ``report_returns`` returns."""
    cases = []
    for n in returns:
        folder = inbox(root, n)
        cases.append(
            Case(
                "collect",
                f"{n:,}",
                n,
                lambda i, folder=folder: [
                    "kpi",
                    "collect",
                    str(folder),
                    "-o",
                    str(folder.parent / f"s{i}.xlsx"),
                ],
            )
        )
    if report_returns:
        folder = inbox(root, report_returns)
        cases.append(
            Case(
                "report",
                f"{report_returns:,}",
                report_returns,
                lambda i, folder=folder: [
                    "kpi",
                    "report",
                    str(folder),
                    "-o",
                    str(folder.parent / f"r{i}.odt"),
                ],
            )
        )
    return cases


def run_all(cases: list[Case], runs: int) -> None:
    """Run every case ``runs`` times, interleaved; progress on stderr."""
    for r in range(runs):
        for case in cases:
            argv = case.argv(r)
            cost = measure.run(argv)
            case.costs.append(cost)
            print(
                f"  run {r + 1}/{runs} {case.step} {case.size}: {cost.cpu:.2f} CPU-s, {cost.hwm_mb:.0f} MiB",
                file=sys.stderr,
            )


def _mb(mib: float) -> float:
    return mib * 1024 * 1024 / 1e6


def table(cases: list[Case], runs: int) -> list[str]:
    """The Markdown table README shows, then the verdicts."""
    lines = [
        f"Median of {runs} interleaved runs, CPU seconds of the command and everything it started "
        f"(LibreOffice, workers); peak = the process's own VmHWM (workers: sampled), largest of the runs. "
        f"{platform.machine()}, Python {platform.python_version()}.",
        "",
        "| step | size | items | CPU s | CPU ms per item | × smallest | of which LibreOffice s | peak MB | workers' peak MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    steps: dict[str, list[Case]] = {}
    for case in cases:
        steps.setdefault(case.step, []).append(case)
    for step, group in steps.items():
        first = None
        for case in group:
            cpu = statistics.median(c.cpu for c in case.costs)
            lo = statistics.median(c.cpu_orphans for c in case.costs)
            per = cpu / case.items
            first = first or per
            peak = _mb(max(c.hwm_mb for c in case.costs))
            workers = max(c.workers_mb for c in case.costs)
            lines.append(
                f"| {step} | {case.size} | {case.items:,} | {cpu:.2f} | {per * 1000:.1f} | {per / first:.2f} "
                f"| {lo:.2f} | {peak:.0f} | {_mb(workers):.0f} |"
                if workers
                else f"| {step} | {case.size} | {case.items:,} | {cpu:.2f} | {per * 1000:.1f} | {per / first:.2f} "
                f"| {lo:.2f} | {peak:.0f} | – |"
            )
            if max(peak, _mb(workers)) >= PEAK_MB:
                verdicts.append(
                    f"OVER {PEAK_MB} MB: {step} at {case.size} ({peak:.0f} MB, workers {_mb(workers):.0f} MB)"
                )
        if len(group) > 1:
            last = statistics.median(c.cpu for c in group[-1].costs) / group[-1].items
            ratio = last / first
            word = "flat" if ratio <= FLAT else "NOT flat"
            verdicts.append(f"{word}: {step} per item {ratio:.2f}× from {group[0].size} to {group[-1].size}")
    return [*lines, "", *verdicts]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="seed,20,200,1000", help="plans: seed and numbers of indicators")
    parser.add_argument("--returns", default="100,1000,10000", help="inbox sizes for collect ('' for none)")
    parser.add_argument("--report-returns", type=int, default=300, help="returns the report covers (0: none)")
    parser.add_argument(
        "--ods-template", action="store_true", help="also time template -o .ods (LibreOffice)"
    )
    parser.add_argument("--keep", type=Path, help="make the inputs here and reuse them next time")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="kpi-bench-"))
    try:
        print("making the inputs (untimed) …", file=sys.stderr)
        cases = workbook_cases([s for s in args.sizes.split(",") if s], root, ods_template=args.ods_template)
        returns = [int(n) for n in args.returns.split(",") if n]
        cases += inbox_cases(returns, args.report_returns, root)
        run_all(cases, args.runs)
        print("\n".join(table(cases, args.runs)))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
