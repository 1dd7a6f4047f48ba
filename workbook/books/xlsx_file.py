"""``kpi calculate``/``kpi check`` of an .xlsx without loading it into objects.

:class:`XlsxFileBook` reads what :class:`~workbook.books.file.FileBook` reads -- values
typed as openpyxl types them, a formula's text in place of its value, defined names,
merged areas, sheet states and protection -- from the bytes: values with python-calamine
(:class:`~workbook.books.calamine.CalamineBook`), formula cells from the sheet parts
(:mod:`workbook.formats.formula_cells`), protection from each part's ``<sheetProtection>``.
Its writes are recorded and saved by the byte patcher
(:func:`workbook.formats.xlsx_patch.patch_package`), exactly the edits FileBook would
record, so the saved bytes are the same.

What only openpyxl's model can do -- recreate a deleted product sheet, or save a package
beyond the patcher -- raises :class:`NeedsOpenpyxl`; :func:`workbook.books.open.file_engine`
then calculates that file with FileBook from the start (nothing was written yet).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import html
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from workbook.books import file
from workbook.books.calamine import CalamineBook
from workbook.books.file import SavedFile
from workbook.form.book import Book, Grid, foreign_password_error
from workbook.formats.cells import split_cell
from workbook.formats.files import WorkbookFileError
from workbook.formats.formula_cells import formula_cells
from workbook.formats.xlsx_patch import (
    MAIN_NS,
    Edits,
    Formula,
    PatchError,
    _office_document,
    _parse,
    _rels_of,
    _sheet_parts,
    patch_package,
)

#: A sheet part's protection element (the sheet's own markup, any prefix).
_PROTECTION = re.compile(rb"<(?:\w+:)?sheetProtection\b[^>]*>")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')
#: A shared formula's master (``ref`` and text) or follower, read the way openpyxl reads them.
_SHARED = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]+[0-9]+)"[^>]*>\s*<(?:\w+:)?f\b([^>]*?)(/>|>([^<]*)</)')
#: openpyxl writes a number without a fraction as an int: the same below 10^15 (larger reads as float).
_INT_LIMIT = 1e15


class NeedsOpenpyxl(Exception):
    """This calculate needs openpyxl's model (a sheet to recreate, a package beyond the patcher)."""


class XlsxFileBook(SavedFile, Book):
    """An .xlsx read from its bytes and saved by the cell patcher (see the module docstring)."""

    #: Declared as FileBook's: the rebuild itself is FileBook's (:class:`NeedsOpenpyxl` hands it over).
    can_rebuild_sheets = True
    reads_merged = True
    repairs_protection = True  # the <sheetProtection> element written back by the patcher
    has_package_info = True
    reads_typed_formulas = False  # grid() shows a typed formula as its text already, as FileBook's
    restores_formulas = True
    blank_results_are_unknown = False  # formulas are read, never their cached values

    def __init__(self, path: str | Path):
        data = self._open(path)
        self._values = CalamineBook(data, str(self.path), info=self.info)  # names, values, merged areas
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            workbook_part = _office_document(self._zip)
            wb_root = _parse(self._zip.read(workbook_part))
            self._parts = _sheet_parts(self._zip, wb_root, workbook_part, _rels_of(workbook_part))
        except (KeyError, ValueError, zipfile.BadZipFile, PatchError) as exc:  # parts calamine did not need
            raise WorkbookFileError(
                "無法開啟活頁簿，檔案可能已損毀或不是 Excel 檔",
                f"cannot open the workbook; it may be damaged or not an .xlsx file ({type(exc).__name__}: {exc})",
                path=self.path,
            ) from exc
        #: Each sheet's state (visible, hidden, veryHidden) as workbook.xml says.
        self._states = {
            el.get("name"): el.get("state", "visible") for el in wb_root.iter(f"{{{MAIN_NS}}}sheet")
        }
        self._whole: dict[str, Grid] = {}
        self._views: dict[tuple, Grid] = {}
        self._protection: dict[str, dict[str, str] | None] = {}
        self._merged: dict[str, list[tuple[int, int, int, int]]] = {}
        if file.one_shot:  # as FileBook: what was read lives until the process ends (issue 25)
            gc.freeze()
        self.edits = Edits()
        #: Notes about the save itself (as FileBook's): a cell-by-cell save has none.
        self.save_notes: list[tuple[str, str]] = []
        self._reprotect: dict[str, str | None] = {}  # sheet → the password it is protected with again
        self._pending: list[str] = []

    # -- reading -----------------------------------------------------------------------------

    def sheet_names(self) -> list[str]:
        return self._values.sheet_names()

    def names(self) -> dict[str, tuple[str, int, int]]:
        return self._values.names()

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        key = (sheet, rows, cols)
        if key not in self._views:
            whole = self._sheet(sheet)
            self._views[key] = [line[:cols] for line in whole[:rows]] if rows or cols else whole
        return self._views[key]

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        return self.grid(sheet, rows, cols)  # a formula cell shows its text, as openpyxl reads it

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        if sheet not in self._merged:
            self._merged[sheet] = self._values.merged(sheet)
        return self._merged[sheet]

    def _sheet(self, sheet: str) -> Grid:
        """The sheet as openpyxl reads it: typed values, and each formula cell's ``=text``."""
        if sheet not in self._whole:
            grid = [_as_openpyxl(line) for line in self._values.grid(sheet)]
            xml = self._part(sheet)
            for (row, col), formula in {**_errors(xml), **_formulas(xml)}.items():
                while len(grid) < row:
                    grid.append([])
                line = grid[row - 1]
                if len(line) < col:
                    line.extend([None] * (col - len(line)))
                line[col - 1] = formula
            self._protection[sheet] = _protection(xml)
            self._whole[sheet] = grid
        return self._whole[sheet]

    def _part(self, sheet: str) -> bytes:
        part = self._parts.get(sheet)
        try:
            return self._zip.read(part) if part else b""
        except KeyError:
            return b""

    def protected(self, sheet: str) -> dict[str, str] | None:
        """The sheet's ``<sheetProtection>`` attributes when it is protected, else None."""
        if sheet not in self._protection:
            self._protection[sheet] = _protection(self._part(sheet))
        attrs = self._protection[sheet]
        return attrs if attrs is not None and attrs.get("sheet") in ("1", "true") else None

    # -- writing -----------------------------------------------------------------------------

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        """Record ``values`` from (row, col); text is always a value, never a formula.

        As openpyxl, a cell covered by a merged area (not its top-left) is skipped.
        """
        covered = [m for m in self.merged(sheet) if m[0] < m[2] or m[1] < m[3]]
        record = self.edits.cells.setdefault(sheet, {})
        for r, line in enumerate(values):
            for c, v in enumerate(line):
                at = (row + r, col + c)
                if any(
                    r1 <= at[0] <= r2 and c1 <= at[1] <= c2 and at != (r1, c1) for r1, c1, r2, c2 in covered
                ):
                    continue
                record[at] = v
                self._put(sheet, *at, v)
        self._forget(sheet)

    def _put(self, sheet: str, row: int, col: int, value: Any) -> None:
        """Show a written value in the sheet's grid (call :meth:`_forget` after)."""
        grid = self._sheet(sheet)
        while len(grid) < row:
            grid.append([])
        line = grid[row - 1]
        if len(line) < col:
            line.extend([None] * (col - len(line)))
        line[col - 1] = None if value == "" else value

    def _forget(self, sheet: str) -> None:
        """Drop the views of ``sheet`` cut before a write."""
        self._views = {k: g for k, g in self._views.items() if k[0] != sheet}

    def restore_formula(self, sheet: str, row: int, col: int, formula: str) -> None:
        """Put a result formula back into its cell."""
        self.edits.cells.setdefault(sheet, {})[(row, col)] = Formula(formula.removeprefix("="))
        self._put(sheet, row, col, formula)
        self._forget(sheet)

    def restore_protection(
        self, sheets: Iterable[str] | None = None, password: str | None = None
    ) -> list[str]:
        """Protect again every form sheet whose protection was removed; return their names
        (FileBook's rule: the options the sheet kept stay; the plan's password is set in
        :meth:`unprotected`)."""
        from workbook.form.layout import SHEET_META

        wanted = set(sheets) if sheets is not None else None
        fixed = [
            s
            for s in self.sheet_names()
            if s != SHEET_META and (wanted is None or s in wanted) and self.protected(s) is None
        ]
        for sheet in fixed:
            self._reprotect[sheet] = None
        self._pending = fixed
        return fixed

    def rebuild_sheets(self, scope: Any, sheets: Iterable[str]) -> None:
        """A new sheet is openpyxl's to make: the file is calculated with FileBook instead."""
        raise NeedsOpenpyxl("rebuild " + "、".join(sheets))

    @contextlib.contextmanager
    def unprotected(self, sheets: Iterable[str], password: str | None) -> Iterator[None]:
        """Nothing to lift in a file; a sheet keyed with the clerk's own password is refused,
        as a live client refuses it (FileBook's rule)."""
        if password:
            for sheet in self._pending:
                self._reprotect[sheet] = password
        self._pending = []
        for sheet in sheets:
            attrs = self.protected(sheet)
            held = (attrs or {}).get("password") or None
            if attrs is not None and held is not None:
                from openpyxl.worksheet.protection import hash_password

                if held != (hash_password(password) if password else None):
                    raise foreign_password_error(sheet)
        yield

    # -- save --------------------------------------------------------------------------------

    def _content(self, outcome: Any) -> bytes:
        """The recorded edits patched into the original bytes (FileBook's edits exactly).

        Raises :class:`NeedsOpenpyxl` when the package is beyond the patcher: FileBook
        then saves it whole, with its note.
        """
        from workbook.form.layout import SHEET_META

        edits = self.edits
        for sheet, password in self._reprotect.items():
            edits.protect[sheet] = _protection_xml(self._protection.get(sheet), password)
        if SHEET_META in self.sheet_names() and self._states.get(SHEET_META, "visible") != "veryHidden":
            edits.sheet_states[SHEET_META] = "veryHidden"
        try:
            return patch_package(self.data, edits) if edits else self.data
        except PatchError as exc:
            raise NeedsOpenpyxl(str(exc)) from exc

    def _saved(self, content: Any, saved: Path) -> None:
        from workbook.formats.files import FileState

        self.data = content
        self.state = FileState.of(saved, self.data)
        self.edits = Edits()
        self._reprotect = {}


def _as_openpyxl(line: list[Any]) -> list[Any]:
    """A row of calamine values as openpyxl types them: "" is empty, 187.0 stored as ``187``
    is 187, a date is a midnight datetime.  (One comprehension: a sheet of 200 indicators
    is 150,000 cells.)"""
    return [
        (int(v) if v.is_integer() and -_INT_LIMIT < v < _INT_LIMIT else v)
        if type(v) is float
        else None
        if v == ""
        else dt.datetime(v.year, v.month, v.day)
        if type(v) is dt.date
        else v
        for v in line
    ]


def _formulas(xml: bytes) -> dict[tuple[int, int], str]:
    """Formula cells of a sheet part, a shared formula's followers translated as openpyxl does."""
    found = formula_cells(xml)
    if b't="shared"' in xml:
        from openpyxl.formula.translate import Translator

        masters: dict[bytes, tuple[str, str]] = {}
        for ref, attrs, _end, text in _SHARED.findall(xml):
            a = dict(_ATTR.findall(attrs))
            if a.get(b"t") != b"shared":
                continue
            si = a.get(b"si", b"")
            if text and b"ref" in a:
                masters[si] = (found[split_cell(ref.decode())], ref.decode())
            elif si in masters:
                formula, origin = masters[si]
                found[split_cell(ref.decode())] = Translator(formula, origin).translate_formula(ref.decode())
    return found


#: A cell's start tag, and its value: an error value (``t="e"``) calamine reads as empty.
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\b([^>]*)>")
_VALUE = re.compile(rb"\s*(?:<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>)\s*)?<(?:\w+:)?v>([^<]*)</")


def _errors(xml: bytes) -> dict[tuple[int, int], str]:
    """Cells holding an error value (``#N/A`` typed into a count), as openpyxl reads them: the text."""
    if b't="e"' not in xml:
        return {}
    out = {}
    for tag in _CELL_TAG.finditer(xml):
        attrs = dict(_ATTR.findall(tag.group(1)))
        if attrs.get(b"t") == b"e" and b"r" in attrs and not tag.group(1).endswith(b"/"):
            value = _VALUE.match(xml, tag.end())
            if value:
                out[split_cell(attrs[b"r"].decode())] = html.unescape(
                    value.group(1).decode("utf-8", "replace")
                )
    return out


def _protection(xml: bytes) -> dict[str, str] | None:
    """The attributes of the part's ``<sheetProtection>`` (None: it has none)."""
    m = _PROTECTION.search(xml)
    if m is None:
        return None
    return {k.decode(): v.decode("utf-8", "replace") for k, v in _ATTR.findall(m.group(0))}


def _protection_xml(attrs: dict[str, str] | None, password: str | None) -> bytes:
    """The element FileBook writes when it protects a sheet again: the options the sheet kept
    (openpyxl's defaults where it had none), switched on, with ``password`` if given."""
    from openpyxl.worksheet.protection import SheetProtection
    from openpyxl.xml.functions import Element, tostring

    if attrs is None:
        protection = SheetProtection()
    else:
        protection = SheetProtection.from_tree(Element("sheetProtection", attrs))
        if attrs.get("password") is not None:
            protection.set_password(attrs["password"], True)
    protection.sheet = True
    if password:
        protection.password = password
    return tostring(protection.to_tree())
