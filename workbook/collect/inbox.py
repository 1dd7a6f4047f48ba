"""Walking the coordinator's inbox: folders, files and archives, into :class:`Item` s.

Every file given, and every archive member found, becomes an item: either bytes
to read as a workbook, or a classification with its reason (格式不支援, 略過, …).
Nothing found is dropped silently.  Memory is bounded: a file's size is checked
before it is read, and archive members are inflated in chunks up to a cap, so a
zip bomb or a 1.5 GB file never reaches memory.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from workbook.collect import mail
from workbook.collect.item import (
    ARCHIVE,
    CHUNK,
    MAIL,
    MAX_ARCHIVE_DEPTH,
    MAX_MAIL_BYTES,
    MAX_MEMBERS,
    MAX_WORKBOOK_BYTES,
    WORKBOOK,
    Item,
    Nested,
    clean_suffix,
    ignored,
    is_named,
    is_system,
    sniff,
    too_large,
    unsupported,
    utc_text,
)
from workbook.collect.text import decode_name, path_text
from workbook.errors import os_words

# -- folders and files ------------------------------------------------------------------------


def walk(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str] | Item]:
    """Every file under ``paths`` as ``(path, label)``, in a stable order; problems as items."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # Labels name the folder given and the path inside it: short, and still unambiguous.
            top = path_text(path.resolve().name)
            try:
                children = sorted(path.rglob("*"))
            except OSError as exc:  # a sub-folder that cannot be listed
                yield Item(
                    top,
                    status="unreadable",
                    reason="無法讀取資料夾：{} / cannot list the folder: {}".format(*os_words(exc)),
                )
                continue
            for child in children:
                rel = child.relative_to(path).as_posix()
                label = f"{top}/{path_text(rel)}"
                if is_system(rel):
                    continue
                if child.is_symlink():  # never followed: it could lead anywhere on the disk
                    yield Item(
                        label,
                        status="ignored",
                        reason="捷徑（符號連結），未讀取 / a symbolic link; not followed",
                    )
                elif child.is_file():
                    yield child, label
        elif path.is_file():
            yield path, path_text(str(path))
        else:
            yield Item(
                path_text(str(path)),
                status="unreadable",
                reason="找不到檔案或不是一般檔案 / no such file (or not a regular file)",
            )


def is_own_summary(path: Path) -> bool:
    """Is the file at ``path`` a summary ``kpi collect`` wrote (it carries ``L.SUMMARY_MARK``)?"""
    from workbook.books.ods import read_only_book
    from workbook.form import layout as L

    try:
        if not path.is_file() or path.stat().st_size > MAX_WORKBOOK_BYTES:
            return False
        return L.SUMMARY_MARK in read_only_book(path.read_bytes(), str(path)).names()
    except Exception:  # unreadable, damaged, not a workbook: not ours, so it stays an input
        return False


def guarded_inputs(inputs: Iterable[Path], output: str | Path) -> list[Path]:
    """The inputs the summary at ``output`` must not replace: all of them, except a summary
    ``kpi collect`` wrote there before (re-running ``collect mail -o mail/彙總.xlsx`` replaces
    its own previous summary; a return is never replaced)."""
    target = Path(output)
    inputs = list(inputs)
    mine = [p for p in inputs if _same_file(p, target)]
    if mine and is_own_summary(target):
        return [p for p in inputs if p not in mine]
    return inputs


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def expand_file(path: Path, label: str) -> Iterator[Item]:
    """The items of one file on disk: itself, or what its archive or email holds."""
    try:
        st = path.stat()
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        yield Item(label, status="unreadable", reason="無法讀取：{} / cannot read: {}".format(*os_words(exc)))
        return
    mtime = utc_text(datetime.fromtimestamp(st.st_mtime, timezone.utc))
    kind = sniff(head, clean_suffix(path.name))
    if kind == "zip":
        found = False
        try:
            with zipfile.ZipFile(path) as archive:
                for item in _members(label, archive, 1, mtime):
                    found = True
                    yield item
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            found = True
            yield _bad_archive(label, exc, mtime)
        if not found:
            yield Item(
                label, status="ignored", reason="壓縮檔內沒有任何檔案 / the archive is empty", mtime=mtime
            )
        return
    limit = MAX_MAIL_BYTES if kind in ("eml", "msg", "tnef") else MAX_WORKBOOK_BYTES
    if kind in ("workbook", "zip?", "eml", "msg", "tnef") and st.st_size > limit:
        yield too_large(label, st.st_size, limit, mtime=mtime)
        return
    if kind in ("workbook", "zip?", "eml", "msg", "tnef"):
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Item(
                label, status="unreadable", reason="無法讀取：{} / cannot read: {}".format(*os_words(exc))
            )
            return
        yield from expand_bytes(label, data, kind, depth=0, mtime=mtime)
    elif is_named(kind):
        yield unsupported(label, kind, mtime=mtime)
    else:
        yield ignored(label, mtime=mtime)


def expand_bytes(
    label: str, data: bytes, kind: str, *, depth: int, mtime: str = "", sent_at: str = ""
) -> Iterator[Item]:
    """The items of bytes of a known kind (a file read, a member, an attachment).

    A container that holds nothing is itself listed, so an email sent without its
    attachment is seen rather than silently missing.
    """
    found = False
    for item in _expand(label, data, kind, depth=depth, mtime=mtime, sent_at=sent_at):
        found = True
        yield item
    if not found:
        yield Item(
            label,
            status="ignored",
            reason="郵件或壓縮檔內沒有任何附件或檔案 / the email or archive holds no attachment",
            mtime=mtime,
            sent_at=sent_at,
        )


def _expand(label: str, data: bytes, kind: str, *, depth: int, mtime: str, sent_at: str) -> Iterator[Item]:
    if kind == "zip?":  # a zip not named as one: a workbook package, an ODF document, or an archive
        kind = _package_kind(data)
    if kind == "workbook":
        yield Item(label, data, sent_at=sent_at, mtime=mtime)
    elif kind == "zip":
        if depth >= MAX_ARCHIVE_DEPTH:
            yield Item(
                label,
                status="unreadable",
                reason="壓縮檔內又有多層壓縮檔，請解壓縮後寄送 / nested archives deeper than "
                f"{MAX_ARCHIVE_DEPTH} levels are not read",
                mtime=mtime,
            )
            return
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                yield from _members(label, archive, depth + 1, mtime, sent_at)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            yield _bad_archive(label, exc, mtime)
    elif kind == "eml":
        yield from _attachments(mail.from_eml(label, data, depth=depth, mtime=mtime))
    elif kind == "msg":
        yield from _attachments(mail.from_msg(label, data, depth=depth, mtime=mtime))
    elif kind == "tnef":
        yield from _attachments(mail.from_tnef(label, data, depth=depth, mtime=mtime, sent_at=sent_at))
    elif is_named(kind):
        yield unsupported(label, kind, mtime=mtime, sent_at=sent_at)
    else:
        yield ignored(label, mtime=mtime, sent_at=sent_at)


def _attachments(found: Iterator[Item | Nested]) -> Iterator[Item]:
    """An email's items, its attachments expanded in place (a workbook, an archive, another email)."""
    for item in found:
        if isinstance(item, Nested):
            yield from expand_bytes(
                item.label, item.data, item.kind, depth=item.depth, mtime=item.mtime, sent_at=item.sent_at
            )
        else:
            yield item


#: An OpenDocument package's mimetype (its first member) → the suffix it is named by in formats.kinds.
_ODF_SUFFIXES = {"text": ".odt", "presentation": ".odp", "graphics": ".odg"}
_ODF_MIMETYPE = b"application/vnd.oasis.opendocument."


def _package_kind(data: bytes) -> str:
    """A zip not named as one: ``workbook`` (an Office package, or damaged: the guard says what is
    wrong), the suffix of an OpenDocument that is no spreadsheet (named, not listed part by
    part), or ``zip`` (an archive, its members read)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            mimetype = z.read("mimetype")[:100].strip() if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError, NotImplementedError):
        return "workbook"
    if "xl/workbook.xml" in names or "[Content_Types].xml" in names:
        return "workbook"
    if mimetype.startswith(_ODF_MIMETYPE):
        kind = mimetype[len(_ODF_MIMETYPE) :].decode("ascii", "replace")
        return "workbook" if kind == "spreadsheet" else _ODF_SUFFIXES.get(kind, ".odt")
    return "zip"


def _bad_archive(label: str, exc: Exception, mtime: str) -> Item:
    return Item(
        label,
        status="unreadable",
        reason=f"壓縮檔損毀，無法開啟 / the archive is damaged ({type(exc).__name__})",
        mtime=mtime,
    )


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's name: UTF-8 when flagged, else the bytes as written (cp950 from Taiwanese Windows)."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return decode_name(info.filename.encode("cp437"))
    except UnicodeEncodeError:
        return info.filename


def _members(
    label: str, archive: zipfile.ZipFile, depth: int, mtime: str, sent_at: str = ""
) -> Iterator[Item]:
    infos = [i for i in archive.infolist() if not i.is_dir()]
    if len(infos) > MAX_MEMBERS:
        yield Item(label, status="unreadable", reason=f"壓縮檔內檔案過多 / too many members ({len(infos)})")
        return
    for info in infos:
        name = member_name(info)
        if is_system(name):
            continue
        inner = f"{label} › {name}"
        try:
            when = utc_text(datetime(*info.date_time))
        except ValueError:
            when = mtime
        suffix = clean_suffix(name)
        if is_named(suffix):
            yield unsupported(inner, suffix, mtime=when, sent_at=sent_at)
            continue
        if suffix not in (*WORKBOOK, *ARCHIVE, *MAIL, "") and not name.lower().endswith("winmail.dat"):
            yield ignored(inner, mtime=when, sent_at=sent_at)
            continue
        try:
            data = read_member(archive, info, MAX_WORKBOOK_BYTES)
        except MemberTooLarge as exc:
            yield too_large(inner, exc.size, MAX_WORKBOOK_BYTES, mtime=when, sent_at=sent_at)
            continue
        except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError, NotImplementedError) as exc:
            yield Item(
                inner,
                status="unreadable",
                reason=f"壓縮檔內的檔案損毀或加密 / the member is damaged or encrypted ({type(exc).__name__})",
                mtime=when,
            )
            continue
        kind = sniff(data[:8], suffix)
        yield from expand_bytes(inner, data, kind or "", depth=depth, mtime=when, sent_at=sent_at)


class MemberTooLarge(Exception):
    """An archive member that inflates beyond the cap (whatever its header claims)."""

    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    """A member's bytes, inflated in chunks and stopped at ``cap``: a lying header cannot exhaust memory."""
    if info.file_size > cap:
        raise MemberTooLarge(info.file_size)
    out = bytearray()
    with archive.open(info) as fh:
        while chunk := fh.read(CHUNK):
            out += chunk
            if len(out) > cap:
                raise MemberTooLarge(len(out))
    return bytes(out)
