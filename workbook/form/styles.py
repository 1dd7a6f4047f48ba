"""The look of every sheet: one CJK font, thin borders, and clear input cells."""

from __future__ import annotations

from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.worksheet.worksheet import Worksheet

#: 標楷體 is what Taiwanese government documents print in; Excel on Windows has it.
FONT_NAME = "標楷體"

_thin = Side(style="thin", color="808080")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
TITLE = Font(name=FONT_NAME, size=16, bold=True)
HEADING = Font(name=FONT_NAME, size=12, bold=True)
BODY = Font(name=FONT_NAME, size=11)
SMALL = Font(name=FONT_NAME, size=9, color="555555")
HEADER_FILL = PatternFill("solid", fgColor="D9E2F3")
LABEL_FILL = PatternFill("solid", fgColor="F2F2F2")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # pale yellow: "type here"
RESULT_FILL = PatternFill("solid", fgColor="E2EFDA")
WRAP = Alignment(wrap_text=True, vertical="top")
WRAP_MID = Alignment(wrap_text=True, vertical="center")
LEFT = Alignment(horizontal="left", vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
UNLOCKED = Protection(locked=False)

#: Light label → (fill colour, font colour), shared by conditional formats and reports.
LIGHT_COLOURS = {
    "green": ("63BE7B", "000000"),
    "yellow": ("FFEB84", "000000"),
    "red": ("F8696B", "FFFFFF"),
    "white": ("FFFFFF", "000000"),
}


def style(cell, *, font=BODY, fill=None, align=WRAP, border=True, fmt: str | None = None) -> None:
    """Apply the house style to one cell."""
    cell.font = font
    cell.alignment = align
    if fill is not None:
        cell.fill = fill
    if border:
        cell.border = BORDER
    if fmt:
        cell.number_format = fmt


def input_cell(cell, fmt: str = "General") -> None:
    """Style a cell staff type into and unlock it under sheet protection.

    General shows every digit typed: a 9.5 must not print as 10 beside its error.
    """
    style(cell, fill=INPUT_FILL, align=CENTER, fmt=fmt)
    cell.protection = UNLOCKED


def light_rules(ws: Worksheet, ref: str, labels: dict[str, str]) -> None:
    """Colour light cells by their text (綠燈, 黃燈 …) with conditional formatting."""
    for code, text in labels.items():
        fill, font = LIGHT_COLOURS[code]
        ws.conditional_formatting.add(
            ref,
            CellIsRule(
                operator="equal",
                formula=[f'"{text}"'],
                fill=PatternFill("solid", fgColor=fill, bgColor=fill),
                font=Font(color=font, bold=True),
            ),
        )


def page_setup(ws: Worksheet, *, landscape: bool = False) -> None:
    """A4, fit to one page wide, centred, with a repeated footer."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.oddFooter.center.text = "&A　第 &P 頁，共 &N 頁"


def row_height(cells: list[tuple[str, float]], line: float = 16.0) -> float:
    """A row height that shows wrapped text in full: CJK characters take two width units."""
    lines = 1
    for text, width in cells:
        per_line = max(1, int(width - 1))
        count = sum(
            max(1, -(-int(sum(2 if ord(ch) > 0x2E80 else 1.1 for ch in part)) // per_line))
            for part in text.split("\n")
        )
        lines = max(lines, count)
    return line * lines + 6
