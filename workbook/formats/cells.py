"""Cell addresses, the one codec: column letters ↔ numbers, ``B7`` ↔ (row, col), ``$``, ranges.

Rows and columns are 1-based, as in A1 notation (XlsxWriter's ``utility.py`` is the model).
Standard library only, on purpose: the Excel button must not pay for importing openpyxl
(~0.2 s) to spell an address, and the LibreOffice extension's bundle carries it into
LibreOffice's own Python.

:data:`COLUMN` and :data:`ROW` are the regular-expression spellings of the two halves, for
the readers that find addresses inside longer text (defined names, ODF references, sheet
XML): they compose their patterns from these, so every reader agrees on what an address is.
"""

from __future__ import annotations

import re

#: The largest row and column of a sheet (Excel 2007 and later; LibreOffice's default).
MAX_ROW = 1_048_576
MAX_COL = 16_384  # XFD

#: Column letters and row digits as regular-expression source (no groups).
COLUMN = "[A-Z]{1,3}"
ROW = "[0-9]{1,7}"

_LETTERS = re.compile(COLUMN)
_CELL = re.compile(rf"({COLUMN})({ROW})")
_ABSOLUTE = re.compile(rf"\$?({COLUMN})\$?({ROW})")


def column_index(letters: str | bytes) -> int:
    """``C`` → 3, ``AA`` → 27, ``XFD`` → 16384 (upper case, as sheets spell them; bytes too)."""
    text = letters.decode("ascii", "replace") if isinstance(letters, bytes) else letters
    if not _LETTERS.fullmatch(text):
        raise ValueError(f"not column letters: {letters!r}")
    n = 0
    for ch in text:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(col: int) -> str:
    """3 → ``C``, 27 → ``AA``, 16384 → ``XFD``."""
    if col < 1:
        raise ValueError(f"not a column number: {col!r}")
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def split_cell(ref: str) -> tuple[int, int]:
    """``B7`` → (7, 2), spelt exactly as a sheet part's ``r`` attribute: no ``$``, no range."""
    m = _CELL.fullmatch(ref)
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(m.group(2)), column_index(m.group(1))


def parse_address(address: str) -> tuple[int, int]:
    """``$B$7`` → (7, 2): any case, ``$`` anywhere, and a range's first cell (``B7:C9`` → (7, 2))."""
    m = _ABSOLUTE.fullmatch(address.split(":")[0].upper())
    if not m:
        raise ValueError(f"not a cell address: {address}")
    return int(m.group(2)), column_index(m.group(1))


def cell_address(row: int, col: int, *, absolute: bool = False) -> str:
    """(7, 2) → ``B7``; ``absolute`` → ``$B$7``."""
    if row < 1:
        raise ValueError(f"not a row number: {row!r}")
    dollar = "$" if absolute else ""
    return f"{dollar}{column_letters(col)}{dollar}{row}"


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """``$A$1:C3`` → (1, 1, 3, 3): first row, first column, last row, last column.

    A single cell is a range of one; corners given the other way round are put in order.
    """
    first, _, last = ref.partition(":")
    r1, c1 = parse_address(first)
    r2, c2 = parse_address(last) if last else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)


def range_address(
    first_row: int, first_col: int, last_row: int, last_col: int, *, absolute: bool = False
) -> str:
    """(1, 1, 3, 3) → ``A1:C3`` (one cell: ``A1``); ``absolute`` → ``$A$1:$C$3``."""
    first = cell_address(first_row, first_col, absolute=absolute)
    if (first_row, first_col) == (last_row, last_col):
        return first
    return f"{first}:{cell_address(last_row, last_col, absolute=absolute)}"
