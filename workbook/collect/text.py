"""Text that came from outside: made safe for a cell, a CSV and a terminal.

Submitted cells, file names, zip member names and attachment names may carry
control characters (a line break pasted from Word arrives as ``_x000B_``), lone
surrogates (a file name on disk that is not UTF-8) or characters that reorder
or control a terminal (U+202E, ESC).  Nothing is dropped silently: what cannot
be shown is replaced by a visible mark.
"""

from __future__ import annotations

import re

#: Control characters a cell cannot store: openpyxl's ``openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE``,
#: said here so that reading returns does not import openpyxl (and numpy with it; issue 24).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
#: Bidirectional controls: they make a name read differently from what it is.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_TERMINAL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Word's manual line break (vertical tab) and a form feed read as line breaks.
_BREAKS = {"\x0b": "\n", "\x0c": "\n"}


def cell_text(value: object) -> object:
    """A value a spreadsheet cell (and a UTF-8 CSV) can hold; non-text passes through.

    Line-break controls become line breaks; other control characters and lone
    surrogates become U+FFFD, so the text stays visible and the write never fails.
    """
    if not isinstance(value, str):
        return value
    value = _SURROGATE.sub("\ufffd", value)
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: _BREAKS.get(m.group(), "\ufffd"), value)


def terminal_text(value: object) -> str:
    """Text safe to print: control, bidi and surrogate characters shown as ``\\u202e`` escapes."""
    text = str(value)
    return _TERMINAL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def has_control(text: str) -> bool:
    """True when ``text`` holds a character a cell cannot store or a terminal would obey."""
    return bool(_TERMINAL.search(text.replace("\n", "").replace("\t", "")))


def decode_name(raw: bytes) -> str:
    """A file name from bytes of unknown encoding: UTF-8, else Big5 (cp950), else GB18030.

    Taiwanese mail clients and Windows zip tools write names in cp950.  Bytes that
    decode under none of them are kept as ``\\xNN`` escapes, never lost.
    """
    for enc in ("utf-8", "cp950", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "backslashreplace")


def path_text(name: str) -> str:
    """A name from the file system (``os.fsdecode``): undecodable bytes recovered or escaped."""
    if not _SURROGATE.search(name):
        return name
    return decode_name(name.encode("utf-8", "surrogateescape"))
