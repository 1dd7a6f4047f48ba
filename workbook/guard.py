"""Checks that run on a file's bytes before any parser sees them.

A workbook is a zip of XML parts.  Before openpyxl or calamine open one we make
sure it is a zip at all (not an empty file, a CSV or a legacy/encrypted OLE file),
that its declared uncompressed size and compression ratios are sane (zip bombs),
that no XML part declares a DTD (billion laughs, external entities), and that no
sheet claims a cell far beyond any real form (huge dimensions).  Each refusal is a
:class:`~workbook.files.WorkbookFileError` in zh-TW and English.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from .files import WorkbookFileError

#: Total declared uncompressed size of all parts.
MAX_TOTAL_BYTES = 64 * 1024 * 1024
#: Uncompressed ÷ compressed size of any one part; real sheets stay far below.
MAX_RATIO = 200
#: Parts in one package.
MAX_PARTS = 5000
#: Rows × columns of the area a sheet's cells span.
MAX_CELLS = 2_000_000
#: Bytes of each XML part inspected for a DTD (it must precede the root element).
HEAD_BYTES = 1024

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
_ROW = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="([0-9]{1,7})"')
_WIDE = re.compile(rb' r="[A-Z]{3}[0-9]')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="(?:[A-Z]+[0-9]+:)?([A-Z]{1,3})([0-9]{1,7})"')


@dataclass(frozen=True)
class PackageInfo:
    """What the guard learnt about a package that passed."""

    has_vba: bool
    parts: int
    total_bytes: int


def _refuse(zh: str, en: str, name: str | None) -> WorkbookFileError:
    return WorkbookFileError(zh, en, path=name)


def _col(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def inspect(data: bytes, name: str | None = None) -> PackageInfo:
    """Refuse bytes that are not a safe, sane workbook package; describe the rest."""
    if not data:
        raise _refuse("檔案是空的（0 位元組）", "the file is empty (0 bytes)", name)
    if data.startswith(_OLE):
        if _ENCRYPTED in data:
            raise _refuse(
                "活頁簿設有開啟密碼（已加密），請移除密碼後再寄送",
                "the workbook is password-encrypted; remove the password and send it again",
                name,
            )
        raise _refuse(
            "這是舊版 Excel 97-2003 (.xls) 檔，請以 Excel 另存為 .xlsx",
            "this is a legacy Excel 97-2003 (.xls) file; save it as .xlsx",
            name,
        )
    if not data.startswith(b"PK"):
        raise _refuse(
            "不是 Excel 活頁簿（可能是 CSV、文字或其他格式改了副檔名）",
            "not an Excel workbook (perhaps a CSV or other file renamed to .xlsx)",
            name,
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
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
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise _refuse(
            "檔案不是 Excel 活頁簿（缺少活頁簿內容）", "not an Excel workbook (no xl/workbook.xml)", name
        )
    try:
        for info in infos:
            if info.filename.endswith((".xml", ".rels", ".vml")):
                _check_xml(archive, info, name)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # bad CRC, truncated member
        raise _refuse("檔案不完整或已損毀", f"the file is damaged ({exc})", name) from exc
    return PackageInfo("xl/vbaProject.bin" in names, len(infos), total)


def _check_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str | None) -> None:
    with archive.open(info) as fh:
        head = fh.read(HEAD_BYTES)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise _refuse(
            f"檔案內容 {info.filename} 含有不允許的 XML 宣告（DTD），拒絕開啟",
            f"part {info.filename} declares a DTD (entity expansion or external entities)",
            name,
        )
    if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
        _check_extent(archive, info, name)


def _check_extent(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str | None) -> None:
    """The area from A1 to the farthest cell (or declared dimension) must stay small."""
    body = archive.read(info)
    # Fast path: rows from the few <row> tags, and no cell beyond column ZZ (702) — then the
    # area is bounded without looking at every cell.  Otherwise scan every cell reference.
    dims = _DIMENSION.findall(body)
    rows = max([int(r) for r in _ROW.findall(body)] + [int(r) for _, r in dims], default=0)
    cols = max([_col(c) for c, _ in dims], default=0)
    if rows * max(cols, 702) <= MAX_CELLS and not _WIDE.search(body):
        return
    refs = dims + _CELL_REF.findall(body)
    if not refs:
        return
    rows = max(int(r) for _, r in refs)
    cols = _col(max((c for c, _ in refs), key=lambda c: (len(c), c)))
    if rows * cols > MAX_CELLS:
        raise _refuse(
            f"工作表 {info.filename} 範圍過大（{rows} 列 × {cols} 欄），不像填報工作簿",
            f"sheet part {info.filename} spans {rows} rows × {cols} columns, far beyond any form",
            name,
        )
