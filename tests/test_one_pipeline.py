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
from workbook.buttons.bridge import PayloadBook
from workbook.cli import main
from workbook.form import layout as L
from workbook.form.book import Book, cell_address
from workbook.formats.files import WorkbookFileError
from workbook.libreoffice import recalculate, require_soffice

REPO = Path(__file__).resolve().parents[1]
ADAPTERS = {FileBook, CalamineBook, OdsBook, OdsFileBook, LiveBook, UnoBook, PayloadBook}
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
    """The 檢核結果 table as written: severity, code, sheet, cell, period, message."""
    rows = FileBook(path).grid(L.SHEET_FINDINGS)
    return [r[1:7] for r in rows[2:] if r[1]]


def _protection(path: Path) -> dict[str, dict]:
    return {ws.title: protection_state(ws) for ws in load_workbook(path).worksheets}


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
    assert message.startswith(f"計算完成：錯誤 {sum(r[0] == '錯誤' for r in table)} 項")
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
    assert all(p["sheet"] for p in button.values())  # every sheet protected again
    password = cli[L.SHEET_SUMMARY]["password"]
    assert button[sheet]["password"] == password and (password is None) == (key == "plain")


def test_the_button_protects_nothing_again_when_it_writes_nothing(damaged, tmp_path) -> None:
    """The clerk's own password on a sheet calculate writes: refused, and the unprotected sheet
    stays as the clerk left it (kpi calculate saves nothing either)."""
    source, values, sheet, _ = damaged["plain-unprotected"]
    wb = load_workbook(source)
    wb[L.SHEET_FINDINGS].protection.password = "mine"
    wb.save(tmp_path / "clerk.xlsx")
    message = _click(tmp_path / "clerk.xlsx", values, tmp_path / "after.xlsx")
    assert f"工作表「{L.SHEET_FINDINGS}」已被設定其他保護密碼" in message
    assert _protection(tmp_path / "after.xlsx") == _protection(tmp_path / "clerk.xlsx")
    assert not _protection(tmp_path / "after.xlsx")[sheet]["sheet"]  # not protected again
    with pytest.raises(WorkbookFileError):
        calculate_path(tmp_path / "clerk.xlsx", tmp_path / "cli.xlsx")
    assert not (tmp_path / "cli.xlsx").exists()


# -- one pipeline -----------------------------------------------------------------------------------


def test_open_book_chooses_the_adapter_by_the_file_name(tmp_path) -> None:
    from test_odf_guard import package

    path, _ = _filled(tmp_path)
    assert type(open_book(path, "read")) is FileBook and type(open_book(path, "write")) is FileBook
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
