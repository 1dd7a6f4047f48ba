"""Workbooks that carry what staff add to a KPI workbook, made the ways staff's tools make it.

Each builder takes a filled (uncalculated) KPI workbook and returns the same workbook
with foreign content added:

* :func:`with_openpyxl`: an extra sheet with a chart, comments (legacy VML), data
  validation and conditional formats on an indicator sheet, a custom document property;
* :func:`with_xlsxwriter`: a picture, a chart, a text box and a comment drawn by
  XlsxWriter, grafted onto an indicator sheet part by part (XlsxWriter cannot edit
  an existing file, so its parts are moved over as a file manager would);
* :func:`with_handmade`: hand-built XML: a custom XML part, threaded comments with
  their persons part, rich text in a notes cell;
* :func:`with_odd_inputs`: input cells no writer of ours produces: ``1E+400``, a
  ``t="d"`` ISO date, a formula with a cached ``#DIV/0!``.

LibreOffice versions of these are made in the tests by converting them.
"""

from __future__ import annotations

import io
import posixpath
import struct
import zipfile
import zlib
from pathlib import Path

from lxml import etree

from workbook.formats.xlsx_patch import CT_NS, MAIN_NS, PKG_REL_NS, REL_NS

R = f"{{{REL_NS}}}id"
# <worksheet> children that follow <drawing>/<legacyDrawing>, in schema order.
_AFTER_DRAWING = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls", "webPublishItems")
_AFTER_DRAWING += ("tableParts", "extLst")


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG with a red-to-blue gradient, built without Pillow."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(
        b"\0" + b"".join(bytes((255 * x // width, 0, 255 * y // height)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# -- package helpers -------------------------------------------------------------------------


class Package:
    """A zip package held in memory as {name: bytes}, in member order."""

    def __init__(self, data: bytes):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            self.parts = {i.filename: z.read(i) for i in z.infolist()}

    def save(self, path: Path) -> Path:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, body in self.parts.items():
                z.writestr(name, body)
        return path

    def xml(self, name: str) -> etree._Element:
        return etree.fromstring(self.parts[name])

    def put_xml(self, name: str, root: etree._Element) -> None:
        self.parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def sheet_part(self, sheet: str) -> str:
        wb = self.xml("xl/workbook.xml")
        rels = {r.get("Id"): r.get("Target") for r in self.xml("xl/_rels/workbook.xml.rels")}
        for el in wb.iter(f"{{{MAIN_NS}}}sheet"):
            if el.get("name") == sheet:
                target = rels[el.get(R)]
                return target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
        raise KeyError(sheet)

    def add_rel(self, source: str, rel_type: str, target: str) -> str:
        folder, name = posixpath.split(source)
        rels_name = posixpath.join(folder, "_rels", name + ".rels") if source else "_rels/.rels"
        root = (
            self.xml(rels_name)
            if rels_name in self.parts
            else etree.Element(f"{{{PKG_REL_NS}}}Relationships", nsmap={None: PKG_REL_NS})
        )
        ids = {r.get("Id") for r in root}
        n = 1
        while f"rIdF{n}" in ids:
            n += 1
        etree.SubElement(root, f"{{{PKG_REL_NS}}}Relationship", Id=f"rIdF{n}", Type=rel_type, Target=target)
        self.put_xml(rels_name, root)
        return f"rIdF{n}"

    def content_type(self, part: str | None = None, ext: str | None = None, ctype: str = "") -> None:
        root = self.xml("[Content_Types].xml")
        if ext:
            if any(d.get("Extension") == ext for d in root.iter(f"{{{CT_NS}}}Default")):
                return
            root.insert(0, etree.Element(f"{{{CT_NS}}}Default", Extension=ext, ContentType=ctype))
        else:
            etree.SubElement(root, f"{{{CT_NS}}}Override", PartName="/" + part, ContentType=ctype)
        self.put_xml("[Content_Types].xml", root)

    def attach_to_sheet(self, sheet_part: str, local: str, rel_id: str) -> None:
        """Put ``<drawing r:id>`` or ``<legacyDrawing r:id>`` into a sheet in schema order."""
        root = self.xml(sheet_part)
        el = etree.Element(f"{{{MAIN_NS}}}{local}", nsmap={"r": REL_NS})
        el.set(R, rel_id)
        after = [
            c
            for c in root
            if etree.QName(c).localname in _AFTER_DRAWING + (("legacyDrawing",) if local == "drawing" else ())
        ]
        if after:
            after[0].addprevious(el)
        else:
            root.append(el)
        self.put_xml(sheet_part, root)


def graft(base: bytes, sheet: str, donor: bytes, donor_sheet_part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """Move the drawing, comments and their media/charts of a donor sheet onto ``sheet`` of ``base``."""
    pkg, don = Package(base), Package(donor)
    target = pkg.sheet_part(sheet)
    don_ct = don.xml("[Content_Types].xml")
    overrides = {
        o.get("PartName").lstrip("/"): o.get("ContentType") for o in don_ct.iter(f"{{{CT_NS}}}Override")
    }
    defaults = {d.get("Extension"): d.get("ContentType") for d in don_ct.iter(f"{{{CT_NS}}}Default")}

    def copy_part(name: str) -> None:
        assert name not in pkg.parts, f"{name} already in the base"
        pkg.parts[name] = don.parts[name]
        if name in overrides:
            pkg.content_type(part=name, ctype=overrides[name])
        else:
            ext = name.rsplit(".", 1)[-1]
            pkg.content_type(ext=ext, ctype=defaults[ext])
        folder, base_name = posixpath.split(name)
        rels = posixpath.join(folder, "_rels", base_name + ".rels")
        if rels in don.parts:
            pkg.parts[rels] = don.parts[rels]
            for rel in don.xml(rels):
                if rel.get("TargetMode") != "External":
                    copy_part(posixpath.normpath(posixpath.join(folder, rel.get("Target"))))

    sheet_rels = posixpath.join(
        posixpath.dirname(donor_sheet_part), "_rels", posixpath.basename(donor_sheet_part) + ".rels"
    )
    for rel in don.xml(sheet_rels):
        part = posixpath.normpath(posixpath.join(posixpath.dirname(donor_sheet_part), rel.get("Target")))
        copy_part(part)
        rel_target = posixpath.relpath(part, posixpath.dirname(target))
        rid = pkg.add_rel(target, rel.get("Type"), rel_target)
        kind = rel.get("Type").rsplit("/", 1)[-1]
        if kind == "drawing":
            pkg.attach_to_sheet(target, "drawing", rid)
        elif kind == "vmlDrawing":
            pkg.attach_to_sheet(target, "legacyDrawing", rid)
    out = io.BytesIO()
    pkg.save(out)  # type: ignore[arg-type]
    return out.getvalue()


# -- the builders ----------------------------------------------------------------------------


def with_openpyxl(src: Path, dst: Path, sheet: str) -> Path:
    """Extra sheet with a chart, comments, data validation, conditional formats, custom property."""
    from openpyxl import load_workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.packaging.custom import StringProperty
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = load_workbook(src)
    extra = wb.create_sheet("我的備註")
    for i, (label, n) in enumerate([("一月", 12), ("二月", 30), ("三月", 21)], start=1):
        extra.cell(i, 1, label)
        extra.cell(i, 2, n)
    chart = BarChart()
    chart.title = "每月件數"
    chart.add_data(Reference(extra, min_col=2, min_row=1, max_row=3))
    chart.set_categories(Reference(extra, min_col=1, min_row=1, max_row=3))
    extra.add_chart(chart, "D2")
    extra["A5"].comment = Comment("科長：請再確認三月數字", "王小明")
    ws = wb[sheet]
    ws["H2"].comment = Comment("承辦人備註：本表已核對", "林美玲")
    dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    ws.add_data_validation(dv)
    dv.add("H3")
    ws.conditional_formatting.add(
        "H4:H6",
        CellIsRule(operator="greaterThan", formula=["10"], fill=PatternFill("solid", fgColor="FFC7CE")),
    )
    wb.custom_doc_props.append(StringProperty(name="承辦人", value="林美玲"))
    wb.save(dst)
    return dst


def with_xlsxwriter(src: Path, dst: Path, sheet: str, tmp: Path) -> Path:
    """A picture, a chart, a text box and a comment drawn by XlsxWriter, grafted onto ``sheet``."""
    import xlsxwriter

    donor = tmp / "donor.xlsx"
    with xlsxwriter.Workbook(str(donor)) as book:
        ws = book.add_worksheet("donor")
        ws.write_column("A1", [3, 5, 8])
        ws.insert_image(
            "H2", "logo.png", {"image_data": io.BytesIO(tiny_png()), "x_scale": 20, "y_scale": 20}
        )
        chart = book.add_chart({"type": "line"})
        chart.add_series({"values": "=donor!$A$1:$A$3", "name": "趨勢"})
        ws.insert_chart("H12", chart)
        ws.insert_textbox("M2", "已與主計室核對", {"width": 200, "height": 60})
        ws.write_comment("H30", "XlsxWriter 註解")
    dst.write_bytes(graft(src.read_bytes(), sheet, donor.read_bytes()))
    return dst


CUSTOM_XML = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<kpiNote xmlns="urn:example:staff">\xe5\x85\xa7\xe9\x83\xa8\xe6\xa0\xb8\xe5\xb0\x8d</kpiNote>'
ITEM_PROPS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
    b'<ds:datastoreItem ds:itemID="{6E5A3C5B-0F4B-4C5D-9A55-1B2C3D4E5F60}" '
    b'xmlns:ds="http://schemas.openxmlformats.org/officeDocument/2006/customXml">'
    b"<ds:schemaRefs/></ds:datastoreItem>"
)
PERSONS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments" '
    b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<person displayName="\xe6\x9e\x97\xe7\xbe\x8e\xe7\x8e\xb2" id="{1F6B7D0E-2C3A-4B5C-8D9E-0A1B2C3D4E5F}" '
    b'userId="lin" providerId="None"/></personList>'
)
THREADED = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments" '
    b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<threadedComment ref="H8" dT="2018-07-09T10:00:00.00" personId="{1F6B7D0E-2C3A-4B5C-8D9E-0A1B2C3D4E5F}" '
    b'id="{0A0B0C0D-1111-2222-3333-444455556666}"><text>\xe8\xab\x8b\xe7\xa7\x91\xe9\x95\xb7\xe7\xa2\xba\xe8\xaa\x8d</text>'
    b"</threadedComment></ThreadedComments>"
)
RICH_NOTE = (
    '<is><r><rPr><b/><sz val="12"/><color rgb="FFC00000"/><rFont val="標楷體"/></rPr><t>重要：</t></r>'
    '<r><rPr><sz val="12"/><rFont val="標楷體"/></rPr><t xml:space="preserve">本期因颱風停班 2 日。</t></r></is>'
)


def set_cell_xml(pkg: Package, sheet: str, ref: str, inner: str, attrs: dict[str, str]) -> None:
    """Replace one cell's element by hand-written XML (kept style)."""
    part = pkg.sheet_part(sheet)
    root = pkg.xml(part)
    cell = next(c for c in root.iter(f"{{{MAIN_NS}}}c") if c.get("r") == ref)
    new = etree.fromstring(f'<c xmlns="{MAIN_NS}">{inner}</c>')
    for k, v in {"r": ref, **({"s": cell.get("s")} if cell.get("s") else {}), **attrs}.items():
        new.set(k, v)
    cell.addprevious(new)
    cell.getparent().remove(cell)
    pkg.put_xml(part, root)


def with_handmade(src: Path, dst: Path, sheet: str, notes: tuple[str, str]) -> Path:
    """A custom XML part, threaded comments (+ persons) on ``sheet``, rich text in a notes cell."""
    pkg = Package(src.read_bytes())
    pkg.parts["customXml/item1.xml"] = CUSTOM_XML
    pkg.parts["customXml/itemProps1.xml"] = ITEM_PROPS
    pkg.parts["customXml/_rels/item1.xml.rels"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXmlProps" '
        b'Target="itemProps1.xml"/></Relationships>'
    )
    pkg.content_type(
        part="customXml/itemProps1.xml",
        ctype="application/vnd.openxmlformats-officedocument.customXmlProperties+xml",
    )
    pkg.add_rel("xl/workbook.xml", REL_NS + "/customXml", "../customXml/item1.xml")
    pkg.parts["xl/persons/person.xml"] = PERSONS
    pkg.content_type(part="xl/persons/person.xml", ctype="application/vnd.ms-excel.person+xml")
    pkg.add_rel(
        "xl/workbook.xml",
        "http://schemas.microsoft.com/office/2017/10/relationships/person",
        "persons/person.xml",
    )
    pkg.parts["xl/threadedComments/threadedComment1.xml"] = THREADED
    pkg.content_type(
        part="xl/threadedComments/threadedComment1.xml", ctype="application/vnd.ms-excel.threadedcomments+xml"
    )
    part = pkg.sheet_part(sheet)
    pkg.add_rel(
        part,
        "http://schemas.microsoft.com/office/2017/10/relationships/threadedComment",
        "../threadedComments/threadedComment1.xml",
    )
    note_sheet, note_ref = notes
    set_cell_xml(pkg, note_sheet, note_ref, RICH_NOTE, {"t": "inlineStr"})
    pkg.save(dst)
    return dst


#: Input cells (raw XML) no writer of ours produces, by input role.
ODD_INPUTS = {
    "overflow": ("<v>1E+400</v>", {}),
    "iso_date": ("<v>2018-06-30T00:00:00</v>", {"t": "d"}),
    "cached_error": ("<f>1/0</f><v>#DIV/0!</v>", {"t": "e"}),
}


def with_odd_inputs(src: Path, dst: Path, cells: dict[str, tuple[str, str]]) -> Path:
    """Input cells holding ``1E+400``, a ``t="d"`` date and a formula with a cached error.

    ``cells`` maps a key of :data:`ODD_INPUTS` to the (sheet, ``B7``) of an input.
    """
    pkg = Package(src.read_bytes())
    for key, (sheet, ref) in cells.items():
        inner, attrs = ODD_INPUTS[key]
        set_cell_xml(pkg, sheet, ref, inner, attrs)
    pkg.save(dst)
    return dst
