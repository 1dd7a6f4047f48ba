"""The look of every sheet, defined once: one CJK font, thin borders, clear input cells,
the lights' colours, the error rule and the page setup.

The values are plain records (:class:`Font`, :class:`Fill`, :class:`Align`), not any
library's objects: :mod:`workbook.form.sheet_xlsx` renders them as XlsxWriter formats (new
files, the summary) and :mod:`workbook.form.sheet_openpyxl` as openpyxl styles (a sheet
rebuilt inside a workbook being repaired).  So a command that writes only with XlsxWriter
(``kpi collect -o S.xlsx``) never imports openpyxl and numpy for its colours (0.11 CPU-s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Font:
    """A cell's font; ``color`` is ``RRGGBB`` (None: the client's default, black)."""

    name: str | None = None
    size: float | None = None
    bold: bool = False
    color: str | None = None


@dataclass(frozen=True)
class Fill:
    """A solid background of colour ``RRGGBB``."""

    colour: str


@dataclass(frozen=True)
class Align:
    """Horizontal (``left``, ``center``) and vertical (``top``, ``center``) alignment, wrapping."""

    horizontal: str | None = None
    vertical: str | None = None
    wrap: bool = False


#: 標楷體 is what Taiwanese government documents print in; Excel on Windows has it.
FONT_NAME = "標楷體"

#: Every bordered cell has thin borders on all four sides in this grey.
BORDER_COLOUR = "808080"
TITLE = Font(name=FONT_NAME, size=16, bold=True)
HEADING = Font(name=FONT_NAME, size=12, bold=True)
BODY = Font(name=FONT_NAME, size=11)
SMALL = Font(name=FONT_NAME, size=9, color="555555")
HEADER_FILL = Fill("D9E2F3")
LABEL_FILL = Fill("F2F2F2")
INPUT_FILL = Fill("FFF2CC")  # pale yellow: "type here"
RESULT_FILL = Fill("E2EFDA")
WRAP = Align(wrap=True, vertical="top")
WRAP_MID = Align(wrap=True, vertical="center")
LEFT = Align(horizontal="left", vertical="center")
CENTER = Align(horizontal="center", vertical="center", wrap=True)

#: Light label → (fill colour, font colour), shared by conditional formats and reports.
LIGHT_COLOURS = {
    "green": ("63BE7B", "000000"),
    "yellow": ("FFEB84", "000000"),
    "red": ("F8696B", "FFFFFF"),
    # 白燈 (no data, bad data or not assessed) is a pale grey with grey text: never white on white.
    "white": ("E7E6E6", "404040"),
}
#: An input cell whose own check fails, and the 資料有誤 status: Excel's light red with dark red text.
ERROR_FILL = Fill("FFC7CE")
ERROR_FONT = Font(color="9C0006", bold=True)


class Look(NamedTuple):
    """How one cell looks, in the style objects above; each backend renders it its own way."""

    font: Font = BODY
    fill: Fill | None = None
    align: Align = WRAP
    border: bool = True
    fmt: str | None = None
    locked: bool = True

    def key(self) -> tuple:
        """A cheap cache key: the style records are shared constants, so their identities name
        them (hashing every record for every cell written is what made openpyxl slow)."""
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
    fill: Fill
    font: Font
    stop: bool = False


#: The lights' conditional-format fill and font, made once.
_LIGHT_LOOKS = {
    code: (Fill(fill), Font(color=font, bold=True)) for code, (fill, font) in LIGHT_COLOURS.items()
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
