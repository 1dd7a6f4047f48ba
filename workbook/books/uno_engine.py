"""``kpi calculate --engine libreoffice``: calculate a file inside a private LibreOffice.

The file is opened in a headless LibreOffice of its own (fresh profile, recalculated on
load), calculated through :class:`~workbook.books.uno.UnoBook` with the same
:func:`workbook.form.calculate.calculate` as the buttons, and stored in its own format.
This is the LibreOffice step of :func:`workbook.books.open.calculate_path`, which makes
the checks every engine shares first (the output's format, VBA, the package guard).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from kpi_engine import Plan
from workbook.books.uno import STORE_FILTERS, UnoBook, office, store
from workbook.form.calculate import Outcome, calculate_file_book
from workbook.formats.files import (
    FileState,
    WorkbookFileError,
    check_output_target,
    check_writable,
    read_with_state,
    target_lock,
)


def check_format(path: Path) -> None:
    """Refuse a file LibreOffice could not store back in its own format."""
    if path.suffix.lower() not in STORE_FILTERS:
        raise WorkbookFileError(
            "LibreOffice 引擎只接受 .xlsx 或 .ods 檔",
            "the LibreOffice engine reads .xlsx or .ods files",
            path=path,
        )


def calculate_file(
    path: str | Path,
    output: str | Path | None = None,
    *,
    plans: Iterable[Plan] = (),
    write: bool = True,
    now: datetime | None = None,
    data: bytes | None = None,
    state: FileState | None = None,
) -> Outcome:
    """Calculate the workbook at ``path`` with LibreOffice; store to ``output`` (or over ``path``).

    ``data`` and ``state``: the file's bytes and their state as the caller read and checked
    them (:func:`workbook.books.open.calculate_path`); LibreOffice then gets exactly those.
    """
    path = Path(path)
    target = Path(output) if output else path
    check_format(path)
    if data is None or state is None:
        data, state = read_with_state(path)
    if write:
        check_output_target(target)  # store() refuses a link or a non-file: say so before LibreOffice starts
        check_writable(target)  # before LibreOffice starts: the file may be open elsewhere
    # LibreOffice opens a private copy: its lock file never appears beside the user's file,
    # and the input is never touched (even when the output replaces it at the end).
    work = Path(tempfile.mkdtemp(prefix="kpi-lo-engine-"))
    try:
        copy = work / f"input{path.suffix.lower()}"
        copy.write_bytes(data)  # the bytes checked above, whatever happens to the file meanwhile
        if not write:
            return _run(copy, path, target, plans=plans, write=False, now=now)
        # As with the default engine: the lock keeps another kpi run off the target, and
        # its state refuses to replace a save another program made while LibreOffice worked.
        with target_lock(target):
            guard = state if _same(target, path) else FileState.of(target)
            return _run(copy, path, target, plans=plans, write=True, now=now, unchanged_since=guard)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _same(a: Path, b: Path) -> bool:
    try:
        return a == b or os.path.samefile(a, b)
    except OSError:
        return False


def _run(
    copy: Path,
    path: Path,
    target: Path,
    *,
    plans: Iterable[Plan],
    write: bool,
    now: datetime | None = None,
    unchanged_since: FileState | None = None,
) -> Outcome:
    with office(litter=[copy.parent]) as lo:  # the copy goes with LibreOffice if kpi is killed
        doc = lo.open(copy)
        try:
            outcome = calculate_file_book(
                UnoBook(doc, bulk_names=True), path, plans=plans, write=write, now=now
            )
            if write:
                store(doc, target, unchanged_since=unchanged_since)
        except WorkbookFileError:
            raise
        except Exception as exc:  # a UNO error: LibreOffice refused or crashed
            raise WorkbookFileError(
                "LibreOffice 計算時發生錯誤，結果未寫入",
                f"LibreOffice failed; nothing was written ({type(exc).__name__}: {exc})",
                path=path,
            ) from exc
        finally:
            with contextlib.suppress(Exception):
                doc.close(True)
    return outcome
