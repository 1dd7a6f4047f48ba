"""The summary workbook's look in XlsxWriter terms: each format defined once per workbook.

The house style itself (font, colours, margins) is :mod:`workbook.form.styles`; this module
only says it the way XlsxWriter wants it: a :class:`Format` made once and shared by every
cell that looks alike (openpyxl hashed a set of style objects for every cell: two thirds of
a 1,000-return collect, issue 24), and the page set up as the template's sheets print.
The workbook is written in ``constant_memory`` mode (each row goes to disk as the next one
starts), so everything here is said of a row before its cells are written.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from workbook.form import styles
from workbook.form.sheet_xlsx import properties

#: Centimetres → pixels (96 dpi), for chart sizes given in cm.
CM_PX = 96 / 2.54


def row_pixels(points: float) -> int:
    """``points`` rounded up to XlsxWriter's whole pixels (0.75 pt), as the template's rows are
    (a row is never shorter than its text needs), and at most Excel's 409 points."""
    return min(math.ceil(points / 0.75 - 1e-9), int(409 / 0.75))


def set_height(ws: Worksheet, row: int, points: float) -> None:
    """Row ``row`` (0-based) ``points`` high (:func:`row_pixels`)."""
    ws.set_row_pixels(row, row_pixels(points))


def set_width(ws: Worksheet, first: int, last: int, width: float) -> None:
    """Columns ``first``…``last`` (0-based) ``width`` characters wide as the file states it
    (XlsxWriter adds its 5 px of padding to what it is given: 18 would become 18.71)."""
    ws.set_column(first, last, width - 5 / 7)


class Formats:
    """The summary's cell formats, made once for ``wb`` from the house looks (XlsxWriter
    shares a format by index; :func:`workbook.form.sheet_xlsx.properties` translates a look)."""

    def __init__(self, wb: Workbook):
        def made(**look: Any) -> Format:
            return wb.add_format(properties(styles.Look(**look)))

        #: 績效指標填報彙總: a merged title over the table, no border.
        self.title = made(font=styles.TITLE, align=styles.CENTER, border=False)
        #: A table's header row: bold on the header blue, centred, bordered.
        self.header = made(font=styles.HEADING, fill=styles.HEADER_FILL, align=styles.CENTER)
        #: Body cells: wrapped, top-aligned, bordered.
        self.wrap = made()
        #: Numbers on the 圖表 sheet: centred.
        self.center = made(align=styles.CENTER)
        #: A heading line on the 圖表 sheet: bold, left, no border.
        self.caption = made(font=styles.HEADING, align=styles.LEFT, border=False)
        #: The lights' conditional formats (綠燈 → green …), keyed by light code.
        self.lights = {
            code: wb.add_format({"bg_color": "#" + fill, "font_color": "#" + text, "bold": True})
            for code, (fill, text) in styles.LIGHT_COLOURS.items()
        }


def page_setup(ws: Worksheet) -> None:
    """A4 landscape, one page wide, centred, the sheet name and page numbers in the footer:
    the house page (``styles.MARGINS``, ``FOOTER``) as the template's sheets print."""
    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(**styles.MARGINS)
    ws.set_header("", {"margin": styles.HEADER_MARGIN})
    ws.set_footer(styles.FOOTER, {"margin": styles.FOOTER_MARGIN})


def light_rules(ws: Worksheet, ref: str, labels: dict[str, str], fmt: Formats) -> None:
    """Colour light cells by their text (綠燈, 黃燈 …), as ``styles.light_rules`` says."""
    for code, text in labels.items():
        ws.conditional_format(
            ref, {"type": "cell", "criteria": "equal to", "value": f'"{text}"', "format": fmt.lights[code]}
        )


def put(ws: Worksheet, row: int, col: int, value: Any, fmt: Format) -> None:
    """Write one value (0-based row and column) as what it is: text stays text, even ``=…``."""
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, str):
        ws.write_string(row, col, value, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float, Decimal)) and math.isfinite(value):
        ws.write_number(row, col, float(value), fmt)
    else:  # an infinity, or a type a cell has no place for: shown as text, never dropped
        ws.write_string(row, col, str(value), fmt)
