"""Edit a few cells of an .xlsx package and leave every other byte alone.

openpyxl rewrites a whole workbook from its own model, so anything it does not
model (pictures, shapes, form controls, comments' formatting, some charts,
slicers, custom XML, rich text) is lost on save.  :func:`patch_package` instead
copies every zip member as it was (the compressed bytes themselves) and rewrites
only the parts that hold a changed cell:

* a sheet part (``xl/worksheets/sheetN.xml``): only the ``<c>`` elements written,
  as inline strings (``t="inlineStr"``, so ``sharedStrings.xml`` stays as it is),
  numbers, booleans or formulas; each keeps its style index ``s``.  Missing
  ``<row>``/``<c>`` elements are inserted in order.  A sheet's protection can be
  switched back on (``<sheetProtection>``).
* ``xl/workbook.xml``: a sheet's ``state`` (the metadata sheet very hidden) and
  ``<calcPr fullCalcOnLoad="1">`` so Excel recomputes the formulas that show
  written text (the summary joins sentences and notes).
* ``xl/calcChain.xml`` is dropped (with its content-type override and workbook
  relationship) when a formula cell appears or disappears: Excel rebuilds it,
  while a stale chain makes Excel report the file as damaged.

``[Content_Types].xml`` is otherwise never re-derived, so a LibreOffice-saved
``.xlsm`` keeps its macro-enabled content type.  XML is parsed with lxml with
entity resolution and network access off (the guard has already refused any DTD).
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import posixpath
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from kpi_engine.errors import KpiError
from workbook.formats.cells import cell_address, split_cell
from workbook.formats.zips import rewrite_members

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
CALC_CHAIN_TYPE = REL_NS + "/calcChain"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=False)
# Characters XML 1.0 cannot carry; OOXML writes them as _xHHHH_ (ST_Xstring).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPE_LIKE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")

# Children of <worksheet> that may precede <sheetProtection>, in schema order.
_BEFORE_PROTECTION = (
    "sheetPr",
    "dimension",
    "sheetViews",
    "sheetFormatPr",
    "cols",
    "sheetData",
    "sheetCalcPr",
)
# Children of <workbook> that may precede <calcPr>, in schema order.
_BEFORE_CALCPR = (
    "fileVersion",
    "fileSharing",
    "workbookPr",
    "workbookProtection",
    "bookViews",
    "sheets",
    "functionGroups",
    "externalReferences",
    "definedNames",
)


class PatchError(KpiError):
    """The package cannot be patched cell by cell (its layout is beyond this patcher)."""

    code = "xlsx_patch"


@dataclass(frozen=True)
class Formula:
    """A formula to put into a cell (text without the leading ``=``)."""

    text: str


@dataclass
class Edits:
    """Everything to change in a package.

    ``cells`` maps a sheet name to {(row, col): value}; a value is text, a number,
    a bool, a date/datetime, ``None`` (clear the value, keep the style) or a
    :class:`Formula`.  ``protect`` maps a sheet name to the ``<sheetProtection>``
    element (as XML bytes) to put in place of whatever the sheet has.
    """

    cells: dict[str, dict[tuple[int, int], Any]] = field(default_factory=dict)
    sheet_states: dict[str, str] = field(default_factory=dict)
    protect: dict[str, bytes] = field(default_factory=dict)
    full_calc_on_load: bool = True

    def __bool__(self) -> bool:
        return bool(self.cells or self.sheet_states or self.protect)


def _split_ref(ref: str) -> tuple[int, int]:
    try:
        return split_cell(ref)
    except ValueError:
        raise PatchError(f"cell reference {ref!r}") from None


def _number_text(value: int | float) -> str:
    """A number as a cell's <v>: integers without ".0", other floats in their shortest round-trip form."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _row_number(text: str) -> int:
    if not text.isdigit():
        raise PatchError(f"row number {text!r}")
    return int(text)


def escape_text(text: str) -> str:
    """Text as an ST_Xstring: control characters as ``_xHHHH_``, literal ``_xHHHH_`` kept literal."""
    text = _ESCAPE_LIKE.sub(r"_x005F_\1", text)
    return _ILLEGAL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


# -- the package -----------------------------------------------------------------------------


def patch_package(data: bytes, edits: Edits) -> bytes:
    """The package ``data`` with ``edits`` applied; every other member copied raw.

    Raises :class:`PatchError` for any package this patcher cannot edit safely.
    """
    try:
        return _patch(data, edits)
    except PatchError:
        raise
    except (KeyError, ValueError, IndexError, zipfile.BadZipFile, etree.LxmlError) as exc:
        # Damage openpyxl tolerated (a missing relationship part, an odd reference): the
        # caller falls back to a full save rather than failing.
        raise PatchError(f"{type(exc).__name__}: {exc}") from exc


def _patch(data: bytes, edits: Edits) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    workbook_part = _office_document(src)
    rels_part = _rels_of(workbook_part)
    wb_root = _parse(src.read(workbook_part))
    targets = _sheet_parts(src, wb_root, workbook_part, rels_part)

    replaced: dict[str, bytes] = {}
    formulas_changed = False
    styles = _DateStyles(src, workbook_part, rels_part, wb_root)
    for sheet in {*edits.cells, *edits.protect}:
        if sheet not in targets:
            raise PatchError(f"sheet {sheet!r} has no part")
        part = targets[sheet]
        sheet_xml = _SheetPatch(src.read(part), styles)
        formulas_changed |= sheet_xml.write_cells(edits.cells.get(sheet, {}))
        if sheet in edits.protect:
            sheet_xml.protect(edits.protect[sheet])
        replaced[part] = sheet_xml.serialize()

    dropped: set[str] = set()
    wb_changed = _set_sheet_states(wb_root, edits.sheet_states)
    if edits.full_calc_on_load and (edits.cells or wb_changed):
        wb_changed |= _full_calc_on_load(wb_root)
    chain = _calc_chain(src, rels_part, workbook_part) if formulas_changed else None
    if chain is not None:
        part, rel_id = chain
        dropped.add(part)
        rels_root = _parse(src.read(rels_part))
        for rel in rels_root:
            if rel.get("Id") == rel_id:
                rels_root.remove(rel)
        replaced[rels_part] = _serialize(src.read(rels_part), rels_root)
        ct_root = _parse(src.read("[Content_Types].xml"))
        for override in ct_root.findall(f"{{{CT_NS}}}Override"):
            if override.get("PartName", "").lstrip("/") == part:
                ct_root.remove(override)
        replaced["[Content_Types].xml"] = _serialize(src.read("[Content_Types].xml"), ct_root)
    if wb_changed:
        replaced[workbook_part] = _serialize(src.read(workbook_part), wb_root)
    if styles.changed:
        replaced[styles.part] = _serialize(src.read(styles.part), styles.root)

    return rewrite_members(data, replaced, dropped)


def _parse(xml: bytes) -> etree._Element:
    try:
        return etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise PatchError(f"XML: {exc}") from exc


def _serialize(original: bytes, root: etree._Element) -> bytes:
    """The root element serialised after the original prolog (declaration kept verbatim)."""
    head = b""
    if original.startswith(b"\xef\xbb\xbf"):
        original, head = original[3:], b"\xef\xbb\xbf"
    if original.lstrip().startswith(b"<?xml"):
        end = original.index(b"?>") + 2
        head += original[:end]
        tail = original[end : end + 2]
        head += b"\r\n" if tail == b"\r\n" else (b"\n" if tail[:1] == b"\n" else b"")
    return head + etree.tostring(root, encoding="UTF-8")


def _office_document(src: zipfile.ZipFile) -> str:
    try:
        rels = _parse(src.read("_rels/.rels"))
    except KeyError:
        return "xl/workbook.xml"
    for rel in rels:
        if rel.get("Type", "").endswith("/officeDocument"):
            return rel.get("Target", "").lstrip("/")
    return "xl/workbook.xml"


def _rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _resolve(base_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


def _sheet_parts(src: zipfile.ZipFile, wb_root, workbook_part: str, rels_part: str) -> dict[str, str]:
    rels = {r.get("Id"): r.get("Target", "") for r in _parse(src.read(rels_part))}
    out = {}
    for sheet in wb_root.iter(f"{{{MAIN_NS}}}sheet"):
        rid = sheet.get(f"{{{REL_NS}}}id")
        if rid in rels:
            out[sheet.get("name")] = _resolve(workbook_part, rels[rid])
    return out


def _set_sheet_states(wb_root, states: Mapping[str, str]) -> bool:
    changed = False
    for sheet in wb_root.iter(f"{{{MAIN_NS}}}sheet"):
        wanted = states.get(sheet.get("name"))
        if wanted and sheet.get("state", "visible") != wanted:
            sheet.set("state", wanted)
            changed = True
    return changed


def _full_calc_on_load(wb_root) -> bool:
    calc = wb_root.find(f"{{{MAIN_NS}}}calcPr")
    if calc is None:
        calc = etree.Element(f"{{{MAIN_NS}}}calcPr")
        _insert_after(wb_root, calc, _BEFORE_CALCPR)
    if calc.get("fullCalcOnLoad") in ("1", "true"):
        return False
    calc.set("fullCalcOnLoad", "1")
    return True


def _insert_after(parent, child, before: tuple[str, ...]) -> None:
    """Insert ``child`` after the last child of ``parent`` whose local name is in ``before``."""
    position = 0
    for i, el in enumerate(parent):
        if isinstance(el.tag, str) and etree.QName(el).localname in before:
            position = i + 1
    parent.insert(position, child)


def _calc_chain(src: zipfile.ZipFile, rels_part: str, workbook_part: str) -> tuple[str, str] | None:
    for rel in _parse(src.read(rels_part)):
        if rel.get("Type") == CALC_CHAIN_TYPE:
            return _resolve(workbook_part, rel.get("Target", "")), rel.get("Id", "")
    return None


# -- one sheet part --------------------------------------------------------------------------


class _DateStyles:
    """Date formats for date values, as Excel does when a date is typed into a General cell.

    A date is stored as its serial number; what makes it a date is the cell's number
    format.  The cell's own style (``<xf>`` in ``cellXfs``) is cloned once with a date
    format (built-in 14, or 22 with a time) and appended; nothing else in styles changes.
    """

    DATE, DATETIME = "14", "22"

    def __init__(self, src: zipfile.ZipFile, workbook_part: str, rels_part: str, wb_root):
        self.src, self.changed, self.root = src, False, None
        self.part = ""
        for rel in _parse(src.read(rels_part)):
            if rel.get("Type") == REL_NS + "/styles":
                self.part = _resolve(workbook_part, rel.get("Target", ""))
        pr = wb_root.find(f"{{{MAIN_NS}}}workbookPr")
        self.date1904 = pr is not None and pr.get("date1904") in ("1", "true")
        self._made: dict[tuple[str | None, str], str] = {}

    def serial(self, value: dt.date | dt.datetime) -> float:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, to_excel

        return to_excel(value, CALENDAR_MAC_1904 if self.date1904 else CALENDAR_WINDOWS_1900)

    def style_for(self, style: str | None, value: dt.date | dt.datetime) -> str:
        """The index of the cell's style with a date format."""
        fmt = self.DATETIME if isinstance(value, dt.datetime) and value.time() != dt.time() else self.DATE
        key = (style, fmt)
        if key in self._made:
            return self._made[key]
        if not self.part:
            raise PatchError("no styles part for a date format")
        if self.root is None:
            self.root = _parse(self.src.read(self.part))
        ns = etree.QName(self.root).namespace or MAIN_NS
        xfs = self.root.find(f"{{{ns}}}cellXfs")
        if xfs is None:
            raise PatchError("styles without cellXfs")
        items = list(xfs.iterchildren(f"{{{ns}}}xf"))
        index = int(style or 0)
        if index >= len(items):
            raise PatchError(f"style index {index} beyond cellXfs")
        if items[index].get("numFmtId") in (self.DATE, self.DATETIME):
            self._made[key] = str(index)
            return str(index)
        clone = copy.deepcopy(items[index])
        clone.set("numFmtId", fmt)
        clone.set("applyNumberFormat", "1")
        items[-1].addnext(clone)
        xfs.set("count", str(len(items) + 1))
        self.changed = True
        self._made[key] = str(len(items))
        return self._made[key]


class _SheetPatch:
    """A sheet part being edited cell by cell."""

    def __init__(self, xml: bytes, styles: _DateStyles):
        self.styles = styles
        self.original = xml
        self.root = _parse(xml)
        self.ns = etree.QName(self.root).namespace or MAIN_NS
        data = self.root.find(self.tag("sheetData"))
        if data is None:
            data = etree.Element(self.tag("sheetData"))
            _insert_after(self.root, data, _BEFORE_PROTECTION[:-2])
        self.data = data

    def tag(self, local: str) -> str:
        return f"{{{self.ns}}}{local}"

    def write_cells(self, cells: Mapping[tuple[int, int], Any]) -> bool:
        """Write each cell; True when a formula cell appeared or disappeared."""
        formulas_changed = False
        by_row: dict[int, dict[int, Any]] = {}
        for (row, col), value in cells.items():
            if value == "" and not isinstance(value, Formula):
                value = None  # Excel holds no empty text constant: "" is an empty cell
            by_row.setdefault(row, {})[col] = value
        rows = self._index(self.data, "row", "r", _row_number)
        for row, line in sorted(by_row.items()):
            row_el = rows.get(row)
            if row_el is None:
                row_el = self._insert(self.data, rows, row, "row", str(row))
            refs = self._index(row_el, "c", "r", lambda r: _split_ref(r)[1], row=row)
            for col, value in sorted(line.items()):
                cell = refs.get(col)
                if cell is None:
                    if value is None:
                        continue  # clearing a cell that does not exist: nothing to do
                    cell = self._insert(row_el, refs, col, "c", cell_address(row, col))
                had_formula = cell.find(self.tag("f")) is not None
                self._set(cell, value)
                formulas_changed |= had_formula != isinstance(value, Formula)
            self._widen_spans(row_el, line)
        self._widen_dimension(cells)
        return formulas_changed

    def _index(self, parent, local: str, attr: str, key, row: int | None = None) -> dict[int, Any]:
        out = {}
        for el in parent.iterchildren(self.tag(local)):
            ref = el.get(attr)
            if ref is None:  # legal (position implied) but never written by Excel, LibreOffice or openpyxl
                raise PatchError(f"<{local}> without {attr}")
            if row is not None and _split_ref(ref)[0] != row:
                raise PatchError(f"cell {ref} in row {row}")
            out[key(ref)] = el
        return out

    def _insert(self, parent, index: dict[int, Any], key: int, local: str, ref: str):
        el = etree.Element(self.tag(local))
        el.set("r", ref)
        following = [k for k in index if k > key]
        if following:
            index[min(following)].addprevious(el)
        else:
            later = [k for k in index if k < key]
            if later:
                index[max(later)].addnext(el)
            else:
                parent.insert(0, el) if local == "c" else parent.append(el)
        if local == "row":
            el.tail = None
        index[key] = el
        return el

    def _set(self, cell, value: Any) -> None:
        f_old = cell.find(self.tag("f"))
        if f_old is not None and f_old.get("ref") and f_old.get("t") in ("shared", "array", "dataTable"):
            # Other cells borrow this formula (or share its array); rewriting it would change them.
            raise PatchError(f"cell {cell.get('r')} holds a {f_old.get('t')} formula other cells use")
        # Only the position and the style stay; cm/vm describe the old value (dynamic arrays).
        keep = {k: v for k, v in cell.attrib.items() if k in ("r", "s", "ph")}
        for child in list(cell):
            cell.remove(child)
        cell.attrib.clear()
        cell.attrib.update(keep)
        cell.text = None
        if value is None:
            return
        if isinstance(value, Formula):
            f = etree.SubElement(cell, self.tag("f"))
            f.text = escape_text(value.text)
            return
        if isinstance(value, bool):
            cell.set("t", "b")
            etree.SubElement(cell, self.tag("v")).text = "1" if value else "0"
            return
        if isinstance(value, (dt.datetime, dt.date)):
            # A serial number with a date format, as Excel stores a typed date (LibreOffice
            # turns an ISO t="d" cell into a bare number in a General cell).
            cell.set("s", self.styles.style_for(cell.get("s"), value))
            value = self.styles.serial(value)
        if isinstance(value, (int, float)):
            etree.SubElement(cell, self.tag("v")).text = _number_text(value)
            return
        text = escape_text(str(value))
        cell.set("t", "inlineStr")
        t = etree.SubElement(etree.SubElement(cell, self.tag("is")), self.tag("t"))
        t.text = text
        if text != text.strip() or "\n" in text:
            t.set(XML_SPACE, "preserve")

    def _widen_spans(self, row_el, line: Mapping[int, Any]) -> None:
        spans = row_el.get("spans")
        if not spans:
            return
        try:
            bounds = [int(x) for part in spans.split() for x in part.split(":")]
        except ValueError:
            del row_el.attrib["spans"]  # only a loading hint; a malformed one is dropped
            return
        low, high = min([*bounds, *line]), max([*bounds, *line])
        if (low, high) != (min(bounds), max(bounds)):
            row_el.set("spans", f"{low}:{high}")

    def _widen_dimension(self, cells: Mapping[tuple[int, int], Any]) -> None:
        dim = self.root.find(self.tag("dimension"))
        written = [rc for rc, v in cells.items() if v not in (None, "")]
        if dim is None or not written:
            return
        ref = dim.get("ref", "A1")
        try:
            corners = [_split_ref(part) for part in ref.split(":")]
        except PatchError:
            return
        rows = [r for r, _ in corners] + [r for r, _ in written]
        cols = [c for _, c in corners] + [c for _, c in written]
        wide = f"{cell_address(min(rows), min(cols))}:{cell_address(max(rows), max(cols))}"
        if ":" not in ref and wide == f"{ref}:{ref}":
            return
        if wide != ref:
            dim.set("ref", wide)

    def protect(self, element_xml: bytes) -> None:
        new = etree.fromstring(element_xml, _PARSER)
        if etree.QName(new).namespace != self.ns:
            for el in new.iter():
                el.tag = self.tag(etree.QName(el).localname)
        old = self.root.find(self.tag("sheetProtection"))
        if old is not None:
            old.addprevious(new)
            self.root.remove(old)
        else:
            _insert_after(self.root, new, _BEFORE_PROTECTION)

    def serialize(self) -> bytes:
        return _serialize(self.original, self.root)
