"""Run one ``kpi`` command in this fresh interpreter and record what it cost, read from itself.

    python -m bench.probe REPORT.json kpi calculate FILE.xlsx
    python -m bench.probe REPORT.json collect INBOX   # workbook.collect.collect, no summary
    python -m bench.probe REPORT.json floor FILE.xlsx # python-calamine reading every cell (the floor)
    python -m bench.probe REPORT.json floor INBOX     # … of every .xlsx in the folder (collect's floor)
    python -m bench.probe REPORT.json recalculate FILE.xlsx OUT.xlsx   # LibreOffice: every formula
    python -m bench.probe REPORT.json terminal FILE.xlsx  # kpi check, timing only what it prints
    python -m bench.probe REPORT.json startup         # the modules kpi calculate loads, nothing run
    python -m bench.probe REPORT.json interpreter     # the interpreter's own start, nothing imported

At exit (after the command, as the last exit handler) it writes to ``REPORT.json``:
``hwm_mb`` — ``VmHWM`` from ``/proc/self/status``, this process's own peak resident
memory (``ru_maxrss`` would also hold the memory map of the process that forked it:
Linux carries it across ``exec``); ``cpu_self`` and ``cpu_children`` (the children it
reaped, e.g. LibreOffice's launcher); ``inner_cpu``/``inner_wall`` where a probe times one
step inside the process (``terminal``: printing the result). The ``kpi`` form runs :func:`workbook.cli.main`
exactly as the console script does, so the command's own exit path is measured too.
"""

from __future__ import annotations

import atexit
import json
import resource
import sys


def high_water_mb() -> float:
    """This process's own peak resident memory (``VmHWM``), in MiB."""
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024


#: What a probe timed inside the process (seconds), added to the report.
inner: dict[str, float] = {}


def _report(path: str) -> None:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {
        "hwm_mb": high_water_mb(),
        "cpu_self": me.ru_utime + me.ru_stime,
        "cpu_children": children.ru_utime + children.ru_stime,
        **inner,
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(record, fh)


def main() -> None:
    report, what, *args = sys.argv[1:]
    atexit.register(_report, report)  # registered first, so it runs last
    if what == "kpi":
        from workbook.cli import main as kpi

        sys.argv = ["kpi", *args]
        sys.exit(kpi())
    if what == "collect":  # the reading pass alone, as collect's own benchmark times it
        from workbook.collect import collect

        collect(args)
        return
    if what == "floor":  # issue 24's floor: the same bytes read, every cell, nothing else
        from pathlib import Path

        given = Path(args[0])
        read_every_cell(sorted(given.glob("*.xlsx")) if given.is_dir() else [given])
        return
    if what == "recalculate":  # the peer: LibreOffice opens it, recalculates every formula, saves
        from pathlib import Path

        from workbook.libreoffice import recalculate

        recalculate(Path(args[0]), Path(args[1]))
        return
    if what == "terminal":
        _terminal(args[0])
        return
    if what == "interpreter":  # what every probe pays before its first import (the floor's too)
        return
    if what == "startup":  # the fixed cost of the command: interpreter and the modules calculate loads
        import workbook.books.open
        import workbook.books.xlsx_file
        import workbook.cli
        import workbook.form.calculate  # noqa: F401

        return
    raise SystemExit(f"unknown probe {what!r}")


def read_every_cell(paths: list) -> None:
    """Issue 24's floor: python-calamine reading every cell of every sheet of each file."""
    from python_calamine import CalamineWorkbook

    for path in paths:
        wb = CalamineWorkbook.from_path(str(path))
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python(skip_empty_area=False)


def _terminal(path: str) -> None:
    """``kpi check`` of ``path``, timing only the printing of its result (compact or full)."""
    import time

    from workbook.books.open import calculate_path
    from workbook.report.terminal import print_evaluation

    outcome = calculate_path(path, write=False)
    outcome.evaluation.findings = outcome.findings
    cpu, wall = time.process_time(), time.perf_counter()
    print_evaluation(outcome.evaluation)
    sys.stdout.flush()
    inner["inner_cpu"] = time.process_time() - cpu
    inner["inner_wall"] = time.perf_counter() - wall


if __name__ == "__main__":
    main()
