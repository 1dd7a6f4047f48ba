"""A read-only :class:`~workbook.form.book.Book` over an OpenDocument spreadsheet (.ods).

No LibreOffice is needed: values come from python-calamine (which reads ODS), and what
calamine does not give -- named ranges (``table:named-expressions``), formulas
(``table:formula``), merged cells, hidden and protected sheets -- from ``content.xml``,
parsed with defusedxml after :func:`workbook.formats.guard.inspect_ods` has passed the bytes.

Formulas are turned into the spreadsheet syntax the template writes (``of:=IF(A;B)``
with ``[.C12]`` references becomes ``=IF(A,B)`` with ``C12``), so
:func:`workbook.form.calculate.calculate` checks an .ods exactly as it checks an .xlsx.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from defusedxml import ElementTree

from workbook.form.book import Book, Grid
from workbook.formats.cells import COLUMN, ROW, column_index
from workbook.formats.files import DamagedFileError, WorkbookFileError
from workbook.formats.ods_scan import formula_text

TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_T = f"{{{TABLE}}}"
_S = f"{{{STYLE}}}"
_O = f"{{{OFFICE}}}"

#: Repeated rows or cells are expanded only this far: beyond any form, and the guard
#: has already refused content repeated over an absurd area.
_MAX_ROWS, _MAX_COLS = 100_000, 1_000

_RANGE = re.compile(rf"^\$?(?:'((?:[^']|'')+)'|([^.'$]+))\.\$?({COLUMN})\$?({ROW})$")
_CELL_REF = re.compile(
    rf"\[(\$?(?:'(?:[^']|'')+'|[^.\[\]]*))?\.(\$?{COLUMN}\$?{ROW})(?::\.?(\$?{COLUMN}\$?{ROW}))?\]"
)


_NAMESPACE = re.compile(r"^[a-zA-Z][\w.-]*:(?==)")


#: What odf_to_excel rewrites: a string literal (kept), a bracketed reference, an argument separator.
_ODF_TOKEN = re.compile(r'"[^"]*"|\[[^\]]*\]|;')


def odf_to_excel(formula: str) -> str:
    """``of:=IF([.C12]=0;"";[$'A b'.$C$3])`` → ``=IF(C12=0,"",'A b'!$C$3)``.

    Argument separators are swapped outside string literals only; named ranges and
    function names need no change for the functions the template uses.
    """
    # "of:" is OpenFormula; Excel writes "msoxl:" where its own syntax is kept.
    text = formula[3:] if formula.startswith("of:=") else _NAMESPACE.sub("", formula, count=1)
    if "[" not in text:  # names and functions only (three in four of a form's formulas): no call per token
        if '"' not in text:
            return text.replace(";", ",")
        parts = text.split('"')
        if len(parts) % 2:  # every literal closed: the even parts are outside them
            if ";" not in "".join(parts[1::2]):  # no literal holds one (most): all of them swapped
                return text.replace(";", ",")
            parts[::2] = [part.replace(";", ",") for part in parts[::2]]
            return '"'.join(parts)

    def token(m: re.Match) -> str:
        # One regex pass, not a loop per character: a 200-indicator form holds 6,000 formulas.
        tok = m.group(0)
        if tok == ";":
            return ","
        if tok[0] == '"':
            return tok
        ref = _CELL_REF.fullmatch(tok)
        if ref is None:
            return tok.replace(";", ",")
        sheet, first, last = ref.group(1), ref.group(2), ref.group(3)
        cell = first + (f":{last}" if last else "")
        return f"{sheet.lstrip('$')}!{cell}" if sheet else cell

    return _ODF_TOKEN.sub(token, text)


#: A cell showing one cell of another sheet, joined to "" (``builder.report_formula``: 1,600 on a
#: 200-indicator form), as LibreOffice writes it: its Excel text is made at once, as
#: :func:`odf_to_excel` makes it (a reference ``[$S.$M$2]`` → ``S!$M$2``, the literal kept).
_REFERENCE_JOINED = re.compile(rb"of:=\[\$([^.\[\]'$&\"]+)\.(\$?[A-Z]{1,3}\$?[0-9]{1,7})\]&amp;&quot;&quot;")


def excel_formula(raw: bytes) -> str:
    """A scanned ``table:formula`` (:func:`formula_text`) in the spreadsheet syntax the template writes."""
    m = _REFERENCE_JOINED.fullmatch(raw)
    if m:
        return f'={m.group(1).decode("utf-8", "replace")}!{m.group(2).decode("ascii")}&""'
    return odf_to_excel(formula_text(raw))


@dataclass
class _Sheet:
    name: str
    style: str = ""
    protected: bool = False
    password: bool = False
    protection_key: str = ""
    protection_algorithm: str | None = None
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    #: cell style of each styled cell; (0, col) holds a column's default style
    styles: dict[tuple[int, int], str] = field(default_factory=dict)
    #: validation rule name of each validated cell
    validations: dict[tuple[int, int], str] = field(default_factory=dict)


@dataclass
class OdsContent:
    """What ``content.xml`` says about the document's structure."""

    sheets: list[_Sheet]
    names: dict[str, tuple[str, int, int]]
    hidden_styles: set[str]
    unlocked_styles: set[str]
    #: validation rule name → (help title, help text, error text)
    rules: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def hidden(self) -> list[str]:
        """Names of the sheets that are hidden."""
        return [s.name for s in self.sheets if s.style in self.hidden_styles]


def parse_content(xml: bytes, *, cells: bool = True) -> OdsContent:
    """Sheets (formulas, merges, protection), named ranges and the styles that matter.

    Without ``cells`` only merges are read from the cells (a values-only book needs no
    formulas, cell styles or validation), which halves the time on a template.
    """
    root = ElementTree.fromstring(xml)
    hidden, unlocked = set(), set()
    auto = root.find(f"{_O}automatic-styles")
    for st in auto if auto is not None else ():
        name = st.get(f"{_S}name", "")
        tp = st.find(f"{_S}table-properties")
        if tp is not None and tp.get(f"{_T}display") == "false":
            hidden.add(name)
        cp = st.find(f"{_S}table-cell-properties")
        if cp is not None and cp.get(f"{_S}cell-protect") == "none":
            unlocked.add(name)
    body = root.find(f"{_O}body/{_O}spreadsheet")
    if body is None:
        raise ValueError("no office:spreadsheet body")
    sheets = [_read_table(t, cells) for t in body.findall(f"{_T}table")]
    names: dict[str, tuple[str, int, int]] = {}
    exprs = body.find(f"{_T}named-expressions")
    for nr in exprs.findall(f"{_T}named-range") if exprs is not None else ():
        m = _RANGE.match(nr.get(f"{_T}cell-range-address", ""))
        if m:
            sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
            names[nr.get(f"{_T}name", "")] = (sheet, int(m.group(4)), column_index(m.group(3)))
    rules = {}
    validations = body.find(f"{_T}content-validations")
    for v in validations if validations is not None else ():
        help_, error = v.find(f"{_T}help-message"), v.find(f"{_T}error-message")
        rules[v.get(f"{_T}name", "")] = (
            help_.get(f"{_T}title", "") if help_ is not None else "",
            _text(help_),
            _text(error),
        )
    return OdsContent(sheets, names, hidden, unlocked, rules)


def content_from_scan(scanned: Any, *, formulas: bool = False) -> OdsContent:
    """What a values-only book needs (sheets, protection, merges, names, hidden sheets) from
    :func:`workbook.formats.ods_scan.scan`: the same as ``parse_content(xml, cells=False)``;
    with ``formulas``, each sheet's formulas too (what calculate reads; not the cell styles
    and validations the ODF template check reads)."""
    sheets = []
    for t in scanned.tables:
        key = t.attrs.get("table:protection-key", "")
        sheet = _Sheet(t.name, t.attrs.get("table:style-name", ""), t.attrs.get("table:protected") == "true")
        sheet.protection_key, sheet.password = key, bool(key)
        sheet.protection_algorithm = t.attrs.get("table:protection-key-digest-algorithm")
        sheet.merged = list(t.merged)
        if formulas:
            sheet.formulas = {at: excel_formula(raw) for at, raw in t.formulas.items()}
        sheets.append(sheet)
    names = {}
    columns: dict[str, int] = {}  # 5,000 names at 200 indicators, in a few columns
    for name, address in scanned.names.items():
        m = _RANGE.match(address)
        if m:
            quoted, sheet_name, letters, digits = m.groups()
            col = columns.get(letters) or columns.setdefault(letters, column_index(letters))
            names[name] = (sheet_name if quoted is None else quoted.replace("''", "'"), int(digits), col)
    return OdsContent(sheets, names, set(scanned.hidden_styles), set())


def _text(element: Any) -> str:
    return "\n".join("".join(p.itertext()) for p in element) if element is not None else ""


def _rows(element: Any):
    """Rows of a table in order, through header-rows and row-groups."""
    for child in element:
        tag = child.tag
        if tag == f"{_T}table-row":
            yield child
        elif tag in (f"{_T}table-header-rows", f"{_T}table-row-group", f"{_T}table-rows"):
            yield from _rows(child)


def _read_table(table: Any, cells: bool = True) -> _Sheet:
    sheet = _Sheet(table.get(f"{_T}name", ""), table.get(f"{_T}style-name", ""))
    sheet.protected = table.get(f"{_T}protected") == "true"
    sheet.protection_key = table.get(f"{_T}protection-key", "")
    sheet.protection_algorithm = table.get(f"{_T}protection-key-digest-algorithm")
    sheet.password = bool(sheet.protection_key)
    defaults: dict[int, str] = {}
    col = 1
    for c in table.iter(f"{_T}table-column"):
        n = min(int(c.get(f"{_T}number-columns-repeated", "1")), _MAX_COLS)
        for i in range(n):
            defaults[col + i] = c.get(f"{_T}default-cell-style-name", "")
        col += n
    row = 1
    for r in _rows(table):
        rep_r = int(r.get(f"{_T}number-rows-repeated", "1"))
        col = 1
        for c in r:
            if c.tag not in (f"{_T}table-cell", f"{_T}covered-table-cell"):
                continue
            rep_c = int(c.get(f"{_T}number-columns-repeated", "1"))
            formula = style = rule = None
            if cells:
                formula = c.get(f"{_T}formula")
                style = c.get(f"{_T}style-name") or None
                rule = c.get(f"{_T}content-validation-name")
            spans = (
                int(c.get(f"{_T}number-rows-spanned", "1")),
                int(c.get(f"{_T}number-columns-spanned", "1")),
            )
            if formula or style or rule or spans != (1, 1):
                for dr in range(min(rep_r, _MAX_ROWS)):
                    for dc in range(min(rep_c, _MAX_COLS)):
                        at = (row + dr, col + dc)
                        if formula:
                            sheet.formulas[at] = odf_to_excel(formula)
                        if style:
                            sheet.styles[at] = style
                        if rule:
                            sheet.validations[at] = rule
                        if spans != (1, 1):
                            sheet.merged.append((at[0], at[1], at[0] + spans[0] - 1, at[1] + spans[1] - 1))
            col += rep_c
        row += rep_r
        if row > _MAX_ROWS:
            break
    sheet.styles = {**{(0, c): s for c, s in defaults.items() if s}, **sheet.styles}
    return sheet


def _calamine_workbook(reader: Any, data: bytes, content: bytes | None) -> Any:
    """calamine's workbook of ``data``; a pretty-printed ``content.xml`` (which LibreOffice
    opens, and calamine refuses: "Cannot detect file format") is read without its indentation."""
    from python_calamine import CalamineError

    from workbook.formats.guard import without_indentation

    try:
        return reader.from_filelike(io.BytesIO(data))
    except CalamineError:
        compact = without_indentation(data, content)
        if compact is None:
            raise
        return reader.from_filelike(io.BytesIO(compact))


class OdsBook(Book):
    """An .ods held in memory, read without LibreOffice.

    ``formulas_visible`` (``kpi check``) shows a formula cell as its formula, as
    :class:`~workbook.books.file.FileBook` does, so a formula typed into a count or over
    a result is found by its text.  Without it (``kpi collect``) the book is values
    only, as :class:`~workbook.books.calamine.CalamineBook` is for an .xlsx.
    """

    can_rebuild_sheets = False  # read-only
    reads_merged = True
    repairs_protection = False  # read-only
    has_package_info = True
    reads_typed_formulas = True  # formulas_visible shows them in grid(); values only: table:formula
    restores_formulas = False  # read-only
    #: Like CalamineBook: a result cell never computed reads empty, which is "unknown".  Asked
    #: only of a values-only book: with ``formulas_visible`` results are checked by formula.
    blank_results_are_unknown = True

    #: With ``formulas_visible``, the formulas may come from the guard's scan of content.xml
    #: (calculate's book) rather than a parsed tree with cell styles and validations (the
    #: ODF template check reads those through :meth:`unlocked`).
    formulas_from_scan = False

    def __init__(self, data: bytes, name: str = "<workbook>", *, formulas_visible: bool = False):
        from python_calamine import CalamineWorkbook

        from workbook.formats.guard import inspect_ods

        self.name = name
        self.info = inspect_ods(data, name)  # before any parser sees the bytes
        self.formulas_visible = formulas_visible
        try:
            scanned = None if formulas_visible and not self.formulas_from_scan else self.info.scanned
            if scanned is not None:  # the guard's quick scan has the structure (and the formulas)
                self.content = content_from_scan(scanned, formulas=formulas_visible)
            else:
                xml = self.info.kept.get("content.xml")
                if xml is None:
                    with zipfile.ZipFile(io.BytesIO(data)) as z:
                        xml = z.read("content.xml")
                self.content = parse_content(xml, cells=formulas_visible)
            self.wb = _calamine_workbook(CalamineWorkbook, data, self.info.kept.get("content.xml"))
        except WorkbookFileError:
            raise
        except Exception as exc:  # zipfile, the XML parser and calamine raise many types
            raise DamagedFileError(
                "無法開啟 ODF 試算表，檔案可能已損毀",
                f"cannot open the OpenDocument spreadsheet; it may be damaged ({type(exc).__name__}: {exc})",
                path=name,
            ) from exc
        self._sheets = {s.name: s for s in self.content.sheets}
        self._data = data
        self._formula_sheets: dict | None = (
            {s.name: s.formulas for s in self.content.sheets} if formulas_visible else None
        )
        self._values: dict[str, Grid] = {}
        self._grids: dict[tuple, Grid] = {}

    def sheet_names(self) -> list[str]:
        return [s.name for s in self.content.sheets]

    def names(self) -> dict[str, tuple[str, int, int]]:
        return dict(self.content.names)

    def hidden_sheets(self) -> list[str]:
        """Sheets hidden from staff (the metadata sheet ``_kpi``)."""
        return self.content.hidden()

    def protected(self, sheet: str) -> bool:
        """Is the sheet protected?"""
        return self._sheets[sheet].protected

    def has_password(self, sheet: str) -> bool:
        """Is the sheet's protection keyed with a password?"""
        return self._sheets[sheet].password

    def unlocked(self, sheet: str, row: int, col: int) -> bool:
        """May staff type into this cell on the protected sheet? (A book read with ``formulas_visible``.)"""
        s = self._sheets[sheet]
        style = s.styles.get((row, col)) or s.styles.get((0, col), "")
        return style in self.content.unlocked_styles

    def _raw(self, sheet: str) -> Grid:
        if sheet not in self._values:
            from workbook.books.calamine import read_sheet

            values = read_sheet(
                self.name, sheet, lambda: self.wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            )
            self._values[sheet] = [[None if v == "" else v for v in row] for row in values]
        return self._values[sheet]

    def grid(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid:
        key = (sheet, rows, cols, "v")
        if key not in self._grids:
            whole = self._raw(sheet)
            if self.formulas_visible:
                whole = self._overlay(sheet, whole)
            self._grids[key] = [row[:cols] for row in whole[:rows]] if rows or cols else whole
        return self._grids[key]

    def _overlay(self, sheet: str, values: Grid) -> Grid:
        # As openpyxl reads an .xlsx: a date cell is a datetime (calamine gives a date).
        out = [[_as_datetime(v) if isinstance(v, date) else v for v in r] for r in values]
        for (r, c), f in self._sheets[sheet].formulas.items():
            while len(out) < r:
                out.append([])
            line = out[r - 1]
            line.extend([None] * (c - len(line)))
            line[c - 1] = f
        return out

    def typed_formulas(self, sheet: str, rows: int, cols: int) -> Mapping[tuple[int, int], str]:
        """Cells of ``sheet`` holding a formula (``table:formula``): a values-only book takes them from
        the guard's quick scan (else parses ``content.xml`` once, when first asked)."""
        if self._formula_sheets is None:
            if self.info.scanned is not None:  # the guard's quick scan found them
                self._formula_sheets = {
                    t.name: _ScannedFormulas(t.formulas) for t in self.info.scanned.tables
                }
            else:  # content the scan does not trust: parsed (calamine read its values already)
                xml = self.info.kept.get("content.xml")
                try:
                    if xml is None:
                        with zipfile.ZipFile(io.BytesIO(self._data)) as z:
                            xml = z.read("content.xml")
                    sheets = parse_content(xml, cells=True).sheets
                except Exception:  # zipfile and the XML parser raise many types: values as read
                    sheets = []
                self._formula_sheets = {s.name: s.formulas for s in sheets}
        return self._formula_sheets.get(sheet, {})

    def formulas(self, sheet: str, rows: int | None = None, cols: int | None = None) -> Grid | None:
        if not self.formulas_visible:
            return None
        return self.grid(sheet, rows, cols)

    def validation(self, sheet: str, row: int, col: int) -> tuple[str, str, str] | None:
        """(help title, help text, error text) of the cell's data validation (``formulas_visible`` books)."""
        rule = self._sheets[sheet].validations.get((row, col))
        return self.content.rules.get(rule) if rule else None

    def merged(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """Merged ranges as (min_row, min_col, max_row, max_col)."""
        return list(self._sheets[sheet].merged)

    def write(self, sheet: str, row: int, col: int, values: Any) -> None:
        raise TypeError("OdsBook is read-only")


def _as_datetime(v: Any) -> Any:
    if isinstance(v, date) and not isinstance(v, datetime):
        return datetime(v.year, v.month, v.day)
    return v


class _ScannedFormulas(Mapping):
    """A sheet's scanned formulas, each turned into Excel's syntax only when looked up (most are results)."""

    def __init__(self, raw: dict[tuple[int, int], bytes]):
        self._raw = raw

    def __getitem__(self, at: tuple[int, int]) -> str:
        return excel_formula(self._raw[at])

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def read_only_book(data: bytes, name: str = "<workbook>") -> Any:
    """The values-only Book for a submitted file: :class:`OdsBook` for an .ods, else CalamineBook.

    Chosen by name, as ``kpi calculate`` chooses: an .ods renamed .xlsx is refused the same
    way by every command.
    """
    if name.lower().endswith(".ods"):
        return OdsBook(data, name)
    from workbook.books.calamine import CalamineBook

    return CalamineBook(data, name)
