"""Benchmark: one click of the LibreOffice 計算 button, next to headless ``kpi calculate``.

    python bench/libreoffice_click.py            # 3 runs each, seed and 200 indicators
    python bench/libreoffice_click.py -n 5 --indicators 400
    python bench/libreoffice_click.py --no-live  # without the live adapter (minutes at 200 indicators)

One private LibreOffice serves every run, as on a PC with nothing but LibreOffice: the
extension installed for all users (``unopkg add --shared``, into a private shared store), no
Python recorded for the bridge, and ``tests/lo_guard`` hiding site-packages from LibreOffice's
Python, so every click runs the engine from the extension's bundle.  Per case, the median of
N runs of:

* click        — the menu's command URL dispatched to the document's frame, from the
                 dispatch to its return (results written into the open document; the
                 document is opened before and closed unsaved after, untimed); CPU s is
                 soffice's (its process group's) CPU time over the same span;
* first click  — the first click after the install (once, not a median): it also unpacks
                 the bundle beside the user profile and imports the engine, compiling it;
* session's first — the first click of a second soffice on the same profile (once): it
                 imports the engine from the bytecode the first session kept;
* kpi calculate — :func:`workbook.books.open.calculate_path`, what ``kpi calculate FILE -o
                 OUT`` runs (CPU s: this process's);
* live adapter — ``UnoBook`` over the pipe from this process (``--engine libreoffice``
                 without starting LibreOffice and storing), for comparison.

soffice gets ``PYTHONDONTWRITEBYTECODE`` empty: a clerk's PC does not set it, and with it set
Python keeps no bytecode of the unpacked bundle (every session's first click compiles).

Targets (issues 9 and 22): a click under 1 s for the seed plan, and under 3× ``kpi calculate``
for the 200-indicator plan.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.genplan import generated_entries, generated_plan
from kpi_engine import load_plan
from workbook.books.file import FileBook
from workbook.books.open import calculate_path
from workbook.books.uno import UnoBook, office
from workbook.buttons.oxt import COMMAND_URL, prepare_shared
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.calculate import calculate

REPO = Path(__file__).resolve().parents[1]
SETTLE = 1.0  # seconds between opening a document and clicking (see click_once)


def median(runs: int, task: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """Medians of ``task()``'s (wall seconds, CPU seconds), each measured by the task itself."""
    results = [task() for _ in range(runs)]
    return statistics.median(r[0] for r in results), statistics.median(r[1] for r in results)


def group_cpu(sid: int) -> float:
    """CPU seconds (user + system) used so far by the processes of session ``sid`` (Linux /proc):
    a LibreOffice from :func:`workbook.libreoffice.start` and its warden, whose pid ``sid`` is."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[3]) == sid:  # after the command: state, ppid, pgrp, session, … utime, stime
            total += int(fields[11]) + int(fields[12])
    return total / tick


def filled_workbook(scope: L.Scope, entries: dict, path: Path) -> Path:
    write_template(scope, path)
    book = FileBook(path)
    fill(book, scope, entries)
    book.save()
    return path


def click_once(lo, path: Path, name: str) -> tuple[float, float]:
    """Open ``path``, dispatch the menu's command, close unsaved: (wall s, soffice CPU s) of the dispatch."""
    helper = lo.ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", lo.ctx)
    doc = lo.open(path)
    try:
        lo.desktop.setActiveFrame(doc.CurrentController.Frame)
        # Untimed: let LibreOffice's main thread bind the new frame's toolbar first.  It calls the
        # extension's Python handler holding LibreOffice's lock, while this dispatch runs on another
        # thread holding Python's and, freeing a UNO object, waits for LibreOffice's (a deadlock
        # seen here; a real click runs on the main thread, so it cannot meet it).
        time.sleep(SETTLE)
        cpu, start = group_cpu(lo.process.pid), time.perf_counter()
        event = helper.executeDispatch(doc.CurrentController.Frame, COMMAND_URL, "", 0, ())
        took, used = time.perf_counter() - start, group_cpu(lo.process.pid) - cpu
        if str(event.Result).startswith(("無法計算", "計算時發生", "「計算」按鈕", "此 LibreOffice")):
            raise SystemExit(f"{name}: the click failed: {event.Result}")
        return took, used
    finally:
        doc.close(True)


def bench_case(lo, name: str, path: Path, runs: int, *, live: bool = True) -> dict[str, tuple[float, float]]:
    target = path.with_name(path.stem + ".calc.xlsx")

    def headless() -> tuple[float, float]:
        target.unlink(missing_ok=True)
        cpu, start = time.process_time(), time.perf_counter()
        calculate_path(path, target)  # what `kpi calculate FILE -o OUT` runs
        return time.perf_counter() - start, time.process_time() - cpu

    def over_pipe() -> tuple[float, float]:
        doc = lo.open(path)
        try:
            cpu, start = time.process_time(), time.perf_counter()
            calculate(UnoBook(doc, bulk_names=True))
            return time.perf_counter() - start, time.process_time() - cpu
        finally:
            doc.close(True)

    first = click_once(lo, path, name)  # the first click after the install (the seed case runs first)
    row = {
        "click": median(runs, lambda: click_once(lo, path, name)),
        "first click": first,
        "kpi calculate": median(runs, headless),
    }
    if live:
        row["live adapter"] = median(runs, over_pipe)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=3, help="runs per measurement (median); default 3")
    parser.add_argument("--indicators", type=int, default=200, help="indicators in the generated plan")
    parser.add_argument(
        "--no-live",
        action="store_true",
        help="leave out the live adapter over the pipe (minutes at 200 indicators)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.indicators < 1:
        parser.error("runs and indicators must be at least 1")

    seed = load_plan()
    big = generated_plan(args.indicators, max(1, args.indicators // 10))
    with tempfile.TemporaryDirectory(prefix="kpi-click-") as tmp:
        folder = Path(tmp)
        sample = seed.sample
        cases = {
            "seed": filled_workbook(
                L.Scope(seed, data_year=sample.year), {sample.period: sample.entries}, folder / "seed.xlsx"
            ),
            f"generated-{args.indicators}": filled_workbook(
                L.Scope(big, unit="測試單位"),
                {p.id: generated_entries(big, p.id) for p in big.periods},
                folder / "big.xlsx",
            ),
        }
        args_lo = prepare_shared(folder / "profile", folder / "shared")
        env = {
            "PYTHONPATH": str(REPO / "tests" / "lo_guard"),
            "KPI_GUARD_REPO": str(REPO),
            "PYTHONDONTWRITEBYTECODE": "",
        }
        with office(profile=folder / "profile", args=args_lo, env=env) as lo:
            rows = {
                name: bench_case(lo, name, path, args.runs, live=not args.no_live)
                for name, path in cases.items()
            }
        with office(profile=folder / "profile", args=args_lo, env=env) as lo:  # the next session
            rows["seed"]["session's first"] = click_once(lo, cases["seed"], "seed")

    print(f"LibreOffice 計算 button — median of {args.runs} runs (one soffice, only LibreOffice's Python)")
    print("wall s / CPU s (click: soffice's CPU; kpi calculate, live adapter: this process's)")
    columns = ["click", "first click", "session's first", "kpi calculate", "live adapter"]
    header = f"{'case':<16}" + "".join(f"{c:>18}" for c in columns) + f"{'click/kpi':>11}"
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        ratio = row["click"][0] / row["kpi calculate"][0]
        cells = "".join(f"{f'{row[c][0]:.3f} / {row[c][1]:.2f}' if c in row else '—':>18}" for c in columns)
        print(f"{name:<16}{cells}{ratio:>11.2f}")
    seed = rows["seed"]
    print()
    for label, key in (
        ("seed click", "click"),
        ("seed first click after the install", "first click"),
        ("seed first click of a session", "session's first"),
    ):
        print(f"{label} {seed[key][0]:.3f} s (target < 1 s): {'met' if seed[key][0] < 1 else 'NOT met'}")
    big_row = rows[f"generated-{args.indicators}"]
    big_ratio = big_row["click"][0] / big_row["kpi calculate"][0]
    print(
        f"{args.indicators}-indicator click / kpi calculate {big_ratio:.2f} (target < 3): "
        f"{'met' if big_ratio < 3 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
