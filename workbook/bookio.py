"""The small workbook interface that ``calculate`` works through.

Two adapters implement it: :class:`FileBook` (openpyxl, for files) here, and the
xlwings adapter for live Excel.  I/O is batched: a sheet is read once as a grid,
and every write is one rectangular block.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from .files import WorkbookFileError

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


class FileBook:
    """A workbook file opened with openpyxl (formulas as text, inputs as typed)."""

    def __init__(self, path: str | Path):
        from openpyxl import load_workbook

        from .guard import inspect

        self.path = Path(path)
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise WorkbookFileError(
                f"無法讀取檔案：{exc.strerror or exc}", f"cannot read the file: {exc}", path=self.path
            ) from exc
        self.info = inspect(data, str(self.path))  # before any parser sees the bytes
        try:
            self.wb = load_workbook(io.BytesIO(data), rich_text=False, keep_vba=self.info.has_vba)
        except Exception as exc:  # openpyxl raises many types for a bad file
            raise WorkbookFileError(
                "無法開啟活頁簿，檔案可能已損毀或不是 Excel 檔",
                f"cannot open the workbook; it may be damaged or not an .xlsx file ({type(exc).__name__}: {exc})",
                path=self.path,
            ) from exc
        self._grids: dict[tuple, Grid] = {}

    def sheet_names(self) -> list[str]:
        return list(self.wb.sheetnames)

    def names(self) -> dict[str, tuple[str, int, int]]:
        out: dict[str, tuple[str, int, int]] = {}
        for name, dn in self.wb.defined_names.items():
            try:
                dests = list(dn.destinations)
            except Exception:  # a name that refers to #REF! or a formula
                continue
            if len(dests) == 1:
                sheet, address = dests[0]
                sheet = sheet.replace("''", "'")  # openpyxl leaves a quoted name's '' doubled
                try:
                    out[name] = (sheet, *parse_address(address))
                except ValueError:
                    continue
        return out

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        key = (sheet, rows, cols)
        if key not in self._grids:
            ws = self.wb[sheet]
            self._grids[key] = [
                list(r)
                for r in ws.iter_rows(min_row=1, min_col=1, max_row=rows, max_col=cols, values_only=True)
            ]
        return self._grids[key]

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        return self.grid(sheet, rows, cols)  # openpyxl without data_only gives formula text

    def restore_formula(self, sheet: str, row: int, col: int, formula: str) -> None:
        """Put a result formula back into its cell."""
        self.wb[sheet].cell(row, col).value = formula
        self._grids = {k: g for k, g in self._grids.items() if k[0] != sheet}

    def restore_protection(self) -> list[str]:
        """Protect again every form sheet whose protection was removed; return their names."""
        from .layout import SHEET_META

        fixed = []
        for ws in self.wb.worksheets:
            if ws.title != SHEET_META and not ws.protection.sheet:
                ws.protection.sheet = True
                fixed.append(ws.title)
        self._reprotected = fixed  # they get the plan's password in unprotected()
        return fixed

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """Merged ranges as (min_row, min_col, max_row, max_col)."""
        return [(m.min_row, m.min_col, m.max_row, m.max_col) for m in self.wb[sheet].merged_cells.ranges]

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        from openpyxl.cell.cell import MergedCell

        ws = self.wb[sheet]
        for r, line in enumerate(values):
            for c, v in enumerate(line):
                cell = ws.cell(row + r, col + c)
                if isinstance(cell, MergedCell):
                    continue
                cell.value = v
                if isinstance(v, str) and v.startswith("="):
                    cell.data_type = "s"  # a value, never a formula: text like "=HYPERLINK(…)" stays text
        self._grids = {k: g for k, g in self._grids.items() if k[0] != sheet}

    @contextlib.contextmanager
    def unprotected(self, sheets: Iterable[str], password: str | None) -> Iterator[None]:
        """openpyxl ignores protection when writing, so nothing is lifted; but a sheet the
        clerk protected with a password of their own is refused, as a live client would."""
        from openpyxl.worksheet.protection import hash_password

        expected = hash_password(password) if password else None
        for sheet in getattr(self, "_reprotected", []) if password else []:
            # protected again by restore_protection: with the plan's password, as a live client does
            self.wb[sheet].protection.password = password
        self._reprotected = []
        for sheet in sheets:
            protection = self.wb[sheet].protection
            held = protection.password or None
            if protection.sheet and held is not None and held != expected:
                raise foreign_password_error(sheet)
        yield

    def save(self, path: str | Path | None = None) -> Path:
        """Save atomically, to ``path`` or over the opened file.

        The metadata sheet is made very hidden again: LibreOffice saves it as merely
        hidden, which anyone could unhide from the menu.
        """
        from .files import save_atomic
        from .layout import SHEET_META

        if SHEET_META in self.wb.sheetnames:
            self.wb[SHEET_META].sheet_state = "veryHidden"

        return save_atomic(self.wb, Path(path) if path else self.path)


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
