"""The LibreOffice button's bridge: ``python -m workbook.buttons.bridge``.

The 計算 extension runs inside LibreOffice's own Python, which may not have this
package (Windows ships its own Python).  Its macro reads the document through UNO
into JSON (:func:`workbook.books.unocore.read_document`), runs the configured
Python with this module, and applies the reply
(:func:`workbook.books.unocore.apply_writes`): the same reads, the same
:func:`workbook.form.calculate.calculate` and the same writes as the in-process path.

Request (stdin, UTF-8 JSON): ``{"version": 1, "sheets": {name: {"values", "formulas",
"protected"}}, "names": {name: [sheet, row, col]}, "title": "…"}``.
Reply (stdout): ``{"ok", "message", "severity", "blocks": [[sheet, row, col, values]], "formulas":
[[sheet, row, col, formula]], "unprotect": [sheet], "protect": [sheet], "password",
"foreign_password": {"zh"}}``.  Never a traceback: any failure becomes a message and a log entry.
"""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from workbook.books.uno import foreign_password_error
from workbook.buttons.common import UNEXPECTED, log, log_path, press
from workbook.buttons.lo_button import severity
from workbook.form.book import Book, Grid


def _cell(v: Any) -> Any:
    if isinstance(v, dict) and "$date" in v:
        return datetime.fromisoformat(v["$date"])
    return v


class PayloadBook(Book):
    """The Book interface over the document the macro sent; writes are recorded, not applied."""

    can_rebuild_sheets = False  # a deleted product sheet is reported (sheet_missing)
    reads_merged = True  # the macro sends each sheet's merged areas
    repairs_protection = True  # recorded: the macro protects the sheets again
    has_package_info = False  # a document, not a package
    reads_typed_formulas = False  # formulas() is sent: results are checked by formula
    restores_formulas = True  # recorded: the macro puts the formulas back
    blank_results_are_unknown = False  # LibreOffice computed every value sent

    def __init__(self, payload: dict):
        self.sheets = payload["sheets"]
        self._names = {k: tuple(v) for k, v in payload["names"].items()}
        self._values = {s: [[_cell(v) for v in line] for line in d["values"]] for s, d in self.sheets.items()}
        self.blocks: list[list[Any]] = []
        self.restored: list[list[Any]] = []
        self.reprotect: list[str] = []
        self.password: str | None = None
        self.unprotect: list[str] = []

    def sheet_names(self) -> list[str]:
        return list(self.sheets)

    def names(self) -> dict[str, tuple[str, int, int]]:
        return dict(self._names)  # type: ignore[arg-type]

    @staticmethod
    def _bounded(grid: Grid, rows: int | None, cols: int | None) -> Grid:
        return [line[:cols] if cols else line for line in (grid[:rows] if rows else grid)]

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        return self._bounded(self._values[sheet], rows, cols)

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        return self._bounded(self.sheets[sheet]["formulas"], rows, cols)

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """Merged areas as the macro found them (for the merged_input check)."""
        return [tuple(m) for m in self.sheets[sheet].get("merged") or []]  # type: ignore[misc]

    def restore_formula(self, sheet: str, row: int, col: int, formula: str) -> None:
        self.restored.append([sheet, row, col, formula])

    def restore_protection(
        self, sheets: Iterable[str] | None = None, password: str | None = None
    ) -> list[str]:
        """The template's sheets (``sheets``; a sheet staff added stays as it is) to protect again."""
        from workbook.form.layout import SHEET_META

        wanted = set(sheets) if sheets is not None else None
        self.reprotect = [
            s
            for s, d in self.sheets.items()
            if s != SHEET_META and not d["protected"] and (wanted is None or s in wanted)
        ]
        return list(self.reprotect)

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        self.blocks.append([sheet, row, col, [list(line) for line in values]])

    @contextlib.contextmanager
    def unprotected(self, sheets: Iterable[str], password: str | None) -> Iterator[None]:
        """Recorded: the macro lifts and restores protection when it applies the writes."""
        self.password = password
        self.unprotect = list(sheets)  # workbook order: a refusal names the first sheet
        yield


def _json_default(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    raise TypeError(type(v).__name__)


def answer(payload: dict, *, now: datetime | None = None) -> dict:
    """Calculate the sent document; the reply the macro applies (never raises)."""
    from workbook.form.calculate import calculate

    refused = foreign_password_error("{sheet}")
    reply: dict[str, Any] = {
        "ok": False,
        "blocks": [],
        "formulas": [],
        "protect": [],
        "password": None,
        "foreign_password": {
            "zh": f"無法計算：{refused.message_zh}\n\n（{refused.message_en}）",
        },
    }
    title = str(payload.get("title") or "?")
    book: PayloadBook | None = None

    def run() -> Any:
        nonlocal book
        book = PayloadBook(payload)
        return calculate(book, now=now)

    message, outcome = press(run, title)
    reply["message"], reply["severity"] = (
        message if isinstance(message, tuple) else (message, severity(outcome))
    )
    if outcome is None or book is None:
        return reply
    reply.update(
        ok=True,
        blocks=book.blocks,
        formulas=book.restored,
        protect=book.reprotect,
        password=book.password,
        unprotect=book.unprotect,
    )
    return reply


def main() -> int:
    """Read the request from stdin, write the reply to stdout."""
    data = sys.stdin.buffer.read()
    try:
        payload = json.loads(data.decode("utf-8"))
        reply = answer(payload)
    except Exception:  # a damaged request: still a reply, never a traceback
        log().error("bridge request unreadable\n%s", traceback.format_exc())
        reply = {"ok": False, "message": UNEXPECTED.format(log=log_path())}
    sys.stdout.buffer.write(json.dumps(reply, ensure_ascii=False, default=_json_default).encode("utf-8"))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
