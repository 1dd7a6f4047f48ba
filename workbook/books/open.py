"""A workbook file: the adapter its format needs, and the one pipeline that calculates it.

:func:`calculate_path` is how a file is checked or calculated, whoever asks (``kpi check``,
``kpi calculate``, ``kpi demo``):

* the adapter is chosen by the file's name, as every command chooses (an .ods renamed
  .xlsx is refused alike by each): :func:`open_book`;
* what every engine refuses is refused here, once, before any work: an output that must
  not be replaced (a link, a folder, an input), an output in another format than the
  input's, an .xlsx with VBA macros;
* the file engine (the default) reads the package (python-calamine and a scan of the parts)
  and saves cell by cell (:class:`~workbook.books.xlsx_file.XlsxFileBook`,
  :class:`~workbook.books.ods_write.OdsFileBook`; openpyxl's FileBook only for a sheet to recreate),
  under the target's lock, refusing to replace a save another program made meanwhile;
* ``engine="libreoffice"``, or an .ods the cell patcher cannot write, calculates in a
  private LibreOffice (:func:`workbook.books.uno_engine.calculate_file`), locked and
  checked the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from kpi_engine import Plan
from workbook.form.book import Book
from workbook.form.calculate import Outcome, calculate_file_book
from workbook.formats.files import (
    FileState,
    WorkbookFileError,
    check_output_target,
    read_with_state,
    target_lock,
)
from workbook.outputs import output_format

#: ``"file"``: the file itself, cell by cell (no LibreOffice); ``"libreoffice"``: a private LibreOffice.
ENGINES = ("file", "libreoffice")
#: ``"read"``: formulas visible, nothing written (``kpi check``); ``"write"``: writes recorded and saved.
MODES = ("read", "write")


def is_ods(path: str | Path) -> bool:
    """Is this an OpenDocument spreadsheet, by its name (as every command decides)?"""
    return Path(path).suffix.lower() == ".ods"


def open_book(path: str | Path, mode: str = "read") -> Book:
    """The adapter for the workbook file at ``path``, chosen by its name.

    ``mode="read"``: formulas visible, as ``kpi check`` reads (.xlsx: XlsxFileBook, .ods: OdsBook).
    ``mode="write"``: a book that records calculate's writes and saves them cell by cell
    (.xlsx: XlsxFileBook, .ods: OdsFileBook); an .xlsx calculate that needs openpyxl's model
    (a sheet to recreate) is handed to FileBook by :func:`file_engine`.  Each has passed the package guard before a
    parser saw the bytes.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if is_ods(path):
        if mode == "write":
            from workbook.books.ods_write import OdsFileBook

            return OdsFileBook(path)
        from workbook.books.ods import OdsBook

        data, _ = read_with_state(Path(path))
        return OdsBook(data, os.fspath(path), formulas_visible=True)
    from workbook.books.xlsx_file import XlsxFileBook

    return XlsxFileBook(path)


def calculate_path(
    path: str | Path,
    out: str | Path | None = None,
    *,
    engine: str = "file",
    plans: Iterable[Plan] = (),
    write: bool = True,
    now: datetime | None = None,
) -> Outcome:
    """Check (``write=False``) or calculate and save the workbook file at ``path``.

    ``out``: save there instead of over ``path``, in the input's format.  ``plans``: plans
    to match the workbook's fingerprint (else the plan it carries).  The outcome's
    ``saved`` and ``notes`` say where and how it was saved.  Raises
    :class:`~workbook.formats.files.WorkbookFileError` when the file cannot be used.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    plans = list(plans)
    if engine == "libreoffice":
        return _in_libreoffice(path, out, plans=plans, write=write, now=now)
    if not write:
        return calculate_file_book(open_book(path, "read"), path, plans=plans, write=False, now=now)
    outcome = file_engine(path, out, plans=plans, now=now)
    if outcome is None:  # an .ods only LibreOffice can write (docs/decisions.md, "ODF")
        return _in_libreoffice(path, out, plans=plans, write=True, now=now)
    return outcome


def file_engine(
    path: str | Path,
    out: str | Path | None = None,
    *,
    plans: Iterable[Plan] = (),
    now: datetime | None = None,
) -> Outcome | None:
    """Calculate the file at ``path`` and save it cell by cell, without LibreOffice.

    None when an .ods needs LibreOffice for this calculate (an overwritten formula to put
    back, a sheet to protect again or recreate, a layout beyond the cell patcher); nothing
    is written then.
    """
    source = Path(path)
    # What each format's book raises when it cannot do this calculate: only that module is loaded.
    refused: type[Exception] | tuple[()] = ()  # an .ods only LibreOffice can write
    handed_over: type[Exception] | tuple[()] = ()  # an .xlsx only openpyxl's model can write
    if is_ods(source):
        from workbook.formats.ods_patch import OdsPatchError as refused
    else:
        from workbook.books.xlsx_file import NeedsOpenpyxl as handed_over
    target = _output(source, out)
    # The lock keeps a second kpi/button run off the file; FileState catches a save from
    # Excel or LibreOffice made while we worked (advisory locks do not stop those).
    with target_lock(target):
        target_state = FileState.of(target) if out else None
        book = open_book(path, "write")
        if not is_ods(source) and book.info.has_vba:
            raise macros_refused(path)
        try:
            outcome = calculate_file_book(book, path, plans=plans, write=True, now=now)
            outcome.saved = book.save(out or None, unchanged_since=target_state, outcome=outcome)
        except refused:
            return None
        except handed_over:
            # A deleted sheet to recreate, or a package beyond the patcher: openpyxl's model,
            # from the start (nothing was written).
            from workbook.books.file import FileBook

            book = FileBook(path)
            outcome = calculate_file_book(book, path, plans=plans, write=True, now=now)
            outcome.saved = book.save(out or None, unchanged_since=target_state, outcome=outcome)
    outcome.notes = list(book.save_notes)
    return outcome


def _in_libreoffice(
    path: str | Path, out: str | Path | None, *, plans: list[Plan], write: bool, now: datetime | None
) -> Outcome:
    """The LibreOffice engine, after the checks every engine makes (LibreOffice never sees
    bytes the guard has not passed)."""
    from workbook.books import uno_engine

    source = Path(path)
    uno_engine.check_format(source)
    data, state = read_with_state(source)
    if is_ods(source):
        from workbook.books.ods import OdsBook
        from workbook.books.uno import require_libreoffice

        OdsBook(data, os.fspath(path), formulas_visible=True)  # the guard and a full read
        require_libreoffice(source)
    else:
        from workbook.formats.guard import inspect

        if inspect(data, str(source)).has_vba and write:
            raise macros_refused(path)
    target = _output(source, out) if write else source
    outcome = uno_engine.calculate_file(
        source, target, plans=plans, write=write, now=now, data=data, state=state
    )
    if write:
        outcome.saved = target
    return outcome


def _output(source: Path, out: str | Path | None) -> Path:
    """Where the calculated workbook goes: ``out`` (never an input, a link or a non-file, and
    in the input's format, as :func:`workbook.outputs.output_format` decides), or over ``source``."""
    if not out:
        return source
    target = check_output_target(out, [source])
    output_format("calculate", target, source=source)
    return target


def macros_refused(path: str | Path) -> WorkbookFileError:
    """The refusal to calculate an .xlsx that holds VBA macros (saving could lose or run them)."""
    return WorkbookFileError(
        "活頁簿含有巨集（VBA），為免巨集遺失或被執行，請另存為不含巨集的 .xlsx 後再計算",
        "the workbook contains VBA macros; save it as a macro-free .xlsx before calculating",
        path=path,
    )
