"""The LibreOffice 計算 button, in-process: used when LibreOffice's Python has this package.

The extension's macro (:mod:`workbook.buttons.lo_macro`) calls :func:`calculate_document`
when it can import it; otherwise it goes through :mod:`workbook.buttons.bridge`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Imported here, not lazily: the macro imports this module to learn whether LibreOffice's
# Python can run the package in-process, so a missing dependency must fail the import.
from workbook.books.uno import UnoBook
from workbook.buttons.common import press
from workbook.form.calculate import calculate


def calculate_document(doc: Any, *, now: datetime | None = None) -> str:
    """Calculate the open Calc document ``doc`` in place; return the message for staff."""
    message, _ = press(lambda: calculate(UnoBook(doc), now=now), getattr(doc, "Title", "?"))
    return message
