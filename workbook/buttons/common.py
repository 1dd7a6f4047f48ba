"""What every 計算 button shares: run the calculation, turn the outcome into staff's message, log the rest.

Staff never see a traceback: a refusal becomes a zh-TW (then English) message, anything
unexpected becomes one sentence that names the log file.  Keep this module light (stdlib
only at import): the Excel button's launcher imports it before xlwings.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from typing import Any

from workbook.buttons import logfile
from workbook.buttons.logfile import log_path

TITLE = "績效指標填報工作簿"
#: The message when something unexpected happens.
UNEXPECTED = "計算時發生未預期的錯誤，結果未寫入。請將紀錄檔寄給系統管理者：\n{log}"


def log() -> logging.Logger:
    """The buttons' file logger (one handler, however often asked)."""
    return logfile.log("kpi_workbook.button")


def next_step(submit_to: str | None) -> str:
    """What staff do after a clean calculation: save, then send it where the plan says."""
    if submit_to:
        return f"請先存檔（Ctrl+S），再以電子郵件將本工作簿寄至 {submit_to}。"
    return "請先存檔（Ctrl+S），再依規定將本工作簿寄回彙整窗口。"


def done_message(outcome: Any, *, with_next_step: bool = False) -> str:
    """The message after a successful calculate: counts, then what to do next."""
    errors = sum(f.severity == "error" for f in outcome.findings)
    warnings = len(outcome.findings) - errors
    message = f"計算完成：錯誤 {errors} 項、警告 {warnings} 項。"
    if errors:
        message += "\n請依「檢核結果」工作表修正淡黃色儲存格後，再按一次「計算」。"
    elif with_next_step:
        message += "\n" + next_step(outcome.scope.plan.options.submit_to)
    return message


def refusal_message(exc: Any) -> str:
    """The message for a workbook the engine refuses (a :class:`WorkbookFileError`)."""
    return f"無法計算：{exc.message_zh}\n\n（{exc.message_en}）\n詳細紀錄：{log_path()}"


def press(run: Callable[[], Any], title: str, *, with_next_step: bool = False) -> tuple[str, Any]:
    """Run one click's calculation; (message for staff, outcome or None). Never raises."""
    from workbook.formats.files import WorkbookFileError

    try:
        outcome = run()
    except WorkbookFileError as exc:
        log().warning("unusable workbook %s: %s", title, exc)
        return refusal_message(exc), None
    except Exception:
        log().error("calculate failed on %s\n%s", title, traceback.format_exc())
        return UNEXPECTED.format(log=log_path()), None
    return done_message(outcome, with_next_step=with_next_step), outcome


def keep_pandas_out() -> None:
    """Stop xlwings importing pandas in the button's one-shot process.

    xlwings imports pandas whenever it is installed (for DataFrame conversion,
    which the button never uses), and that costs several tenths of a second per
    click.  RunMain starts a fresh ``python -c "import macros; macros.main()"``
    for each click, so marking pandas absent there affects nothing else.
    """
    sys.modules.setdefault("pandas", None)  # type: ignore[arg-type]
