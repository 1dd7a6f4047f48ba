"""The live-Excel adapter: the :class:`~workbook.bookio.Book` interface over an ``xw.Book``.

Only operations that both xlwings engines support are used: desktop Excel (COM) and
xlwings' remote engine (the VBA client's JSON payload).  That means reading values
and writing values; formulas are never read or written, so an overwritten result
formula is detected by its value instead (``result_mismatch``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from .bookio import Grid


class LiveBook:
    """An open workbook in Excel, reached through xlwings. One read per sheet, one write per block."""

    def __init__(self, book: Any):
        self.book = book
        self._grids: dict[tuple, Grid] = {}

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def names(self) -> dict[str, tuple[str, int, int]]:
        out: dict[str, tuple[str, int, int]] = {}
        for name in self.book.names:
            try:
                rng = name.refers_to_range
            except Exception:  # a name pointing at #REF! or at a constant
                continue
            if rng is None or rng.shape != (1, 1):
                continue
            out[name.name] = (rng.sheet.name, rng.row, rng.column)
        return out

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        key = (sheet, rows, cols)
        if key not in self._grids:
            ws = self.book.sheets[sheet]
            if rows is None or cols is None:
                last = ws.used_range.last_cell
                rows, cols = rows or last.row, cols or last.column
            # Anchor at A1 (COM's used range may start later) so grid[r-1][c-1] is cell (r, c).
            values = ws.range((1, 1), (rows, cols)).options(ndim=2).value
            self._grids[key] = [list(row) for row in values]
        return self._grids[key]

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        return None  # the remote engine cannot read formulas

    def unprotected(self, sheets, password):
        """Not yet implemented for live Excel (issue 9): protection is left as it is."""
        return contextlib.nullcontext()

    def write(self, sheet: str, row: int, col: int, values: Sequence[Sequence[Any]]) -> None:
        # Excel reads a written "=…" as a formula; the apostrophe prefix keeps it text.
        block = [
            ["'" + v if isinstance(v, str) and v.startswith("=") else v for v in line] for line in values
        ]
        self.book.sheets[sheet].range((row, col)).value = block
