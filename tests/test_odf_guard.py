"""Hostile .ods files: each is refused before any parser expands it, with a zh-TW and English
message naming the file, through ``kpi check``, ``kpi calculate`` and ``kpi collect``.

The packages are built here byte by byte, so these tests need no LibreOffice.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from workbook.books.ods import OdsBook, odf_to_excel
from workbook.cli import main
from workbook.collect import collect
from workbook.formats.files import WorkbookFileError
from workbook.formats.guard import inspect_ods

MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
MANIFEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""
NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
)


def content(rows: str, names: str = "", prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<office:document-content {NS}><office:body>'
        f'<office:spreadsheet><table:table table:name="表1">{rows}</table:table>{names}'
        "</office:spreadsheet></office:body></office:document-content>"
    ).encode()


GOOD_ROWS = (
    '<table:table-row><table:table-cell office:value-type="float" office:value="187"><text:p>187</text:p>'
    '</table:table-cell><table:table-cell table:formula="of:=[.A1]*2" office:value-type="float" '
    'office:value="374"><text:p>374</text:p></table:table-cell></table:table-row>'
    '<table:table-row table:number-rows-repeated="1048575"><table:table-cell '
    'table:number-columns-repeated="16384"/></table:table-row>'
)
GOOD_NAMES = (
    '<table:named-expressions><table:named-range table:name="IN_x" table:base-cell-address="$表1.$A$1" '
    "table:cell-range-address=\"$'表1'.$A$1\"/></table:named-expressions>"
)


def package(
    parts: dict[str, bytes] | None = None, *, mimetype: bytes = MIMETYPE, drop: tuple[str, ...] = ()
) -> bytes:
    files = {
        "mimetype": mimetype,
        "META-INF/manifest.xml": MANIFEST,
        "content.xml": content(GOOD_ROWS, GOOD_NAMES),
    }
    files.update(parts or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            if name not in drop:
                z.writestr(name, data, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return buf.getvalue()


HOSTILE = {
    "zip bomb": (package({"content.xml": b"<a>" + b" " * (8 * 1024 * 1024) + b"</a>"}), "壓縮炸彈"),
    "entity": (
        package({"content.xml": content(GOOD_ROWS, prolog='<!DOCTYPE x [<!ENTITY a "aaaa">]>')}),
        "DTD",
    ),
    "external entity": (
        package(
            {
                "content.xml": content(
                    GOOD_ROWS, prolog='<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                )
            }
        ),
        "DTD",
    ),
    "huge rows repeated": (
        package(
            {
                "content.xml": content(
                    '<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
                    'office:value-type="float" office:value="1" table:number-columns-repeated="100"/>'
                    "</table:table-row>"
                )
            }
        ),
        "範圍過大",
    ),
    "huge columns repeated": (
        package(
            {
                "content.xml": content(
                    '<table:table-row table:number-rows-repeated="300"><table:table-cell '
                    'table:number-columns-repeated="16384"><text:p>x</text:p></table:table-cell>'
                    "</table:table-row>"
                )
            }
        ),
        "範圍過大",
    ),
    "broken manifest": (package({"META-INF/manifest.xml": b"<manifest:manifest"}), "清單"),
    "missing manifest": (package(drop=("META-INF/manifest.xml",)), "清單"),
    "encrypted": (
        package(
            {
                "META-INF/manifest.xml": MANIFEST.replace(
                    b'media-type="text/xml"/>',
                    b'media-type="text/xml"><manifest:encryption-data manifest:checksum="x"/>'
                    b"</manifest:file-entry>",
                )
            }
        ),
        "加密",
    ),
    "text document": (package(mimetype=b"application/vnd.oasis.opendocument.text"), "文件類型不符"),
    "no content": (package(drop=("content.xml",)), "content.xml"),
    "truncated": (package()[:300], "損毀"),
    "empty": (b"", "空的"),
    "csv renamed": ("單位,數值\n秘書處,187\n".encode(), "不是 ODF"),
    "bad repeat": (
        package({"content.xml": content('<table:table-row table:number-rows-repeated="many"/>')}),
        "損毀",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_guard_refuses_hostile_ods(case: str) -> None:
    data, words = HOSTILE[case]
    with pytest.raises(WorkbookFileError) as err:
        OdsBook(data, f"{case}.ods")
    assert words in str(err.value)
    assert err.value.path == f"{case}.ods" and err.value.message_en


@pytest.mark.parametrize("case", ["zip bomb", "entity", "huge rows repeated", "broken manifest", "encrypted"])
@pytest.mark.parametrize("command", ["check", "calculate"])
def test_cli_refuses_hostile_ods_without_traceback(case: str, command: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "填報.ods"
    path.write_bytes(HOSTILE[case][0])
    assert main([command, str(path)]) == 2
    err = capsys.readouterr().err
    assert HOSTILE[case][1] in err and str(path) in err and "Traceback" not in err
    assert path.read_bytes() == HOSTILE[case][0]


def test_collect_lists_hostile_ods_as_unreadable(tmp_path: Path) -> None:
    for case in ("zip bomb", "entity", "huge rows repeated", "encrypted"):
        (tmp_path / f"{case}.ods").write_bytes(HOSTILE[case][0])
    coll = collect([tmp_path])
    assert sorted(s.status for s in coll.submissions) == ["unreadable"] * 4
    assert all(s.reason for s in coll.submissions)


def test_a_sound_small_package_reads() -> None:
    data = package()
    assert inspect_ods(data, "ok.ods").parts == 3
    book = OdsBook(data, "ok.ods", formulas_visible=True)
    assert book.sheet_names() == ["表1"]
    assert book.names() == {"IN_x": ("表1", 1, 1)}
    assert book.grid("表1")[0] == [187, "=A1*2"]  # formulas visible, as openpyxl shows them
    values = OdsBook(data, "ok.ods")
    assert values.grid("表1")[0] == [187, 374]


@pytest.mark.parametrize(
    ("odf", "excel"),
    [
        ('of:=IF([.C12]=0;"";[.C12]/[.C13])', '=IF(C12=0,"",C12/C13)'),
        ("of:=SUM([.A1:.B2])", "=SUM(A1:B2)"),
        ("of:=[$'二-1 指標'.$C$12]+[$表1.A1]", "='二-1 指標'!$C$12+表1!A1"),
        ('of:=IF(A;"a;[.B1]";B)', '=IF(A,"a;[.B1]",B)'),
        ("of:=CHAR(10)&TXT_x", "=CHAR(10)&TXT_x"),
        ("msoxl:=IF(A1=0,1,2)", "=IF(A1=0,1,2)"),
        ("=[.A1]", "=A1"),
    ],
)
def test_odf_formulas_read_as_the_template_writes_them(odf: str, excel: str) -> None:
    assert odf_to_excel(odf) == excel


@pytest.mark.parametrize("command", [["calculate", "{dir}/填報.ods", "--engine", "libreoffice"]])
def test_missing_libreoffice_names_the_packages(
    command: list[str], tmp_path: Path, monkeypatch, capsys
) -> None:
    """A calculate in LibreOffice needs it; without it the message says what to install, and
    nothing is written.  (``kpi calculate FILE.ods`` alone does not: test_ods_native; nor does
    ``kpi template -o FILE.ods`` since issue 24: test_odf_template.)"""
    import workbook.books.uno  # imported before the patch: it binds find_soffice at import
    import workbook.libreoffice

    for module in (workbook.libreoffice, workbook.books.uno):
        monkeypatch.setattr(module, "find_soffice", lambda: None)
    if command[0] == "calculate":  # a sound package, so the guard passes and LibreOffice is asked for
        (tmp_path / "填報.ods").write_bytes(package())
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main([c.format(dir=tmp_path) for c in command]) == 2
    err = capsys.readouterr().err
    assert "libreoffice-calc-nogui" in err and "libreoffice.org" in err and "國家發展委員會" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# -- the quick scan of content.xml (workbook.formats.ods_scan) and when it is not trusted ---------------------

HUGE_ROWS = (
    '<table:table-row table:number-rows-repeated="1000000"><table:table-cell '
    'office:value-type="float" office:value="1" table:number-columns-repeated="100"/></table:table-row>'
)
MERGED_ROWS = (
    '<table:table-row><table:table-cell table:number-columns-spanned="2" table:number-rows-spanned="1">'
    "<text:p>x</text:p></table:table-cell><table:covered-table-cell/></table:table-row>" + GOOD_ROWS
)
UNTRUSTED = {
    # text in a comment looks like tags: a fake row start would reset the column count
    "comment": content(HUGE_ROWS.replace("<table:table-cell", "<!-- <table:table-row> --><table:table-cell")),
    "cdata": content(HUGE_ROWS, prolog="").replace(b"<office:body>", b"<office:body><![CDATA[<x>]]>"),
    "single quotes": content(HUGE_ROWS.replace('office:value="1"', "office:value='1'")),
    "a > inside a value": content(HUGE_ROWS.replace('office:value="1"', 'office:value="1" x="a>b"')),
    "another prefix": content(HUGE_ROWS)
    .replace(
        b'xmlns:table="urn', b'xmlns:t="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:table="urn:x'
    )
    .replace(b"<table:table-row", b"<t:table-row")
    .replace(b"</table:table-row>", b"</t:table-row>")
    .replace(b"<table:table-cell", b"<t:table-cell")
    .replace(b"table:number-", b"t:number-"),
}


def test_the_quick_scan_reads_what_the_parser_reads() -> None:
    from workbook.books.ods import parse_content
    from workbook.formats.ods_scan import scan

    xml = content(MERGED_ROWS, GOOD_NAMES)
    scanned, parsed = scan(xml), parse_content(xml, cells=False)
    assert scanned is not None
    ((table,),) = [scanned.tables]
    assert (table.name, table.rows, table.cols) == ("表1", 2, 2)  # empty repeats do not count
    assert table.merged == parsed.sheets[0].merged == [(1, 1, 1, 2)]
    assert OdsBook(package({"content.xml": xml}), "a.ods").names() == parsed.names == {"IN_x": ("表1", 1, 1)}


@pytest.mark.parametrize("case", sorted(UNTRUSTED))
def test_content_the_scan_cannot_trust_is_parsed_and_still_refused(case: str) -> None:
    from workbook.formats.ods_scan import scan

    xml = UNTRUSTED[case]
    assert scan(xml) is None
    with pytest.raises(WorkbookFileError) as err:
        inspect_ods(package({"content.xml": xml}), f"{case}.ods")
    assert "範圍過大" in str(err.value)
