"""Checks that run on a file's bytes before any parser sees them.

A workbook is a zip of XML parts.  Before openpyxl or calamine open one we make
sure it is a zip at all (not an empty file, a CSV or a legacy/encrypted OLE file),
that its declared uncompressed size and compression ratios are sane (zip bombs),
that no XML part declares a DTD (billion laughs, external entities), and that no
sheet claims a cell far beyond any real form (huge dimensions).  Each refusal is a
:class:`~workbook.formats.files.WorkbookFileError` in zh-TW and English.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from workbook.formats.cells import COLUMN, ROW, column_index
from workbook.formats.files import UnsupportedFormatError, WorkbookFileError
from workbook.formats.kinds import STRICT_OOXML, UNSUPPORTED, is_strict_ooxml, named_file

#: Total declared uncompressed size of all parts.
MAX_TOTAL_BYTES = 64 * 1024 * 1024
#: Uncompressed ÷ compressed size of any one part; real sheets stay far below.
MAX_RATIO = 200
#: Parts in one package.
MAX_PARTS = 5000
#: Rows × columns of the area a sheet's cells span.
MAX_CELLS = 2_000_000
#: The same for an .ods sheet's filled cells, repeats counted out.  A few bytes of
#: ``table:number-rows-repeated`` fill an area that python-calamine then builds cell by cell
#: (~160 bytes each): 1.98 million cells (43 KB on disk) peaked at 390 MB in ``kpi check``,
#: 1 million at 230 MB.  A staff sheet of 20,000 rows × 26 columns (520,000) still fits.
MAX_ODS_CELLS = 750_000
#: Parts are inflated this much at a time, so an understated size cannot exhaust memory.
CHUNK_BYTES = 1024 * 1024
#: Where a sheet part's <dimension> may stand: before the cells, near the start.
DIMENSION_WINDOW = 64 * 1024
#: Bytes carried from one chunk to the next so a cell reference split between them is seen.
OVERLAP = 128
_DTD_MARKERS = tuple(
    text.encode(enc) for text in ("<!DOCTYPE", "<!ENTITY") for enc in ("ascii", "utf-16-le", "utf-16-be")
)


#: The start of the root element in UTF-8 (or any ASCII-compatible encoding): a DTD precedes it.
_ROOT = re.compile(rb"<[A-Za-z_]")


def _has_dtd(chunk: bytes) -> bool:
    """Does the first chunk of an XML part declare a DTD?

    A DTD can stand only in the prolog, before the root element, so only the bytes
    before the first element's ``<`` are searched (a few dozen in a real part, where
    searching the whole chunk for ``<!`` was a tenth of collect's time).  UTF-16 text
    has no ASCII ``<`` followed by a letter: then the whole chunk is searched.
    """
    if chunk[:2] in (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<"):
        return any(marker in chunk for marker in _DTD_MARKERS)
    root = _ROOT.search(chunk)
    prolog = chunk[: root.start()] if root else chunk
    return b"<!" in prolog and any(marker in prolog for marker in _DTD_MARKERS)


_ZIP_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")
_CELL_REF = re.compile(rf'<(?:\w+:)?c\b[^>]*?\br="({COLUMN})({ROW})"'.encode())
_BIG_ROW = re.compile(rb' r="[A-Z]{0,3}([0-9]{4,7})"')
#: A cell in column AA or beyond (one pass: a literal prefix keeps the search at memchr speed).
_WIDE = re.compile(rb' r="[A-Z]{2,3}[0-9]')
#: A column from AA or a row from 1000 on (either makes the detailed passes worth running).
_FAR = re.compile(rb' r="(?:[A-Z]{2,3}[0-9]|[A-Z]?[0-9]{4})')
_DIMENSION = re.compile(rf'<(?:\w+:)?dimension\b[^>]*?\bref="(?:[A-Z]+[0-9]+:)?({COLUMN})({ROW})"'.encode())


#: Small parts readers want after the guard: kept from its pass, so none inflates them again.
KEPT_PARTS = (
    "xl/workbook.xml",
    "docProps/core.xml",
    "docProps/app.xml",
    "_rels/.rels",
    "xl/_rels/workbook.xml.rels",
)
#: A kept part is at most this large (a workbook part with a few thousand names is ~1 MB).
MAX_KEPT_BYTES = 8 * 1024 * 1024
#: Sheet parts up to this size are kept too (a form's are tens of KB): collect's typed-formula
#: check reads them from here instead of inflating them a second time.
MAX_KEPT_SHEET_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PackageInfo:
    """What the guard learnt about a package that passed."""

    has_vba: bool
    parts: int
    #: The bytes of the :data:`KEPT_PARTS` the package has (an .ods: ``content.xml``), verified
    #: by the guard's read.
    kept: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)
    #: An .ods content's quick scan (:class:`workbook.formats.ods_scan.ContentScan`), when it could be trusted.
    scanned: Any = field(default=None, compare=False, repr=False)


#: The refusals of bytes that are no zip at all (zh-TW, English).
_NOT_XLSX = (
    "不是 Excel 活頁簿（可能是 CSV、文字或其他格式改了副檔名）",
    "not an Excel workbook (perhaps a CSV or other file renamed to .xlsx)",
)
_NOT_ODS = (
    "不是 ODF 試算表（.ods）檔案（可能是其他格式改了副檔名）",
    "not an OpenDocument spreadsheet (perhaps another file renamed to .ods)",
)


def _refuse(zh: str, en: str, name: str | None) -> WorkbookFileError:
    return WorkbookFileError(zh, en, path=name)


def _open_package(
    data: bytes, name: str | None, *, not_zip: tuple[str, str]
) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo], set[str]]:
    """Open a zip package (.xlsx or .ods): its archive, parts and part names.

    Bytes that are no zip at all are refused with ``not_zip`` (zh-TW, English); a damaged
    package or a zip bomb is refused by its directory.
    """
    if not data.startswith(b"PK"):
        raise _refuse(*not_zip, name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise _refuse(
            "檔案不完整或已損毀（壓縮格式錯誤）", f"the file is truncated or damaged ({exc})", name
        ) from exc
    if len(infos) > MAX_PARTS:
        raise _refuse("檔案內容過多，不像填報工作簿", f"too many parts ({len(infos)})", name)
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise _refuse(
            f"檔案解壓後過大（{total // 1048576} MB），拒絕開啟",
            f"declared uncompressed size {total} bytes exceeds {MAX_TOTAL_BYTES}",
            name,
        )
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise _refuse(
                f"檔案內容 {info.filename} 壓縮比異常，疑似壓縮炸彈，拒絕開啟",
                f"part {info.filename} has a suspicious compression ratio (zip bomb)",
                name,
            )
    return archive, infos, {i.filename for i in infos}


def inspect(data: bytes, name: str | None = None) -> PackageInfo:
    """Refuse bytes that are not a safe, sane workbook package; describe the rest."""
    if not data:
        raise _refuse("檔案是空的（0 位元組）", "the file is empty (0 bytes)", name)
    if (kind := named_file(name, data[:8192])) is not None:
        raise UnsupportedFormatError(*kind, path=name)
    if data.startswith(_OLE):
        if _ENCRYPTED in data:
            raise _refuse(
                "活頁簿設有開啟密碼（已加密），請移除密碼後再寄送",
                "the workbook is password-encrypted; remove the password and send it again",
                name,
            )
        raise UnsupportedFormatError(*UNSUPPORTED[".xls"], path=name)
    archive, infos, names = _open_package(data, name, not_zip=_NOT_XLSX)
    if "xl/workbook.xml" not in names:
        raise _refuse(
            "檔案不是 Excel 活頁簿（缺少活頁簿內容）", "not an Excel workbook (no xl/workbook.xml)", name
        )
    kept: dict[str, bytes] = {}
    try:
        for info in infos:
            keep = (info.filename in KEPT_PARTS and info.file_size <= MAX_KEPT_BYTES) or (
                info.filename.startswith("xl/worksheets/sheet") and info.file_size <= MAX_KEPT_SHEET_BYTES
            )
            body = _check_part(archive, info, name, keep=keep, data=data)
            if body is not None:
                kept[info.filename] = body
    except _ZIP_ERRORS as exc:  # bad CRC, truncated or damaged member, unknown method, encrypted member
        raise _refuse(
            "檔案不完整或已損毀", f"the file is damaged ({type(exc).__name__}: {exc})", name
        ) from exc
    if is_strict_ooxml(kept.get("xl/workbook.xml", b"")):
        raise UnsupportedFormatError(*STRICT_OOXML, path=name)
    return PackageInfo("xl/vbaProject.bin" in names, len(infos), kept)


def _check_part(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str | None,
    *,
    keep: bool = False,
    data: bytes | None = None,
    whole: bool = False,
) -> bytes | None:
    """Read one part to its end in bounded chunks: that verifies its CRC and real size.

    XML parts must not declare a DTD; sheet parts must not span an absurd area.  With
    ``keep`` the part's bytes are returned.  ``data``: the package's bytes, for the quick
    read of a small, plain part (:func:`_inflated`), or with ``whole`` of any size (a part
    kept whole anyway: an .ods ``content.xml``).
    """
    is_xml = info.filename.endswith((".xml", ".rels", ".vml"))
    sheet = is_xml and info.filename.startswith("xl/worksheets/")
    extent = _Extent()
    seen = 0
    tail = b""
    chunks: list[bytes] = []
    for chunk in _chunks(archive, info, data, whole):
        if keep:
            chunks.append(chunk)
        seen += len(chunk)
        if seen > info.file_size:  # zipfile stops at the declared size; this is belt and braces
            raise _refuse("檔案內容大小與宣告不符", f"part {info.filename} is larger than declared", name)
        # A DTD must precede the root element, so it sits in the first chunk, in any encoding;
        # text content would carry "&lt;!DOCTYPE", never the markup itself.
        if is_xml and seen == len(chunk) and _has_dtd(chunk[:CHUNK_BYTES] if whole else chunk):
            raise _refuse(
                f"檔案內容 {info.filename} 含有不允許的 XML 宣告（DTD），拒絕開啟",
                f"part {info.filename} declares a DTD (entity expansion or external entities)",
                name,
            )
        if sheet:
            extent.scan(tail + chunk, first=seen == len(chunk))
            tail = chunk[-OVERLAP:]
    if sheet and extent.cells() > MAX_CELLS:
        raise _refuse(
            f"工作表 {info.filename} 範圍過大（{extent.rows} 列 × {extent.cols} 欄），不像填報工作簿",
            f"sheet part {info.filename} spans {extent.rows} rows × {extent.cols} columns, far beyond any form",
            name,
        )
    return b"".join(chunks) if keep else None


def _chunks(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, data: bytes | None, big: bool = False
) -> Iterator[bytes]:
    """A part's bytes in chunks of :data:`CHUNK_BYTES`, CRC and size verified by the end; with
    ``big``, a part of any size in one (its declared size is bounded by the checks before)."""
    whole = None
    if data is not None and info.file_size <= CHUNK_BYTES:
        whole = _inflated(data, info)
    elif data is not None and big:
        # A 200-indicator form's content.xml (12 MB) in 1 MB chunks through zipfile took 19 ms;
        # at once, with zlib-ng (worth loading for a part this size), 2 ms.
        from workbook.formats.zips import fast_zlib

        whole = _inflated(data, info, fast_zlib())
    if whole is not None:  # one chunk, as zipfile's first read would give it (or all of it)
        if whole:
            yield whole
        return
    with archive.open(info) as fh:
        while chunk := fh.read(CHUNK_BYTES):
            yield chunk


#: What :func:`_inflated` inflates and checksums with: zlib, or zlib-ng after :func:`use_zlib_ng`.
_zlib: Any = zlib
_ZLIB_ERRORS: tuple[type[Exception], ...] = (zlib.error,)


def use_zlib_ng() -> None:
    """Inflate small parts with zlib-ng from now on in this process, when it is installed.

    It inflates and checksums a form's parts 2.5 times as fast as zlib (0.19 against 0.47 ms a
    return; the guard reads every part), but loading it costs ~2 ms: worth it for a process that
    reads many packages (collect), not for one ``kpi calculate``.  The same bytes either way.
    """
    global _zlib, _ZLIB_ERRORS
    from workbook.formats.zips import fast_zlib

    _zlib = fast_zlib()
    _ZLIB_ERRORS = (zlib.error, _zlib.error)


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
#: Flag bits zipfile handles itself (encryption, compressed patch data, strong encryption).
_SPECIAL_FLAGS = 0x01 | 0x20 | 0x40


def _inflated(data: bytes, info: zipfile.ZipInfo, inflater: Any = None) -> bytes | None:
    """A small part inflated straight from the package's bytes, or None to let zipfile read it.

    zipfile's own read costs a file object, a header read and a decompressor per part, about
    as much as the inflating itself for a form's twenty small parts (a tenth of a return's
    read).  Only the plain case is taken here — stored or deflated, not encrypted, the local
    header's name equal to the directory's, exactly the declared size, the stream complete and
    its CRC equal to the directory's; anything else returns None and zipfile reads the part as
    before, so every refusal keeps its words.  ``inflater``: zlib's interface, else :data:`_zlib`.
    """
    z, errors = (_zlib, _ZLIB_ERRORS) if inflater is None else (inflater, (zlib.error, inflater.error))
    if info.flag_bits & _SPECIAL_FLAGS or info.compress_type not in (
        zipfile.ZIP_STORED,
        zipfile.ZIP_DEFLATED,
    ):
        return None
    start = info.header_offset
    try:
        head = _LOCAL_HEADER.unpack_from(data, start)
    except struct.error:
        return None
    if head[0] != b"PK\x03\x04":
        return None
    flags, name_len, extra_len = head[3], head[10], head[11]
    raw_name = data[start + 30 : start + 30 + name_len]
    try:
        local_name = raw_name.decode("utf-8" if flags & 0x800 else "cp437")
    except UnicodeDecodeError:
        return None
    if local_name != info.orig_filename:
        return None
    begin = start + 30 + name_len + extra_len
    packed = memoryview(data)[begin : begin + info.compress_size]
    end = getattr(info, "_end_offset", None)  # zipfile ≥ 3.12 refuses entries overlapping the next
    if len(packed) != info.compress_size or (end is not None and begin + info.compress_size > end):
        return None
    if info.compress_type == zipfile.ZIP_STORED:
        body = bytes(packed)
    else:
        stream = z.decompressobj(-15)
        try:
            body = stream.decompress(packed, info.file_size + 1)
        except errors:
            return None
        if not stream.eof:
            return None
    if len(body) != info.file_size or z.crc32(body) != info.CRC:
        return None
    return body


class _Extent:
    """The farthest row and column a sheet part mentions, gathered chunk by chunk."""

    def __init__(self) -> None:
        self.rows = self.cols = 0

    def scan(self, body: bytes, first: bool) -> None:
        # The dimension element precedes sheetData; any r="…" (a row's or a cell's, whatever the
        # attribute order or namespace prefix) gives a row number.

        found = _DIMENSION.search(body, 0, DIMENSION_WINDOW) if first else None
        dims = [found.groups()] if found else []
        # Column letters are read exactly only when a chunk holds a two- or three-letter column;
        # otherwise every cell is within A–Z.  So a tall, narrow sheet staff added (20,000 rows
        # × 10 columns) costs what it holds, while a far corner is still seen.
        # Rows below 1000 cannot reach MAX_CELLS within 2,000 columns, so only 4-digit rows are read.
        # One pass first: a form's sheets have neither, and then nothing more is read.
        far = _FAR.search(body) is not None
        wide = far and _WIDE.search(body)
        refs = dims + (_CELL_REF.findall(body) if wide else [])
        big = _BIG_ROW.findall(body) if far else []
        self.rows = max([self.rows, 999, *map(int, big), *(int(r) for _, r in dims)])
        self.cols = max(self.cols, 26)
        if refs:
            self.cols = max(self.cols, column_index(max((c for c, _ in refs), key=lambda c: (len(c), c))))

    def cells(self) -> int:
        return self.rows * self.cols


# -- OpenDocument spreadsheets (.ods) ------------------------------------------------------

ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_MANIFEST = "urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def inspect_ods(data: bytes, name: str | None = None) -> PackageInfo:
    """Refuse bytes that are not a safe, sane OpenDocument spreadsheet; describe the rest.

    The same limits as for an .xlsx (size, compression ratio, parts, no DTD in any XML
    part, every part's CRC), plus what ODF adds: the ``mimetype`` must name a
    spreadsheet, ``META-INF/manifest.xml`` must parse and must not declare encryption,
    and ``content.xml`` must not repeat filled cells (``table:number-rows-repeated``,
    ``number-columns-repeated``) over an area far beyond any form (:data:`MAX_ODS_CELLS`).
    """
    if not data:
        raise _refuse("檔案是空的（0 位元組）", "the file is empty (0 bytes)", name)
    if (kind := named_file(name, data[:8192])) is not None:
        raise UnsupportedFormatError(*kind, path=name)
    archive, infos, names = _open_package(data, name, not_zip=_NOT_ODS)
    kept: dict[str, bytes] = {}
    try:
        for info in infos:
            keep = info.filename == "content.xml" and info.file_size <= MAX_TOTAL_BYTES
            body = _check_part(archive, info, name, keep=keep, data=data, whole=keep)
            if body is not None:
                kept[info.filename] = body
        mimetype = archive.read("mimetype").strip() if "mimetype" in names else b""
        if mimetype != ODS_MIMETYPE:
            raise _refuse(
                "不是 ODF 試算表（.ods）：文件類型不符（可能是文字文件或簡報）",
                f"not an OpenDocument spreadsheet (mimetype {mimetype[:80]!r})",
                name,
            )
        _check_manifest(archive, names, name)
        if "content.xml" not in names:
            raise _refuse("ODF 試算表缺少內容（content.xml）", "the ODF package has no content.xml", name)
        scanned = _check_extent(kept["content.xml"], name) if "content.xml" in kept else None
        if scanned is None:
            _check_repeats(archive, name)
    except _ZIP_ERRORS as exc:
        raise _refuse(
            "檔案不完整或已損毀", f"the file is damaged ({type(exc).__name__}: {exc})", name
        ) from exc
    macros = any(n.startswith(("Basic/", "Scripts/")) for n in names)
    return PackageInfo(macros, len(infos), kept, scanned)


#: Whitespace before a table element or a paragraph, or after a paragraph: a content.xml
#: pretty-printed by some tool.  LibreOffice reads it; python-calamine 0.9 does not ("Cannot
#: detect file format" before a cell or a named range) or reads it into the cell's text.
#: Neither stands inside a paragraph, so no text staff typed is touched.
_TABLE_INDENT = re.compile(rb">\s+<(?=/?table:|text:[ph][\s>/])")
_AFTER_PARAGRAPH = re.compile(rb"(</text:[ph]>)\s+(?=<)")


def without_indentation(data: bytes, content: bytes | None = None) -> bytes | None:
    """The .ods package ``data`` with the whitespace before table elements taken out of its
    ``content.xml`` (``content``: those bytes, when the guard kept them), every other member
    as it was; None when there is none to take out."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = content if content is not None else archive.read("content.xml")
        compact = _AFTER_PARAGRAPH.sub(rb"\1", _TABLE_INDENT.sub(b"><", xml))
        if len(compact) == len(xml):
            return None
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as rewritten:
            for info in archive.infolist():
                body = compact if info.filename == "content.xml" else archive.read(info.filename)
                member = zipfile.ZipInfo(info.filename, info.date_time)
                member.compress_type, member.external_attr = info.compress_type, info.external_attr
                rewritten.writestr(member, body)
    return out.getvalue()


def _check_extent(content: bytes, name: str | None) -> Any:
    """The repeats check on a quick scan of the tags (:mod:`workbook.formats.ods_scan`); the scan,
    or None when the content must be parsed properly instead (:func:`_check_repeats`)."""
    from workbook.formats.ods_scan import scan

    scanned = scan(content)
    for table in scanned.tables if scanned else ():
        if table.rows * table.cols > MAX_ODS_CELLS:
            raise _too_large(table.name, table.rows, table.cols, name)
    return scanned


def _too_large(table: str, rows: int, cols: int, name: str | None) -> WorkbookFileError:
    return _refuse(
        f"工作表「{table}」範圍過大（{rows} 列 × {cols} 欄），不像填報工作簿",
        f"sheet {table!r} fills {rows} rows × {cols} columns "
        "(table:number-rows-repeated / number-columns-repeated), far beyond any form",
        name,
    )


def _check_manifest(archive: zipfile.ZipFile, names: set[str], name: str | None) -> None:
    """The manifest must parse (defusedxml) and must not describe encrypted parts."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    broken = _refuse(
        "ODF 檔案的清單（META-INF/manifest.xml）缺漏或損毀，請以 LibreOffice 開啟後重新儲存",
        "the ODF manifest (META-INF/manifest.xml) is missing or broken; open and save the file again in LibreOffice",
        name,
    )
    if "META-INF/manifest.xml" not in names:
        raise broken
    try:
        root = ElementTree.fromstring(archive.read("META-INF/manifest.xml"))
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise broken from exc
    if root.tag != f"{{{_MANIFEST}}}manifest":
        raise broken
    if root.find(f".//{{{_MANIFEST}}}encryption-data") is not None:
        raise _refuse(
            "ODF 試算表設有開啟密碼（已加密），請移除密碼後再寄送",
            "the OpenDocument spreadsheet is password-encrypted; remove the password and send it again",
            name,
        )


def _check_repeats(archive: zipfile.ZipFile, name: str | None) -> None:
    """Refuse filled cells repeated over an absurd area (a few bytes that expand to millions).

    LibreOffice itself repeats *empty* rows and cells to the sheet's end, so only cells
    with content (a value type or a paragraph) count; per sheet, the area from A1 to the
    farthest filled cell must stay within :data:`MAX_ODS_CELLS`.
    """
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    cell_tags = (f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell")
    table, row, col, rows, cols = "", 1, 1, 0, 0
    row_end = 0
    try:
        with archive.open("content.xml") as fh:
            for event, elem in ElementTree.iterparse(fh, events=("start", "end")):
                tag = elem.tag
                if event == "start":
                    if tag == f"{_TABLE}table":
                        table, row, rows, cols = elem.get(f"{_TABLE}name", ""), 1, 0, 0
                    elif tag == f"{_TABLE}table-row":
                        col, row_end = 1, 0
                    continue
                if tag in cell_tags:
                    rep = int(elem.get(f"{_TABLE}number-columns-repeated", "1"))
                    if elem.get(f"{_OFFICE}value-type") or len(elem):
                        row_end = col + rep - 1
                    col += rep
                    elem.clear()
                elif tag == f"{_TABLE}table-row":
                    rep = int(elem.get(f"{_TABLE}number-rows-repeated", "1"))
                    if row_end:
                        rows, cols = row + rep - 1, max(cols, row_end)
                        if rows * cols > MAX_ODS_CELLS:
                            raise _too_large(table, rows, cols, name)
                    row += rep
                    elem.clear()
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise _refuse(
            "ODF 試算表內容（content.xml）損毀或含不允許的 XML 宣告",
            f"content.xml is damaged or declares entities ({type(exc).__name__}: {exc})",
            name,
        ) from exc
    except ValueError as exc:  # a repeat count that is not a number
        raise _refuse("ODF 試算表內容（content.xml）損毀", f"content.xml is damaged ({exc})", name) from exc
