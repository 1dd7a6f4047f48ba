"""An .xlsx package converted to an .ods package, in Python, without LibreOffice (bytes only, no KPI).

Reads any well-formed OOXML spreadsheet (shared or inline strings, any style indexes,
openpyxl's or XlsxWriter's output) and writes an ODF spreadsheet as LibreOffice writes
one: ``mimetype`` first and stored, the manifest, ``content.xml`` (cells, formulas in
OpenFormula, merges, column widths and row heights, named ranges, data validation with
its input and error messages, conditional formats, autofilters, hidden sheets, sheet
protection), ``styles.xml`` (cell and conditional styles, data styles, page layouts with
headers and footers), ``settings.xml`` (gridlines, frozen panes, the active sheet) and
``meta.xml``.

Formula cells are written without a cached result, so LibreOffice computes them on load
(an .xlsx writer's placeholder ``0`` is not carried as if it were a result).  A sheet
password cannot be recovered from its hash: the caller passes it, it is checked against
the .xlsx's legacy hash and stored as ODF's SHA-256 key.  What this converter does not
write (charts, drawings, comments, images) raises :class:`UnsupportedPackage` before any
work, so the caller can say so and use another way.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import posixpath
import re
import zipfile
from collections import defaultdict
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from workbook.formats.cells import column_index
from workbook.formats.ods_formula import range_address, sheet_part, to_openformula
from workbook.formats.ods_pages import page_style
from workbook.formats.ods_styles import (
    NS,
    Styles,
    Theme,
    attr,
    cell_style_xml,
    color,
    is_date_format,
    is_percent_format,
    text_properties,
)

_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_MAX_ROW, _MAX_COL = 1048576, 16384
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")
_UNSUPPORTED = ("/comments", "/image", "/vmlDrawing", "/oleObject", "/table", "/control", "/pivotTable")


class UnsupportedPackage(ValueError):
    """The .xlsx holds something this converter does not write (a chart, a comment…)."""


class PasswordUnknown(ValueError):
    """A sheet is keyed with a password the converter was not given (or another one)."""


def legacy_hash(password: str) -> str:
    """Excel's legacy 16-bit sheet password hash, as the ``password`` attribute stores it."""
    h = 0
    for ch in reversed(password):
        h = ((h >> 14) & 1) | ((h << 1) & 0x7FFF)
        h ^= ord(ch)
    h = ((h >> 14) & 1) | ((h << 1) & 0x7FFF)
    h ^= len(password) ^ 0xCE4B
    return f"{h:04X}"


def xlsx_to_ods(data: bytes, *, password: str | None = None) -> bytes:
    """The .ods package of the .xlsx package ``data``.

    ``password``: the password of the protected sheets that carry one (checked against
    their hash).  Raises :class:`UnsupportedPackage` or :class:`PasswordUnknown`.
    """
    return _Converter(zipfile.ZipFile(io.BytesIO(data)), password).package()


def _rels(z: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id → (type, target part name)."""
    folder, name = posixpath.split(part)
    path = posixpath.join(folder, "_rels", name + ".rels")
    if path not in z.namelist():
        return {}
    out = {}
    for rel in ET.fromstring(z.read(path)).iter(f"{_PR}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        full = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
        out[rel.get("Id", "")] = (rel.get("Type", ""), full)
    return out


class _Converter:
    def __init__(self, z: zipfile.ZipFile, password: str | None) -> None:
        self.z = z
        self.password = password
        root_rels = _rels(z, "")
        self.book_part = next(
            (t for kind, t in root_rels.values() if kind.endswith("/officeDocument")), "xl/workbook.xml"
        )
        self.book_rels = _rels(z, self.book_part)
        theme = next((t for k, t in self.book_rels.values() if k.endswith("/theme")), None)
        styles = next((t for k, t in self.book_rels.values() if k.endswith("/styles")), None)
        self.styles = Styles(z.read(styles) if styles else None, Theme(z.read(theme) if theme else None))
        sst = next((t for k, t in self.book_rels.values() if k.endswith("/sharedStrings")), None)
        self.shared = [_rich_text(si) for si in ET.fromstring(z.read(sst)).iter(f"{NS}si")] if sst else []
        self.book = ET.fromstring(z.read(self.book_part))
        self.objects: dict[str, str] = {}  # embedded chart name → its content.xml
        self.auto_styles: list[str] = []  # content.xml's automatic styles
        self.common_styles: list[str] = []  # styles.xml's named styles (conditional looks)
        self.db_ranges: list[str] = []  # autofilters
        self.keyed: dict[str, dict[tuple, str]] = defaultdict(dict)  # row/column/table styles by key
        self.cell_styles: dict[int, str] = {}  # xf index → automatic style name
        self.cond_styles: dict[tuple[int, int], str] = {}  # (xf, dxf) → common style name
        pr = self.book.find(f"{NS}workbookPr")
        self.date1904 = pr is not None and pr.get("date1904") in ("1", "true")

    # -- the package ------------------------------------------------------------------------

    def package(self) -> bytes:
        sheets = []
        for i, sh in enumerate(self.book.iterfind(f"{NS}sheets/{NS}sheet")):
            _, part = self.book_rels[sh.get(f"{_R}id", "")]
            for kind, target in _rels(self.z, part).values():
                if kind.endswith(_UNSUPPORTED):
                    raise UnsupportedPackage(f"{sh.get('name')}: {kind.rsplit('/', 1)[-1]}")
                if kind.endswith("/drawing"):
                    for k2, _ in _rels(self.z, target).values():
                        if not k2.endswith("/chart"):  # pictures, shapes: not written
                            raise UnsupportedPackage(f"{sh.get('name')}: {k2.rsplit('/', 1)[-1]}")
            sheets.append((i, sh.get("name", f"Sheet{i + 1}"), sh.get("state", "visible"), part))
        self.sheet_names = [s[1] for s in sheets]
        self.sheet_parts = {s[1]: s[3] for s in sheets}
        local_names, global_names = self._defined_names()
        tables, layouts, masters, settings = [], [], [], []
        validations: list[str] = []
        for i, name, state, part in sheets:
            ws = ET.fromstring(self.z.read(part))
            layout, master = page_style(ws, i + 1, name)
            layouts.append(layout)
            masters.append(master)
            tables.append(self._table(ws, i, name, state, local_names.get(i, {}), validations))
            settings.append(_sheet_settings(ws, name))
        db_ranges = "".join(self.db_ranges)
        body = (
            '<office:body><office:spreadsheet><table:calculation-settings table:case-sensitive="false"'
            ' table:automatic-find-labels="false" table:use-regular-expressions="false" table:use-wildcards="true"/>'
            + (
                f"<table:content-validations>{''.join(validations)}</table:content-validations>"
                if validations
                else ""
            )
            + "".join(tables)
            + (f"<table:named-expressions>{global_names}</table:named-expressions>" if global_names else "")
            + (f"<table:database-ranges>{db_ranges}</table:database-ranges>" if db_ranges else "")
            + "</office:spreadsheet></office:body>"
        )
        auto = "".join(self.auto_styles)
        content = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {_NAMESPACES} office:version="1.3">'
            f"<office:scripts/>{self._font_faces()}<office:automatic-styles>{auto}</office:automatic-styles>"
            f"{body}</office:document-content>"
        )
        styles = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-styles {_NAMESPACES} office:version="1.3">'
            f"{self._font_faces()}<office:styles>{self._default_style()}{self.styles.data_styles_xml()}"
            f"{''.join(self.common_styles)}</office:styles>"
            f"<office:automatic-styles>{''.join(layouts)}</office:automatic-styles>"
            f"<office:master-styles>{''.join(masters)}</office:master-styles></office:document-styles>"
        )
        active = self._active_sheet()
        return _zip(content, styles, _settings(settings, active), self.objects)

    def _font_faces(self) -> str:
        faces = "".join(
            f"<style:font-face{attr('style:name', n)}{attr('svg:font-family', n)}/>"
            for n in self.styles.fonts()
        )
        return f"<office:font-face-decls>{faces}</office:font-face-decls>"

    def _default_style(self) -> str:
        return (
            '<style:style style:name="Default" style:family="table-cell">'
            f"<style:text-properties{text_properties(self.styles.look(0).font)}/></style:style>"
        )

    def _active_sheet(self) -> str:
        view = self.book.find(f"{NS}bookViews/{NS}workbookView")
        i = int(view.get("activeTab", "0")) if view is not None else 0
        return self.sheet_names[i] if 0 <= i < len(self.sheet_names) else self.sheet_names[0]

    # -- styles ------------------------------------------------------------------------------

    def cell_style(self, xf: int) -> str:
        name = self.cell_styles.get(xf)
        if name is None:
            name = self.cell_styles[xf] = f"ce{len(self.cell_styles) + 1}"
            self.auto_styles.append(cell_style_xml(name, self.styles.look(xf), self.styles))
        return name

    def cond_style(self, xf: int, dxf: int) -> str:
        name = self.cond_styles.get((xf, dxf))
        if name is None:
            name = self.cond_styles[(xf, dxf)] = f"Excel_CondFormat_{dxf + 1}_{len(self.cond_styles) + 1}"
            self.common_styles.append(cell_style_xml(name, self.styles.merged(xf, dxf), self.styles))
        return name

    def _row_style(self, height_pt: float, page_break: bool) -> str:
        # LibreOffice imports an .xlsx row height as whole pixels at 96 dpi, rounded down
        return self._keyed_style("ro", (int(height_pt * 4 / 3 + 1e-6), page_break), _row_style_xml)

    def _keyed_style(self, prefix: str, key: tuple, make) -> str:
        cache = self.keyed[prefix]
        name = cache.get(key)
        if name is None:
            name = cache[key] = f"{prefix}{len(cache) + 1}"
            self.auto_styles.append(make(name, *key))
        return name

    # -- names -------------------------------------------------------------------------------

    def _defined_names(self) -> tuple[dict[int, dict[str, str]], str]:
        local: dict[int, dict[str, str]] = defaultdict(dict)
        out = []
        base = f"${sheet_part(self.sheet_names[0])}.$A$1"
        for dn in self.book.iterfind(f"{NS}definedNames/{NS}definedName"):
            name, text = dn.get("name", ""), (dn.text or "").strip()
            if dn.get("localSheetId") is not None:
                local[int(dn.get("localSheetId", "0"))][name] = text
                continue
            if name.startswith("_xlnm."):
                continue
            out.append(_named(name, text, base))
        return local, "".join(out)

    # -- one sheet ---------------------------------------------------------------------------

    def _table(
        self, ws: ET.Element, index: int, name: str, state: str, local: dict[str, str], validations: list[str]
    ) -> str:
        hidden = state in ("hidden", "veryHidden")
        tab = ws.find(f"{NS}sheetPr/{NS}tabColor")
        tab_color = color(tab, self.styles.theme)
        ta = self._keyed_style("ta", (index + 1, hidden, tab_color or ""), _table_style_xml)
        head = f'<table:table{attr("table:name", name)} table:style-name="{ta}"'
        prot = ws.find(NS + "sheetProtection")
        protection = ""
        if prot is not None and prot.get("sheet") in ("1", "true"):
            head += ' table:protected="true"'
            key = self._protection_key(prot, name)
            if key:
                head += f' table:protection-key="{key}"'
                head += ' table:protection-key-digest-algorithm="http://www.w3.org/2000/09/xmldsig#sha256"'
            protection = _loext_protection(prot)
        print_area = local.get("_xlnm.Print_Area")
        if print_area:
            head += attr("table:print-ranges", " ".join(range_address(r) for r in _split_refs(print_area)))
        head += ">" + protection + self._charts(ws, name)

        merges = _merges(ws)
        covered: dict[int, set[int]] = defaultdict(set)
        spans: dict[tuple[int, int], tuple[int, int]] = {}
        for r1, c1, r2, c2 in merges:
            spans[(r1, c1)] = (r2 - r1 + 1, c2 - c1 + 1)
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    if (r, c) != (r1, c1):
                        covered[r].add(c)
        rules = self._validations(ws, name, validations)
        title_rows, title_cols = _print_titles(local.get("_xlnm.Print_Titles", ""))

        columns = self._columns(ws, title_cols)
        fmt = ws.find(NS + "sheetFormatPr")
        default_ht = float(fmt.get("defaultRowHeight", "15")) if fmt is not None else 15.0
        breaks = {int(b.get("id", "0")) + 1 for b in ws.iterfind(f"{NS}rowBreaks/{NS}brk")}
        pieces: list[tuple[int, str]] = []  # (first row, xml)
        cells_of: dict[int, dict[int, None]] = defaultdict(dict)
        for at in (*rules, *spans, *((rr, cc) for rr, cs in covered.items() for cc in cs)):
            cells_of[at[0]][at[1]] = None
        sheet_data = ws.find(NS + "sheetData")
        row_elements: dict[int, ET.Element] = {}
        for row in sheet_data if sheet_data is not None else ():
            rn = int(row.get("r", "0")) or (max(row_elements, default=0) + 1)
            row_elements[rn] = row
        last_row = max([*row_elements, *cells_of, 0])
        stops = set(breaks) | ({title_rows[0], title_rows[1] + 1} if title_rows else set())
        r = 1
        while r <= last_row:
            if r not in row_elements and r not in cells_of:
                nxt = r + 1
                while (
                    nxt <= last_row and nxt not in row_elements and nxt not in cells_of and nxt not in stops
                ):
                    nxt += 1
                style = self._row_style(default_ht, r in breaks)
                rep = f' table:number-rows-repeated="{nxt - r}"' if nxt - r > 1 else ""
                pieces.append(
                    (
                        r,
                        f'<table:table-row table:style-name="{style}"{rep}>{_empty(_MAX_COL)}</table:table-row>',
                    )
                )
                r = nxt
                continue
            row = row_elements.get(r)
            pieces.append(
                (
                    r,
                    self._row(
                        row, r, default_ht, breaks, cells_of.get(r, {}), covered.get(r, set()), spans, rules
                    ),
                )
            )
            r += 1
        if last_row < _MAX_ROW:
            style = self._row_style(default_ht, False)
            pieces.append(
                (
                    last_row + 1,
                    f'<table:table-row table:style-name="{style}" table:number-rows-repeated="{_MAX_ROW - last_row}">'
                    f"{_empty(_MAX_COL)}</table:table-row>",
                )
            )
        if title_rows:
            t0, t1 = title_rows
            body = "".join(x for at, x in pieces if at < t0)
            body += "<table:table-header-rows>" + "".join(x for at, x in pieces if t0 <= at <= t1)
            body += "</table:table-header-rows>" + "".join(x for at, x in pieces if at > t1)
        else:
            body = "".join(x for _, x in pieces)
        cf = self._conditional_formats(ws, name, row_elements)
        named = "".join(
            _named(n, t, f"${sheet_part(name)}.$A$1") for n, t in local.items() if not n.startswith("_xlnm.")
        )
        self._autofilter(ws, index, name)
        return (
            head
            + columns
            + body
            + (f"<calcext:conditional-formats>{cf}</calcext:conditional-formats>" if cf else "")
            + (f"<table:named-expressions>{named}</table:named-expressions>" if named else "")
            + "</table:table>"
        )

    def _charts(self, ws: ET.Element, sheet: str) -> str:
        """The sheet's charts as ``table:shapes`` (their objects kept in ``self.objects``)."""
        from workbook.formats.ods_charts import sheet_charts

        part = self.sheet_parts[sheet]
        drawings = [t for k, t in _rels(self.z, part).values() if k.endswith("/drawing")]
        if not drawings:
            return ""
        fmt = ws.find(NS + "sheetFormatPr")
        default_w = (
            float(fmt.get("defaultColWidth")) if fmt is not None and fmt.get("defaultColWidth") else 8.536
        )
        default_h = float(fmt.get("defaultRowHeight", "15")) if fmt is not None else 15.0
        widths: dict[int, float] = {}
        for c in ws.iterfind(f"{NS}cols/{NS}col"):
            for i in range(int(c.get("min", "1")), min(int(c.get("max", "1")), 1024) + 1):
                widths[i] = 0.0 if c.get("hidden") in ("1", "true") else float(c.get("width") or default_w)
        heights = {
            int(r.get("r", "0")): int(float(r.get("ht")) * 4 / 3 + 1e-6) / 96
            for r in ws.iterfind(f"{NS}sheetData/{NS}row")
            if r.get("ht")
        }
        default_in = int(default_h * 4 / 3 + 1e-6) / 96

        def col_left(col0: int) -> float:
            return sum(widths.get(i, default_w) for i in range(1, col0 + 1)) * 7 / 72

        def row_top(row0: int) -> float:
            return sum(heights.get(i, default_in) for i in range(1, row0 + 1))

        shapes = ""
        for drawing in drawings:
            more, objects = sheet_charts(
                self.z.read,
                drawing,
                lambda p: _rels(self.z, p),
                sheet,
                col_left,
                row_top,
                len(self.objects) + 1,
            )
            shapes += more
            self.objects.update(objects)
        return shapes

    def _protection_key(self, prot: ET.Element, sheet: str) -> str:
        legacy = prot.get("password")
        modern = prot.get("hashValue")
        if not legacy and not modern:
            return ""
        if not self.password or (legacy and legacy_hash(self.password).upper() != legacy.upper()):
            raise PasswordUnknown(f"{sheet}: protected with a password the converter was not given")
        return base64.b64encode(hashlib.sha256(self.password.encode("utf-8")).digest()).decode()

    def _columns(self, ws: ET.Element, title_cols: tuple[int, int] | None) -> str:
        fmt = ws.find(NS + "sheetFormatPr")
        default_w = (
            float(fmt.get("defaultColWidth")) * 7 / 72
            if fmt is not None and fmt.get("defaultColWidth")
            else 0.8299
        )
        out = []
        col = 1
        for c in ws.iterfind(f"{NS}cols/{NS}col"):
            lo, hi = int(c.get("min", "1")), min(int(c.get("max", "1")), _MAX_COL)
            if lo > col:
                out.append((col, lo - 1, self._col_style(default_w, False), "Default", False))
            width = float(c.get("width")) * 7 / 72 if c.get("width") else default_w
            default = self.cell_style(int(c.get("style"))) if c.get("style") else "Default"
            hidden = c.get("hidden") in ("1", "true")
            out.append((lo, hi, self._col_style(width, hidden), default, hidden))
            col = hi + 1
        if col <= _MAX_COL:
            out.append((col, _MAX_COL, self._col_style(default_w, False), "Default", False))
        before, header, after = [], [], []
        for lo, hi, style, default, hidden in out:
            for a, b, in_header in _split_span(lo, hi, title_cols):
                rep = f' table:number-columns-repeated="{b - a + 1}"' if b > a else ""
                vis = ' table:visibility="collapse"' if hidden else ""
                el = f'<table:table-column table:style-name="{style}"{rep}{vis} table:default-cell-style-name="{default}"/>'
                (header if in_header else before if not header else after).append(el)
        if header:
            return (
                "".join(before)
                + f"<table:table-header-columns>{''.join(header)}</table:table-header-columns>"
                + "".join(after)
            )
        return "".join(before)

    def _col_style(self, width_in: float, hidden: bool) -> str:
        return self._keyed_style("co", (round(width_in, 4), hidden), _col_style_xml)

    def _row(
        self,
        row: ET.Element | None,
        r: int,
        default_ht: float,
        breaks: set[int],
        extra: dict[int, None],
        covered: set[int],
        spans: dict[tuple[int, int], tuple[int, int]],
        rules: dict[tuple[int, int], str],
    ) -> str:
        ht = float(row.get("ht")) if row is not None and row.get("ht") else default_ht
        style = self._row_style(ht, r in breaks)
        head = f'<table:table-row table:style-name="{style}"'
        if row is not None and row.get("hidden") in ("1", "true"):
            head += ' table:visibility="collapse"'
        if row is not None and row.get("customFormat") in ("1", "true") and row.get("s"):
            head += f' table:default-cell-style-name="{self.cell_style(int(row.get("s")))}"'
        cells: dict[int, ET.Element | None] = dict.fromkeys(extra)
        for c in row if row is not None else ():
            ref = c.get("r")
            if ref:
                m = _CELL_REF.match(ref)
                col = column_index(m.group(1)) if m else max(cells, default=0) + 1
            else:
                col = max(cells, default=0) + 1
            cells[col] = c
        out = [head + ">"]
        col = 1
        for c in sorted(cells):
            if c > col:
                out.append(_empty(c - col))
            out.append(self._cell(cells[c], c in covered, spans.get((r, c)), rules.get((r, c))))
            col = c + 1
        out.append(_empty(_MAX_COL - col + 1) if col <= _MAX_COL else "")
        out.append("</table:table-row>")
        return "".join(out)

    def _cell(
        self,
        c: ET.Element | None,
        is_covered: bool,
        span: tuple[int, int] | None,
        rule: str | None,
    ) -> str:
        tag = "table:covered-table-cell" if is_covered else "table:table-cell"
        out = f"<{tag}"
        xf = int(c.get("s", "0")) if c is not None and c.get("s") else None
        if xf is not None:
            out += f' table:style-name="{self.cell_style(xf)}"'
        if rule:
            out += f' table:content-validation-name="{rule}"'
        if span and not is_covered:
            out += f' table:number-columns-spanned="{span[1]}" table:number-rows-spanned="{span[0]}"'
        if c is None:
            return out + "/>"
        kind = c.get("t", "n")
        f = c.find(NS + "f")
        v = c.find(NS + "v")
        if f is not None and f.text:
            out += attr("table:formula", to_openformula(f.text))
            return out + "/>"  # no cached result: LibreOffice computes it on load
        text: str | None = None
        if kind == "s" and v is not None and v.text is not None:
            i = int(v.text)
            text = self.shared[i] if 0 <= i < len(self.shared) else ""
        elif kind == "inlineStr":
            is_ = c.find(NS + "is")
            text = _rich_text(is_) if is_ is not None else ""
        elif kind in ("str", "e") and v is not None:
            text = v.text or ""
        elif kind == "b" and v is not None and v.text is not None:
            value = "true" if v.text.strip() in ("1", "true") else "false"
            return (
                out
                + f' office:value-type="boolean" office:boolean-value="{value}" calcext:value-type="boolean"><text:p>{value.upper()}</text:p></{tag}>'
            )
        elif v is not None and v.text not in (None, ""):
            number = v.text.strip()
            code = self.styles.look(xf or 0).number
            if is_date_format(code):
                when = _excel_date(float(number), self.date1904)
                if when is not None:
                    return (
                        out
                        + f' office:value-type="date" office:date-value="{when}" calcext:value-type="date"><text:p>{when}</text:p></{tag}>'
                    )
            kind_odf = "percentage" if is_percent_format(code) else "float"
            return (
                out
                + f' office:value-type="{kind_odf}" office:value="{number}" calcext:value-type="{kind_odf}"><text:p>{number}</text:p></{tag}>'
            )
        if text is None or text == "":
            return out + "/>"
        return out + f' office:value-type="string" calcext:value-type="string">{_paragraphs(text)}</{tag}>'

    # -- validation, conditional formats, filters ---------------------------------------------

    def _validations(self, ws: ET.Element, sheet: str, out: list[str]) -> dict[tuple[int, int], str]:
        rules: dict[tuple[int, int], str] = {}
        for dv in ws.iterfind(f"{NS}dataValidations/{NS}dataValidation"):
            ranges = (dv.get("sqref") or "").split()
            if not ranges:
                continue
            name = f"val{len(out) + 1}"
            first = ranges[0].split(":")[0]
            base = f"{sheet_part(sheet)}.{first}"
            cond = _condition(dv)
            blank = "true" if dv.get("allowBlank") in ("1", "true") else "false"
            el = f'<table:content-validation table:name="{name}"'
            if cond:
                el += attr("table:condition", cond)
            el += f' table:allow-empty-cell="{blank}"'
            if dv.get("type") == "list":
                el += f' table:display-list="{"none" if dv.get("showDropDown") in ("1", "true") else "unsorted"}"'
            el += attr("table:base-cell-address", base) + ">"
            shown = "true" if dv.get("showInputMessage") in ("1", "true") else "false"
            if dv.get("promptTitle") is not None or dv.get("prompt") is not None:
                el += f'<table:help-message{attr("table:title", dv.get("promptTitle") or "")} table:display="{shown}">'
                el += _paragraphs(dv.get("prompt") or "") + "</table:help-message>"
            err_shown = "true" if dv.get("showErrorMessage") in ("1", "true") else "false"
            kind = {"warning": "warning", "information": "information"}.get(dv.get("errorStyle", ""), "stop")
            el += f'<table:error-message table:message-type="{kind}"{attr("table:title", dv.get("errorTitle") or "")}'
            el += f' table:display="{err_shown}">{_paragraphs(dv.get("error") or "")}</table:error-message>'
            out.append(el + "</table:content-validation>")
            for ref in ranges:
                r1, c1, r2, c2 = _bounds(ref)
                for rr in range(r1, r2 + 1):
                    for cc in range(c1, c2 + 1):
                        rules[(rr, cc)] = name
        return rules

    def _conditional_formats(self, ws: ET.Element, sheet: str, row_elements: dict) -> str:
        out = []
        xf_at = _xf_lookup(row_elements)
        for cf in ws.iterfind(f"{NS}conditionalFormatting"):
            ranges = (cf.get("sqref") or "").split()
            if not ranges:
                continue
            base = f"{sheet_part(sheet)}.{ranges[0].split(':')[0]}"
            rules = sorted(cf.iterfind(NS + "cfRule"), key=lambda x: int(x.get("priority", "0")))
            groups: dict[int, list[str]] = defaultdict(list)
            for ref in ranges:
                r1, c1, r2, c2 = _bounds(ref)
                for rr in range(r1, r2 + 1):
                    for cc in range(c1, c2 + 1):
                        groups[xf_at(rr, cc)].append(f"{sheet_part(sheet)}.{_a1(rr, cc)}")
            for xf, cells in groups.items():
                conditions = ""
                for rule in rules:
                    value = _cf_value(rule)
                    if value is None or rule.get("dxfId") is None:
                        continue
                    style = self.cond_style(xf, int(rule.get("dxfId", "0")))
                    conditions += (
                        f'<calcext:condition calcext:apply-style-name="{style}"{attr("calcext:value", value)}'
                        f"{attr('calcext:base-cell-address', base)}/>"
                    )
                if conditions:
                    target = " ".join(f"{a}:{a}" for a in cells)
                    out.append(
                        f"<calcext:conditional-format{attr('calcext:target-range-address', target)}>"
                        f"{conditions}</calcext:conditional-format>"
                    )
        return "".join(out)

    def _autofilter(self, ws: ET.Element, index: int, sheet: str) -> None:
        af = ws.find(NS + "autoFilter")
        if af is None or not af.get("ref"):
            return
        r1, c1, r2, c2 = _bounds(af.get("ref", ""))
        target = f"{sheet_part(sheet)}.{_a1(r1, c1)}:{sheet_part(sheet)}.{_a1(r2, c2)}"
        self.db_ranges.append(
            f'<table:database-range table:name="__Anonymous_Sheet_DB__{index}"'
            f'{attr("table:target-range-address", target)} table:display-filter-buttons="true"/>'
        )


# -- helpers -----------------------------------------------------------------------------------


def _rich_text(el: ET.Element) -> str:
    """The text of a shared string or inline string (``t`` runs joined; phonetic runs left out)."""
    out = []
    for child in el:
        tag = child.tag
        if tag == NS + "t":
            out.append(child.text or "")
        elif tag == NS + "r":
            t = child.find(NS + "t")
            out.append(t.text or "" if t is not None else "")
    return _unescape_x("".join(out))


def _unescape_x(text: str) -> str:
    # OOXML's _xHHHH_ escapes for control characters
    if "_x" not in text:
        return text
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _paragraphs(text: str) -> str:
    """Text as ``text:p`` paragraphs, runs of spaces and tabs spelt as ODF wants them."""
    paras = []
    for line in text.split("\n"):
        line = escape(line)
        line = re.sub(r"  +", lambda m: " " + f'<text:s text:c="{len(m.group(0)) - 1}"/>', line)
        line = re.sub(r"^ ", "<text:s/>", line).replace("\t", "<text:tab/>")
        paras.append(f"<text:p>{line}</text:p>")
    return "".join(paras)


def _empty(n: int) -> str:
    return f'<table:table-cell table:number-columns-repeated="{n}"/>' if n > 1 else "<table:table-cell/>"


def _a1(row: int, col: int) -> str:
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row}"


def _bounds(ref: str) -> tuple[int, int, int, int]:
    a, _, b = ref.replace("$", "").partition(":")
    ma, mb = _CELL_REF.match(a), _CELL_REF.match(b or a)
    if not ma or not mb:
        return (1, 1, 1, 1)
    r1, c1, r2, c2 = int(ma.group(2)), column_index(ma.group(1)), int(mb.group(2)), column_index(mb.group(1))
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def _merges(ws: ET.Element) -> list[tuple[int, int, int, int]]:
    return [_bounds(m.get("ref", "")) for m in ws.iterfind(f"{NS}mergeCells/{NS}mergeCell") if m.get("ref")]


def _xf_lookup(row_elements: dict):
    styles: dict[tuple[int, int], int] = {}
    for r, row in row_elements.items():
        for c in row:
            ref = c.get("r")
            m = _CELL_REF.match(ref or "")
            if m and c.get("s"):
                styles[(r, column_index(m.group(1)))] = int(c.get("s"))
    return lambda r, c: styles.get((r, c), 0)


def _split_refs(text: str) -> list[str]:
    return [p for p in re.findall(r"(?:'(?:[^']|'')+'|[^,']+)+", text) if p.strip()]


def _print_titles(text: str) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    rows = cols = None
    for ref in _split_refs(text):
        area = ref.rpartition("!")[2].replace("$", "")
        a, _, b = area.partition(":")
        if a.isdigit():
            rows = (int(a), int(b or a))
        elif a.isalpha():
            cols = (column_index(a), column_index(b or a))
    return rows, cols


def _split_span(lo: int, hi: int, title: tuple[int, int] | None):
    if title is None or hi < title[0] or lo > title[1]:
        yield lo, hi, False
        return
    if lo < title[0]:
        yield lo, title[0] - 1, False
    yield max(lo, title[0]), min(hi, title[1]), True
    if hi > title[1]:
        yield title[1] + 1, hi, False


def _named(name: str, text: str, base: str) -> str:
    refs = _split_refs(text)
    simple = all(
        re.fullmatch(r"(?:'(?:[^']|'')+'|[^\W\d][\w.]*)!\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?", r)
        for r in refs
    )
    if refs and simple:
        address = " ".join(range_address(r) for r in refs)
        return f"<table:named-range{attr('table:name', name)}{attr('table:base-cell-address', base)}{attr('table:cell-range-address', address)}/>"
    return (
        f"<table:named-expression{attr('table:name', name)}{attr('table:base-cell-address', base)}"
        f"{attr('table:expression', to_openformula(text))}/>"
    )


_OPERATORS = {
    "equal": "=", "notEqual": "!=", "greaterThan": ">", "lessThan": "<",
    "greaterThanOrEqual": ">=", "lessThanOrEqual": "<=",
}  # fmt: skip


def _condition(dv: ET.Element) -> str | None:
    kind = dv.get("type", "none")
    f1 = dv.find(NS + "formula1")
    f2 = dv.find(NS + "formula2")
    a = to_openformula(f1.text or "", prefix=False) if f1 is not None else ""
    b = to_openformula(f2.text or "", prefix=False) if f2 is not None else ""
    op = dv.get("operator", "between")
    if kind == "none":
        return None
    if kind == "list":
        raw = (f1.text or "") if f1 is not None else ""
        if raw.startswith('"'):
            items = ";".join('"' + x.replace('"', '""') + '"' for x in raw.strip('"').split(","))
            return f"of:cell-content-is-in-list({items})"
        return f"of:cell-content-is-in-list({a})"
    if kind == "custom":
        return f"of:is-true-formula({a})"
    if kind == "textLength":
        if op in ("between", "notBetween"):
            neg = "not-" if op == "notBetween" else ""
            return f"of:cell-content-text-length-is-{neg}between({a},{b})"
        return f"of:cell-content-text-length(){_OPERATORS.get(op, '=')}{a}"
    test = {
        "whole": "cell-content-is-whole-number()", "decimal": "cell-content-is-decimal-number()",
        "date": "cell-content-is-date()", "time": "cell-content-is-time()",
    }.get(kind)  # fmt: skip
    if test is None:
        return None
    if op in ("between", "notBetween"):
        neg = "not-" if op == "notBetween" else ""
        return f"of:{test} and cell-content-is-{neg}between({a},{b})"
    return f"of:{test} and cell-content(){_OPERATORS.get(op, '=')}{a}"


def _cf_value(rule: ET.Element) -> str | None:
    kind = rule.get("type")
    fs = [to_openformula(f.text or "", prefix=False) for f in rule.iterfind(NS + "formula")]
    if kind == "expression" and fs:
        return f"formula-is({fs[0]})"
    if kind == "cellIs" and fs:
        op = rule.get("operator", "equal")
        if op in ("between", "notBetween") and len(fs) > 1:
            return f"{'not-' if op == 'notBetween' else ''}between({fs[0]},{fs[1]})"
        return f"{_OPERATORS.get(op, '=')}{fs[0]}"
    text = rule.get("text")
    words = {
        "containsText": "contains-text",
        "notContainsText": "not-contains-text",
        "beginsWith": "begins-with",
        "endsWith": "ends-with",
    }
    if kind in words and text is not None:
        return f'{words[kind]}("{text}")'
    if kind == "duplicateValues":
        return "duplicate"
    if kind == "uniqueValues":
        return "unique"
    return None  # colour scales, data bars, icon sets: not carried


def _excel_date(serial: float, date1904: bool) -> str | None:
    try:
        start = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
        when = start + dt.timedelta(days=serial)
    except (OverflowError, ValueError):
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%S") if when.time() != dt.time(0) else when.strftime("%Y-%m-%d")


def _loext_protection(prot: ET.Element) -> str:
    def allowed(key: str, default_locked: bool) -> str:
        v = prot.get(key)
        locked = default_locked if v is None else v in ("1", "true")
        return "false" if locked else "true"

    return (
        f'<loext:table-protection loext:select-protected-cells="{allowed("selectLockedCells", False)}"'
        f' loext:select-unprotected-cells="{allowed("selectUnlockedCells", False)}"'
        + (' loext:insert-columns="true"' if allowed("insertColumns", True) == "true" else "")
        + (' loext:insert-rows="true"' if allowed("insertRows", True) == "true" else "")
        + (' loext:delete-columns="true"' if allowed("deleteColumns", True) == "true" else "")
        + (' loext:delete-rows="true"' if allowed("deleteRows", True) == "true" else "")
        + "/>"
    )


def _row_style_xml(name: str, pixels: int, page_break: bool) -> str:
    brk = "page" if page_break else "auto"
    return (
        f'<style:style style:name="{name}" style:family="table-row"><style:table-row-properties'
        f' style:row-height="{pixels / 96:.4f}in" fo:break-before="{brk}" style:use-optimal-row-height="false"/>'
        "</style:style>"
    )


def _col_style_xml(name: str, width: float, hidden: bool) -> str:
    return (
        f'<style:style style:name="{name}" style:family="table-column"><style:table-column-properties'
        f' fo:break-before="auto" style:column-width="{width:.4f}in"/></style:style>'
    )


def _table_style_xml(name: str, index: int, hidden: bool, tab_color: str) -> str:
    tab = f' tableooo:tab-color="{tab_color}"' if tab_color else ""
    return (
        f'<style:style style:name="{name}" style:family="table" style:master-page-name="PageStyle{index}">'
        f'<style:table-properties table:display="{"false" if hidden else "true"}" style:writing-mode="lr-tb"{tab}/>'
        "</style:style>"
    )


def _sheet_settings(ws: ET.Element, name: str) -> str:
    view = ws.find(f"{NS}sheetViews/{NS}sheetView")
    grid = "false" if view is not None and view.get("showGridLines") in ("0", "false") else "true"
    items = f'<config:config-item config:name="ShowGrid" config:type="boolean">{grid}</config:config-item>'
    pane = view.find(NS + "pane") if view is not None else None
    if pane is not None and pane.get("state") in ("frozen", "frozenSplit"):
        x, y = int(float(pane.get("xSplit", "0"))), int(float(pane.get("ySplit", "0")))
        for key, value in (
            ("HorizontalSplitMode", 2 if x else 0), ("VerticalSplitMode", 2 if y else 0),
            ("HorizontalSplitPosition", x), ("VerticalSplitPosition", y),
            ("ActiveSplitRange", 3 if x and y else (3 if x else 2)),
            ("PositionLeft", 0), ("PositionRight", x), ("PositionTop", 0), ("PositionBottom", y),
        ):  # fmt: skip
            kind = "short" if key.endswith("Mode") or key == "ActiveSplitRange" else "int"
            items += (
                f'<config:config-item config:name="{key}" config:type="{kind}">{value}</config:config-item>'
            )
    return f"<config:config-item-map-entry{attr('config:name', name)}>{items}</config:config-item-map-entry>"


def _settings(tables: list[str], active: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-settings'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:config="urn:oasis:names:tc:opendocument:xmlns:config:1.0" office:version="1.3"><office:settings>'
        '<config:config-item-set config:name="ooo:view-settings"><config:config-item-map-indexed config:name="Views">'
        '<config:config-item-map-entry><config:config-item config:name="ViewId" config:type="string">view1</config:config-item>'
        f'<config:config-item-map-named config:name="Tables">{"".join(tables)}</config:config-item-map-named>'
        f'<config:config-item config:name="ActiveTable" config:type="string">{escape(active)}</config:config-item>'
        "</config:config-item-map-entry></config:config-item-map-indexed></config:config-item-set>"
        "</office:settings></office:document-settings>"
    )


_NAMESPACES = " ".join(
    f'xmlns:{p}="{u}"'
    for p, u in (
        ("office", "urn:oasis:names:tc:opendocument:xmlns:office:1.0"),
        ("style", "urn:oasis:names:tc:opendocument:xmlns:style:1.0"),
        ("text", "urn:oasis:names:tc:opendocument:xmlns:text:1.0"),
        ("table", "urn:oasis:names:tc:opendocument:xmlns:table:1.0"),
        ("fo", "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"),
        ("svg", "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"),
        ("number", "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"),
        ("of", "urn:oasis:names:tc:opendocument:xmlns:of:1.2"),
        ("calcext", "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"),
        ("loext", "urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0"),
        ("tableooo", "http://openoffice.org/2009/table"),
        ("meta", "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"),
        ("dc", "http://purl.org/dc/elements/1.1/"),
        ("xlink", "http://www.w3.org/1999/xlink"),
        ("draw", "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"),
    )
)


def _manifest(objects: dict[str, str]) -> str:
    charts = "".join(
        f'<manifest:file-entry manifest:full-path="{escape(n)}/" manifest:version="1.3"'
        ' manifest:media-type="application/vnd.oasis.opendocument.chart"/>'
        f'<manifest:file-entry manifest:full-path="{escape(n)}/content.xml" manifest:media-type="text/xml"/>'
        for n in objects
    )
    return _MANIFEST.replace("</manifest:manifest>", charts + "</manifest:manifest>")


_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
    '<manifest:file-entry manifest:full-path="/" manifest:version="1.3"'
    ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    '<manifest:file-entry manifest:full-path="styles.xml" manifest:media-type="text/xml"/>'
    '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
    '<manifest:file-entry manifest:full-path="settings.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def _zip(content: str, styles: str, settings: str, objects: dict[str, str]) -> bytes:
    meta = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.3">'
        "<office:meta><meta:generator>KPI Workbook xlsx_to_ods</meta:generator></office:meta></office:document-meta>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        for name, text in (
            ("content.xml", content), ("styles.xml", styles), ("meta.xml", meta),
            ("settings.xml", settings), ("META-INF/manifest.xml", _manifest(objects)),
        ):  # fmt: skip
            z.writestr(name, text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
        for name, text in objects.items():
            z.writestr(f"{name}/content.xml", text.encode("utf-8"), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
