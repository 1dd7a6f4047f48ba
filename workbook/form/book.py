"""The small workbook interface that ``calculate`` works through, and its cell helpers.

The adapters live in :mod:`workbook.books`: files (openpyxl, ``books.file``),
python-calamine (``books.calamine``), live Excel over xlwings (``books.excel``),
LibreOffice over UNO (``books.uno``) and .ods files (``books.ods``, ``books.ods_write``);
the LibreOffice button's bridge has its own (``buttons.bridge.PayloadBook``), and
``books.open`` chooses the adapter for a file.  I/O is batched: a sheet is read once as a grid, and every write is one rectangular block.
``parse_address`` and ``cell_address`` are the one codec's (:mod:`workbook.formats.cells`),
re-exported here for the form's code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

from workbook.formats.cells import cell_address as cell_address
from workbook.formats.cells import parse_address as parse_address
from workbook.formats.files import WorkbookFileError

if TYPE_CHECKING:
    from workbook.formats.guard import PackageInfo

Grid = list[list[Any]]


class Book:
    """What ``calculate`` needs from a workbook, whatever holds it: the base of every adapter.

    The six methods below the flags are what every adapter has.  What only some media can
    do is an *ability*, declared as a class flag (as xarray's ``BackendEntrypoint`` declares
    its own): :func:`workbook.form.calculate.calculate` reads the flag and never probes the
    object.  Every adapter sets every flag in its own class body (``tests/test_one_pipeline.py``
    holds them to it), and a flag set True comes with its method below.
    """

    #: ``rebuild_sheets``: deleted product sheets (填表說明, 檢核結果) can be recreated.
    can_rebuild_sheets: ClassVar[bool] = False
    #: ``merged``: merged areas can be read (a merged input is ``merged_input``).
    reads_merged: ClassVar[bool] = False
    #: ``restore_protection``: a form sheet whose protection staff removed is protected again.
    repairs_protection: ClassVar[bool] = False
    #: ``info``: the package guard's verdict on the file (:class:`~workbook.formats.guard.PackageInfo`:
    #: its macros give ``vba_present``).
    has_package_info: ClassVar[bool] = False
    #: ``typed_formulas``: formulas typed into cells are read apart from the values (a live
    #: client shows a formula's value in ``grid``; a file reader shows the formula itself).
    reads_typed_formulas: ClassVar[bool] = False
    #: ``restore_formula``: an overwritten result formula can be put back.
    restores_formulas: ClassVar[bool] = False
    #: An empty result cell means "never computed" (a values-only read of a file saved
    #: without cached results), not a wrong result.  A plain fact about the medium, no method.
    blank_results_are_unknown: ClassVar[bool] = False

    #: The flags above, by name (every adapter declares each of them).
    ABILITIES: ClassVar[tuple[str, ...]] = (
        "can_rebuild_sheets",
        "reads_merged",
        "repairs_protection",
        "has_package_info",
        "reads_typed_formulas",
        "restores_formulas",
        "blank_results_are_unknown",
    )

    #: With ``has_package_info``: what the guard learnt about the file.
    info: PackageInfo

    def sheet_names(self) -> list[str]:
        """Names of all sheets, in order."""
        raise NotImplementedError

    def names(self) -> dict[str, tuple[str, int, int]]:
        """Workbook-scoped defined names that point at one cell: name → (sheet, row, col)."""
        raise NotImplementedError

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        """The sheet's values from A1 to (rows, cols), or to the end of its used range (one read)."""
        raise NotImplementedError

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        """The sheet's formulas as a grid, or None when the adapter cannot read them."""
        raise NotImplementedError

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        """Write a rectangular block of values with its top-left at (row, col).

        Only called inside :meth:`unprotected` for the sheet: a live client refuses
        writes to locked cells of a protected sheet, exactly as desktop Excel does.
        """
        raise NotImplementedError

    def unprotected(self, sheets: Iterable[str], password: str | None) -> AbstractContextManager[None]:
        """Lift the protection of ``sheets`` for the block, then restore it exactly.

        Every sheet is unprotected (with ``password``, the plan's) before anything is
        written; if one cannot be (the clerk protected it with a password of their own,
        or the client refuses), the sheets already unprotected are protected again and
        :class:`WorkbookFileError` names the sheet, so nothing is half-written.  On
        exit each sheet is protected again with the options it had (selection of
        locked and unlocked cells, formatting rights, password).
        """
        raise NotImplementedError

    # -- abilities (each behind its flag) ---------------------------------------------------

    def rebuild_sheets(self, scope: Any, sheets: Iterable[str]) -> None:
        """(``can_rebuild_sheets``) Recreate the deleted product ``sheets`` with their names."""
        raise NotImplementedError

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """(``reads_merged``) Merged areas as (min_row, min_col, max_row, max_col)."""
        raise NotImplementedError

    def restore_protection(
        self, sheets: Iterable[str] | None = None, password: str | None = None
    ) -> list[str]:
        """(``repairs_protection``) Protect again those of ``sheets`` (the template's own; default:
        all but the metadata sheet) whose protection was removed, with ``password`` (the plan's),
        by the end of the next :meth:`unprotected` block; return their names."""
        raise NotImplementedError

    def typed_formulas(self, sheet: str, rows: int, cols: int) -> Mapping[tuple[int, int], str]:
        """(``reads_typed_formulas``) Cells of ``sheet`` up to (rows, cols) holding a formula:
        (row, col) → formula text (a mapping: an adapter may look one cell up on ``get``)."""
        raise NotImplementedError

    def restore_formula(self, sheet: str, row: int, col: int, formula: str) -> None:
        """(``restores_formulas``) Put a result formula back into its cell."""
        raise NotImplementedError


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
