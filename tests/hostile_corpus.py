"""A corpus of broken and hostile workbooks, each built by code from the real template.

Nothing here is a stored binary: :func:`build_corpus` writes the embedded plan's
template, fills it with the plan's sample counts, calculates it (the *base*, as a
clerk would send it back), and derives every case from that base by code — an
openpyxl edit (what Excel does to the file), an edit of the zip's XML parts, or
bytes written from scratch.  Each :class:`Case` records what must happen to it:

* ``check`` / ``calculate``: the exit code of ``kpi check`` / ``kpi calculate`` and
  either the finding codes reported (exit 0 and 1, as a set) or fragments of the
  zh-TW and English message (exit 2), and where applicable the sheet and cell named;
* ``collect``: how ``kpi collect`` classifies the file on its own (``ok``,
  ``warnings``, ``errors``, ``foreign``, ``unreadable``, ``outdated``) and a fragment
  of the reason;
* ``button``: what the Excel button says on the workbook Excel would show
  (``ok`` / ``errors`` / ``refused:<fragment>``) and which workbook that is.

``xfail`` maps a guarantee (``check``, ``calculate``, ``names_file``, ``bounded``,
``button``, ``collect``) to the reason the case currently breaks it; the tests turn
those into strict xfails.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.utils import quote_sheetname
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange

from kpi_engine import evaluate, load_plan
from kpi_engine.measures import CALC_REF, SNAP_PREFIX
from workbook.books.file import FileBook
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.book import parse_address
from workbook.form.builder import write_template
from workbook.form.calculate import calculate, resolve_scope

#: Defined-name prefixes of the cells staff type into.
INPUT_PREFIXES = ("IN_", "NOTE_", "PROG_", "DESC_")
#: When the base workbook was calculated (its status line and digest stamp).
NOW = dt.datetime(2018, 7, 10, 9, 30)

NUMERATOR = "IN_failed_tender_rate_H1_numerator"  # 流廢標列管件數, 48 in the sample
DENOMINATOR = "IN_failed_tender_rate_H1_denominator"  # 招標總件數, 643
OTHER_INPUT = "IN_e_tender_rate_H1_numerator"
RESULT = "OUT_failed_tender_rate_H1_value"
PROGRESS = "PROG_P1_1_H1"
SHEET = "二-3 流廢標下降率"  # the sheet holding NUMERATOR, at C12
RENAMED = "流廢標（改名）"

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BOMB_MB = 300  # uncompressed megabytes of the zip bombs

# -- bug reasons (see the report of the hostile-input issue) -----------------------------

RICH_MARKUP = (
    "workbook/report/terminal.py print_evaluation: finding messages quote raw cell text and go through "
    "rich console markup unescaped; '[/red]' in an input raises rich.errors.MarkupError "
    "(a traceback, exit 1) and '[bold]x' is silently shown as 'x'"
)
NO_FILE_NAME = (
    "workbook/form/calculate.py raises WorkbookFileError without path= (read_meta, check_version, "
    "resolve_scope, _locate) and workbook/cli.py _calculate does not add it: the message does not "
    "name the file"
)
GUARD_UNBOUNDED_READ = (
    "workbook/formats/guard.py _check_extent reads a sheet part with archive.read(info): zipfile inflates the "
    "whole member in one decompress() call before cutting it to the declared size, so a member whose "
    "header understates its size costs its real size in memory (300 MB here; MemoryError traceback "
    "for a 1.4 GB one)"
)
CALAMINE_LAZY_ERRORS = (
    "workbook/books/calamine.py CalamineBook.grid/merged call python-calamine lazily and let its "
    "XmlError/CalamineError escape; workbook/collect.py read_submission only catches "
    "WorkbookFileError, so one such file stops kpi collect with a traceback"
)

PLAN_ALIAS_BOMB = (
    "kpi_engine/plan_loader.py parse_plan accepts YAML anchors/aliases, so ~600 bytes of plan text expand "
    "to 9**6 items and jsonschema's error message quotes them all: a 4 MB message here (39 MB and 420 MB "
    "resident for 9**7; 1.7 GB and 9 s for 9**8) from the plan text any workbook carries"
)
PLAN_TAB = (
    "kpi_engine/plan_loader.py parse_plan loads with libyaml (CSafeLoader) but composes line numbers "
    "with PyYAML's pure SafeLoader, which rejects a tab that libyaml accepted: yaml.scanner.ScannerError "
    "escapes instead of PlanError (a traceback from kpi check/calculate, 未預期的錯誤 from the button)"
)
GUARD_ZLIB = (
    "workbook/formats/guard.py inspect catches BadZipFile/OSError/EOFError/ValueError around reading parts, but "
    "zipfile also raises zlib.error (damaged deflate stream), NotImplementedError (unknown compression "
    "method) and RuntimeError (encrypted member): a traceback instead of 檔案不完整或已損毀"
)
OUTDATED_ZH_ONLY = (
    "workbook/collect.py read_submission gives an outdated template the reason '範本版本 0，現行 1' "
    "with no English, unlike every other reason"
)
PARTIAL_CRC = (
    "workbook/formats/guard.py inspect verifies CRCs only of parts it reads to the end (worksheets, and XML "
    "parts under 1 KB); python-calamine never reads xl/styles.xml, so kpi collect counts a file whose "
    "styles part is damaged (status ok) while kpi check refuses it"
)


# -- expectations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """The outcome of one ``kpi check`` or ``kpi calculate`` run."""

    exit: int
    codes: frozenset[str] = frozenset()  # finding codes reported (exit 0/1), exactly
    text: tuple[str, ...] = ()  # fragments of stderr (exit 2): one zh-TW, one English at least
    where: tuple[str, str] | None = None  # (sheet, cell) a finding or the message must name


def ok(*codes: str, where: tuple[str, str] | None = None) -> Expect:
    return Expect(0, frozenset(codes), where=where)


def errors(*codes: str, where: tuple[str, str] | None = None) -> Expect:
    return Expect(1, frozenset(codes), where=where)


def refused(*text: str, where: tuple[str, str] | None = None) -> Expect:
    return Expect(2, text=text, where=where)


@dataclass(frozen=True)
class Case:
    """One hostile input and what must happen to it."""

    id: str
    level: str  # cell | workbook | file
    summary: str
    build: Callable[[Path, Path], None]  # (base workbook, target path) → writes the case
    check: Expect
    calculate: Expect
    collect: str
    collect_text: str = ""
    button: str = "auto"  # ok | errors | refused:<fragment>; auto follows calculate
    button_source: str = "file"  # file | self | base | unopenable: the workbook Excel would show
    excel_shows: Mapping[str, Any] = field(default_factory=dict)  # inputs Excel shows otherwise
    suffix: str = ".xlsx"
    setup: str = ""  # readonly | lock_excel | lock_libreoffice | enospc_save | enospc_replace
    same_results_as_base: bool = False  # after calculate, every TXT_ sentence equals the base's
    xfail: Mapping[str, str] = field(default_factory=dict)
    name: str = ""  # the file's own name, when the case is about the name

    @property
    def filename(self) -> str:
        return self.name or f"填報-{self.id}{self.suffix}"

    @property
    def button_expect(self) -> str:
        if self.button != "auto":
            return self.button
        if self.calculate.exit == 2:
            return "refused:" + self.calculate.text[0]
        return "errors" if self.calculate.exit == 1 else "ok"


# -- editing helpers -----------------------------------------------------------------------


def _where(wb: Workbook, name: str) -> tuple[str, str]:
    (sheet, address), *_ = list(wb.defined_names[name].destinations)
    return sheet, address.replace("$", "")


def edit(fn: Callable[[Workbook], None]) -> Callable[[Path, Path], None]:
    """A case made by loading the base with openpyxl, changing it, and saving."""

    def build(base: Path, target: Path) -> None:
        wb = load_workbook(base)
        fn(wb)
        wb.save(target)

    return build


def set_input(name: str, value: Any, data_type: str | None = None) -> Callable[[Path, Path], None]:
    """Type ``value`` into the input ``name`` (an Excel error value with data_type "e")."""

    def fn(wb: Workbook) -> None:
        sheet, address = _where(wb, name)
        cell = wb[sheet][address]
        cell.value = value
        if data_type:
            cell.data_type = data_type

    return edit(fn)


def _absolute(row: int, col: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"${get_column_letter(col)}${row}"


def _names_on(wb: Workbook, sheet: str) -> dict[str, tuple[int, int]]:
    out = {}
    for name, dn in wb.defined_names.items():
        try:
            dests = list(dn.destinations)
        except Exception:
            continue
        if len(dests) == 1 and dests[0][0] == sheet:
            out[name] = parse_address(dests[0][1])
    return out


def _shift_ranges(ranges: str, *, at_row: int = 0, rows: int = 0, at_col: int = 0, cols: int = 0) -> str:
    out = []
    for rng in str(ranges).split():
        cr = CellRange(rng)
        if rows and cr.min_row >= at_row:
            cr.shift(row_shift=rows)
        elif rows and cr.max_row >= at_row:
            cr.expand(down=rows)
        if cols and cr.min_col >= at_col:
            cr.shift(col_shift=cols)
        elif cols and cr.max_col >= at_col:
            cr.expand(right=cols)
        out.append(cr.coord)
    return " ".join(out)


def excel_insert(
    wb: Workbook, sheet: str, *, row: int = 0, rows: int = 0, col: int = 0, cols: int = 0
) -> None:
    """Insert rows or columns as Excel does: cells, merges, validations, formats and names move."""
    ws = wb[sheet]
    if rows:
        ws.insert_rows(row, rows)
    if cols:
        ws.insert_cols(col, cols)
    shift = {"at_row": row, "rows": rows, "at_col": col, "cols": cols}
    merged = [_shift_ranges(m.coord, **shift) for m in ws.merged_cells.ranges]
    for m in list(ws.merged_cells.ranges):
        ws.merged_cells.remove(m)
    for coord in merged:
        ws.merged_cells.add(coord)
    for dv in ws.data_validations.dataValidation:
        dv.sqref = MultiCellRange(_shift_ranges(str(dv.sqref), **shift))
    formats = ConditionalFormattingList()
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            formats.add(_shift_ranges(str(cf.sqref), **shift), rule)
    ws.conditional_formatting = formats
    for name, (r, c) in _names_on(wb, sheet).items():
        r += rows if rows and r >= row else 0
        c += cols if cols and c >= col else 0
        wb.defined_names[name].attr_text = f"{quote_sheetname(sheet)}!{_absolute(r, c)}"


def excel_rename(wb: Workbook, old: str, new: str, *, update_names: bool = True) -> None:
    """Rename a sheet; Excel also rewrites every defined name that points at it."""
    moved = _names_on(wb, old)
    wb[old].title = new
    if update_names:
        for name, (r, c) in moved.items():
            wb.defined_names[name].attr_text = f"{quote_sheetname(new)}!{_absolute(r, c)}"


def excel_delete_sheet(wb: Workbook, sheet: str) -> None:
    """Delete a sheet; Excel turns the names that pointed at it into ``#REF!$C$12``."""
    for name, (r, c) in _names_on(wb, sheet).items():
        wb.defined_names[name].attr_text = f"#REF!{_absolute(r, c)}"
    del wb[sheet]


def _set_meta(key: str, value: Any) -> Callable[[Workbook], None]:
    def fn(wb: Workbook) -> None:
        for row in wb[L.SHEET_META].iter_rows(min_col=1, max_col=2):
            if row[0].value == key:
                row[1].value = value

    return fn


# -- zip-level helpers ----------------------------------------------------------------------


def rezip(
    data: bytes, edits: Mapping[str, Callable[[bytes], bytes]] = {}, add: Mapping[str, bytes] = {}
) -> bytes:
    """The package with some parts rewritten and some added (deflated like Excel's)."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            blob = zin.read(info)
            if info.filename in edits:
                blob = edits[info.filename](blob)
            zout.writestr(info.filename, blob)
        for name, blob in add.items():
            zout.writestr(name, blob)
    return out.getvalue()


def zip_edit(
    edits: Mapping[str, Callable[[bytes], bytes]] = {},
    add: Mapping[str, bytes] = {},
) -> Callable[[Path, Path], None]:
    def build(base: Path, target: Path) -> None:
        target.write_bytes(rezip(base.read_bytes(), edits, add))

    return build


def raw_members(data: bytes) -> list[list]:
    """[name, method, crc, compressed size, size, compressed bytes] of every member, in order."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    out = []
    for info in archive.infolist():
        off = info.header_offset
        name_len, extra_len = struct.unpack("<HH", data[off + 26 : off + 30])
        start = off + 30 + name_len + extra_len
        blob = data[start : start + info.compress_size]
        out.append([info.filename, info.compress_type, info.CRC, info.compress_size, info.file_size, blob])
    return out


def write_raw(members: list[list]) -> bytes:
    """A zip whose headers say exactly what ``members`` say, true or not."""
    buf = io.BytesIO()
    central = []
    for name, method, crc, csize, size, blob in members:
        encoded = name.encode()
        offset = buf.tell()
        buf.write(
            struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0x800, method, 0, 0x21, crc, csize, size, len(encoded), 0
            )
        )
        buf.write(encoded + blob)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50, 20, 20, 0x800, method, 0, 0x21, crc, csize, size, len(encoded), 0, 0, 0, 0, 0, offset,
            )
            + encoded
        )  # fmt: skip
    start = buf.tell()
    for entry in central:
        buf.write(entry)
    buf.write(
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), buf.tell() - start, start, 0)
    )
    return buf.getvalue()


def _zeros_deflated(megabytes: int) -> tuple[bytes, int]:
    """Raw deflate of ``megabytes`` MB of zeros, and their CRC, built without inflating them.

    One megabyte is deflated with a full flush (a self-contained, byte-aligned piece)
    and repeated; an empty final block closes the stream.
    """
    mb = bytes(1 << 20)
    piece = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = piece.compress(mb) + piece.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(mb, crc)
    return segment * megabytes + zlib.compressobj(9, zlib.DEFLATED, -15).flush(), crc


def _sheet_part(data: bytes, title: str) -> str:
    """The zip member of the sheet called ``title``."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    book = archive.read("xl/workbook.xml").decode()
    rels = archive.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(rf'<sheet [^>]*name="{re.escape(title)}"[^>]*r:id="(rId\d+)"', book)
    assert rid, title
    target = re.search(rf'<Relationship [^>]*Id="{rid.group(1)}"[^>]*Target="([^"]+)"', rels) or re.search(
        rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid.group(1)}"', rels
    )
    assert target
    path = target.group(1).lstrip("/")
    return path if path.startswith("xl/") else f"xl/{path}"


def bomb_declared(base: Path, target: Path) -> None:
    """A sheet part declaring BOMB_MB MB of zeros (about 300 KB on disk)."""
    data = base.read_bytes()
    part = _sheet_part(data, SHEET)
    blob, crc = _zeros_deflated(BOMB_MB)
    members = raw_members(data)
    for m in members:
        if m[0] == part:
            m[1:] = [zipfile.ZIP_DEFLATED, crc, len(blob), BOMB_MB << 20, blob]
    target.write_bytes(write_raw(members))


def bomb_lying(base: Path, target: Path) -> None:
    """The metadata sheet's real XML followed by BOMB_MB MB of zeros, its header declaring only the XML.

    The declared size and CRC match the first bytes, so every reader that stops at the
    declared size sees a perfectly good sheet.
    """
    data = base.read_bytes()
    part = _sheet_part(data, L.SHEET_META)
    xml = zipfile.ZipFile(io.BytesIO(data)).read(part)
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros, _ = _zeros_deflated(BOMB_MB)
    blob = head.compress(xml) + head.flush(zlib.Z_FULL_FLUSH) + zeros
    members = raw_members(data)
    for m in members:
        if m[0] == part:
            m[1:] = [zipfile.ZIP_DEFLATED, zlib.crc32(xml), len(blob), len(xml), blob]
    target.write_bytes(write_raw(members))


def bomb_ratio(base: Path, target: Path) -> None:
    """A sheet padded with 3 MB of blanks between its rows: small in total, absurd ratio."""
    data = base.read_bytes()
    part = _sheet_part(data, SHEET)
    target.write_bytes(
        rezip(data, {part: lambda b: b.replace(b"</sheetData>", b" " * (3 << 20) + b"</sheetData>", 1)})
    )


LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%s;" % (b"" if i == 1 else str(i - 1).encode())) * 10)
        for i in range(1, 10)
    )
    + b"]>"
)
XXE = b'<!DOCTYPE kpi [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _with_doctype(doctype: bytes, *, entity: bytes = b"", pad: bytes = b"", utf16: bool = False):
    """Put a DOCTYPE before the root element (after ``pad``) and use ``entity`` in a new far row."""

    def fn(xml: bytes) -> bytes:
        start = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
        out = xml[:start] + pad + doctype + xml[start:]
        if entity:
            cell = b'<row r="200"><c r="A200" t="inlineStr"><is><t>' + entity + b"</t></is></c></row>"
            out = out.replace(b"</sheetData>", cell + b"</sheetData>", 1)
        if utf16:
            body = out.decode()
            body = re.sub(r"^<\?xml[^>]*\?>", "", body)
            out = ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16")
        return out

    return fn


def dtd_in_sheet(doctype: bytes, **options) -> Callable[[Path, Path], None]:
    def build(base: Path, target: Path) -> None:
        data = base.read_bytes()
        part = _sheet_part(data, SHEET)
        target.write_bytes(rezip(data, {part: _with_doctype(doctype, **options)}))

    return build


def sheet_xml(fn: Callable[[bytes], bytes], title: str = SHEET) -> Callable[[Path, Path], None]:
    def build(base: Path, target: Path) -> None:
        data = base.read_bytes()
        target.write_bytes(rezip(data, {_sheet_part(data, title): fn}))

    return build


def with_vba(base: Path, target: Path) -> None:
    """The base as a macro-enabled workbook holding a real VBA project (xlwings' add-in's)."""
    try:
        from workbook.buttons.addin import template_path

        with zipfile.ZipFile(template_path()) as addin:
            vba = addin.read("xl/vbaProject.bin")
    except Exception:  # pragma: no cover - xlwings ships the template
        vba = OLE_MAGIC + b"\0" * 504 + "VBA".encode("utf-16-le") * 64

    def types(xml: bytes) -> bytes:
        xml = xml.replace(
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        )
        return xml.replace(
            b"<Default ",
            b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default ',
            1,
        )

    def rels(xml: bytes) -> bytes:
        return xml.replace(
            b"</Relationships>",
            b'<Relationship Id="rIdVBA" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject"'
            b' Target="vbaProject.bin"/></Relationships>',
        )

    target.write_bytes(
        rezip(
            base.read_bytes(),
            {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels},
            {"xl/vbaProject.bin": vba},
        )
    )


def encrypted(base: Path, target: Path) -> None:
    """The base encrypted with a password to open (msoffcrypto-tool, ECMA-376 agile)."""
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:  # an OLE file with the stream name Excel's encryption uses
        target.write_bytes(OLE_MAGIC + b"\0" * 120 + "EncryptionInfo".encode("utf-16-le") + b"\0" * 400)
        return
    with open(base, "rb") as src, open(target, "wb") as out:
        OOXMLFile(src).encrypt("kpi-secret", out)


def encryption_method() -> str:
    try:
        import msoffcrypto  # noqa: F401
    except ImportError:
        return "crafted OLE file holding the stream name EncryptionInfo"
    return "msoffcrypto-tool (real ECMA-376 agile encryption)"


def truncated(base: Path, target: Path) -> None:
    data = base.read_bytes()
    target.write_bytes(data[: len(data) // 2])


def flipped(base: Path, target: Path) -> None:
    """64 bytes inverted in the middle of the member that holds the file's midpoint."""
    data = bytearray(base.read_bytes())
    mid = len(data) // 2
    start = next(
        off + 30 + len(name.encode()) for off, name in _local_headers(bytes(data)) if off <= mid
    )  # the last header before the midpoint
    at = max(start + 16, mid - 32)
    data[at : at + 64] = bytes(b ^ 0xFF for b in data[at : at + 64])
    target.write_bytes(bytes(data))


def _local_headers(data: bytes) -> list[tuple[int, str]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return sorted(((i.header_offset, i.filename) for i in archive.infolist()), reverse=True)


def bad_crc(base: Path, target: Path) -> None:
    """Styles stored with a wrong CRC (the data itself inflates fine)."""
    data = base.read_bytes()
    members = raw_members(data)
    for m in members:
        if m[0] == "xl/styles.xml":
            m[2] ^= 0xDEADBEEF
    target.write_bytes(write_raw(members))


def deflate_damaged(base: Path, target: Path) -> None:
    """One byte of a sheet's deflate stream changed so that inflating it fails (CRC never reached)."""
    data = base.read_bytes()
    part = _sheet_part(data, SHEET)
    members = raw_members(data)
    for m in members:
        if m[0] != part:
            continue
        blob = bytearray(m[5])
        for i in range(len(blob) // 4, len(blob)):  # the first change that breaks the stream itself
            trial = bytearray(blob)
            trial[i] ^= 0x55
            try:
                zlib.decompressobj(-15).decompress(bytes(trial))
            except zlib.error:
                m[5] = bytes(trial)
                break
        else:  # pragma: no cover - some byte always breaks a deflate stream
            raise AssertionError("no damaging byte found")
    target.write_bytes(write_raw(members))


def patch_headers(data: bytes, part: str, *, method: int | None = None, flag: int = 0) -> bytes:
    """Change a member's compression method, or set a general-purpose flag, in both of its headers."""
    raw = bytearray(data)
    local = zipfile.ZipFile(io.BytesIO(data)).getinfo(part).header_offset
    central = 0
    while True:  # the central directory entry naming this part
        central = raw.index(b"PK\x01\x02", central + 1)
        name_len = struct.unpack_from("<H", raw, central + 28)[0]
        if raw[central + 46 : central + 46 + name_len] == part.encode():
            break
    for flags_at in (local + 6, central + 8):  # method follows the flags in both headers
        if method is not None:
            struct.pack_into("<H", raw, flags_at + 2, method)
        if flag:
            struct.pack_into("<H", raw, flags_at, struct.unpack_from("<H", raw, flags_at)[0] | flag)
    return bytes(raw)


def header_edit(**change) -> Callable[[Path, Path], None]:
    def build(base: Path, target: Path) -> None:
        data = base.read_bytes()
        target.write_bytes(patch_headers(data, _sheet_part(data, SHEET), **change))

    return build


def csv_file(base: Path, target: Path) -> None:
    target.write_text("指標,分子,分母\n流廢標下降率,48,643\n", encoding="utf-8-sig")


def xls_file(base: Path, target: Path) -> None:
    junk = bytes((i * 37 + 11) % 256 for i in range(4096))
    target.write_bytes(OLE_MAGIC + junk)


def ods_file(base: Path, target: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED
        )
        z.writestr("content.xml", '<?xml version="1.0"?><office:document-content xmlns:office="x"/>')
    target.write_bytes(out.getvalue())


def foreign_workbook(base: Path, target: Path) -> None:
    wb = Workbook()
    wb.active.append(["單位", "件數"])
    wb.active.append(["秘書處", 48])
    wb.save(target)


def lo_resaved(base: Path, target: Path) -> None:
    from workbook.libreoffice import recalculate

    recalculate(base, target)


# -- issue 23: what files are, .ods from LibreOffice -----------------------------------------


def strict_ooxml(base: Path, target: Path) -> None:
    """Excel's "Strict Open XML Spreadsheet": the workbook part in Strict's namespace."""
    edit = {
        "xl/workbook.xml": lambda xml: xml.replace(
            b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
            b"http://purl.oclc.org/ooxml/spreadsheetml/main",
        )
    }
    target.write_bytes(rezip(base.read_bytes(), edit))


def flat_odf(base: Path, target: Path) -> None:
    """LibreOffice's "Flat XML ODF Spreadsheet" (.fods): one XML file, no zip."""
    target.write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document '
        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.3" '
        b'office:mimetype="application/vnd.oasis.opendocument.spreadsheet"><office:body>'
        b"<office:spreadsheet/></office:body></office:document>"
    )


def xlsb_file(base: Path, target: Path) -> None:
    """An Excel binary workbook: a zip of .bin parts."""
    target.write_bytes(rezip(base.read_bytes(), add={"xl/workbook.bin": b"\x83\x01\x00"}))


def sparse_huge(base: Path, target: Path) -> None:
    """The base followed by nothing up to 60 MB (sparse: no disk), over the 50 MB cap."""
    target.write_bytes(base.read_bytes())
    with open(target, "r+b") as fh:
        fh.truncate(60 * 1024 * 1024)


_ODS_OF: dict[Path, bytes] = {}


def ods_of(base: Path) -> bytes:
    """The base saved by LibreOffice as .ods (once per corpus)."""
    if base not in _ODS_OF:
        from workbook.libreoffice import recalculate

        out = base.with_name("base.ods")
        recalculate(base, out, fmt="ods")
        _ODS_OF[base] = out.read_bytes()
    return _ODS_OF[base]


def ods_content_edit(data: bytes, fn: Callable[[bytes], bytes]) -> bytes:
    """An .ods with its content.xml rewritten, every other member as it was (mimetype first, stored)."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            blob = zin.read(info.filename)
            if info.filename == "content.xml":
                blob = fn(blob)
            zout.writestr(info.filename, blob, compress_type=info.compress_type)
    return out.getvalue()


def filled_down(rows: int, cols: int) -> Callable[[bytes], bytes]:
    """A sheet staff added whose one value LibreOffice filled down ``rows`` × ``cols`` (a few bytes)."""

    def fn(xml: bytes) -> bytes:
        at = xml.rindex(b"</table:table>") + len(b"</table:table>")
        sheet = (
            b'<table:table table:name="fill"><table:table-column table:number-columns-repeated="%d"/>'
            b'<table:table-row table:number-rows-repeated="%d"><table:table-cell office:value-type="float" '
            b'office:value="1" table:number-columns-repeated="%d"><text:p>1</text:p></table:table-cell>'
            b"</table:table-row></table:table>" % (cols, rows, cols)
        )
        return xml[:at] + sheet + xml[at:]

    return fn


def indented(xml: bytes) -> bytes:
    """content.xml pretty-printed: a line break and indent before every element outside a paragraph."""
    return re.sub(rb">(<(?:/?(?:table|office|style|number|loext):|text:[ph][\s>/]))", rb">\n  \1", xml)


def ods_filled_down(base: Path, target: Path) -> None:
    target.write_bytes(ods_content_edit(ods_of(base), filled_down(990_000, 2)))


#: Cases LibreOffice builds: in a thread of their own while the rest is built.
SLOW_BUILDS: tuple[Callable[[Path, Path], None], ...] = (lo_resaved, ods_filled_down)


def yaml_alias_bomb(plan_text: str, depth: int = 6, width: int = 9) -> str:
    """The plan with its goals replaced by nested YAML aliases: ~700 bytes that expand to width**depth items."""
    items = ["  - &a0 [" + ",".join(['"lol"'] * width) + "]"]
    items += [f"  - &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]" for i in range(1, depth)]
    text = re.sub(r"^goals:.*?(?=^\S)", "", plan_text, flags=re.M | re.S)
    return text + "\ngoals:\n" + "\n".join(items) + "\n"


def _plan_bomb(wb: Workbook) -> None:
    rows = [row for row in wb[L.SHEET_META].iter_rows(min_col=1, max_col=2) if row[0].value == "plan_text"]
    text = yaml_alias_bomb("".join(str(r[1].value or "") for r in rows))
    for n, (_, cell) in enumerate(rows):
        cell.value = text if n == 0 else None


def _plan_tab(wb: Workbook) -> None:
    """A tab after a colon in the stored plan text: libyaml reads it, PyYAML's scanner does not."""
    for row in wb[L.SHEET_META].iter_rows(min_col=1, max_col=2):
        if row[0].value == "plan_text" and "year: 107" in str(row[1].value):
            row[1].value = str(row[1].value).replace("year: 107", "year:\tone hundred and seven", 1)
            return
    raise AssertionError("no year in the plan text")


def _merge(spec: str) -> Callable[[Workbook], None]:
    def fn(wb: Workbook) -> None:
        wb[SHEET].merge_cells(spec)

    return fn


def _rows_and_columns(wb: Workbook, *, rows: bool) -> None:
    if rows:
        excel_insert(wb, SHEET, row=2, rows=3)  # above the inputs
        excel_insert(wb, L.SHEET_GUIDE, row=4, rows=2)  # above the status line
        excel_insert(wb, L.SHEET_ITEMS, row=3, rows=1)  # above the first Part 3 item
    else:
        excel_insert(wb, SHEET, col=1, cols=2)
        excel_insert(wb, L.SHEET_FINDINGS, col=1, cols=1)


def _unprotect(wb: Workbook) -> None:
    for ws in wb.worksheets:
        if ws.title != L.SHEET_META:
            ws.protection.sheet = False


def _passwords(wb: Workbook) -> None:
    for ws in wb.worksheets:
        if ws.sheet_state == "veryHidden":
            continue  # the system sheet: no clerk can reach it in Excel
        ws.protection.password = "kpi-secret"
    wb.security = WorkbookProtection(workbookPassword="kpi-secret", lockStructure=True)


def _redirect(wb: Workbook) -> None:
    sheet, address = _where(wb, DENOMINATOR)
    wb.defined_names[NUMERATOR].attr_text = f"{quote_sheetname(sheet)}!{_absolute(*parse_address(address))}"


def _overwrite_result(wb: Workbook) -> None:
    sheet, address = _where(wb, RESULT)
    wb[sheet][address].value = 99


def _chain(*fns: Callable[[Workbook], None]) -> Callable[[Workbook], None]:
    def fn(wb: Workbook) -> None:
        for f in fns:
            f(wb)

    return fn


def _set(name: str, value: Any) -> Callable[[Workbook], None]:
    def fn(wb: Workbook) -> None:
        sheet, address = _where(wb, name)
        wb[sheet][address].value = value

    return fn


# -- the corpus ---------------------------------------------------------------------------

SAFETY = "IN_safety_defects_H1_count"  # 反映公共安全之缺失件數, 63 in the sample; target ≤135 (≤120 in 107)
SAFETY_CELL = ("三-1 每年民眾及同仁、巡檢人員反映辦公環境安全缺失件數", "C12")
NUM_CELL = (SHEET, "C12")
DEN_CELL = (SHEET, "C13")
NOT_A_NUMBER = ("不是數字", "is not a number")
TEXT_ERR = errors("text", "stale", where=NUM_CELL)
TEXT_CALC = errors("text", where=NUM_CELL)
MISSING_NAMES = ("找不到必要的儲存格名稱", "required defined names are missing")
NOT_WORKBOOK = ("不是 Excel 活頁簿", "not an Excel workbook")
CANNOT_OPEN = ("無法開啟活頁簿", "cannot open the workbook")
DTD = ("不允許的 XML 宣告", "declares a DTD")


def _text_case(cid: str, value: str, summary: str, **extra) -> Case:
    return Case(
        cid,
        "cell",
        summary,
        set_input(NUMERATOR, value),
        TEXT_ERR,
        TEXT_CALC,
        "errors",
        **extra,
    )


def _cell_case(cid: str, name: str, value: object, summary: str, code: str, cell=NUM_CELL) -> Case:
    """One odd value typed into an input: ``code`` is an error at that cell (``check`` also sees it stale)."""
    return Case(
        cid,
        "cell",
        summary,
        set_input(name, value),
        errors(code, "stale", where=cell),
        errors(code, where=cell),
        "errors",
    )


def _text_number_case(cid: str, name: str, value: str, summary: str, cell=NUM_CELL) -> Case:
    """A number typed as text: the engine could read it, the workbook's formulas cannot (ISNUMBER)."""
    return _cell_case(cid, name, value, summary, "number_as_text", cell)


def _error_value_case(cid: str, value: str) -> Case:
    return Case(
        cid,
        "cell",
        f"the Excel error value {value} in a count (data type e)",
        set_input(NUMERATOR, value, "e"),
        errors("excel_error", "stale", where=NUM_CELL),
        errors("excel_error", where=NUM_CELL),
        "errors",
    )


def _unreadable(cid: str, summary: str, build, text: tuple[str, ...], **extra) -> Case:
    return Case(
        cid,
        "file",
        summary,
        build,
        refused(*text),
        refused(*text),
        extra.pop("collect", "unreadable"),
        text[0],
        button=extra.pop("button", "refused:這不是本系統產生的填報工作簿"),
        button_source=extra.pop("button_source", "unopenable"),
        **extra,
    )


CASES: list[Case] = [
    # -- cell level --------------------------------------------------------------------
    _text_case("cell_text", "abc", "plain text in a count"),
    _text_number_case("cell_fullwidth_digits", NUMERATOR, "４８", "full-width digits ４８"),
    _text_case("cell_approximately", "約48", "「約48」 (about 48)"),
    _text_case("cell_with_unit", "48件", "「48件」 (a count with its unit)"),
    _text_case("cell_chinese_numeral", "四十八", "「四十八」 (Chinese numerals)"),
    _text_number_case(
        "cell_thousands_separator", DENOMINATOR, "1,643", "thousands separators 1,643", DEN_CELL
    ),
    _text_number_case("cell_spaces", NUMERATOR, " 48 ", "leading and trailing spaces「 48 」"),
    _text_number_case("cell_number_as_text", NUMERATOR, "48", "a number stored as text"),
    _cell_case("cell_negative", NUMERATOR, -48, "a negative count", "negative"),
    _cell_case("cell_decimal", NUMERATOR, 48.5, "a decimal count 48.5", "non_integer"),
    _cell_case(
        "cell_huge_number", DENOMINATOR, 1e15, "a huge count 1e15 as the denominator", "too_large", DEN_CELL
    ),
    _cell_case("cell_boolean", NUMERATOR, True, "TRUE in a count", "boolean"),
    _cell_case("cell_date", NUMERATOR, dt.datetime(2018, 6, 30), "a date in a count", "date"),
    _error_value_case("cell_error_div0", "#DIV/0!"),
    _error_value_case("cell_error_ref", "#REF!"),
    _error_value_case("cell_error_value", "#VALUE!"),
    Case(
        "cell_formula",
        "cell",
        "a formula =1+2 typed into a count",
        set_input(NUMERATOR, "=1+2"),
        errors("formula_in_input", "stale", where=NUM_CELL),
        errors("formula_in_input", where=NUM_CELL),
        "errors",  # calamine sees the formula's missing cached value: incomplete
        button="errors",  # Excel shows 3, but the live adapter reads the typed formula: formula_in_input
        excel_shows={NUMERATOR: 3},
    ),
    Case(
        "cell_merged_keeps_value",
        "cell",
        "the count merged with the empty cell to its right (C12:D12)",
        edit(_merge("C12:D12")),
        errors("merged_input", where=NUM_CELL),
        errors("merged_input", where=NUM_CELL),
        "errors",  # the Excel button too: LiveBook reads merged areas (issue 18)
    ),
    Case(
        "cell_merged_over_input",
        "cell",
        "the unit and the count merged (B12:C12): the count is lost",
        edit(_merge("B12:C12")),
        errors("merged_input", "incomplete", "stale", where=NUM_CELL),
        errors("merged_input", "incomplete", where=NUM_CELL),
        "errors",
    ),
    _cell_case(
        "cell_cleared_after_calculate",
        NUMERATOR,
        None,
        "a count cleared after the workbook was calculated",
        "incomplete",
    ),
    _text_case(
        "cell_rich_markup",
        "[/red]",
        "console markup '[/red]' typed into a count",
    ),
    Case(
        "cell_progress_text",
        "cell",
        "「約50%」 as a Part 3 progress",
        set_input(PROGRESS, "約50%"),
        errors("text", "stale", where=(L.SHEET_ITEMS, "D3")),
        errors("text", where=(L.SHEET_ITEMS, "D3")),
        "errors",
    ),
    Case(
        "cell_progress_out_of_range",
        "cell",
        "progress 150 (%)",
        set_input(PROGRESS, 150),
        errors("progress_range", "stale", where=(L.SHEET_ITEMS, "D3")),
        errors("progress_range", where=(L.SHEET_ITEMS, "D3")),
        "errors",
    ),
    # -- workbook level ------------------------------------------------------------------
    Case(
        "wb_sheet_renamed",
        "workbook",
        "a sheet renamed as Excel does (names follow) and a count there above its total",
        edit(_chain(lambda wb: excel_rename(wb, SHEET, RENAMED), _set(NUMERATOR, 700))),
        errors("numerator_gt_denominator", "stale", where=(RENAMED, "C12")),
        errors("numerator_gt_denominator", where=(RENAMED, "C12")),
        "errors",
    ),
    Case(
        "wb_sheet_renamed_names_stale",
        "workbook",
        "a sheet renamed but its defined names still point at the old name",
        edit(lambda wb: excel_rename(wb, SHEET, RENAMED, update_names=False)),
        refused(*MISSING_NAMES),
        refused(*MISSING_NAMES),
        "errors",
        MISSING_NAMES[0],
    ),
    Case(
        "wb_sheet_deleted",
        "workbook",
        "an indicator sheet deleted (its names become #REF!)",
        edit(lambda wb: excel_delete_sheet(wb, SHEET)),
        refused(*MISSING_NAMES),
        refused(*MISSING_NAMES),
        "errors",
        MISSING_NAMES[0],
    ),
    Case(
        "wb_sheets_reordered",
        "workbook",
        "sheets dragged into another order",
        edit(lambda wb: (wb.move_sheet(SHEET, offset=-5), wb.move_sheet(L.SHEET_META, offset=-4))),
        ok(),
        ok(),
        "ok",
        same_results_as_base=True,
    ),
    Case(
        "wb_rows_inserted",
        "workbook",
        "rows inserted above the inputs, the status line and the Part 3 items (names move as in Excel)",
        edit(lambda wb: _rows_and_columns(wb, rows=True)),
        ok(),
        ok(),
        "ok",
        same_results_as_base=True,
    ),
    Case(
        "wb_columns_inserted",
        "workbook",
        "columns inserted left of the inputs and the findings table (names move as in Excel)",
        edit(lambda wb: _rows_and_columns(wb, rows=False)),
        ok(),
        ok(),
        "ok",
        same_results_as_base=True,
    ),
    Case(
        "wb_name_deleted",
        "workbook",
        "the defined name of a count deleted",
        edit(lambda wb: wb.defined_names.pop(NUMERATOR)),
        refused(*MISSING_NAMES, NUMERATOR),
        refused(*MISSING_NAMES, NUMERATOR),
        "errors",
        NUMERATOR,
    ),
    Case(
        "wb_name_redirected",
        "workbook",
        "the name of one count redirected to another count's cell",
        edit(_redirect),
        refused("指向同一儲存格", "point at the same cell", where=DEN_CELL),
        refused("指向同一儲存格", "point at the same cell", where=DEN_CELL),
        "errors",
        "指向同一儲存格",
    ),
    Case(
        "wb_result_overwritten",
        "workbook",
        "a result formula overwritten with 99",
        edit(_overwrite_result),
        errors("formula_overwritten", where=(SHEET, "C16")),
        ok("formula_restored", where=(SHEET, "C16")),
        "errors",  # a submission whose results were edited: tampered
        button="errors",  # live Excel: result_mismatch, it cannot restore formulas
    ),
    Case(
        "wb_protection_removed",
        "workbook",
        "sheet protection removed from every form sheet",
        edit(_unprotect),
        ok(),
        ok("protection_restored"),
        "ok",
        same_results_as_base=True,
    ),
    Case(
        "wb_password_added",
        "workbook",
        "a protection password of the clerk's own on every sheet and on the workbook structure",
        edit(_passwords),
        ok(),  # check writes nothing: the password is no obstacle
        ok(),  # issue 22: calculate writes only the system sheet, so it is none either
        "ok",
        same_results_as_base=True,
    ),
    Case(
        "wb_libreoffice_resaved",
        "workbook",
        "opened and saved again by LibreOffice Calc",
        lo_resaved,
        ok(),
        ok(),
        "ok",
        button_source="self",  # LibreOffice saved real computed values: the payload uses them
        same_results_as_base=True,
    ),
    Case(
        "wb_old_template_version",
        "workbook",
        "a workbook from template version 0",
        edit(_set_meta("template_version", "0")),
        refused("範本版本 0", "template version 0"),
        refused("範本版本 0", "template version 0"),
        "outdated",
        "範本版本 0",
    ),
    Case(
        "wb_plan_yaml_alias_bomb",
        "workbook",
        "the plan text in the metadata sheet replaced by a 600-byte YAML alias bomb (9**6 items)",
        edit(_plan_bomb),
        refused("工作簿內的計畫資料無法讀取", "the plan stored in the workbook is unreadable"),
        refused("工作簿內的計畫資料無法讀取", "the plan stored in the workbook is unreadable"),
        "ok",  # collect computes with its own plan, found by fingerprint; it never parses the text
    ),
    Case(
        "wb_plan_text_tab",
        "workbook",
        "a tab after a colon in the plan text stored in the metadata sheet",
        edit(_plan_tab),
        refused("工作簿內的計畫資料無法讀取", "the plan stored in the workbook is unreadable"),
        refused("工作簿內的計畫資料無法讀取", "the plan stored in the workbook is unreadable"),
        "ok",  # collect computes with its own plan, found by fingerprint
    ),
    Case(
        "wb_meta_sheet_deleted",
        "workbook",
        "the very hidden metadata sheet deleted",
        edit(lambda wb: wb.remove(wb[L.SHEET_META])),
        refused("找不到系統資料", "metadata sheet is missing"),
        refused("找不到系統資料", "metadata sheet is missing"),
        "foreign",
        "找不到系統資料",
    ),
    Case(
        "wb_foreign_workbook",
        "workbook",
        "somebody else's .xlsx",
        foreign_workbook,
        refused("這不是本系統產生的填報工作簿", "not a KPI Workbook template"),
        refused("這不是本系統產生的填報工作簿", "not a KPI Workbook template"),
        "foreign",
        "這不是本系統產生的填報工作簿",
    ),
    # -- file level ----------------------------------------------------------------------
    _unreadable(
        "file_empty", "an empty file (0 bytes)", lambda b, t: t.write_bytes(b""), ("檔案是空的", "empty")
    ),
    _unreadable(
        "file_truncated", "the first half of the zip", truncated, ("檔案不完整或已損毀", "truncated")
    ),
    _unreadable(
        "file_bytes_flipped",
        "64 bytes inverted in the middle of the zip",
        flipped,
        ("檔案不完整或已損毀", "damaged"),
    ),
    _unreadable(
        "file_bad_crc",
        "a part whose CRC does not match its data (the guard reads every part to its end)",
        bad_crc,
        ("檔案不完整或已損毀", "damaged"),
    ),
    _unreadable(
        "file_deflate_damaged",
        "a byte of a sheet's compressed data changed so that it no longer inflates",
        deflate_damaged,
        ("檔案不完整或已損毀", "damaged"),
    ),
    _unreadable(
        "file_unknown_compression",
        "a sheet part whose compression method is 99 (not one zip readers know)",
        header_edit(method=99),
        ("檔案不完整或已損毀", "damaged"),
    ),
    _unreadable(
        "file_zip_encrypted_member",
        "a sheet part flagged as zip-encrypted",
        header_edit(flag=0x1),
        ("檔案不完整或已損毀", "damaged"),
    ),
    _unreadable("file_csv_renamed", "a CSV renamed to .xlsx", csv_file, (*NOT_WORKBOOK, "CSV")),
    _unreadable(
        "file_xls_renamed",
        "an Excel 97-2003 .xls renamed to .xlsx",
        xls_file,
        ("舊版 Excel 97-2003", "legacy"),
        collect="unsupported",  # issue 23: the words and status of formats/kinds.py, as collect's inbox
    ),
    _unreadable(
        "file_ods_renamed",
        "an OpenDocument zip renamed to .xlsx",
        ods_file,
        ("缺少活頁簿內容", "no xl/workbook.xml"),
    ),
    _unreadable(
        "file_encrypted",
        "a workbook with a password to open",
        encrypted,
        ("設有開啟密碼", "password-encrypted"),
        button="ok",  # Excel asks for the password and shows the workbook
        button_source="base",
    ),
    _unreadable(
        "file_zip_bomb_size",
        f"a sheet part declaring {BOMB_MB} MB of zeros (about 300 KB on disk)",
        bomb_declared,
        ("解壓後過大", "uncompressed size"),
    ),
    _unreadable(
        "file_zip_bomb_ratio",
        "a sheet part padded with 3 MB of blanks (ratio far above 200)",
        bomb_ratio,
        ("壓縮比異常", "zip bomb"),
    ),
    Case(
        "file_zip_bomb_lying_size",
        "file",
        f"the metadata sheet followed by {BOMB_MB} MB of zeros that its header does not declare",
        bomb_lying,
        # calamine (check, calculate and collect alike since issue 24) reads on past the
        # declared size and fails: one verdict, naming the sheet
        refused("工作表內容損毀"),
        refused("工作表內容損毀"),
        "unreadable",
        "工作表內容損毀",
        button="ok",
        button_source="base",
    ),
    _unreadable(
        "file_billion_laughs",
        "entity expansion (billion laughs) declared in xl/workbook.xml",
        zip_edit({"xl/workbook.xml": _with_doctype(LAUGHS)}),
        DTD,
    ),
    _unreadable(
        "file_external_entity",
        "an external entity (file:///etc/passwd) used in a sheet",
        dtd_in_sheet(XXE, entity=b"&xxe;"),
        DTD,
    ),
    Case(
        "file_dtd_after_padding",
        "file",
        "billion laughs after a 2,000-byte comment (the guard scans the whole first megabyte)",
        dtd_in_sheet(LAUGHS, entity=b"&lol9;", pad=b"<!--" + b"-x" * 1000 + b"-->"),
        refused(*DTD),
        refused(*DTD),
        "unreadable",
        "",
        button="refused:這不是本系統產生的填報工作簿",
        button_source="unopenable",
    ),
    Case(
        "file_dtd_utf16",
        "file",
        "billion laughs in a sheet part encoded as UTF-16 (the guard looks for UTF-16 markers too)",
        dtd_in_sheet(LAUGHS, entity=b"&lol9;", utf16=True),
        refused(*DTD),
        refused(*DTD),
        "unreadable",
        "",
        button="refused:這不是本系統產生的填報工作簿",
        button_source="unopenable",
    ),
    _unreadable(
        "file_huge_dimension",
        'a sheet declaring <dimension ref="A1:XFD1048576"/>',
        sheet_xml(lambda x: re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>', x)),
        ("範圍過大", "far beyond any form"),
    ),
    _unreadable(
        "file_far_cell",
        "a value in cell XFD1048576",
        sheet_xml(
            lambda x: x.replace(
                b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>', 1
            )
        ),
        ("範圍過大", "far beyond any form"),
    ),
    Case(
        "file_vba",
        "file",
        "a macro-enabled workbook holding a VBA project",
        with_vba,
        ok("vba_present"),
        refused("含有巨集", "VBA macros"),
        "warnings",
        button="ok",  # the button writes values into the open workbook; macros are never run
        suffix=".xlsm",
    ),
    Case(
        "file_read_only",
        "file",
        "a read-only file (mode 0444)",
        edit(_set(NUMERATOR, 50)),
        ok("stale"),
        refused("唯讀", "read-only"),
        "warnings",
        button="ok",
        setup="readonly",
    ),
    Case(
        "file_locked_by_excel",
        "file",
        "a file open in Excel (~$ lock file beside it)",
        edit(_set(NUMERATOR, 50)),
        ok("stale"),
        refused("正由 Excel 或其他程式開啟中", "lock file"),
        "warnings",
        button="ok",
        setup="lock_excel",
    ),
    Case(
        "file_locked_by_libreoffice",
        "file",
        "a file open in LibreOffice (.~lock.…# beside it)",
        edit(_set(NUMERATOR, 50)),
        ok("stale"),
        refused("正由 Excel 或其他程式開啟中", "lock file"),
        "warnings",
        button="ok",
        setup="lock_libreoffice",
    ),
    Case(
        "file_disk_full_while_saving",
        "file",
        "the disk fills up half-way through writing the workbook",
        edit(_set(NUMERATOR, 50)),
        ok("stale"),
        refused("磁碟空間不足", "cannot save"),
        "warnings",
        button="ok",
        setup="enospc_save",
    ),
    Case(
        "file_disk_full_on_replace",
        "file",
        "the final rename fails (ENOSPC from os.replace)",
        edit(_set(NUMERATOR, 50)),
        ok("stale"),
        refused("磁碟空間不足", "cannot save"),
        "warnings",
        button="ok",
        setup="enospc_replace",
    ),
    # -- issue 23 --------------------------------------------------------------------------
    Case(
        "cell_date_serial_in_count",
        "cell",
        "2018/6/30 typed in LibreOffice into a count formatted 0: the number 43,281 against ≤135",
        set_input(SAFETY, 43_281),
        ok("date_serial", "stale", where=SAFETY_CELL),
        ok("date_serial", where=SAFETY_CELL),
        "warnings",
    ),
    _unreadable(
        "file_strict_ooxml",
        "saved by Excel as Strict Open XML Spreadsheet",
        strict_ooxml,
        ("Strict Open XML", "Strict Open XML"),
        collect="unsupported",
        button="ok",  # Excel opens it and shows the workbook
        button_source="base",
    ),
    _unreadable(
        "file_flat_odf",
        "saved by LibreOffice as Flat XML ODF Spreadsheet (.fods)",
        flat_odf,
        ("扁平 ODF", "flat XML ODF"),
        collect="unsupported",
        suffix=".fods",
    ),
    _unreadable(
        "file_csv",
        "a CSV export named .csv",
        csv_file,
        ("CSV 純文字檔不含範本內容", "a CSV holds no template"),
        collect="unsupported",
        suffix=".csv",
    ),
    _unreadable(
        "file_xlsb",
        "an Excel binary workbook (.xlsb)",
        xlsb_file,
        ("Excel 二進位活頁簿 (.xlsb)", "Excel binary workbook"),
        collect="unsupported",
        suffix=".xlsb",
    ),
    Case(
        "file_sparse_huge",
        "file",
        "a 60 MB file (sparse; the issue's was 1.5 GB): refused by its size before it is read",
        sparse_huge,
        refused("檔案過大", "too large"),
        refused("檔案過大", "too large"),
        "unreadable",  # read_submission is given the bytes (damaged); the inbox says 過大 (test_collect_inbox)
        button_source="unopenable",
        button="refused:這不是本系統產生的填報工作簿",
    ),
    _unreadable(
        "file_ods_filled_down",
        "a 60 KB .ods whose added sheet fills one value down 990,000 rows × 2 (peaked at 390 MB)",
        ods_filled_down,
        ("範圍過大", "far beyond any form"),
        suffix=".ods",
    ),
    Case(
        "file_big5_name",
        "file",
        "a file name in Big5 bytes, as a Windows share or a zip tool leaves it (not UTF-8)",
        edit(_set(NUMERATOR, 50)),
        ok("stale"),
        ok(),
        "warnings",
        name=os.fsdecode("填報-秘書處.xlsx".encode("cp950")),
    ),
]


def case(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


# -- building -------------------------------------------------------------------------------


def build_base(folder: Path) -> Path:
    """The template filled with the sample counts (and a volunteer count), calculated."""
    plan = load_plan()
    scope = L.Scope(plan, unit="秘書處", period_id="H1", data_year=plan.sample.year)
    path = write_template(scope, folder / "base.xlsx")
    book = FileBook(path)
    entries = {**plan.sample.entries, "volunteer_growth": {"current": 230, "previous": 200}}
    fill(book, scope, {plan.sample.period: entries})
    names = book.names()
    for name, text in (
        ("NOTE_procurement_pass_rate_H1", "另於7月辦理補訓。"),
        (PROGRESS, 50),
        ("DESC_P1_1_H1", "依進度辦理"),
    ):
        book.write(*names[name], [[text]])
    calculate(book, now=NOW)
    book.save()
    return path


def lock_file(path: Path, kind: str) -> Path:
    """The lock file Excel (``~$name``) or LibreOffice (``.~lock.name#``) keeps beside an open file."""
    if kind == "lock_excel":
        lock = path.with_name("~$" + path.name)
        user = "承辦人".encode("utf-16-le")
        lock.write_bytes(bytes([len("承辦人")]) + b"\0" + user.ljust(108, b"\0") + b"\x20\x00" * 27)
    else:
        lock = path.with_name(f".~lock.{path.name}#")
        lock.write_text(f"承辦人,kpi-pc,kpi-pc,{NOW:%d.%m.%Y %H:%M},file:///home/kpi;", encoding="utf-8")
    return lock


@dataclass(frozen=True)
class Corpus:
    """The built corpus: the base workbook and one folder per case under ``cases``."""

    root: Path
    base: Path
    cases: Path
    paths: dict[str, Path]  # case id → workbook


def build_corpus(root: Path) -> Corpus:
    """Write the base to ``root/base.xlsx`` and every case into ``root/cases/<case id>/``."""
    root.mkdir(parents=True, exist_ok=True)
    base = build_base(root)
    cases = root / "cases"
    paths: dict[str, Path] = {}
    slow = ThreadPoolExecutor(1)  # LibreOffice runs as its own process while the rest is built
    pending = []
    for c in CASES:
        folder = cases / c.id
        folder.mkdir(parents=True)
        path = folder / c.filename
        if c.build in SLOW_BUILDS:
            pending.append(slow.submit(c.build, base, path))
        else:
            c.build(base, path)
        if c.setup in ("lock_excel", "lock_libreoffice"):
            lock_file(path, c.setup)
        if c.setup == "readonly":
            path.chmod(0o444)
        paths[c.id] = path
    for job in pending:
        job.result()
    slow.shutdown()
    return Corpus(root, base, cases, paths)


# -- reading back -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadBack:
    """What a workbook file holds, read once with openpyxl."""

    inputs: dict[str, tuple[str, str, str | None]]  # IN_/NOTE_/PROG_/DESC_ → (type, repr, data type)
    sentences: dict[str, Any]  # TXT_ → the generated analysis sentence
    results_without_formula: list[str]  # OUT_ names whose cell holds no formula
    unprotected: list[str]  # form sheets without sheet protection
    meta_state: str | None  # sheet state of the metadata sheet


def read_back(path: Path) -> ReadBack:
    """Every input cell (value type, repr and data type), sentence, formula and protection."""
    wb = load_workbook(path)
    cells: dict[str, Any] = {}
    for name, dn in wb.defined_names.items():
        try:
            (sheet, address), *_ = list(dn.destinations)
            cells[name] = wb[sheet][address.replace("$", "")]
        except (ValueError, KeyError):
            continue
    return ReadBack(
        {
            n: (type(c.value).__name__, repr(c.value), c.data_type)
            for n, c in cells.items()
            if n.startswith(INPUT_PREFIXES)
        },
        {n: c.value for n, c in cells.items() if n.startswith("TXT_")},
        [n for n, c in cells.items() if n.startswith("OUT_") and not str(c.value).startswith("=")],
        [ws.title for ws in wb.worksheets if ws.title != L.SHEET_META and not ws.protection.sheet],
        wb[L.SHEET_META].sheet_state if L.SHEET_META in wb.sheetnames else None,
    )


# -- what Excel shows: the payload of the button -------------------------------------------


def _excel_number(v: Any) -> Any:
    """An input as the template's formulas see it: ISNUMBER() is true for numbers and dates only."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, (dt.datetime, dt.date)):
        return to_excel(v)
    return None


def excel_view(path: Path, dst: Path, shows: Mapping[str, Any] = {}) -> Path:
    """A copy of ``path`` whose formula cells hold what Excel would display.

    The result formulas of the template compute the engine's tree on inputs that pass
    ``ISNUMBER()`` (the LibreOffice oracle tests hold them equal), so each result cell
    gets the engine's value for the inputs as Excel sees them; every other formula is
    blanked.  ``shows`` overrides what Excel displays for some inputs (a formula's value).
    """
    book = FileBook(path)
    wb = book.wb
    cells: dict[str, Any] = {}
    try:
        scope, _meta = resolve_scope(book)
        names = book.names()
        entries: dict[str, dict[str, dict[str, Any]]] = {}
        for ind, p, role, name in scope.input_names():
            sheet, row, col = names[name]
            raw = shows.get(name, wb[sheet].cell(row, col).value)
            entries.setdefault(p.id, {}).setdefault(ind.id, {})[role] = _excel_number(raw)
        state: dict[tuple[str, str], dict[str, Any]] = {}
        for ind in scope.indicators:  # what the last calculate recorded, as the 檢核 formulas see it
            for p in scope.periods:
                record = state.setdefault((ind.id, p.id), {})
                sheet, row, col = names[L.calc_name(ind, p)]
                record[CALC_REF] = wb[sheet].cell(row, col).value
                for spec in ind.inputs:
                    sheet, row, col = names[L.snapshot_name(ind, p, spec.role)]
                    record[SNAP_PREFIX + spec.role] = wb[sheet].cell(row, col).value
        ev = evaluate(scope.plan, entries, targets=scope.targets, year=scope.year, state=state)
        for r in ev.results:
            ind, p = scope.plan.indicator(r.indicator), scope.plan.period(r.period)
            for step, value in r.cells.items():
                name = L.step_name(ind, p, step)
                if name in names:
                    cells[name] = float(value) if hasattr(value, "is_finite") else value
        for name, value in shows.items():
            cells[name] = value
    except Exception:  # a workbook calculate refuses (or trips on): Excel shows formulas uncomputed
        names = {}
    held = {names[n]: v for n, v in cells.items() if n in names}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if not (isinstance(c.value, str) and c.value.startswith("=")):
                    continue  # constants show as they are, an overwritten result too
                shown = held.get((ws.title, c.row, c.column))
                c.value = None if shown in ("", None) else shown
    wb.save(dst)
    return dst
