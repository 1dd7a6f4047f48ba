"""What the template and plan-workbook builders say to a sheet, whatever writes it.

A builder writes cells, merges, heights, widths, validations, conditional formats, page
setup and protection through :class:`Sheet`, and workbook-scoped names through
:class:`Book`.  Two backends implement them: :mod:`workbook.form.sheet_xlsx` (XlsxWriter:
every file the project creates) and :mod:`workbook.form.sheet_openpyxl` (a 填表說明 or
檢核結果 sheet rebuilt inside an openpyxl workbook being repaired).  One builder, two
backends: no sheet is described twice.

Rows and columns are 1-based here, as on screen.  The base class keeps what the builders
read back (row heights, column widths, the page setup), so the page arithmetic is done once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from workbook.form.styles import Look, PageSetup, Rule, column_points, printable_points


@dataclass(frozen=True)
class Validation:
    """A data validation with its zh-TW input message: ``kind`` is ``list`` (``choices``),
    ``whole`` or ``textLength`` (``operator`` over ``low`` and ``high``)."""

    kind: str
    choices: tuple[str, ...] = ()
    operator: str = "between"  # or greaterThanOrEqual
    low: int | None = None
    high: int | None = None
    prompt: str = ""
    prompt_title: str = ""
    error: str = ""
    error_title: str = ""
    allow_blank: bool = True
    show_error: bool = True
    stop: bool = False  # errorStyle="stop" written out


class Sheet(ABC):
    """One sheet being written (see the module docstring)."""

    def __init__(self, title: str):
        self.title = title
        self.heights: dict[int, float] = {}
        self.widths: dict[int, float] = {}
        self.hidden: set[int] = set()
        self.setup = PageSetup()
        self.frozen: tuple[int, int] | None = None  # the first row and column that scroll
        self.breaks: list[int] = []

    # -- cells ----------------------------------------------------------------
    def put(self, row: int, col: int, value: Any = None, look: Look | None = None, **style: Any) -> None:
        """Write ``value`` (text stays text, even ``=…``; None: a styled blank) in ``look``, or
        in the house look with ``style`` (font, fill, align, border, fmt) as :class:`Look`."""
        self._put(row, col, value, look or Look(**style), formula=False)

    def formula(self, row: int, col: int, text: str, look: Look | None = None, **style: Any) -> None:
        """Write the formula ``text`` (``=…``) with no cached value, so every client computes it."""
        self._put(row, col, text, look or Look(**style), formula=True)

    def bare(self, row: int, col: int, value: Any) -> None:
        """Write ``value`` with no style at all (the metadata sheet)."""
        self._put(row, col, value, None, formula=False)

    def merge(self, r1: int, c1: int, r2: int, c2: int, value: Any = None, **style: Any) -> None:
        """Merge the range, ``value`` in its first cell and the look on every cell (the border
        outlines the whole range)."""
        look = Look(**style)
        if (r1, c1) == (r2, c2):
            self._put(r1, c1, value, look, formula=False)
        else:
            self._merge(r1, c1, r2, c2, value, look)

    # -- rows, columns, rules --------------------------------------------------
    def height(self, row: int, points: float) -> None:
        """Set the height of ``row`` in points."""
        self.heights[row] = points
        self._height(row, points)

    def width(self, col: int, chars: float, *, hidden: bool = False) -> None:
        """Set the width of column ``col`` in characters (as Excel's file stores it)."""
        self.widths[col] = chars
        if hidden:
            self.hidden.add(col)
        self._width(col, chars, hidden)

    @abstractmethod
    def validate(self, ref: str, rule: Validation) -> None:
        """Add a data validation over ``ref`` (``C12`` or ``L3:L220``)."""

    @abstractmethod
    def conditional(self, ref: str, rule: Rule) -> None:
        """Add a conditional format over ``ref``."""

    @abstractmethod
    def protect(self, password: str | None) -> None:
        """Protect the sheet (staff may still resize rows and columns); unlocked cells stay open."""

    @abstractmethod
    def no_gridlines(self) -> None:
        """Hide the gridlines: the borders say where the table is."""

    @abstractmethod
    def very_hidden(self) -> None:
        """Hide the sheet from the sheet tabs and the unhide dialog."""

    # -- printing --------------------------------------------------------------
    def page(self, *, landscape: bool = False, paper: int = 9, fit_height: int = 0) -> None:
        """A4 (or ``paper``), fit to one page wide and ``fit_height`` pages tall (0: any)."""
        self.setup = PageSetup(landscape=landscape, paper=paper, fit_height=fit_height)
        self._page()

    def freeze(self, row: int, col: int) -> None:
        """Freeze the rows above ``row`` and the columns left of ``col``."""
        self.frozen = (row, col)
        self._freeze(row, col)

    def row_break(self, row: int) -> None:
        """A manual page break below ``row``."""
        self.breaks.append(row)
        self._breaks()

    def width_points(self) -> float:
        """How wide the visible columns print, in points (at 100 %)."""
        last = max(self.widths, default=0)
        return sum(column_points(self.widths.get(c)) for c in range(1, last + 1) if c not in self.hidden)

    def page_rows_points(self) -> float:
        """How many points of rows one printed page holds, at the scale fitting the page width."""
        wide, tall = printable_points(self.setup)
        width = self.width_points()
        return tall / min(1.0, wide / width) if width else tall

    def readable_print(self, min_scale: int = 70) -> None:
        """Print a wide sheet at ``min_scale`` % or more: fit to the page width only while that
        keeps the text readable; else print at ``min_scale`` % across pages, repeating the frozen
        columns and rows (the ids, names and header) on every page.
        """
        printable = printable_points(self.setup)[0]
        width = self.width_points()
        if width <= 0 or printable / width * 100 >= min_scale:
            return
        self.setup.scale = min_scale
        if self.frozen:
            row, col = self.frozen
            self.setup.title_cols = (1, col - 1) if col > 1 else None
            self.setup.title_rows = (1, row - 1) if row > 1 else None
        self._page()

    # -- what a backend writes ----------------------------------------------------
    @abstractmethod
    def _put(self, row: int, col: int, value: Any, look: Look | None, *, formula: bool) -> None: ...

    @abstractmethod
    def _merge(self, r1: int, c1: int, r2: int, c2: int, value: Any, look: Look) -> None: ...

    @abstractmethod
    def _height(self, row: int, points: float) -> None: ...

    @abstractmethod
    def _width(self, col: int, chars: float, hidden: bool) -> None: ...

    @abstractmethod
    def _page(self) -> None:
        """Apply :attr:`setup` (called again whenever it changes)."""

    @abstractmethod
    def _freeze(self, row: int, col: int) -> None: ...

    @abstractmethod
    def _breaks(self) -> None:
        """Apply :attr:`breaks`."""


class Book(ABC):
    """A workbook being written: its sheets in order and its workbook-scoped names."""

    @abstractmethod
    def sheet(self, title: str) -> Sheet:
        """A new sheet at the end."""

    @abstractmethod
    def define(self, name: str, sheet: Sheet, row: int, col: int) -> None:
        """The workbook-scoped name ``name`` for one cell (``'sheet'!$B$3``)."""

    @abstractmethod
    def activate(self, sheet: Sheet) -> None:
        """The sheet shown when the file opens."""
