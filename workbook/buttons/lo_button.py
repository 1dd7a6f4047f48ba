"""The LibreOffice 計算 button, in-process: what a click runs in LibreOffice's own Python.

The extension's command (:mod:`workbook.buttons.lo_macro`) imports this module from the
bundle it carries (:mod:`workbook.buttons.bundle`), so nothing else need be installed; only
where it cannot import does the macro use :mod:`workbook.buttons.bridge`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Imported here, not lazily: the macro imports this module to learn whether LibreOffice's
# Python can run the package in-process, so a missing dependency must fail the import.
from workbook.books.uno import UnoBook
from workbook.buttons.common import press
from workbook.form.calculate import calculate


def severity(outcome: Any) -> str:
    """The message box's kind: ``info`` when clean, ``warning`` with findings, ``error`` when refused."""
    if outcome is None:
        return "error"
    return "warning" if outcome.findings else "info"


def calculate_document(doc: Any, *, now: datetime | None = None) -> tuple[str, str]:
    """Calculate the open Calc document ``doc`` in place: (message for staff, :func:`severity`)."""
    message, outcome = press(lambda: calculate(UnoBook(doc), now=now), getattr(doc, "Title", "?"))
    if isinstance(message, tuple):  # done_message gives (text, severity)
        return message
    return message, severity(outcome)
