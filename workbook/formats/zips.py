"""The one zip rewriter: a package with a few members replaced, every other byte copied.

Used for every package this product edits (.xlsx and .ods patches, the .ods fix-ups after
LibreOffice, the very hidden ``_kpi`` sheet in an .xlsx LibreOffice stored, the Excel add-in
built from xlwings' template).  Bytes in, bytes out: saving them is
:func:`workbook.formats.files.save_atomic`'s job.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Collection, Mapping, Sequence
from typing import Any


def fast_zlib() -> Any:
    """zlib-ng when installed (the same deflate format and checksums, 2–9 times as fast), else
    zlib (LibreOffice's and Pyodide's Python).  The one place that makes this choice."""
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        return zlib
    return zlib_ng


class ZipRewriteError(ValueError):
    """A member this rewriter cannot copy as it is (a damaged local header, a zip64 member)."""


def rewrite_members(
    data: bytes,
    replaced: Mapping[str, bytes | Sequence[Any]],
    dropped: Collection[str] = (),
    *,
    level: int = 6,
    deflater: Any = zlib,
) -> bytes:
    """The zip ``data`` with ``replaced`` members rewritten and ``dropped`` ones left out.

    Every other member is copied as its compressed bytes (no inflate/deflate round trip);
    order, names, dates, compression methods and the archive comment stay.  A rewritten
    member keeps its name, date and method (stored stays stored: an .ods ``mimetype``).
    ``level``: the compression level for the rewritten members; ``deflater``: the module that
    compresses and checksums them (zlib's interface: ``compressobj``, ``crc32``).
    Raises :class:`ZipRewriteError` for a member to replace that is not there or one it
    cannot copy (a bad local header, zip64), and :class:`zipfile.BadZipFile` for data that
    is not a zip.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    missing = set(replaced) - set(src.namelist())
    if missing:
        raise ZipRewriteError(f"no such member to replace: {', '.join(sorted(missing))}")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in dropped:
                continue
            if info.filename in replaced:
                _write_member(dst, info, replaced[info.filename], level, deflater)
            else:
                _copy_raw(data, info, dst)
        dst.comment = src.comment
    return out.getvalue()


def _copy_raw(data: bytes, info: zipfile.ZipInfo, dst: zipfile.ZipFile) -> None:
    """Append a member's compressed bytes unchanged (no inflate/deflate round trip)."""
    header = data[info.header_offset : info.header_offset + 30]
    if header[:4] != b"PK\x03\x04":
        raise ZipRewriteError(f"zip member {info.filename}: bad local header")
    name_len = int.from_bytes(header[26:28], "little")
    extra_len = int.from_bytes(header[28:30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    raw = data[start : start + info.compress_size]
    copy = _clone(info)
    copy.compress_type = info.compress_type
    copy.CRC, copy.compress_size, copy.file_size = info.CRC, info.compress_size, info.file_size
    _append(dst, copy, raw)


def _write_member(
    dst: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    content: bytes | Sequence[Any],
    level: int = 6,
    deflater: Any = zlib,
) -> None:
    """Write a rewritten part with the member's own name, date and compression method.

    ``content`` may be the part's pieces (bytes-like) in order: they are compressed one by one,
    never joined (a 1,000-indicator .ods content.xml is 56 MB).
    """
    pieces = [content] if isinstance(content, bytes) else content
    copy = _clone(info)
    copy.compress_type = info.compress_type
    if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        copy.compress_type = zipfile.ZIP_DEFLATED  # an exotic method: write it deflated
    deflate = (
        deflater.compressobj(level, zlib.DEFLATED, -15)
        if copy.compress_type == zipfile.ZIP_DEFLATED
        else None
    )
    out, crc, size = [], 0, 0
    for piece in pieces:
        crc, size = deflater.crc32(piece, crc), size + len(piece)
        out.append(deflate.compress(piece) if deflate else bytes(piece))
    if deflate:
        out.append(deflate.flush())
    raw = b"".join(out)
    copy.CRC = crc
    copy.compress_size, copy.file_size = len(raw), size
    _append(dst, copy, raw)


def _clone(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    copy = zipfile.ZipInfo(info.filename, info.date_time)
    copy.comment, copy.create_system, copy.external_attr = (
        info.comment,
        info.create_system,
        info.external_attr,
    )
    copy.flag_bits = info.flag_bits & 0x800  # keep the UTF-8 name flag; sizes go in the local header
    copy.extra = b""  # zip64 or timestamp extras of the source would no longer match
    return copy


def _append(dst: zipfile.ZipFile, info: zipfile.ZipInfo, raw: bytes) -> None:
    # zipfile has no public "write already-compressed bytes"; this mirrors ZipFile.writestr
    # for a member whose CRC and sizes are known before the data is written.
    if info.compress_size >= zipfile.ZIP64_LIMIT or info.file_size >= zipfile.ZIP64_LIMIT:
        raise ZipRewriteError("zip64 member")
    info.header_offset = dst.fp.tell()
    dst.fp.write(info.FileHeader(False))
    dst.fp.write(raw)
    dst.filelist.append(info)
    dst.NameToInfo[info.filename] = info
    dst.start_dir = dst.fp.tell()
    dst._didModify = True
