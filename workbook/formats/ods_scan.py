"""One quick pass over an .ods ``content.xml``: sheets, filled extent, merges and names.

Parsing a form's ``content.xml`` (400 KB) into a tree takes ~14 ms and the guard's
iterparse another ~12 ms, against ~1.4 ms for python-calamine to read every value: so a
collect of .ods returns was several times slower than of .xlsx.  What the guard and a
values-only :class:`~workbook.books.ods.OdsBook` need is structure only, which a scan
of the tags gives.

The scan is trusted only where a tag scan cannot be fooled; otherwise :func:`scan`
returns ``None`` and the caller parses the XML properly:

* the table namespace is bound once, to the prefix ``table:`` (any other binding could
  hide cells from the patterns);
* there is no comment, CDATA section or processing instruction after the XML declaration
  (text in them looks like tags);
* attribute values are matched as quoted strings, so a ``>`` inside one ends nothing.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field

#: Namespaces the patterns name by their usual prefix: each must be bound once, to it.
PREFIXES = {
    b"table": b"urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    b"style": b"urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    b"office": b"urn:oasis:names:tc:opendocument:xmlns:office:1.0",
}
PREFIX_OF = {uri: prefix for prefix, uri in PREFIXES.items()}

#: The tags that matter, at memchr speed: a literal start, and ``[^>]*`` for the attributes
#: (a ``>`` inside a quoted value would cut it short: an odd count of quotes shows that).
#: What stands next to a tag is taken with it, so the loop sees a third as many tokens: a row's
#: start tag right before (group 1, its attributes); a cell's end tag (group 8) right after
#: (group 7, the space before it: the cell holds nothing) or after one plain or empty paragraph;
#: then the row's end tag (group 9), after the empty cells LibreOffice repeats to the sheet's
#: end (no value, no style: they fill nothing, and the row ends with them).
#: A formula where LibreOffice writes it (first, or after the style) stands apart (group 5), and
#: the attributes after it (group 6): :func:`scan` reads such a cell from them, without looking
#: through the 400 bytes of its tag (a formula's tag is new each time, so :func:`_cell`'s
#: results, kept by tag, were worked out again for each of the 6,101 at 200 indicators).
_TOKEN = re.compile(
    rb"<(?:table:table-row(?=[\s>])((?:[^>]*[^>/])?)><)?"
    rb"(/?)table:(table-cell|table-row|covered-table-cell|table)(?=[\s/>])"
    rb'((?:(?: table:style-name="[\w.-]*")? table:formula="([^"]*)"([^>]*)|[^>]*))>'
    rb"(?:(?:(\s*)|<text:p>[^<]*</text:p>|<text:p/>)(</table:(?:covered-)?table-cell>))?"
    rb'((?:<table:table-cell table:number-columns-repeated="[0-9]+"/>)?</table:table-row>)?'
)
#: Where the first table tag may begin (one pass: two ``bytes.find`` walked the styles twice).
_FIRST_TAG = re.compile(rb"</?table:")
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_REPEAT = re.compile(rb"\s*=\s*\"([^\"]*)\"")
_FORMULA = re.compile(rb"(?:^|\s)table:formula\s*=\s*\"([^\"]*)\"")
_ROWS_REPEATED = b"table:number-rows-repeated"
_COLUMNS_REPEATED = b"table:number-columns-repeated"


@dataclass
class TableScan:
    """One ``table:table``: its attributes, the farthest filled cell, and its merges."""

    name: str
    attrs: dict[str, str]
    rows: int = 0  # the farthest row holding a filled cell
    cols: int = 0  # the farthest column holding a filled cell, in any row
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    #: (row, col) → ``table:formula`` as written (``of:=1+1``, raw bytes; :func:`formula_text`):
    #: collect sees a formula typed into a count
    formulas: dict[tuple[int, int], bytes] = field(default_factory=dict)
    #: where its start tag begins in the scanned bytes
    start: int = 0
    #: (row, col) → where a formula cell's element begins and ends in the scanned bytes, for a
    #: cell alone (no repeat, in a row without one) that holds nothing or one paragraph
    #: without markup: the patcher writes its cached result there (:attr:`ContentScan.in_place`)
    cells: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    #: formula cells whose start tag marks their cached result an error: LibreOffice stores
    #: "#DIV/0!" as an empty text with ``calcext:value-type="error"`` (python-calamine reads it empty)
    errors: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class ContentScan:
    """What :func:`scan` found."""

    tables: list[TableScan]
    #: named range → its ``table:cell-range-address`` (entities resolved)
    names: dict[str, str]
    #: automatic table styles that hide their sheet (``table:display="false"``)
    hidden_styles: set[str]
    #: May :attr:`TableScan.cells` be written in place?  Each table and cell tag was read as the
    #: patcher reads it: no table inside a table, no ``<`` inside a tag, every repeat written
    #: `` table:number-…-repeated="n"``.  (Else the patcher walks the rows, as for any content.)
    in_place: bool = False


def attributes(raw: bytes) -> dict[str, str]:
    """A tag's attributes (qualified name → value, entities resolved)."""
    out = {}
    for key, dq, sq in _ATTR.findall(raw):
        out[key.decode("ascii", "replace")] = _decode(dq if dq or not sq else sq)
    return out


_DECLARATION = re.compile(rb"xmlns(?::([\w.-]+))?\s*=\s*[\"']([^\"']*)[\"']")


def _markup_declaration(xml: bytes, start: int) -> bool:
    """Is there a ``<?`` (processing instruction) or ``<!`` (comment, CDATA, DTD) after ``start``?

    Found from the rare ``?`` and ``!``: searching for ``<?`` stops at every tag.
    """
    for mark in (b"?", b"!"):
        at = xml.find(mark, max(start, 1))
        while at >= 0:
            if xml[at - 1] == 0x3C:  # "<"
                return True
            at = xml.find(mark, at + 1)
    return False


def trustworthy(xml: bytes) -> bool:
    """May the tags of ``xml`` be read by pattern (see the module docstring)?"""
    start = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") and b"?>" in xml[:200] else 0
    if _markup_declaration(xml, start):
        return False
    bound: dict[bytes, int] = {}
    for prefix, uri in _DECLARATION.findall(xml):
        wanted = PREFIXES.get(prefix)
        if uri in PREFIX_OF or wanted is not None:
            if wanted != uri or PREFIX_OF.get(uri) != prefix:
                return False  # one of these namespaces under another prefix, or the prefix rebound
            bound[prefix] = bound.get(prefix, 0) + 1
    return all(bound.get(prefix) == 1 for prefix in PREFIXES)


def scan(xml: bytes) -> ContentScan | None:
    """Sheets, the farthest filled cell of each, merges, named ranges and hidden sheet styles.

    ``None`` when the content is not :func:`trustworthy`.  A cell is filled when it has a
    value type or any content, as LibreOffice repeats only empty cells to a sheet's end.
    """
    if not trustworthy(xml):
        return None
    # The loop makes a tuple per token, formula and span (~45,000 at 200 indicators), none in a
    # cycle: the collections they would set off find nothing (~2 ms of the scan's ~48).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _scan(xml)
    finally:
        if collecting:
            gc.enable()


def _scan(xml: bytes, *, quick: bool = True) -> ContentScan | None:
    """:func:`scan` of content that is :func:`trustworthy`.  ``quick``: a formula cell as
    LibreOffice writes it is read from the bytes after its formula (else every cell tag goes
    through :func:`_cell`, the general way, which the tests hold the quick one to)."""
    tables: list[TableScan] = []
    current: TableScan | None = None
    formulas: dict[tuple[int, int], bytes] = {}
    cells: dict[tuple[int, int], tuple[int, int]] = {}
    errors: set[tuple[int, int]] = set()
    row = col = row_repeat = 1
    row_end = 0  # the farthest filled column of the current row
    row_alone = False  # the current row has no repeat attribute: its formula cells' spans are kept
    in_place = True
    # No token starts before the first table tag: the automatic styles (a third of a form's
    # content.xml) are not searched.
    first = _FIRST_TAG.search(xml)
    # What a cell's attributes say, worked out once per distinct attributes: a form repeats
    # the same few cell tags (style, type) on every sheet.
    known: dict[bytes, tuple[int, bool, bool, tuple[int, int] | None, bytes | None, bool]] = {}
    rows_known: dict[bytes, tuple[bool, int, bool]] = {}  # the same for row tags
    for m in _TOKEN.finditer(xml, first.start() if first else len(xml)):
        row_attrs, closing, kind, attrs, formula, after, space, cell_end, row_closed = m.groups()
        if formula is not None and b">" in formula:
            return None  # the tag read to that ">", as before: an odd count of quotes
        if row_attrs is not None:  # a row's start tag, then this token
            row_info = rows_known.get(row_attrs)
            if row_info is None:
                if row_attrs.count(b'"') % 2 or b"'" in row_attrs:
                    return None
                row_info = rows_known[row_attrs] = _row(row_attrs)
            if current is not None:
                row_alone, row_repeat, plain = row_info
                in_place = in_place and plain
                col, row_end = 1, 0
        if closing or current is None or kind == b"table-row" or kind == b"table":
            if attrs and (attrs.count(b'"') % 2 or b"'" in attrs):
                return None  # a ">" inside a quoted value, or single quotes: parse it properly
            if b"<" in attrs:
                in_place = False
            if closing:
                if kind == b"table":
                    current = None
                elif kind == b"table-row":
                    row_closed = b">"
                # else a cell's end tag
            elif kind == b"table":
                in_place = in_place and current is None  # a table inside a table
                current = _table(attrs)
                current.start = m.start(2) - 1  # its "<" (after a row start tag taken with it)
                formulas, cells, errors = current.formulas, current.cells, current.errors
                tables.append(current)
                row = 1
            elif current is not None:  # a row
                row_alone, row_repeat, plain = _row(attrs)
                in_place = in_place and plain
                col, row_end = 1, 0
                if attrs[-1:] == b"/":  # a row without cells ends here
                    row += row_repeat
        else:  # a cell
            if (
                quick
                and formula is not None
                and b"'" not in attrs
                and b"<" not in attrs
                and b"columns-repeated" not in attrs
                and b"spanned" not in after
                and not after.count(b'"') % 2
            ):
                # A formula cell as LibreOffice writes it (_TOKEN): what _cell would say of its
                # tag, from the few bytes after the formula.  What the formula may hold does not
                # change that ("spanned" read in it gives no span: the attributes have none; its
                # ">" was refused above), but for "columns-repeated", which _cell heeds anywhere.
                repeat, merge, alone = 1, None, True
                open_tag = attrs[-1:] != b"/"
                filled = (open_tag and space is None) or b"office:value-type" in attrs
            else:
                info = known.get(attrs)
                if info is None:
                    if attrs and (attrs.count(b'"') % 2 or b"'" in attrs):
                        return None
                    info = known[attrs] = _cell(attrs)
                    in_place = in_place and (
                        info[5] or (b"<" not in attrs and _written_plainly(attrs, _COLUMNS_REPEATED))
                    )
                repeat, typed, open_tag, merge, formula, alone = info
                filled = typed or (open_tag and space is None)
            if filled:  # a value, or content
                row_end = col + repeat - 1
            if merge is not None:
                _merges(current, merge, row, col, row_repeat, repeat)
            if formula is not None:  # decoded only when asked (formula_text): most are results
                error = _ERROR in attrs
                if repeat == 1 and row_repeat == 1:
                    formulas[row, col] = formula
                    if error:
                        errors.add((row, col))
                    # written alone: the patcher may write its result in place
                    if (
                        alone
                        and row_alone
                        and open_tag
                        and kind == b"table-cell"
                        and cell_end == _CELL_END
                        and not space
                    ):
                        cells[row, col] = (m.start(2) - 1, m.end(8))
                else:
                    for dr in range(min(row_repeat, 1000)):  # repeated: each copy holds it (bounded)
                        for dc in range(min(repeat, 1000)):
                            formulas[(row + dr, col + dc)] = formula
                            if error:
                                errors.add((row + dr, col + dc))
            col += repeat
        if row_closed and current is not None:  # the row's end tag
            if row_end:
                current.rows = row + row_repeat - 1
                if row_end > current.cols:
                    current.cols = row_end
            row += row_repeat
    return ContentScan(tables, _names(xml), _hidden_styles(xml), in_place)


_CELL_END = b"</table:table-cell>"
#: In a formula cell's start tag: ``calcext:value-type="error"`` (:attr:`TableScan.errors`).
_ERROR = b'"error"'


def _row(attrs: bytes) -> tuple[bool, int, bool]:
    """A row tag: whether it has no repeat attribute, its repeat, and whether it is read as the
    patcher reads it (:attr:`ContentScan.in_place`)."""
    alone = b"rows-repeated" not in attrs
    plain = b"<" not in attrs and (alone or _written_plainly(attrs, _ROWS_REPEATED))
    return alone, 1 if alone else _count(attrs, _ROWS_REPEATED), plain


def _cell(attrs: bytes) -> tuple[int, bool, bool, tuple[int, int] | None, bytes | None, bool]:
    """A cell tag's repeat, whether it has a value type, whether it is a start tag (may hold
    content), the rows and columns it spans when it spans others, its formula as written, and
    whether it has no repeat nor ``<`` (:attr:`ContentScan.in_place`)."""
    repeated = b"columns-repeated" in attrs
    return (
        _count(attrs, _COLUMNS_REPEATED) if repeated else 1,
        b"office:value-type" in attrs,
        attrs[-1:] != b"/",
        _spanned(attrs) if b"spanned" in attrs else None,
        _formula(attrs),
        b"<" not in attrs and not repeated,
    )


def _formula(attrs: bytes) -> bytes | None:
    """The ``table:formula`` of a cell tag's attributes, as written."""
    at = attrs.find(b"table:formula")
    if at < 0:
        return None
    if attrs[at - 1 : at] == b" " and attrs[at + 13 : at + 15] == b'="':  # as LibreOffice writes it
        return attrs[at + 15 : attrs.find(b'"', at + 15)]
    found = _FORMULA.search(attrs)
    return found.group(1) if found else None


def _table(attrs: bytes) -> TableScan:
    a = attributes(attrs)
    return TableScan(a.get("table:name", ""), a)


def _spanned(attrs: bytes) -> tuple[int, int] | None:
    """The rows and columns a cell tag spans, None for itself alone."""
    a = attributes(attrs)
    spans = (int(a.get("table:number-rows-spanned", "1")), int(a.get("table:number-columns-spanned", "1")))
    return None if spans == (1, 1) else spans


def _merges(table: TableScan, spans: tuple[int, int], row: int, col: int, rows: int, cols: int) -> None:
    """The merge of a cell spanning ``spans`` (rows, columns), each copy of a repeated one."""
    for dr in range(min(rows, 1000)):  # a merged cell repeated: each copy is a merge (bounded)
        for dc in range(min(cols, 1000)):
            r, c = row + dr, col + dc
            table.merged.append((r, c, r + spans[0] - 1, c + spans[1] - 1))


def _count(attrs: bytes, key: bytes) -> int:
    """A repeat count; :class:`ValueError` when it is not a number (a damaged file)."""
    at = attrs.find(key)
    if at < 0:
        return 1
    m = _REPEAT.match(attrs, at + len(key))
    if not m:
        raise ValueError(f"{key.decode()} without a value")
    return int(m.group(1))


def _written_plainly(attrs: bytes, key: bytes) -> bool:
    """Is the repeat :func:`_count` reads written `` key="…"``, as the patcher reads it (by name)?"""
    at = attrs.find(key)
    return at > 0 and attrs[at - 1 : at] == b" " and attrs[at + len(key) : at + len(key) + 2] == b'="'


_RANGE_TAG = re.compile(rb"<table:named-range\s([^>]*)>")
_NAME = re.compile(rb'(?:^|\s)table:name="([^"]*)"')
_ADDRESS = re.compile(rb'(?:^|\s)table:cell-range-address="([^"]*)"')
_HIDDEN_TABLE = re.compile(rb"<style:table-properties\s[^>]*table:display=\"false\"")
_STYLE_START = re.compile(rb'<style:style\s[^>]*style:name="([^"]*)"')


#: How LibreOffice writes a named range: read in one pass when every range is written so.
_RANGE_AS_WRITTEN = re.compile(
    rb'<table:named-range table:name="([^"]*)" table:base-cell-address="[^"]*" '
    rb'table:cell-range-address="([^"]*)"/>'
)


def _names(xml: bytes) -> dict[str, str]:
    # Searched from the first range (bytes.find: the patterns would walk every tag before it).
    first = xml.find(b"<table:named-range")
    if first < 0:
        return {}
    usual = _RANGE_AS_WRITTEN.findall(xml, first)
    if len(usual) == xml.count(b"<table:named-range ", first):
        texts = decode_all([part for pair in usual for part in pair])
        return dict(zip(texts[::2], texts[1::2], strict=True))
    out = {}
    for m in _RANGE_TAG.finditer(xml, first):
        name, address = _NAME.search(m.group(1)), _ADDRESS.search(m.group(1))
        if name and address:
            out[_decode(name.group(1))] = _decode(address.group(1))
    return out


def _hidden_styles(xml: bytes) -> set[str]:
    """Automatic styles that hide a sheet: found by their rare property, then their name."""
    out: set[str] = set()
    # As _names: the pattern from the first one on, and only through the automatic styles (where
    # the parser reads them), not the sheets after them.
    first = xml.find(b"<style:table-properties")
    if first < 0:
        return out
    stop = xml.find(b"</office:automatic-styles>", first)
    for m in _HIDDEN_TABLE.finditer(xml, first, stop if stop >= 0 else len(xml)):
        start = xml.rfind(b"<style:style", 0, m.start())
        tag = _STYLE_START.match(xml, start) if start >= 0 else None
        if tag:
            out.add(_decode(tag.group(1)))
    return out


def formula_text(raw: bytes) -> str:
    """A scanned ``table:formula`` as its text (entities resolved)."""
    return _decode(raw)


def decode_all(raws: list[bytes]) -> list[str]:
    """:func:`formula_text` of each of ``raws`` (the named ranges and their addresses), decoded
    together: a few calls per form rather than two per name (5,000 at 200 indicators)."""
    joined = b"\0".join(raws)
    # NUL stands in no XML text, so it parts them again; an entity never spans it; the five
    # replaces and the UTF-8 decoding (a bad byte's U+FFFD too) work alike on each or on all.
    if joined.count(b"\0") != len(raws) - 1 or _OTHER_AMPERSAND.search(joined):
        return [_decode(raw) for raw in raws]
    return _decode(joined).split("\0")


#: An ampersand that does not start one of the entities XML itself defines (content.xml may
#: declare no others: the guard refuses a DTD): a character reference, or a damaged file.
_OTHER_AMPERSAND = re.compile(rb"&(?!(?:quot|amp|lt|gt|apos);)")


def _decode(raw: bytes) -> str:
    if b"&" not in raw:
        return raw.decode("utf-8", "replace")
    # Formulas hold &amp; (joins), &quot; and &lt;/&gt;: replaced in the text (&amp; last),
    # which gives what html.unescape gives at a third of its cost (a Python call per entity);
    # the entities are ASCII, so no character straddles one (nor a bad byte's U+FFFD).
    text = raw.decode("utf-8", "replace")
    if _OTHER_AMPERSAND.search(raw):
        import html  # only here: html.entities takes 1.5 ms to load

        return html.unescape(text)
    return (
        text.replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )
