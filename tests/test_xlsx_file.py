"""``kpi calculate``/``check`` of an .xlsx without openpyxl's model (issue 24): XlsxFileBook
reads the bytes (python-calamine, the formula scan) and saves through the cell patcher.

Each case is calculated twice from the same file, once by the pipeline (XlsxFileBook) and
once by openpyxl's FileBook, and must come out the same: the verdict, the findings and every
byte saved.  The damages are what staff do to a form (an overwritten result formula, a
formula or text typed into a count, a date, a sheet unprotected, a sheet deleted).
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from test_button import _filled

from kpi_engine import evaluate, parse_plan
from workbook.books.file import FileBook
from workbook.books.open import calculate_path, open_book
from workbook.books.xlsx_file import XlsxFileBook, _formulas
from workbook.form import layout as L
from workbook.form.calculate import calculate_file_book
from workbook.report.terminal import FULL_TABLE_UP_TO, compact_lines, print_evaluation

NOW = datetime(2026, 12, 7, 9, 30)


def _damage(path: Path, how: str, scope: L.Scope) -> None:
    wb = load_workbook(path)
    ind, period = scope.indicators[0], scope.periods[0]
    names = {n: d for n, d in wb.defined_names.items()}

    def cell(name: str):
        sheet, ref = next(iter(names[name].destinations))
        return wb[sheet][ref.replace("$", "")]

    role = ind.inputs[0].role
    if how == "overwritten_result":
        cell(L.step_name(ind, period, "rate")).value = 99
    elif how == "formula_in_input":
        cell(L.input_name(ind, period, role)).value = "=1+1"
    elif how == "text_number":
        cell(L.input_name(ind, period, role)).value = "12"
    elif how == "error_in_input":  # Excel stores a typed #N/A as an error value (t="e")
        cell(L.input_name(ind, period, role)).value = "#N/A"
    elif how == "date_in_input":
        cell(L.input_name(ind, period, role)).value = datetime(2018, 6, 30)
    elif how == "unprotected":
        wb[L.indicator_sheet(scope.plan, ind)].protection.sheet = False
    elif how == "findings_sheet_deleted":
        wb.remove(wb[L.SHEET_FINDINGS])
    wb.save(path)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


CASES = [
    "as_filled",
    "overwritten_result",
    "formula_in_input",
    "text_number",
    "date_in_input",
    "error_in_input",
    "unprotected",
    "findings_sheet_deleted",
]


@pytest.mark.parametrize("how", CASES)
def test_the_byte_book_calculates_and_saves_what_openpyxl_would(tmp_path, how) -> None:
    path, scope = _filled(tmp_path)
    _damage(path, how, scope)
    mine, theirs = tmp_path / "mine.xlsx", tmp_path / "theirs.xlsx"
    shutil.copyfile(path, mine)
    shutil.copyfile(path, theirs)
    checked = calculate_path(mine, write=False, now=NOW)
    done = calculate_path(mine, now=NOW)
    book = FileBook(theirs)
    checked_by_openpyxl = calculate_file_book(FileBook(theirs), theirs, write=False, now=NOW)
    expected = calculate_file_book(book, theirs, now=NOW)
    expected.saved = book.save(outcome=expected)
    assert checked.to_dict() == checked_by_openpyxl.to_dict()
    assert done.to_dict() == expected.to_dict() and done.restored == expected.restored
    assert done.notes == list(book.save_notes)
    if how == "findings_sheet_deleted":  # saved whole by openpyxl: the zip's times and docProps differ
        assert _members(mine) == _members(theirs)
    else:
        assert mine.read_bytes() == theirs.read_bytes()
    codes = {f.code for f in done.findings}
    wanted = {
        "overwritten_result": "formula_restored",
        "formula_in_input": "formula_in_input",
        "text_number": "number_as_text",
        "unprotected": "protection_restored",
        "findings_sheet_deleted": "sheet_recreated",
    }.get(how)
    assert wanted is None or wanted in codes, codes


def test_the_book_reads_cells_as_openpyxl_types_them(tmp_path) -> None:
    path, scope = _filled(tmp_path)
    _damage(path, "date_in_input", scope)
    _damage(path, "error_in_input", scope)
    mine, theirs = open_book(path, "read"), FileBook(path)
    assert type(mine) is XlsxFileBook
    assert mine.sheet_names() == theirs.sheet_names() and mine.names() == theirs.names()
    for sheet in theirs.sheet_names():
        a, b = mine.grid(sheet), theirs.grid(sheet)
        cells = lambda g: {  # noqa: E731  (typed: 187 and 187.0 compare equal)
            (r, c): (type(v).__name__, v)
            for r, line in enumerate(g)
            for c, v in enumerate(line)
            if v is not None
        }
        assert cells(a) == cells(b), sheet
        assert sorted(mine.merged(sheet)) == sorted(theirs.merged(sheet)), sheet


def test_a_shared_formula_reads_as_openpyxl_translates_it(tmp_path) -> None:
    """Excel stores a filled-down formula once (``t="shared"``); each follower reads as its own."""
    wb = Workbook()
    ws = wb.active
    for row in (1, 2, 3):
        ws.cell(row, 2, row)
        ws.cell(row, 1, f"=B{row}*2+$B$1")
    buffer = io.BytesIO()
    wb.save(buffer)
    with zipfile.ZipFile(buffer) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
        members = {n: z.read(n) for n in z.namelist()}
    shared = re.sub(rb'<c r="A1"><f>([^<]*)</f>', rb'<c r="A1"><f t="shared" ref="A1:A3" si="0">\1</f>', xml)
    shared = re.sub(rb'<c r="A([23])"><f>[^<]*</f>', rb'<c r="A\1"><f t="shared" si="0"/>', shared)
    assert shared.count(b't="shared"') == 3
    members["xl/worksheets/sheet1.xml"] = shared
    out = tmp_path / "shared.xlsx"
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    expected = {(c.row, c.column): c.value for c in load_workbook(out).active["A"]}
    assert _formulas(shared) == expected == {(r, 1): f"=B{r}*2+$B$1" for r in (1, 2, 3)}


# -- the terminal ------------------------------------------------------------------------------------


def _large_evaluation(n: int):
    from bench.genplan import generated_entries, generated_plan_yaml

    plan = parse_plan(generated_plan_yaml(n, min(20, n)), source="generated")
    entries = {p.id: generated_entries(plan, p.id) for p in plan.periods}
    return evaluate(plan, entries, cells=True)


def test_a_large_plan_prints_only_what_needs_attention(capsys) -> None:
    ev = _large_evaluation(60)
    assert len(ev.plan.indicators) > FULL_TABLE_UP_TO
    lines = compact_lines(ev)
    needs = [
        r
        for r in ev.results
        if r.light in ("red", "yellow")
        or r.at_risk
        or any(f.indicator == r.indicator and f.period == r.period for f in ev.findings)
    ]
    assert 0 < len(needs) < len(ev.results)  # the generated counts leave some green, some not
    listed = [line for line in lines if line.startswith("  [")]
    assert len(listed) == len(needs)
    for r in needs:
        assert any(f" {r.indicator} " in line for line in listed)
    period = ev.plan.periods[0]
    head = next(line for line in lines if f"（{period.name}）" in line)
    rows = [r for r in ev.results if r.period == period.id]
    assert (
        f"指標 {len(rows)} 項" in head
        and f"需注意 {len([r for r in needs if r.period == period.id])} 項" in head
    )
    assert "--all" in lines[-1]
    print_evaluation(ev)
    compact = capsys.readouterr().out
    assert "┏" not in compact and "--all" in compact  # no table
    print_evaluation(ev, full=True)
    full = capsys.readouterr().out
    assert "┏" in full and "--all" not in full


def test_a_small_plan_keeps_the_full_table(capsys) -> None:
    ev = _large_evaluation(FULL_TABLE_UP_TO)
    print_evaluation(ev)
    out = capsys.readouterr().out
    assert "┏" in out and "--all" not in out
