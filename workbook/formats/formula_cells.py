"""Which cells of an .xlsx sheet hold a formula, read from the file's bytes.

python-calamine gives values only: ``=1+1`` typed into a count reads as 2.  A live
client tells typed formulas apart through ``Book.typed_formulas`` (calculate's
``_input`` asks it); :class:`XlsxFormulaCells` answers the same question from the
sheet part's ``<f>`` elements (an .ods's ``table:formula`` is found by
:mod:`workbook.formats.ods_scan`), so ``kpi collect`` reports ``formula_in_input``
exactly as ``kpi calculate`` does.
"""

from __future__ import annotations

import html
import io
import re
import zipfile

from workbook.formats.cells import split_cell
from workbook.formats.xlsx_patch import (
    MAIN_NS,
    PatchError,
    _office_document,
    _parse,
    _rels_of,
    _sheet_parts,
)

# The sheet's own markup, as every producer writes it (SpreadsheetML the default namespace):
# a formula element's cell reference.
_R = re.compile(rb'\sr="([A-Z]{1,3}[0-9]{1,7})"')
_DEFAULT_NS = f'xmlns="{MAIN_NS}"'.encode()


class XlsxFormulaCells:
    """The formula cells of each sheet of one .xlsx, each sheet read when first asked."""

    def __init__(self, data: bytes):
        self._data = data
        self._zip: zipfile.ZipFile | None = None
        self._parts: dict[str, str] = {}
        self._found: dict[str, dict[tuple[int, int], str]] = {}

    def of(self, sheet: str) -> dict[tuple[int, int], str]:
        """(row, col) → ``=formula`` for every cell of ``sheet`` holding one (shared ones too)."""
        if sheet not in self._found:
            try:
                if self._zip is None:  # in memory: nothing to close; one central directory read
                    self._zip = zipfile.ZipFile(io.BytesIO(self._data))
                    workbook_part = _office_document(self._zip)
                    wb_root = _parse(self._zip.read(workbook_part))
                    self._parts = _sheet_parts(self._zip, wb_root, workbook_part, _rels_of(workbook_part))
                part = self._parts.get(sheet)
                self._found[sheet] = _formula_cells(self._zip.read(part) if part else b"")
            except (zipfile.BadZipFile, KeyError, ValueError, PatchError):
                # calamine read this sheet's values; markup it cannot make sense of leaves them as read
                self._found[sheet] = {}
        return self._found[sheet]


def formula_cells(xml: bytes) -> dict[tuple[int, int], str]:
    """(row, col) → ``=formula`` for every cell of one sheet part holding a formula (a shared
    formula's followers as ``=``: their text is the master's, translated)."""
    return _formula_cells(xml)


def _formula_cells(xml: bytes) -> dict[tuple[int, int], str]:
    if not xml or (b"<f" not in xml and b":f" not in xml):
        return {}
    head = xml[: xml.find(b">", xml.find(b"<worksheet")) + 1] if b"<worksheet" in xml[:4096] else b""
    if _DEFAULT_NS not in head:  # a prefixed or unusual sheet: read it as XML
        return _parsed(xml)
    out = {}
    at = xml.find(b"<f")
    while at >= 0:  # bytes.find, not a regex: a sheet part is scanned at memory speed
        if xml[at + 2 : at + 3] in (b" ", b">", b"/"):  # <f>, <f t="shared" …>, <f/>; not <formula>
            start = xml.rfind(b"<c ", 0, at)
            end = xml.find(b">", start)
            inside = start >= 0 and end < at and xml[end - 1 : end] != b"/" and b"</c>" not in xml[end:at]
            r = _R.search(xml, start, end) if inside else None
            if r:
                tag_end = xml.find(b">", at)
                close = xml.find(b"</f>", tag_end)
                text = b"" if xml[tag_end - 1 : tag_end] == b"/" or close < 0 else xml[tag_end + 1 : close]
                out[split_cell(r.group(1).decode())] = "=" + html.unescape(text.decode("utf-8", "replace"))
        at = xml.find(b"<f", at + 2)
    return out


def _parsed(xml: bytes) -> dict[tuple[int, int], str]:
    out = {}
    f_tag, c_tag = f"{{{MAIN_NS}}}f", f"{{{MAIN_NS}}}c"
    for f in _parse(xml).iter(f_tag):
        cell = f.getparent()
        if cell is not None and cell.tag == c_tag and cell.get("r"):
            out[split_cell(cell.get("r"))] = "=" + (f.text or "")
    return out
