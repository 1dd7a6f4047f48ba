"""Excel (OOXML) formulas and cell ranges in OpenFormula, as LibreOffice writes them in an .ods.

Bytes-level knowledge only (no KPI): references become ``[.A1]`` / ``[$'Sheet 1'.A1:.B2]``,
argument separators ``;``, ``_xlfn.`` prefixes go, ``TRUE``/``FALSE`` become functions.
One pass of one regular expression over the formula (a tokenizer in Python would cost
more than the whole conversion of a template); strings are matched first, so nothing
inside a quoted text is touched.
"""

from __future__ import annotations

import re

_SHEET = r"(?:'(?:[^']|'')+'|[^\W\d][\w.]*)"
_CELL = r"\$?[A-Za-z]{1,3}\$?\d+"
_COLS = r"\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}"
_ROWS = r"\$?\d+:\$?\d+"
_TOKEN = re.compile(
    r'(?P<str>"(?:[^"]|"")*")'
    rf"|(?P<ref>(?<![\w.$])(?:(?P<sheet>{_SHEET})!)?"
    rf"(?P<area>{_CELL}(?::{_CELL})?|{_COLS}|{_ROWS})(?![\w(!]))"
    r"|(?P<xlfn>_xlfn\.|_xlws\.)"
    r"|(?P<bool>(?<![\w.])(?:TRUE|FALSE)(?![\w(]))"
    r"|(?P<sep>[,{}])"
    r"|(?P<semi>;)",
    re.IGNORECASE,
)
_MAX_ROW = 1048576


def sheet_part(name: str) -> str:
    """A sheet name as an ODF address writes it: quoted unless a plain word."""
    if re.fullmatch(r"[^\W\d]\w*", name):
        return name
    return "'" + name.replace("'", "''") + "'"


def excel_sheet(token: str) -> str:
    """The sheet name of an Excel reference prefix (``'It''s'`` → ``It's``)."""
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    return token


def _area(area: str) -> tuple[str, str | None]:
    """An Excel area as ODF cell parts: ``A1:B2`` → (``A1``, ``B2``); whole columns/rows spelt out."""
    if ":" not in area:
        return area.upper(), None
    a, b = area.upper().split(":")
    if a.lstrip("$").isdigit():  # whole rows 2:3
        return f"$A{a}", f"$XFD{b}"
    if a.lstrip("$").isalpha():  # whole columns A:C
        return f"{a}$1", f"{b}${_MAX_ROW}"
    return a, b


def odf_address(area: str, sheet: str | None, *, absolute_sheet: bool = True) -> str:
    """An ODF cell-range address (no brackets): ``$'S 1'.$A$1:.$B$2`` (``.A1`` without a sheet)."""
    first, last = _area(area)
    prefix = ("$" if absolute_sheet else "") + sheet_part(sheet) if sheet is not None else ""
    return f"{prefix}.{first}" + (f":.{last}" if last is not None else "")


def range_address(ref: str, default_sheet: str | None = None) -> str:
    """An Excel range text (``'S 1'!$A$1:$B$2``, or ``A1`` on ``default_sheet``) as an ODF
    ``table:cell-range-address`` (``$'S 1'.$A$1:.$B$2``, the sheet named in both halves)."""
    sheet, _, area = ref.rpartition("!")
    name = excel_sheet(sheet) if sheet else default_sheet
    first, last = _area(area)
    prefix = "$" + sheet_part(name) if name is not None else ""
    return f"{prefix}.{first}" + (f":{prefix}.{last}" if last is not None else "")


def _replace(m: re.Match) -> str:
    kind = m.lastgroup
    if kind == "str":
        return m.group(0)
    if m.group("ref") is not None:
        sheet = m.group("sheet")
        return "[" + odf_address(m.group("area"), excel_sheet(sheet) if sheet else None) + "]"
    if m.group("xlfn") is not None:
        return ""
    if m.group("bool") is not None:
        return m.group(0).upper() + "()"
    if m.group("sep") is not None:
        return ";" if m.group(0) == "," else m.group(0)
    return "|"  # ';' separates rows of an inline array in Excel, '|' in OpenFormula


def to_openformula(formula: str, *, prefix: bool = True) -> str:
    """An Excel formula (with or without its ``=``) as ODF's ``of:=…`` (or bare with ``prefix=False``)."""
    body = formula[1:] if formula.startswith("=") else formula
    text = _TOKEN.sub(_replace, body)
    return f"of:={text}" if prefix else text
