"""One quick pass over an .ods ``content.xml``: sheets, filled extent, merges and names.

Parsing a form's ``content.xml`` (400 KB) into a tree takes ~14 ms and the guard's
iterparse another ~12 ms, against ~1.4 ms for python-calamine to read every value: so a
collect of .ods returns was several times slower than of .xlsx.  What the guard and a
values-only :class:`~workbook.clients.ods.OdsBook` need is structure only, which a scan
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

import html
import re
from dataclasses import dataclass, field

#: Namespaces the patterns name by their usual prefix: each must be bound once, to it.
PREFIXES = {
    b"table": b"urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    b"style": b"urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    b"office": b"urn:oasis:names:tc:opendocument:xmlns:office:1.0",
}

_ATTRS = rb"(?:\s+[\w:.-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*"
#: The tags that matter, at memchr speed: a literal start, and ``[^>]*`` for the attributes
#: (a ``>`` inside a quoted value would cut it short: an odd count of quotes shows that).
_TOKEN = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*)>")
_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_NAMED_RANGE = re.compile(rb"<table:named-range(" + _ATTRS + rb")/?>")
_STYLE = re.compile(rb"<style:style(" + _ATTRS + rb")>(.*?)</style:style>", re.S)
_HIDDEN = re.compile(rb"<style:table-properties" + rb"[^>]*?table:display\s*=\s*[\"']false[\"']")
_REPEAT = re.compile(rb"\s*=\s*\"([^\"]*)\"")


@dataclass
class TableScan:
    """One ``table:table``: its attributes, the farthest filled cell, and its merges."""

    name: str
    attrs: dict[str, str]
    rows: int = 0  # the farthest row holding a filled cell
    cols: int = 0  # the farthest column holding a filled cell, in any row
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)


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
        value = (dq if dq or not sq else sq).decode("utf-8", "replace")
        out[key.decode("ascii", "replace")] = html.unescape(value) if "&" in value else value
    return out


def trustworthy(xml: bytes) -> bool:
    """May the tags of ``xml`` be read by pattern (see the module docstring)?"""
    body = xml[xml.index(b"?>") + 2 :] if xml.startswith(b"<?xml") and b"?>" in xml[:200] else xml
    if b"<?" in body or b"<!" in body:  # a processing instruction, comment, CDATA or DTD
        return False
    return all(
        xml.count(uri) == 1 and xml.count(b"xmlns:" + prefix + b'="' + uri + b'"') == 1
        for prefix, uri in PREFIXES.items()
    )


def scan(xml: bytes) -> ContentScan | None:
    """Sheets, the farthest filled cell of each, merges, named ranges and hidden sheet styles.

    ``None`` when the content is not :func:`trustworthy`.  A cell is filled when it has a
    value type or any content, as LibreOffice repeats only empty cells to a sheet's end.
    """
    if not trustworthy(xml):
        return None
    tables: list[TableScan] = []
    current: TableScan | None = None
    row = col = row_repeat = 1
    row_end = 0  # the farthest filled column of the current row
    for m in _TOKEN.finditer(xml):
        closing, kind, attrs = m.groups()
        if attrs.count(b'"') % 2 or b"'" in attrs:
            return None  # a ">" inside a quoted value, or single quotes: parse it properly
        empty = attrs.endswith(b"/")
        if kind == b"table":
            if closing:
                current = None
            else:
                a = attributes(attrs)
                current = TableScan(a.get("table:name", ""), a)
                tables.append(current)
                row = 1
        elif current is None:
            continue
        elif kind == b"table-row":
            if not closing:
                row_repeat, col, row_end = _count(attrs, b"table:number-rows-repeated"), 1, 0
            if closing or empty:
                if row_end:
                    current.rows = row + row_repeat - 1
                    current.cols = max(current.cols, row_end)
                row += row_repeat
        elif not closing:  # a cell
            repeat = _count(attrs, b"table:number-columns-repeated")
            has_content = not empty and not xml.startswith(b"</table:" + kind + b">", m.end())
            if has_content or b"office:value-type" in attrs:
                row_end = col + repeat - 1
            if b"spanned" in attrs:
                _merges(current, attributes(attrs), row, col, row_repeat, repeat)
            col += repeat
    return ContentScan(tables, _names(xml), _hidden_styles(xml))


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


def _names(xml: bytes) -> dict[str, str]:
    out = {}
    for m in _NAMED_RANGE.finditer(xml):
        a = attributes(m.group(1))
        out[a.get("table:name", "")] = a.get("table:cell-range-address", "")
    return out


def _hidden_styles(xml: bytes) -> set[str]:
    start = xml.find(b"<office:automatic-styles")
    end = xml.find(b"</office:automatic-styles>", start)
    if start < 0 or end < 0:
        return set()
    out = set()
    for m in _STYLE.finditer(xml, start, end):
        if _HIDDEN.search(m.group(2)):
            out.add(attributes(m.group(1)).get("style:name", ""))
    return out
