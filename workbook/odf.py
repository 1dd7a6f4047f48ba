"""OpenDocument (.ods) output: templates, summaries and plan workbooks, written without LibreOffice.

The .xlsx is built by the one builder (:mod:`workbook.form.builder`, the summary writer,
the plan workbook writer) in a work folder and converted in Python
(:func:`workbook.formats.xlsx_to_ods.xlsx_to_ods`): cells, formulas in OpenFormula, styles,
merges, sizes, named ranges, validation messages, conditional formats, print setup,
hidden sheets and the sheet password (stored as ODF's SHA-256 key).  The .ods is then
stored atomically at the path asked for.

LibreOffice is used only when the converter cannot write the package (it holds charts,
drawings or comments — the summary's charts — or a sheet keyed with a password it was not
given); the command then says so on stderr.  That fallback opens the .xlsx in a private
headless LibreOffice, fixes up what its conversion would lose, stores with ``calc8`` and
:func:`verify_ods` reads the result back:

* a sheet password (the .xlsx stores Excel's legacy hash, which ODF cannot carry):
  each sheet is unprotected with the plan's password and protected again, so
  LibreOffice stores an ODF hash of it;
* row heights: an .xlsx row without a height shows at the default height, while
  LibreOffice marks it "optimal" in the .ods and refits it on load to the font it has
  for 標楷體; each row's height is fixed as the .xlsx shows it;
* conditional formats: an ODF conditional style replaces the cell's style where an
  .xlsx one adds to it; each conditional style gets the alignment of its cells
  (:func:`_align_conditional_styles`);
* "very hidden": ODF has only hidden; the metadata sheet is hidden (and protected).
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbook.books.uno import ODF_MISSING_EN, ODF_MISSING_ZH, require_libreoffice
from workbook.formats.files import WorkbookFileError, save_atomic
from workbook.formats.zips import rewrite_members
from workbook.libreoffice import disk_full_error

#: The message for a machine without LibreOffice, naming what to install (one text: books.uno's).
MISSING_ZH, MISSING_EN = ODF_MISSING_ZH, ODF_MISSING_EN


def is_ods_path(path: str | Path) -> bool:
    """Does this output path ask for ODF (by its extension)?"""
    return Path(path).suffix.lower() == ".ods"


@contextlib.contextmanager
def _session(path: Path) -> Iterator[Any]:
    """A private LibreOffice, or the message naming the packages to install."""
    from workbook.books.uno import office

    try:
        with office() as lo:
            yield lo
    except WorkbookFileError as exc:
        if "LibreOffice" in exc.message_en and (
            "not installed" in exc.message_en or "exited" in exc.message_en
        ):
            raise WorkbookFileError(MISSING_ZH, MISSING_EN, path=path) from exc
        raise


def convert_workbooks(jobs: list[tuple[Path, Path]], *, password: str | None = None) -> list[Path]:
    """Convert each (xlsx, ods) pair in one LibreOffice session; return the .ods paths.

    Each .ods is stored atomically (:func:`workbook.books.uno.store`).
    """
    from workbook.books.uno import store

    if not jobs:
        return []
    require_libreoffice(jobs[0][1])
    out = []
    with _session(jobs[0][1]) as lo:
        for src, dst in jobs:
            doc = lo.open(src)
            try:
                _fix_up(doc, password)
                stored = store(doc, dst, inputs=[src])
            except WorkbookFileError:
                raise
            except Exception as exc:  # UNO's own exception types; never let them cross the session's exit
                if (full := disk_full_error(Path(dst).parent)) is not None:
                    raise full from None
                raise WorkbookFileError(
                    "LibreOffice 轉換為 ODF 時發生錯誤，未產生檔案",
                    f"LibreOffice failed to convert the workbook to ODF; nothing written ({type(exc).__name__})",
                    path=dst,
                ) from None
            finally:
                doc.close(True)
            _align_conditional_styles(stored)
            out.append(stored)
    return out


def _fix_up(doc: Any, password: str | None) -> None:
    """Carry over what the .xlsx → .ods conversion would lose (see the module docstring)."""
    from workbook.books.unocore import used_extent

    sheets = doc.Sheets
    for name in sheets.ElementNames:
        sheet = sheets.getByName(name)
        if password and sheet.isProtected():
            # LibreOffice verifies the legacy hash on unprotect; protect() stores an ODF one.
            # A sheet protected without a password (the metadata sheet) refuses it: left as it is.
            try:
                sheet.unprotect(password)
            except Exception:  # UNO's IllegalArgumentException: not this sheet's password
                continue
            sheet.protect(password)
        _freeze_heights(sheet, used_extent(sheet)[0])


def _freeze_heights(sheet: Any, rows: int) -> None:
    """Keep each row at the height the .xlsx gives it.

    An .xlsx row without a height shows at the default height; the same row in an .ods
    is marked "optimal" and LibreOffice refits it on every load, to whatever font it
    substitutes for 標楷體, so the form would look different in each format.
    """
    all_rows = sheet.getRows()
    for i in range(rows):
        row = all_rows.getByIndex(i)
        if row.OptimalHeight:
            height = row.Height
            row.OptimalHeight = False
            row.Height = height


_CELL_STYLE = re.compile(
    r'<style:style style:name="[^"]+"[^>]*style:family="table-cell"[^>]*>.*?</style:style>', re.S
)
_MAP = re.compile(r'<style:map [^>]*style:apply-style-name="([^"]+)"')
_VALIGN = re.compile(r'style:vertical-align="[^"]+"')
_HALIGN = re.compile(r'fo:text-align="[^"]+"')


def _align_conditional_styles(path: Path) -> None:
    """Give each conditional style the alignment of the cells it colours.

    An .xlsx conditional format adds its fill and font to the cell's own format; an ODF
    conditional style replaces the cell's style, so without this the 燈號 cells, centred
    in the .xlsx, would sit at the bottom left in the .ods.  The alignment is read from
    the cell styles that map to each conditional style (``content.xml``) and written into
    the conditional style (``styles.xml``); the package is rewritten atomically.
    """
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {name: z.read(name) for name in ("content.xml", "styles.xml")}
    content = parts["content.xml"].decode("utf-8")
    wanted: dict[str, str] = {}
    for block in _CELL_STYLE.findall(content):
        v, h = _VALIGN.search(block), _HALIGN.search(block)
        for target in _MAP.findall(block):
            wanted.setdefault(target, " ".join(m.group(0) for m in (v, h) if m))
    styles = parts["styles.xml"].decode("utf-8")

    def align(m: re.Match) -> str:
        block = m.group(0)
        name = re.search(r'style:name="([^"]+)"', block).group(1)  # type: ignore[union-attr]
        attrs = wanted.get(name, "")
        v, h = _VALIGN.search(attrs), _HALIGN.search(attrs)
        if v and "style:vertical-align" not in block:
            block = block.replace(
                "<style:table-cell-properties", f"<style:table-cell-properties {v.group(0)}", 1
            )
            if "<style:table-cell-properties" not in block:
                block = block.replace(">", f"><style:table-cell-properties {v.group(0)}/>", 1)
        if h and "fo:text-align" not in block:
            block = block.replace(
                "<style:text-properties",
                f"<style:paragraph-properties {h.group(0)}/><style:text-properties",
                1,
            )
        return block

    new = _CELL_STYLE.sub(align, styles)
    if new == styles:
        return
    # every other member as it was ("mimetype" first and stored)
    save_atomic(rewrite_members(data, {"styles.xml": new.encode("utf-8")}), path)


@contextlib.contextmanager
def _staging(path: Path) -> Iterator[str]:
    """A work folder beside ``path``; a failure to write in it is a failure to save ``path``.

    So the message names the file asked for, not ``.kpi-ods-…/template.xlsx`` (a full
    disk, no permission); the folder and everything in it is removed whatever happens.
    """
    from workbook.errors import SAVING, os_error

    try:
        with tempfile.TemporaryDirectory(prefix=".kpi-ods-", dir=path.parent or ".") as work:
            try:
                yield work
            except WorkbookFileError as exc:
                if exc.path is None or not Path(exc.path).absolute().is_relative_to(Path(work).absolute()):
                    raise
                raise WorkbookFileError(exc.message_zh, exc.message_en, path=path, code=exc.code) from exc
    except OSError as exc:
        raise os_error(exc, path, SAVING) from exc


def write_template_ods(scope: Any, path: str | Path) -> Path:
    """``kpi template -o FILE.ods``: build the .xlsx and convert it (:func:`convert_package`)."""
    from workbook.form.builder import write_template

    def verified(xlsx: Path, staged: Path, target: Path) -> None:
        problems = verify_ods(xlsx, staged.read_bytes())
        if problems:
            raise WorkbookFileError(
                "轉換為 ODF 後內容不符，未產生檔案：" + "；".join(problems[:5]),
                "the ODF conversion lost part of the template, no file written: " + "; ".join(problems[:5]),
                path=target,
            )

    build = functools.partial(write_template, scope)
    return _write_converted(path, "template", build, password=scope.plan.options.password, check=verified)


def _write_converted(
    path: str | Path,
    stem: str,
    build: Callable[[Path], Path],
    *,
    password: str | None = None,
    check: Callable[[Path, Path, Path], None] | None = None,
) -> Path:
    """Write ``path`` (.ods): ``build`` an .xlsx in a work folder, convert it, replace ``path``.

    ``build`` writes the .xlsx at the path it is given and returns it.  The conversion is
    :func:`convert_package`; ``check`` (given the .xlsx, the staged .ods and ``path``, and
    raising when the .ods must not be saved) runs on what LibreOffice converted.
    """
    from workbook.formats.files import check_output_target, check_writable

    path = check_output_target(Path(path))
    check_writable(path)
    with _staging(path) as work:
        xlsx = build(Path(work) / f"{stem}.xlsx")
        staged = Path(work) / f"{stem}.ods"
        how = convert_package(xlsx, staged, password=password, target=path)
        if check is not None and how != "native":
            check(xlsx, staged, path)
        save_atomic(staged, path)
    return path


def convert_package(xlsx: Path, ods: Path, *, password: str | None = None, target: Path | None = None) -> str:
    """Write ``ods`` from ``xlsx``: in Python, or through LibreOffice when the converter cannot.

    Returns ``"native"``, or ``"libreoffice"`` after saying why on stderr (``target``: the
    file the message names).
    """
    from workbook.formats.xlsx_to_ods import PasswordUnknown, UnsupportedPackage, xlsx_to_ods

    try:
        data = xlsx_to_ods(xlsx.read_bytes(), password=password)
    except (UnsupportedPackage, PasswordUnknown) as exc:
        require_libreoffice(target or ods)
        print(
            f"注意：{(target or ods).name} 含本程式無法直接寫成 ODF 的內容，改以 LibreOffice 轉存 / "
            f"note: {(target or ods).name} is converted through LibreOffice ({exc})",
            file=sys.stderr,
        )
        convert_workbooks([(xlsx, ods)], password=password)
        return "libreoffice"
    save_atomic(data, ods)
    return "native"


def verify_ods(xlsx: Path, ods: bytes) -> list[str]:
    """What the .ods lost against the .xlsx it was converted from (empty when nothing).

    Compared without LibreOffice: sheet names and order, every single-cell named range,
    every formula, every data validation's help title, help and error texts, each
    sheet's protection, which cells are unlocked, and the hidden metadata sheet.
    """
    from openpyxl import load_workbook

    from workbook.books.file import FileBook
    from workbook.books.ods import OdsBook
    from workbook.form.book import cell_address
    from workbook.form.layout import SHEET_META

    ref = FileBook(xlsx)
    book = OdsBook(ods, "template.ods", formulas_visible=True)
    wb = load_workbook(xlsx)
    problems: list[str] = []
    if ref.sheet_names() != book.sheet_names():
        problems.append(f"sheets {book.sheet_names()} != {ref.sheet_names()}")
        return problems
    if ref.names() != book.names():
        lost = sorted(set(ref.names().items()) ^ set(book.names().items()))[:3]
        problems.append(f"named ranges differ: {lost}")
    if book.hidden_sheets() != [SHEET_META]:
        problems.append(f"hidden sheets {book.hidden_sheets()}")
    for ws in wb.worksheets:
        name = ws.title
        if bool(ws.protection.sheet) != book.protected(name):
            problems.append(f"{name}: protection")
        if bool(ws.protection.password) != book.has_password(name):
            problems.append(f"{name}: sheet password")
        rules = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                for row in range(rng.min_row, rng.max_row + 1):
                    for col in range(rng.min_col, rng.max_col + 1):
                        rules[(row, col)] = (dv.promptTitle or "", dv.prompt or "", dv.error or "")
        grid = book.grid(name)
        for row in ws.iter_rows():
            for cell in row:
                where = f"{name}!{cell_address(cell.row, cell.column)}"
                if isinstance(cell.value, str) and cell.value.startswith("=") and cell.data_type == "f":
                    held = grid[cell.row - 1][cell.column - 1] if cell.row <= len(grid) else None
                    if _norm(held) != _norm(cell.value):
                        problems.append(f"{where}: formula {held!r} != {cell.value!r}")
                if cell.protection.locked is False and not book.unlocked(name, cell.row, cell.column):
                    problems.append(f"{where}: input cell is locked")
                want = rules.get((cell.row, cell.column))
                if want is not None and book.validation(name, cell.row, cell.column) != want:
                    got = book.validation(name, cell.row, cell.column)
                    problems.append(f"{where}: validation {got!r} != {want!r}")
    return problems


def _norm(formula: Any) -> str:
    # ODF names ISFORMULA bare where the .xlsx stores _xlfn.ISFORMULA.
    return str(formula or "").replace(" ", "").replace("$", "").upper().replace("_XLFN.", "")


def write_summary_ods(coll: Any, path: str | Path) -> Path:
    """``kpi collect … -o SUMMARY.ods``: the summary workbook as .xlsx, converted (:func:`convert_package`)."""
    from workbook.report.summary import write_summary

    return _write_converted(path, "summary", functools.partial(write_summary, coll))
