"""What collect finds in the inbox, before anything is read: items, limits, kinds of file.

An :class:`Item` is one thing found — bytes to read as a workbook, or a classification
with its reason (格式不支援, 略過, …).  The limits, the sniffing of a file's kind from
its first bytes and its name, and the items that classify something without reading
it live here, below both walkers: :mod:`~workbook.collect.inbox` (folders, files,
archives; the one that recurses) and :mod:`~workbook.collect.mail` (saved emails).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from workbook.formats.files import MAX_WORKBOOK_BYTES as _MAX_WORKBOOK_BYTES
from workbook.formats.kinds import NOT_SPREADSHEETS, UNSUPPORTED, ZIP_FORMATS, named_by_suffix
from workbook.formats.kinds import clean_suffix as clean_suffix  # kept importable from here

#: A workbook (a file, an archive member or an attachment) larger than this is not read:
#: the one cap every command applies (:data:`workbook.formats.files.MAX_WORKBOOK_BYTES`).
MAX_WORKBOOK_BYTES = _MAX_WORKBOOK_BYTES
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
    sent_at: str = ""  # the enclosing email's Date (UTC), then the sender's offset: see sent_text
    mtime: str = ""  # the file's (or archive member's) modification time (UTC)


#: The zone an email Date is shown in when it names none (-0000) and the coordinator's.
TAIPEI = timezone(timedelta(hours=8))


def sent_text(dt: datetime) -> str:
    """An email's Date as ``YYYY-MM-DD HH:MM:SS ±hhmm``: UTC first (so texts sort by time),
    then the sender's own offset (so it can be shown as they wrote it)."""
    offset = dt.utcoffset() if dt.tzinfo is not None else None
    zone = "+0800" if offset is None else dt.strftime("%z")
    return f"{utc_text(dt)} {zone}"


def split_sent(text: str) -> tuple[str, str]:
    """(UTC time, the time as the sender wrote it with its offset) of a :func:`sent_text` value."""
    if not text or len(text) < 19:
        return text, text
    utc = text[:19]
    zone = text[20:] or "+0800"
    try:
        sign = -1 if zone[0] == "-" else 1
        delta = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
        local = datetime.strptime(utc, "%Y-%m-%d %H:%M:%S") + delta
    except (ValueError, IndexError):
        return utc, utc
    return utc, f"{local:%Y-%m-%d %H:%M:%S} {zone}"


def utc_text(dt: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC (naive times are taken as UTC), or ""."""
    if dt is None:
        return ""
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%d %H:%M:%S")


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
    if head.startswith(b"PK") and suffix not in ZIP_FORMATS:
        return "zip" if suffix in ARCHIVE else "zip?"
    if suffix == ".eml":
        return "eml"
    if suffix == ".msg":
        return "msg"
    if named_by_suffix(suffix, head) is not None:
        return suffix  # named by formats.kinds: see unsupported()
    return ""


def is_named(kind: str) -> bool:
    """Is this :func:`sniff` kind (or suffix) a format named in :mod:`workbook.formats.kinds`?"""
    return kind in UNSUPPORTED or kind in NOT_SPREADSHEETS


def unsupported(label: str, suffix: str, **kw) -> Item:
    """An item of a format collect does not read, in the words every command uses
    (:mod:`workbook.formats.kinds`): 格式不支援 with what to do, or 略過 for a document
    that is no spreadsheet (an .odt, .odp)."""
    if suffix in NOT_SPREADSHEETS:
        zh, en = NOT_SPREADSHEETS[suffix]
        return Item(label, status="ignored", reason=f"{zh}，略過 / {en}; skipped", **kw)
    zh, en = UNSUPPORTED[suffix]
    return Item(label, status="unsupported", reason=f"{zh} / {en}", **kw)


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
