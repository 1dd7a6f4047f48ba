"""Workbook files opened with openpyxl and saved cell by cell (the file client).

:class:`FileBook` reads with openpyxl (formulas as text, inputs as typed) and records
every write; :meth:`FileBook.save` applies the record to the original bytes
(:func:`workbook.formats.xlsx_patch.patch_package`), so nothing it does not own is rewritten.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from workbook.form.book import Book, Grid, foreign_password_error, parse_address
from workbook.formats.files import FileState, WorkbookFileError, read_with_state, save_atomic

#: Whether this process runs one command and ends (the ``kpi`` command line sets it; a
#: long-lived process such as a test run or an office macro does not): then a loaded
#: workbook's objects are frozen out of the garbage collector (``gc.freeze``), never freed.
one_shot = False


class SavedFile:
    """The save steps the file books (:class:`FileBook`, ``OdsFileBook``) share.

    A subclass gives :meth:`_content` (the bytes or workbook to write) and may react to
    a save over the opened file in :meth:`_saved`.
    """

    path: Path
    state: FileState

    def _open(self, path: str | Path) -> bytes:
        """Read the file once (remembering its state for the save) and pass it by the package
        guard before any parser sees the bytes; the bytes."""
        from workbook.formats.guard import inspect

        self.path = Path(path)
        self.data, self.state = read_with_state(self.path)
        self.info = inspect(self.data, str(self.path))
        return self.data

    def save(
        self,
        path: str | Path | None = None,
        *,
        unchanged_since: FileState | None = None,
        outcome: Any = None,
    ) -> Path:
        """Save atomically, to ``path`` or over the opened file (see :meth:`_content`).

        Saving over the opened file is refused if it changed on disk since it was read;
        saving to another ``path`` is refused if it changed since ``unchanged_since``.
        """
        target, same = self._target(path)
        content = self._content(outcome)
        saved = save_atomic(content, target, unchanged_since=self.state if same else unchanged_since)
        if same:
            self._saved(content, saved)
        return saved

    def _target(self, path: str | Path | None) -> tuple[Path, bool]:
        """Where to save, and whether that is the opened file."""
        # Over the opened file through a symlink: replace the file it points at, not the link.
        target = Path(path) if path else (self.path.resolve() if self.path.is_symlink() else self.path)
        return target, target == self.path or _same_file(target, self.path)

    def _content(self, outcome: Any) -> Any:
        raise NotImplementedError

    def _saved(self, content: Any, saved: Path) -> None:
        """After a save over the opened file (nothing by default)."""


class FileBook(SavedFile, Book):
    """A workbook file opened with openpyxl (formulas as text, inputs as typed)."""

    can_rebuild_sheets = True  # saved whole by openpyxl then
    reads_merged = True
    repairs_protection = True
    has_package_info = True
    reads_typed_formulas = False  # grid() shows a typed formula as its text already
    restores_formulas = True
    blank_results_are_unknown = False  # formulas are read, never their cached values

    def __init__(self, path: str | Path):
        from openpyxl import load_workbook

        from workbook.formats.xlsx_patch import Edits

        data = self._open(path)
        try:
            self.wb = load_workbook(io.BytesIO(data), rich_text=False, keep_vba=self.info.has_vba)
        except Exception as exc:  # openpyxl raises many types for a bad file
            raise WorkbookFileError(
                "無法開啟活頁簿，檔案可能已損毀或不是 Excel 檔",
                f"cannot open the workbook; it may be damaged or not an .xlsx file ({type(exc).__name__}: {exc})",
                path=self.path,
            ) from exc
        if one_shot:
            # Millions of cells, styles and their parent links, alive until the process ends:
            # moved out of the collector's reach, so each full collection does not walk them
            # again (issue 25: about a third of a large calculate's CPU).
            gc.freeze()
        self._grids: dict[tuple, Grid] = {}
        # Every change is recorded as well as made in openpyxl's model: save() applies the
        # record to the original bytes, so what openpyxl does not model survives.
        self.edits = Edits()
        #: Warnings about the save itself (a full rewrite that foreign content may not survive).
        self.save_notes: list[tuple[str, str]] = []
        self.rebuilt: list[str] = []  # product sheets recreated: only a full save can add them
        self._protect_on_save: set[str] = set()

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
        from workbook.formats.xlsx_patch import Formula

        self.wb[sheet].cell(row, col).value = formula
        self.edits.cells.setdefault(sheet, {})[(row, col)] = Formula(formula.removeprefix("="))
        self._grids = {k: g for k, g in self._grids.items() if k[0] != sheet}

    def restore_protection(
        self, sheets: Iterable[str] | None = None, password: str | None = None
    ) -> list[str]:
        """Protect again every form sheet whose protection was removed; return their names.

        ``sheets`` are the product's own sheets (default: all but the metadata sheet);
        a sheet staff added stays as they left it.  ``password`` is accepted for the
        adapters' common signature; a file keeps the protection options it had.
        """
        from workbook.form.layout import SHEET_META

        fixed = []
        wanted = set(sheets) if sheets is not None else None
        for ws in self.wb.worksheets:
            if ws.title == SHEET_META or (wanted is not None and ws.title not in wanted):
                continue
            if not ws.protection.sheet:
                # Only switched back on: the options (and password) the sheet kept stay, as
                # the LibreOffice and Excel adapters restore them.
                ws.protection.sheet = True
                self._protect_on_save.add(ws.title)  # as the model stands at save (password set later)
                fixed.append(ws.title)
        self._reprotected = fixed  # they get the plan's password in unprotected()
        return fixed

    def rebuild_sheets(self, scope, sheets: Iterable[str]) -> None:
        """Recreate deleted product sheets (填表說明, 檢核結果) from the template, names and all.

        A new sheet is a new package part, which the cell patcher does not add, so the
        workbook is then saved whole by openpyxl; :meth:`save` says so in ``save_notes``.
        """
        from workbook.form.builder import _Builder
        from workbook.form.layout import SHEET_GUIDE, SHEET_META

        builder = _Builder(self.wb, scope)
        for sheet in sheets:
            if sheet in self.wb.sheetnames:  # present but its names are gone: rebuild it whole
                self.wb.remove(self.wb[sheet])
            (builder.guide if sheet == SHEET_GUIDE else builder.findings)()
            ws = self.wb[sheet]
            # The guide goes first; the findings sheet last before the metadata sheet.
            meta_at = self.wb.sheetnames.index(SHEET_META) if SHEET_META in self.wb.sheetnames else None
            position = (
                0 if sheet == SHEET_GUIDE else (meta_at if meta_at is not None else len(self.wb.sheetnames))
            )
            self.wb.move_sheet(ws, position - self.wb.sheetnames.index(ws.title))
            self.rebuilt.append(sheet)
        self._grids = {}

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """Merged ranges as (min_row, min_col, max_row, max_col)."""
        return [(m.min_row, m.min_col, m.max_row, m.max_col) for m in self.wb[sheet].merged_cells.ranges]

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        from openpyxl.cell.cell import MergedCell

        ws = self.wb[sheet]
        record = self.edits.cells.setdefault(sheet, {})
        for r, line in enumerate(values):
            for c, v in enumerate(line):
                cell = ws.cell(row + r, col + c)
                if isinstance(cell, MergedCell):
                    continue
                cell.value = v
                if isinstance(v, str) and v.startswith("="):
                    cell.data_type = "s"  # a value, never a formula: text like "=HYPERLINK(…)" stays text
                record[(row + r, col + c)] = v  # text is written as an inline string, never a formula
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

    def _content(self, outcome: Any) -> Any:
        """What :meth:`SavedFile.save` writes: the recorded edits patched into the original bytes.

        ``outcome`` (the calculate that made the edits) is accepted for the file books'
        common signature: an .xlsx asks for a recalculation on load instead
        (``fullCalcOnLoad``), so no cached result is written here.

        Only the recorded edits are applied to the original bytes
        (:func:`workbook.formats.xlsx_patch.patch_package`): every other part and cell stays as
        it was.  The metadata sheet is made very hidden again (LibreOffice saves it
        as merely hidden, which anyone could unhide from the menu).

        Only when the package cannot be patched cell by cell (a product sheet had to
        be recreated, or a layout beyond the patcher) is the whole workbook rewritten
        by openpyxl, and :attr:`save_notes` says that foreign content may be lost.
        """
        from openpyxl.xml.functions import tostring

        from workbook.form.layout import SHEET_META
        from workbook.formats.xlsx_patch import PatchError, patch_package

        edits = self.edits
        for sheet in self._protect_on_save:
            edits.protect[sheet] = tostring(self.wb[sheet].protection.to_tree())
        if SHEET_META in self.wb.sheetnames and self.wb[SHEET_META].sheet_state != "veryHidden":
            edits.sheet_states[SHEET_META] = "veryHidden"
            self.wb[SHEET_META].sheet_state = "veryHidden"
        content: Any = None
        reason = "、".join(self.rebuilt)
        if not self.rebuilt:
            try:
                content = patch_package(self.data, edits) if edits else self.data
            except PatchError as exc:
                reason = str(exc)
        if content is None:
            content = self.wb
            self.save_notes.append(
                (
                    f"已整份重新儲存活頁簿（{reason}）；員工自行加入的圖片、圖表、註解格式等內容可能遺失，請開啟檢查",
                    f"the whole workbook was rewritten ({reason}); pictures, charts, comment formatting or "
                    "other content staff added may be lost — open it and check",
                )
            )
        return content

    def _saved(self, content: Any, saved: Path) -> None:
        from workbook.formats.xlsx_patch import Edits

        self.data = content if isinstance(content, bytes) else saved.read_bytes()
        self.state = FileState.of(saved, self.data)
        self.edits = Edits()
        self._protect_on_save = set()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
