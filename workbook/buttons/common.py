"""What every 計算 button shares: run the calculation, turn the outcome into staff's message, log the rest.

Staff never see a traceback: a refusal becomes a zh-TW (then English) message, anything
unexpected becomes one sentence that names the log file.  Keep this module light (stdlib
only at import): the Excel button's launcher imports it before xlwings.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbook.buttons import logfile
from workbook.buttons.logfile import log_path

TITLE = "績效指標填報工作簿"
#: The message when something unexpected happens.
UNEXPECTED = "計算時發生未預期的錯誤，結果未寫入。請將紀錄檔寄給系統管理者：\n{log}"
#: The message when this Python cannot import what calculate needs (the package or a dependency).
NO_PACKAGE = (
    "此電腦的 Python 缺少計算所需的套件（{module}），結果未寫入。"
    "請資訊人員在命令提示字元執行 pip install --upgrade kpi-workbook，"
    "或將工作簿寄回彙整窗口以 kpi calculate 代為計算。"
    "\n（This Python lacks {module}: run pip install --upgrade kpi-workbook.）"
)
#: Seconds after a click on a workbook during which another click on it is taken for a double click.
QUIET_SECONDS = 2.0
#: A click's marker older than this is from a click that died: the next click runs.
STALE_SECONDS = 600.0
#: Where the click markers live (None: the temporary folder; tests give each test its own).
CLICKS_FOLDER: Path | None = None


def log() -> logging.Logger:
    """The buttons' file logger (one handler, however often asked)."""
    return logfile.log("kpi_workbook.button")


#: (text, severity): what a message box says and its icon.  Severity is ``info`` (calculated,
#: nothing to fix), ``warning`` (calculated, cells to fix) or ``error`` (nothing calculated).
Message = tuple[str, str]


def next_step(submit_to: str | None) -> str:
    """Where staff send the workbook after a calculation with nothing to fix."""
    return f"請存檔後寄回 {submit_to}。" if submit_to else "請存檔後寄回彙整窗口。"


def done_message(outcome: Any, *, with_next_step: bool = True) -> Message:
    """The message after a successful calculate, the same in Excel and LibreOffice: (text, severity).

    Clean: 「計算完成，無誤：請存檔後寄回 …」 (``info``).  Errors: 「有 2 項需要修正（紅色儲存格）」
    with what to do (``warning``: the box shows a warning icon).  Warnings only (e.g. a count not
    filled in yet): calculated, with their number and where they are listed (``info``).
    ``with_next_step`` is kept for older callers; both buttons now say the same thing.
    """
    errors = sum(f.severity == "error" for f in outcome.findings)
    warnings = len(outcome.findings) - errors
    send = next_step(outcome.scope.plan.options.submit_to)
    if errors:
        text = f"有 {errors} 項需要修正（紅色儲存格）：請依「檢核結果」工作表修正後，再按一次「計算」。"
        if warnings:
            text += f"\n另有 {warnings} 項提醒，亦列於「檢核結果」。"
        return text, "warning"
    if warnings:
        return f"計算完成，無錯誤；有 {warnings} 項提醒（見「檢核結果」）。\n{send}", "info"
    return f"計算完成，無誤：{send}", "info"


def refusal_message(exc: Any) -> str:
    """The message for a workbook the engine refuses (a :class:`WorkbookFileError`)."""
    return f"無法計算：{exc.message_zh}\n\n（{exc.message_en}）\n詳細紀錄：{log_path()}"


def press(run: Callable[[], Any], title: str, *, with_next_step: bool = True) -> tuple[Message, Any]:
    """Run one click's calculation: ((text, severity) for staff, outcome or None). Never raises.

    A refusal or anything unexpected is severity ``error`` with outcome None.
    """
    from workbook.formats.files import WorkbookFileError

    try:
        outcome = run()
    except WorkbookFileError as exc:
        log().warning("unusable workbook %s: %s", title, exc)
        return (refusal_message(exc), "error"), None
    except ImportError as exc:  # a Python without the package, or without one of its dependencies
        log().error("calculate cannot import on %s\n%s", title, traceback.format_exc())
        return (NO_PACKAGE.format(module=exc.name or exc), "error"), None
    except Exception:
        log().error("calculate failed on %s\n%s", title, traceback.format_exc())
        return (UNEXPECTED.format(log=log_path()), "error"), None
    return done_message(outcome), outcome


@contextlib.contextmanager
def once(key: str) -> Iterator[bool]:
    """Whether this click on the workbook ``key`` runs: False for a second click while one
    runs, or within :data:`QUIET_SECONDS` after it ended (its message box closed).

    Each Excel click is a process of its own, so the marker is a file in the temporary
    folder: created exclusively while a click runs, its time kept when it ends.
    """
    folder = CLICKS_FOLDER or Path(tempfile.gettempdir()) / "kpi-workbook-clicks"
    folder.mkdir(parents=True, exist_ok=True)
    token = folder / hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    running, done = token.with_suffix(".running"), token.with_suffix(".done")
    try:
        os.close(os.open(running, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        if _age(running) < STALE_SECONDS:
            yield False  # another click on this workbook is running
            return
        running.touch()  # a click that died long ago: take over
    try:
        if _age(done) < QUIET_SECONDS:
            yield False
            return
        try:
            yield True
        finally:
            done.touch()
            os.utime(done)
    finally:
        with contextlib.suppress(OSError):
            running.unlink()


def _age(path: Path) -> float:
    """Seconds since ``path`` was last modified (infinite when it is missing)."""
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


#: Modules xlwings imports when installed and the button never needs (see :func:`keep_pandas_out`).
KEPT_OUT = ("pandas", "numpy", "matplotlib")


def keep_pandas_out() -> None:
    """Stop xlwings importing pandas, numpy and matplotlib in the button's one-shot process.

    xlwings imports each whenever it is installed (in ``try: import … except ImportError``)
    and works without them.  RunMain starts a fresh ``python -c "import macros; macros.main()"``
    for each click, so marking them absent there affects nothing else.
    """
    for name in KEPT_OUT:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


@contextlib.contextmanager
def pandas_kept_out() -> Iterator[None]:
    """:func:`keep_pandas_out` while xlwings is imported, then undone: a process that goes on
    (a test, an interpreter someone else started) can still import them afterwards."""
    marked = [name for name in KEPT_OUT if name not in sys.modules]
    keep_pandas_out()
    try:
        yield
    finally:
        for name in marked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
