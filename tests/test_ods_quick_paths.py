"""The .ods calculate's quick paths (issue 24: the .ods calculate as fast as the .xlsx one) give
what the general paths give.

* the guard's tag scan of ``content.xml`` (``formats/ods_scan``) what the XML parser reads;
* its entity decoding what :func:`html.unescape` resolves;
* :func:`workbook.books.ods.odf_to_excel`'s pass without a call per token what the token pass gives;
* the patcher's cells with canonical attributes (pair by pair in one pattern) the bytes of
  the attribute-by-attribute path, and a save from the guard's copy of ``content.xml`` the
  bytes of a save that reads and checks it again;
* formula cells written in place (the scan's spans) the bytes of the row walk, and content the
  walk may read otherwise walked;
* formulas and names decoded together, and a reference joined to nothing converted at once,
  what each gives alone; a large ``content.xml`` inflated at once what zipfile's chunks give,
  and refused alike when damaged.

The forms are the seed and a 20-indicator plan saved by LibreOffice (``bench.inputs``).
"""

from __future__ import annotations

import html
import io
import random
import re
import shutil
import zipfile
import zlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from workbook.books import ods, ods_write
from workbook.books.ods import content_from_scan, excel_formula, odf_to_excel, parse_content
from workbook.books.open import calculate_path
from workbook.form.book import at as value_at
from workbook.formats import guard, ods_patch, zips
from workbook.formats.files import WorkbookFileError
from workbook.formats.ods_scan import decode_all, formula_text, scan
from workbook.libreoffice import require_soffice

NOW = datetime(2026, 12, 7, 9, 30)


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> dict[str, Path]:
    """The filled seed and 20-indicator workbooks as LibreOffice saves them (.ods)."""
    require_soffice()
    from bench.inputs import make

    root = tmp_path_factory.mktemp("ods-quick")
    return {size: make(size, root / size)["ods"] for size in ("seed", "20")}


def _content(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read("content.xml")


@pytest.mark.parametrize("size", ["seed", "20"])
def test_the_scan_reads_what_the_parser_reads(forms, size: str) -> None:
    xml = _content(forms[size])
    scanned = scan(xml)
    assert scanned is not None, "a form LibreOffice saved is read by its tags"
    quick, parsed = content_from_scan(scanned, formulas=True), parse_content(xml, cells=True)
    assert [s.name for s in quick.sheets] == [s.name for s in parsed.sheets]
    for a, b in zip(quick.sheets, parsed.sheets, strict=True):
        assert a.formulas == b.formulas, a.name
        assert sorted(a.merged) == sorted(b.merged), a.name
        assert (a.protected, a.password, a.protection_key) == (b.protected, b.password, b.protection_key)
    assert quick.names == parsed.names and len(quick.names) > 100
    assert quick.hidden() == parsed.hidden() == ["_kpi"]
    assert sum(len(s.formulas) for s in quick.sheets) > 1000


ENTITIES = [
    "of:=IF(A1=&quot;&quot;;&quot;a&quot;;B1)",  # the usual: &quot; only
    "$&apos;1-1 電子&apos;.$C$12",  # a range address: &apos;
    "&lt;&gt;&amp;&quot;&apos;",  # every entity XML defines
    "&amp;quot;",  # an escaped entity stays one
    "&amp;#10;",
    "a&#10;b&quot;",  # a character reference goes to html.unescape
    "&#x41;&amp;",
    "&nbsp;&quot;",  # not XML's: html.unescape's answer all the same
    "&ampx&quot;",
    "R&D&quot;",
    "&quot",
]


def test_entities_resolve_as_html_unescape_resolves_them(forms) -> None:
    raws = [e.encode() for e in ENTITIES]
    for table in scan(_content(forms["20"])).tables:
        raws += table.formulas.values()
    for raw in raws:
        assert formula_text(raw) == html.unescape(raw.decode()), raw


@pytest.mark.parametrize(
    ("odf", "excel"),
    [
        ("of:=OUT_k001_H1_value", "=OUT_k001_H1_value"),
        ("of:=IF(A;B;C)", "=IF(A,B,C)"),
        ('of:=IF(A1="a;b";1;2)', '=IF(A1="a;b",1,2)'),  # a literal keeps its ";"
        ('of:=TXT_a&IF(NOTE_a="";"";CHAR(10)&NOTE_a)', '=TXT_a&IF(NOTE_a="","",CHAR(10)&NOTE_a)'),
        ('of:="a""b;";1', '="a""b;",1'),  # a doubled quote inside a literal
        ('of:="x;1;2', '="x,1,2'),  # a literal never closed: the token pass's answer
        ("of:=[.C12]+[$_kpi.$H$1]", "=C12+_kpi!$H$1"),
        ('of:=[$_kpi.$H$1]&"[.x];"', '=_kpi!$H$1&"[.x];"'),
        ("of:=SUM([.A1:.A3];1)", "=SUM(A1:A3,1)"),
        ("of:=[$'A b'.$C$3]", "='A b'!$C$3"),
        ("msoxl:=A1;B1", "=A1,B1"),  # another namespace
    ],
)
def test_formulas_convert_as_the_template_writes_them(odf: str, excel: str) -> None:
    assert odf_to_excel(odf) == excel


def test_a_reference_joined_to_nothing_converts_at_once_as_the_token_pass_converts_it(forms) -> None:
    raws = [
        b"of:=[$_kpi.$M$2]&amp;&quot;&quot;",  # builder.report_formula, as LibreOffice writes it
        "of:=[$表1.M2]&amp;&quot;&quot;".encode(),
        b"of:=[$'A b'.$M$2]&amp;&quot;&quot;",  # quoted: the token pass
        b"of:=[$$x.$M$2]&amp;&quot;&quot;",
        b"of:=[$a&amp;b.$M$2]&amp;&quot;&quot;",
        b"of:=[.$M$2]&amp;&quot;&quot;",
        b"of:=[$_kpi.$M$2]&amp;&quot;x&quot;",
        b"of:=[$_kpi.$M$2:.$N$3]&amp;&quot;&quot;",
        b"of:=[$\xe4.$M$2]&amp;&quot;&quot;",  # a bad byte: U+FFFD either way
    ]
    for table in scan(_content(forms["20"])).tables:
        raws += table.formulas.values()
    assert sum(bool(ods._REFERENCE_JOINED.fullmatch(raw)) for raw in raws) > 100
    for raw in raws:
        assert excel_formula(raw) == odf_to_excel(formula_text(raw)), raw


@pytest.mark.parametrize(
    ("attrs", "cached", "kept"),
    [
        (
            ' table:style-name="ce1" table:formula="of:=1" office:value-type="float" office:value="1"'
            ' calcext:value-type="float"',
            True,
            ' table:style-name="ce1" table:formula="of:=1"',
        ),
        (
            ' table:style-name="ce1" table:formula="of:=1" office:value-type="string"',
            False,
            ' table:style-name="ce1"',
        ),
        # a value holding what looks like a value attribute: pair by pair, it is one value
        (' x="a office:value=" y="b" office:value="2"', False, ' x="a office:value=" y="b"'),
        (' x="a table:formula=" table:formula="of:=1"', True, ' x="a table:formula=" table:formula="of:=1"'),
        # not as LibreOffice writes them (two spaces, a new line): each attribute written again
        ('  a="1"\n office:value="2"  table:formula="of:=1"', True, ' a="1" table:formula="of:=1"'),
        ("", False, ""),
    ],
)
def test_a_written_cell_keeps_its_attributes_pair_by_pair(attrs: str, cached: bool, kept: str) -> None:
    assert ods_patch._kept(attrs, cached) == kept


@pytest.mark.parametrize("attrs", [' x="a table:formula=" y="1"', ' table:style-name="ce1"', '  y="1"'])
def test_a_cached_result_needs_a_formula_on_either_path(attrs: str) -> None:
    with pytest.raises(ods_patch.OdsPatchError):
        ods_patch._kept(attrs, True)


def _calculated(source: Path, folder: Path, keep_content: int | None = None) -> tuple[bytes, dict]:
    """``source`` calculated (at NOW) in ``folder``: the saved bytes, and the cells and the
    guard's content.xml (or None) the patcher was given."""
    folder.mkdir()
    work = folder / source.name
    shutil.copyfile(source, work)
    captured: dict = {}
    patch = ods_write.patch_ods

    def capture(data, cells, *content):
        captured.update(cells=dict(cells), content=content)
        return patch(data, cells, *content)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ods_write, "patch_ods", capture)
        if keep_content is not None:
            mp.setattr(ods_write, "KEEP_CONTENT", keep_content)
        outcome = calculate_path(work, now=NOW)
    assert outcome.saved == work
    return work.read_bytes(), captured


@pytest.mark.parametrize("size", ["seed", "20"])
def test_a_save_from_the_guards_copy_writes_what_a_save_reading_it_again_writes(
    forms, tmp_path, size
) -> None:
    kept, seen = _calculated(forms[size], tmp_path / "kept")
    again, seen_again = _calculated(forms[size], tmp_path / "again", keep_content=0)
    assert seen["content"] and seen["content"][0] is not None, "the guard's copy was patched"
    assert seen_again["content"] == (None,), "content.xml was read and checked again"
    assert kept == again
    assert seen["cells"] == seen_again["cells"] and len(seen["cells"]) > 1000


@pytest.mark.parametrize("size", ["seed", "20"])
def test_canonical_cells_take_the_quick_path_to_the_same_bytes(forms, tmp_path, size) -> None:
    _, seen = _calculated(forms[size], tmp_path / "calc")
    xml = _content(forms[size]).decode("utf-8")
    quick = ods_patch.patch_content(xml, seen["cells"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ods_patch, "_CANONICAL", re.compile(r"(?!)"))  # never canonical: pair by pair
        mp.setattr(ods_patch, "_KEPT_TYPED", {})  # nothing the quick path worked out
        general = ods_patch.patch_content(xml, seen["cells"])
    assert quick == general and quick != xml


def test_the_patched_content_is_deflated_quickly_to_a_sane_size(forms, tmp_path) -> None:
    _calculated(forms["20"], tmp_path / "calc")
    with (
        zipfile.ZipFile(forms["20"]) as before,
        zipfile.ZipFile(tmp_path / "calc" / forms["20"].name) as after,
    ):
        info, xml = after.getinfo("content.xml"), after.read("content.xml")
        assert info.compress_type == before.getinfo("content.xml").compress_type == zipfile.ZIP_DEFLATED
        assert after.testzip() is None
    level6 = zlib.compressobj(6, zlib.DEFLATED, -15)
    smallest = len(level6.compress(xml) + level6.flush())
    assert smallest < info.compress_size <= 1.5 * smallest  # level 3: about half the time of 6


# -- formula cells written in place (the scan's spans) against the row walk --------------------------

NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
)
A1 = '<table:table-cell office:value-type="float" office:value="187"><text:p>187</text:p></table:table-cell>'
#: A formula cell as LibreOffice writes it, showing 374.
SHOWN = (
    '<table:table-cell table:style-name="ce1" table:formula="of:=[.A1]*2" office:value-type="float" '
    'office:value="374" calcext:value-type="float"><text:p>374</text:p></table:table-cell>'
)


def _doc(row: str, *, row_tag: str = "<table:table-row>", table_attrs: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {NS}><office:body>'
        f'<office:spreadsheet><table:table table:name="表1"{table_attrs}>{row_tag}{row}</table:table-row>'
        '<table:table-row table:number-rows-repeated="9"><table:table-cell table:number-columns-repeated="5"/>'
        "</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    ).encode()


def _both(xml: bytes, cells: dict) -> tuple[object, object]:
    """What the patcher writes with the scan's spans and by walking the rows (or the error raised)."""
    out = []
    for scanned in (scan(xml), None):
        try:
            out.append(b"".join(ods_patch._patch_pieces(xml, cells, scanned)))
        except ods_patch.OdsPatchError as exc:
            out.append(type(exc))
    return out[0], out[1]


def _spanned(xml: bytes) -> dict:
    scanned = scan(xml)
    return scanned.tables[0].cells if scanned.in_place else {}


F1 = '<table:table-cell table:formula="of:=1"'
COMMENT = "<office:annotation><text:p>staff</text:p></office:annotation>"
VALUE_FIRST = ' office:value-type="float" table:formula="of:=[.A1]*2"'
#: The formula cell after A1, the result written into it, whether the scan spans it (to write it in place).
IN_PLACE = {
    "already shown": (SHOWN, 374, True),
    "another number": (SHOWN, Decimal("1.50"), True),
    "text": (SHOWN, "紅燈 & <b>", True),
    "empty text into an empty paragraph": (F1 + "><text:p/></table:table-cell>", "", True),
    "nothing into nothing": (F1 + "></table:table-cell>", None, True),
    "a value attribute before the formula": (
        SHOWN.replace(' table:formula="of:=[.A1]*2" office:value-type="float"', VALUE_FIRST),
        374,
        True,
    ),
    "attributes not as LibreOffice writes them": (
        SHOWN.replace(" table:formula=", "  table:formula="),
        374,
        True,
    ),
    "a formula naming an attribute": (SHOWN.replace("[.A1]*2", "&quot; office:value=&quot;&amp;1"), 1, True),
    "a comment": (SHOWN.replace("<text:p>374", COMMENT + "<text:p>374"), 1, False),
    "a space inside": (F1 + "> </table:table-cell>", 1, False),
    "closed at once": (F1 + "/>", 1, False),
    "a repeat of one": (SHOWN.replace('style-name="ce1"', 'number-columns-repeated="1"'), 1, False),
    "covered": (SHOWN.replace("table:table-cell", "table:covered-table-cell"), 1, False),
    "no formula, a cached result": (A1, 1, False),
}


@pytest.mark.parametrize("case", sorted(IN_PLACE))
def test_a_formula_cell_written_in_place_is_what_the_row_walk_writes(case: str) -> None:
    cell, value, spanned = IN_PLACE[case]
    xml = _doc(A1 + cell)
    assert ((1, 2) in _spanned(xml)) is spanned
    quick, walked = _both(xml, {("表1", 1, 2): ods_patch.Cached(value)})
    assert quick == walked
    if case == "already shown":
        assert quick == xml  # left as it is
    elif case in ("a space inside", "covered", "no formula, a cached result"):
        assert quick is ods_patch.OdsPatchError
    else:
        assert isinstance(quick, bytes) and quick != xml


def test_a_row_with_a_typed_in_value_too_is_walked() -> None:
    xml = _doc(A1 + SHOWN)
    assert (1, 2) in _spanned(xml)
    quick, walked = _both(xml, {("表1", 1, 1): 5, ("表1", 1, 2): ods_patch.Cached(1)})
    assert quick == walked and b"<text:p>5</text:p>" in quick and b"<text:p>1</text:p>" in quick


@pytest.mark.parametrize(
    ("why", "xml"),
    [
        (
            "a repeated row of one",
            _doc(A1 + SHOWN, row_tag='<table:table-row table:number-rows-repeated="1">'),
        ),
        ("a < inside a tag", _doc(A1.replace('office:value="187"', 'office:value="187" x="a<b"') + SHOWN)),
        (
            "a repeat the walk reads otherwise",
            _doc(A1 + SHOWN + '<table:table-cell table:number-columns-repeated = "2"/>'),
        ),
        (
            "a table inside a table",
            _doc(A1 + SHOWN).replace(
                b"<table:table-row>", b'<table:table table:name="x"></table:table><table:table-row>', 1
            ),
        ),
    ],
)
def test_content_the_walk_may_read_otherwise_is_walked(why: str, xml: bytes) -> None:
    assert scan(xml) is not None and not _spanned(xml), why
    quick, walked = _both(xml, {("表1", 1, 2): ods_patch.Cached(1)})
    assert quick == walked


@pytest.mark.parametrize("size", ["seed", "20"])
def test_a_forms_formula_cells_are_written_in_place_to_the_walks_bytes(forms, tmp_path, size) -> None:
    _, seen = _calculated(forms[size], tmp_path / "calc")
    content, scanned = seen["content"]
    assert scanned is not None and scanned.in_place, "the save was given the guard's scan"
    spanned = {(t.name, *at) for t in scanned.tables for at in t.cells}
    # Most formula cells show their result already and are not written (test_a_result_shown_already_
    # is_left_as_it_is): each of those is given another one, so every spanned cell is written.
    cells = {at: ods_patch.Cached(f"另{at[1]}") for at in spanned} | seen["cells"]
    assert sum(isinstance(v, ods_patch.Cached) and at in spanned for at, v in cells.items()) > 100
    quick, walked = _both(content, cells)
    assert quick == walked and quick != content


def test_formulas_and_names_decoded_together_are_decoded_as_each_alone(forms) -> None:
    raws = [e.encode() for e in ENTITIES if "&#" not in e and "nbsp" not in e and "ampx" not in e]
    raws += [b"R&amp;D", "中文&quot;".encode(), b"\xe4\xb8", b"", b"x"]  # a truncated character, nothing
    for table in scan(_content(forms["20"])).tables:
        raws += table.formulas.values()
    assert decode_all(raws) == [formula_text(raw) for raw in raws]
    for odd in ([b"a&#10;b", b"c"], [b"a\0b", b"c"], [], [b"&ampx"]):  # each alone, as before
        assert decode_all(odd) == [formula_text(raw) for raw in odd]


def _big_package(damaged: bool = False) -> bytes:
    """An .ods whose content.xml is larger than the guard's chunk (and not a zip bomb)."""
    rng = random.Random(24)
    cells = "".join(
        f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'
        for v in (rng.randrange(10**9) for _ in range(40))
    )
    rows = f"<table:table-row>{cells}</table:table-row>" * 400
    xml = _doc("").replace(b"<table:table-row></table:table-row>", rows.encode())
    assert len(xml) > guard.CHUNK_BYTES
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", guard.ODS_MIMETYPE, zipfile.ZIP_STORED)
        z.writestr(
            "META-INF/manifest.xml",
            b'<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>',
        )
        z.writestr("content.xml", xml, zipfile.ZIP_DEFLATED)
    data = buf.getvalue()
    if damaged:  # one byte of the deflated content.xml changed: its CRC no longer matches
        at = data.index(b"content.xml") + 200
        data = data[:at] + bytes([data[at] ^ 0x55]) + data[at + 1 :]
    return data


def test_a_large_content_is_inflated_at_once_to_what_zipfile_reads(monkeypatch) -> None:
    data = _big_package()
    calls = []
    inflated = guard._inflated
    monkeypatch.setattr(guard, "_inflated", lambda *a: calls.append(len(a)) or inflated(*a))
    info = guard.inspect_ods(data, "big.ods")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert info.kept["content.xml"] == z.read("content.xml")
    assert 3 in calls, "content.xml was inflated whole (with the fast inflater)"
    assert info.scanned is not None and info.scanned.tables[0].rows == 400


def test_a_large_damaged_content_is_refused_as_before(monkeypatch) -> None:
    data = _big_package(damaged=True)
    with pytest.raises(WorkbookFileError) as quick:
        guard.inspect_ods(data, "big.ods")
    monkeypatch.setattr(guard, "_inflated", lambda *a: None)  # zipfile's chunks, as before
    with pytest.raises(WorkbookFileError) as chunked:
        guard.inspect_ods(data, "big.ods")
    assert str(quick.value) == str(chunked.value) and "損毀" in str(quick.value)


@pytest.mark.parametrize(
    ("held", "value", "shows"),
    [
        (None, "", True),  # an empty text result: LibreOffice writes no value, calamine reads None
        (None, None, True),
        ("", "", False),  # (the book reads "" as None: a held "" is never seen)
        (100.0, Decimal("100"), True),  # shown "100.00" by its style: the same double
        (89.2, Decimal("89.20"), True),
        (89.2, Decimal("89.21"), False),
        (1.0, True, False),  # a number is not a truth value, nor the other way
        (True, 1, False),
        (True, True, True),
        ("無誤", "無誤", True),
        ("尚未計算", "無誤", False),
        ("1", 1, False),  # text that looks like the number is text
        (None, 0, False),
        (0.0, "", False),
    ],
)
def test_what_a_formula_cell_shows_already(held, value, shows) -> None:
    assert ods_write._shows(held, value) is shows


def test_a_result_shown_already_is_left_as_it_is(forms, tmp_path) -> None:
    """LibreOffice saved the form with most results computed: those cells keep its bytes (its
    "100.00", its empty text), the others are written, and the file then reads every result."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ods_write, "_shows", lambda held, value: False)
        _, every = _calculated(forms["seed"], tmp_path / "every")
    saved, seen = _calculated(forms["seed"], tmp_path / "shown")
    results = {at: v.value for at, v in every["cells"].items() if isinstance(v, ods_patch.Cached)}
    written = {at for at, v in seen["cells"].items() if isinstance(v, ods_patch.Cached)}
    left = set(results) - written
    assert written <= set(results) and len(left) > 50 and written, (len(left), len(written))
    book = ods.OdsBook(saved, "saved.ods")
    for sheet, row, col in results:
        held = value_at(book.grid(sheet), row, col)
        assert ods_write._shows(held, results[sheet, row, col]), (sheet, row, col, held)
    before, after = _content(forms["seed"]), _content(tmp_path / "shown" / forms["seed"].name)
    spans = {(t.name, *at): span for t in scan(before).tables for at, span in t.cells.items()}
    for at in left & set(spans):
        start, stop = spans[at]
        assert before[start:stop] in after, at  # LibreOffice's own spelling, kept
    # calculated again: every result shows already, and nothing but calculate's record is written
    _, again = _calculated(tmp_path / "shown" / forms["seed"].name, tmp_path / "again")
    assert not [at for at, v in again["cells"].items() if isinstance(v, ods_patch.Cached)]


def test_a_result_libreoffice_shows_as_an_error_is_written(forms, tmp_path) -> None:
    """An error LibreOffice cached ("#DIV/0!": an empty text marked ``calcext:value-type="error"``)
    reads as empty in python-calamine, as an empty result does: the cell is written all the same."""
    xml = _content(forms["seed"])
    empty = re.compile(rb'(<table:table-cell [^>]*table:formula="[^"]*")><text:p/></table:table-cell>')
    found = empty.search(xml)
    assert found, "the form has an empty result as LibreOffice writes it"
    error = b' office:value-type="string" office:string-value="" calcext:value-type="error"><text:p>#DIV/0!</text:p>'
    broken = xml[: found.end(1)] + error + xml[found.end(1) + len(b"><text:p/>") :]
    source = tmp_path / "error.ods"
    source.write_bytes(zips.rewrite_members(forms["seed"].read_bytes(), {"content.xml": broken}))
    start = found.start()
    sheet = next(t for t in scan(broken).tables if any(s == start for s, _ in t.cells.values()))
    at = next(at for at, (s, _) in sheet.cells.items() if s == start)
    book = ods.OdsBook(source.read_bytes(), "error.ods")
    assert value_at(book.grid(sheet.name), *at) is None  # read as an empty result is read
    _, seen = _calculated(source, tmp_path / "calc")
    assert seen["cells"][(sheet.name, *at)] == ods_patch.Cached("")
    assert b"#DIV/0!" not in _content(tmp_path / "calc" / "error.ods")
