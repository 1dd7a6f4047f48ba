"""What collect finds in the inbox, before anything is read: items, limits, kinds of file.

An :class:`Item` is one thing found — bytes to read as a workbook, or a classification
with its reason (格式不支援, 略過, …).  The limits, the sniffing of a file's kind from
its first bytes and its name, and the items that classify something without reading
it live here, below both walkers: :mod:`~workbook.collect.inbox` (folders, files,
archives; the one that recurses) and :mod:`~workbook.collect.mail` (saved emails).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone

#: A workbook (file or member) larger than this is no staff form (the guard's own cap is 64 MB unzipped).
MAX_WORKBOOK_BYTES = 64 * 1024 * 1024
#: An archive member larger than this (inflated) is not read.
MAX_MEMBER_BYTES = 50 * 1024 * 1024
#: A saved email larger than this is not parsed (mail systems stop at 25–35 MB).
MAX_MAIL_BYTES = 40 * 1024 * 1024
#: Archives inside archives are read this deep.
MAX_ARCHIVE_DEPTH = 2
#: Members read from one archive.
MAX_MEMBERS = 2000
CHUNK = 1024 * 1024

WORKBOOK = (".xlsx", ".xlsm", ".ods")  # an .ods is read without LibreOffice (books/ods.py)
ARCHIVE = (".zip",)
MAIL = (".eml", ".msg")
#: Formats staff send that collect does not read, with what to do.
UNSUPPORTED = {
    ".xls": "舊版 Excel 97-2003 (.xls) 格式，請以 Excel 開啟後另存為 .xlsx 再寄回",
    ".xlsb": "Excel 二進位活頁簿 (.xlsb) 格式，請另存為 .xlsx 再寄回",
    ".csv": "CSV 純文字檔不含範本內容，請改寄填妥的 .xlsx 工作簿",
    ".numbers": "Apple Numbers 格式，請匯出為 .xlsx 再寄回",
    ".7z": "7-Zip (.7z) 壓縮檔不支援，請解壓縮後直接附上 .xlsx，或改用 .zip 壓縮",
    ".rar": "RAR 壓縮檔不支援，請解壓縮後直接附上 .xlsx，或改用 .zip 壓縮",
    ".tar": "tar 壓縮檔不支援，請改用 .zip 壓縮",
    ".gz": "gzip 壓縮檔不支援，請改用 .zip 壓縮",
    ".p7m": "加密或簽章的郵件內容無法讀取，請以一般郵件重寄",
}
UNSUPPORTED_EN = {
    ".xls": "legacy Excel 97-2003 (.xls); save it as .xlsx",
    ".xlsb": "Excel binary workbook (.xlsb); save it as .xlsx",
    ".csv": "a CSV holds no template; send the filled .xlsx",
    ".numbers": "Apple Numbers; export it as .xlsx",
    ".7z": "7-Zip archives are not read; attach the .xlsx itself or use .zip",
    ".rar": "RAR archives are not read; attach the .xlsx itself or use .zip",
    ".tar": "tar archives are not read; use .zip",
    ".gz": "gzip archives are not read; use .zip",
    ".p7m": "an encrypted or signed mail part cannot be read; send a plain email",
}
#: Files the system itself leaves about: never a submission, never listed.
SYSTEM_NAMES = {"thumbs.db", ".ds_store", "desktop.ini"}

_MAGIC = {
    b"7z\xbc\xaf\x27\x1c": ".7z",
    b"Rar!\x1a\x07": ".rar",
    b"\x1f\x8b": ".gz",
}
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TNEF = b"\x78\x9f\x3e\x22"


@dataclass
class Item:
    """One thing found in the inbox: bytes to read as a workbook, or a classification."""

    label: str
    data: bytes | None = None
    status: str = ""  # preset when not read as a workbook: unsupported, ignored, unreadable
    reason: str = ""
    sent_at: str = ""  # the enclosing email's Date (UTC)
    mtime: str = ""  # the file's (or archive member's) modification time (UTC)


def utc_text(dt: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC (naive times are taken as UTC), or ""."""
    if dt is None:
        return ""
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def clean_suffix(name: str) -> str:
    """The suffix Windows would see: trailing spaces and dots do not count."""
    return os.path.splitext(name.rstrip(" .").lower())[1]


def is_system(name: str) -> bool:
    """Excel lock files, AppleDouble shadows, Thumbs.db: left by systems, not sent by staff."""
    base = name.rsplit("/", 1)[-1]
    return base.startswith(("~$", "._", ".~lock.")) or base.lower() in SYSTEM_NAMES or "__MACOSX/" in name


def sniff(head: bytes, suffix: str) -> str:
    """The kind of a file from its first bytes and its name: workbook, zip, eml, msg, tnef, a suffix or ""."""
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    if head.startswith(TNEF):
        return "tnef"
    if head.startswith(OLE):
        if suffix == ".msg":
            return "msg"
        if suffix == ".xls":
            return ".xls"
        return "workbook"  # an encrypted .xlsx is an OLE file; the guard says what it is
    if suffix in WORKBOOK:
        return "workbook"
    if head.startswith(b"PK"):
        if suffix in (".xlsb", ".numbers"):
            return suffix
        return "zip" if suffix in ARCHIVE else "zip?"
    if suffix == ".eml":
        return "eml"
    if suffix == ".msg":
        return "msg"
    if suffix in UNSUPPORTED:
        return suffix
    return ""


def unsupported(label: str, suffix: str, **kw) -> Item:
    """An item of a format collect does not read, saying what to do."""
    return Item(
        label,
        status="unsupported",
        reason=f"格式不支援：{UNSUPPORTED[suffix]} / unsupported format: {UNSUPPORTED_EN[suffix]}",
        **kw,
    )


def ignored(label: str, **kw) -> Item:
    """An item that is no spreadsheet (a .txt, a .pdf, a signature): listed, not read."""
    return Item(label, status="ignored", reason="非試算表，略過 / not a spreadsheet; skipped", **kw)


def too_large(label: str, size: int, limit: int, **kw) -> Item:
    """An item refused for its size before it is read."""
    return Item(
        label,
        status="unreadable",
        reason=f"檔案過大（{size // 1048576} MB，上限 {limit // 1048576} MB），不像填報工作簿 / "
        f"too large ({size} bytes, limit {limit})",
        **kw,
    )


@dataclass
class Nested:
    """Bytes found inside an email (an attachment) that :mod:`~workbook.collect.inbox` still expands.

    :mod:`~workbook.collect.mail` yields these rather than expanding them itself, so only
    the inbox walker recurses into archives and emails within emails.
    """

    label: str
    data: bytes
    kind: str  # as :func:`sniff` says: workbook, zip, zip?, eml, msg, tnef or an unsupported suffix
    depth: int
    sent_at: str = ""
    mtime: str = ""
