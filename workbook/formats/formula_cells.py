"""Which cells of an .xlsx sheet hold a formula, read from the file's bytes.

python-calamine gives values only: ``=1+1`` typed into a count reads as 2.  A live
client tells typed formulas apart through ``Book.typed_formulas`` (calculate's
``_input`` asks it); :class:`XlsxFormulaCells` answers the same question from the
sheet part's ``<f>`` elements (an .ods's ``table:formula`` is found by
:mod:`workbook.formats.ods_scan`), so ``kpi collect`` reports ``formula_in_input``
exactly as ``kpi calculate`` does.
"""

from __future__ import annotations

import functools
import html
import io
import re
import zipfile
from collections.abc import Iterator, Mapping

from workbook.formats.cells import split_cell
from workbook.formats.xlsx_patch import (
    MAIN_NS,
    REL_NS,
    PatchError,
    _office_document,
    _parse,
    _rels_of,
    _resolve,
    _sheet_parts,
)

# The sheet's own markup, as every producer writes it (SpreadsheetML the default namespace):
# a formula element's cell reference.
_R = re.compile(rb'\sr="([A-Z]{1,3}[0-9]{1,7})"')
_DEFAULT_NS = f'xmlns="{MAIN_NS}"'.encode()


class XlsxFormulaCells:
    """The formula cells of each sheet of one .xlsx, each sheet read when first asked.

    ``kept``: parts the package guard already inflated and verified
    (:attr:`workbook.formats.guard.PackageInfo.kept`); a sheet found there is not read
    from the zip again, and the sheet → part map of a workbook part seen before (every
    return of one template has the same) is not parsed again.
    """

    def __init__(self, data: bytes, kept: dict[str, bytes] | None = None):
        self._data = data
        self._kept = kept or {}
        self._zip: zipfile.ZipFile | None = None
        self._parts: dict[str, str] | None = None
        self._found: dict[str, dict[tuple[int, int], str]] = {}
        self._bytes: dict[str, bytes | None] = {}
        self._where: dict[str, dict[tuple[int, int], int] | None] = {}  # cell → its <f>, per sheet

    def _part_map(self) -> dict[str, str]:
        if self._parts is None:
            kept = self._kept
            root_rels, wb_rels = kept.get("_rels/.rels"), kept.get("xl/_rels/workbook.xml.rels")
            wb = kept.get("xl/workbook.xml")
            if root_rels is not None and wb_rels is not None and wb is not None:
                self._parts = _kept_sheet_parts(root_rels, wb, wb_rels)
            if self._parts is None:  # in memory: nothing to close; one central directory read
                workbook_part = _office_document(self._zip_file())
                wb_root = _parse(self._zip_file().read(workbook_part))
                self._parts = _sheet_parts(self._zip_file(), wb_root, workbook_part, _rels_of(workbook_part))
        return self._parts

    def _zip_file(self) -> zipfile.ZipFile:
        if self._zip is None:
            self._zip = zipfile.ZipFile(io.BytesIO(self._data))
        return self._zip

    def of(self, sheet: str) -> dict[tuple[int, int], str]:
        """(row, col) → ``=formula`` for every cell of ``sheet`` holding one (shared ones too)."""
        if sheet not in self._found:
            xml = self._xml(sheet)
            self._found[sheet] = _formula_cells(xml) if xml is not None else {}
        return self._found[sheet]

    def sheet(self, sheet: str) -> SheetFormulas:
        """``sheet``'s formula cells as a mapping that reads the text of a cell looked up
        alone (:class:`SheetFormulas`); iterating it reads them all (:meth:`of`)."""
        return SheetFormulas(self, sheet)  # not kept here: a view kept would make a cycle holding the bytes

    def formula(self, sheet: str, cell: tuple[int, int]) -> str | None:
        """The ``=formula`` of one cell of ``sheet``, None when it holds none: where each formula
        cell is is found once per sheet, and only this cell's text is read."""
        if sheet in self._found:
            return self._found[sheet].get(cell)
        if sheet not in self._where:
            xml = self._xml(sheet)
            self._where[sheet] = _formula_positions(xml) if xml else {}
        where = self._where[sheet]
        if where is None:  # not the plain shape: every formula cell, parsed
            return self.of(sheet).get(cell)
        at = where.get(cell)
        return None if at is None else _formula_text(self._xml(sheet) or b"", at)

    def _xml(self, sheet: str) -> bytes | None:
        """The sheet part's bytes (b"" for a sheet without one); None when they cannot be had."""
        if sheet not in self._bytes:
            try:
                part = self._part_map().get(sheet)
                xml = self._kept.get(part) if part else b""
                self._bytes[sheet] = xml if xml is not None else self._zip_file().read(part)
            except (zipfile.BadZipFile, KeyError, ValueError, PatchError):
                # calamine read this sheet's values; markup it cannot make sense of leaves them as read
                self._bytes[sheet] = None
        return self._bytes[sheet]


class SheetFormulas(Mapping):
    """One sheet's formula cells, (row, col) → ``=formula``, as :meth:`XlsxFormulaCells.of` gives
    them.  ``get`` finds where each formula cell is once and reads the text of the one asked
    only (calculate asks its inputs, which rarely hold one; a result formula's text runs to
    kilobytes, and decoding every one was most of the read); iterating reads every text."""

    def __init__(self, cells: XlsxFormulaCells, sheet: str):
        self._cells, self._sheet = cells, sheet

    def get(self, key: tuple[int, int], default: str | None = None) -> str | None:
        found = self._cells.formula(self._sheet, key)
        return default if found is None else found

    def __getitem__(self, key: tuple[int, int]) -> str:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self._cells.of(self._sheet))

    def __len__(self) -> int:
        return len(self._cells.of(self._sheet))


@functools.lru_cache(maxsize=32)
def _kept_sheet_parts(root_rels: bytes, workbook: bytes, workbook_rels: bytes) -> dict[str, str] | None:
    """Sheet name → part, from the guard's kept parts; None when the package's workbook part
    is not ``xl/workbook.xml`` (then the zip is asked).  Cached on the bytes themselves: a
    template's returns share them, and equal bytes give the equal map."""
    for rel in _parse(root_rels):
        if rel.get("Type", "").endswith("/officeDocument"):
            if rel.get("Target", "").lstrip("/") != "xl/workbook.xml":
                return None
            break
    rels = {r.get("Id"): r.get("Target", "") for r in _parse(workbook_rels)}
    out = {}
    for sheet in _parse(workbook).iter(f"{{{MAIN_NS}}}sheet"):
        rid = sheet.get(f"{{{REL_NS}}}id")
        if rid in rels:
            out[sheet.get("name")] = _resolve("xl/workbook.xml", rels[rid])
    return out


def formula_cells(xml: bytes) -> dict[tuple[int, int], str]:
    """(row, col) → ``=formula`` for every cell of one sheet part holding a formula (a shared
    formula's followers as ``=``: their text is the master's, translated)."""
    return _formula_cells(xml)


def _formula_cells(xml: bytes) -> dict[tuple[int, int], str]:
    if not xml or (b"<f" not in xml and b":f" not in xml):
        return {}
    if not _plain(xml):  # a prefixed or unusual sheet: read it as XML
        return _parsed(xml)
    adjacent = _first_children(xml)
    if adjacent is not None:
        return adjacent
    return {cell: _formula_text(xml, at) for cell, at in (_formula_positions(xml) or {}).items()}


def _plain(xml: bytes) -> bool:
    """Is SpreadsheetML the part's default namespace (the shape the byte scans read)?"""
    head = xml[: xml.find(b">", xml.find(b"<worksheet")) + 1] if b"<worksheet" in xml[:4096] else b""
    return _DEFAULT_NS in head


#: A formula element's start (<f>, <f t="shared" …>, <f/>; not <formula1>); a regex finds it at
#: memory speed where ``bytes.find(b"<f")`` stopped at every tag.
_F_TAG = re.compile(rb"<f[ >/]")


def _formula_positions(xml: bytes) -> dict[tuple[int, int], int] | None:
    """(row, col) → where the cell's ``<f`` starts, for every cell holding a formula (the element
    scan: each ``<f`` belongs to the nearest ``<c `` before it whose start tag ends before it,
    is not self-closed and is not closed before it); None when the part is not of the plain
    shape (then it is parsed as XML).  Texts are left to :func:`_formula_text`."""
    if not xml:
        return {}
    if not _plain(xml):
        return None
    out = {}
    for m in _F_TAG.finditer(xml):
        at = m.start()
        start = xml.rfind(b"<c ", 0, at)
        end = xml.find(b">", start)
        inside = start >= 0 and end < at and xml[end - 1 : end] != b"/" and b"</c>" not in xml[end:at]
        r = _R.search(xml, start, end) if inside else None
        if r:
            out[split_cell(r.group(1).decode())] = at
    return out


def _formula_text(xml: bytes, at: int) -> str:
    """``=text`` of the formula element starting at ``at`` (a shared formula's follower: ``=``)."""
    tag_end = xml.find(b">", at)
    close = xml.find(b"</f>", tag_end)
    text = b"" if xml[tag_end - 1 : tag_end] == b"/" or close < 0 else xml[tag_end + 1 : close]
    return "=" + html.unescape(text.decode("utf-8", "replace"))


#: A cell's start tag directly followed by its formula, as every producer writes it (``<f>`` is
#: the first child a cell may have).
_CELL_THEN_F = re.compile(rb"<c ([^>]*)><f(?=[ >/])")


def _first_children(xml: bytes) -> dict[tuple[int, int], str] | None:
    """:func:`_formula_cells` in one regex pass, when every formula element directly follows its
    cell's start tag; None otherwise (a formula elsewhere, a comment holding ``<f>``), and the
    element-by-element scan decides.  The same cells and texts: the scan finds, for a formula
    right after ``<c …>``, that very cell."""
    found = list(_CELL_THEN_F.finditer(xml))
    if len(found) != xml.count(b"<f ") + xml.count(b"<f>") + xml.count(b"<f/"):
        return None
    out = {}
    for m in found:
        if m.group(1).endswith(b"/"):  # <c …/> then a stray <f>: the scan's case
            return None
        r = _R.search(xml, m.start(), m.start(1) + len(m.group(1)))
        if r is None:
            continue
        out[split_cell(r.group(1).decode())] = _formula_text(xml, m.end() - 2)
    return out


def _parsed(xml: bytes) -> dict[tuple[int, int], str]:
    out = {}
    f_tag, c_tag = f"{{{MAIN_NS}}}f", f"{{{MAIN_NS}}}c"
    for f in _parse(xml).iter(f_tag):
        cell = f.getparent()
        if cell is not None and cell.tag == c_tag and cell.get("r"):
            out[split_cell(cell.get("r"))] = "=" + (f.text or "")
    return out
