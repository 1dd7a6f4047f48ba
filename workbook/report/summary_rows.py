"""A summary table's body rows, each written as one piece of sheet XML (XlsxWriter, ``constant_memory``).

XlsxWriter writes a cell through a decorator, a dimension check, a tuple in its row table
and, when the next row starts, an attribute list escaped value by value: ~6 µs a cell, and
a 1,000-return summary has 220,000 cells (two thirds of the summary's time, issue 24).  A
table row here is one format over plain values, so it is written as XlsxWriter writes it,
in one string, into the sheet's own row file: the row's start tag by XlsxWriter
(``_write_row``: the height and the rest as it says them), then the cells, each text's XML
and height worked out once per column (goal, indicator, period and unit names repeat on
every row).  ``tests/test_summary_rows.py`` holds every sheet byte for byte to XlsxWriter's
own cell writing, so a change in XlsxWriter shows there first.
"""

from __future__ import annotations

import io
import math
import re
from decimal import Decimal
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from workbook.collect.text import cell_text
from workbook.form.styles import row_height
from workbook.report.summary_style import put, row_pixels, set_height

#: XlsxWriter's longest string (UTF-16 units); a row with a text that may be longer is
#: written cell by cell, so XlsxWriter cuts it by its own rule.
STRMAX = 32767
#: XlsxWriter's escapes of an inline string (xlsxwriter/xmlwriter.py, ``_escape_control_characters``):
#: a literal ``_xHHHH_`` gets its underscore escaped, then a control character becomes ``_xHHHH_``.
_ESCAPE_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_ESCAPED = re.compile("_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")  # what either escapes
#: A row's least height: one line (``row_height`` of a blank cell).
ONE_LINE = row_height([])


def inline_string(text: str) -> str:
    """What follows ``<c r=… s=…`` for the text ``text``, as XlsxWriter writes an inline string.

    Unlike XlsxWriter, a text that happens to read ``<r>…</r>`` is text too: XlsxWriter would
    copy it into the sheet unescaped, as rich-text XML (an unreadable sheet if it is not).
    """
    if _ESCAPED.search(text):  # rare: looked for once, not three times
        text = _ESCAPE_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    # xml:space where the text starts or ends with white space (XlsxWriter's ^\s and \s$)
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'


def forget_row(ws: Worksheet, row: int) -> None:
    """Let XlsxWriter drop what it keeps of ``row`` (0-based) once the row is on disk.

    In ``constant_memory`` mode a written row is never read again, yet XlsxWriter keeps each
    row's height twice (``row_info``, ``row_sizes``: ~300 bytes a row, 45 MB of a 10,000-return
    summary).  Only for table rows: the 圖表 sheet keeps them, its charts are placed by them.
    """
    ws.row_info.pop(row, None)
    ws.row_sizes.pop(row, None)


class TableRows:
    """Body rows of a sheet, each cell in its column's format, text written as text (an ``=…``
    is never a live formula).

    A table sheet (``widths`` given): each row as tall as its text needs (``styles.row_height``),
    submitted text made fit for a cell (``cell_text``), and XlsxWriter's notes of a row dropped
    once it is on disk (:func:`forget_row`).  The 圖表 sheet (``widths`` None): rows at the
    default height, text as given, every row's note kept (its charts are placed by them).
    """

    LIMIT = 2048  #: values remembered per column at most (unit and file names do not repeat)

    def __init__(self, ws: Worksheet, formats: Format | list[Format], widths: list[float] | None):
        columns = len(formats) if isinstance(formats, list) else len(widths or ())
        self.ws, self.widths = ws, widths
        self.formats = formats if isinstance(formats, list) else [formats] * columns
        self.table = widths is not None
        self.refs = [f'<c r="{xl_col_to_name(c)}' for c in range(columns)]
        self._styles: list[str] = []  # ' s="…"' of each column, once XlsxWriter has numbered the formats
        #: per column: submitted text → (its cell XML after ``r="…"``, the height it needs)
        self._texts: list[dict[str, tuple[str, float]]] = [{} for _ in range(columns)]
        #: per column: a number as shown → the height it needs
        self._numbers: list[dict[str, float]] = [{} for _ in range(columns)]
        #: a row's height in pixels (None: the default) → its start tag after ``r="…"``
        self._starts: dict[int | None, str] = {}

    def write(self, row: int, line: list[Any]) -> None:
        """Row ``row`` (0-based, below every row written before) holding ``line``'s values."""
        ws = self.ws
        if row > ws.previous_row:
            ws._write_single_row(row)  # what XlsxWriter still holds (the header) goes first
            if self.table:
                forget_row(ws, row - 1)  # on disk
        if not self._styles:  # numbered as XlsxWriter numbers them: when first written, in order
            self._styles = [f' s="{f._get_xf_index()}"' for f in self.formats]
        widths = self.widths or [0.0] * len(line)
        tails = []
        tallest = ONE_LINE
        for value, style, texts, numbers, width in zip(
            line, self._styles, self._texts, self._numbers, widths, strict=True
        ):
            if value is None or value == "":
                tails.append(style + "/>")
                continue
            if isinstance(value, str):
                known = texts.get(value)
                if known is None:
                    if len(value) > STRMAX // 2:
                        return self._by_cell(row, line)
                    known = _remember(texts, value, self._text(style, value, width))
                tail, height = known
            else:
                if isinstance(value, bool):
                    tail = f'{style} t="b"><v>{int(value)}</v></c>'
                elif isinstance(value, (int, float, Decimal)) and math.isfinite(value):
                    tail = f"{style}><v>{float(value):.16G}</v></c>"
                else:  # an infinity or another type: shown as text, never dropped (as ``put``)
                    tail = style + inline_string(str(value))
                if not self.table:
                    tails.append(tail)
                    continue
                shown = str(value)
                height = numbers.get(shown)
                if height is None:
                    height = _remember(numbers, shown, row_height([(shown, width)]))
            tails.append(tail)
            if height > tallest:
                tallest = height
        px = row_pixels(tallest) if self.table else None
        start = self._starts.get(px) or self._start(row, px)
        ws._check_dimensions(row, 0)
        ws._check_dimensions(row, len(line) - 1)
        number = f'{row + 1}"'
        cells = "".join([ref + number + tail for ref, tail in zip(self.refs, tails, strict=True)])
        ws.fh.write(f'<row r="{row + 1}"{start}{cells}</row>')

    def _text(self, style: str, value: str, width: float) -> tuple[str, float]:
        """A text's cell XML and height.  In a table, control characters a cell cannot store (a
        line break pasted from Word) are made visible here, at the output, so nothing else changes."""
        if not self.table:
            return style + inline_string(value), 0.0
        shown = cell_text(value)
        return style + inline_string(shown), row_height([(shown, width)])

    def _start(self, row: int, px: int | None) -> str:
        """XlsxWriter's own ``<row>`` start tag for a row ``px`` pixels high (None: the default
        height), after ``r="…"`` (the rest depends on the height alone), asked once per height."""
        ws = self.ws
        if px is not None:
            ws.set_row_pixels(row, px)
        sheet, ws.fh = ws.fh, io.StringIO()
        try:
            ws._write_row(row, None, ws.row_info.get(row))
            tag = ws.fh.getvalue()
        finally:
            ws.fh = sheet
        forget_row(ws, row)  # the row is written here, not when the next one starts
        head = f'<row r="{row + 1}"'
        if not tag.startswith(head):
            raise RuntimeError(f"XlsxWriter wrote a row as {tag!r}")
        start = self._starts[px] = tag[len(head) :]
        return start

    def _by_cell(self, row: int, line: list[Any]) -> None:
        """The row written cell by cell through XlsxWriter (a text it may have to cut)."""
        ws = self.ws
        values = [cell_text(v) for v in line] if self.table else line
        if self.widths is not None:
            texts = ["" if v is None else str(v) for v in values]
            set_height(ws, row, row_height(list(zip(texts, self.widths, strict=True))))
        for col, value in enumerate(values):
            put(ws, row, col, value, self.formats[col])


def _remember(known: dict, key: Any, value: Any) -> Any:
    if len(known) >= TableRows.LIMIT:
        known.clear()
    known[key] = value
    return value
