"""Reading one return for collect: the shortcuts give what the full reading gives.

* an input cell's typed formula is looked up alone (``SheetFormulas.get``): the same answer
  as the whole-sheet scan, for every cell of a real return and for odd spellings, and the
  same as lxml reading the part;
* merged areas are read only on sheets holding inputs: damage in a sheet nothing is read
  from leaves every number and finding as they were (the guard has checked its bytes);
* zlib-ng, which collect inflates with, gives the bytes zlib gives and refuses what it refuses.
"""

from __future__ import annotations

import gc
import io
import weakref
import zipfile
import zlib

import pytest
from fuzz_targets import small_workbook, undefined_entity

from workbook.books.calamine import CalamineBook
from workbook.collect.read import read_submission
from workbook.form.calculate import calculate
from workbook.formats import formula_cells as fc
from workbook.formats import guard
from workbook.formats.cells import cell_address
from workbook.formats.guard import inspect
from workbook.formats.xlsx_patch import MAIN_NS

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@pytest.fixture(scope="module")
def seed() -> bytes:
    return small_workbook()


def _typed_formula(data: bytes) -> tuple[bytes, str, tuple[int, int]]:
    """``data`` with ``=1+1`` typed into the first input of the first indicator sheet (as Excel
    stores it: a formula and its value); that sheet's name and the cell."""
    book = CalamineBook(data, "seed.xlsx")
    name = next(n for n in book.names() if n.startswith("IN_"))
    sheet, row, col = book.names()[name]
    ref = f'r="{cell_address(row, col)}"'.encode()
    part = book._typed._part_map()[sheet]

    def edit(xml: bytes) -> bytes:
        at = xml.index(ref)
        start = xml.rindex(b"<c ", 0, at)
        end = xml.index(b">", at) + 1
        if xml[end - 2 : end] == b"/>":  # <c …/>: an empty cell
            tag = xml[start : end - 2] + b">"
            return xml[:start] + tag + b"<f>1+1</f><v>2</v></c>" + xml[end:]
        close = xml.index(b"</c>", end)
        return xml[:start] + xml[start:end] + b"<f>1+1</f><v>2</v>" + xml[close:]

    return _rezip(data, {part: edit}), sheet, (row, col)


def _rezip(data: bytes, edits: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info.filename, edits[info.filename](body) if info.filename in edits else body)
    return out.getvalue()


def _lookups(data: bytes, sheet: str, rows: int, cols: int) -> dict[tuple[int, int], str]:
    """Every cell up to (rows, cols) asked alone, through a fresh reader (nothing read before)."""
    cells = fc.XlsxFormulaCells(data, inspect(data, "x.xlsx").kept)
    view = cells.sheet(sheet)
    found = {(r, c): view.get((r, c)) for r in range(1, rows + 1) for c in range(1, cols + 1)}
    assert sheet not in cells._found, "a lookup read every formula text"
    return {k: v for k, v in found.items() if v is not None}


def test_a_cell_looked_up_alone_reads_as_the_whole_sheet_scan(seed):
    data, typed_sheet, typed_cell = _typed_formula(seed)
    book = CalamineBook(data, "x.xlsx")
    parts = book._typed._part_map()
    kept = inspect(data, "x.xlsx").kept
    assert book.typed_formulas(typed_sheet, 1, 1).get(typed_cell) == "=1+1"
    seen = 0
    for sheet in book.sheet_names():
        whole = fc._formula_cells(kept[parts[sheet]])
        rows = max([len(book.grid(sheet)), *(r for r, _ in whole)]) + 2
        cols = max([max(map(len, book.grid(sheet)), default=0), *(c for _, c in whole)]) + 2
        assert _lookups(data, sheet, rows, cols) == whole, sheet
        # iterating the mapping reads them all, as before
        assert dict(fc.XlsxFormulaCells(data, kept).sheet(sheet)) == whole
        seen += len(whole)
    assert seen > 20  # result formulas on every indicator sheet, and the typed one


def _package(sheet_data: bytes, *, prefix: str = "") -> tuple[bytes, dict[str, bytes]]:
    """A one-sheet package around ``sheet_data`` (the sheetData's content)."""
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns:{prefix}="{MAIN_NS}"' if prefix else f'xmlns="{MAIN_NS}"'
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{p}worksheet {ns}><{p}sheetData><{p}row r="1">'.encode()
        + sheet_data
        + f"</{p}row></{p}sheetData></{p}worksheet>".encode()
    )
    parts = {
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN_NS}" xmlns:r="{_REL}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return out.getvalue(), parts


ODD = [
    # a formula after the value, a shared formula's follower, entities, a tag with s= before r=
    b'<c r="A1"><v>1</v><f>1+1</f></c><c r="B1" s="1"><f t="shared" si="0"/></c>'
    b'<c s="3" r="C1"><f>A1&amp;"&gt;"</f><v>x</v></c><c r="D1"/><c r="E1"><v>5</v></c>',
    # text that reads like a cell reference or a formula, a data validation's <formula1>
    b'<c r="A1" t="inlineStr"><is><t>r="B1" &lt;f&gt;1&lt;/f&gt;</t></is></c><c r="B1"><v>2</v></c>'
    b'<c r="C1"><f>SUM(A1:B1)</f></c>',
    # a self-closed cell followed by a stray <f> (nobody's formula), then a real one
    b'<c r="A1"/><f>1</f><c r="B1"><f>3</f></c>',
    # a comment naming <f> before the cells; a cell written twice (each scan keeps the last <f>)
    b'<!-- <f> --><c r="C1"><f>SUM(A1)</f></c><c r="D1"><f>1</f></c><c r="D1"><f>2</f></c>',
]


@pytest.mark.parametrize("body", ODD)
def test_odd_spellings_read_alike_by_lookup_scan_and_lxml(body):
    data, parts = _package(body)
    xml = parts["xl/worksheets/sheet1.xml"]
    whole = fc._formula_cells(xml)
    assert _lookups(data, "S", 3, 8) == whole
    try:
        parsed = fc._parsed(xml)  # lxml: the independent reading, where the part is well-formed XML
    except Exception:
        parsed = None
    if parsed is not None and b"<f>1</f><c" not in body:  # lxml puts a stray <f> in no cell either
        assert whole == parsed


def test_a_prefixed_sheet_is_looked_up_through_the_parsed_part():
    data, _ = _package(b'<x:c r="A1"><x:f>1+1</x:f></x:c><x:c r="B1"><x:v>2</x:v></x:c>', prefix="x")
    cells = fc.XlsxFormulaCells(data, inspect(data, "x.xlsx").kept)
    assert cells.sheet("S").get((1, 1)) == "=1+1"
    assert cells.sheet("S").get((1, 2)) is None


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet6.xml"])
def test_damage_in_a_sheet_nothing_is_read_from_changes_no_number(seed, part):
    """填表說明 (sheet1) and 檢核結果 (sheet6) hold no input: an undefined entity there (which
    calamine would refuse if it parsed them) leaves the results and findings as they were;
    the same damage in an input sheet is refused (test_fuzz)."""
    book = CalamineBook(seed, "seed.xlsx")
    names = {book._typed._part_map()[s]: s for s in book.sheet_names()}
    assert names[part] in ("填表說明", "檢核結果")
    damaged = undefined_entity(seed, part)
    assert calculate(CalamineBook(damaged, "d.xlsx"), write=False).to_dict() == (
        calculate(CalamineBook(seed, "s.xlsx"), write=False).to_dict()
    )
    whole, hurt = read_submission("s.xlsx", seed, []), read_submission("d.xlsx", damaged, [])
    assert hurt.status == whole.status != "unreadable"
    assert [r.to_dict() for r in hurt.results] == [r.to_dict() for r in whole.results]


def test_zlib_ng_inflates_what_zlib_inflates(seed, monkeypatch):
    monkeypatch.setattr(guard, "_zlib", zlib)
    monkeypatch.setattr(guard, "_ZLIB_ERRORS", (zlib.error,))
    with zipfile.ZipFile(io.BytesIO(seed)) as z:
        infos = z.infolist()
    bad = bytearray(seed)
    first = infos[3]  # a sheet part: one byte of its stream changed
    bad[first.header_offset + 30 + len(first.filename) + first.compress_size // 2] ^= 0x55
    plain = [guard._inflated(seed, i) for i in infos]
    plain_bad = guard._inflated(bytes(bad), first)
    guard.use_zlib_ng()
    assert guard._zlib is not zlib
    assert [guard._inflated(seed, i) for i in infos] == plain
    assert all(body is not None for body in plain)
    assert plain_bad is None and guard._inflated(bytes(bad), first) is None
    with pytest.raises(Exception) as refused:
        inspect(bytes(bad), "bad.xlsx")
    assert "損毀" in refused.value.message_zh


def test_a_return_read_is_freed_at_once(seed):
    """Nothing a read keeps refers back to itself: the return's bytes and inflated parts go as
    soon as the book does, not at the next garbage collection (a cycle here doubled the
    workers' peak memory in a 1,000-return collect, 53 → 101 MB)."""
    data, typed_sheet, typed_cell = _typed_formula(seed)
    gc.collect()
    gc.disable()
    try:
        book = CalamineBook(data, "x.xlsx")
        calculate(book, write=False)
        assert book.typed_formulas(typed_sheet, 1, 1).get(typed_cell) == "=1+1"
        held = weakref.ref(book._typed)
        del book
        assert held() is None
    finally:
        gc.enable()
