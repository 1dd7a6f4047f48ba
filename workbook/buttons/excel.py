"""What the Excel ribbon button runs.

The add-in ``macros.xlam`` (built by ``kpi addin build`` from xlwings' own ribbon
template) calls ``macros.main()`` through xlwings' ``RunPython``; :func:`main` works on
the user's workbook via ``xw.Book.caller()``.  Everything is shared with
``kpi calculate`` through :mod:`workbook.form.calculate`; only the adapter differs.
Keep this import path light: no pandas, no openpyxl.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workbook.buttons.common import TITLE, keep_pandas_out, press


def calculate(book: Any, *, now: datetime | None = None) -> str:
    """Check and calculate the ``xw.Book`` ``book`` in place; return the message shown to staff.

    Writes only results (sentences, statuses, findings, status line) as value
    blocks; never an input cell and never a formula.  On any problem it writes
    nothing and shows what to fix instead.
    """

    def run() -> Any:
        from workbook.books.excel import LiveBook
        from workbook.form.calculate import calculate as calculate_book

        live = LiveBook(book)
        live.recalculate()  # manual calculation mode would show stale results
        outcome = calculate_book(live, now=now)
        live.recalculate()  # the summary's formulas show the sentences just written
        return outcome

    message, _ = press(run, getattr(book, "name", "?"), with_next_step=True)
    book.app.alert(message, title=TITLE)
    return message


def main() -> None:
    """Entry point of the ribbon button (``RibbonMyAddin.RunMain`` → ``import macros; macros.main()``)."""
    keep_pandas_out()
    import xlwings as xw

    calculate(xw.Book.caller())
