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
#: What follows a tag at once is taken with it, so the loop sees a third fewer tokens: a cell's
#: end tag right away (group 4: the cell holds nothing) or after one plain paragraph (group 5),
#: then the row's end tag (group 6).
_TOKEN = re.compile(
    rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*)>"
    rb"(?:(\s*</table:(?:covered-)?table-cell>)|(<text:p>[^<]*</text:p></table:(?:covered-)?table-cell>))?"
    rb"(</table:table-row>)?"
)
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


@dataclass
class ContentScan:
    """What :func:`scan` found."""

    tables: list[TableScan]
    #: named range → its ``table:cell-range-address`` (entities resolved)
    names: dict[str, str]
    #: automatic table styles that hide their sheet (``table:display="false"``)
    hidden_styles: set[str]


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
    tables: list[TableScan] = []
    current: TableScan | None = None
    formulas: dict[tuple[int, int], bytes] = {}
    row = col = row_repeat = 1
    row_end = 0  # the farthest filled column of the current row
    # No token starts before the first table tag: the automatic styles (a third of a form's
    # content.xml) are not searched.
    starts = [at for at in (xml.find(b"<table:"), xml.find(b"</table:")) if at >= 0]
    tokens = _TOKEN.findall(xml, min(starts, default=len(xml)))
    # What a cell's attributes say, worked out once per distinct attributes: a form repeats
    # the same few cell tags (style, type) on every sheet.
    known: dict[bytes, tuple[int, bool, bool, dict[str, str] | None, bytes | None]] = {}
    for closing, kind, attrs, closed_at_once, _, row_closed in tokens:
        if closing or current is None or kind == b"table-row" or kind == b"table":
            if attrs and (attrs.count(b'"') % 2 or b"'" in attrs):
                return None  # a ">" inside a quoted value, or single quotes: parse it properly
            if closing:
                if kind == b"table":
                    current = None
                elif kind == b"table-row":
                    row_closed = b">"
                # else a cell's end tag
            elif kind == b"table":
                current = _table(attrs)
                formulas = current.formulas
                tables.append(current)
                row = 1
            elif current is not None:  # a row
                row_repeat = _count(attrs, _ROWS_REPEATED) if b"rows-repeated" in attrs else 1
                col, row_end = 1, 0
                if attrs[-1:] == b"/":  # a row without cells ends here
                    row += row_repeat
        else:  # a cell
            info = known.get(attrs)
            if info is None:
                if attrs and (attrs.count(b'"') % 2 or b"'" in attrs):
                    return None
                info = known[attrs] = _cell(attrs)
            repeat, typed, open_tag, spans, formula = info
            if typed or (open_tag and not closed_at_once):  # a value, or content
                row_end = col + repeat - 1
            if spans is not None:
                _merges(current, spans, row, col, row_repeat, repeat)
            if formula is not None:  # decoded only when asked (formula_text): most are results
                if repeat == 1 and row_repeat == 1:
                    formulas[(row, col)] = formula
                else:
                    for dr in range(min(row_repeat, 1000)):  # repeated: each copy holds it (bounded)
                        for dc in range(min(repeat, 1000)):
                            formulas[(row + dr, col + dc)] = formula
            col += repeat
        if row_closed and current is not None:  # the row's end tag
            if row_end:
                current.rows = row + row_repeat - 1
                if row_end > current.cols:
                    current.cols = row_end
            row += row_repeat
    return ContentScan(tables, _names(xml), _hidden_styles(xml))


def _cell(attrs: bytes) -> tuple[int, bool, bool, dict[str, str] | None, bytes | None]:
    """A cell tag's repeat, whether it has a value type, whether it is a start tag (may hold
    content), its attributes when it spans others, and its formula as written."""
    found = _FORMULA.search(attrs) if b"table:formula" in attrs else None
    return (
        _count(attrs, _COLUMNS_REPEATED) if b"columns-repeated" in attrs else 1,
        b"office:value-type" in attrs,
        attrs[-1:] != b"/",
        attributes(attrs) if b"spanned" in attrs else None,
        found.group(1) if found else None,
    )


def _table(attrs: bytes) -> TableScan:
    a = attributes(attrs)
    return TableScan(a.get("table:name", ""), a)


def _merges(table: TableScan, a: dict[str, str], row: int, col: int, rows: int, cols: int) -> None:
    spans = (int(a.get("table:number-rows-spanned", "1")), int(a.get("table:number-columns-spanned", "1")))
    if spans == (1, 1):
        return
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
        return {_decode(name): _decode(address) for name, address in usual}
    out = {}
    for m in _RANGE_TAG.finditer(xml, first):
        name, address = _NAME.search(m.group(1)), _ADDRESS.search(m.group(1))
        if name and address:
            out[_decode(name.group(1))] = _decode(address.group(1))
    return out


def _hidden_styles(xml: bytes) -> set[str]:
    """Automatic styles that hide a sheet: found by their rare property, then their name."""
    out: set[str] = set()
    first = xml.find(b"<style:table-properties")  # as _names: the pattern from the first one on
    for m in _HIDDEN_TABLE.finditer(xml, max(first, 0)) if first >= 0 else ():
        start = xml.rfind(b"<style:style", 0, m.start())
        tag = _STYLE_START.match(xml, start) if start >= 0 else None
        if tag:
            out.add(_decode(tag.group(1)))
    return out


def formula_text(raw: bytes) -> str:
    """A scanned ``table:formula`` as its text (entities resolved)."""
    return _decode(raw)


#: An ampersand that does not start one of the entities XML itself defines (content.xml may
#: declare no others: the guard refuses a DTD): a character reference, or a damaged file.
_OTHER_AMPERSAND = re.compile(rb"&(?!(?:quot|amp|lt|gt|apos);)")


def _decode(raw: bytes) -> str:
    if b"&" not in raw:
        return raw.decode("utf-8", "replace")
    # Formulas hold &amp; (joins), &quot; and &lt;/&gt;: replaced in the bytes (&amp; last),
    # which gives what html.unescape gives at a third of its cost (a Python call per entity);
    # the entities are ASCII, so no character straddles one.
    if _OTHER_AMPERSAND.search(raw):
        import html  # only here: html.entities takes 1.5 ms to load

        return html.unescape(raw.decode("utf-8", "replace"))
    return (
        raw.replace(b"&quot;", b'"')
        .replace(b"&apos;", b"'")
        .replace(b"&lt;", b"<")
        .replace(b"&gt;", b">")
        .replace(b"&amp;", b"&")
        .decode("utf-8", "replace")
    )
