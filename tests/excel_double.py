"""A protection-enforcing double of desktop Excel as xlwings shows it over COM.

The objects answer what :class:`workbook.books.excel.LiveBook` and :mod:`macros` use of
``xw.Book.caller()`` on Windows: ``book.sheets[name]``, ``book.names`` with
``refers_to_range``, ``sheet.range((r, c), (r2, c2)).options(ndim=2, err_to_str=…).value``
(get and set), ``.formula``, ``.merge_cells``, ``.merge_area``, ``used_range.last_cell``,
``sheet.api`` (``ProtectContents``,
``Protect``, ``Unprotect``, ``Protection.Allow…``, ``EnableSelection``), ``book.app``
(``alert``, ``calculation``, ``calculate``).

It is backed by the workbook file (openpyxl: formulas, locked cells, number formats,
protection) and by the values LibreOffice computed for it (``recalculate``), and it
behaves as Excel does where the button could trip:

* a write touching a locked cell of a protected sheet raises Excel's COM error, and so
  does ``Unprotect`` with a wrong password (the file's legacy hash, or the SHA-512 hash
  Excel 2013+ writes: ``algorithmName``/``hashValue``/``saltValue``/``spinCount``, is checked);
* ``Protect`` with a password stores a SHA-512 hash with a fresh salt and 100,000 spins,
  as Excel 2013+ does, so a saved double is a workbook "Excel itself saved";
* ``book.api``: ``ReadOnly`` (an attachment opened from mail) and ``Names``; ``app.api``:
  ``ActiveProtectedViewWindow``; ``Range.ListNames`` pastes every name and its ``RefersTo``
  text, as Excel's Paste List does;
* ``Protect`` takes Excel's defaults for omitted options (drawing objects, contents and
  scenarios protected, every ``Allow…`` False) and resets ``EnableSelection``;
* ``Range.MergeCells`` is True when every cell of the range is in a merged area, False when
  none is, None (COM's Null) when some are; ``MergeArea`` of one cell is its merged area, or
  the cell itself;
* numbers read as floats, currency-formatted cells as ``Decimal`` (COM's VT_CY, four
  decimals), dates as ``datetime``, empty cells as ``None``, errors as ``None`` (or
  their text with ``err_to_str``);
* written text is parsed as if typed ("187" a number, "2026-07-10 09:30" a date,
  "TRUE" a boolean) unless it starts with an apostrophe; a written "=…" is a formula;
* in manual calculation mode formula cells keep their old values until ``app.calculate()``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
import weakref
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.protection import hash_password

from workbook.form.book import parse_address
from workbook.libreoffice import recalculate

PROTECTED_TEXT = (
    "The cell or chart you're trying to change is on a protected sheet. To make a change, "
    "unprotect the sheet. You might be requested to enter a password."
)
PASSWORD_TEXT = (
    "The password you supplied is not correct. Verify that the CAPS LOCK key is off and be sure "
    "to use the correct capitalization."
)
MERGED_TEXT = "We can't do that to a merged cell."
ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"}
XL_NO_RESTRICTIONS, XL_UNLOCKED_CELLS, XL_NO_SELECTION = 0, 1, -4142
#: COM Allow… option → openpyxl SheetProtection attribute (True there means "prohibited").
ALLOW = {
    "AllowFormattingCells": "formatCells",
    "AllowFormattingColumns": "formatColumns",
    "AllowFormattingRows": "formatRows",
    "AllowInsertingColumns": "insertColumns",
    "AllowInsertingRows": "insertRows",
    "AllowInsertingHyperlinks": "insertHyperlinks",
    "AllowDeletingColumns": "deleteColumns",
    "AllowDeletingRows": "deleteRows",
    "AllowSorting": "sort",
    "AllowFiltering": "autoFilter",
    "AllowUsingPivotTables": "pivotTables",
}
_NUMBER = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
_DATE = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")
#: What Excel 2013+ writes when it protects a sheet with a password.
SHA512, EXCEL_SPIN_COUNT = "SHA-512", 100_000


def sha512_sheet_hash(password: str, salt: bytes, spin_count: int) -> bytes:
    """ECMA-376's sheet-protection hash: H0 = SHA-512(salt + UTF-16LE password), then
    H = SHA-512(H + iteration as 4 bytes little-endian) ``spin_count`` times (the iterator appended)."""
    digest = hashlib.sha512(salt + password.encode("utf-16-le")).digest()
    for i in range(spin_count):
        digest = hashlib.sha512(digest + i.to_bytes(4, "little")).digest()
    return digest


def set_sha512_password(protection: Any, password: str, *, spin_count: int = EXCEL_SPIN_COUNT) -> None:
    """Key ``protection`` (openpyxl's SheetProtection) with ``password`` as Excel 2013+ saves it."""
    salt = os.urandom(16)
    protection.set_password(None, already_hashed=True)  # no legacy hash beside it
    protection.algorithmName = SHA512
    protection.saltValue = base64.b64encode(salt).decode()
    protection.spinCount = spin_count
    protection.hashValue = base64.b64encode(sha512_sheet_hash(password, salt, spin_count)).decode()


def sha512_matches(protection: Any, password: str) -> bool:
    """Does ``password`` open a sheet keyed with a SHA-512 hash?"""
    if protection.algorithmName != SHA512:
        raise NotImplementedError(f"the double checks SHA-512 hashes only, not {protection.algorithmName}")
    salt = base64.b64decode(protection.saltValue or "")
    held = base64.b64decode(protection.hashValue or "")
    return sha512_sheet_hash(password, salt, int(protection.spinCount or 0)) == held


class ComError(Exception):
    """What pywintypes.com_error carries for an Excel exception (hresult, text, excepinfo, arg)."""

    def __init__(self, text: str, scode: int = -2146827284):
        super().__init__(
            -2147352567, "Exception occurred.", (0, "Microsoft Excel", text, "xlmain11.chm", 0, scode), None
        )
        self.text = text


def typed(value: Any) -> Any:
    """What Excel stores for a value written over COM (``Range.Value = value``)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
    text = str(value)
    if text.startswith("'"):
        return text[1:]  # the prefix character is not part of the value
    if text.startswith("="):
        raise NotImplementedError("the double does not compute formulas written by code")
    if _NUMBER.match(text):
        return float(text)
    if text.strip().upper() in ("TRUE", "FALSE"):
        return text.strip().upper() == "TRUE"
    m = _DATE.match(text)
    if m:
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
        return dt.datetime(y, mo, d, h, mi, s)
    return text


def _currency(number_format: str) -> bool:
    return "$" in number_format or "¤" in number_format or "[$" in number_format


class App:
    """``book.app``: alerts, calculation mode and ``calculate()``."""

    def __init__(self, *, protected_view: bool = False) -> None:
        self.alerts: list[tuple[str, str | None]] = []
        #: ``mode`` of each alert: xlwings on Windows shows MB_ICONWARNING for "critical".
        self.modes: list[str | None] = []
        self._calculation = "automatic"
        self.book: Book | None = None
        self.calculations = 0
        self.api = AppApi(protected_view)

    def alert(
        self, prompt: str, title: str | None = None, buttons: str = "ok", mode=None, callback=None
    ) -> str:
        assert mode in (None, "info", "critical"), f"xlwings' alert has no mode {mode!r}"
        self.alerts.append((prompt, title))
        self.modes.append(mode)
        return "ok"

    @property
    def calculation(self) -> str:
        return self._calculation

    @calculation.setter
    def calculation(self, value: str) -> None:
        assert value in ("automatic", "manual", "semiautomatic")
        self._calculation = value
        if value == "automatic" and self.book is not None:
            self.book._recalculate_if_dirty()

    def calculate(self) -> None:
        self.calculations += 1
        if self.book is not None:
            self.book._recalculate()


class AppApi:
    """``app.api`` (COM ``Application``): the Protected View window, if one is active.

    A workbook in Protected View is not in ``Workbooks`` (so ``Book.caller()`` cannot find it);
    ``ActiveProtectedViewWindow`` is the only trace of it.
    """

    def __init__(self, protected_view: bool):
        self.ActiveProtectedViewWindow = object() if protected_view else None


class BookApi:
    """``book.api`` (COM ``Workbook``): ``ReadOnly`` and the ``Names`` collection's ``Count``."""

    def __init__(self, book: Book, read_only: bool):
        self._book, self.ReadOnly = book, read_only
        self.calls = 0

    @property
    def Names(self) -> Any:
        self.calls += 1
        return _NamesApi(len(self._book.wb.defined_names))


class _NamesApi:
    def __init__(self, count: int):
        self.Count = count


class Book:
    """``xw.Book`` over COM for one workbook file (values as LibreOffice computes them)."""

    def __init__(
        self,
        path: str | Path,
        values: str | Path | None = None,
        *,
        app: App | None = None,
        name: str | None = None,
        read_only: bool = False,
    ):
        self.path = Path(path)
        self.api = BookApi(self, read_only)
        #: COM calls made on ``book.names`` items (what LiveBook.names costs per name).
        self.name_calls = 0
        self.name = name or self.path.name
        self.fullname = str(self.path.resolve())  # COM's FullName: the path
        self.writes: list[tuple[str, int, int, int, int]] = []  # sheet, row, col, rows, cols of each write
        self.wb = load_workbook(self.path)
        self.app = app or App()
        self.app.book = self
        self._tmp = Path(tempfile.mkdtemp(prefix="excel-double-"))
        # removed on close(), or when the double is dropped or the run ends (tests rarely close)
        self._remove_tmp = weakref.finalize(self, shutil.rmtree, self._tmp, True)
        self._dirty = False
        if values is None:
            values = recalculate(self.path, self._tmp / f"values{self.path.suffix}")
        self._load_values(Path(values))
        self.sheets = Sheets(self)

    # -- calculation -----------------------------------------------------------------
    def _load_values(self, values: Path) -> None:
        data = load_workbook(values, data_only=True)
        self._computed: dict[str, dict[tuple[int, int], Any]] = {}
        for ws in self.wb.worksheets:
            shown = data[ws.title] if ws.title in data.sheetnames else None
            cells = {}
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f" or isinstance(c.value, ArrayFormula):
                        cells[(c.row, c.column)] = shown.cell(c.row, c.column).value if shown else None
            self._computed[ws.title] = cells

    def _recalculate(self) -> None:
        source = self._tmp / f"book{self.path.suffix}"
        self.wb.save(source)
        self._load_values(recalculate(source, self._tmp / f"values{self.path.suffix}"))
        self._dirty = False

    def _recalculate_if_dirty(self) -> None:
        if self._dirty and self.app.calculation == "automatic":
            self._recalculate()

    def close(self) -> None:
        self._remove_tmp()

    def save(self, path: str | Path | None = None) -> Path:
        """Save the workbook as it now stands (formulas, written values, protection)."""
        target = Path(path) if path else self.path
        self.wb.save(target)
        return target

    @property
    def names(self) -> list[Name]:
        out = []
        for name, dn in self.wb.defined_names.items():
            out.append(Name(self, name, dn))
        return out


class Name:
    """``book.names[i]``: ``name`` and ``refers_to_range`` (raises for a constant or #REF!)."""

    def __init__(self, book: Book, name: str, dn: Any):
        self.book, self._name, self._dn = book, name, dn

    @property
    def name(self) -> str:
        self.book.name_calls += 1
        return self._name

    @property
    def refers_to_range(self) -> Range:
        self.book.name_calls += 1
        dests = list(self._dn.destinations)
        if len(dests) != 1:
            raise ComError("Application-defined or object-defined error.", -2146827284)
        sheet, address = dests[0]
        first, _, last = address.replace("$", "").partition(":")
        r1, c1 = parse_address(first)
        r2, c2 = parse_address(last) if last else (r1, c1)
        return self.book.sheets[sheet.replace("''", "'")].range((r1, c1), (r2, c2))


class Sheets:
    """``book.sheets``: by name or index, every worksheet (hidden ones too)."""

    def __init__(self, book: Book):
        self.book = book
        self._sheets = {ws.title: Sheet(book, ws) for ws in book.wb.worksheets}

    def __getitem__(self, key: str | int) -> Sheet:
        if isinstance(key, int):
            return list(self._sheets.values())[key]
        return self._sheets[key]

    def __iter__(self):
        return iter(list(self._sheets.values()))

    def __len__(self) -> int:
        return len(self._sheets)


class Sheet:
    """``xw.Sheet``: ``name``, ``range``, ``used_range``, ``api``."""

    def __init__(self, book: Book, ws: Any):
        self.book, self.ws = book, ws
        self.api = SheetApi(self)
        self._anchors: dict[tuple[int, int], tuple[int, int]] | None = None

    @property
    def name(self) -> str:
        return self.ws.title

    def range(self, first: tuple[int, int] | str, last: tuple[int, int] | None = None) -> Range:
        if isinstance(first, str):
            a, _, b = first.partition(":")
            first, last = parse_address(a), (parse_address(b) if b else None)
        return Range(self, first, last or first)

    def __getitem__(self, address: str) -> Range:
        return self.range(address)

    @property
    def used_range(self) -> Range:
        return Range(self, (self.ws.min_row, self.ws.min_column), (self.ws.max_row, self.ws.max_column))

    # -- cells as Excel holds them -----------------------------------------------------
    def _anchor(self, row: int, col: int) -> tuple[int, int]:
        if self._anchors is None:  # merged areas never change here: map each cell once
            self._anchors = {
                (r, c): (m.min_row, m.min_col)
                for m in self.ws.merged_cells.ranges
                for r in range(m.min_row, m.max_row + 1)
                for c in range(m.min_col, m.max_col + 1)
            }
        return self._anchors.get((row, col), (row, col))

    def merged_cells_in(self, first: tuple[int, int], last: tuple[int, int]) -> int:
        """How many cells of the block lie in merged areas (areas never overlap)."""
        (r1, c1), (r2, c2) = first, last
        count = 0
        for m in self.ws.merged_cells.ranges:
            rows = min(r2, m.max_row) - max(r1, m.min_row) + 1
            cols = min(c2, m.max_col) - max(c1, m.min_col) + 1
            count += max(rows, 0) * max(cols, 0)
        return count

    def merge_area(self, row: int, col: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """The merged area holding the cell (first, last), or the cell itself."""
        for m in self.ws.merged_cells.ranges:
            if m.min_row <= row <= m.max_row and m.min_col <= col <= m.max_col:
                return (m.min_row, m.min_col), (m.max_row, m.max_col)
        return (row, col), (row, col)

    def locked(self, row: int, col: int) -> bool:
        cell = self.ws._cells.get(self._anchor(row, col))
        return True if cell is None else bool(cell.protection.locked)  # a cell never styled is locked

    def shown(self, row: int, col: int, err_to_str: bool) -> Any:
        """One cell's ``Range.Value`` as xlwings returns it over COM."""
        cell = self.ws._cells.get((row, col))  # never create cells by reading
        if cell is None or isinstance(cell, MergedCell):
            return None
        if cell.data_type == "f" or isinstance(cell.value, ArrayFormula):
            value = self.book._computed[self.name].get((row, col))
        else:
            value = cell.value
        if value is None or value == "":
            return None
        if isinstance(value, str) and value in ERRORS:
            return value if err_to_str else None
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float, Decimal)):
            if _currency(cell.number_format or ""):
                return Decimal(str(round(float(value), 4))).quantize(Decimal("0.0001"))
            return float(value)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return dt.datetime(value.year, value.month, value.day)
        if isinstance(value, dt.time):
            return dt.datetime(1899, 12, 30, value.hour, value.minute, value.second)
        return value

    def formula_text(self, row: int, col: int) -> str:
        """One cell's ``Range.Formula``: the formula, or a constant as text, "" when empty."""
        cell = self.ws._cells.get((row, col))
        value = None if cell is None or isinstance(cell, MergedCell) else cell.value
        if isinstance(value, ArrayFormula):
            return value.text
        if value is None:
            return ""
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def store(self, first: tuple[int, int], block: list[list[Any]]) -> None:
        """Write a block as COM's ``Range.Value = block`` does, or refuse as Excel refuses."""
        r0, c0 = first
        rows, cols = len(block), max((len(line) for line in block), default=0)
        r1, c1 = r0 + rows - 1, c0 + cols - 1
        if self.api.ProtectContents:
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    if self.locked(r, c):
                        raise ComError(PROTECTED_TEXT)
        for m in self.ws.merged_cells.ranges:
            overlaps = not (m.max_row < r0 or m.min_row > r1 or m.max_col < c0 or m.min_col > c1)
            inside = r0 <= m.min_row and m.max_row <= r1 and c0 <= m.min_col and m.max_col <= c1
            if overlaps and not inside and (rows, cols) != (1, 1):
                raise ComError(MERGED_TEXT)
        self.book.writes.append((self.name, r0, c0, rows, cols))
        for i, line in enumerate(block):
            for j, v in enumerate(line):
                cell = self.ws.cell(r0 + i, c0 + j)
                if isinstance(cell, MergedCell):
                    continue  # Excel keeps only the top-left value of a merged area
                value = typed(v)
                cell.value = value
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"
        self.book._dirty = True


class Range:
    """``xw.Range``: ``value`` (get/set), ``formula``, ``options``, ``row``/``column``/``shape``, ``last_cell``."""

    def __init__(self, sheet: Sheet, first: tuple[int, int], last: tuple[int, int], **options: Any):
        self.sheet = sheet
        self.first, self.last = first, last
        self._options = options

    def options(self, **options: Any) -> Range:
        unknown = set(options) - {"ndim", "err_to_str", "empty"}
        assert not unknown, f"the double does not model options {unknown}"
        return Range(self.sheet, self.first, self.last, **{**self._options, **options})

    @property
    def row(self) -> int:
        return self.first[0]

    @property
    def column(self) -> int:
        return self.first[1]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.last[0] - self.first[0] + 1, self.last[1] - self.first[1] + 1)

    @property
    def last_cell(self) -> Range:
        return Range(self.sheet, self.last, self.last)

    @property
    def value(self) -> Any:
        self.sheet.book._recalculate_if_dirty()
        err = bool(self._options.get("err_to_str"))
        grid = [
            [self.sheet.shown(r, c, err) for c in range(self.first[1], self.last[1] + 1)]
            for r in range(self.first[0], self.last[0] + 1)
        ]
        if self._options.get("ndim") == 2:
            return grid
        if self.shape == (1, 1):
            return grid[0][0]
        if 1 in self.shape:
            return [v for line in grid for v in line]
        return grid

    @value.setter
    def value(self, data: Any) -> None:
        if isinstance(data, (list, tuple)):
            block = [list(x) for x in data] if data and isinstance(data[0], (list, tuple)) else [list(data)]
        else:
            block = [[data]]
        self.sheet.store(self.first, block)

    @property
    def api(self) -> RangeApi:
        return RangeApi(self)

    def clear_contents(self) -> None:
        """``Range.ClearContents``: refused on locked cells of a protected sheet, like a write."""
        rows, cols = self.shape
        self.sheet.store(self.first, [[None] * cols for _ in range(rows)])

    @property
    def merge_cells(self) -> bool | None:
        """``Range.MergeCells``: True (every cell merged), False (none), None (COM's Null: some)."""
        merged = self.sheet.merged_cells_in(self.first, self.last)
        rows, cols = self.shape
        return None if 0 < merged < rows * cols else merged > 0

    @property
    def merge_area(self) -> Range:
        """``Range.MergeArea`` of a single cell (the only use Excel documents)."""
        if self.shape != (1, 1):
            raise NotImplementedError("the double models MergeArea of a single cell only")
        return Range(self.sheet, *self.sheet.merge_area(*self.first))

    @property
    def formula(self) -> Any:
        texts = tuple(
            tuple(self.sheet.formula_text(r, c) for c in range(self.first[1], self.last[1] + 1))
            for r in range(self.first[0], self.last[0] + 1)
        )
        return texts[0][0] if self.shape == (1, 1) else texts


class RangeApi:
    """``range.api`` (COM ``Range``): ``ListNames``."""

    def __init__(self, rng: Range):
        self._range = rng

    def ListNames(self) -> None:
        """Paste List: every (visible) name in column order, with its ``RefersTo`` text beside it,
        from the range's first cell down; a write like any other (refused on a protected sheet)."""
        book = self._range.sheet.book
        book.api.calls += 1
        listed = sorted((n, "'=" + dn.attr_text) for n, dn in book.wb.defined_names.items())
        if listed:
            self._range.sheet.store(self._range.first, [list(line) for line in listed])


class Protection:
    """``Worksheet.Protection``: the Allow… options of the sheet's protection."""

    def __init__(self, sheet: Sheet):
        self._p = sheet.ws.protection

    def __getattr__(self, key: str) -> bool:
        if key in ALLOW:
            return not getattr(self._p, ALLOW[key])
        raise AttributeError(key)


class SheetApi:
    """``sheet.api``: the COM Worksheet's protection members."""

    def __init__(self, sheet: Sheet):
        self._sheet = sheet

    @property
    def _p(self) -> Any:
        return self._sheet.ws.protection

    @property
    def ProtectContents(self) -> bool:
        return bool(self._p.sheet)

    @property
    def ProtectDrawingObjects(self) -> bool:
        return bool(self._p.sheet and self._p.objects)

    @property
    def ProtectScenarios(self) -> bool:
        return bool(self._p.sheet and self._p.scenarios)

    @property
    def Protection(self) -> Protection:
        return Protection(self._sheet)

    @property
    def EnableSelection(self) -> int:
        if self._p.selectUnlockedCells:
            return XL_NO_SELECTION
        return XL_UNLOCKED_CELLS if self._p.selectLockedCells else XL_NO_RESTRICTIONS

    @EnableSelection.setter
    def EnableSelection(self, value: int) -> None:
        self._p.selectLockedCells = value in (XL_UNLOCKED_CELLS, XL_NO_SELECTION)
        self._p.selectUnlockedCells = value == XL_NO_SELECTION

    def Unprotect(self, Password: str | None = None) -> None:
        p = self._p
        if not p.sheet:
            return
        held = p.password or None
        if held is not None or p.hashValue:
            if Password is None:
                raise NotImplementedError("Excel would ask for the password in a dialog")
            right = sha512_matches(p, Password) if p.hashValue else hash_password(Password) == held
            if not right:
                raise ComError(PASSWORD_TEXT, -2146827284)
        p.sheet = False

    def Protect(
        self,
        Password: str | None = None,
        DrawingObjects: bool = True,
        Contents: bool = True,
        Scenarios: bool = True,
        UserInterfaceOnly: bool = False,
        **allow: bool,
    ) -> None:
        unknown = set(allow) - set(ALLOW)
        if unknown:
            raise TypeError(f"Protect() got unexpected keyword arguments {sorted(unknown)}")
        assert not UserInterfaceOnly, "the double does not model UserInterfaceOnly"
        p = self._p
        p.sheet = bool(Contents)
        p.objects = bool(DrawingObjects)
        p.scenarios = bool(Scenarios)
        if Password:
            set_sha512_password(p, Password)  # what Excel 2013+ stores
        else:
            p.set_password(None, already_hashed=True)
            p.algorithmName = p.hashValue = p.saltValue = p.spinCount = None
        for key, attr in ALLOW.items():
            setattr(p, attr, not allow.get(key, False))
        p.selectLockedCells = p.selectUnlockedCells = False  # Protect resets EnableSelection


def protection_state(ws: Any, passwords: tuple[str, ...] = ()) -> dict[str, Any]:
    """A sheet's protection as a comparable dict (openpyxl's attributes, password hash included).

    A SHA-512 key (fresh salt each time) is shown as the legacy hash of whichever of
    ``passwords`` opens it, so a sheet Excel 2013+ protected again compares equal to one
    keyed with the same password by ``kpi calculate``.
    """
    p = ws.protection
    keys = ["sheet", "objects", "scenarios", "selectLockedCells", "selectUnlockedCells", *ALLOW.values()]
    key = p.password or None
    if p.hashValue:
        opens = [pw for pw in passwords if sha512_matches(p, pw)]
        key = hash_password(opens[0]) if opens else f"{p.algorithmName}:{p.hashValue}"
    return {**{k: bool(getattr(p, k)) for k in keys}, "password": key}
