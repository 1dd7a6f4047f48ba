"""LibreOffice as a live client: the :class:`~workbook.form.book.Book` interface over UNO.

* :func:`import_uno` makes ``import uno`` work from any Python (pyenv, a venv) when
  LibreOffice's Python-UNO bridge is installed (Debian ``python3-uno``, or the Python
  that ships inside LibreOffice on Windows);
* :func:`office` starts a private headless ``soffice`` (fresh profile with the
  recalculate-on-load settings of :mod:`workbook.libreoffice`), connects over a pipe and
  always kills it on exit;
* :class:`UnoBook` reads and writes an open document the way a click in Calc would:
  values as LibreOffice computes them, writes through UNO, sheet protection enforced.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbook import libreoffice
from workbook.books import unocore
from workbook.form.book import Book, Grid
from workbook.formats.files import FileState, WorkbookFileError
from workbook.interrupts import deferred_interrupts
from workbook.libreoffice import write_profile

#: Where Debian and the LibreOffice installers put the Python-UNO bridge.
_UNO_PATHS_POSIX = ("/usr/lib/python3/dist-packages", "/usr/lib/libreoffice/program")
_WINDOWS_PROGRAM = (r"C:\Program Files\LibreOffice\program", r"C:\Program Files (x86)\LibreOffice\program")

#: Filters for storing a document in its own format.
STORE_FILTERS = {".xlsx": "Calc MS Excel 2007 XML", ".ods": "calc8"}

MISSING_ZH = (
    "找不到 LibreOffice 或其 Python-UNO 橋接元件。Debian/Ubuntu 請安裝 libreoffice-calc-nogui 與 python3-uno"
    "（apt-get install libreoffice-calc-nogui python3-uno）；Windows 請由 libreoffice.org 下載安裝 LibreOffice"
)
MISSING_EN = (
    "LibreOffice or its Python-UNO bridge is not installed: on Debian/Ubuntu apt-get install "
    "libreoffice-calc-nogui python3-uno; on Windows install LibreOffice from libreoffice.org"
)


def foreign_password_error(sheet: str) -> WorkbookFileError:
    """A sheet protected with the clerk's own password, with what to do in LibreOffice's menu."""
    return WorkbookFileError(
        f"工作表「{sheet}」已被設定其他保護密碼，無法寫入計算結果。請在 LibreOffice 選取該工作表，以選單「工具 → 保護工作表」"
        "輸入該密碼取消保護後，再按「計算」；結果未寫入",
        f"sheet {sheet!r} is protected with a password other than the template's, so results cannot be "
        "written; in LibreOffice use Tools → Protect Sheet to remove it and calculate again. Nothing was written",
        sheet=sheet,
    )


def find_soffice() -> str | None:
    """LibreOffice's executable (:func:`workbook.libreoffice.find_soffice`), looked up when called."""
    return libreoffice.find_soffice()


def libreoffice_missing(detail: str = "") -> WorkbookFileError:
    """The message for a machine without LibreOffice (or without python3-uno)."""
    return WorkbookFileError(MISSING_ZH, MISSING_EN + (f" ({detail})" if detail else ""))


#: The message when ODF (.ods) work needs LibreOffice: it also names the National Development
#: Council's ODF tools, which offices in Taiwan install for ODF.
ODF_MISSING_ZH = (
    "產生或轉換 ODF（.ods）檔案需要 LibreOffice。Debian/Ubuntu 請安裝 libreoffice-calc-nogui 與 python3-uno"
    "（apt-get install libreoffice-calc-nogui python3-uno）；Windows 請由 libreoffice.org 下載安裝 LibreOffice，"
    "或安裝國家發展委員會的「ODF 文件應用工具」"
)
ODF_MISSING_EN = (
    "writing ODF (.ods) needs LibreOffice: on Debian/Ubuntu apt-get install libreoffice-calc-nogui python3-uno; "
    "on Windows install LibreOffice from libreoffice.org or the National Development Council's ODF application tools"
)


def require_libreoffice(path: Path) -> None:
    """Refuse early, before any work, when LibreOffice or its UNO bridge is missing (ODF work)."""
    if find_soffice() is None:
        raise WorkbookFileError(ODF_MISSING_ZH, ODF_MISSING_EN, path=path)
    try:
        import_uno()
    except WorkbookFileError:
        raise WorkbookFileError(ODF_MISSING_ZH, ODF_MISSING_EN, path=path) from None


def _candidate_paths() -> list[str]:
    found = find_soffice()
    paths = []
    if found:
        paths.append(str(Path(os.path.realpath(found)).parent))
    if sys.platform == "win32":
        paths += list(_WINDOWS_PROGRAM)
    else:
        paths += list(_UNO_PATHS_POSIX)
    return paths


def import_uno() -> Any:
    """Import and return the ``uno`` module, extending ``sys.path`` only when needed.

    Debian's ``python3-uno`` installs ``uno.py`` for the system Python; another Python
    of the same minor version can load it once its folders are on the path.
    """
    with contextlib.suppress(ImportError):
        import uno

        return uno
    for folder in _candidate_paths():
        if os.path.isdir(folder) and folder not in sys.path:
            sys.path.append(folder)
    try:
        import uno

        return uno
    except ImportError as exc:
        raise libreoffice_missing(str(exc)) from exc


def _property(name: str, value: Any) -> Any:
    from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]

    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def props(**values: Any) -> tuple:
    """A tuple of PropertyValue from keyword arguments."""
    return tuple(_property(k, v) for k, v in values.items())


@dataclass
class Office:
    """A running private soffice: its component context and desktop.

    A context manager (a class, not a generator: a UNO exception raised inside a
    generator-based ``with`` block cannot be re-raised by contextlib); leaving it
    kills soffice and removes a temporary profile.
    """

    ctx: Any
    desktop: Any
    profile: Path
    process: subprocess.Popen
    own_profile: bool = False

    def open(self, path: str | Path, *, hidden: bool = True) -> Any:
        """Load a document read-write (hidden: headless LibreOffice has no windows)."""
        uno = import_uno()
        url = uno.systemPathToFileUrl(str(Path(path).absolute()))
        doc = self.desktop.loadComponentFromURL(url, "_blank", 0, props(Hidden=hidden))
        if doc is None:
            raise WorkbookFileError(
                "LibreOffice 無法開啟此檔案", "LibreOffice cannot open the file", path=path
            )
        return doc

    def close(self) -> None:
        """Kill soffice (and what it started); remove a temporary profile."""
        libreoffice.kill(self.process)
        if self.own_profile:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Office:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(uno: Any, pipe: str, process: subprocess.Popen, timeout: float) -> Any:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception:
            if process.poll() is not None:
                raise libreoffice_missing(f"soffice exited with status {process.returncode}") from None
            if time.monotonic() > deadline:
                raise WorkbookFileError(
                    "LibreOffice 啟動逾時", f"LibreOffice did not start within {timeout:g} s"
                ) from None
            time.sleep(0.1)


def office(
    *,
    profile: Path | None = None,
    timeout: float = 60.0,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    litter: Sequence[Path] = (),
) -> Office:
    """Start a private headless LibreOffice; use as ``with office() as lo:`` (always killed).

    ``profile`` reuses a prepared profile folder (e.g. one with the 計算 extension
    installed); otherwise a fresh one is made in a temporary folder and removed.  ``args``
    are more soffice arguments (``-env:…``), ``env`` more environment variables.
    Should this process die without leaving the block (SIGKILL), LibreOffice is killed all
    the same and the fresh profile and the ``litter`` folders (the copy it works on) removed
    (:func:`workbook.libreoffice.start`).
    """
    uno = import_uno()
    soffice = find_soffice()
    if soffice is None:
        raise libreoffice_missing("soffice not found")
    own = profile is None
    root, process = (None if own else Path(profile)), None
    try:
        if root is None:
            with deferred_interrupts():  # a Ctrl-C meanwhile comes once ``root`` is known, below
                root = Path(tempfile.mkdtemp(prefix="kpi-uno-profile-"))
            write_profile(root)
        pipe = f"kpi-{uuid.uuid4().hex}"
        cmd = libreoffice.soffice_command(
            soffice, root.as_uri(), *args, f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"
        )
        # PATH with the system python3 first, HOME set (libreoffice.office_env), own process group
        extra = {"env": {**libreoffice.office_env(), **env}} if env else {}
        try:
            process = libreoffice.start(
                cmd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                litter=[root, *litter] if own else litter,
                **extra,
            )
        except OSError as exc:
            raise libreoffice_missing(str(exc)) from exc
        ctx = _connect(uno, pipe, process, timeout)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    except BaseException:
        if process is not None:
            libreoffice.kill(process)
        if own and root is not None:
            shutil.rmtree(root, ignore_errors=True)
        raise
    return Office(ctx, desktop, root, process, own)


class UnoBook(Book):
    """An open Calc document reached over UNO. One read per sheet, one write per block.

    Values are what LibreOffice computed, converted to the types a file reader gives
    (None for empty, int for an integral number, datetime for a date); a cell that
    holds a formula reads as its formula text, as in :class:`~workbook.books.file.FileBook`,
    so a formula typed into a count is reported the same way by every path.
    """

    can_rebuild_sheets = False  # a deleted product sheet is reported (sheet_missing)
    reads_merged = True  # probed per unique format range (unocore.merged_ranges)
    repairs_protection = True
    has_package_info = False  # a document, not a package: the engine's caller guards the file
    reads_typed_formulas = False  # grid() shows a formula cell as its formula already
    restores_formulas = True
    blank_results_are_unknown = False  # LibreOffice computes every result it shows

    def __init__(self, doc: Any, *, bulk_names: bool = False):
        self.doc = doc
        self.bulk_names = bulk_names  # see unocore.named_cells: for a document reached over a pipe
        self._cells: dict[tuple, tuple[Grid, Grid]] = {}
        self._reprotect: list[str] = []
        self._pending_formulas: list[tuple[str, int, int, str]] = []

    def sheet_names(self) -> list[str]:
        return unocore.sheet_names(self.doc)

    def names(self) -> dict[str, tuple[str, int, int]]:
        return unocore.named_cells(self.doc, bulk=self.bulk_names)

    def _read(self, sheet: str, rows: int | None, cols: int | None) -> tuple[Grid, Grid]:
        key = (sheet, rows, cols)
        if key not in self._cells:
            ws = self.doc.Sheets.getByName(sheet)
            if rows is None or cols is None:
                used_rows, used_cols = unocore.used_extent(ws)
                rows, cols = rows or used_rows, cols or used_cols
            values, formulas = unocore.read_cells(ws, rows, cols)
            self._cells[key] = (unocore.file_view(ws, values, formulas), formulas)
        return self._cells[key]

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        return self._read(sheet, rows, cols)[0]

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        return self._read(sheet, rows, cols)[1]

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """Merged areas within the extent read (for the merged_input check)."""
        extent = [k[1:] for k in self._cells if k[0] == sheet and k[1] and k[2]]
        ws = self.doc.Sheets.getByName(sheet)
        rows, cols = max(extent) if extent else unocore.used_extent(ws)
        return unocore.merged_ranges(ws, rows, cols)

    def _forget(self, sheet: str) -> None:
        self._cells = {k: v for k, v in self._cells.items() if k[0] != sheet}

    def restore_formula(self, sheet: str, row: int, col: int, formula: str) -> None:
        """Put a result formula back (a result cell is locked: only inside :meth:`unprotected`)."""
        self._pending_formulas.append((sheet, row, col, formula))

    def restore_protection(
        self, sheets: Iterable[str] | None = None, password: str | None = None
    ) -> list[str]:
        """Form sheets (``sheets``: the template's own) whose protection was removed; they are
        protected again (with the plan's password and the options they kept) when the next
        write block ends."""
        from workbook.form.layout import SHEET_META

        wanted = set(sheets) if sheets is not None else None
        states = unocore.protected_sheets(self.doc)
        self._reprotect = [
            s for s, on in states.items() if s != SHEET_META and not on and (wanted is None or s in wanted)
        ]
        return list(self._reprotect)

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        unocore.write_block(self.doc.Sheets.getByName(sheet), row, col, values)
        self._forget(sheet)

    @contextlib.contextmanager
    def unprotected(self, sheets: Iterable[str], password: str | None) -> Iterator[None]:
        """Unprotect with the plan's password, write, protect again (LibreOffice keeps the
        sheet's protection options while it is unprotected, so they come back unchanged)."""
        pending = self._pending_formulas
        wanted = list(dict.fromkeys([*sheets, *(s for s, *_ in pending)]))
        try:
            with unocore.quiet(self.doc), unocore.unprotected(self.doc, wanted, password):
                for sheet, row, col, formula in pending:
                    unocore.set_formula(self.doc.Sheets.getByName(sheet), row, col, formula)
                    self._forget(sheet)
                pending.clear()
                yield
        except unocore.ForeignPassword as exc:
            raise foreign_password_error(exc.sheet) from None
        finally:
            for sheet in self._reprotect:
                with contextlib.suppress(Exception):
                    self.doc.Sheets.getByName(sheet).protect(password or "")
            self._reprotect = []


def store(
    doc: Any,
    path: str | Path,
    *,
    inputs: Iterable[str | Path] = (),
    unchanged_since: FileState | None = None,
) -> Path:
    """Store ``doc`` to ``path`` in the format its suffix names, atomically.

    The document is stored to a temporary file beside ``path`` and moved over it in one
    step (:func:`workbook.formats.files.save_atomic`), so a failed store leaves any previous
    file intact, and a file that changed since ``unchanged_since`` is not replaced.
    In an .xlsx the metadata sheet is made very hidden again (LibreOffice writes it
    as merely hidden).
    """
    from workbook.formats.files import check_output_target, save_atomic

    path = check_output_target(Path(path), inputs)
    suffix = path.suffix.lower()
    if suffix not in STORE_FILTERS:
        raise WorkbookFileError(
            "LibreOffice 只能另存為 .xlsx 或 .ods", "LibreOffice output must be .xlsx or .ods", path=path
        )
    uno = import_uno()

    def write(tmp: str) -> None:
        doc.storeToURL(
            uno.systemPathToFileUrl(str(Path(tmp).absolute())),
            props(FilterName=STORE_FILTERS[suffix], Overwrite=True),
        )
        if suffix == ".xlsx":
            _very_hidden_meta(Path(tmp))

    return save_atomic(write, path, unchanged_since=unchanged_since)


def _very_hidden_meta(path: Path) -> None:
    """Mark the metadata sheet ``state="veryHidden"`` in an .xlsx LibreOffice wrote (in place:
    ``path`` is the temporary file :func:`store` is about to move over its target)."""
    import io
    import re
    import zipfile

    from workbook.form.layout import SHEET_META
    from workbook.formats.zips import rewrite_members

    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        text = src.read("xl/workbook.xml").decode("utf-8")

    def fix(m: re.Match) -> str:
        tag = re.sub(r'\sstate="[^"]*"', "", m.group(0))
        return tag.replace("<sheet ", '<sheet state="veryHidden" ', 1)

    new = re.sub(r'<sheet [^>]*name="' + re.escape(SHEET_META) + r'"[^>]*/>', fix, text)
    if new != text:
        path.write_bytes(rewrite_members(data, {"xl/workbook.xml": new.encode("utf-8")}))
