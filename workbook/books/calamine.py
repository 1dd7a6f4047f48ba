"""A fast, read-only :class:`~workbook.form.book.Book` over python-calamine.

python-calamine reads cell values (the values Excel last computed) several times
faster than openpyxl, but knows nothing of defined names; those come from the
workbook part (``xl/workbook.xml``), parsed with defusedxml.  The file is read from
bytes, so email attachments are never written anywhere.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Mapping
from typing import Any

from workbook.form.book import Book, Grid, parse_address
from workbook.formats.cells import COLUMN, ROW, column_index
from workbook.formats.files import DamagedFileError, WorkbookFileError
from workbook.formats.guard import PackageInfo, inspect

_REF = re.compile(rf"^(?:'((?:[^']|'')+)'|([^!]+))!(\$?{COLUMN}\$?{ROW})$")


class CalamineBook(Book):
    """A workbook held in memory, read with python-calamine (values only)."""

    can_rebuild_sheets = False  # read-only
    reads_merged = True
    repairs_protection = False  # read-only
    has_package_info = True
    reads_typed_formulas = True  # values, and the sheet part's <f> for a formula typed into an input
    restores_formulas = False  # read-only
    #: openpyxl-saved files carry no computed values: an empty result cell is "unknown".
    blank_results_are_unknown = True

    def __init__(self, data: bytes, name: str = "<workbook>", *, info: PackageInfo | None = None):
        """Open ``data``; ``info`` is the guard's verdict on it, when already taken."""
        from python_calamine import CalamineWorkbook

        self.name = name
        self.info = info or inspect(data, name)  # before any parser sees the bytes
        try:
            xml = self.info.kept.get("xl/workbook.xml")
            self._names = _kept_names(xml) if xml is not None else _defined_names(data)
            self.wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        except WorkbookFileError:
            raise
        except Exception as exc:  # calamine and zipfile raise many types for a bad file
            raise WorkbookFileError(
                "無法開啟活頁簿，檔案可能已損毀或不是 Excel 檔",
                f"cannot open the workbook; it may be damaged or not an .xlsx file ({type(exc).__name__})",
                path=name,
            ) from exc
        self._grids: dict[Any, Grid] = {}
        self._sheets: dict[str, Any] = {}
        # Imported here: an .ods book reads its sheets through read_sheet and needs none of it (lxml).
        from workbook.formats.formula_cells import XlsxFormulaCells

        self._typed = XlsxFormulaCells(data, self.info.kept)  # sheets the guard inflated are not read again

    def sheet_names(self) -> list[str]:
        return list(self.wb.sheet_names)

    def names(self) -> dict[str, tuple[str, int, int]]:
        return dict(self._names)

    def _sheet(self, sheet: str) -> Any:
        if sheet not in self._sheets:
            self._sheets[sheet] = self._calamine(sheet, lambda: self.wb.get_sheet_by_name(sheet))
        return self._sheets[sheet]

    def _calamine(self, sheet: str, read: Any) -> Any:
        return read_sheet(self.name, sheet, read)

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        key = (sheet, rows, cols)
        if key not in self._grids:
            if sheet not in self._grids:
                # calamine gives "" for empty cells; the Book interface says None.
                ws = self._sheet(sheet)
                values = self._calamine(sheet, lambda: ws.to_python(skip_empty_area=False))
                self._grids[sheet] = [[None if v == "" else v for v in row] for row in values]
            whole = self._grids[sheet]
            self._grids[key] = [row[:cols] for row in whole[:rows]] if rows or cols else whole
        return self._grids[key]

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        return None

    def typed_formulas(self, sheet: str, rows: int, cols: int) -> Mapping[tuple[int, int], str]:
        """Cells of ``sheet`` holding a formula (its ``<f>``): (row, col) → formula.  One cell
        asked (``get``) is looked up alone; iterating reads every formula cell, once per sheet."""
        return self._typed.sheet(sheet)

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """Merged ranges as (min_row, min_col, max_row, max_col)."""
        ws = self._sheet(sheet)
        ranges = self._calamine(sheet, lambda: ws.merged_cell_ranges) or []
        return [(a[0] + 1, a[1] + 1, b[0] + 1, b[1] + 1) for a, b in ranges]

    def write(self, sheet: str, row: int, col: int, values: Any) -> None:
        raise TypeError("CalamineBook is read-only")


def read_sheet(name: str, sheet: str, read: Any) -> Any:
    """``read()`` of one sheet through python-calamine, which parses lazily: a damaged part
    surfaces only when its sheet is read, and is then a :class:`DamagedFileError` naming it."""
    try:
        return read()
    except Exception as exc:  # python-calamine's XmlError, CalamineError, …
        raise DamagedFileError(
            "工作表內容損毀，無法讀取",
            f"the sheet cannot be read; the file is damaged ({type(exc).__name__})",
            path=name,
            sheet=sheet,
        ) from exc


_DEFINED = re.compile(rb"<(?:\w+:)?definedName\b([^>]*)>([^<]*)</(?:\w+:)?definedName>")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


#: The common shape of a single-cell reference, read from the bytes: ``'二-1 x'!$C$12`` or ``_kpi!$B$3``.
_PLAIN_REF = re.compile(rf"(?:'([^'&]+(?:''[^'&]*)*)'|([^!'&]+))!\$?({COLUMN})\$?({ROW})".encode())
_NAME_ATTR = re.compile(rb'\bname="([^"]*)"')


def _defined_names(data: bytes, xml: bytes | None = None) -> dict[str, tuple[str, int, int]]:
    """Workbook-scoped single-cell defined names from ``xl/workbook.xml``.

    Read with a pattern rather than an XML parser: the guard has already refused any DTD,
    so only the predefined entities and character references can occur, and parsing a
    workbook part with hundreds of names was a fifth of the time collect spends per file.
    A reference of the common shape is read straight from the bytes; one with an entity
    or an odd spelling goes the general way.
    """
    if xml is None:  # ``xml``: the workbook part, when the guard kept it
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            xml = z.read("xl/workbook.xml")
    out: dict[str, tuple[str, int, int]] = {}
    sheets: dict[bytes, str] = {}
    for attrs, text in _DEFINED.findall(xml):
        if b"localSheetId" in attrs or not text.strip():
            continue
        name = _NAME_ATTR.search(attrs)
        key = _text(name.group(1)) if name else ""
        fast = _PLAIN_REF.fullmatch(text)
        if fast:
            quoted, bare, letters, digits = fast.groups()
            raw = quoted if quoted is not None else bare
            if raw not in sheets:
                sheets[raw] = raw.decode("utf-8", "replace").replace("''", "'")
            out[key] = (sheets[raw], int(digits), _column(letters))
            continue
        m = _REF.match(_text(text).strip())
        if m:
            sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
            out[key] = (sheet, *parse_address(m.group(3)))
    return out


@functools.lru_cache(maxsize=32)
def _kept_names(xml: bytes) -> dict[str, tuple[str, int, int]]:
    """:func:`_defined_names` of a workbook part, cached on its bytes: every return of one
    template carries the same part (the unit is typed into a cell, not a name), so collect
    reads it once per template.  Never changed in place (:meth:`CalamineBook.names` copies)."""
    return _defined_names(b"", xml)


_column = functools.lru_cache(maxsize=1024)(column_index)  # the same few letters in every file


def _text(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if "&" not in text:  # most names carry no entity
        return text
    from html import unescape  # only here: html.entities takes 1.5 ms to load

    return unescape(text)
