"""Import cost of the Excel button's path, as ratios against bare Python on this machine.

Runs ``python -X importtime`` in fresh processes (medians of N runs of CPU seconds, which
contention on a shared machine does not inflate as it does wall time) for:

* the baseline: ``python -c pass``;
* ``import macros``: what Excel's RunMain pays before ``main()`` runs;
* ``import macros`` plus the modules the click loads (``workbook.form.calculate``,
  ``workbook.books.excel`` and xlwings): the whole button path;
* for scale, ``import pandas``, which must stay off that path;
* the add-in's real first statement (``import xlwings.utils``) then the button's imports, run
  by plain ``python -c`` (pandas, numpy and matplotlib load) and by the ``kpi-excel-python``
  launcher (none of them does; budget 0.3 CPU-s with the test extras installed);
* the modules ``kpi calculate`` of an .xlsx loads, beside ``import python_calamine`` (issue 24's
  floor loads only that); ``python -X importtime -m workbook.cli calculate FILE`` says which.

Usage: ``python bench/import_time.py [-n 7]``.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys

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
    # Issue 24: what ``kpi calculate`` of an .xlsx loads before its work, and what the floor
    # (python-calamine reading every cell in a fresh process) loads.
    "kpi calculate's modules (issue 24)": (
        "import workbook.cli, workbook.books.open, workbook.books.xlsx_file, workbook.form.calculate"
    ),
    "import python_calamine (the floor's)": "import python_calamine",
}


#: What must stay off the button's path (see workbook.buttons.common.KEPT_OUT).
HEAVY = ("numpy", "matplotlib", "pandas")
#: The issue-25 budget for the add-in's command line through the launcher, CPU seconds.
BUDGET = 0.3


def cpu_of(argv: list[str]) -> tuple[float, str, str]:
    """CPU seconds of one fresh process (and anything it reaped), its stdout and stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return cpu, done.stdout, done.stderr


def measure(code: str, runs: int) -> tuple[float, float, list[str]]:
    """Median CPU seconds, median self-reported import seconds, and the heavy modules it loaded."""
    cpus, imports, loaded = [], [], set()
    for _ in range(runs):
        launcher = code.startswith("LAUNCHER:")
        probe = f"{code.removeprefix('LAUNCHER:')}; import sys; print(*[m for m in {HEAVY!r} if sys.modules.get(m)])"
        runner = ["-m", "workbook.buttons.launch", "-B"] if launcher else []
        cpu, stdout, stderr = cpu_of([sys.executable, "-X", "importtime", *runner, "-c", probe])
        cpus.append(cpu)
        cumulative = [int(m.group(1)) for m in re.finditer(r"\|\s+(\d+) \| [^\n]*\n", stderr)]
        top = [
            int(m.group(1)) for m in re.finditer(r"\|\s+(\d+) \| (\S+)\n", stderr) if "." not in m.group(2)
        ]
        imports.append(sum(top) if top else sum(cumulative))
        # importtime also lists imports that were refused, so ask the process itself.
        loaded.update(stdout.split())
    return statistics.median(cpus), statistics.median(imports) / 1e6, sorted(loaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=7)
    args = parser.parse_args()
    rows = {name: measure(code, args.runs) for name, code in CASES.items()}
    base = rows["python -c pass (baseline)"][0]
    print(f"median of {args.runs} fresh processes each; ratios against the baseline's CPU time")
    print(f"{'case':54} {'CPU s':>8} {'imports s':>10} {'× baseline':>11}  loaded of {'/'.join(HEAVY)}")
    for name, (cpu, imports, loaded) in rows.items():
        print(f"{name:54} {cpu:8.3f} {imports:10.3f} {cpu / base:11.2f}  {', '.join(loaded) or '-'}")
    button = rows["VBA command, kpi-excel-python launcher"]
    verdict = "within" if button[0] < BUDGET and not button[2] else "OVER"
    print(
        f"the add-in's command line through the launcher: {button[0]:.3f} CPU-s, {verdict} the {BUDGET} s budget"
    )


if __name__ == "__main__":
    main()
