"""Issue 18: Book adapters in one folder, declaring what they can do; one pipeline for a file.

* Every adapter declares every ability flag of :class:`workbook.form.book.Book` in its own
  class body, with the method behind each flag it sets, and calculate asks the flags only.
* The Excel button (desktop Excel over COM, through tests/excel_double.py) gives the same
  verdict as ``kpi calculate``: a merged input cell is ``merged_input``, and a form sheet
  the clerk unprotected is protected again, with the same protection afterwards.
* :func:`workbook.books.open.calculate_path` is the one way a file is calculated: the
  refusals every engine makes (VBA, an output in another format) are made there once;
  an .ods missing a product sheet gets the same verdict from the file engine as from LibreOffice.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from excel_double import Book as ExcelDouble
from excel_double import protection_state
from openpyxl import load_workbook
from test_button import NOW, _filled

import macros
from kpi_engine import load_plan, parse_plan
from kpi_engine.errors import KpiError
from workbook.books.calamine import CalamineBook
from workbook.books.excel import LiveBook
from workbook.books.file import FileBook
from workbook.books.ods import OdsBook
from workbook.books.ods_write import OdsFileBook
from workbook.books.open import calculate_path, open_book
from workbook.books.uno import UnoBook
from workbook.books.xlsx_file import XlsxFileBook
from workbook.buttons.bridge import PayloadBook
from workbook.cli import main
from workbook.form import layout as L
from workbook.form.book import Book, cell_address
from workbook.form.calculate import recorded_report
from workbook.libreoffice import recalculate, require_soffice

REPO = Path(__file__).resolve().parents[1]
ADAPTERS = {FileBook, XlsxFileBook, CalamineBook, OdsBook, OdsFileBook, LiveBook, UnoBook, PayloadBook}
#: The method behind each ability flag (``has_package_info``: the ``info`` attribute, per instance).
METHODS = {
    "can_rebuild_sheets": "rebuild_sheets",
    "reads_merged": "merged",
    "repairs_protection": "restore_protection",
    "reads_typed_formulas": "typed_formulas",
    "restores_formulas": "restore_formula",
}


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


# -- declared abilities ---------------------------------------------------------------------------


def test_every_adapter_declares_every_ability() -> None:
    adapters = {c for c in _subclasses(Book) if c.__module__.startswith("workbook.")}
    assert adapters == ADAPTERS
    assert set(Book.ABILITIES) == {*METHODS, "has_package_info", "blank_results_are_unknown"}
    for cls in sorted(adapters, key=lambda c: c.__name__):
        for ability in Book.ABILITIES:
            assert ability in vars(cls), f"{cls.__name__} does not declare {ability}"
            assert isinstance(vars(cls)[ability], bool), (cls.__name__, ability)
            assert getattr(Book, ability) is False, ability  # the base promises nothing
        for ability, method in METHODS.items():
            if getattr(cls, ability):
                assert getattr(cls, method) is not getattr(Book, method), (cls.__name__, method)
        for method in ("sheet_names", "names", "grid", "formulas", "write"):
            assert getattr(cls, method) is not getattr(Book, method), (cls.__name__, method)


def test_calculate_reads_flags_and_never_probes_the_book() -> None:
    for path in sorted((REPO / "workbook" / "form").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "getattr(book" not in text and "hasattr(book" not in text, path.name


def test_the_base_book_can_do_nothing_by_itself() -> None:
    book = Book()
    for method, args in (("sheet_names", ()), ("merged", ("x",)), ("restore_protection", ())):
        with pytest.raises(NotImplementedError):
            getattr(book, method)(*args)


# -- the Excel button equals kpi calculate --------------------------------------------------------

PASSWORD = "kpi107"


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Filled full-year workbooks (the plan's own, and one protected with a password):
    ``merged`` (staff merged the H1 and FY counts of one indicator) and ``unprotected``
    (staff unprotected that indicator's sheet, as Excel saves it: no protection element);
    each with the values LibreOffice computes for it (the double's Excel)."""
    require_soffice()
    tmp = tmp_path_factory.mktemp("one-pipeline")
    plan = load_plan()
    protected = parse_plan(plan.text.replace("password: null", f"password: {PASSWORD}"), source="pw.yaml")
    assert protected.options.password == PASSWORD
    made = {}
    for key, which in (("plain", plan), ("password", protected)):
        folder = tmp / key
        folder.mkdir()
        path, _ = _filled(folder, plan=which, period=None)
        names = FileBook(path).names()
        count = which.indicator("safety_defects")
        sheet, row, col = names[L.input_name(count, which.period("H1"), "count")]
        assert names[L.input_name(count, which.period("FY"), "count")] == (sheet, row, col + 1)
        for case in ("merged", "unprotected"):
            wb = load_workbook(path)
            if case == "merged":
                wb[sheet].merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + 1)
            else:
                wb[sheet].protection.sheet = False  # openpyxl then writes no <sheetProtection>, as Excel
            source = folder / f"{case}.xlsx"
            wb.save(source)
            values = recalculate(source, folder / f"{case}.values.xlsx")
            made[f"{key}-{case}"] = (
                source,
                values,
                sheet,
                [cell_address(row, col), cell_address(row, col + 1)],
            )
    return made


def _kpi_calculate(source: Path, out: Path, capsys) -> list[tuple]:
    """``kpi calculate SOURCE -o OUT --json``; its findings as (code, sheet, cell)."""
    capsys.readouterr()
    assert main(["calculate", str(source), "-o", str(out), "--json"]) in (0, 1)
    findings = json.loads(capsys.readouterr().out)["findings"]
    return [(f["code"], f["sheet"] or None, f["cell"] or None) for f in findings]


def _table(path: Path) -> list[list]:
    """The findings as recorded (檢核結果 shows them): severity, code, sheet, cell, period, message."""
    _, rows = recorded_report(FileBook(path))
    return [[r[1], r[7], r[3], r[4], r[5], r[2]] for r in rows if r[1]]


def _protection(path: Path) -> dict[str, dict]:
    # A SHA-512 key (Excel 2013+) shows as the legacy hash of the plan's password that opens it.
    return {ws.title: protection_state(ws, (PASSWORD,)) for ws in load_workbook(path).worksheets}


@pytest.fixture(autouse=True)
def _no_double_click_window(monkeypatch):
    """These tests click one file in quick succession on purpose (test_excel_button tests the guard)."""
    from workbook.buttons import common

    monkeypatch.setattr(common, "QUIET_SECONDS", 0.0)


def _click(source: Path, values: Path, out: Path) -> str:
    book = ExcelDouble(source, values)
    try:
        message = macros.calculate(book, now=NOW)
        book.save(out)
    finally:
        book.close()
    return message


@pytest.mark.parametrize("key", ["plain", "password"])
def test_a_merged_input_is_found_by_the_button_as_by_kpi_calculate(damaged, key, tmp_path, capsys) -> None:
    source, values, sheet, cells = damaged[f"{key}-merged"]
    found = _kpi_calculate(source, tmp_path / "cli.xlsx", capsys)
    message = _click(source, values, tmp_path / "button.xlsx")

    assert [f for f in found if f[0] == "merged_input"] == [("merged_input", sheet, c) for c in cells]
    table = _table(tmp_path / "button.xlsx")
    assert table == _table(tmp_path / "cli.xlsx")
    assert sorted((r[1], r[2] or None, r[3] or None) for r in table) == sorted(found)
    errors = sum(r[0] == "錯誤" for r in table)
    assert message.startswith(f"有 {errors} 項需要修正（紅色儲存格）" if errors else "計算完成")
    assert _protection(tmp_path / "button.xlsx") == _protection(tmp_path / "cli.xlsx") == _protection(source)


@pytest.mark.parametrize("key", ["plain", "password"])
def test_a_sheet_the_clerk_unprotected_is_protected_again_by_the_button_as_by_kpi_calculate(
    damaged, key, tmp_path, capsys
) -> None:
    source, values, sheet, _ = damaged[f"{key}-unprotected"]
    assert not _protection(source)[sheet]["sheet"]
    found = _kpi_calculate(source, tmp_path / "cli.xlsx", capsys)
    _click(source, values, tmp_path / "button.xlsx")

    assert ("protection_restored", sheet, None) in found
    table = _table(tmp_path / "button.xlsx")
    assert table == _table(tmp_path / "cli.xlsx")
    assert sorted((r[1], r[2] or None, r[3] or None) for r in table) == sorted(found)
    button, cli = _protection(tmp_path / "button.xlsx"), _protection(tmp_path / "cli.xlsx")
    assert button == cli
    assert all(p["sheet"] for s, p in button.items() if s != L.SHEET_META)  # every form sheet protected again
    password = cli[L.SHEET_SUMMARY]["password"]
    assert button[sheet]["password"] == password and (password is None) == (key == "plain")


def test_a_workbook_excel_itself_saved_is_clicked_as_kpi_calculate_does(damaged, tmp_path, capsys) -> None:
    """Excel 2013+ keys every sheet it protects again with SHA-512 (algorithmName, hashValue,
    saltValue, spinCount): the button reads such a workbook, protects the sheet staff
    unprotected as Excel would, and leaves the rest as it was; kpi calculate agrees."""
    from excel_double import SHA512, set_sha512_password

    source, values, sheet, _ = damaged["password-unprotected"]
    wb = load_workbook(source)
    for ws in wb.worksheets:
        if ws.protection.sheet and ws.protection.password:
            set_sha512_password(ws.protection, PASSWORD, spin_count=1000)
    wb.save(tmp_path / "excel.xlsx")
    assert load_workbook(tmp_path / "excel.xlsx")[L.SHEET_SUMMARY].protection.algorithmName == SHA512
    found = _kpi_calculate(tmp_path / "excel.xlsx", tmp_path / "cli.xlsx", capsys)
    message = _click(tmp_path / "excel.xlsx", values, tmp_path / "button.xlsx")
    assert message.startswith("計算完成") and ("protection_restored", sheet, None) in found
    assert _table(tmp_path / "button.xlsx") == _table(tmp_path / "cli.xlsx")
    button, before = _protection(tmp_path / "button.xlsx"), _protection(tmp_path / "excel.xlsx")
    assert button[sheet]["sheet"] and button[sheet]["password"] == before[L.SHEET_SUMMARY]["password"]
    assert (
        load_workbook(tmp_path / "button.xlsx")[sheet].protection.algorithmName == SHA512
    )  # as Excel keys it
    assert {s: p for s, p in button.items() if s != sheet} == {s: p for s, p in before.items() if s != sheet}
    again = _click(
        tmp_path / "button.xlsx", values, tmp_path / "twice.xlsx"
    )  # what Excel saved, clicked again
    assert again.startswith("計算完成") and _protection(tmp_path / "twice.xlsx") == button
    assert "protection_restored" not in {
        r[1] for r in _table(tmp_path / "twice.xlsx")
    }  # nothing left to restore


def test_a_clerks_own_password_stops_nothing(damaged, tmp_path) -> None:
    """Issue 22: calculate writes only the system sheet, so the clerk's own password on a form
    sheet stops neither the button nor kpi calculate, and stays as the clerk set it."""
    source, values, sheet, _ = damaged["plain-unprotected"]
    wb = load_workbook(source)
    wb[L.SHEET_FINDINGS].protection.password = "mine"
    wb.save(tmp_path / "clerk.xlsx")
    message = _click(tmp_path / "clerk.xlsx", values, tmp_path / "after.xlsx")
    assert message.startswith("計算完成")
    clerk, after = _protection(tmp_path / "clerk.xlsx"), _protection(tmp_path / "after.xlsx")
    assert after[L.SHEET_FINDINGS] == clerk[L.SHEET_FINDINGS]  # the clerk's hash, untouched
    assert after[sheet]["sheet"]  # the sheet staff unprotected is protected again
    outcome = calculate_path(tmp_path / "clerk.xlsx", tmp_path / "cli.xlsx")
    assert outcome.saved and _protection(tmp_path / "cli.xlsx")[L.SHEET_FINDINGS] == clerk[L.SHEET_FINDINGS]


# -- one pipeline -----------------------------------------------------------------------------------


def test_open_book_chooses_the_adapter_by_the_file_name(tmp_path) -> None:
    from test_odf_guard import package

    path, _ = _filled(tmp_path)
    assert type(open_book(path, "read")) is XlsxFileBook and type(open_book(path, "write")) is XlsxFileBook
    ods = tmp_path / "填報.ods"
    ods.write_bytes(package())
    read = open_book(ods, "read")
    assert type(read) is OdsBook and read.formulas_visible
    assert type(open_book(ods, "write")) is OdsFileBook
    with pytest.raises(ValueError):
        open_book(path, "append")


def test_the_shared_refusals_are_made_once(tmp_path, capsys) -> None:
    # one text, one place
    owners = [
        p.relative_to(REPO).as_posix()
        for p in (REPO / "workbook").rglob("*.py")
        if "活頁簿含有巨集（VBA）" in p.read_text(encoding="utf-8")
    ]
    assert owners == ["workbook/books/open.py"]
    # the output keeps the input's format on every engine (the file engine wrote .xlsx bytes
    # into an .ods before)
    path, _ = _filled(tmp_path)
    before = path.read_bytes()
    for engine in ("file", "libreoffice"):
        with pytest.raises(KpiError) as refused:
            calculate_path(path, tmp_path / "out.ods", engine=engine)
        assert refused.value.code == "output_extension"
        assert refused.value.message_zh == (
            "計算後的工作簿以原檔格式儲存，-o 的副檔名須與原檔相同（.xlsx）；無法寫成 .ods 檔"
        )
    assert main(["calculate", str(path), "-o", str(tmp_path / "out.ods")]) == 2
    assert "格式" in capsys.readouterr().err
    assert not (tmp_path / "out.ods").exists() and path.read_bytes() == before


def test_check_and_calculate_through_calculate_path(tmp_path) -> None:
    path, _ = _filled(tmp_path)
    before = path.read_bytes()
    checked = calculate_path(path, write=False)
    assert checked.saved is None and path.read_bytes() == before
    assert "not_calculated" in {f.code for f in checked.findings}
    out = tmp_path / "已計算.xlsx"
    done = calculate_path(path, out, now=NOW)
    assert done.saved == out and done.notes == [] and path.read_bytes() == before
    assert [f.code for f in done.findings] == [f.code for f in checked.findings if f.code != "not_calculated"]
    shutil.copyfile(out, tmp_path / "again.xlsx")
    assert calculate_path(tmp_path / "again.xlsx", write=False).findings == done.findings


def test_an_ods_without_its_findings_sheet_gets_the_same_verdict_on_both_engines(tmp_path) -> None:
    """No adapter but FileBook can recreate a deleted sheet, and OdsFileBook says so: the file
    engine then calculates the rest (``sheet_missing``), as LibreOffice does."""
    require_soffice()
    from workbook.books.uno import office, store
    from workbook.odf import write_template_ods

    template = write_template_ods(L.Scope(load_plan(), period_id="H1"), tmp_path / "t.ods")
    with office() as lo:
        doc = lo.open(template)
        try:
            doc.Sheets.removeByName(L.SHEET_FINDINGS)
            store(doc, tmp_path / "file.ods")
        finally:
            doc.close(True)
    shutil.copyfile(tmp_path / "file.ods", tmp_path / "lo.ods")
    native = calculate_path(tmp_path / "file.ods", now=NOW)
    live = calculate_path(tmp_path / "lo.ods", engine="libreoffice", now=NOW)
    missing = [f for f in native.findings if f.code == "sheet_missing"]
    assert len(missing) == 1 and L.SHEET_FINDINGS in missing[0].message_zh
    assert native.to_dict() == live.to_dict()
    assert native.saved == tmp_path / "file.ods" and live.saved == tmp_path / "lo.ods"


def test_the_libreoffice_engine_writes_no_visible_cell(tmp_path) -> None:
    """Issue 22, through LibreOffice (UnoBook, the adapter of the LibreOffice button): after
    calculate every cell of every visible sheet is as before, formulas and values alike;
    only the system sheet differs.  Both sides are stored by LibreOffice, so its own
    rewriting of a file is the same on both."""
    from workbook.books.uno import office, store

    require_soffice()
    path, _ = _filled(tmp_path)
    with office(profile=tmp_path / "profile") as lo:
        doc = lo.open(path)
        try:
            store(doc, tmp_path / "before.xlsx")
        finally:
            doc.close(True)
    outcome = calculate_path(tmp_path / "before.xlsx", tmp_path / "after.xlsx", engine="libreoffice")
    assert outcome.saved and [f.code for f in outcome.findings] == ["missing", "missing"]

    def cells(path: Path) -> dict:
        wb = load_workbook(path)
        return {
            (ws.title, c.coordinate): c.value
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for c in row
            if c.value not in (None, "")
        }

    before, after = cells(tmp_path / "before.xlsx"), cells(tmp_path / "after.xlsx")
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    assert changed and {sheet for sheet, _ in changed} == {L.SHEET_META}
    wb = load_workbook(tmp_path / "after.xlsx")
    assert [ws.title for ws in wb.worksheets if ws.sheet_state != "visible"] == [L.SHEET_META]
    assert _protection(tmp_path / "after.xlsx") == _protection(tmp_path / "before.xlsx")
    status, rows = recorded_report(FileBook(tmp_path / "after.xlsx"))
    assert status.startswith("已於") and [r[7] for r in rows] == ["missing", "missing"]
