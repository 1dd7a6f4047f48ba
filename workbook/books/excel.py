"""The live-Excel adapter: the :class:`~workbook.form.book.Book` interface over an ``xw.Book``.

Two xlwings engines can hand us a book:

* desktop Excel over COM (what the add-in's ``RunPython`` gives ``xw.Book.caller()``):
  values, typed formulas and sheet protection are all reachable through ``sheet.api``;
* xlwings' remote engine (a client's JSON payload): values only.  Its clients have no
  action that lifts sheet protection (``Remote.bas`` implements 37 actions, none about
  protection, and the payload does not even say whether a sheet is protected).  Calculate
  writes only the unprotected system sheet ``_kpi`` (issue 22), which needs none; a repair
  of a protected form sheet would fail half-way in the client, so on this engine
  :meth:`LiveBook.unprotected` refuses that before anything is written.

Result formulas are never read: an overwritten result is detected by its value
(``result_mismatch``).  Inputs are read as formulas too on COM, so a formula typed
into a count gets ``formula_in_input`` exactly as ``kpi calculate`` reports it; merged
areas are read and removed protection is put back on COM as well, so a merged input is
``merged_input`` and an unprotected form sheet ``protection_restored``, as in every adapter.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from workbook.form.book import Book, Grid, foreign_password_error, parse_address
from workbook.formats.cells import COLUMN, ROW
from workbook.formats.files import WorkbookFileError

#: ``Protect``'s keyword arguments that restore a ``Worksheet.Protection`` option.
ALLOW_OPTIONS = (
    "AllowFormattingCells",
    "AllowFormattingColumns",
    "AllowFormattingRows",
    "AllowInsertingColumns",
    "AllowInsertingRows",
    "AllowInsertingHyperlinks",
    "AllowDeletingColumns",
    "AllowDeletingRows",
    "AllowSorting",
    "AllowFiltering",
    "AllowUsingPivotTables",
)


def remote_cannot_unprotect() -> WorkbookFileError:
    """The message when the client cannot lift sheet protection (xlwings' remote engine)."""
    return WorkbookFileError(
        "此連線方式（xlwings 遠端引擎）無法解除工作表保護，結果未寫入。"
        "請在桌面版 Excel 使用「績效指標 → 計算」按鈕，或將工作簿寄回彙整窗口以 kpi calculate 計算",
        "this client (xlwings' remote engine) cannot lift sheet protection, so nothing was written; "
        "use the 計算 button in desktop Excel, or have the workbook calculated with kpi calculate",
    )


def cannot_unprotect_here() -> WorkbookFileError:
    """The message on a desktop Excel reached without COM (macOS, AppleScript): not supported yet."""
    return WorkbookFileError(
        "此版本 Excel（macOS）尚無法由按鈕解除工作表保護，結果未寫入。"
        "請改用 Windows 版 Excel 的「計算」按鈕，或將工作簿寄回彙整窗口以 kpi calculate 計算",
        "this Excel (macOS) cannot have sheet protection lifted by the button yet, so nothing was written; "
        "use the 計算 button in Excel for Windows, or have the workbook calculated with kpi calculate",
    )


def is_com(book: Any) -> bool:
    """True when ``book`` is desktop Excel reached over COM (sheets expose ``ProtectContents``)."""
    try:
        api = book.sheets[0].api
        return api is not None and hasattr(api, "ProtectContents")
    except Exception:  # the remote engine has no COM object behind its sheets
        return False


class LiveBook(Book):
    """An open workbook in Excel, reached through xlwings. One read per sheet, one write per block.

    The abilities below hold on desktop Excel (COM); the remote engine's payload carries
    values only, so there they find nothing (and that engine writes nothing anyway).
    """

    can_rebuild_sheets = False  # a deleted product sheet is reported (sheet_missing)
    reads_merged = True  # Range.MergeCells / MergeArea
    repairs_protection = True  # Protect with the options the sheet kept, when the writes end
    has_package_info = False  # an open workbook, not a package
    reads_typed_formulas = True  # grid() shows values: Range.Formula tells typed formulas apart
    restores_formulas = False  # results are checked by value (result_mismatch)
    blank_results_are_unknown = False  # Excel computes every result it shows

    def __init__(self, book: Any):
        self.book = book
        self.com = is_com(book)
        self._grids: dict[tuple, Grid] = {}
        self._typed: dict[str, dict[tuple[int, int], str]] = {}
        #: Form sheets staff unprotected: (name, COM sheet, Protect options, EnableSelection).
        self._reprotect: list[tuple[str, Any, dict[str, Any], int]] = []

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def names(self) -> dict[str, tuple[str, int, int]]:
        """Single-cell defined names.  Over COM in a few calls whatever their number
        (:meth:`_listed_names`); one by one only where that fails, or on the remote
        engine, whose names are already in the payload."""
        if self.com:
            with contextlib.suppress(Exception):  # e.g. a protected metadata sheet (template 2)
                return self._listed_names()
        return self._names_one_by_one()

    def _listed_names(self) -> dict[str, tuple[str, int, int]]:
        """Excel's Paste List (``Range.ListNames``) into free columns of the metadata sheet
        (very hidden, unprotected, calculate's own), read back as one block, then cleared.
        The paste is no undo step that matters: any write over COM clears Excel's undo list.

        One name costs about eight COM calls through ``book.names`` (the item, its name, its
        range, the range's sheet, name, row, column and shape: 2,550 calls for 200 indicators);
        this is about ten calls in all.
        """
        from workbook.form.layout import SHEET_META

        count = int(self.book.api.Names.Count)
        if not count:
            return {}
        ws = self.book.sheets[SHEET_META]
        col = SCRATCH_COLUMN  # fixed: a used range grown by earlier lists would move it on
        block = ws.range((1, col), (count, col + 1))
        ws.range((1, col)).api.ListNames()
        try:
            rows = block.options(ndim=2).value
        finally:
            block.clear_contents()
        out: dict[str, tuple[str, int, int]] = {}
        for name, refers in rows:
            at = _single_cell(refers)
            if name and at is not None:
                out[str(name)] = at
        return out

    def _names_one_by_one(self) -> dict[str, tuple[str, int, int]]:
        out: dict[str, tuple[str, int, int]] = {}
        for name in self.book.names:
            try:
                rng = name.refers_to_range
            except Exception:  # a name pointing at #REF! or at a constant
                continue
            if rng is None or rng.shape != (1, 1):
                continue
            out[name.name] = (rng.sheet.name, rng.row, rng.column)
        return out

    def recalculate(self) -> None:
        """Bring formula results up to date before reading, whatever the calculation mode.

        In manual calculation mode Excel shows stale results until F9, and every one
        would read as a false ``result_mismatch``.  ``Application.Calculate`` computes
        without changing the user's mode, so there is nothing to restore.
        """
        if not self.com:
            return  # the remote client sent values it had already calculated
        app = self.book.app
        if app.calculation != "automatic":
            app.calculate()

    def _extent(self, sheet: str, rows: int | None, cols: int | None) -> tuple[Any, int, int]:
        ws = self.book.sheets[sheet]
        if rows is None or cols is None:
            last = ws.used_range.last_cell
            rows, cols = rows or last.row, cols or last.column
        return ws, rows, cols

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        key = (sheet, rows, cols)
        if key not in self._grids:
            ws, rows, cols = self._extent(sheet, rows, cols)
            # Anchor at A1 (COM's used range may start later) so grid[r-1][c-1] is cell (r, c).
            # Errors as their text ("#DIV/0!"), as a file shows them, not None.
            values = ws.range((1, 1), (rows, cols)).options(ndim=2, err_to_str=True).value
            self._grids[key] = [list(row) for row in values]
        return self._grids[key]

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        return None  # results are checked by value on both engines (see the module docstring)

    def typed_formulas(self, sheet: str, rows: int, cols: int) -> dict[tuple[int, int], str]:
        """Cells of ``sheet`` up to (rows, cols) that hold a formula: (row, col) → formula text.

        COM's ``Range.Formula`` gives a constant as its text and a formula as ``=…``; a
        text cell that merely starts with "=" (typed with an apostrophe) shows the same
        text as its value, so it is not a formula.  Empty on the remote engine, whose
        payload carries values only.
        """
        if not self.com:
            return {}
        if sheet not in self._typed:
            ws = self.book.sheets[sheet]
            raw = ws.range((1, 1), (rows, cols)).formula
            if not isinstance(raw, tuple):  # a single cell gives a string
                raw = ((raw,),)
            values = self.grid(sheet, rows, cols)
            found = {}
            for r, line in enumerate(raw):
                for c, text in enumerate(line):
                    if isinstance(text, str) and text.startswith("=") and values[r][c] != text:
                        found[(r + 1, c + 1)] = text
            self._typed[sheet] = found
        return self._typed[sheet]

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """Merged areas over the extent read, as (min_row, min_col, max_row, max_col).

        COM has no list of merged areas, but ``Range.MergeCells`` answers for a whole block:
        False when no cell of it is merged, True when every cell is, None (COM's Null) when
        some are.  So the extent is halved only where merges are, and an area is read from
        one cell's ``MergeArea``: a few calls per merged area instead of one per cell.
        """
        if not self.com:
            return []
        ws = self.book.sheets[sheet]
        read = [k[1:] for k in self._grids if k[0] == sheet and k[1] and k[2]]
        rows, cols = max(read) if read else self._extent(sheet, None, None)[1:]
        found: set[tuple[int, int, int, int]] = set()
        blocks = [(1, 1, rows, cols)] if rows and cols else []
        while blocks:
            r1, c1, r2, c2 = blocks.pop()
            state = ws.range((r1, c1), (r2, c2)).merge_cells
            if state is not None and not state:
                continue  # nothing merged here
            if state:  # every cell merged: perhaps one area covers the whole block
                area = ws.range((r1, c1)).merge_area
                height, width = area.shape
                top, left = area.row, area.column
                found.add((top, left, top + height - 1, left + width - 1))
                if top <= r1 and left <= c1 and top + height - 1 >= r2 and left + width - 1 >= c2:
                    continue
            if (r1, c1) == (r2, c2):
                continue
            if r2 - r1 >= c2 - c1:
                mid = (r1 + r2) // 2
                blocks += [(r1, c1, mid, c2), (mid + 1, c1, r2, c2)]
            else:
                mid = (c1 + c2) // 2
                blocks += [(r1, c1, r2, mid), (r1, mid + 1, r2, c2)]
        return sorted(found)

    def restore_protection(
        self, sheets: Iterable[str] | None = None, password: str | None = None
    ) -> list[str]:
        """Form sheets (``sheets``: the template's own) whose protection staff removed.

        They are protected again when the next :meth:`unprotected` block ends (when
        nothing was refused), with the plan's password and the options the sheet kept
        (read now: ``Protect`` would take Excel's defaults for any option not given), as
        ``kpi calculate`` leaves them in the file.  The remote engine cannot see protection.
        """
        from workbook.form.layout import SHEET_META

        self._reprotect = []
        if not self.com:
            return []
        wanted = set(sheets) if sheets is not None else None
        for ws in self.book.sheets:
            if ws.name == SHEET_META or (wanted is not None and ws.name not in wanted):
                continue
            api = ws.api
            if not api.ProtectContents:
                self._reprotect.append((ws.name, api, *protection_options(api)))
        return [name for name, *_ in self._reprotect]

    @contextlib.contextmanager
    def unprotected(self, sheets: Iterable[str], password: str | None) -> Iterator[None]:
        """Lift and restore protection over COM (see :meth:`workbook.form.book.Book.unprotected`).

        Each protected sheet's options are read first; ``Unprotect`` with no password,
        then with the plan's (Excel ignores the argument on a sheet protected without one,
        so only this order tells them apart); afterwards ``Protect`` with the password that
        lifted it, the same options and ``EnableSelection`` set back: every sheet comes back
        as it was (the metadata sheet without a password, as the template has it).  A sheet
        still protected (COM raises on a wrong password) puts back the sheets already lifted
        and raises, before any write.  Once the writes have run, the sheets
        :meth:`restore_protection` found unprotected are protected too, with the plan's password.
        """
        from workbook.form.layout import SHEET_META

        sheets = list(sheets)
        if not self.com:
            # The metadata sheet is unprotected (template 3): only a repair elsewhere needs more.
            if [s for s in sheets if s != SHEET_META]:
                engine = getattr(getattr(self.book.app, "engine", None), "name", "")
                raise remote_cannot_unprotect() if engine == "remote" else cannot_unprotect_here()
            yield
            return
        lifted: list[tuple[str, Any, dict[str, Any], int, str]] = []
        reprotect = [(*r, password or "") for r in self._reprotect]
        self._reprotect = []
        wrote = False
        try:
            for name in sheets:
                api = self.book.sheets[name].api
                if not api.ProtectContents:
                    continue
                options, selection = protection_options(api)
                for candidate in dict.fromkeys(["", password or ""]):
                    with contextlib.suppress(Exception):  # COM: "The password you supplied is not correct…"
                        api.Unprotect(candidate)
                    if not api.ProtectContents:
                        lifted.append((name, api, options, selection, candidate))
                        break
                else:
                    raise foreign_password_error(name)
            wrote = True
            yield
        finally:
            failed = []
            for name, api, options, selection, key in [*reversed(lifted), *(reprotect if wrote else ())]:
                try:  # every sheet is put back, even if one refuses
                    api.Protect(Password=key, **options)
                    api.EnableSelection = selection
                except Exception:
                    failed.append(name)
            if failed:
                raise WorkbookFileError(
                    f"結果已寫入，但工作表「{'、'.join(failed)}」無法重新設定保護，請存檔前以「校閱 → 保護工作表」重新保護",
                    f"results were written, but sheet(s) {', '.join(failed)} could not be protected again; "
                    "protect them (Review → Protect Sheet) before saving",
                    sheet=failed[0],
                )

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        # Excel parses written text as if typed: "=…" becomes a formula, "2026-07-10 09:30:00"
        # a date, "187" a number.  The apostrophe prefix keeps every text exactly as text.
        block = [["'" + v if isinstance(v, str) and v else v for v in line] for line in values]
        self.book.sheets[sheet].range((row, col)).value = block


#: Where the name list goes in the metadata sheet (column CV): calculate's record and
#: report end far before it (column D + the most inputs of an indicator + 10).
SCRATCH_COLUMN = 100
#: ``RefersTo`` text of one cell: ``=填表說明!$B$20`` or ``='二-1 本府…'!$C$12``.
_REFERS_TO = re.compile(rf"^=(?:'((?:[^']|'')+)'|([^'!]+))!(\$?{COLUMN}\$?{ROW})$")


def _single_cell(refers: Any) -> tuple[str, int, int] | None:
    """(sheet, row, col) of a name's ``RefersTo`` text when it is one cell, else None."""
    m = _REFERS_TO.match(str(refers or ""))
    if m is None:
        return None
    sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
    return (sheet, *parse_address(m.group(3).replace("$", "")))


def protection_options(api: Any) -> tuple[dict[str, Any], int]:
    """A protected sheet's ``Protect`` keyword arguments and its ``EnableSelection``, read over COM."""
    protection = api.Protection
    options: dict[str, Any] = {
        "DrawingObjects": bool(api.ProtectDrawingObjects),
        "Contents": True,
        "Scenarios": bool(api.ProtectScenarios),
    }
    options.update({key: bool(getattr(protection, key)) for key in ALLOW_OPTIONS})
    return options, api.EnableSelection
