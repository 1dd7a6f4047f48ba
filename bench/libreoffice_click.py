"""Benchmark: one click of the LibreOffice 計算 button, next to headless ``kpi calculate``.

    python bench/libreoffice_click.py            # 3 runs each, seed and 200 indicators
    python bench/libreoffice_click.py -n 5 --indicators 400

One private LibreOffice serves every run, as on a PC with nothing but LibreOffice: the
extension installed for all users (``unopkg add --shared``, into a private shared store), no
Python recorded for the bridge, and ``tests/lo_guard`` hiding site-packages from LibreOffice's
Python, so every click runs the engine from the extension's bundle.  Per case, the median of
N runs of:

* click        — the menu's command URL dispatched to the document's frame, from the
                 dispatch to its return (results written into the open document; the
                 document is opened before and closed unsaved after, untimed);
* first click  — the session's first click (once, not a median): it also imports the
                 engine from the bundle's zip, unless a Calc window showed the command
                 before (the extension then imports it in the background);
* kpi calculate — ``FileBook`` open + ``calculate`` + save, as ``kpi calculate FILE``;
* live adapter — ``UnoBook`` over the pipe from this process (``--engine libreoffice``
                 without starting LibreOffice and storing), for comparison.

Targets (issues 9 and 22): a click under 1 s for the seed plan, and under 3× ``kpi calculate``
for the 200-indicator plan.
"""

from __future__ import annotations

import argparse
import shutil
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
from workbook.books.uno import UnoBook, office
from workbook.buttons.oxt import COMMAND_URL, prepare_shared
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.calculate import calculate

REPO = Path(__file__).resolve().parents[1]


def median(runs: int, task: Callable[[], float]) -> float:
    """Median of ``task()``, which returns its own timed seconds."""
    return statistics.median(task() for _ in range(runs))


def filled_workbook(scope: L.Scope, entries: dict, path: Path) -> Path:
    write_template(scope, path)
    book = FileBook(path)
    fill(book, scope, entries)
    book.save()
    return path


def bench_case(lo, name: str, path: Path, runs: int) -> dict[str, float]:
    helper = lo.ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", lo.ctx)

    def click() -> float:
        doc = lo.open(path)
        try:
            lo.desktop.setActiveFrame(doc.CurrentController.Frame)
            start = time.perf_counter()
            event = helper.executeDispatch(doc.CurrentController.Frame, COMMAND_URL, "", 0, ())
            took = time.perf_counter() - start
            if str(event.Result).startswith(("無法計算", "計算時發生", "「計算」按鈕", "此 LibreOffice")):
                raise SystemExit(f"{name}: the click failed: {event.Result}")
            return took
        finally:
            doc.close(True)

    target = path.with_name(path.stem + ".calc.xlsx")

    def headless() -> float:
        shutil.copyfile(path, target)
        start = time.perf_counter()
        book = FileBook(target)
        calculate(book)
        book.save()
        return time.perf_counter() - start

    def live() -> float:
        doc = lo.open(path)
        try:
            start = time.perf_counter()
            calculate(UnoBook(doc, bulk_names=True))
            return time.perf_counter() - start
        finally:
            doc.close(True)

    first = click()  # the session's first click also imports the engine (the seed case runs first)
    return {
        "click": median(runs, click),
        "first click": first,
        "kpi calculate": median(runs, headless),
        "live adapter": median(runs, live),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=3, help="runs per measurement (median); default 3")
    parser.add_argument("--indicators", type=int, default=200, help="indicators in the generated plan")
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
        env = {"PYTHONPATH": str(REPO / "tests" / "lo_guard"), "KPI_GUARD_REPO": str(REPO)}
        with office(profile=folder / "profile", args=args_lo, env=env) as lo:
            rows = {name: bench_case(lo, name, path, args.runs) for name, path in cases.items()}

    print(f"LibreOffice 計算 button — median of {args.runs} runs (one soffice, only LibreOffice's Python)")
    columns = ["click", "first click", "kpi calculate", "live adapter"]
    header = f"{'case':<16}" + "".join(f"{c + ' s':>16}" for c in columns) + f"{'click/kpi':>11}"
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        ratio = row["click"] / row["kpi calculate"]
        print(f"{name:<16}" + "".join(f"{row[c]:>16.3f}" for c in columns) + f"{ratio:>11.2f}")
    seed_click = rows["seed"]["click"]
    big_row = rows[f"generated-{args.indicators}"]
    print()
    print(f"seed click {seed_click:.3f} s (target < 1 s): {'met' if seed_click < 1 else 'NOT met'}")
    big_ratio = big_row["click"] / big_row["kpi calculate"]
    print(
        f"{args.indicators}-indicator click / kpi calculate {big_ratio:.2f} (target < 3): "
        f"{'met' if big_ratio < 3 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
