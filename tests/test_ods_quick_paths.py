"""The .ods calculate's quick paths (issue 24: the .ods calculate as fast as the .xlsx one) give
what the general paths give.

* the guard's tag scan of ``content.xml`` (``formats/ods_scan``) what the XML parser reads;
* its entity decoding what :func:`html.unescape` resolves;
* :func:`workbook.books.ods.odf_to_excel`'s pass without a call per token what the token pass gives;
* the patcher's cells with canonical attributes (pair by pair in one pattern) the bytes of
  the attribute-by-attribute path, and a save from the guard's copy of ``content.xml`` the
  bytes of a save that reads and checks it again.

The forms are the seed and a 20-indicator plan saved by LibreOffice (``bench.inputs``).
"""

from __future__ import annotations

import html
import re
import shutil
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from workbook.books import ods_write
from workbook.books.ods import content_from_scan, odf_to_excel, parse_content
from workbook.books.open import calculate_path
from workbook.formats import ods_patch
from workbook.formats.ods_scan import formula_text, scan
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
