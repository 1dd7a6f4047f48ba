"""``kpi calculate FILE.ods`` without LibreOffice: an .ods written cell by cell.

:class:`OdsFileBook` is :class:`~workbook.books.ods.OdsBook` with the writes of a
file client: calculate's cells are recorded and saved by :func:`workbook.formats.ods_patch.patch_ods`,
so every input cell and everything staff added stays byte for byte.  The formula cells
the product owns are given the results the engine computed for the workbook as written
(the oracle tests hold LibreOffice's formulas to the same values), so the file opens
showing them without a recalculation; a cell that shows its result already (LibreOffice
computed it when it saved) is left as it is.

What a file client cannot do here -- put back an overwritten formula, protect a sheet
again, or a layout beyond the patcher -- is recorded in
:attr:`OdsFileBook.needs_client`, and :meth:`OdsFileBook.save` refuses; the caller
(:func:`workbook.books.open.calculate_path`) then calculates the file in LibreOffice.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from kpi_engine.expr import as_text
from workbook.books import file
from workbook.books.file import SavedFile
from workbook.books.ods import OdsBook
from workbook.form import layout as L
from workbook.form.book import foreign_password_error
from workbook.formats.cells import column_index
from workbook.formats.files import read_with_state
from workbook.formats.ods_patch import Cached, OdsPatchError, patch_ods

#: A summary cell showing one result: ``=OUT_x_H1_value``.
_SHOWS = re.compile(r"^=([A-Za-z_][\w.]*)$")
#: A summary cell joining a sentence and staff's notes (see workbook.form.builder).
_JOINS = re.compile(r'^=(TXT_\w+)&IF\((NOTE_\w+)="","",CHAR\(10\)&\2\)$')
#: A visible cell showing one cell of calculate's report in ``_kpi`` (``builder.report_formula``).
_REPORT = re.compile("^='?" + re.escape(L.SHEET_META) + r"""'?!\$?([A-Z]+)\$?(\d+)&""$""")
#: Names of what calculate writes or computes: a formula using one shows a changed result.
_OWNED = re.compile(r"\b(?:OUT|TXT|CHK|CALC|SNAP)_\w+")

#: content.xml up to this size is kept from the guard's read for the save (see ``__init__``).
KEEP_CONTENT = 16 * 2**20

_DIGESTS = {
    "http://www.w3.org/2000/09/xmldsig#sha256": hashlib.sha256,
    "http://www.w3.org/2000/09/xmldsig#sha1": hashlib.sha1,
}


def _shows(held: Any, value: Any) -> bool:
    """Does a formula cell whose cached result python-calamine reads as ``held`` (empty: None)
    show ``value`` already, as a reader of the file sees it?"""
    if value is None or (value.__class__ is str and value == ""):
        return held is None
    if value.__class__ is str:
        return held.__class__ is str and held == value
    if value.__class__ is bool or held.__class__ is bool:
        return held is value
    if value.__class__ in _NUMBERS and held.__class__ in _NUMBERS:
        return float(value) == held  # what a cell stores: a double
    return False


_NUMBERS = frozenset((int, float, Decimal))


class OdsFileBook(SavedFile, OdsBook):
    """An .ods file calculate writes into directly (see the module docstring).

    What only LibreOffice can do here is declared as an ability all the same: the book
    records it in :attr:`needs_client`, and :meth:`save` then refuses (``OdsPatchError``),
    so :func:`workbook.books.open.calculate_path` calculates the file in LibreOffice.
    """

    #: No medium but openpyxl can recreate a deleted product sheet (UnoBook cannot either):
    #: the sheet is ``sheet_missing`` and the rest is calculated, as ``--engine libreoffice`` does.
    can_rebuild_sheets = False
    reads_merged = True
    repairs_protection = True  # recorded: LibreOffice protects the sheet again
    has_package_info = True
    reads_typed_formulas = False  # grid() shows a typed formula as its text already
    restores_formulas = True  # recorded: LibreOffice puts the formula back
    blank_results_are_unknown = False  # formulas are read, never their cached values
    #: Formulas, merges, names and protection from the guard's scan: no tree of content.xml
    #: (issue 24: the .ods calculate as fast as the .xlsx one).
    formulas_from_scan = True

    def __init__(self, path: str | Path):
        self.path = Path(path)
        data, self.state = read_with_state(self.path)
        # What is read lives to the end of a one-shot command (frozen below): collecting it
        # while it is read would only walk it.
        if file.one_shot:
            gc.disable()
        try:
            super().__init__(data, str(self.path), formulas_visible=True)
        finally:
            if file.one_shot:
                gc.enable()
        # Read into the book now.  The save patches the guard's copy when the scan trusted it and
        # it is small (a 200-indicator form: 12 MB; inflating and checking it again cost 0.01
        # CPU-s); at 1,000 indicators it is 56 MB, held for nothing through the calculate:
        # the save reads it again from ``data``.
        content = self.info.kept.pop("content.xml", None)
        self._content_xml = (
            content if self.info.scanned is not None and len(content or b"") <= KEEP_CONTENT else None
        )
        self.data = data
        if file.one_shot:  # as XlsxFileBook: what was read lives until the process ends (issue 25)
            gc.freeze()
        self.edits: dict[tuple[str, int, int], Any] = {}
        #: Why LibreOffice must do this calculate instead (empty: the file client can).
        self.needs_client: list[str] = []
        #: Notes about the save itself (as FileBook's): a cell-by-cell save has none.
        self.save_notes: list[tuple[str, str]] = []

    # -- writes ------------------------------------------------------------------------------

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        """Record ``values`` from (row, col); text is always a value, never a formula."""
        grid = self._raw(sheet)
        for r, line in enumerate(values):
            for c, v in enumerate(line):
                self.edits[(sheet, row + r, col + c)] = v
                while len(grid) < row + r:
                    grid.append([])
                cells = grid[row + r - 1]
                cells.extend([None] * (col + c - len(cells)))
                cells[col + c - 1] = v
        self._grids = {k: g for k, g in self._grids.items() if k[0] != sheet}

    @contextlib.contextmanager
    def unprotected(self, sheets: Iterable[str], password: str | None) -> Iterator[None]:
        """A file writer needs no unprotecting; a sheet keyed with a password that is not
        the plan's (the clerk's own) is refused, as a live client refuses it."""
        for sheet in sheets:
            if self.protected(sheet) and self.has_password(sheet) and not self._plan_key(sheet, password):
                raise foreign_password_error(sheet)
        yield

    def _plan_key(self, sheet: str, password: str | None) -> bool:
        """Is the sheet keyed with the plan's password (SHA-256 or SHA-1, base64, as ODF stores it)?"""
        s = self._sheets[sheet]
        digest = _DIGESTS.get(s.protection_algorithm or "http://www.w3.org/2000/09/xmldsig#sha1")
        if not password or digest is None:
            return False
        return base64.b64encode(digest(password.encode("utf-8")).digest()).decode() == s.protection_key

    def restore_formula(self, sheet: str, row: int, col: int, formula: str) -> None:
        """A formula goes back only through LibreOffice (the .ods formula syntax is its own)."""
        self.needs_client.append(f"restore {sheet}!{row},{col}")

    def restore_protection(
        self, sheets: Iterable[str] | None = None, password: str | None = None
    ) -> list[str]:
        """Unprotected product sheets: LibreOffice protects them again with the template's options."""
        wanted = self.sheet_names() if sheets is None else sheets
        lost = [s for s in wanted if s != L.SHEET_META and not self.protected(s)]
        if lost:
            self.needs_client.append("protect " + ", ".join(lost))
        return lost

    # -- save --------------------------------------------------------------------------------

    def cached_results(self, outcome: Any) -> dict[tuple[str, int, int], Cached]:
        """The results the save writes into formula cells the product owns: each one its cell
        does not show yet (:meth:`_unshown`).

        ``outcome.evaluation`` describes the workbook as calculate wrote it.  A formula
        cell outside these that uses what calculate wrote would show a stale result:
        it is recorded in :attr:`needs_client`.
        """
        plan, names = outcome.scope.plan, self.names()
        results: dict[tuple[str, int, int], Any] = {}
        shown: dict[str, Any] = {}
        for r in outcome.evaluation.results:
            ind, period = plan.indicator(r.indicator), plan.period(r.period)
            for step, value in r.cells.items():
                name = L.step_name(ind, period, step)
                shown[name] = "" if value is None else value
                if name in names:
                    results[names[name]] = shown[name]
        for sheet in self.content.sheets:
            for (row, col), formula in sheet.formulas.items():
                at = (sheet.name, row, col)
                if at in results:
                    continue
                # the patterns in turn, each only when the one before did not answer
                if report := _REPORT.match(formula):
                    row, col = int(report.group(2)), column_index(report.group(1))
                    value = self._value_at(L.SHEET_META, row, col)
                    results[at] = "" if value is None else as_text(value)
                elif (one := _SHOWS.match(formula)) and one.group(1) in shown:
                    results[at] = shown[one.group(1)]
                elif (joined := _JOINS.match(formula)) and joined.group(1) in shown:
                    note = self._named_value(joined.group(2))
                    text = as_text(shown[joined.group(1)])
                    results[at] = text if note in (None, "") else f"{text}\n{as_text(note)}"
                elif _OWNED.search(formula) or L.SHEET_META in formula:
                    self.needs_client.append(f"formula {sheet.name}!{row},{col}")
        return self._unshown(results)

    def _unshown(self, results: dict[tuple[str, int, int], Any]) -> dict[tuple[str, int, int], Cached]:
        """The ``results`` their cells do not show yet, as :class:`Cached` values.

        LibreOffice computed most of them when it saved the file (a 200-indicator form: 5,700 of
        6,100), in its own spelling ("100.00" shown, an empty text as no value), which writing
        them again would only respell.  A cell is left as it is when python-calamine reads its
        result as :func:`_shows` says and the guard's scan saw no error mark in its tag
        (:attr:`~workbook.formats.ods_scan.TableScan.errors`: calamine reads "#DIV/0!" as empty).
        """
        scanned = self.info.scanned
        if scanned is None:  # content the scan did not read: no error marks, every result written
            return {at: Cached(value) for at, value in results.items()}
        errors = {t.name: t.errors for t in scanned.tables}
        out: dict[tuple[str, int, int], Cached] = {}
        for at, value in results.items():
            sheet, row, col = at
            marked = errors.get(sheet)
            if marked is None or (row, col) in marked or not _shows(self._value_at(*at), value):
                out[at] = Cached(value)
        return out

    def _named_value(self, name: str) -> Any:
        return self._value_at(*self.content.names[name])  # names() copies all 5,000 at 200 indicators

    def _value_at(self, sheet: str, row: int, col: int) -> Any:
        """A cell's value as calculate left it (its writes are in the raw grid too)."""
        grid = self._raw(sheet)
        line = grid[row - 1] if row <= len(grid) else []
        return line[col - 1] if col <= len(line) else None

    def _content(self, outcome: Any) -> bytes:
        """The recorded cells (and ``outcome``'s results) patched into the package, for :meth:`save`.

        Raises :class:`~workbook.formats.ods_patch.OdsPatchError` when this package cannot be
        patched; nothing is written then.
        """
        cells: dict[tuple[str, int, int], Any] = dict(self.cached_results(outcome)) if outcome else {}
        if self.needs_client:
            raise OdsPatchError("; ".join(self.needs_client))
        cells.update(self.edits)
        if not cells:
            return self.data
        if self._content_xml is None:
            return patch_ods(self.data, cells, None)
        # the guard's copy and its scan: the formula cells it spanned are written in place
        return patch_ods(self.data, cells, self._content_xml, self.info.scanned)

    def _target(self, path: str | Path | None) -> tuple[Path, bool]:
        target = Path(path) if path else self.path
        return target, target == self.path
