"""The small workbook interface that ``calculate`` works through, and its cell helpers.

The adapters live in :mod:`workbook.clients`: files (openpyxl, ``clients.file``),
python-calamine (``clients.calamine``), live Excel over xlwings (``clients.excel``),
LibreOffice over UNO (``clients.uno``) and .ods files (``clients.ods``, ``clients.odswrite``).
I/O is batched: a sheet is read once as a grid, and every write is one rectangular block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from workbook.formats.files import WorkbookFileError

Grid = list[list[Any]]
_ADDRESS = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


# Column letters by hand (not openpyxl.utils): importing openpyxl costs the Excel
# button ~0.2 s, and the live path never needs it.
def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(col: int) -> str:
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def parse_address(address: str) -> tuple[int, int]:
    """``$B$7`` → (7, 2): 1-based row and column of a single-cell address."""
    m = _ADDRESS.match(address.replace("$", "").split(":")[0].upper())
    if not m:
        raise ValueError(f"not a cell address: {address}")
    return int(m.group(2)), _column_index(m.group(1))


def cell_address(row: int, col: int) -> str:
    """(7, 2) → ``B7``."""
    return f"{_column_letters(col)}{row}"


class Book(Protocol):
    """What ``calculate`` needs from a workbook, whatever holds it."""

    def sheet_names(self) -> list[str]:
        """Names of all sheets, in order."""

    def names(self) -> dict[str, tuple[str, int, int]]:
        """Workbook-scoped defined names that point at one cell: name → (sheet, row, col)."""

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        """The sheet's values from A1 to (rows, cols), or to the end of its used range (one read)."""

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        """The sheet's formulas as a grid, or None when the adapter cannot read them."""

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        """Write a rectangular block of values with its top-left at (row, col).

        Only called inside :meth:`unprotected` for the sheet: a live client refuses
        writes to locked cells of a protected sheet, exactly as desktop Excel does.
        """

    def unprotected(self, sheets: Iterable[str], password: str | None) -> AbstractContextManager[None]:
        """Lift the protection of ``sheets`` for the block, then restore it exactly.

        Every sheet is unprotected (with ``password``, the plan's) before anything is
        written; if one cannot be (the clerk protected it with a password of their own,
        or the client refuses), the sheets already unprotected are protected again and
        :class:`WorkbookFileError` names the sheet, so nothing is half-written.  On
        exit each sheet is protected again with the options it had (selection of
        locked and unlocked cells, formatting rights, password).
        """


def foreign_password_error(sheet: str) -> WorkbookFileError:
    """The message for a sheet protected with a password other than the plan's."""
    return WorkbookFileError(
        f"工作表「{sheet}」已被設定其他保護密碼，無法寫入計算結果。請先取消該工作表的保護（校閱 → 取消保護工作表）後再按「計算」；結果未寫入",
        f"sheet {sheet!r} is protected with a password other than the template's, so results cannot be "
        "written; unprotect it (Review → Unprotect Sheet) and calculate again. Nothing was written",
        sheet=sheet,
    )


def at(grid: Grid | None, row: int, col: int) -> Any:
    """One cell's value out of a grid (None outside it)."""
    if grid is not None and row - 1 < len(grid) and col - 1 < len(grid[row - 1]):
        return grid[row - 1][col - 1]
    return None
