"""The look of every sheet: one CJK font, thin borders, and clear input cells."""

from __future__ import annotations

from openpyxl.formatting.rule import CellIsRule, FormulaRule
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
    # 白燈 (no data, bad data or not assessed) is a pale grey with grey text: never white on white.
    "white": ("E7E6E6", "404040"),
}
#: An input cell whose own check fails, and the 資料有誤 status: Excel's light red with dark red text.
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE", bgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006", bold=True)


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


def error_rule(ws: Worksheet, ref: str, condition: str) -> None:
    """Turn ``ref`` red while ``condition`` (formula text without ``=``) is true.

    Conditional formats recompute with every edit in Excel and LibreOffice alike, so an
    input cell shows its own error the moment it is typed, before any calculate.
    """
    ws.conditional_formatting.add(
        ref, FormulaRule(formula=[condition], fill=ERROR_FILL, font=ERROR_FONT, stopIfTrue=True)
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
    ws.page_margins.top = ws.page_margins.bottom = 0.6  # room for rows; the footer sits in 0.3
    ws.page_margins.header = ws.page_margins.footer = 0.3
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


#: Paper sizes (openpyxl's paperSize codes) → (short, long) side in points.
_PAPER_PT = {9: (595, 842), 8: (842, 1191)}  # A4, A3


def printable_points(ws: Worksheet) -> tuple[float, float]:
    """(width, height) in points a page of ``ws`` prints within, between its margins."""
    short, long = _PAPER_PT.get(int(ws.page_setup.paperSize or 9), _PAPER_PT[9])
    wide, tall = (long, short) if ws.page_setup.orientation == "landscape" else (short, long)
    m = ws.page_margins
    return wide - 72 * (m.left + m.right), tall - 72 * (m.top + m.bottom)


def columns_points(ws: Worksheet) -> float:
    """How wide the visible columns of ``ws`` print, in points (at 100 %)."""
    from openpyxl.utils import get_column_letter

    width = 0.0
    for col in range(1, (ws.max_column or 1) + 1):
        dim = ws.column_dimensions[get_column_letter(col)]
        if not dim.hidden:
            width += ((dim.width or 8.43) * 7 + 5) * 0.75  # characters → pixels → points
    return width


def page_rows_points(ws: Worksheet) -> float:
    """How many points of rows one printed page holds, at the scale fitting the page width."""
    wide, tall = printable_points(ws)
    width = columns_points(ws)
    return tall / min(1.0, wide / width) if width else tall


def readable_print(ws: Worksheet, min_scale: int = 70) -> None:
    """Print a wide sheet at ``min_scale`` % or more: fit to the page width only while that
    keeps the text readable; else print at ``min_scale`` % across pages, repeating the frozen
    columns and rows (the ids, names and header) on every page.
    """
    from openpyxl.utils import column_index_from_string, get_column_letter

    printable = printable_points(ws)[0]
    width_pt = columns_points(ws)
    if width_pt <= 0 or printable / width_pt * 100 >= min_scale:
        return
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_setup.scale = min_scale
    if ws.freeze_panes:
        letters = "".join(ch for ch in ws.freeze_panes if ch.isalpha())
        row = int("".join(ch for ch in ws.freeze_panes if ch.isdigit()))
        last_col = column_index_from_string(letters) - 1
        if last_col >= 1:
            ws.print_title_cols = f"A:{get_column_letter(last_col)}"
        if row > 1:
            ws.print_title_rows = f"1:{row - 1}"
