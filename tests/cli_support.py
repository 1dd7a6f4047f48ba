"""Running the installed ``kpi`` command, and loading the bench's plan generator, for tests."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def kpi_executable() -> str:
    """The installed ``kpi`` console script."""
    found = shutil.which("kpi") or shutil.which("kpi", path=str(Path(sys.executable).parent))
    assert found, "the kpi console script is not installed: pip install -e ."
    return found


def kpi(
    *args: str,
    cwd: Path,
    timeout: int = 180,
    prefix: tuple[str, ...] = (),
    checkout: bool = False,
) -> subprocess.CompletedProcess:
    """Run ``kpi ARGS`` in ``cwd``; never a traceback, nor an exception Python ignored at exit.

    By default the installed console script, with the checkout off the import path;
    ``checkout=True`` runs this checkout's ``python -m workbook.cli`` instead.  ``prefix``
    goes before the command (``setpriv …`` to drop root's powers, ``unshare …``).
    """
    if checkout:
        command, env = [sys.executable, "-m", "workbook.cli"], dict(os.environ, PYTHONPATH=str(REPO))
    else:
        command, env = [kpi_executable()], {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [*prefix, *command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert "Exception ignored" not in proc.stderr, proc.stderr[-3000:]
    return proc


def load_genplan():
    """bench/genplan.py, loaded by path so the checkout need not be importable."""
    spec = importlib.util.spec_from_file_location("kpi_bench_genplan", REPO / "bench" / "genplan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def processes_under(folder: Path) -> dict[int, str]:
    """Live processes whose environment or command line names ``folder`` (pid: command line).

    A run given ``TMPDIR=folder`` makes LibreOffice's private $TMPDIR and profile in it, so
    these are the LibreOffice processes that run started, whatever else runs meanwhile
    (parallel test workers run LibreOffice too).  A zombie shows neither, so is not counted.
    """
    mark = str(folder).encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ, cmdline = (entry / "environ").read_bytes(), (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        if mark in environ or mark in cmdline:
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")[:200]
    return found


def survivors(folder: Path, *, grace: float = 5.0) -> list[str]:
    """The command lines of :func:`processes_under` ``folder`` still alive after ``grace`` seconds,
    which are then killed (a failing test leaves no LibreOffice running)."""
    import signal
    import time

    deadline = time.monotonic() + grace
    while (found := processes_under(folder)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in found:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return sorted(found.values())
