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
.ods; ``kpi template -o .xlsx``; ``kpi collect`` of N distinct returns into a summary .xlsx;
``kpi report`` over ``--report-returns`` returns.  Per item: per indicator, or per return.
The verdicts at the end are issue 25's: per-item CPU within 1.5× from the smallest size to
the largest, and every peak under 300 MB.  Then every ratio of issue 24, from the same runs:
calculate at 200 indicators against LibreOffice opening the workbook, recalculating every
formula and saving it; the seed's calculate against python-calamine reading every cell of
the same file; the .ods's calculate at 200 against the same workbook saved by LibreOffice as
.xlsx (one writer, two formats; and, for scale, against the template's own .xlsx); the
printing of the result alone; ``kpi collect -o S.xlsx`` end to end against python-calamine
reading every cell of the same returns (a fresh process too), at each inbox size; ``-o x.ods``
against ``-o x.xlsx`` for the template, the summary and the plan workbook
(:mod:`bench.bench_odf`'s commands) at the seed and 200; and per item above the command's
fixed start-up (the interpreter and the modules calculate loads).
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
    baseline: bool = False  #: a floor or peer for issue 24's ratios, not a row of the scale table


def _indicators(size: str, plan: Path) -> int:
    from kpi_engine import parse_plan

    return len(parse_plan(plan.read_text(encoding="utf-8"), source=str(plan)).indicators)


def _fresh(path: Path) -> str:
    """``path``, its file from a previous run (a kept folder) removed first, untimed."""
    path.unlink(missing_ok=True)
    return str(path)


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def workbook_cases(sizes: list[str], root: Path) -> list[Case]:
    """calculate (.xlsx, .ods) and template at each size; issue 24's .ods writers at two."""
    cases = []
    for size in sizes:
        folder = root / f"plan-{size}"
        paths = make(size, folder, libreoffice_xlsx=size == PEER_SIZE)
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
        cases += baseline_cases(size, n, paths, work)
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
        cases.append(
            Case(
                "template .xlsx",
                size,
                n,
                lambda i, paths=paths, work=work: [
                    "kpi",
                    "template",
                    str(paths["plan"]),
                    "-o",
                    str(work / f"template{i}.xlsx"),
                    "--force",  # a kept folder (--keep) holds last time's
                ],
            )
        )
        if size in (FLOOR_SIZE, PEER_SIZE):
            cases += odf_cases(size, n, folder, paths)
    return cases


def odf_cases(size: str, n: int, folder: Path, paths: dict[str, Path]) -> list[Case]:
    """``-o x.xlsx`` and ``-o x.ods`` of each writer :mod:`bench.bench_odf` compares."""
    from bench.bench_odf import commands

    out = folder / "odf"
    out.mkdir(exist_ok=True)
    cases = []
    for task, argv in commands(folder, paths).items():
        for fmt in ("xlsx", "ods"):
            cases.append(
                Case(
                    f"{ODF_STEP} {task} .{fmt}",
                    size,
                    n,
                    lambda i, argv=argv, fmt=fmt, task=task: [
                        *argv,
                        "-o",
                        _fresh(out / f"{task.replace(' ', '-')}{i}.{fmt}"),
                    ],
                    baseline=True,
                )
            )
    return cases


#: The step names of :func:`odf_cases` begin with this.
ODF_STEP = "-o"


#: Issue 24's peer is measured at this size, its floor at the seed.
PEER_SIZE, FLOOR_SIZE = "200", "seed"


def baseline_cases(size: str, n: int, paths: dict[str, Path], work: Path) -> list[Case]:
    """Issue 24's floors and peers at ``size``: LibreOffice recalculating every formula of the
    same workbook and saving it, python-calamine reading every cell of the same bytes, the
    printing of the result alone, and the command's fixed start-up."""
    xlsx = str(paths["xlsx"])

    def probe(step: str, *args: str) -> Case:  # the same file every run: it is only read
        return Case(step, size, n, lambda i: list(args), baseline=True)

    out = []
    if size == PEER_SIZE:
        out.append(
            Case(
                "LibreOffice: open, recalculate every formula, save",
                size,
                n,
                lambda i: ["recalculate", xlsx, str(work / f"lo{i}.xlsx")],
                baseline=True,
            )
        )
        out.append(probe("terminal output", "terminal", xlsx))
        out.append(
            Case(
                LIBREOFFICE_XLSX,
                size,
                n,
                lambda i: ["kpi", "calculate", str(_copy(paths["lo.xlsx"], work / "calculate-lo.xlsx"))],
                baseline=True,
            )
        )
    if size == FLOOR_SIZE:
        out.append(probe("floor: calamine reads every cell", "floor", xlsx))
        out.append(
            Case(
                "start-up: interpreter and calculate's modules", "-", 1, lambda i: ["startup"], baseline=True
            )
        )
        out.append(Case(INTERPRETER, "-", 1, lambda i: ["interpreter"], baseline=True))
    return out


#: calculate of the .ods's own workbook as LibreOffice saves it as .xlsx: the .ods is held to it
#: (one writer, two formats); the template's .xlsx is openpyxl's, with 2.5× less XML.
LIBREOFFICE_XLSX = "calculate .xlsx as LibreOffice saves it"

#: The interpreter's own start (``site`` and its ``.pth`` files included), which the floor pays too.
INTERPRETER = "start-up: the interpreter alone"


def inbox(root: Path, n: int) -> Path:
    """``n`` distinct returns of the seed plan (``bench/collect.py``'s generator), made once."""
    from bench.collect import generate

    folder = root / f"returns-{n}"
    done = folder / ".complete"
    if not done.exists():  # made now, or finished after an interrupted run
        generate(folder / "inbox", n)
        done.touch()
    return folder / "inbox"


#: The floor a collect is held to (issue 24), at each inbox size; the sizes the issue sets the
#: target at (a smaller inbox is mostly the command's start-up).
COLLECT_FLOOR = "floor: calamine reads every cell of the returns"
COLLECT_TARGET_SIZES = (1000, 5000)


def inbox_cases(returns: list[int], report_returns: int, root: Path) -> list[Case]:
    """collect at each inbox size and its floor, and report over ``report_returns`` returns."""
    cases = []
    for n in returns:
        folder = inbox(root, n)
        cases.append(
            Case(COLLECT_FLOOR, f"{n:,}", n, lambda i, folder=folder: ["floor", str(folder)], baseline=True)
        )
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
        if not case.baseline:
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


def _median(case: Case, attr: str = "cpu") -> float:
    return statistics.median(getattr(c, attr) for c in case.costs)


def ratios(cases: list[Case]) -> list[str]:
    """Issue 24's ratios (and issue 25's per-item check above the fixed start-up), from the
    same interleaved runs: CPU and wall medians, each against its target."""
    by = {(c.step, c.size): c for c in cases}
    lines = [
        "",
        "| issue 24 | this project CPU s (wall) | against CPU s (wall) | ratio (CPU) | target | verdict |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]

    def row(label: str, mine: Case | None, other: Case | None, ratio_of, target: str, ok) -> None:
        """One ratio; ``ok`` None: shown for scale, the issue sets no target there."""
        if mine is None or other is None:
            return
        a, b = _median(mine), _median(other)
        ratio = ratio_of(a, b)
        verdict = "–" if ok is None else "met" if ok(a, b, ratio) else "NOT met"
        lines.append(
            f"| {label} | {a:.2f} ({_median(mine, 'wall'):.2f}) | {b:.2f} ({_median(other, 'wall'):.2f}) "
            f"| {ratio:.2f}× | {target} | {verdict} |"
        )

    xlsx = by.get(("calculate .xlsx", PEER_SIZE))
    row(
        f"calculate {PEER_SIZE} indicators, vs LibreOffice recalculating everything",
        xlsx,
        by.get(("LibreOffice: open, recalculate every formula, save", PEER_SIZE)),
        lambda a, b: b / a,
        "≥ 8× faster, ≤ 1 s CPU",
        lambda a, b, r: r >= 8 and a <= 1,
    )
    row(
        "calculate seed, vs calamine reading every cell",
        by.get(("calculate .xlsx", FLOOR_SIZE)),
        by.get(("floor: calamine reads every cell", FLOOR_SIZE)),
        lambda a, b: a / b,
        "≤ 3× the floor",
        lambda a, b, r: r <= 3,
    )
    ods = by.get(("calculate .ods", PEER_SIZE))
    row(
        f"calculate .ods vs .xlsx, {PEER_SIZE} indicators, both as LibreOffice saves them",
        ods,
        by.get((LIBREOFFICE_XLSX, PEER_SIZE)),
        lambda a, b: a / b,
        "≤ 1×",
        lambda a, b, r: r <= 1,
    )
    row(
        f"calculate .ods vs the template's .xlsx (openpyxl's, 2.5× less XML), {PEER_SIZE} indicators",
        ods,
        xlsx,
        lambda a, b: a / b,
        "– (two writers: decisions.md)",
        None,
    )
    for case in cases:
        if case.step == "collect":
            held = case.items in COLLECT_TARGET_SIZES
            row(
                f"`kpi collect -o S.xlsx`, {case.size} returns, vs calamine reading every cell of them",
                case,
                by.get((COLLECT_FLOOR, case.size)),
                lambda a, b: a / b,
                "≤ 2× the floor" if held else "– (set at 1,000 and 5,000)",
                (lambda a, b, r: r <= 2) if held else None,
            )
    for case in cases:
        if case.step.startswith(ODF_STEP) and case.step.endswith(".ods"):
            task = case.step.removeprefix(ODF_STEP).removesuffix(".ods").strip()
            row(
                f"`{task} -o x.ods` vs `-o x.xlsx`, {case.size}",
                case,
                by.get((case.step.removesuffix(".ods") + ".xlsx", case.size)),
                lambda a, b: a / b,
                "≤ 2×",
                lambda a, b, r: r <= 2,
            )
    printing = by.get(("terminal output", PEER_SIZE))
    if printing and all(c.inner_cpu is not None for c in printing.costs):
        cpu, wall = _median(printing, "inner_cpu"), _median(printing, "inner_wall")
        lines.append(
            f"| terminal output, {PEER_SIZE} indicators (printing alone) | {cpu:.3f} ({wall:.3f}) | – | – "
            f"| < 0.2 s | {'met' if cpu < 0.2 else 'NOT met'} |"
        )
    interpreter = by.get((INTERPRETER, "-"))
    seed = by.get(("calculate .xlsx", FLOOR_SIZE))
    floor = by.get(("floor: calamine reads every cell", FLOOR_SIZE))
    if interpreter and seed and floor:
        # The seed's ratio is mostly two interpreter starts over one: said, so that a run on a
        # machine whose start is heavier or lighter (site's .pth files) is read for what it is.
        alone, a, b = _median(interpreter), _median(seed), _median(floor)
        lines += [
            "",
            f"The interpreter alone starts in {alone:.3f} CPU-s here ({alone / b:.0%} of the floor); above it, "
            f"calculate of the seed costs {a - alone:.3f} and the floor {b - alone:.3f} CPU-s.",
        ]
    start = by.get(("start-up: interpreter and calculate's modules", "-"))
    if start:
        fixed = _median(start)
        lines += [
            "",
            f"Fixed start-up of the command (interpreter and calculate's modules, same run): {fixed:.2f} CPU-s.",
        ]
        for step in ("calculate .xlsx", "calculate .ods"):
            group = [c for c in cases if c.step == step and not c.baseline]
            if len(group) < 2:
                continue
            per = [(_median(c) - fixed) / c.items for c in group]
            shown = ", ".join(f"{c.size}: {p * 1000:.1f}" for c, p in zip(group, per, strict=True))
            ratio = max(per[1:]) / per[0]  # as the table above: the larger sizes against the smallest
            word = "flat" if ratio <= FLAT else "NOT flat"
            lines.append(
                f"{word}: {step} per item above the start-up at most {ratio:.2f}× the smallest size's "
                f"(CPU ms per item {shown})"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="seed,20,200,1000", help="plans: seed and numbers of indicators")
    parser.add_argument(
        "--returns", default="100,1000,5000,10000", help="inbox sizes for collect ('' for none)"
    )
    parser.add_argument("--report-returns", type=int, default=300, help="returns the report covers (0: none)")
    parser.add_argument("--keep", type=Path, help="make the inputs here and reuse them next time")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="kpi-bench-"))
    try:
        print("making the inputs (untimed) …", file=sys.stderr)
        cases = workbook_cases([s for s in args.sizes.split(",") if s], root)
        returns = [int(n) for n in args.returns.split(",") if n]
        cases += inbox_cases(returns, args.report_returns, root)
        run_all(cases, args.runs)
        print("\n".join(table(cases, args.runs) + ratios(cases)))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
