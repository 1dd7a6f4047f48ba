"""Running the installed ``kpi`` command, and loading the bench's plan generator, for tests."""

from __future__ import annotations

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
