"""Measure one command in a fresh process: CPU of it and of everything it started, its own peak memory.

LibreOffice is started in a session of its own and, on a timeout or after a UNO session,
its process group is killed: the launcher (``soffice`` → ``oosplash``) dies before it
reaps ``soffice.bin``, which is then re-parented.  Re-parented to init, its CPU is
charged to nobody, and ``--engine libreoffice`` looked three times cheaper than it is.
This process therefore makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``):
orphans below it come back to it, and :func:`run` reaps them with ``wait4`` and adds their
CPU.  The command's own CPU, with the children it reaped itself, comes from ``wait4`` on it.

Peak memory is what the command read from itself (:mod:`bench.probe`), never the
``ru_maxrss`` a child inherits.  Linux only.
"""

from __future__ import annotations

import compileall
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
REPO = Path(__file__).resolve().parents[1]
_compiled: list[bool] = []  #: compile_project ran in this process


@dataclass(frozen=True)
class Cost:
    """What one command cost."""

    cpu: float  #: CPU seconds of the command and every process below it
    cpu_orphans: float  #: of which, processes re-parented to us (LibreOffice killed, not reaped)
    hwm_mb: float  #: the command's own peak resident memory (VmHWM), MiB
    wall: float
    code: int
    workers_mb: float = 0.0  #: the largest peak of any process below it (sampled VmHWM), MiB
    inner_cpu: float | None = None  #: what the probe timed inside the process (``terminal``), CPU s
    inner_wall: float | None = None


_subreaper = False


def become_subreaper() -> None:
    """Make orphaned descendants come back to this process (once)."""
    global _subreaper
    if _subreaper:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    _subreaper = True


def _reap_orphans(deadline: float) -> float:
    """Reap every re-parented descendant (waiting until ``deadline`` for the dying); their CPU."""
    cpu = 0.0
    while True:
        try:
            pid, _status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return cpu  # no child left
        if pid:
            cpu += usage.ru_utime + usage.ru_stime
        elif time.monotonic() > deadline:
            print("bench: a process started by the command is still running", file=sys.stderr)
            return cpu
        else:
            time.sleep(0.01)


def _descendants(root: int) -> list[int]:
    """Every process below ``root`` now (from ``/proc``)."""
    parent: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            parent[int(entry.name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
    below, frontier = [], [root]
    while frontier:
        kids = [pid for pid, ppid in parent.items() if ppid in frontier]
        below += kids
        frontier = kids
    return below


def _high_water_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), 0) / 1024
    except OSError:
        return 0.0


class _WorkerPeaks(threading.Thread):
    """Samples the peak (VmHWM) of every process below ``root`` until stopped.

    A worker's own peak, read while it lives (the last sample before it exits may miss
    its final fraction of a second); LibreOffice's processes count as workers too.
    """

    def __init__(self, root: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.root, self.every, self.peak = root, every, 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            for pid in _descendants(self.root):
                self.peak = max(self.peak, _high_water_mib(pid))


PACKAGES = ("kpi_engine", "workbook", "macros", "bench")  #: the project's code, compiled before timing


def compile_project() -> None:
    """Byte-compile the project's modules once, as an installed package ships them.

    With ``PYTHONDONTWRITEBYTECODE`` set (or a stale ``__pycache__``) every probe would
    compile each edited module from source again: 0.07 CPU-s of a 0.15 s seed calculate
    that no installed ``kpi`` pays.
    """
    for package in PACKAGES:
        if (REPO / package).is_dir():
            compileall.compile_dir(REPO / package, quiet=1)


def run(argv: list[str], *, cwd: Path | None = None, timeout: float = 3600) -> Cost:
    """Run ``python -m bench.probe REPORT argv…`` and measure it (see the module docstring)."""
    become_subreaper()
    if not _compiled:
        compile_project()
        _compiled.append(True)
    with tempfile.TemporaryDirectory(prefix="kpi-probe-") as tmp:
        report = Path(tmp) / "report.json"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        start = time.monotonic()
        with open(Path(tmp) / "stderr", "w+b") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.probe", str(report), *argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            sampler = _WorkerPeaks(proc.pid)
            sampler.start()
            _pid, status, usage = os.wait4(proc.pid, 0)
            sampler.stop.set()
            sampler.join()
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting
            err.seek(0)
            said = err.read().decode("utf-8", "replace")
        wall = time.monotonic() - start
        orphans = _reap_orphans(time.monotonic() + min(timeout, 30))
        code = proc.returncode
        if code not in (0, 1) or not report.exists():
            raise RuntimeError(f"{' '.join(argv)} exited {code}: {said[-2000:]}")
        probe = json.loads(report.read_text(encoding="utf-8"))
    cpu = usage.ru_utime + usage.ru_stime + orphans
    return Cost(
        cpu,
        orphans,
        probe["hwm_mb"],
        wall,
        code,
        sampler.peak,
        probe.get("inner_cpu"),
        probe.get("inner_wall"),
    )
