"""The LibreOffice 計算 button, in-process: used when LibreOffice's Python has this package.

The extension's macro (:mod:`workbook.clients.lo_macro`) calls :func:`calculate_document`
when it can import it; otherwise it goes through :mod:`workbook.clients.bridge`.
"""

from __future__ import annotations

import traceback
from datetime import datetime
from typing import Any

# Imported here, not lazily: the macro imports this module to learn whether LibreOffice's
# Python can run the package in-process, so a missing dependency must fail the import.
from macros import _log, log_path

from ..calculate import calculate
from ..files import WorkbookFileError
from .bridge import UNEXPECTED, button_message
from .uno import UnoBook


def calculate_document(doc: Any, *, now: datetime | None = None) -> str:
    """Calculate the open Calc document ``doc`` in place; return the message for staff."""
    try:
        outcome = calculate(UnoBook(doc), now=now)
    except WorkbookFileError as exc:
        _log().warning("unusable workbook %s: %s", getattr(doc, "Title", "?"), exc)
        return f"無法計算：{exc.message_zh}\n\n（{exc.message_en}）\n詳細紀錄：{log_path()}"
    except Exception:
        _log().error("calculate failed on %s\n%s", getattr(doc, "Title", "?"), traceback.format_exc())
        return UNEXPECTED.format(log=log_path())
    return button_message(outcome)
