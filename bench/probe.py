"""Run one ``kpi`` command in this fresh interpreter and record what it cost, read from itself.

    python -m bench.probe REPORT.json kpi calculate FILE.xlsx
    python -m bench.probe REPORT.json collect INBOX   # workbook.collect.collect, no summary

At exit (after the command, as the last exit handler) it writes to ``REPORT.json``:
``hwm_mb`` — ``VmHWM`` from ``/proc/self/status``, this process's own peak resident
memory (``ru_maxrss`` would also hold the memory map of the process that forked it:
Linux carries it across ``exec``); ``cpu_self`` and ``cpu_children`` (the children it
reaped, e.g. LibreOffice's launcher). The ``kpi`` form runs :func:`workbook.cli.main`
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


def _report(path: str) -> None:
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    record = {
        "hwm_mb": high_water_mb(),
        "cpu_self": me.ru_utime + me.ru_stime,
        "cpu_children": children.ru_utime + children.ru_stime,
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
    raise SystemExit(f"unknown probe {what!r}")


if __name__ == "__main__":
    main()
