"""The 「計算」 button against a double of desktop Excel over COM (tests/excel_double.py).

The double refuses what Excel refuses (writes to locked cells of protected sheets, a
wrong password), returns values as COM does, and holds LibreOffice's computed values.
The button must give exactly what ``kpi calculate`` gives, leave every input and every
sheet's protection as it was, and run from the very command line the add-in's VBA sends.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from excel_double import PASSWORD_TEXT, PROTECTED_TEXT, Book, ComError, protection_state
from openpyxl import load_workbook
from test_button import NOW, _cells, _filled, _input_cells

import macros
from workbook.books.file import FileBook
from workbook.form import layout as L
from workbook.form.calculate import calculate
from workbook.libreoffice import recalculate, require_soffice

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    """The seed sample typed into a protected template, and LibreOffice's values for it."""
    require_soffice()
    tmp = tmp_path_factory.mktemp("excel-double")
    path, scope = _filled(tmp)
    values = recalculate(path, tmp / "values.xlsx")
    return tmp, path, values, scope


def _kpi_calculate(path: Path, out: Path):
    shutil.copyfile(path, out)
    book = FileBook(out)
    outcome = calculate(book, now=NOW)
    book.save()
    return outcome


def _protection(path: Path) -> dict[str, dict]:
    return {ws.title: protection_state(ws) for ws in load_workbook(path).worksheets}


def _findings(path: Path) -> list[list]:
    rows = FileBook(path).grid(L.SHEET_FINDINGS)
    return [r[1:7] for r in rows[2:] if r[1]]


# -- the double itself ---------------------------------------------------------------


def _input(book: Book, scope, ind_id="procurement_pass_rate", role="numerator"):
    ind = scope.plan.indicator(ind_id)
    sheet, row, col = next(
        (s, r, c)
        for n, (s, r, c) in FileBook(book.path).names().items()
        if n == L.input_name(ind, scope.periods[0], role)
    )
    return book.sheets[sheet], row, col


def test_double_refuses_locked_cells_of_protected_sheets(seed):
    _, path, values, scope = seed
    book = Book(path, values)
    sheet, row, col = _input(book, scope)
    sheet.range((row, col)).value = 190  # an unlocked input: Excel lets code write it
    assert sheet.range((row, col)).value == 190.0
    with pytest.raises(ComError) as refused:
        sheet.range((row + 1, col - 1)).value = "x"  # the label beside it is locked
    assert refused.value.text == PROTECTED_TEXT
    with pytest.raises(ComError):  # a block is refused whole if one cell is locked
        sheet.range((row, col)).value = [[1], [2], [3], [4], [5], [6], [7]]
    assert sheet.range((row + 1, col)).value != 2.0


def test_double_unprotect_needs_the_password_and_protect_takes_excels_defaults(seed, tmp_path):
    _, path, values, _scope = seed
    wb = load_workbook(path)
    ws = wb.worksheets[1]
    ws.protection.password = "clerk"
    wb.save(tmp_path / "pw.xlsx")
    book = Book(tmp_path / "pw.xlsx", values)
    api = book.sheets[ws.title].api
    with pytest.raises(ComError) as wrong:
        api.Unprotect("")
    assert wrong.value.text == PASSWORD_TEXT and api.ProtectContents
    api.Unprotect("clerk")
    assert not api.ProtectContents
    book.sheets[ws.title].range((1, 1)).value = "'title"  # unprotected: any cell
    assert book.sheets[ws.title].range((1, 1)).value == "title"
    api.EnableSelection = 1
    api.Protect()  # Excel's defaults: objects and scenarios protected, no Allow…, selection reset
    assert api.ProtectContents and api.ProtectDrawingObjects and api.ProtectScenarios
    assert not api.Protection.AllowFormattingColumns and api.EnableSelection == 0
    with pytest.raises(TypeError):
        api.Protect(AllowResizing=True)


def test_double_reads_values_as_com_does(seed, tmp_path):
    _, path, values, _scope = seed
    wb = load_workbook(path)
    ws = wb.worksheets[1]
    ws["J1"], ws["J2"], ws["J3"], ws["J4"] = 187, 12.5, dt.date(2018, 6, 30), "#DIV/0!"
    ws["J5"] = 1234.56789
    ws["J5"].number_format = '"NT$"#,##0.00'
    wb.save(tmp_path / "types.xlsx")
    book = Book(tmp_path / "types.xlsx", values)
    sheet = book.sheets[ws.title]
    got = sheet.range("J1:J6").options(ndim=2).value
    assert [r[0] for r in got] == [187.0, 12.5, dt.datetime(2018, 6, 30), None, Decimal("1234.5679"), None]
    assert type(got[0][0]) is float
    assert sheet.range("J4").options(err_to_str=True).value == "#DIV/0!"
    # Text written by code is parsed as if typed, unless it carries the apostrophe prefix.
    sheet.api.Unprotect("")
    sheet.range("J7").value = [["187", "2026-07-10 09:30:00", "TRUE", "'187", "'=1+2"]]
    row = sheet.range("J7:N7").value
    assert row == [187.0, dt.datetime(2026, 7, 10, 9, 30), True, "187", "=1+2"]


def test_double_manual_calculation_shows_stale_results_until_calculate(seed):
    _, path, values, scope = seed
    book = Book(path, values)
    ind = scope.plan.indicator("procurement_pass_rate")
    sheet, row, col = _input(book, scope)
    result = FileBook(path).names()[L.result_name(ind, scope.periods[0], "value")]
    shown = book.sheets[result[0]].range(result[1:])
    assert shown.value == 89.05
    book.app.calculation = "manual"
    sheet.range((row, col)).value = 105  # 105/210
    assert shown.value == 89.05  # stale, as Excel shows it
    book.app.calculate()
    assert shown.value == 50.0


# -- the button through the double ---------------------------------------------------


def test_button_equals_kpi_calculate_and_keeps_protection(seed, tmp_path):
    _, path, values, _scope = seed
    outcome = _kpi_calculate(path, tmp_path / "cli.xlsx")
    book = Book(path, values)
    message = macros.calculate(book, now=NOW)
    book.save(tmp_path / "button.xlsx")

    assert message == "計算完成：錯誤 0 項、警告 2 項。\n請先存檔（Ctrl+S），再依規定將本工作簿寄回彙整窗口。"
    assert book.app.alerts == [(message, macros.TITLE)]
    assert _cells(tmp_path / "button.xlsx") == _cells(tmp_path / "cli.xlsx")
    assert _input_cells(tmp_path / "button.xlsx") == _input_cells(path)
    assert _protection(tmp_path / "button.xlsx") == _protection(path)
    assert all(p["sheet"] for p in _protection(path).values())  # every sheet was protected
    assert [f.code for f in outcome.findings] == ["missing", "missing"]


def test_button_on_a_sheet_with_the_clerks_password_names_it_and_writes_nothing(seed, tmp_path):
    _, path, values, _scope = seed
    wb = load_workbook(path)
    guarded = L.SHEET_FINDINGS  # a sheet calculate writes (indicator sheets hold only formulas and inputs)
    wb[guarded].protection.password = "mine"
    wb.save(tmp_path / "clerk.xlsx")
    book = Book(tmp_path / "clerk.xlsx", values)
    message = macros.calculate(book, now=NOW)
    book.save(tmp_path / "after.xlsx")
    assert message.startswith(f"無法計算：工作表「{guarded}」已被設定其他保護密碼")
    assert f"sheet {guarded!r} is protected with a password other than the template's" in message
    assert _cells(tmp_path / "after.xlsx") == _cells(tmp_path / "clerk.xlsx")
    assert _protection(tmp_path / "after.xlsx") == _protection(tmp_path / "clerk.xlsx")


def test_a_sheet_that_will_not_protect_again_is_named_and_the_others_are_protected(
    seed, tmp_path, monkeypatch
):
    from excel_double import SheetApi

    _, path, values, _scope = seed
    book = Book(path, values)
    stubborn = L.SHEET_FINDINGS
    real = SheetApi.Protect

    def protect(self, *args, **kwargs):
        if self._sheet.name == stubborn:
            raise ComError("Protect method of Worksheet class failed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SheetApi, "Protect", protect)
    message = macros.calculate(book, now=NOW)
    assert message.startswith(f"無法計算：結果已寫入，但工作表「{stubborn}」無法重新設定保護"), message
    book.save(tmp_path / "after.xlsx")
    after, before = _protection(tmp_path / "after.xlsx"), _protection(path)
    assert {s for s in after if after[s] != before[s]} == {stubborn}


def test_formula_in_a_count_gets_the_same_finding_as_kpi_calculate(seed, tmp_path):
    _, path, _values, scope = seed
    ind = scope.plan.indicator("failed_tender_rate")
    formula = tmp_path / "formula.xlsx"
    sheet, row, col = FileBook(path).names()[L.input_name(ind, scope.periods[0], "numerator")]
    wb = load_workbook(path)  # staff's spreadsheet program, not our writer (it never writes formulas)
    wb[sheet].cell(row, col).value = "=40+8"  # typed as a formula: Excel shows 48
    wb.save(formula)
    _kpi_calculate(formula, tmp_path / "cli.xlsx")
    double = Book(formula)  # LibreOffice computes the formula, as Excel would
    assert double.sheets[sheet].range((row, col)).value == 48.0
    message = macros.calculate(double, now=NOW)
    double.save(tmp_path / "button.xlsx")
    assert message.startswith("計算完成：錯誤 1 項")
    assert _findings(tmp_path / "button.xlsx") == _findings(tmp_path / "cli.xlsx")
    assert _findings(tmp_path / "cli.xlsx")[0][:4] == ["錯誤", "formula_in_input", sheet, f"C{row}"]
    assert _cells(tmp_path / "button.xlsx") == _cells(tmp_path / "cli.xlsx")


def test_manual_calculation_mode_is_recalculated_and_kept(seed, tmp_path):
    _, path, values, scope = seed
    book = Book(path, values)
    book.app.calculation = "manual"
    sheet, row, col = _input(book, scope)
    sheet.range((row, col)).value = 105  # typed after the last recalculation
    message = macros.calculate(book, now=NOW)
    assert message.startswith("計算完成：錯誤 0 項"), message  # no false result_mismatch
    assert book.app.calculation == "manual" and book.app.calculations == 2
    ind = scope.plan.indicator("procurement_pass_rate")
    s, r, c = FileBook(path).names()[L.sentence_name(ind, scope.periods[0])]
    assert "及格率50%(105人/210人)" in book.sheets[s].range((r, c)).value  # the live analysis formula


def test_success_message_names_the_plans_address(tmp_path):
    require_soffice()
    from plan_factory import indicator, make_plan

    plan = make_plan(
        indicator("k1", "count", "≤100"),
        indicator("k2", "count", "≤100"),
        options={"submit_to": "kpi@example.gov.tw"},
    )
    path, _ = _filled(
        tmp_path, plan=plan, entries={"H1": {"k1": {"count": 3}, "k2": {"count": 4}}}, year=107, period="H1"
    )
    book = Book(path)
    message = macros.calculate(book, now=NOW)
    assert message.endswith("請先存檔（Ctrl+S），再以電子郵件將本工作簿寄至 kpi@example.gov.tw。"), message


# -- generated entry sets ------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    soffice = require_soffice()
    from helpers_workbook import recalc_all
    from test_libreoffice_oracle import generated_cases, write_batches

    batches = [dict(b) for b in generated_cases()]
    write_batches(batches, tmp_path_factory.mktemp("generated-double"))
    done = recalc_all([b["path"] for b in batches], soffice)
    for b in batches:
        b["values"] = done[b["path"]]
    return batches


def test_button_on_generated_entry_sets_equals_kpi_calculate(generated, tmp_path):
    compared = 0
    for b in generated:
        cli = tmp_path / f"{b['name']}.cli.xlsx"
        button = tmp_path / f"{b['name']}.button.xlsx"
        _kpi_calculate(b["path"], cli)
        book = Book(b["path"], b["values"])
        message = macros.calculate(book, now=NOW)
        book.save(button)
        assert message.startswith("計算完成："), (b["name"], message)
        got, want = _cells(button), _cells(cli)
        assert got == want, (
            b["name"],
            {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)},
        )
        assert _input_cells(button) == _input_cells(b["path"])
        assert _protection(button) == _protection(b["path"])
        compared += len(want)
    assert len(generated) == 7 and compared > 5_000  # six generated batches and the invalid one


# -- the add-in's own command line ---------------------------------------------------


def _vba_command(interpreter: list[str], book: str, module: str = "macros") -> list[str]:
    """``ExecuteWindows``' command (xlwings_custom_addin.bas), with the add-in's configuration."""
    pythonpath = ";".join(
        ["FALSE", rf"C:\Users\clerk\OneDrive\{book}", r"C:\XLSTART\macros.xlam", "", "", "", ""]
    )
    pythonpath = pythonpath.replace("\\", "\\\\")
    code = f'import xlwings.utils;xlwings.utils.prepare_sys_path("{pythonpath}"); import {module};{module}.main()'
    return [
        *interpreter,
        "-B",
        "-c",
        code,
        f"--wb={book}",
        "--from_xl=1",
        r"--app=C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
        "--hwnd=657890",
    ]


def _click(tmp: Path, path: Path, values: Path, interpreter: list[str], **spec) -> dict:
    spec_path = tmp / "spec.json"
    report = tmp / "report.json"
    spec_path.write_text(
        json.dumps(
            {
                "path": str(path),
                "values": str(values),
                "out": str(tmp / "out.xlsx"),
                "report": str(report),
                **spec,
            }
        ),
        encoding="utf-8",
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "XLWINGS_LICENSE_KEY"},
        "PYTHONPATH": os.pathsep.join([str(TESTS / "excel_shim"), str(REPO), str(TESTS)]),
        "KPI_EXCEL_DOUBLE": str(spec_path),
        "LOCALAPPDATA": str(tmp),
    }
    done = subprocess.run(
        _vba_command(interpreter, path.name), capture_output=True, text=True, env=env, cwd=tmp
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # ExecuteWindows shows any stderr to staff as an error
    return json.loads(report.read_text(encoding="utf-8"))


def _launcher(tmp: Path) -> list[str]:
    """The console script pip writes for ``kpi-excel-python`` (setup.cfg), run by this Python."""
    script = tmp / "kpi-excel-python"
    script.write_text(
        "import re\nimport sys\nfrom workbook.buttons.launch import main\n"
        "if __name__ == '__main__':\n"
        "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        "    sys.exit(main())\n",
        encoding="utf-8",
    )
    return [sys.executable, str(script)]


def test_the_vba_command_line_through_the_launcher(seed, tmp_path):
    _, path, values, _scope = seed
    _kpi_calculate(path, tmp_path / "cli.xlsx")
    report = _click(tmp_path, path, values, _launcher(tmp_path))
    assert report["alerts"] == [
        "計算完成：錯誤 0 項、警告 2 項。\n請先存檔（Ctrl+S），再依規定將本工作簿寄回彙整窗口。"
    ]
    assert report["titles"] == [macros.TITLE]
    assert report["pandas"] is False
    assert report["argv"][0] == "-c" and report["argv"][1] == f"--wb={path.name}"
    # Equal cell for cell, but for the time stamp: the click runs now, kpi calculate at NOW.
    got, want = _cells(tmp_path / "out.xlsx"), _cells(tmp_path / "cli.xlsx")
    differ = {k for k in set(got) | set(want) if got.get(k) != want.get(k)}
    assert {k[0] for k in differ} == {L.SHEET_GUIDE, L.SHEET_META} and len(differ) == 2, differ
    today = dt.datetime.now()
    assert any(str(got[k]).startswith(f"{today:%Y-%m-%d}") for k in differ)
    assert report["protection"] == _protection(path)


def test_the_vba_command_line_with_plain_python_loads_pandas(seed, tmp_path):
    """Why the add-in names the launcher: with python itself, xlwings.utils loads pandas first."""
    pytest.importorskip("pandas")
    _, path, values, _scope = seed
    report = _click(tmp_path, path, values, [sys.executable])
    assert report["pandas"] is True
    assert report["alerts"][0].startswith("計算完成：錯誤 0 項")


def test_the_vba_command_line_in_manual_calculation_mode(seed, tmp_path):
    _, path, values, _scope = seed
    report = _click(tmp_path, path, values, _launcher(tmp_path), calculation="manual")
    assert report["calculation"] == "manual" and report["calculations"] == 2
    assert report["alerts"][0].startswith("計算完成：錯誤 0 項")
