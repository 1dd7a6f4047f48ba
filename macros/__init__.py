"""What the Excel ribbon button runs.

The add-in ``macros.xlam`` (built by ``kpi addin build`` from xlwings' own ribbon
template) calls :func:`main` through xlwings' ``RunPython``; :func:`main` works on
the user's workbook via ``xw.Book.caller()``.  Everything is shared with
``kpi calculate`` through :mod:`workbook.calculate`; only the adapter differs.

Staff never see a traceback: problems become a zh-TW message box, and the details
go to a log file whose path the message gives.  Keep this import path light: no
pandas, no openpyxl.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

LOG_NAME = "kpi-workbook.log"
TITLE = "績效指標填報工作簿"


def log_path() -> Path:
    """Where the button writes details of what went wrong."""
    base = os.environ.get("LOCALAPPDATA") or tempfile.gettempdir()
    folder = Path(base) / "kpi-workbook"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / LOG_NAME


def _log() -> logging.Logger:
    logger = logging.getLogger("kpi_workbook.button")
    if not logger.handlers:
        handler = logging.FileHandler(log_path(), encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return logger


def calculate(book: Any, *, now: datetime | None = None) -> str:
    """Check and calculate the ``xw.Book`` ``book`` in place; return the message shown to staff.

    Writes only results (sentences, statuses, findings, status line) as value
    blocks; never an input cell and never a formula.  On any problem it writes
    nothing and shows what to fix instead.
    """
    from workbook.calculate import calculate as run
    from workbook.clients.excel import LiveBook
    from workbook.files import WorkbookFileError

    try:
        live = LiveBook(book)
        live.recalculate()  # manual calculation mode would show stale results
        outcome = run(live, now=now)
        live.recalculate()  # the summary's formulas show the sentences just written
    except WorkbookFileError as exc:
        _log().warning("unusable workbook %s: %s", getattr(book, "name", "?"), exc)
        message = f"無法計算：{exc.message_zh}\n\n（{exc.message_en}）\n詳細紀錄：{log_path()}"
    except Exception:
        _log().error("calculate failed on %s\n%s", getattr(book, "name", "?"), traceback.format_exc())
        message = f"計算時發生未預期的錯誤，結果未寫入。請將紀錄檔寄給系統管理者：\n{log_path()}"
    else:
        errors = sum(f.severity == "error" for f in outcome.findings)
        warnings = len(outcome.findings) - errors
        message = f"計算完成：錯誤 {errors} 項、警告 {warnings} 項。"
        if errors:
            message += "\n請依「檢核結果」工作表修正淡黃色儲存格後，再按一次「計算」。"
        else:
            message += "\n" + next_step(outcome.scope.plan.options.submit_to)
    book.app.alert(message, title=TITLE)
    return message


def next_step(submit_to: str | None) -> str:
    """What staff do after a clean calculation: save, then send it where the plan says."""
    if submit_to:
        return f"請先存檔（Ctrl+S），再以電子郵件將本工作簿寄至 {submit_to}。"
    return "請先存檔（Ctrl+S），再依規定將本工作簿寄回彙整窗口。"


def keep_pandas_out() -> None:
    """Stop xlwings importing pandas in the button's one-shot process.

    xlwings imports pandas whenever it is installed (for DataFrame conversion,
    which the button never uses), and that costs several tenths of a second per
    click.  RunMain starts a fresh ``python -c "import macros; macros.main()"``
    for each click, so marking pandas absent there affects nothing else.
    """
    sys.modules.setdefault("pandas", None)  # type: ignore[arg-type]


def main() -> None:
    """Entry point of the ribbon button (``RibbonMyAddin.RunMain`` → ``import macros; macros.main()``)."""
    keep_pandas_out()
    import xlwings as xw

    calculate(xw.Book.caller())
