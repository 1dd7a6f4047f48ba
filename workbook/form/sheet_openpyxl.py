"""The openpyxl backend of :mod:`workbook.form.sheet`: a product sheet rebuilt in place.

``FileBook.rebuild_sheets`` recreates a deleted 填表說明 or 檢核結果 sheet inside the
openpyxl workbook it is repairing; the template builder writes it through this backend,
with the same code that writes a new template through XlsxWriter.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from workbook.form import styles
from workbook.form.sheet import Book, Sheet, Validation
from workbook.form.styles import FOOTER, FOOTER_MARGIN, HEADER_MARGIN, MARGINS, Look, Rule
from workbook.formats.cells import cell_address, column_letters


class OpenpyxlBook(Book):
    """An openpyxl workbook the builder adds sheets to."""

    def __init__(self, wb: Workbook):
        self.wb = wb

    def sheet(self, title: str) -> OpenpyxlSheet:
        return OpenpyxlSheet(self.wb.create_sheet(title))

    def define(self, name: str, sheet: Sheet, row: int, col: int) -> None:
        quoted = sheet.title.replace("'", "''")
        ref = f"'{quoted}'!{cell_address(row, col, absolute=True)}"
        self.wb.defined_names[name] = DefinedName(name, attr_text=ref)

    def activate(self, sheet: Sheet) -> None:
        self.wb.active = self.wb.sheetnames.index(sheet.title)


_SIDE = Side(style="thin", color=styles.BORDER_COLOUR)
_BORDER = Border(left=_SIDE, right=_SIDE, top=_SIDE, bottom=_SIDE)
_UNLOCKED = Protection(locked=False)


# One openpyxl object per house-style record: openpyxl then keeps one style per look.
@cache
def _font(font: styles.Font) -> Font:
    return Font(name=font.name, size=font.size, bold=font.bold or None, color=font.color)


@cache
def _fill(fill: styles.Fill, *, rule: bool = False) -> PatternFill:
    # A conditional format's solid fill is its bgColor (Excel's rule); a cell's is its fgColor.
    if rule:
        return PatternFill("solid", fgColor=fill.colour, bgColor=fill.colour)
    return PatternFill("solid", fgColor=fill.colour)


@cache
def _align(align: styles.Align) -> Alignment:
    return Alignment(horizontal=align.horizontal, vertical=align.vertical, wrap_text=align.wrap or None)


def style(cell: Any, look: Look) -> None:
    """Apply the house ``look`` to one openpyxl cell."""
    cell.font = _font(look.font)
    cell.alignment = _align(look.align)
    if look.fill is not None:
        cell.fill = _fill(look.fill)
    if look.border:
        cell.border = _BORDER
    if look.fmt:
        cell.number_format = look.fmt
    if not look.locked:
        cell.protection = _UNLOCKED


class OpenpyxlSheet(Sheet):
    """One openpyxl worksheet."""

    def __init__(self, ws: Worksheet):
        super().__init__(ws.title)
        self.ws = ws

    def _put(self, row: int, col: int, value: Any, look: Look | None, *, formula: bool) -> None:
        cell = self.ws.cell(row, col)
        cell.value = value
        if isinstance(value, str) and value.startswith("=") and not formula:
            cell.data_type = "s"  # a unit named "=…" is text, not a formula
        if look is not None:
            style(cell, look)

    def _merge(self, r1: int, c1: int, r2: int, c2: int, value: Any, look: Look) -> None:
        self._put(r1, c1, value, look, formula=False)
        self.ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)  # edges get its border

    def _height(self, row: int, points: float) -> None:
        self.ws.row_dimensions[row].height = points

    def _width(self, col: int, chars: float, hidden: bool) -> None:
        dim = self.ws.column_dimensions[column_letters(col)]
        dim.width = chars
        dim.hidden = hidden

    def validate(self, ref: str, rule: Validation) -> None:
        if rule.kind == "list":
            dv = DataValidation(type="list", formula1='"' + ",".join(rule.choices) + '"')
        elif rule.operator == "between":
            dv = DataValidation(
                type=rule.kind, operator="between", formula1=str(rule.low), formula2=str(rule.high)
            )
        else:
            dv = DataValidation(type=rule.kind, operator=rule.operator, formula1=str(rule.low))
        dv.allow_blank = rule.allow_blank
        dv.prompt, dv.promptTitle = rule.prompt or None, rule.prompt_title or None
        dv.error, dv.errorTitle = rule.error or None, rule.error_title or None
        dv.showInputMessage, dv.showErrorMessage = True, rule.show_error
        if rule.stop:
            dv.errorStyle = "stop"
        self.ws.add_data_validation(dv)
        dv.add(ref)

    def conditional(self, ref: str, rule: Rule) -> None:
        fill, font = _fill(rule.fill, rule=True), _font(rule.font)
        if rule.kind == "equal":
            made = CellIsRule(operator="equal", formula=[rule.formula], fill=fill, font=font)
        else:
            made = FormulaRule(formula=[rule.formula], fill=fill, font=font, stopIfTrue=rule.stop)
        self.ws.conditional_formatting.add(ref, made)

    def protect(self, password: str | None) -> None:
        p = self.ws.protection
        p.sheet = True
        if password:
            p.password = password
        p.formatColumns = p.formatRows = False  # staff may resize rows/columns

    def no_gridlines(self) -> None:
        self.ws.sheet_view.showGridLines = False

    def very_hidden(self) -> None:
        self.ws.sheet_state = "veryHidden"

    def _page(self) -> None:
        s, ws = self.setup, self.ws
        ws.page_setup.paperSize = s.paper
        ws.page_setup.orientation = "landscape" if s.landscape else "portrait"
        ws.sheet_properties.pageSetUpPr.fitToPage = not s.scale
        if s.scale:
            ws.page_setup.scale = s.scale
        else:
            ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, s.fit_height
        ws.print_options.horizontalCentered = True
        for side, inches in MARGINS.items():
            setattr(ws.page_margins, side, inches)
        ws.page_margins.header, ws.page_margins.footer = HEADER_MARGIN, FOOTER_MARGIN
        ws.oddFooter.center.text = FOOTER.removeprefix("&C")
        if s.title_rows:
            ws.print_title_rows = f"{s.title_rows[0]}:{s.title_rows[1]}"
        if s.title_cols:
            ws.print_title_cols = f"{column_letters(s.title_cols[0])}:{column_letters(s.title_cols[1])}"

    def _freeze(self, row: int, col: int) -> None:
        self.ws.freeze_panes = cell_address(row, col)

    def _breaks(self) -> None:
        self.ws.row_breaks.append(Break(id=self.breaks[-1]))
