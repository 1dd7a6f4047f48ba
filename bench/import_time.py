"""Import cost of the Excel button's path, as ratios against bare Python on this machine.

Runs ``python -X importtime`` in fresh processes (medians of N runs) for:

* the baseline: ``python -c pass``;
* ``import macros``: what Excel's RunMain pays before ``main()`` runs;
* ``import macros`` plus the modules the click loads (``workbook.form.calculate``,
  ``workbook.books.excel`` and xlwings): the whole button path;
* for scale, ``import pandas``, which must stay off that path;
* the add-in's real first statement (``import xlwings.utils``) then the button's imports, run
  by plain ``python -c`` (pandas loads) and by the ``kpi-excel-python`` launcher (it does not).

Usage: ``python bench/import_time.py [-n 7]``.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass (baseline)": "pass",
    "import macros": "import macros",
    "button path (macros + calculate + live + xlwings)": (
        "from workbook.buttons.common import keep_pandas_out; keep_pandas_out(); import workbook.form.calculate, workbook.books.excel, xlwings"
    ),
    "same, had main() not kept pandas out": "import macros, workbook.form.calculate, workbook.books.excel, xlwings",
    "import pandas (for scale; never on the button path)": "import pandas",
    # What RunPython sends first, then the button's imports: as python runs it, and as the
    # add-in's kpi-excel-python launcher (workbook/buttons/launch.py) runs it.
    "VBA command, plain python": "import xlwings.utils; import macros, workbook.form.calculate, workbook.books.excel",
    "VBA command, kpi-excel-python launcher": (
        "LAUNCHER:import xlwings.utils; import macros, workbook.form.calculate, workbook.books.excel"
    ),
}


def measure(code: str, runs: int) -> tuple[float, float, bool]:
    """Median wall seconds, median self-reported import µs, and whether pandas was imported."""
    walls, imports, pandas = [], [], False
    for _ in range(runs):
        start = time.perf_counter()
        launcher = code.startswith("LAUNCHER:")
        probe = f"{code.removeprefix('LAUNCHER:')}; import sys; print(sys.modules.get('pandas') is not None)"
        runner = ["-m", "workbook.buttons.launch", "-B"] if launcher else []
        done = subprocess.run(
            [sys.executable, "-X", "importtime", *runner, "-c", probe],
            capture_output=True,
            text=True,
            check=True,
        )
        walls.append(time.perf_counter() - start)
        cumulative = [int(m.group(1)) for m in re.finditer(r"\|\s+(\d+) \| [^\n]*\n", done.stderr)]
        top = [
            int(m.group(1))
            for m in re.finditer(r"\|\s+(\d+) \| (\S+)\n", done.stderr)
            if "." not in m.group(2)
        ]
        imports.append(sum(top) if top else sum(cumulative))
        # importtime also lists imports that were refused, so ask the process itself.
        pandas = pandas or done.stdout.strip().endswith("True")
    return statistics.median(walls), statistics.median(imports) / 1e6, pandas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=7)
    args = parser.parse_args()
    rows = {name: measure(code, args.runs) for name, code in CASES.items()}
    base = rows["python -c pass (baseline)"][0]
    print(f"median of {args.runs} fresh processes each; ratios against the baseline's wall time")
    print(f"{'case':54} {'wall s':>8} {'imports s':>10} {'× baseline':>11}  pandas?")
    for name, (wall, imports, pandas) in rows.items():
        print(f"{name:54} {wall:8.3f} {imports:10.3f} {wall / base:11.2f}  {'yes' if pandas else 'no'}")


if __name__ == "__main__":
    main()
