"""The look of every sheet, defined once: one CJK font, thin borders, clear input cells,
the lights' colours, the error rule and the page setup.

The values are openpyxl style objects and plain records; :mod:`workbook.form.sheet_xlsx`
renders them as XlsxWriter formats (new files) and :mod:`workbook.form.sheet_openpyxl` sets
them on openpyxl cells (a sheet rebuilt inside a workbook being repaired).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

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
    """Apply the house style to one openpyxl cell (the openpyxl backend, for a rebuilt sheet)."""
    cell.font = font
    cell.alignment = align
    if fill is not None:
        cell.fill = fill
    if border:
        cell.border = BORDER
    if fmt:
        cell.number_format = fmt


class Look(NamedTuple):
    """How one cell looks, in the style objects above; each backend renders it its own way."""

    font: Font = BODY
    fill: PatternFill | None = None
    align: Alignment = WRAP
    border: bool = True
    fmt: str | None = None
    locked: bool = True

    def key(self) -> tuple:
        """A cheap cache key: the style objects are shared constants (hashing them is what made
        openpyxl slow), so their identities name them."""
        return (id(self.font), id(self.fill), id(self.align), self.border, self.fmt, self.locked)


#: A cell staff type into: pale yellow, unlocked under sheet protection.  General shows
#: every digit typed: a 9.5 must not print as 10 beside its error.
INPUT = Look(fill=INPUT_FILL, align=CENTER, fmt="General", locked=False)
INPUT_TEXT = INPUT._replace(fmt="@", align=WRAP)


@dataclass(frozen=True)
class Rule:
    """A conditional format: ``equal`` (the cell equals ``formula``, a constant) or
    ``formula`` (true while ``formula``, without ``=``, is), in ``fill`` and ``font``."""

    kind: str
    formula: str
    fill: PatternFill
    font: Font
    stop: bool = False


#: The lights' conditional-format fill and font, made once.
_LIGHT_LOOKS = {
    code: (PatternFill("solid", fgColor=fill, bgColor=fill), Font(color=font, bold=True))
    for code, (fill, font) in LIGHT_COLOURS.items()
}


def light_rules(labels: dict[str, str]) -> list[Rule]:
    """Colour light cells by their text (綠燈, 黃燈 …)."""
    return [Rule("equal", f'"{text}"', *_LIGHT_LOOKS[code]) for code, text in labels.items()]


def error_rule(condition: str) -> Rule:
    """Red while ``condition`` (formula text without ``=``) is true.

    Conditional formats recompute with every edit in Excel and LibreOffice alike, so an
    input cell shows its own error the moment it is typed, before any calculate.
    """
    return Rule("formula", condition, ERROR_FILL, ERROR_FONT, stop=True)


@dataclass
class PageSetup:
    """How a sheet prints: A4 (or A3), fit to one page wide and ``fit_height`` pages tall
    (0: as many as needed), centred, margins and footer below; or at ``scale`` % with
    ``title_rows``/``title_cols`` repeated on every page (:meth:`Sheet.readable_print`)."""

    landscape: bool = False
    paper: int = 9  # Excel's paperSize: 9 A4, 8 A3
    fit_height: int = 0
    scale: int | None = None
    title_rows: tuple[int, int] | None = None
    title_cols: tuple[int, int] | None = None


MARGINS = {"left": 0.5, "right": 0.5, "top": 0.6, "bottom": 0.6}  # room for rows; the footer sits in 0.3
HEADER_MARGIN = FOOTER_MARGIN = 0.3
FOOTER = "&C&A　第 &P 頁，共 &N 頁"  # centred: the sheet name and page numbers


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


#: Paper sizes (Excel's paperSize codes) → (short, long) side in points.
PAPER_PT = {9: (595, 842), 8: (842, 1191)}  # A4, A3


def printable_points(setup: PageSetup) -> tuple[float, float]:
    """(width, height) in points a page prints within, between its margins."""
    short, long = PAPER_PT.get(setup.paper, PAPER_PT[9])
    wide, tall = (long, short) if setup.landscape else (short, long)
    return wide - 72 * (MARGINS["left"] + MARGINS["right"]), tall - 72 * (MARGINS["top"] + MARGINS["bottom"])


def column_points(width: float | None) -> float:
    """How wide a column of ``width`` characters prints, in points (at 100 %)."""
    return ((width or 8.43) * 7 + 5) * 0.75  # characters → pixels → points
