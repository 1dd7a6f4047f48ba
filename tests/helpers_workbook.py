"""Shared helpers for the LibreOffice oracle and round-trip tests.

Cells are always found through the workbook's defined names (or, on the 達成情形
sheet, through the formulas that refer to those names), never by fixed address.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import openpyxl

from workbook import libreoffice as lo
from workbook.books.file import FileBook
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.book import parse_address
from workbook.form.builder import write_template
from workbook.form.calculate import Outcome, calculate

#: Defined-name prefixes of the cells staff type into.
INPUT_PREFIXES = ("IN_", "NOTE_", "PROG_", "DESC_")


def defined_cells(wb: openpyxl.Workbook) -> dict[str, tuple[str, str]]:
    """Workbook-scoped defined names that point at one cell: name → (sheet, ``B7``)."""
    out: dict[str, tuple[str, str]] = {}
    for name, dn in wb.defined_names.items():
        try:
            dests = list(dn.destinations)
        except Exception:  # a name that is a constant or #REF!
            continue
        if len(dests) == 1:
            sheet, address = dests[0]
            row, col = parse_address(address)
            out[name] = (sheet, f"{openpyxl.utils.get_column_letter(col)}{row}")
    return out


def cell_value(wb: openpyxl.Workbook, where: tuple[str, str]) -> Any:
    """The value of one cell given as (sheet, address)."""
    sheet, address = where
    return wb[sheet][address].value


def build_filled(
    scope: L.Scope,
    entries: Mapping[str, Mapping[str, Mapping[str, object]]],
    path: Path,
    *,
    notes: Mapping[str, str] | None = None,
    run_calculate: bool = False,
) -> tuple[Path, Outcome | None]:
    """Write the template for ``scope``, type ``entries`` (and notes) into it, save.

    ``notes`` maps NOTE_/DESC_/PROG_ defined names to what staff typed there.  With
    ``run_calculate`` the workbook is calculated (sentences, findings) before saving.
    """
    blank = path.with_name(path.stem + ".blank.xlsx")
    write_template(scope, blank)
    shutil.copyfile(blank, path)
    book = FileBook(path)
    fill(book, scope, dict(entries))
    names = book.names()
    for name, text in (notes or {}).items():
        sheet, row, col = names[name]
        book.write(sheet, row, col, [[text]])
    outcome = calculate(book) if run_calculate else None
    book.save()
    return path, outcome


def recalc_all(paths: Iterable[Path], soffice: str) -> dict[Path, Path]:
    """Recalculate every workbook with LibreOffice, two at a time; src → recalculated copy."""
    srcs = list(paths)

    def one(src: Path) -> Path:
        return lo.recalculate(src, src.with_name(src.stem + ".lo.xlsx"), soffice=soffice)

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(srcs, pool.map(one, srcs), strict=True))


class Values:
    """The values a workbook file holds (LibreOffice's results), read once, read-only."""

    def __init__(self, path: Path):
        self.path = path
        wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
        try:
            self.where = defined_cells(wb)
            self.grids = {
                ws.title: [list(r) for r in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
                for ws in wb.worksheets
            }
        finally:
            wb.close()

    def at(self, sheet: str, address: str) -> Any:
        """The value of one cell (None outside the used range)."""
        row, col = parse_address(address)
        grid = self.grids[sheet]
        return grid[row - 1][col - 1] if row - 1 < len(grid) and col - 1 < len(grid[row - 1]) else None

    def named(self, name: str) -> Any:
        """The value of the cell a defined name points at."""
        return self.at(*self.where[name])


def to_decimal(v: Any) -> Decimal | None:
    """A number LibreOffice wrote (int or float) as the Decimal it prints as."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        return Decimal(repr(v))
    except InvalidOperation:  # pragma: no cover - nan/inf never come out of openpyxl
        return None


def same_value(engine: Any, shown: Any, decimals: int) -> bool:
    """Does LibreOffice's cell value equal the engine's cell value?

    Numbers: the LO float rounded to ``decimals + 6`` places equals the engine's
    Decimal, or they differ by less than 1e-9.  Text: exactly.  The engine's ``""``
    matches an empty cell (None) or an empty string.
    """
    if engine in ("", None):
        return shown in ("", None)
    if isinstance(engine, Decimal):
        d = to_decimal(shown)
        if d is None:
            return False
        if d.quantize(Decimal(1).scaleb(-(decimals + 6))) == engine:
            return True
        return abs(Decimal(shown) - engine) < Decimal("1e-9")
    if isinstance(engine, bool):
        return shown is engine
    return isinstance(shown, str) and shown == engine


def summary_references(template: Path) -> list[tuple[str, str, str]]:
    """Cells of the 達成情形 sheet whose formula refers to result/sentence names.

    Returns (address, formula, kind) where kind is ``out`` (``=OUT_…``) or ``text``
    (the sentence joined with staff's notes).
    """
    wb = openpyxl.load_workbook(template, read_only=True)
    try:
        out: list[tuple[str, str, str]] = []
        for row in wb[L.SHEET_SUMMARY].iter_rows(min_row=1, min_col=1):
            for cell in row:
                v = cell.value
                if isinstance(v, str) and v.startswith("=OUT_"):
                    out.append((cell.coordinate, v, "out"))
                elif isinstance(v, str) and v.startswith("=TXT_"):
                    out.append((cell.coordinate, v, "text"))
        return out
    finally:
        wb.close()
