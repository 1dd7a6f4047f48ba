"""LibreOffice never outlives the ``kpi`` that started it, nor do its folders (helper B's issue).

Every LibreOffice process is started by :func:`workbook.libreoffice.start`, under a warden that
kills its whole process group, and removes its private $TMPDIR and profile, when ``kpi`` dies
without ending it (SIGKILL).  ``sleep`` stands in for LibreOffice here (quick, and the same
process tree: a launcher whose child does the work); ``tests/test_cli_truths.py`` interrupts
a real ``kpi calculate --engine libreoffice`` with SIGINT, SIGTERM and SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from cli_support import REPO, processes_under, survivors

from workbook import libreoffice as lo
from workbook.interrupts import deferred_interrupts

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups and signals")

#: A launcher whose child does the work, as ``soffice`` (shell script, oosplash) starts soffice.bin.
LAUNCHER = ["sh", "-c", "sleep 300 & wait"]


@pytest.fixture
def sigint_raises():
    """SIGINT raises KeyboardInterrupt in this (main) thread, as in ``kpi``, for the test."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_killed_parent_takes_its_command_and_folders_with_it(tmp_path):
    """The parent SIGKILLed (no clean-up runs in it): the command's group dies within seconds,
    its private $TMPDIR and the ``litter`` folders are removed."""
    tmp, litter = tmp_path / "tmp", tmp_path / "profile"
    tmp.mkdir()
    litter.mkdir()
    (litter / "user").mkdir()
    script = (
        "import sys, time\n"
        "from workbook import libreoffice as lo\n"
        f"lo.start({LAUNCHER!r}, litter=[{str(litter)!r}])\n"
        "print('started', flush=True)\n"
        "time.sleep(300)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), TMPDIR=str(tmp))
    parent = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline() == "started\n"
        deadline = time.monotonic() + 10
        while not any("sleep 300" in c and "sh -c" not in c for c in processes_under(tmp).values()):
            assert time.monotonic() < deadline, processes_under(tmp)
            time.sleep(0.05)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
    finally:
        parent.kill()
        left = survivors(tmp)
    assert left == [], left
    assert not litter.exists()
    assert list(tmp.iterdir()) == []  # the private $TMPDIR too


def test_the_warden_is_transparent(tmp_path, monkeypatch):
    """Under its warden a command gives its own output and exit status, a command that cannot
    start is an error at once, and :func:`kill` ends the command's whole group."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    done = lo.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=30, what="sh")
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    assert done.args == ["sh", "-c", "echo out; echo err >&2; exit 3"]
    with pytest.raises(lo.LibreOfficeError, match="could not start"):
        lo.run([str(tmp_path / "no-such-soffice")], timeout=30, what="soffice")
    process = lo.start(LAUNCHER, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while len(processes_under(tmp_path)) < 3:  # warden, sh, sleep
            assert time.monotonic() < deadline, processes_under(tmp_path)
            time.sleep(0.05)
    finally:
        lo.kill(process)
        left = survivors(tmp_path, grace=2)
    assert left == []
    assert process.returncode == -signal.SIGKILL
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_while_the_private_folder_is_made_leaves_nothing(tmp_path, monkeypatch, sigint_raises):
    """Ctrl-C right after LibreOffice's private $TMPDIR is made, before it is recorded: the
    interrupt is held until the folder is recorded, so it is removed (it used to stay)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    real = tempfile.mkdtemp

    def made_then_interrupted(*args, **kwargs):
        folder = real(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)  # Ctrl-C
        return folder

    monkeypatch.setattr(tempfile, "mkdtemp", made_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        lo.run(LAUNCHER, timeout=60, what="sleep")
    monkeypatch.setattr(tempfile, "mkdtemp", real)
    assert survivors(tmp_path, grace=2) == []
    assert list(tmp_path.iterdir()) == []


def test_deferred_interrupts_hold_ctrl_c_to_the_end_of_the_block(sigint_raises):
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts():
            signal.raise_signal(signal.SIGINT)
            steps.append("after the signal")
        steps.append("after the block")
    assert steps == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # as it was
