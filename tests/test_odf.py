"""ODF parity: the same workbooks as .xlsx and as .ods compute, check and calculate alike.

One private LibreOffice serves the whole module.  Every filled workbook of the oracle
(the seed sample for 106 and 107 data with a staff note, counts typed as text, a date and
huge near-half counts, and every generated plan's batch: all kinds, polarities, edges and
invalid inputs) is opened once, recalculated on load, and stored both as .xlsx and as .ods.

* The oracle, for both formats: every ``OUT_*`` cell and the 達成情形 references equal the
  engine (:func:`test_libreoffice_oracle.compare_results`).
* Cell for cell: every sheet of the .ods holds what the .xlsx holds.
* ``kpi check`` reads the .ods without LibreOffice (OdsBook) and finds exactly what it finds
  in the .xlsx; calculating the .ods inside LibreOffice (as the 計算 button and
  ``kpi calculate FILE.ods --engine libreoffice`` do) writes exactly what calculating the
  .xlsx writes, keeps every input cell's value, text, validation and formatting, and keeps
  a sheet staff added.  (``kpi calculate FILE.ods`` without LibreOffice: test_ods_native.)
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from defusedxml import ElementTree
from helpers_workbook import INPUT_PREFIXES, Values, build_filled, same_value
from test_libreoffice_oracle import (
    DATE_ENTRIES,
    HUGE_ENTRIES,
    SEED_NOTE,
    TEXT_ENTRIES,
    compare_results,
    fail_on,
    generated_cases,
    seed_cases,
    write_batches,
)

from workbook import libreoffice as lo
from workbook.books.file import FileBook
from workbook.books.ods import OdsBook
from workbook.form import layout as L
from workbook.form.book import cell_address, parse_address
from workbook.form.calculate import calculate

STAFF_SHEET = "承辦人備註"
NOW = datetime(2018, 1, 15, 9, 30)  # one calculation time for both formats


class OdsValues:
    """The values an .ods holds (LibreOffice's results), with the interface of ``Values``."""

    def __init__(self, path: Path):
        self.path = path
        self.book = OdsBook(path.read_bytes(), str(path))
        self.where = {n: (s, cell_address(r, c)) for n, (s, r, c) in self.book.names().items()}
        self.grids = {s: self.book.grid(s) for s in self.book.sheet_names()}

    def at(self, sheet: str, address: str) -> Any:
        row, col = parse_address(address)
        grid = self.grids[sheet]
        return grid[row - 1][col - 1] if row - 1 < len(grid) and col - 1 < len(grid[row - 1]) else None

    def named(self, name: str) -> Any:
        return self.at(*self.where[name])


def _add_staff_content(path: Path) -> None:
    """What a clerk adds: a sheet of their own."""
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet(STAFF_SHEET)
    ws["A1"] = "聯絡窗口：分機 1234"
    wb.save(path)


def _workbooks(plan, folder: Path) -> list[dict[str, Any]]:
    h1, fy = plan.period(plan.sample.period), plan.period("FY")
    made = []
    for year in (106, 107):
        # a unit, so that collect can consolidate the returns (a template without one is an error)
        scope = L.Scope(plan, period_id=None, data_year=year, unit=f"秘書處{year}")
        entries = {h1.id: plan.sample.entries}
        note = L.notes_name(plan.indicator("procurement_pass_rate"), h1)
        path, _ = build_filled(scope, entries, folder / f"seed_{year}.xlsx", notes={note: SEED_NOTE})
        made.append(
            {"name": f"seed {year}", "scope": scope, "path": path, "cases": seed_cases(scope, entries)}
        )
    for key, period, inputs in (("text", h1, TEXT_ENTRIES), ("fy", fy, {**DATE_ENTRIES, **HUGE_ENTRIES})):
        scope = L.Scope(plan, period_id=period.id, data_year=106)
        entries = {period.id: inputs}
        path, _ = build_filled(scope, entries, folder / f"seed_{key}.xlsx")
        made.append({"name": key, "scope": scope, "path": path, "cases": seed_cases(scope, entries)})
    batches = [dict(b) for b in generated_cases()]
    write_batches(batches, folder)
    made += batches
    for m in made:
        _add_staff_content(m["path"])
    return made


@pytest.fixture(scope="module")
def books(plan, tmp_path_factory) -> list[dict[str, Any]]:
    """Every workbook as LibreOffice-recalculated .xlsx and .ods, checked and calculated both ways."""
    lo.require_soffice()
    from workbook.books.uno import UnoBook, office, store

    folder = tmp_path_factory.mktemp("odf")
    made = _workbooks(plan, folder)
    with office() as session:
        for m in made:
            doc = session.open(m["path"])
            try:
                m["xlsx"] = store(doc, m["path"].with_suffix(".lo.xlsx"))
                m["ods"] = store(doc, m["path"].with_suffix(".ods"))
            finally:
                doc.close(True)
            m["ods_before"] = m["ods"].read_bytes()
            # calculate the .ods inside LibreOffice, as `kpi calculate FILE.ods` does
            doc = session.open(m["ods"])
            try:
                m["ods_outcome"] = calculate(UnoBook(doc), now=NOW)
                m["ods_calc"] = store(doc, m["path"].with_suffix(".calc.ods"))
                if m["name"] == "seed 106":  # an .ods return saved back as .xlsx in LibreOffice
                    m["back_xlsx"] = store(doc, m["path"].with_suffix(".back.xlsx"))
            finally:
                doc.close(True)
    for m in made:
        book = FileBook(m["xlsx"])
        m["xlsx_check"] = calculate(FileBook(m["xlsx"]), write=False)
        m["xlsx_outcome"] = calculate(book, now=NOW)
        m["xlsx_calc"] = book.save(m["path"].with_suffix(".calc.xlsx"))
        m["ods_check"] = calculate(
            OdsBook(m["ods_before"], str(m["ods"]), formulas_visible=True), write=False
        )
    return made


def _located(outcome) -> list[tuple]:
    return sorted(
        (f.code, f.severity, f.sheet or "", f.cell or "", f.indicator or "") for f in outcome.findings
    )


def _same_cell(a: Any, b: Any) -> bool:
    """One cell of the .xlsx against the same cell of the .ods (calamine gives floats, dates)."""
    if a in (None, "") or b in (None, ""):
        return a in (None, "") and b in (None, "")
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b) and type(a) is type(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(Decimal(repr(a)) - Decimal(repr(b))) < Decimal("1e-9")
    if hasattr(a, "year") and hasattr(b, "year"):
        return a.timetuple()[:6] == b.timetuple()[:6]
    return a == b


def test_oracle_holds_for_both_formats(books, record_property) -> None:
    problems: list[str] = []
    cells = cases = 0
    for m in books:
        for fmt, values in (("xlsx", Values(m["xlsx"])), ("ods", OdsValues(m["ods"]))):
            found, compared = compare_results(m["scope"], m["cases"], values, m["path"])
            problems += [f"{fmt} {m['name']}: {p}" for p in found]
            cells += compared
        cases += len(m["cases"])
    note = f"{cells} result cells of {cases} entry sets in {len(books)} workbooks, each as .xlsx and .ods"
    print("\n" + note)
    record_property("oracle", note)
    fail_on(problems)
    assert cases >= 200 and len(books) >= 10


def test_ods_equals_xlsx_cell_for_cell(books, record_property) -> None:
    problems: list[str] = []
    compared = 0
    for m in books:
        xlsx, ods = Values(m["xlsx"]), OdsValues(m["ods"])
        assert list(xlsx.grids) == list(ods.grids), m["name"]
        assert xlsx.where == ods.where, m["name"]
        for sheet, grid in xlsx.grids.items():
            other = ods.grids[sheet]
            for r in range(max(len(grid), len(other))):
                for c in range(
                    max(len(grid[r]) if r < len(grid) else 0, len(other[r]) if r < len(other) else 0)
                ):
                    a = grid[r][c] if r < len(grid) and c < len(grid[r]) else None
                    b = other[r][c] if r < len(other) and c < len(other[r]) else None
                    compared += 1
                    if not _same_cell(a, b):
                        problems.append(f"{m['name']} {sheet}!{cell_address(r + 1, c + 1)}: {a!r} != {b!r}")
    note = f"{compared} cells equal between .xlsx and .ods in {len(books)} workbooks"
    print("\n" + note)
    record_property("cells", note)
    fail_on(problems)


def test_check_finds_the_same_in_both_formats(books) -> None:
    """OdsBook (no LibreOffice) against FileBook: every finding, with its sheet and cell."""
    for m in books:
        assert _located(m["ods_check"]) == _located(m["xlsx_check"]), m["name"]
        assert m["ods_check"].evaluation.to_dict() == m["xlsx_check"].evaluation.to_dict(), m["name"]
    codes = {f.code for m in books for f in m["xlsx_check"].findings}
    assert {"number_as_text", "not_calculated"} <= codes, codes  # invalid inputs are covered


def test_calculate_writes_the_same_in_both_formats(books) -> None:
    for m in books:
        xo, oo = m["xlsx_outcome"], m["ods_outcome"]
        assert _located(oo) == _located(xo), m["name"]
        assert oo.evaluation.to_dict() == xo.evaluation.to_dict(), m["name"]
        xb = {(s, r, c): v for s, r, c, v in xo.blocks}
        ob = {(s, r, c): v for s, r, c, v in oo.blocks}
        assert xb.keys() == ob.keys(), m["name"]
        for key, rows in xb.items():
            assert rows == ob[key], (m["name"], key)


def test_calculated_ods_reads_back_as_calculated(books) -> None:
    """After calculate, kpi check of the .ods (no LibreOffice) says current, as for the .xlsx."""
    for m in books:
        ods = calculate(OdsBook(m["ods_calc"].read_bytes(), "calc.ods", formulas_visible=True), write=False)
        xlsx = calculate(FileBook(m["xlsx_calc"]), write=False)
        assert ods.state == xlsx.state == "current", m["name"]
        assert _located(ods) == _located(xlsx), m["name"]


def _cell_elements(data: bytes, cells: dict[str, tuple[str, int, int]]) -> dict[str, bytes]:
    """The serialised ``table:table-cell`` element of each named cell in content.xml.

    LibreOffice numbers automatic styles afresh on every save (``ce15`` may become
    ``ce42``, ``N37`` become ``N10137``), so the cell's ``table:style-name`` is replaced
    by that style's definition, and its number format by the format's definition.
    """
    from workbook.books.ods import _S, _T, _rows

    package = zipfile.ZipFile(io.BytesIO(data))
    root = ElementTree.fromstring(package.read("content.xml"))
    office = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
    auto = root.find(f"{office}automatic-styles")
    numbers = {}  # number and date formats, named N37 or N10137 as LibreOffice pleases
    shared = ElementTree.fromstring(package.read("styles.xml"))
    for group in [auto, *shared.findall(f"{office}styles"), *shared.findall(f"{office}automatic-styles")]:
        for st in group:
            if st.tag != f"{_S}style" and st.get(f"{_S}name"):
                name = st.attrib.pop(f"{_S}name")  # before serialising: the name is what differs
                numbers[name] = ElementTree.tostring(st)
    styles = {}
    for st in auto.iter(f"{_S}style"):
        name = st.attrib.pop(f"{_S}name", "")
        data_style = st.attrib.pop(f"{_S}data-style-name", "")
        styles[name] = ElementTree.tostring(st) + numbers.get(data_style, data_style.encode())
    wanted: dict[tuple[str, int, int], str] = {v: k for k, v in cells.items()}
    out: dict[str, bytes] = {}
    for table in root.iter(f"{_T}table"):
        sheet, row = table.get(f"{_T}name"), 1
        for r in _rows(table):
            rep_r = int(r.get(f"{_T}number-rows-repeated", "1"))
            col = 1
            for c in r:
                rep_c = int(c.get(f"{_T}number-columns-repeated", "1"))
                for dr in range(min(rep_r, 2)):
                    for dc in range(min(rep_c, 50)):
                        name = wanted.get((sheet, row + dr, col + dc))
                        if name:
                            cell = dict(c.attrib)
                            cell.pop(f"{_T}number-columns-repeated", None)  # how many neighbours look alike
                            style = styles.get(cell.pop(f"{_T}style-name", ""), b"")
                            body = b"".join(ElementTree.tostring(child) for child in c)
                            out[name] = repr(sorted(cell.items())).encode() + style + body
                col += rep_c
            row += rep_r
    return out


def test_calculate_keeps_ods_inputs_and_staff_content(books) -> None:
    for m in books:
        names = OdsBook(m["ods_before"]).names()
        inputs = {n: w for n, w in names.items() if n.startswith(INPUT_PREFIXES)}
        before = _cell_elements(m["ods_before"], inputs)
        after = _cell_elements(m["ods_calc"].read_bytes(), inputs)
        assert len(before) == len(inputs), m["name"]
        changed = [n for n in inputs if before[n] != after.get(n)]
        assert not changed, (m["name"], changed[:5])
        book = OdsBook(m["ods_calc"].read_bytes())
        assert STAFF_SHEET in book.sheet_names()
        assert book.grid(STAFF_SHEET)[0][0] == "聯絡窗口：分機 1234"
        assert book.hidden_sheets() == [L.SHEET_META]
        assert all(book.protected(s) for s in book.sheet_names() if s not in (STAFF_SHEET, L.SHEET_META))
        assert not book.protected(L.SHEET_META)  # the system sheet the button writes (issue 22)


def test_seed_values_in_the_ods(books, plan) -> None:
    """Known answers, read from the .ods: the seed's 106 上半年 procurement pass rate."""
    m = next(b for b in books if b["name"] == "seed 106")
    ods = OdsValues(m["ods"])
    h1 = plan.period(plan.sample.period)
    ind = plan.indicator("procurement_pass_rate")
    assert same_value(Decimal("89.05"), ods.named(L.result_name(ind, h1, "value")), 2)


def _rows(coll) -> list[dict]:
    return [{k: v for k, v in rec.items() if k != "file"} for rec in coll.table()]


def test_collect_reads_ods_as_it_reads_xlsx(books, tmp_path) -> None:
    from workbook.collect import collect

    m = next(b for b in books if b["name"] == "seed 106")
    xlsx, ods, back = (collect([m[k]]) for k in ("xlsx_calc", "ods_calc", "back_xlsx"))
    assert [s.status for s in ods.submissions] == [s.status for s in xlsx.submissions] == ["warnings"]
    assert _rows(ods) == _rows(xlsx) == _rows(back)
    assert len(_rows(xlsx)) >= 4 and "green" in {r["light"] for r in _rows(xlsx)}


def test_an_inbox_mixing_xlsx_and_ods_gives_one_summary(books, tmp_path, capsys) -> None:
    import shutil

    from workbook.cli import main

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    seed106 = next(b for b in books if b["name"] == "seed 106")
    seed107 = next(b for b in books if b["name"] == "seed 107")
    shutil.copy(seed106["xlsx_calc"], inbox / "秘書處_106.xlsx")
    shutil.copy(seed107["ods_calc"], inbox / "秘書處_107.ods")
    out = tmp_path / "彙總.ods"
    assert main(["collect", str(inbox), "-o", str(out), "--json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert len(report["files"]) == 2 and {f["status"] for f in report["files"]} <= {"ok", "warnings"}
    assert {r["file"].rsplit(".", 1)[1] for r in report["rows"]} == {"xlsx", "ods"}
    assert {r["year"] for r in report["rows"]} == {106, 107}
    summary = OdsBook(out.read_bytes(), str(out))
    assert summary.sheet_names()[0] == "彙總"
    assert len([r for r in summary.grid("彙總") if any(v is not None for v in r)]) > len(report["rows"])


def test_kpi_calculate_on_an_ods_in_place(books, tmp_path, capsys) -> None:
    """The command line: ``kpi calculate FILE.ods`` stores the .ods over itself, calculated."""
    import shutil

    from workbook.cli import main

    m = next(b for b in books if b["name"] == "seed 106")
    path = tmp_path / "填報.ods"
    shutil.copyfile(m["ods"], path)
    assert main(["calculate", str(path)]) == 0
    assert "錯誤 / error" not in capsys.readouterr().err
    after = calculate(OdsBook(path.read_bytes(), str(path), formulas_visible=True), write=False)
    assert after.state == "current"
    assert not after.has_errors
    names = {n: w for n, w in OdsBook(m["ods_before"]).names().items() if n.startswith(INPUT_PREFIXES)}
    assert _cell_elements(path.read_bytes(), names) == _cell_elements(m["ods_before"], names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["填報.ods"]  # no lock or temporary file left
