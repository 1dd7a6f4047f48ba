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
from workbook.formats.zips import ZipRewriteError, fast_zlib, rewrite_members

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
_ROW_START = b"<table:table-row"
#: What may follow a tag's name (``(?=[\s/>])`` of a bytes pattern).
_NAME_ENDS = frozenset(b" \t\n\r\f\v/>")
_ROW_END = "</table:table-row>"
_ROW_END_BYTES = _ROW_END.encode("ascii")
#: A cell's start tag: its attributes, a closing "/" included (greedy: a lazy ``[^>]*?`` before
#: ``/?>`` retried at every character of a long formula).
_CELL_TAG = re.compile(r"<table:(table-cell|covered-table-cell)(?=[\s/>])([^>]*)>")
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
#: A start tag's attributes as LibreOffice and this product write them: `` name="value"`` each.
_CANONICAL = re.compile(r'(?: [\w:.-]+="[^"]*")*')
_VALUE_KEYS = "|".join(sorted(_VALUE_ATTRS))
#: Over canonical attributes, pair by pair: a value attribute (and for a typed-in value, the
#: formula) matches the first branch and goes; any other pair is group 1 and stays.
_KEEP_FORMULA = re.compile(rf' (?:{_VALUE_KEYS})="[^"]*"|( [\w:.-]+="[^"]*")')
_KEEP_VALUE = re.compile(rf' (?:{_VALUE_KEYS}|table:formula)="[^"]*"|( [\w:.-]+="[^"]*")')
_HAS_FORMULA = re.compile(r'(?: [\w:.-]+="[^"]*")*? table:formula="')
_REPEAT_COLS = "table:number-columns-repeated"
_END_TAGS = {kind: f"</table:{kind}>" for kind in ("table-cell", "covered-table-cell")}
_REPEAT_ROWS = "table:number-rows-repeated"
_REPEAT_ROWS_BYTES = _REPEAT_ROWS.encode("ascii")
#: The one attribute :func:`_set_attr` replaces, of each name it is asked for.
_ATTR_OF = {name: re.compile(rf'\s{re.escape(name)}="[^"]*"') for name in (_REPEAT_COLS, _REPEAT_ROWS)}
_ATTR_BYTES = re.compile(_ATTR.pattern.encode("ascii"))


#: The level for the patched content.xml: 3 deflates a 200-indicator form's 12 MB in half the
#: time of the default 6 (zlib: 0.022 against 0.045 CPU-s; zlib-ng: 0.014), the .ods growing
#: from 0.54 to 0.73-0.77 MB, the size of the same workbook as .xlsx (issue 24: the .ods
#: calculate as fast as the .xlsx one).
CONTENT_LEVEL = 3


def patch_ods(
    data: bytes, cells: Mapping[Cell, Any], content: bytes | None = None, scanned: Any = None
) -> bytes:
    """The package ``data`` with ``cells`` written: (sheet, row, column) → value or :class:`Cached`.

    Values are text, numbers, booleans or ``None`` (an empty cell); text is never a
    formula.  ``content``: the package's ``content.xml`` as the guard read it and
    :func:`workbook.formats.ods_scan.scan` trusted it (else it is read and checked here);
    ``scanned``: that scan, whose formula cells' spans are written in place.
    Raises :class:`OdsPatchError` when the layout is beyond this patcher.
    """
    if content is None:
        content, scanned = _inflated(data, "content.xml"), None
        if not trustworthy(content):  # text in a comment or CDATA, or odd prefixes, looks like tags
            raise OdsPatchError("content.xml cannot be read by its tags")
    # At 1,000 indicators content.xml is 56 MB: its pieces (views of it and the rewritten
    # rows) are compressed one by one, never joined into a second copy.
    patched = _patch_pieces(content, cells, scanned)
    try:
        return rewrite_members(data, {"content.xml": patched}, level=CONTENT_LEVEL, deflater=fast_zlib())
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


def _patch_pieces(xml: bytes, cells: Mapping[Cell, Any], scanned: Any = None) -> list[Any]:
    """``content.xml`` with ``cells`` written, walked as UTF-8 bytes: its pieces in order.

    Only the rows written are decoded: the whole text as a ``str`` would be twice its bytes
    (the sheet names and labels are CJK), and each copy of it counts at 1,000 indicators.
    The tags are ASCII, so the patterns find the same elements in the bytes.  ``scanned``:
    :func:`workbook.formats.ods_scan.scan` of these bytes; its tables are taken where it found
    them, and a row whose written cells are all cached results in formula cells it spanned is
    not walked: those cells are written in place (:func:`_in_place`).
    """
    if b"<office:spreadsheet>" not in xml:
        raise OdsPatchError("content.xml uses other namespace prefixes")
    by_sheet: dict[str, dict[tuple[int, int], Any]] = {}
    for (sheet, row, col), value in cells.items():
        by_sheet.setdefault(sheet, {})[(row, col)] = value
    edits: list[tuple[int, int, bytes]] = []
    if scanned is not None and scanned.in_place:  # the same start tags _TABLE_BYTES finds, found already
        tables = [(_TABLE_BYTES.match(xml, t.start), t.cells) for t in scanned.tables]
    else:
        tables = [(m, None) for m in _TABLE_BYTES.finditer(xml)]
    for m, spans in tables:
        if m is None:
            continue
        name = m.group(1).decode("utf-8")
        if "&" in name:
            from html import unescape  # only here: html.entities takes 1.5 ms to load

            name = unescape(name)
        if name not in by_sheet:
            continue
        end = xml.find(_TABLE_END_BYTES, m.end())
        if end < 0:
            raise OdsPatchError(f"table {name} has no end")
        wanted = by_sheet.pop(name)
        if spans:
            wanted = _in_place(xml, spans, wanted, edits)
        if wanted:
            edits += _patch_table(xml, m.end(), end, wanted)
    if by_sheet:
        raise OdsPatchError(f"no such sheet: {', '.join(by_sheet)}")
    return pieces(xml, edits)


def _in_place(
    xml: bytes,
    spans: Mapping[tuple[int, int], tuple[int, int]],
    wanted: dict[tuple[int, int], Any],
    edits: list[tuple[int, int, bytes]],
) -> dict[tuple[int, int], Any]:
    """The cached results of ``wanted`` in spanned formula cells written in place (into
    ``edits``), row by row; the cells of the other rows, left for the row walk.

    What the walk would write there, byte for byte: a cell alone in its row's walk is written
    by :func:`_cell` from its attributes and content, which the scan's span holds whole.
    """
    walked = {r for (r, c), v in wanted.items() if v.__class__ is not Cached or (r, c) not in spans}
    rest = {}
    find, ends, starts = xml.find, xml.endswith, xml.startswith
    for at, value in wanted.items():
        if at[0] in walked:
            rest[at] = value
            continue
        start, stop = spans[at]
        gt = find(b">", start, stop)  # no ">" inside a value: the scan trusted these tags
        typed, tail = _cached_bytes(value.value)
        if (
            stop - gt - 1 == len(tail) > len(_CELL_END_BYTES)  # (no paragraph: _cell closes it at once)
            and starts(tail, gt + 1)
            and ends(typed, start, gt)
            and _kept_whole(xml, start + len(_CELL_START), gt - len(typed))
        ):
            continue  # its attributes end with the value's, the rest kept whole, and the same text
        new = _cached_cell(xml, start, gt, stop, value)
        if new != xml[start:stop]:
            edits.append((start, stop, new))
    return rest


_CELL_START = b"<table:table-cell"
_CELL_END_BYTES = b"</table:table-cell>"
_VALUE_KEYS_BYTES = _VALUE_KEYS.encode("ascii")
#: A formula cell's attributes that :func:`_kept` keeps whole: canonical pairs, none of a value,
#: one of them the formula.
_ALL_KEPT = re.compile(
    rb'(?: (?!(?:%s)=")[\w:.-]+="[^"]*")*? table:formula="[^"]*"(?: (?!(?:%s)=")[\w:.-]+="[^"]*")*'
    % (_VALUE_KEYS_BYTES, _VALUE_KEYS_BYTES)
)
_CANONICAL_BYTES = re.compile(_CANONICAL.pattern.encode("ascii"))
_HAS_FORMULA_BYTES = re.compile(_HAS_FORMULA.pattern.encode("ascii"))
_KEEP_FORMULA_BYTES = re.compile(_KEEP_FORMULA.pattern.encode("ascii"))
#: Canonical pairs, none of a value.
_NO_VALUE = re.compile(rb'(?: (?!(?:%s)=")[\w:.-]+="[^"]*")*' % _VALUE_KEYS_BYTES)
_FORMULA_PAIR = b' table:formula="'


def _formula_pair(text: bytes, start: int, stop: int) -> tuple[int, int]:
    """Where the first `` table:formula="…"`` in ``text[start:stop]`` begins and ends (-1: none).

    The patterns over a cell's attributes walk its formula (400 bytes, most of them) character
    by character; around it, they check only what stands before and after: the same answer
    whenever the formula stands where a pair begins (else they run over all of it, as before).
    """
    at = text.find(_FORMULA_PAIR, start, stop)
    end = text.find(b'"', at + len(_FORMULA_PAIR), stop) + 1 if at >= 0 else 0
    return (at, end) if end else (-1, -1)


def _kept_whole(xml: bytes, start: int, stop: int) -> bool:
    """Does :func:`_kept` keep the attributes ``xml[start:stop]`` of a cached result's cell whole
    (canonical pairs, none of a value, one of them the formula: :data:`_ALL_KEPT`)?"""
    at, end = _formula_pair(xml, start, stop)
    if at >= 0 and _NO_VALUE.fullmatch(xml, start, at) and _NO_VALUE.fullmatch(xml, end, stop):
        return True
    return _ALL_KEPT.fullmatch(xml, start, stop) is not None


def _cached_cell(xml: bytes, start: int, gt: int, stop: int, value: Cached) -> bytes:
    """The formula cell ``xml[start:stop]`` (its start tag ending at ``gt``, then nothing or one
    paragraph, then its end tag) showing ``value``, as :func:`_cell` writes it."""
    typed, tail = _cached_bytes(value.value)
    attrs = xml[start + len(_CELL_START) : gt]
    at, end = _formula_pair(attrs, 0, len(attrs))
    if at >= 0 and _CANONICAL_BYTES.fullmatch(attrs, 0, at) and _CANONICAL_BYTES.fullmatch(attrs, end):
        # canonical, with the formula as a pair: _kept_pairs' quick path, around the formula
        kept = b"".join(
            (
                *_KEEP_FORMULA_BYTES.findall(attrs, 0, at),
                attrs[at:end],
                *_KEEP_FORMULA_BYTES.findall(attrs, end),
            )
        )
    elif _CANONICAL_BYTES.fullmatch(attrs) and _HAS_FORMULA_BYTES.match(attrs):  # _kept_pairs' quick path
        kept = b"".join(_KEEP_FORMULA_BYTES.findall(attrs))
    else:
        inner = xml[gt + 1 : stop - len(_CELL_END_BYTES)].decode("utf-8")
        return _cell("table-cell", attrs.decode("utf-8"), inner, value).encode("utf-8")
    # as _cell closes it: an end tag after paragraphs, else none
    return b"".join((_CELL_START, kept, typed, b"/>" if tail == _CELL_END_BYTES else b">" + tail))


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
    find = xml.find
    while rows:
        # The next row's start tag, found with bytes.find (what _ROW matches, at memchr speed).
        at = find(_ROW_START, pos, end)
        while at >= 0 and xml[at + len(_ROW_START)] not in _NAME_ENDS:
            at = find(_ROW_START, at + len(_ROW_START), end)
        gt = find(b">", at, end) if at >= 0 else -1
        if gt < 0:  # past the table's last row: new rows after it
            if last is None:
                raise OdsPatchError("a table without rows")
            edits.append((last, last, _new_rows(row, rows).encode("utf-8")))
            break
        empty = xml[gt - 1] == 0x2F  # "/>": a row element without cells
        attrs = xml[at + len(_ROW_START) : gt - 1 if empty else gt]
        close = gt + 1 if empty else find(_ROW_END_BYTES, gt, end) + len(_ROW_END_BYTES)
        if close <= gt:
            raise OdsPatchError("a row has no end")
        repeat = int(_attr_bytes(attrs, _REPEAT_ROWS_BYTES) or b"1")
        hit = ordered[bisect_left(ordered, row) : bisect_left(ordered, row + repeat)]
        if hit:
            text = _split_row(xml[at:close].decode("utf-8"), row, repeat, rows, hit)
            edits.append((at, close, text.encode("utf-8")))
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
    if repeat == 1 and f'{_REPEAT_ROWS}="' not in text[: text.find(">")]:  # one row, as it is
        return _patch_row(text, rows[first])
    out, at = [], first
    alone = _with_repeat(text, 1)  # each row written: one of the run, walked once per set of columns
    layouts: dict[tuple[int, ...], Layout] = {}
    for r in hit:
        if r > at:
            out.append(_with_repeat(text, r - at))
        cols = tuple(sorted(rows[r]))
        layout = layouts.get(cols) or layouts.setdefault(cols, _row_layout(alone, list(cols)))
        out.append(_filled(alone, layout, rows[r]))
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
    return _filled(row, _row_layout(row, sorted(wanted)), wanted)


#: Where a row element's cells are written: (start, stop, pieces) of its text to replace, each
#: piece a text or, where a cell is written, (its kind, its attributes, its content, its column).
Layout = list[tuple[int, int, list[Any]]]


def _filled(row: str, layout: Layout, wanted: dict[int, Any]) -> str:
    """``row`` with each cell of ``layout`` written holding its value of ``wanted``."""
    return spliced(
        row,
        [
            (
                start,
                stop,
                "".join(p if p.__class__ is str else _cell(p[0], p[1], p[2], wanted[p[3]]) for p in parts),
            )
            for start, stop, parts in layout
        ],
    )


def _row_layout(row: str, targets: list[int]) -> Layout:
    """Where the cells at the columns ``targets`` (ascending) of ``row`` are written: a run split
    around them, cells added past the row's end (the values are :func:`_filled` in)."""
    m = _ROW.match(row)
    assert m is not None
    if m.group(2):
        raise OdsPatchError("an empty row element")
    body_start, body_end = m.end(), len(row) - len(_ROW_END)
    edits: Layout = []
    col, pos = 1, body_start
    i = 0  # walked in order: the next target is found without a scan of all
    while i < len(targets):
        c = _CELL_TAG.search(row, pos, body_end)
        if c is None:  # past the row's last cell: fill the gap, then the cells
            out: list[Any] = []
            at = col
            for target in targets[i:]:
                if target > at:
                    out.append(_empty_cells(target - at))
                out.append(("table-cell", "", "", target))
                at = target + 1
            edits.append((body_end, body_end, out))
            break
        kind, attrs = c.groups()
        start, slash = c.start(), attrs.endswith("/")
        if slash:
            attrs, close, inner = attrs[:-1], c.end(), ""
        else:
            end_tag = _END_TAGS[kind]
            close = row.find(end_tag, c.end(), body_end)
            if close < 0:
                raise OdsPatchError("a cell has no end")
            inner = row[c.end() : close]
            close += len(end_tag)
        repeated = _REPEAT_COLS in attrs
        if repeated:
            repeat = int(_attr(attrs, _REPEAT_COLS) or "1")
        elif "='" in attrs or attrs.count('"') % 2:  # what _attr refuses in every tag it reads
            raise OdsPatchError("a tag this patcher cannot read")
        else:
            repeat = 1
        if targets[i] == col and repeat == 1:  # the usual: one cell, written alone
            i += 1
            if kind != "table-cell":
                raise OdsPatchError("a written cell is covered by a merged cell")
            # (a result shown already as calculate writes it is the same text again)
            edits.append(
                (
                    start,
                    close,
                    [(kind, _set_attr(attrs, _REPEAT_COLS, None) if repeated else attrs, inner, col)],
                )
            )
        elif targets[i] < col + repeat:
            stop = bisect_left(targets, col + repeat, i)
            hit, i = targets[i:stop], stop
            if kind != "table-cell":
                raise OdsPatchError("a written cell is covered by a merged cell")
            rest = row[c.end() : close]  # what follows the start tag, end tag included
            out, at = [], col
            alone = _set_attr(attrs, _REPEAT_COLS, None)  # each cell written: one of the run
            for t in hit:
                if t > at:
                    out.append(_repeat_cell(kind, attrs, slash, rest, t - at))
                out.append((kind, alone, inner, t))
                at = t + 1
            if col + repeat > at:
                out.append(_repeat_cell(kind, attrs, slash, rest, col + repeat - at))
            edits.append((start, close, out))
        col += repeat
        pos = close
    return edits


def _repeat_cell(kind: str, attrs: str, slash: bool, rest: str, n: int) -> str:
    """The cell (start tag's ``attrs``, then ``rest``) as a run of ``n``."""
    attrs = _set_attr(attrs, _REPEAT_COLS, str(n) if n > 1 else None)
    return f"<table:{kind}{attrs}{'/' if slash else ''}>{rest}"


def _empty_cells(n: int) -> str:
    return f'<table:table-cell table:number-columns-repeated="{n}"/>' if n > 1 else "<table:table-cell/>"


def _cell(kind: str, attrs: str, inner: str, value: Any) -> str:
    """A cell element with ``value``, keeping its other attributes and its comment."""
    # Its attributes were checked as the row walk read them (what _check_tag refuses).
    # Most written cells hold one paragraph and no comment: the patterns only when needed
    # (10,900 formula cells get their cached result at 200 indicators).
    if value is None and not inner:  # an empty cell left empty (3,791 of calculate's writes at 200)
        return f"<table:{kind}{_kept(attrs, False)}/>"
    if "<office:annotation" in inner:
        annotations = "".join(_ANNOTATION.findall(inner))
        rest = _ANNOTATION.sub("", inner)
    else:
        annotations, rest = "", inner
    if rest and not _PARAGRAPHS.match(rest):
        raise OdsPatchError("a written cell holds a drawing or other content")
    cached = isinstance(value, Cached)
    kept = _kept(attrs, cached)
    typed, paragraphs = _value_xml(value.value if cached else value, cached)
    body = annotations + paragraphs
    return f"<table:{kind}{kept}{typed}>{body}</table:{kind}>" if body else f"<table:{kind}{kept}{typed}/>"


def _kept(attrs: str, cached: bool) -> str:
    """The attributes a written cell keeps: not its value's, nor its formula unless it gets a
    cached result (which must then have one)."""
    if cached:  # a formula's attributes are its own: nothing to reuse
        return _kept_pairs(attrs, cached)
    found = _KEPT_TYPED.get(attrs)
    if found is None:
        found = _kept_pairs(attrs, cached)
        if len(_KEPT_TYPED) < 4096:  # bounded in a long-lived process
            _KEPT_TYPED[attrs] = found
    return found


#: A typed-in cell's kept attributes by its attributes: calculate writes thousands of cells
#: of a few styles.
_KEPT_TYPED: dict[str, str] = {}


def _kept_pairs(attrs: str, cached: bool) -> str:
    if _CANONICAL.fullmatch(attrs):  # as written by LibreOffice and this product: pair by pair, at C speed
        if cached and not _HAS_FORMULA.match(attrs):
            raise OdsPatchError("a cached result for a cell with no formula")
        return "".join((_KEEP_FORMULA if cached else _KEEP_VALUE).findall(attrs))
    pairs = _ATTR.findall(attrs)
    if cached and not any(k == "table:formula" for k, _ in pairs):
        raise OdsPatchError("a cached result for a cell with no formula")
    return "".join(
        f' {k}="{v}"' for k, v in pairs if k not in _VALUE_ATTRS and (cached or k != "table:formula")
    )


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


_CACHED_BYTES: dict[tuple[type, str], tuple[bytes, bytes]] = {}


def _cached_bytes(value: Any) -> tuple[bytes, bytes]:
    """A cached result's attributes, and its paragraphs with the cell's end tag, as UTF-8."""
    key = (value.__class__, value if value.__class__ is str else repr(value))
    found = _CACHED_BYTES.get(key)
    if found is None:
        typed, paragraphs = _value_xml(value, True)
        found = (typed.encode("utf-8"), (paragraphs + "</table:table-cell>").encode("utf-8"))
        if value.__class__ in _PLAIN and len(_CACHED_BYTES) < 4096:  # bounded, as _VALUE_XML
            _CACHED_BYTES[key] = found
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


def _attr_bytes(attrs: bytes, name: bytes) -> bytes | str | None:
    """:func:`_attr` of a tag's attributes as bytes (the rows walked are not decoded)."""
    if not attrs.isascii():  # a pattern's \w is ASCII in bytes, Unicode in text: read as text
        return _attr(attrs.decode("utf-8"), name.decode("ascii"))
    if b"='" in attrs or attrs.count(b'"') % 2:
        raise OdsPatchError("a tag this patcher cannot read")
    if name + b'="' not in attrs:
        return None
    for k, v in _ATTR_BYTES.findall(attrs):
        if k == name:
            return v
    return None


def _set_attr(attrs: str, name: str, value: str | None) -> str:
    """``attrs`` with ``name`` set to ``value`` (removed when None), other attributes as they were."""
    rest = _ATTR_OF[name].sub("", attrs) if f'{name}="' in attrs else attrs
    return rest + (f' {name}="{value}"' if value is not None else "")
