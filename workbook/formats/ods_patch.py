"""Edit a few cells of an .ods package and leave every other byte alone.

The .ods counterpart of :mod:`workbook.formats.xlsx_patch`.  Saving through LibreOffice keeps what
it models, but renumbers every automatic style and rewrites every cell element, so an
input cell is equal afterwards but no longer byte for byte what staff saved.  Here
only the ``table:table-cell`` elements written are replaced, and ``content.xml`` is
built once around them (linear in its size); every other zip member is copied as it was (its compressed bytes).

* A written cell keeps its attributes (style, validation, spans) and its comment
  (``office:annotation``); only its value and paragraphs change.
* Content whose tags could be misread (see :func:`workbook.formats.ods_scan.trustworthy`) is
  refused, as is a tag with single quotes or a ``>`` inside a value.
* A cell inside a run (``table:number-columns-repeated``) or a row inside a run
  (``table:number-rows-repeated``) is split out of it; the rest of the run stays alike.
* A formula cell may be given its cached result: calculate knows what every formula
  it owns computes (the LibreOffice oracle tests hold the engine to it), so the file
  opens showing the new results without a recalculation.
* Anything beyond this (a cell holding a picture, a row missing from a table, another
  namespace prefix) raises :class:`OdsPatchError`, and the caller saves through
  LibreOffice instead.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
import zlib
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, AnyStr

from kpi_engine.errors import KpiError
from workbook.formats.ods_scan import trustworthy
from workbook.formats.zips import ZipRewriteError, rewrite_members

Cell = tuple[str, int, int]


class OdsPatchError(KpiError):
    """The package cannot be patched cell by cell (its layout is beyond this patcher)."""

    code = "ods_patch"


@dataclass(frozen=True)
class Cached:
    """The result a formula cell shows; its ``table:formula`` is kept."""

    value: Any


_TABLE_BYTES = re.compile(rb'<table:table\s[^>]*?table:name="([^"]*)"[^>]*>')
_TABLE_END_BYTES = b"</table:table>"
_ROW = re.compile(r"<table:table-row(?=[\s/>])([^>]*?)(/?)>")
_ROW_BYTES = re.compile(_ROW.pattern.encode("ascii"))
_ROW_END = "</table:table-row>"
_ROW_END_BYTES = _ROW_END.encode("ascii")
_CELL = re.compile(r"<table:(table-cell|covered-table-cell)(?=[\s/>])([^>]*?)(/?)>")
_ATTR = re.compile(r'([\w:.-]+)="([^"]*)"')
_ANNOTATION = re.compile(r"<office:annotation\b.*?</office:annotation>", re.S)
_PARAGRAPHS = re.compile(r"^(?:<text:p\b[^>]*/>|<text:p\b.*?</text:p>)*$", re.S)
#: Value attributes a written cell loses: it gets new ones for its new value.
_VALUE_ATTRS = {
    "office:value-type",
    "office:value",
    "office:date-value",
    "office:time-value",
    "office:boolean-value",
    "office:string-value",
    "office:currency",
    "calcext:value-type",
}
_REPEAT_COLS = "table:number-columns-repeated"
_REPEAT_ROWS = "table:number-rows-repeated"


def patch_ods(data: bytes, cells: Mapping[Cell, Any]) -> bytes:
    """The package ``data`` with ``cells`` written: (sheet, row, column) → value or :class:`Cached`.

    Values are text, numbers, booleans or ``None`` (an empty cell); text is never a
    formula.  Raises :class:`OdsPatchError` when the layout is beyond this patcher.
    """
    content = _inflated(data, "content.xml")
    if not trustworthy(content):  # text in a comment or CDATA, or odd prefixes, looks like tags
        raise OdsPatchError("content.xml cannot be read by its tags")
    # At 1,000 indicators content.xml is 56 MB: its pieces (views of it and the rewritten
    # rows) are compressed one by one, never joined into a second copy.
    patched = _patch_pieces(content, cells)
    try:
        return rewrite_members(data, {"content.xml": patched})
    except ZipRewriteError as exc:
        raise OdsPatchError(str(exc)) from exc


def _inflated(data: bytes, name: str) -> bytes:
    """The member ``name`` of the zip ``data``, inflated into one buffer of its size.

    ``ZipFile.read`` grows its result by concatenation: at 1,000 indicators the 56 MB
    content.xml briefly took twice its size, the peak of the whole calculate (issue 25).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        info = src.getinfo(name)
        if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:  # stored, or encrypted
            return src.read(name)
    header = data[info.header_offset : info.header_offset + 30]
    if header[:4] != b"PK\x03\x04":
        raise OdsPatchError(f"zip member {name}: bad local header")
    start = (
        info.header_offset
        + 30
        + int.from_bytes(header[26:28], "little")
        + int.from_bytes(header[28:30], "little")
    )
    try:
        out = zlib.decompress(
            memoryview(data)[start : start + info.compress_size], -15, max(info.file_size, 1)
        )
    except zlib.error as exc:
        raise OdsPatchError(f"zip member {name}: {exc}") from exc
    if len(out) != info.file_size or zlib.crc32(out) != info.CRC:
        raise OdsPatchError(f"zip member {name}: damaged (size or CRC)")
    return out


def patch_content(xml: str, cells: Mapping[Cell, Any]) -> str:
    """``content.xml`` text with ``cells`` written (see :func:`patch_ods`)."""
    return _patch_bytes(xml.encode("utf-8"), cells).decode("utf-8")


def _patch_bytes(xml: bytes, cells: Mapping[Cell, Any]) -> bytes:
    """``content.xml`` with ``cells`` written (see :func:`_patch_pieces`)."""
    return b"".join(_patch_pieces(xml, cells))


def _patch_pieces(xml: bytes, cells: Mapping[Cell, Any]) -> list[Any]:
    """``content.xml`` with ``cells`` written, walked as UTF-8 bytes: its pieces in order.

    Only the rows written are decoded: the whole text as a ``str`` would be twice its bytes
    (the sheet names and labels are CJK), and each copy of it counts at 1,000 indicators.
    The tags are ASCII, so the patterns find the same elements in the bytes.
    """
    if b"<office:spreadsheet>" not in xml:
        raise OdsPatchError("content.xml uses other namespace prefixes")
    by_sheet: dict[str, dict[tuple[int, int], Any]] = {}
    for (sheet, row, col), value in cells.items():
        by_sheet.setdefault(sheet, {})[(row, col)] = value
    edits: list[tuple[int, int, bytes]] = []
    for m in _TABLE_BYTES.finditer(xml):
        name = html.unescape(m.group(1).decode("utf-8"))
        if name not in by_sheet:
            continue
        end = xml.find(_TABLE_END_BYTES, m.end())
        if end < 0:
            raise OdsPatchError(f"table {name} has no end")
        edits += _patch_table(xml, m.end(), end, by_sheet.pop(name))
    if by_sheet:
        raise OdsPatchError(f"no such sheet: {', '.join(by_sheet)}")
    return pieces(xml, edits)


def spliced(text: AnyStr, edits: list[tuple[int, int, AnyStr]]) -> AnyStr:
    """``text`` with each ``(start, stop, replacement)`` of ``edits`` (which do not overlap) applied.

    Built once with a join: splicing the string per edit copied the whole ``content.xml``
    for every written cell, quadratic in the size of the form (issue 25).
    """
    return text[:0].join(pieces(text, edits))


def pieces(text: AnyStr, edits: list[tuple[int, int, AnyStr]]) -> list[Any]:
    """What :func:`spliced` joins: the kept stretches (views of bytes, not copies) and the edits."""
    source: Any = memoryview(text) if isinstance(text, bytes) else text
    out, at = [], 0
    for start, stop, new in sorted(edits):
        out += (source[at:start], new)
        at = stop
    out.append(source[at:])
    return out


def _patch_table(
    xml: bytes, start: int, end: int, wanted: dict[tuple[int, int], Any]
) -> list[tuple[int, int, bytes]]:
    edits = []
    rows: dict[int, dict[int, Any]] = {}
    for (r, c), v in wanted.items():
        rows.setdefault(r, {})[c] = v
    ordered = sorted(rows)  # found by bisection: a scan of every wanted row per row is quadratic
    row = 1
    pos = start
    last = None  # where the last row ends
    while rows:
        m = _ROW_BYTES.search(xml, pos, end)
        if m is None:  # past the table's last row: new rows after it
            if last is None:
                raise OdsPatchError("a table without rows")
            edits.append((last, last, _new_rows(row, rows).encode("utf-8")))
            break
        attrs = m.group(1).decode("utf-8")
        close = m.end() if m.group(2) else xml.find(_ROW_END_BYTES, m.end(), end) + len(_ROW_END_BYTES)
        if close < m.end():
            raise OdsPatchError("a row has no end")
        repeat = int(_attr(attrs, _REPEAT_ROWS) or "1")
        hit = ordered[bisect_left(ordered, row) : bisect_left(ordered, row + repeat)]
        if hit:
            text = _split_row(xml[m.start() : close].decode("utf-8"), row, repeat, rows, hit)
            edits.append((m.start(), close, text.encode("utf-8")))
            for r in hit:
                del rows[r]
        row += repeat
        pos = last = close
    return edits


def _new_rows(first: int, rows: dict[int, dict[int, Any]]) -> str:
    """Rows from ``first`` on, the wanted ones written and the gaps empty."""
    out, at = [], first
    for r in sorted(rows):
        if r > at:
            repeat = f' {_REPEAT_ROWS}="{r - at}"' if r - at > 1 else ""
            out.append(f"<table:table-row{repeat}><table:table-cell/></table:table-row>")
        out.append(_patch_row("<table:table-row></table:table-row>", rows[r]))
        at = r + 1
    return "".join(out)


def _split_row(text: str, first: int, repeat: int, rows: dict[int, dict[int, Any]], hit: list[int]) -> str:
    """The row element (a run of ``repeat`` rows from ``first``) with the ``hit`` rows written."""
    out, at = [], first
    for r in hit:
        if r > at:
            out.append(_with_repeat(text, r - at))
        out.append(_patch_row(_with_repeat(text, 1), rows[r]))
        at = r + 1
    if first + repeat > at:
        out.append(_with_repeat(text, first + repeat - at))
    return "".join(out)


def _with_repeat(row: str, n: int) -> str:
    """A row element's text repeated ``n`` times (its start tag's attribute set)."""
    m = _ROW.match(row)
    assert m is not None
    attrs = _set_attr(m.group(1), _REPEAT_ROWS, str(n) if n > 1 else None)
    return f"<table:table-row{attrs}{m.group(2)}>" + row[m.end() :]


def _patch_row(row: str, wanted: dict[int, Any]) -> str:
    m = _ROW.match(row)
    assert m is not None
    if m.group(2):
        raise OdsPatchError("an empty row element")
    body_start, body_end = m.end(), len(row) - len(_ROW_END)
    edits: list[tuple[int, int, str]] = []
    col, pos = 1, body_start
    targets = sorted(wanted)  # walked in order: the next one is found without a scan of all
    i = 0
    while i < len(targets):
        c = _CELL.search(row, pos, body_end)
        if c is None:  # past the row's last cell: fill the gap, then the cells
            out, at = [], col
            for target in targets[i:]:
                if target > at:
                    out.append(_empty_cells(target - at))
                out.append(_cell("table-cell", "", "", wanted[target]))
                at = target + 1
            edits.append((body_end, body_end, "".join(out)))
            break
        kind, attrs = c.group(1), c.group(2)
        if c.group(3):
            close, inner = c.end(), ""
        else:
            end_tag = f"</table:{kind}>"
            close = row.find(end_tag, c.end(), body_end)
            if close < 0:
                raise OdsPatchError("a cell has no end")
            inner = row[c.end() : close]
            close += len(end_tag)
        repeat = int(_attr(attrs, _REPEAT_COLS) or "1")
        if targets[i] < col + repeat:
            stop = bisect_left(targets, col + repeat, i)
            hit, i = targets[i:stop], stop
            if kind != "table-cell":
                raise OdsPatchError("a written cell is covered by a merged cell")
            out, at = [], col
            for t in hit:
                if t > at:
                    out.append(_repeat_cell(row[c.start() : close], c, t - at))
                out.append(_cell(kind, _set_attr(attrs, _REPEAT_COLS, None), inner, wanted[t]))
                at = t + 1
            if col + repeat > at:
                out.append(_repeat_cell(row[c.start() : close], c, col + repeat - at))
            edits.append((c.start(), close, "".join(out)))
        col += repeat
        pos = close
    return spliced(row, edits)


def _repeat_cell(text: str, m: re.Match, n: int) -> str:
    attrs = _set_attr(m.group(2), _REPEAT_COLS, str(n) if n > 1 else None)
    return f"<table:{m.group(1)}{attrs}{m.group(3)}>" + text[m.end() - m.start() :]


def _empty_cells(n: int) -> str:
    return f'<table:table-cell table:number-columns-repeated="{n}"/>' if n > 1 else "<table:table-cell/>"


def _cell(kind: str, attrs: str, inner: str, value: Any) -> str:
    """A cell element with ``value``, keeping its other attributes and its comment."""
    _check_tag(attrs)  # refuses attributes this patcher would misread
    # Most written cells hold one paragraph and no comment: the patterns only when needed
    # (10,900 formula cells get their cached result at 200 indicators).
    if "<office:annotation" in inner:
        annotations = "".join(_ANNOTATION.findall(inner))
        rest = _ANNOTATION.sub("", inner)
    else:
        annotations, rest = "", inner
    if rest and not _PARAGRAPHS.match(rest):
        raise OdsPatchError("a written cell holds a drawing or other content")
    pairs = _ATTR.findall(attrs)
    cached = isinstance(value, Cached)
    if cached:
        value = value.value
        if not any(k == "table:formula" for k, _ in pairs):
            raise OdsPatchError("a cached result for a cell with no formula")
    kept = "".join(
        f' {k}="{v}"' for k, v in pairs if k not in _VALUE_ATTRS and (cached or k != "table:formula")
    )
    typed, paragraphs = _value_xml(value, cached)
    body = annotations + paragraphs
    return f"<table:{kind}{kept}{typed}>{body}</table:{kind}>" if body else f"<table:{kind}{kept}{typed}/>"


#: Types whose ``repr`` tells apart every way a value is written (1, 1.0, True, Decimal("1.50")).
_PLAIN = (str, int, float, Decimal, bool, type(None))
_VALUE_XML: dict[tuple[type, str, bool], tuple[str, str]] = {}


def _value_xml(value: Any, cached: bool) -> tuple[str, str]:
    """A value's attributes and paragraphs, worked out once per distinct value: a calculate
    writes the same few results (a light, 100, "") into thousands of cells."""
    key = (value.__class__, value if value.__class__ is str else repr(value), cached)
    found = _VALUE_XML.get(key)
    if found is None:
        typed, text = _typed(value, cached)
        paragraphs = (
            "".join(f"<text:p>{_text(line)}</text:p>" for line in text.split("\n"))
            if text is not None
            else ""
        )
        found = (typed, paragraphs)
        if value.__class__ in _PLAIN and len(_VALUE_XML) < 4096:  # bounded in a long-lived process
            _VALUE_XML[key] = found
    return found


def _typed(value: Any, cached: bool) -> tuple[str, str | None]:
    """The value attributes and the shown text of ``value``."""
    if value is None or (value == "" and not cached):
        return "", None
    if isinstance(value, bool):
        word = "true" if value else "false"
        return f' office:value-type="boolean" office:boolean-value="{word}" calcext:value-type="boolean"', (
            "TRUE" if value else "FALSE"
        )
    if isinstance(value, (int, float, Decimal)):
        number = _number(value)
        return f' office:value-type="float" office:value="{number}" calcext:value-type="float"', number
    text = str(value)
    string_value = f' office:string-value="{_escape(text)}"' if cached else ""
    return f' office:value-type="string"{string_value} calcext:value-type="string"', text


def _number(value: int | float | Decimal) -> str:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise OdsPatchError("a number no cell can hold")
        value = Decimal(repr(value))
    d = Decimal(value)
    text = format(d.normalize(), "f") if d == d.to_integral_value() else format(d, "f")
    return "0" if text in ("-0", "") else text


_SPACES = re.compile(r"^ +| {2,}|\t")
#: Characters XML 1.0 cannot carry (a vertical tab pasted from Word): written as a space.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(line: str) -> str:
    """One paragraph's text.  ODF collapses runs of spaces and drops leading ones, so
    those are written as ``text:s`` (and a tab as ``text:tab``)."""
    line = _ILLEGAL.sub(" ", line)
    if " " not in line and "\t" not in line:  # a number, a word, a sentence without spaces
        return _escape(line)
    out, pos = [], 0
    for m in _SPACES.finditer(line):
        out.append(_escape(line[pos : m.start()]))
        run = m.group(0)
        if run == "\t":
            out.append("<text:tab/>")
        else:
            keep = "" if m.start() == 0 else " "  # one space of a run in the text stays a space
            n = len(run) - len(keep)
            out.append(keep + (f'<text:s text:c="{n}"/>' if n > 1 else "<text:s/>"))
        pos = m.end()
    out.append(_escape(line[pos:]))
    return "".join(out)


def _escape(text: str) -> str:
    text = _ILLEGAL.sub(" ", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _check_tag(attrs: str) -> None:
    # Every tag this patcher walks passes here: single quotes, or a ">" inside a quoted value
    # (which would cut the tag short: an odd count of quotes), are another writer's layout.
    if "='" in attrs or attrs.count('"') % 2:
        raise OdsPatchError("a tag this patcher cannot read")


def _attr(attrs: str, name: str) -> str | None:
    _check_tag(attrs)
    if f'{name}="' not in attrs:  # absent: no need to split every attribute out
        return None
    for k, v in _ATTR.findall(attrs):
        if k == name:
            return v
    return None


def _set_attr(attrs: str, name: str, value: str | None) -> str:
    """``attrs`` with ``name`` set to ``value`` (removed when None), other attributes as they were."""
    rest = re.sub(rf'\s{re.escape(name)}="[^"]*"', "", attrs) if f'{name}="' in attrs else attrs
    return rest + (f' {name}="{value}"' if value is not None else "")
