"""UNO primitives shared by :class:`~workbook.books.uno.UnoBook` and the LibreOffice button.

This module imports nothing from this package but the cell codec (only ``uno`` objects are
passed in): the 計算 extension's macro uses it from its bundle even where the engine cannot
run in LibreOffice's Python and the bridge computes instead.  One source for reading a sheet,
writing a block and lifting/restoring sheet protection, whichever side runs it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from workbook.formats.cells import COLUMN, ROW, column_index

# com.sun.star.table.CellContentType
_EMPTY, _VALUE, _TEXT, _FORMULA = 0, 1, 2, 3


class ForeignPassword(Exception):
    """A sheet stayed protected after unprotecting with the plan's password."""

    def __init__(self, sheet: str):
        super().__init__(sheet)
        self.sheet = sheet


def sheet_names(doc: Any) -> list[str]:
    """Names of all sheets, in order (hidden ones too)."""
    return list(doc.Sheets.ElementNames)


_REF = re.compile(rf"^=?\$?(?:'((?:[^']|'')+)'|([^.'$]+))\.\$?({COLUMN})\$?({ROW})$")


def named_cells(doc: Any, *, bulk: bool = False) -> dict[str, tuple[str, int, int]]:
    """Global named ranges that point at one cell: name → (sheet, row, col), 1-based.

    Each name's content (``$'Sheet'.$B$7``) is parsed here: two UNO calls per name.
    Over a pipe that is thousands of round trips for a large plan, so ``bulk`` has
    LibreOffice list every name with its content on a scratch sheet, read in one call
    and removed again (only where changing the document is harmless: ``--engine
    libreoffice`` stores a copy; the button never uses it).
    """
    ranges = doc.NamedRanges
    if bulk:
        listed = _listed_names(doc)
        if listed is not None:
            pairs = listed
        else:
            pairs = [(name, ranges.getByName(name).Content) for name in ranges.ElementNames]
    else:
        pairs = [(name, ranges.getByName(name).Content) for name in ranges.ElementNames]
    out: dict[str, tuple[str, int, int]] = {}
    for name, content in pairs:
        m = _REF.match(content)
        if m is None:  # a range, a constant, a formula or #REF!
            continue
        sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
        out[name] = (sheet, int(m.group(4)), column_index(m.group(3)))
    return out


_SCRATCH = "__kpi_names__"


def _listed_names(doc: Any) -> list[tuple[str, str]] | None:
    """(name, content) of every named range via XNamedRanges.outputList, or None if refused."""
    import uno  # noqa: F401  (loads the type support used below)
    from com.sun.star.table import CellAddress  # type: ignore[import-not-found]

    sheets = doc.Sheets
    try:
        index = sheets.Count
        sheets.insertNewByName(_SCRATCH, index)
    except Exception:  # a protected workbook structure
        return None
    try:
        where = CellAddress()
        where.Sheet, where.Column, where.Row = index, 0, 0
        doc.NamedRanges.outputList(where)
        rows, _ = used_extent(sheets.getByIndex(index))
        data = sheets.getByIndex(index).getCellRangeByPosition(0, 0, 1, max(rows, 1) - 1).getDataArray()
        return [(str(n), str(c)) for n, c in data if n]
    finally:
        sheets.removeByName(_SCRATCH)


def _value(v: Any) -> Any:
    """A getDataArray value as files give it: None for empty, int for integral numbers."""
    if isinstance(v, float):
        return int(v) if v.is_integer() else v
    return None if v == "" else v


def read_grid(sheet: Any, rows: int, cols: int) -> list[list[Any]]:
    """Values of A1:(rows, cols) in one call, converted with :func:`_value`.

    getDataArray gives '' for an empty cell and also for text that is empty, and a float
    for every number; a formula that yields text gives its text, an error gives ''.
    """
    if rows <= 0 or cols <= 0:
        return []
    data = sheet.getCellRangeByPosition(0, 0, cols - 1, rows - 1).getDataArray()
    return [[_value(v) for v in line] for line in data]


def swap_separators(formula: str, old: str, new: str) -> str:
    """Replace argument separators outside string literals.

    UNO's formula grammar separates arguments with ";" where files (and the formulas
    this package writes) use ",".
    """
    if old not in formula:  # most formulas (a 200-indicator click reads ~3,000 of them)
        return formula
    # Between the n-th and (n+1)-th quote: inside a literal when n is odd ("" inside one too).
    parts = formula.split('"')
    return '"'.join(part.replace(old, new) if i % 2 == 0 else part for i, part in enumerate(parts))


def read_formulas(sheet: Any, rows: int, cols: int) -> list[list[Any]]:
    """Formulas (Excel separators) or constants as text of A1:(rows, cols) in one call.

    An empty cell gives None.
    """
    if rows <= 0 or cols <= 0:
        return []
    data = sheet.getCellRangeByPosition(0, 0, cols - 1, rows - 1).getFormulaArray()
    return [
        [(swap_separators(v, ";", ",") if v.startswith("=") else v) if v != "" else None for v in line]
        for line in data
    ]


def used_extent(sheet: Any) -> tuple[int, int]:
    """(rows, cols) of the sheet's used area, anchored at A1."""
    cursor = sheet.createCursor()
    cursor.gotoEndOfUsedArea(False)
    a = cursor.RangeAddress
    return a.EndRow + 1, a.EndColumn + 1


def write_block(sheet: Any, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
    """Write a rectangle of values with one setDataArray.

    Numbers are stored as numbers, text as text, None as an empty cell.
    """
    if not values or not values[0]:
        return
    width = len(values[0])
    data = tuple(tuple(_cell_out(v) for v in line) for line in values)
    target = sheet.getCellRangeByPosition(col - 1, row - 1, col - 1 + width - 1, row - 1 + len(values) - 1)
    # LibreOffice clears the whole range first and skips empty strings, so None and ""
    # leave empty cells, and text is stored as text ("=…" is never parsed as a formula).
    target.setDataArray(data)


def _cell_out(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if hasattr(v, "as_tuple"):  # Decimal
        return float(v)
    return str(v)


def set_formula(sheet: Any, row: int, col: int, formula: str) -> None:
    """Put a formula (English function names, as files store them) into one cell."""
    # UNO's grammar names ISFORMULA bare: "_xlfn.ISFORMULA" (a file's spelling) would be #NAME?.
    bare = re.sub(r"(?i)_xlfn\.(?=[A-Z]+\()", "", formula)
    sheet.getCellByPosition(col - 1, row - 1).setFormula(swap_separators(bare, ",", ";"))


@contextlib.contextmanager
def unprotected(doc: Any, names: Iterable[str], password: str | None) -> Iterator[None]:
    """Lift protection of ``names``; protect them again on exit with the password that opened them.

    A sheet is unprotected with ``password`` (the plan's) or, failing that, with no
    password (the template protects its metadata sheet without one).  LibreOffice keeps
    a sheet's protection options (which cells may be selected, formatting rights) while
    it is unprotected and applies them again on ``protect``, so only the flag and the
    password need restoring.  A sheet that stays protected has a password of its own:
    the sheets already lifted are protected again and :class:`ForeignPassword` names it.
    """
    sheets = doc.Sheets
    lifted: list[tuple[Any, str]] = []
    try:
        for name in names:
            sheet = sheets.getByName(name)
            if not sheet.isProtected():
                continue
            for candidate in dict.fromkeys([password or "", ""]):
                with contextlib.suppress(Exception):  # IllegalArgumentException: wrong password
                    sheet.unprotect(candidate)
                if not sheet.isProtected():
                    lifted.append((sheet, candidate))
                    break
            else:
                raise ForeignPassword(name)
        yield
    finally:
        for sheet, candidate in lifted:
            sheet.protect(candidate)


@contextlib.contextmanager
def quiet(doc: Any) -> Iterator[None]:
    """No screen updates or automatic recalculation while blocks are written."""
    doc.lockControllers()
    auto = doc.isAutomaticCalculationEnabled()
    doc.enableAutomaticCalculation(False)
    try:
        yield
    finally:
        doc.enableAutomaticCalculation(auto)
        doc.unlockControllers()


# com.sun.star.sheet.CellFlags
_DATETIME, _FORMULA_FLAG = 2, 16
_EPOCH_ORDINAL = 693594  # date(1899, 12, 30).toordinal(): day 0 of spreadsheet serials


def _cells_with(sheet: Any, rows: int, cols: int, flags: int) -> list[tuple[int, int]]:
    """(row, col), 0-based, of the cells in A1:(rows, cols) with content of ``flags``.

    One query per sheet.  ``_DATETIME``: numbers formatted as a date or time, which
    getDataArray gives as bare serials where a file reader gives a datetime (and a date
    typed into a count is an error); ``_FORMULA_FLAG``: formula cells.
    """
    if rows <= 0 or cols <= 0:
        return []
    found = sheet.getCellRangeByPosition(0, 0, cols - 1, rows - 1).queryContentCells(flags)
    out = []
    for a in found.getRangeAddresses():
        for r in range(a.StartRow, a.EndRow + 1):
            for c in range(a.StartColumn, a.EndColumn + 1):
                out.append((r, c))
    return out


def serial_to_datetime(serial: float) -> Any:
    """A spreadsheet date serial as a naive datetime (1899-12-30 epoch, as openpyxl reads it)."""
    from datetime import datetime, timedelta

    return datetime(1899, 12, 30) + timedelta(days=serial)


def read_cells(sheet: Any, rows: int, cols: int) -> tuple[list[list[Any]], list[list[Any]]]:
    """(values, formulas) of A1:(rows, cols): two bulk reads and one date query.

    Values are what LibreOffice computed, in the types a file reader gives: None for
    empty, int for an integral number, datetime for a date-formatted number.
    """
    values = read_grid(sheet, rows, cols)
    formulas = read_formulas(sheet, rows, cols)
    for r, c in _cells_with(sheet, rows, cols, _DATETIME):
        v = values[r][c]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            values[r][c] = serial_to_datetime(v)
    return values, formulas


def file_view(sheet: Any, values: list[list[Any]], formulas: list[list[Any]]) -> list[list[Any]]:
    """The grid as a file reader without computed values sees it: a formula cell shows
    its formula text, any other cell its value (so a formula typed into a count is found)."""
    out = [list(line) for line in values]
    for r, c in _cells_with(sheet, len(values), len(values[0]) if values else 0, _FORMULA_FLAG):
        out[r][c] = formulas[r][c]
    return out


def merged_ranges(sheet: Any, rows: int, cols: int) -> list[tuple[int, int, int, int]]:
    """Merged areas that start in A1:(rows, cols), as (min_row, min_col, max_row, max_col), 1-based.

    UNO has no list of merged areas.  Cells with identical attributes form one of the
    sheet's unique format ranges, and a merge origin's span is one of those attributes:
    so one probe per unique range says whether its cells start merged areas, and of
    which size.  A few dozen calls per sheet instead of one per cell.  The probe is the
    unique range's own first rectangle (``getIsMerged`` is true when it holds a merge
    origin, and all its cells are alike): addresses are read only for the few that are
    merged (0.43 → 0.31 s of CPU over the 204 sheets of a 200-indicator click).
    """
    if rows <= 0 or cols <= 0:
        return []
    band = _origin_rows(sheet, rows, cols)
    if band is None:  # no merge origin anywhere in the area
        return []
    top, bottom = band
    unique = sheet.getCellRangeByPosition(0, top, cols - 1, bottom).getUniqueCellFormatRanges()
    out = []
    for i in range(unique.Count):
        ranges = unique.getByIndex(i)
        if not ranges.getByIndex(0).getIsMerged():
            continue
        addresses = ranges.getRangeAddresses()
        first = addresses[0]
        probe = sheet.getCellRangeByPosition(
            first.StartColumn, first.StartRow, first.StartColumn, first.StartRow
        )
        cursor = sheet.createCursorByRange(probe)
        cursor.collapseToMergedArea()
        span = cursor.RangeAddress
        height, width = span.EndRow - span.StartRow, span.EndColumn - span.StartColumn
        for a in addresses:
            for r in range(a.StartRow, a.EndRow + 1):
                for c in range(a.StartColumn, a.EndColumn + 1):
                    out.append((r + 1, c + 1, r + 1 + height, c + 1 + width))
    return sorted(out)


def _origin_rows(sheet: Any, rows: int, cols: int) -> tuple[int, int] | None:
    """(first, last) 0-based row of A1:(rows, cols) holding a merge origin, or None if none does.

    Found by halving (``getIsMerged`` of a band is true when a cell in it starts a merged
    area), so the unique ranges probed are only those of the band: a form's merges sit in
    its heading and definition rows, not among the inputs below.
    """

    def has_origin(first: int, last: int) -> bool:
        return bool(sheet.getCellRangeByPosition(0, first, cols - 1, last).getIsMerged())

    if not has_origin(0, rows - 1):
        return None
    lo, hi = 0, rows - 1  # the first origin row: the least r with an origin in rows 0..r
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if has_origin(0, mid) else (mid + 1, hi)
    top = lo
    lo, hi = top, rows - 1  # the last: the greatest r with an origin in rows r..end
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if has_origin(mid, rows - 1) else (lo, mid - 1)
    return top, lo


def protected_sheets(doc: Any) -> dict[str, bool]:
    """Every sheet's protection flag."""
    sheets = doc.Sheets
    return {name: bool(sheets.getByName(name).isProtected()) for name in sheets.ElementNames}


# ---------------------------------------------------------------------------
# The button's bridge: the document as JSON, and the writes that come back
# ---------------------------------------------------------------------------


def _json_cell(v: Any) -> Any:
    if hasattr(v, "isoformat"):  # a date-formatted cell
        return {"$date": v.isoformat()}
    return v


def read_document(doc: Any) -> dict:
    """Everything :func:`workbook.form.calculate.calculate` reads, as JSON-ready data.

    Each sheet is read once, bounded to its used area: values (formula cells as their
    formula text, as a file reader shows them), formulas and the protection flag.
    """
    sheets = {}
    for name in sheet_names(doc):
        sheet = doc.Sheets.getByName(name)
        rows, cols = used_extent(sheet)
        values, formulas = read_cells(sheet, rows, cols)
        sheets[name] = {
            "values": [[_json_cell(v) for v in line] for line in file_view(sheet, values, formulas)],
            "formulas": formulas,
            "protected": bool(sheet.isProtected()),
            "merged": merged_ranges(sheet, rows, cols),
        }
    return {"version": 1, "sheets": sheets, "names": named_cells(doc)}


def apply_writes(doc: Any, reply: dict) -> None:
    """Apply a bridge reply: restored formulas and value blocks, inside lifted protection.

    Every sheet written is unprotected with the plan's password first (a sheet with a
    foreign password raises :class:`ForeignPassword` before anything is written) and
    protected again afterwards; sheets whose protection staff removed are protected.
    """
    password = reply.get("password")
    blocks = reply.get("blocks") or []
    restored = reply.get("formulas") or []
    wanted = list(
        dict.fromkeys([*(reply.get("unprotect") or []), *(b[0] for b in blocks), *(f[0] for f in restored)])
    )
    sheets = doc.Sheets
    with quiet(doc):
        with unprotected(doc, wanted, password):
            for name, row, col, formula in restored:
                set_formula(sheets.getByName(name), row, col, formula)
            for name, row, col, values in blocks:
                write_block(sheets.getByName(name), row, col, values)
        for name in reply.get("protect") or []:
            sheet = sheets.getByName(name)
            if not sheet.isProtected():
                sheet.protect(password or "")
