"""Saved emails: ``.eml`` (standard library), ``.msg`` (extract-msg) and TNEF ``winmail.dat`` (tnefparse).

Every attachment becomes an :class:`~workbook.collect.item.Item`, or a
:class:`~workbook.collect.item.Nested` that :mod:`~workbook.collect.inbox` expands
(a workbook, an archive, a saved email inside the email): only the inbox recurses, and
this module never imports it.  Forwarded
messages (``message/rfc822``) and gateway wrappings are walked into, Apple Mail's
inline attachments count, and a nameless part with a spreadsheet content type is
read under a made-up name.  The MIME tree is walked with a stack and a depth cap;
bodies are decoded as bytes, so a wrong or unknown ``charset`` never mangles a
workbook or stops the run.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from email.header import decode_header
from email.message import Message
from email.utils import collapse_rfc2231_value, parsedate_to_datetime

from workbook.collect.item import (
    MAX_WORKBOOK_BYTES,
    TNEF,
    Item,
    Nested,
    clean_suffix,
    ignored,
    is_named,
    sent_text,
    sniff,
    too_large,
)
from workbook.collect.text import decode_name, path_text


class _RawHeaders(email.policy.Compat32):
    """compat32, but header values keep their raw 8-bit bytes (as surrogates) instead of U+FFFD,
    so a name sent as raw UTF-8 or Big5 (RFC 6532, or a careless client) can still be decoded."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        return "".join(value.splitlines())


RAW = _RawHeaders()

#: MIME containers walked into; deeper parts are reported, not read.
MAX_DEPTH = 32
#: Multipart containers in one message; more is no real email (and would exhaust the parser).
MAX_CONTAINERS = 500
SPREADSHEET_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.ms-excel.sheet.binary.macroenabled.12": ".xlsb",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
}
_BOUNDARY = re.compile(rb"boundary\s*=", re.IGNORECASE)


def _kind(name: str, data: bytes) -> str:
    suffix = clean_suffix(name)
    if name.lower().rstrip(" .").endswith("winmail.dat") or data.startswith(TNEF):
        return "tnef"
    return sniff(data[:8], suffix)


def _attachment(label: str, name: str, data: bytes, depth: int, sent_at: str, mtime: str) -> Item | Nested:
    inner = f"{label} › {name}"
    if len(data) > MAX_WORKBOOK_BYTES:
        return too_large(inner, len(data), MAX_WORKBOOK_BYTES, sent_at=sent_at, mtime=mtime)
    kind = _kind(name, data)
    if kind in ("workbook", "zip", "zip?", "eml", "msg", "tnef") or is_named(kind):
        return Nested(inner, data, kind, depth + 1, sent_at=sent_at, mtime=mtime)
    return ignored(inner, sent_at=sent_at, mtime=mtime)


# -- .eml -------------------------------------------------------------------------------------


def header_text(value: object) -> str:
    """An RFC 2047 / RFC 2231 / raw 8-bit header value as text, whatever its charset claims."""
    if isinstance(value, tuple):  # RFC 2231: (charset, language, value)
        charset, _, raw = value
        data = raw.encode("latin-1", "surrogateescape") if isinstance(raw, str) else bytes(raw)
        return _decode(data, charset)
    text = str(value or "")
    if "=?" in text:
        try:
            chunks = decode_header(text)
        except Exception:  # a malformed encoded word: keep the text as written
            chunks = [(text, None)]
        text = "".join(
            _decode(chunk, charset) if isinstance(chunk, bytes) else chunk for chunk, charset in chunks
        )
    return path_text(text)


def _decode(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset; an unknown or wrong charset falls back to UTF-8, Big5, GB18030."""
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_name(data)


def _filename(part: Message) -> str:
    for value in (part.get_param("filename", header="content-disposition"), part.get_param("name")):
        if value:
            if isinstance(value, tuple):
                value = collapse_rfc2231_value(value) if value[0] is None else header_text(value)
            return header_text(value).strip()
    return ""


def _date(msg: Message) -> str:
    try:
        return sent_text(parsedate_to_datetime(str(msg.get("Date", "") or "")))
    except (TypeError, ValueError, IndexError, OverflowError):
        return ""


def from_eml(label: str, data: bytes, *, depth: int = 0, mtime: str = "") -> Iterator[Item | Nested]:
    """Every attachment of a saved email, walked without recursion."""
    if len(_BOUNDARY.findall(data)) > MAX_CONTAINERS:
        yield Item(
            label,
            status="unreadable",
            reason="郵件結構過於複雜（多層巢狀），無法讀取；請將附件另存後直接寄送 / "
            "the email is nested too deeply to read; send the attachment itself",
            mtime=mtime,
        )
        return
    try:
        msg = email.message_from_bytes(data, policy=RAW)
    except (RecursionError, Exception) as exc:  # the parser is recursive and lenient; belt and braces
        yield Item(
            label, status="unreadable", reason=f"郵件無法解析 / cannot parse the email ({type(exc).__name__})"
        )
        return
    found = 0
    top = label
    stack: list[tuple[Message, int, str, str]] = [(msg, 0, _date(msg), top)]
    while stack:
        part, level, sent, label = stack.pop()
        if level > MAX_DEPTH:
            yield Item(
                f"{label} › (第 {level} 層)",
                status="unreadable",
                reason=f"郵件巢狀超過 {MAX_DEPTH} 層，未讀取 / MIME nesting deeper than {MAX_DEPTH} levels is not read",
                sent_at=sent,
            )
            continue
        ctype = part.get_content_type()
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            if ctype == "message/rfc822":  # a forwarded or wrapped message: its own Date applies inside
                name = _filename(part)
                inner = f"{label} › {name}" if name else label
                stack.extend((p, level + 1, _date(p) or sent, inner) for p in reversed(payload))
            else:
                stack.extend((p, level + 1, sent, label) for p in reversed(payload))
            continue
        name = _filename(part)
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if not name:
            if ctype not in SPREADSHEET_TYPES and not (
                disposition == "attachment" and part.get_content_maintype() != "text"
            ):
                continue  # a body part (text, html, an inline image)
            found += 1
            name = f"未命名附件{found}{SPREADSHEET_TYPES.get(ctype, '')}"
        try:
            body = part.get_payload(decode=True) or b""
        except Exception:  # a damaged transfer encoding
            body = b""
        yield _attachment(label, name, body, depth, sent, mtime)


# -- .msg -------------------------------------------------------------------------------------


def from_msg(label: str, data: bytes, *, depth: int = 0, mtime: str = "") -> Iterator[Item | Nested]:
    """Every attachment of an Outlook ``.msg``, embedded messages included."""
    try:
        import extract_msg

        msg = extract_msg.openMsg(data)
    except Exception as exc:  # extract-msg raises its own types for a bad file
        yield Item(
            label,
            status="unreadable",
            reason=f"Outlook 郵件檔無法開啟 / cannot open the .msg ({type(exc).__name__})",
        )
        return
    try:
        yield from _msg_attachments(label, msg, depth, mtime)
    finally:
        msg.close()


def _msg_attachments(label: str, msg, depth: int, mtime: str) -> Iterator[Item | Nested]:
    try:
        sent = sent_text(msg.date) if getattr(msg, "date", None) else ""
    except Exception:
        sent = ""
    for n, att in enumerate(getattr(msg, "attachments", []), start=1):
        name = ""
        for attr in ("longFilename", "shortFilename", "displayName"):
            try:
                name = getattr(att, attr, None) or ""
            except Exception:
                name = ""
            if name:
                break
        name = path_text(str(name).strip("\x00")) or f"未命名附件{n}"
        try:
            data = att.data
        except Exception:
            data = None
        if isinstance(data, bytes):
            yield _attachment(label, name, data, depth, sent, mtime)
        elif data is not None and hasattr(data, "attachments"):  # an embedded (forwarded) message
            if depth + 1 > MAX_DEPTH:
                yield Item(
                    f"{label} › {name}", status="unreadable", reason="郵件巢狀過深 / nested too deeply"
                )
            else:
                yield from _msg_attachments(f"{label} › {name}", data, depth + 1, mtime)
        else:
            yield ignored(f"{label} › {name}", sent_at=sent, mtime=mtime)


# -- TNEF -------------------------------------------------------------------------------------


def from_tnef(
    label: str, data: bytes, *, depth: int = 0, mtime: str = "", sent_at: str = ""
) -> Iterator[Item | Nested]:
    """The attachments inside Outlook's TNEF ``winmail.dat``."""
    try:
        from tnefparse import TNEF as Parser

        tnef = Parser(data, do_checksum=False)
    except Exception as exc:  # tnefparse raises ValueError and struct errors for a bad file
        yield Item(
            label,
            status="unreadable",
            reason=f"winmail.dat 無法解析 / cannot parse TNEF ({type(exc).__name__})",
        )
        return
    if not tnef.attachments:
        yield ignored(label, sent_at=sent_at, mtime=mtime)
    for n, att in enumerate(tnef.attachments, start=1):
        try:
            name = att.long_filename()
        except Exception:
            name = ""
        if isinstance(name, bytes):
            name = decode_name(name.rstrip(b"\x00"))
        if not name:
            raw = (
                att._name
                if isinstance(att._name, bytes)
                else str(att._name).encode("utf-8", "surrogateescape")
            )
            name = decode_name(raw.rstrip(b"\x00"))
        name = path_text(str(name).strip("\x00")) or f"未命名附件{n}"
        yield _attachment(label, name, bytes(att.data or b""), depth, sent_at, mtime)
