"""Benchmark: each step of the cycle for .ods against .xlsx, on the seed plan.

    python bench/bench_odf.py            # 3 runs of each step
    python bench/bench_odf.py -n 5 --files 40

Each step is the median of N runs, for both formats:

* template  — ``kpi template -o FILE.xlsx`` (build + save) / ``-o FILE.ods`` (build, convert
  through a private LibreOffice, verify without it);
* calculate — ``kpi calculate FILE`` on the filled seed sample, cell by cell for both
  formats (openpyxl reads and the OOXML patcher writes the .xlsx; calamine and
  content.xml read and the ODF patcher writes the .ods);
* calculate (LibreOffice) — ``kpi calculate FILE --engine libreoffice``: LibreOffice
  started, open, calculate over UNO, store; what an .ods needs when the patcher cannot
  do it (a formula or sheet to put back);
* check     — ``kpi check FILE``: openpyxl for the .xlsx, OdsBook (calamine + content.xml,
  no LibreOffice) for the .ods;
* collect   — ``collect`` of an inbox of ``--files`` calculated copies (python-calamine for
  the .xlsx, OdsBook for the .ods).

The .ods steps that need LibreOffice are dominated by starting it (a fresh profile).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the filling helper

from bench_template import median_seconds

from kpi_engine import load_plan
from workbook.cli import main as kpi
from workbook.form import layout as L


def quiet(args: list[str]) -> int:
    """Run ``kpi`` with its output swallowed; return the exit code."""
    with contextlib.redirect_stdout(io.StringIO()):
        return kpi(args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=20, help="files in the collect inbox")
    args = parser.parse_args()

    from helpers_workbook import build_filled

    from workbook.odf import convert_workbooks

    plan = load_plan()
    h1 = plan.period(plan.sample.period)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        filled, _ = build_filled(
            L.Scope(plan, data_year=plan.sample.year), {h1.id: plan.sample.entries}, folder / "filled.xlsx"
        )
        convert_workbooks([(filled, folder / "filled.ods")])
        rows = []

        def step(name: str, task_for: Callable[[str], Callable[[int], None]], prepare_for=None) -> None:
            times = {}
            for fmt in ("xlsx", "ods"):
                prepare = prepare_for(fmt) if prepare_for else None
                times[fmt] = median_seconds(args.runs, task_for(fmt), prepare)
            rows.append((name, times["xlsx"], times["ods"]))

        step("template", lambda fmt: lambda i: quiet(["template", "-o", str(folder / f"t{i}.{fmt}")]))

        def copy_filled(fmt: str) -> Callable[[int], None]:
            return lambda i: shutil.copyfile(folder / f"filled.{fmt}", folder / f"c{i}.{fmt}")

        step(
            "calculate", lambda fmt: lambda i: quiet(["calculate", str(folder / f"c{i}.{fmt}")]), copy_filled
        )
        step(
            "calculate (LibreOffice)",
            lambda fmt: (
                lambda i: quiet(["calculate", str(folder / f"c{i}.{fmt}"), "--engine", "libreoffice"])
            ),
            copy_filled,
        )
        step("check", lambda fmt: lambda i: quiet(["check", str(folder / f"c0.{fmt}")]))
        for fmt in ("xlsx", "ods"):
            inbox = folder / f"inbox_{fmt}"
            inbox.mkdir()
            for n in range(args.files):
                shutil.copyfile(folder / f"c0.{fmt}", inbox / f"unit{n:03d}.{fmt}")

        def collect_task(fmt: str) -> Callable[[int], None]:
            from workbook.collect import collect

            return lambda i: collect([folder / f"inbox_{fmt}"])

        step(f"collect ({args.files} files)", collect_task)

    print(
        f"ODF cost per step, median of {args.runs} runs — {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    print(f"{'step':<22}{'.xlsx (s)':>11}{'.ods (s)':>11}{'ods/xlsx':>10}")
    for name, x, o in rows:
        print(f"{name:<22}{x:>11.3f}{o:>11.3f}{o / x:>9.1f}×")


if __name__ == "__main__":
    main()
