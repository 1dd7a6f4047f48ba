"""The XlsxWriter backend of :mod:`workbook.form.sheet`: how every new workbook is written.

XlsxWriter writes a new workbook with shared formats; openpyxl built an object per cell,
hashed style objects for each and restyled merged cells (over half of a 200-indicator
template's time, issue 24).  Each :class:`~workbook.form.styles.Look` becomes one
XlsxWriter format, made once per workbook.

Formula cells are written with an empty cached value (``<v></v>``, as openpyxl wrote them):
XlsxWriter's default cached 0 would be a result no engine computed, and readers that take
cached values (python-calamine in collect) treat an empty one as "not computed yet".
"""

from __future__ import annotations

import io
import math
import tempfile
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet, re_dynamic_function

from workbook.form.sheet import Book, Sheet, Validation
from workbook.form.styles import (
    BORDER_COLOUR,
    FOOTER,
    FOOTER_MARGIN,
    HEADER_MARGIN,
    MARGINS,
    Font,
    Look,
    Rule,
)
from workbook.formats.cells import cell_address

#: The house style's vertical alignment → XlsxWriter's words.
_VALIGN = {"center": "vcenter", "top": "top", "bottom": "bottom"}
#: openpyxl's operators → XlsxWriter's criteria.
_CRITERIA = {"between": "between", "greaterThanOrEqual": ">="}
_KINDS = {"list": "list", "whole": "integer", "textLength": "length"}
#: XlsxWriter adds 5 pixels of padding to a width given in characters; the file's own width
#: (what openpyxl wrote, and what the page arithmetic uses) already includes it.
_PADDING = 5 / 7


def _font(font: Font) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if font.name:
        props["font_name"] = font.name
    if font.size:
        props["font_size"] = font.size
    if font.bold:
        props["bold"] = True
    if font.color:
        props["font_color"] = "#" + font.color
    return props


def properties(look: Look) -> dict[str, Any]:
    """XlsxWriter format properties of a cell ``look``."""
    props = _font(look.font)
    if look.fill is not None:
        props |= {"pattern": 1, "bg_color": "#" + look.fill.colour}
    align = look.align
    if align.horizontal:
        props["align"] = align.horizontal
    if align.vertical:
        props["valign"] = _VALIGN[align.vertical]
    if align.wrap:
        props["text_wrap"] = True
    if look.border:
        props |= {"border": 1, "border_color": "#" + BORDER_COLOUR}
    if look.fmt:
        props["num_format"] = look.fmt
    if not look.locked:
        props["locked"] = False
    return props


class _Worksheet(Worksheet):
    """XlsxWriter's worksheet, writing every formula exactly as given (as openpyxl did).

    ``_prepare_formula`` runs some 30 (in conditional formats over 100) regular-expression
    passes over every formula to add ``_xlfn.`` prefixes: a third of a 1,000-indicator
    template's time.  :func:`kpi_engine.expr.to_excel` writes the prefixes itself
    (``_xlfn.ISFORMULA``), so only the ``=`` and braces are stripped; a formula with a
    dynamic-array function (none of ours) still goes through XlsxWriter's own code.
    """

    def _prepare_formula(self, formula, expand_future_functions=False):
        if re_dynamic_function.search(formula):
            return super()._prepare_formula(formula, expand_future_functions)
        return formula.removeprefix("{").removeprefix("=").removesuffix("}")


class XlsxBook(Book):
    """A new .xlsx written by XlsxWriter into memory; :meth:`close` returns its bytes."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.wb = xlsxwriter.Workbook(
            self.buffer,
            {
                # Text is text: nothing typed in a plan becomes a formula, number or link.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        # XlsxWriter writes <calcPr fullCalcOnLoad="1"/>: every client computes the formulas on open.
        self.formats: dict[tuple, tuple[Look, Format]] = {}
        self.dxfs: dict[tuple, tuple[Rule, Format]] = {}

    def format(self, look: Look) -> Format:
        """The one format of ``look`` in this workbook."""
        key = look.key()
        if key not in self.formats:  # the look is kept with it, so the ids in the key stay unique
            self.formats[key] = (look, self.wb.add_format(properties(look)))
        return self.formats[key][1]

    def dxf(self, rule: Rule) -> Format:
        """The conditional format of ``rule``'s fill and font."""
        key = (id(rule.fill), id(rule.font))
        if key not in self.dxfs:
            props = _font(rule.font) | {"bg_color": "#" + rule.fill.colour}
            self.dxfs[key] = (rule, self.wb.add_format(props))
        return self.dxfs[key][1]

    def sheet(self, title: str) -> XlsxSheet:
        return XlsxSheet(self, self.wb.add_worksheet(title, worksheet_class=_Worksheet))

    def define(self, name: str, sheet: Sheet, row: int, col: int) -> None:
        quoted = sheet.title.replace("'", "''")
        self.wb.define_name(name, f"='{quoted}'!{cell_address(row, col, absolute=True)}")

    def activate(self, sheet: Sheet) -> None:
        assert isinstance(sheet, XlsxSheet)
        sheet.ws.activate()

    def close(self) -> bytes:
        """Finish the workbook; its bytes.

        Each sheet's XML goes through a temporary file of our own folder, removed whatever
        happens (Ctrl-C included): held in memory, a 1,000-indicator template's XML peaked
        at 240 MiB instead of 169.
        """
        with tempfile.TemporaryDirectory(prefix="kpi-xlsx-") as tmp:
            self.wb.tmpdir = tmp
            self.wb.close()
        return self.buffer.getvalue()


class XlsxSheet(Sheet):
    """One XlsxWriter worksheet (XlsxWriter counts rows and columns from 0)."""

    def __init__(self, book: XlsxBook, ws) -> None:
        super().__init__(ws.name)
        self.book, self.ws = book, ws

    def _put(self, row: int, col: int, value: Any, look: Look | None, *, formula: bool) -> None:
        fmt = self.book.format(look) if look is not None else None
        r, c = row - 1, col - 1
        if formula:
            self.ws.write_formula(r, c, value, fmt, "")
        elif value is None or value == "":
            if fmt is not None:
                self.ws.write_blank(r, c, None, fmt)
        elif isinstance(value, bool):
            self.ws.write_boolean(r, c, value, fmt)
        elif isinstance(value, (int, float)) and math.isfinite(value):
            self.ws.write_number(r, c, value, fmt)
        else:
            self.ws.write_string(r, c, str(value), fmt)

    def _merge(self, r1: int, c1: int, r2: int, c2: int, value: Any, look: Look) -> None:
        fmt = self.book.format(look)
        self.ws.merge_range(r1 - 1, c1 - 1, r2 - 1, c2 - 1, None, fmt)  # blanks in the look
        self._put(r1, c1, value, look, formula=False)  # then the value, typed as _put types it

    def _height(self, row: int, points: float) -> None:
        # XlsxWriter stores whole pixels (0.75 pt), rounded to the nearest; rounded up here, so a
        # row is never shorter than its text needs (a clipped line is lost on paper); at most
        # Excel's 409 pt.
        self.ws.set_row_pixels(row - 1, min(math.ceil(points / 0.75 - 1e-9), int(409 / 0.75)))

    def _width(self, col: int, chars: float, hidden: bool) -> None:
        options = {"hidden": True} if hidden else None
        self.ws.set_column(col - 1, col - 1, chars - _PADDING, None, options)

    def validate(self, ref: str, rule: Validation) -> None:
        options: dict[str, Any] = {
            "validate": _KINDS[rule.kind],
            "ignore_blank": rule.allow_blank,
            "show_input": True,
            "show_error": rule.show_error,
        }
        if rule.kind == "list":
            options["source"] = list(rule.choices)
        elif rule.operator == "between":
            options |= {"criteria": "between", "minimum": rule.low, "maximum": rule.high}
        else:
            options |= {"criteria": _CRITERIA[rule.operator], "value": rule.low}
        for key, text in (
            ("input_title", rule.prompt_title),
            ("input_message", rule.prompt),
            ("error_title", rule.error_title),
            ("error_message", rule.error),
        ):
            if text:
                options[key] = text
        if self.ws.data_validation(ref, options) != 0:  # XlsxWriter warns and skips; we refuse
            raise ValueError(f"data validation refused by XlsxWriter on {self.title}!{ref}: {options}")

    def conditional(self, ref: str, rule: Rule) -> None:
        fmt = self.book.dxf(rule)
        if rule.kind == "equal":
            options = {"type": "cell", "criteria": "equal to", "value": rule.formula, "format": fmt}
        else:
            options = {"type": "formula", "criteria": "=" + rule.formula, "format": fmt}
        if rule.stop:
            options["stop_if_true"] = True
        self.ws.conditional_format(ref, options)

    def protect(self, password: str | None) -> None:
        # As openpyxl wrote it: objects and scenarios open, rows and columns resizable.
        allowed = {"objects": True, "scenarios": True, "format_columns": True, "format_rows": True}
        self.ws.protect(password or "", allowed)

    def no_gridlines(self) -> None:
        self.ws.hide_gridlines(2)

    def very_hidden(self) -> None:
        self.ws.very_hidden()

    def _page(self) -> None:
        s, ws = self.setup, self.ws
        ws.set_paper(s.paper)
        ws.set_landscape() if s.landscape else ws.set_portrait()
        if s.scale:
            ws.fit_page = False
            ws.set_print_scale(s.scale)
        else:
            ws.fit_to_pages(1, s.fit_height)
        ws.center_horizontally()
        ws.set_margins(**MARGINS)
        ws.set_header("", {"margin": HEADER_MARGIN})
        ws.set_footer(FOOTER, {"margin": FOOTER_MARGIN})
        if s.title_rows:
            ws.repeat_rows(s.title_rows[0] - 1, s.title_rows[1] - 1)
        if s.title_cols:
            ws.repeat_columns(s.title_cols[0] - 1, s.title_cols[1] - 1)

    def _freeze(self, row: int, col: int) -> None:
        self.ws.freeze_panes(row - 1, col - 1)

    def _breaks(self) -> None:
        self.ws.set_h_pagebreaks(list(self.breaks))
