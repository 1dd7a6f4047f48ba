"""What the Excel ribbon button runs.

The add-in ``macros.xlam`` (built by ``kpi addin build`` from xlwings' own ribbon
template) calls ``macros.main()`` through xlwings' ``RunPython``; :func:`main` works on
the user's workbook via ``xw.Book.caller()``.  Everything is shared with
``kpi calculate`` through :mod:`workbook.form.calculate`; only the adapter differs.
Keep this import path light: no pandas, no openpyxl.
"""

from __future__ import annotations

import contextlib
import traceback
from datetime import datetime
from typing import Any

from workbook.buttons.common import TITLE, UNEXPECTED, Message, log, log_path, once, pandas_kept_out, press

#: A workbook in Protected View (an attachment, a download) is not open for code at all.
PROTECTED_VIEW = (
    "此工作簿在「受保護的檢視」中開啟，無法計算。請按上方黃色訊息列的「啟用編輯」，再按一次「計算」。"
    "\n（The workbook is open in Protected View: click Enable Editing, then 計算 again.）"
)
#: Excel lets code write a read-only workbook, but the clerk cannot save it in place.
READ_ONLY = (
    "此工作簿以唯讀開啟（例如直接從電子郵件開啟的附件），計算結果無法存回原檔："
    "請以「檔案 → 另存新檔」存到自己的電腦後，再寄回。"
)
#: xlwings' ``alert`` modes: on Windows "critical" is MB_ICONWARNING, the warning triangle.
ALERT_MODE = {"info": "info", "warning": "critical", "error": "critical"}


def calculate(book: Any, *, now: datetime | None = None) -> str:
    """Check and calculate the ``xw.Book`` ``book`` in place; return the message shown to staff.

    Writes only the system sheet ``_kpi`` (and a repair of the form itself, when staff
    damaged it); never an input cell.  On any problem it writes nothing and shows what to
    fix instead.  A second click on the same workbook while the first runs, or just after
    it, calculates nothing and shows nothing (:func:`workbook.buttons.common.once`): "" then.
    """

    def run() -> Any:
        from workbook.books.excel import LiveBook
        from workbook.form.calculate import calculate as calculate_book

        live = LiveBook(book)
        live.recalculate()  # manual calculation mode would show stale results
        outcome = calculate_book(live, now=now)
        live.recalculate()  # the formulas show what calculate recorded
        return outcome

    name = str(getattr(book, "fullname", None) or getattr(book, "name", "?"))
    with once(name) as first:
        if not first:
            log().info("second click on %s ignored", name)
            return ""
        (text, severity), outcome = press(run, name)
        if outcome is not None and _read_only(book):
            text, severity = f"{text}\n{READ_ONLY}", "warning"
        _alert(book.app, (text, severity))
    return text


def _read_only(book: Any) -> bool:
    """COM's ``Workbook.ReadOnly`` (False where it cannot be read: the remote engine)."""
    try:
        return bool(book.api.ReadOnly)
    except Exception:
        return False


def _alert(app: Any, message: Message) -> None:
    text, severity = message
    app.alert(text, title=TITLE, mode=ALERT_MODE.get(severity, "info"))


def _caller(xw: Any) -> Any:
    """``xw.Book.caller()``, or None after telling staff why there is no book to calculate."""
    try:
        return xw.Book.caller()
    except Exception:
        log().warning("Book.caller() failed\n%s", traceback.format_exc())
        app = xw.apps.active if xw.apps.count else None
        if app is None:
            raise  # no Excel to show a message in: xlwings shows the error
        protected_view = False
        with contextlib.suppress(Exception):
            protected_view = app.api.ActiveProtectedViewWindow is not None
        _alert(
            app,
            (PROTECTED_VIEW, "warning") if protected_view else (UNEXPECTED.format(log=log_path()), "error"),
        )
        return None


def main() -> None:
    """Entry point of the ribbon button (``RibbonMyAddin.RunMain`` → ``import macros; macros.main()``)."""
    with pandas_kept_out():  # the launcher already kept them out for good: then this is a no-op
        import xlwings as xw

    book = _caller(xw)
    if book is not None:
        calculate(book)
