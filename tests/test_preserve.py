"""Calculate keeps everything staff added: the preserving writer (issue 11, part 1).

A corpus of filled workbooks carries each kind of foreign content, made with openpyxl,
XlsxWriter, LibreOffice and by hand-built XML (tests/foreign_content.py).  After
``calculate`` every zip member the product does not own is byte-identical (the
compressed bytes themselves), every cell it does not own is the same XML, the owned
cells hold what the old whole-workbook openpyxl save wrote, and LibreOffice opens the
result and recomputes it.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from foreign_content import (
    ODD_INPUTS,
    with_handmade,
    with_odd_inputs,
    with_openpyxl,
    with_xlsxwriter,
)
from helpers_workbook import Values, build_filled
from lxml import etree
from openpyxl import load_workbook

from workbook import libreoffice as lo
from workbook.books.file import FileBook
from workbook.form import layout as L
from workbook.form.book import cell_address
from workbook.form.calculate import calculate
from workbook.formats.files import save_atomic
from workbook.formats.xlsx_patch import MAIN_NS, Edits, Formula, patch_package

NOW = datetime(2018, 7, 10, 9, 30)
DRAWN = "二-3 流廢標下降率"  # the sheet the clerk put a picture on
NOTE = "NOTE_failed_tender_rate_H1"
OWNED_PREFIXES = ("CHK_", "TXT_", "OUT_", "KPI_")
PLAIN = ("openpyxl", "xlsxwriter", "handmade")  # variants whose counts are the seed's


def _seed_scope(plan):
    return L.Scope(plan, unit=plan.agency, period_id="H1", data_year=106)


def _raw_members(data: bytes) -> dict[str, tuple[int, bytes]]:
    """member → (compression method, compressed bytes as stored)."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            header = data[info.header_offset : info.header_offset + 30]
            start = info.header_offset + 30 + int.from_bytes(header[26:28], "little")
            start += int.from_bytes(header[28:30], "little")
            out[info.filename] = (info.compress_type, data[start : start + info.compress_size])
    return out


def _sheet_parts(path: Path) -> dict[str, str]:
    from foreign_content import Package

    pkg = Package(path.read_bytes())
    return {ws: pkg.sheet_part(ws) for ws in load_workbook(path, read_only=True).sheetnames}


@pytest.fixture(scope="module")
def corpus(plan, tmp_path_factory) -> dict[str, Path]:
    """name → a filled, uncalculated workbook carrying foreign content."""
    folder = tmp_path_factory.mktemp("foreign")
    scope = _seed_scope(plan)
    base, _ = build_filled(
        scope, {"H1": plan.sample.entries}, folder / "base.xlsx", notes={NOTE: "本期因颱風停班"}
    )
    names = FileBook(base).names()
    note_sheet, row, col = names[NOTE]
    odd = {}
    for key, name in zip(
        ODD_INPUTS,
        ["IN_safety_defects_H1_count", "IN_volunteer_growth_H1_current", "IN_volunteer_growth_H1_previous"],
        strict=True,
    ):
        sheet, r, c = names[name]
        odd[key] = (sheet, cell_address(r, c))
    out = {
        "openpyxl": with_openpyxl(base, folder / "openpyxl.xlsx", DRAWN),
        "xlsxwriter": with_xlsxwriter(base, folder / "xlsxwriter.xlsx", DRAWN, folder),
        "handmade": with_handmade(
            base, folder / "handmade.xlsx", DRAWN, (note_sheet, cell_address(row, col))
        ),
        "odd_inputs": with_odd_inputs(base, folder / "odd.xlsx", odd),
    }
    soffice = lo.require_soffice()
    out["libreoffice"] = lo.recalculate(out["xlsxwriter"], folder / "libreoffice.xlsx", soffice=soffice)
    out["libreoffice_xlsm"] = lo.recalculate(
        out["xlsxwriter"], folder / "libreoffice.xlsm", fmt="xlsm", soffice=soffice
    )
    return out


@pytest.fixture(scope="module")
def calculated(corpus, tmp_path_factory) -> dict[str, tuple[Path, Path, object]]:
    """name → (calculated by the preserving writer, calculated by the old openpyxl save, outcome)."""
    folder = tmp_path_factory.mktemp("calculated")
    out = {}
    for name, src in corpus.items():
        new = folder / f"{name}.new{src.suffix}"
        old = folder / f"{name}.old{src.suffix}"
        shutil.copyfile(src, new)
        shutil.copyfile(src, old)
        book = FileBook(new)
        outcome = calculate(book, now=NOW)
        book.save()
        assert book.save_notes == []  # cell by cell, no full rewrite
        legacy = FileBook(old)
        calculate(legacy, now=NOW)
        legacy.wb[L.SHEET_META].sheet_state = "veryHidden"
        save_atomic(legacy.wb, old)  # what FileBook.save did before the preserving writer
        out[name] = (new, old, outcome)
    return out


def _owned_parts(path: Path, written_sheets: set[str]) -> set[str]:
    parts = _sheet_parts(path)
    return {parts[s] for s in written_sheets} | {"xl/workbook.xml"}


def _written_sheets(outcome) -> set[str]:
    return {sheet for sheet, *_ in outcome.blocks}


# -- every part the product does not own: the same bytes ---------------------------------------


FOREIGN_PARTS = {
    "openpyxl": ("xl/charts/chart1.xml", "xl/comments/comment1.xml", "docProps/custom.xml"),
    "xlsxwriter": (
        "xl/media/image1.png",
        "xl/drawings/drawing1.xml",
        "xl/charts/chart1.xml",
        "xl/comments1.xml",
    ),
    "handmade": ("customXml/item1.xml", "xl/threadedComments/threadedComment1.xml", "xl/persons/person.xml"),
    "libreoffice": ("xl/media/image1.png", "xl/charts/chart1.xml"),
    "libreoffice_xlsm": ("xl/media/image1.png", "xl/charts/chart1.xml"),
}


@pytest.mark.parametrize("name", [*FOREIGN_PARTS, "odd_inputs"])
def test_parts_not_owned_are_byte_identical(name, corpus, calculated):
    new, _, outcome = calculated[name]
    before, after = _raw_members(corpus[name].read_bytes()), _raw_members(new.read_bytes())
    assert list(after) == list(before)  # no member added, dropped or reordered
    changed = {m for m in before if before[m] != after[m]}
    assert changed <= _owned_parts(corpus[name], _written_sheets(outcome))
    assert changed, "calculate wrote nothing"
    for part in FOREIGN_PARTS.get(name, ()):
        assert part in before and after[part] == before[part], part


def test_old_openpyxl_save_lost_the_foreign_parts(corpus, calculated):
    """The before picture: the whole-workbook save dropped the picture, text box and threaded comments."""
    kept = {}
    for name in ("xlsxwriter", "handmade"):
        _, old, _ = calculated[name]
        with zipfile.ZipFile(old) as z:
            kept[name] = {n: z.read(n) for n in z.namelist()}
    assert not any("已與主計室核對".encode() in body for body in kept["xlsxwriter"].values())  # the text box
    assert "customXml/item1.xml" not in kept["handmade"]
    assert "xl/threadedComments/threadedComment1.xml" not in kept["handmade"]


def _cells(xml: bytes) -> dict[str, bytes]:
    root = etree.fromstring(xml)
    return {c.get("r"): etree.tostring(c, encoding="unicode").encode() for c in root.iter(f"{{{MAIN_NS}}}c")}


def _others(xml: bytes) -> dict[str, bytes]:
    root = etree.fromstring(xml)
    skip = {"sheetData", "sheetProtection", "dimension"}
    return {
        etree.QName(el).localname: etree.tostring(el, encoding="unicode")
        for el in root
        if isinstance(el.tag, str) and etree.QName(el).localname not in skip
    }


@pytest.mark.parametrize("name", [*FOREIGN_PARTS, "odd_inputs"])
def test_cells_not_owned_are_unchanged(name, corpus, calculated):
    """In a sheet calculate writes to, every other cell (inputs, notes, rich text) is the same XML."""
    new, _, outcome = calculated[name]
    owned: dict[str, set[str]] = {}
    for sheet, row, col, values in outcome.blocks:
        for i, line in enumerate(values):
            for j in range(len(line)):
                owned.setdefault(sheet, set()).add(cell_address(row + i, col + j))
    with zipfile.ZipFile(corpus[name]) as z0, zipfile.ZipFile(new) as z1:
        for sheet, part in _sheet_parts(corpus[name]).items():
            a, b = _cells(z0.read(part)), _cells(z1.read(part))
            mine = owned.get(sheet, set()) | {ref for ref in b if ref not in a}
            assert {r: x for r, x in a.items() if r not in mine} == {
                r: x for r, x in b.items() if r not in mine
            }, sheet
            assert _others(z0.read(part)) == _others(z1.read(part)), sheet  # validations, formats, drawing


def test_rich_text_notes_survive(corpus, calculated):
    new, old, _ = calculated["handmade"]
    sheet, row, col = FileBook(new).names()[NOTE]
    part = _sheet_parts(new)[sheet]
    ref = cell_address(row, col)
    with zipfile.ZipFile(new) as z:
        cell = _cells(z.read(part))[ref]
    assert b"<b/>" in cell and "重要：".encode() in cell and b'rgb="FFC00000"' in cell
    with zipfile.ZipFile(old) as z:
        assert b"<b/>" not in _cells(z.read(part))[ref]  # before: openpyxl flattened it


def test_odd_inputs_are_never_rewritten_and_are_reported(corpus, calculated):
    new, old, outcome = calculated["odd_inputs"]
    names = FileBook(corpus["odd_inputs"]).names()
    codes = {(f.sheet, f.cell): f.code for f in outcome.findings}
    date_sheet, r, c = names["IN_volunteer_growth_H1_current"]
    assert codes[(date_sheet, cell_address(r, c))] == "date"  # never the serial 43,281
    parts = _sheet_parts(new)
    for key, name in (
        ("overflow", "IN_safety_defects_H1_count"),
        ("iso_date", "IN_volunteer_growth_H1_current"),
        ("cached_error", "IN_volunteer_growth_H1_previous"),
    ):
        sheet, r, c = names[name]
        ref = cell_address(r, c)
        with zipfile.ZipFile(new) as z:
            cell = _cells(z.read(parts[sheet]))[ref]
        inner, _ = ODD_INPUTS[key]
        assert inner.encode() in cell, key
        assert (sheet, ref) in codes, key  # every one is reported at its cell
    with zipfile.ZipFile(old) as z:  # before: openpyxl rewrote the date and the overflow
        sheet, r, c = names["IN_volunteer_growth_H1_current"]
        assert b't="d"' not in _cells(z.read(parts[sheet]))[cell_address(r, c)]


# -- the owned cells: what the old path wrote ---------------------------------------------------


def _owned_values(path: Path) -> dict:
    wb = load_workbook(path)
    out = {}
    for n, dn in wb.defined_names.items():
        if n.startswith(OWNED_PREFIXES):
            ((sheet, ref),) = list(dn.destinations)
            cell = wb[sheet][ref.replace("$", "")]
            out[n] = cell.value
    ws = wb[L.SHEET_FINDINGS]
    out["findings"] = [tuple(r) for r in ws.iter_rows(min_row=1, max_col=8, values_only=True)]
    out["meta"] = [tuple(r) for r in wb[L.SHEET_META].iter_rows(max_col=2, values_only=True)]
    out["meta_state"] = wb[L.SHEET_META].sheet_state
    out["protected"] = {ws.title: bool(ws.protection.sheet) for ws in wb.worksheets}
    return out


@pytest.mark.parametrize("name", [*FOREIGN_PARTS, "odd_inputs"])
def test_owned_cells_match_the_openpyxl_path(name, calculated):
    new, old, _ = calculated[name]
    assert _owned_values(new) == _owned_values(old)


def test_xlsm_keeps_its_content_type(corpus, calculated):
    new, old, _ = calculated["libreoffice_xlsm"]
    macro = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    for path, kept in ((corpus["libreoffice_xlsm"], True), (new, True), (old, False)):
        with zipfile.ZipFile(path) as z:
            assert (macro in z.read("[Content_Types].xml")) is kept, path.name


def test_libreoffice_opens_and_recomputes_the_result(calculated, seed_eval, tmp_path):
    """LibreOffice loads every calculated file as a valid package and agrees with the engine."""
    soffice = lo.require_soffice()
    sentences = {f"TXT_{r.indicator}_{r.period}": r.sentence for r in seed_eval.results}
    for name in ("xlsxwriter", "handmade", "libreoffice_xlsm"):
        new, _, _ = calculated[name]
        back = lo.recalculate(new, tmp_path / f"{name}.lo.xlsx", soffice=soffice)
        values = Values(back)
        for n, text in sentences.items():
            assert values.named(n) == text, (name, n)
        joined = [v for row in values.grids[L.SHEET_SUMMARY] for v in row if isinstance(v, str)]
        for text in sentences.values():  # the summary's formulas show the new sentences
            assert any(text in v for v in joined), (name, text, joined)
        if name != "handmade":
            with zipfile.ZipFile(back) as z:  # the picture is still there after LibreOffice's own save
                assert any(n.startswith("xl/media/") for n in z.namelist()), name


# -- the patcher on its own ----------------------------------------------------------------------


def _tiny(sheet_xml: bytes, *, calc_chain: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        ct = (
            b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            b'<Default Extension="xml" ContentType="application/xml"/>'
            b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            b'<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            + (
                b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/>'
                if calc_chain
                else b""
            )
            + b"</Types>"
        )
        z.writestr("[Content_Types].xml", ct)
        z.writestr(
            "_rels/.rels",
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            b'<x:sheets><x:sheet name="S" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet1.xml"/>'
            + b'<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            + (
                b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/>'
                if calc_chain
                else b""
            )
            + b"</Relationships>",
        )
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        z.writestr("xl/styles.xml", STYLES)
        if calc_chain:
            z.writestr(
                "xl/calcChain.xml",
                b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="B2" i="1"/></calcChain>',
            )
    return out.getvalue()


STYLES = (
    b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<fonts count="1"><font><sz val="11"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    b'<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
    b'<cellXfs count="3"><xf/><xf/><xf numFmtId="10"/></cellXfs></styleSheet>'
)
PREFIXED_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<x:dimension ref="A1:C3"/><x:sheetData>'
    b'<x:row r="1" spans="1:3"><x:c r="A1" s="2"><x:v>1</x:v></x:c><x:c r="C1" t="inlineStr"><x:is><x:r><x:rPr><x:b/></x:rPr><x:t>rich</x:t></x:r></x:is></x:c></x:row>'
    b'<x:row r="3"><x:c r="B3"><x:f>A1*2</x:f><x:v>2</x:v></x:c></x:row>'
    b"</x:sheetData></x:worksheet>"
)


def test_patcher_edits_cells_in_a_prefixed_sheet_and_keeps_the_rest():
    data = _tiny(PREFIXED_SHEET)
    edits = Edits(
        cells={"S": {(1, 2): "中文 =x", (2, 4): 3.5, (1, 1): None, (3, 2): Formula("A1*3"), (4, 1): True}}
    )
    out = patch_package(data, edits)
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
        wb = z.read("xl/workbook.xml")
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<x:worksheet')
    root = etree.fromstring(xml)
    rows = root.findall(f".//{{{MAIN_NS}}}row")
    assert [r.get("r") for r in rows] == ["1", "2", "3", "4"]  # new rows in order
    assert [c.get("r") for c in rows[0]] == ["A1", "B1", "C1"]  # new cell between the others
    a1, b1, c1 = rows[0]
    assert a1.get("s") == "2" and len(a1) == 0  # cleared, style kept
    assert b1.get("t") == "inlineStr" and b1.findtext(f".//{{{MAIN_NS}}}t") == "中文 =x"
    original = etree.fromstring(PREFIXED_SHEET).find(f".//{{{MAIN_NS}}}c[@r='C1']")
    assert etree.tostring(c1) == etree.tostring(original)
    assert rows[1][0].findtext(f"{{{MAIN_NS}}}v") == "3.5"
    assert rows[2][0].findtext(f"{{{MAIN_NS}}}f") == "A1*3" and rows[2][0].find(f"{{{MAIN_NS}}}v") is None
    assert rows[3][0].get("t") == "b"
    assert root.find(f"{{{MAIN_NS}}}dimension").get("ref") == "A1:D4"
    assert b'fullCalcOnLoad="1"' in wb
    values = load_workbook(io.BytesIO(out))["S"]
    assert (values["B1"].value, values["D2"].value, values["B3"].value, values["A4"].value) == (
        "中文 =x",
        3.5,
        "=A1*3",
        True,
    )


def test_patcher_drops_a_stale_calc_chain_when_formulas_change():
    data = _tiny(PREFIXED_SHEET, calc_chain=True)
    kept = patch_package(data, Edits(cells={"S": {(2, 1): "x"}}))
    with zipfile.ZipFile(io.BytesIO(kept)) as z:
        assert "xl/calcChain.xml" in z.namelist()  # no formula appeared or vanished
    dropped = patch_package(data, Edits(cells={"S": {(3, 2): "text over a formula"}}))
    with zipfile.ZipFile(io.BytesIO(dropped)) as z:
        assert "xl/calcChain.xml" not in z.namelist()
        assert b"calcChain" not in z.read("[Content_Types].xml")
        assert b"calcChain" not in z.read("xl/_rels/workbook.xml.rels")
    load_workbook(io.BytesIO(dropped))  # still a valid package


def test_patcher_escapes_control_characters():
    """XML cannot carry U+0001: OOXML writes it _x0001_, and a literal _x0041_ as _x005F_x0041_."""
    out = patch_package(_tiny(PREFIXED_SHEET), Edits(cells={"S": {(2, 1): "a\x01b _x0041_"}}))
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        root = etree.fromstring(z.read("xl/worksheets/sheet1.xml"))
    assert (
        root.find(f".//{{{MAIN_NS}}}c[@r='A2']").findtext(f".//{{{MAIN_NS}}}t") == "a_x0001_b _x005F_x0041_"
    )


def test_patcher_refuses_to_overwrite_a_shared_formula_master():
    """Other cells borrow a shared formula's text: FileBook.save then rewrites the file whole, with a note."""
    from workbook.formats.xlsx_patch import PatchError

    sheet = PREFIXED_SHEET.replace(b"<x:f>A1*2</x:f>", b'<x:f t="shared" ref="B3:C3" si="0">A1*2</x:f>')
    with pytest.raises(PatchError, match="shared formula"):
        patch_package(_tiny(sheet), Edits(cells={"S": {(3, 2): "over the master"}}))
    patch_package(_tiny(sheet), Edits(cells={"S": {(3, 3): 1}}))  # a neighbour is fine


def test_patcher_writes_dates_as_excel_does():
    """A typed date: the serial number, in a clone of the cell's style with a date format."""
    import datetime as dt

    data = _tiny(PREFIXED_SHEET)
    out = patch_package(
        data, Edits(cells={"S": {(1, 1): dt.datetime(2018, 6, 30), (2, 1): dt.date(2018, 7, 1)}})
    )
    ws = load_workbook(io.BytesIO(out))["S"]
    assert (ws["A1"].value, ws["A2"].value) == (dt.datetime(2018, 6, 30), dt.datetime(2018, 7, 1))
    with zipfile.ZipFile(io.BytesIO(out)) as z:
        styles = etree.fromstring(z.read("xl/styles.xml"))
        root = etree.fromstring(z.read("xl/worksheets/sheet1.xml"))
    xfs = styles.find(f"{{{MAIN_NS}}}cellXfs")
    assert xfs.get("count") == "5" and [x.get("numFmtId") for x in xfs][3:] == ["14", "14"]
    a1 = root.find(f".//{{{MAIN_NS}}}c[@r='A1']")
    assert (a1.get("s"), a1.findtext(f"{{{MAIN_NS}}}v")) == ("3", "43281")
