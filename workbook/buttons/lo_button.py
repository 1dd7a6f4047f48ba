"""The LibreOffice 計算 button, in-process: what a click runs in LibreOffice's own Python.

The extension's command (:mod:`workbook.buttons.lo_macro`) imports this module from the
bundle it carries (:mod:`workbook.buttons.bundle`), so nothing else need be installed; only
where it cannot import does the macro use :mod:`workbook.buttons.bridge`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

# Imported here, not lazily: the macro imports this module to learn whether LibreOffice's
# Python can run the package in-process, so a missing dependency must fail the import.
from kpi_engine.plan import Plan
from workbook.books.uno import UnoBook
from workbook.buttons.common import press
from workbook.form.calculate import calculate, read_meta

#: Plans parsed by earlier clicks of this LibreOffice session, by (fingerprint, digest of the
#: plan text the workbook carries): a clerk's second click skips the YAML (0.15 s of pure-Python
#: parsing at 200 indicators). Keyed by the text itself, so a workbook whose stored plan was
#: altered is parsed and checked against its fingerprint as on a first click.
_PLANS: dict[tuple[str, str], Plan] = {}
_KEEP = 4  # plans kept (a clerk has a workbook or two open)


def severity(outcome: Any) -> str:
    """The message box's kind: ``info`` when clean, ``warning`` with findings, ``error`` when refused."""
    if outcome is None:
        return "error"
    return "warning" if outcome.findings else "info"


def _plan_key(book: UnoBook) -> tuple[str, str]:
    meta = read_meta(book)  # the sheet read here is kept by the book: calculate reads it from there
    text = str(meta.get("plan_text") or "")
    return str(meta.get("plan_fingerprint") or ""), hashlib.sha256(text.encode("utf-8")).hexdigest()


def _calculate(doc: Any, now: datetime | None) -> Any:
    book = UnoBook(doc)
    key = _plan_key(book)
    known = _PLANS.get(key)
    outcome = calculate(book, plans=[known] if known else (), now=now)
    plan = outcome.scope.plan
    if known is None and plan.fingerprint == key[0]:
        while len(_PLANS) >= _KEEP:
            del _PLANS[next(iter(_PLANS))]
        _PLANS[key] = plan
    return outcome


def calculate_document(doc: Any, *, now: datetime | None = None) -> tuple[str, str]:
    """Calculate the open Calc document ``doc`` in place: (message for staff, :func:`severity`)."""
    message, outcome = press(lambda: _calculate(doc, now), getattr(doc, "Title", "?"))
    if isinstance(message, tuple):  # done_message gives (text, severity)
        return message
    return message, severity(outcome)
