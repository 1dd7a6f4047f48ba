"""The 「計算」 button against a double of desktop Excel over COM (tests/excel_double.py).

The double refuses what Excel refuses (writes to locked cells of protected sheets, a
wrong password), returns values as COM does, and holds LibreOffice's computed values.
The button must give exactly what ``kpi calculate`` gives, leave every input and every
sheet's protection as it was, and run from the very command line the add-in's VBA sends.
"""

from __future__ import annotations

import contextlib
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
from workbook.books.excel import SCRATCH_COLUMN, LiveBook
from workbook.books.file import FileBook
from workbook.buttons import common
from workbook.buttons import excel as excel_button
from workbook.form import layout as L
from workbook.form.calculate import calculate, recorded_report
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
    """The findings as recorded (檢核結果 shows them): severity, code, sheet, cell, period, message."""
    _, rows = recorded_report(FileBook(path))
    return [[r[1], r[7], r[3], r[4], r[5], r[2]] for r in rows if r[1]]


@pytest.fixture(autouse=True)
def _no_double_click_window(monkeypatch):
    """Tests click one file in quick succession on purpose; the double-click test sets it back."""
    monkeypatch.setattr(common, "QUIET_SECONDS", 0.0)


#: The seed's message: two counts not filled in yet (warnings), nothing to fix.
SEED_MESSAGE = "計算完成，無錯誤；有 2 項提醒（見「檢核結果」）。\n請存檔後寄回彙整窗口。"


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


def _opens_only_with(api, wrong: str, right: str) -> None:
    """``Unprotect(wrong)`` raises Excel's COM error and leaves the sheet protected; ``right`` opens it."""
    with pytest.raises(ComError) as refused:
        api.Unprotect(wrong)
    assert refused.value.text == PASSWORD_TEXT and api.ProtectContents
    api.Unprotect(right)
    assert not api.ProtectContents


def test_double_unprotect_needs_the_password_and_protect_takes_excels_defaults(seed, tmp_path):
    _, path, values, _scope = seed
    wb = load_workbook(path)
    ws = wb.worksheets[1]
    ws.protection.password = "clerk"
    wb.save(tmp_path / "pw.xlsx")
    book = Book(tmp_path / "pw.xlsx", values)
    api = book.sheets[ws.title].api
    _opens_only_with(api, "", "clerk")
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

    assert message == SEED_MESSAGE
    assert book.app.alerts == [(message, macros.TITLE)] and book.app.modes == ["info"]
    assert _cells(tmp_path / "button.xlsx") == _cells(tmp_path / "cli.xlsx")
    assert _input_cells(tmp_path / "button.xlsx") == _input_cells(path)
    assert _protection(tmp_path / "button.xlsx") == _protection(path)
    assert all(p["sheet"] for s, p in _protection(path).items() if s != L.SHEET_META)  # every form sheet
    assert {w[0] for w in book.writes} == {L.SHEET_META}  # issue 22: only the system sheet
    assert book.api.calls <= 2 and book.name_calls == 0  # the names in bulk, not name by name
    assert [f.code for f in outcome.findings] == ["missing", "missing"]


def test_the_clerks_own_password_stops_nothing(seed, tmp_path):
    """Issue 22: the button writes only the system sheet, so a clerk's password is no obstacle."""
    _, path, values, _scope = seed
    wb = load_workbook(path)
    wb[L.SHEET_FINDINGS].protection.password = "mine"
    wb.save(tmp_path / "clerk.xlsx")
    _kpi_calculate(tmp_path / "clerk.xlsx", tmp_path / "cli.xlsx")
    book = Book(tmp_path / "clerk.xlsx", values)
    message = macros.calculate(book, now=NOW)
    book.save(tmp_path / "after.xlsx")
    assert message == SEED_MESSAGE
    assert _cells(tmp_path / "after.xlsx") == _cells(tmp_path / "cli.xlsx")
    assert _protection(tmp_path / "after.xlsx") == _protection(tmp_path / "clerk.xlsx")


def test_a_sheet_that_will_not_protect_again_is_named_and_the_others_are_protected(
    seed, tmp_path, monkeypatch
):
    from excel_double import SheetApi

    _, path, values, _scope = seed
    stubborn = L.SHEET_FINDINGS
    wb = load_workbook(path)
    wb[stubborn].protection.sheet = False  # staff removed it: calculate protects it again
    wb.save(tmp_path / "open.xlsx")
    book = Book(tmp_path / "open.xlsx", values)
    real = SheetApi.Protect

    def protect(self, *args, **kwargs):
        if self._sheet.name == stubborn:
            raise ComError("Protect method of Worksheet class failed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SheetApi, "Protect", protect)
    message = macros.calculate(book, now=NOW)
    assert message.startswith(f"無法計算：結果已寫入，但工作表「{stubborn}」無法重新設定保護"), message
    assert book.app.modes == ["critical"]  # xlwings' warning icon
    book.save(tmp_path / "after.xlsx")
    after, before = _protection(tmp_path / "after.xlsx"), _protection(tmp_path / "open.xlsx")
    assert after == before and not after[stubborn]["sheet"]


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
    assert message.startswith("有 1 項需要修正（紅色儲存格）")
    assert double.app.modes == ["critical"]  # the warning icon
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
    assert message == SEED_MESSAGE  # no false result_mismatch
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
    assert message == "計算完成，無誤：請存檔後寄回 kpi@example.gov.tw。", message
    assert book.app.modes == ["info"]


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
        outcome = _kpi_calculate(b["path"], cli)
        book = Book(b["path"], b["values"])
        message = macros.calculate(book, now=NOW)
        book.save(button)
        assert message == common.done_message(outcome)[0], (b["name"], message)
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
        "TMPDIR": str(tmp),  # each test's own double-click markers (workbook.buttons.common.once)
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
    assert report["alerts"] == [SEED_MESSAGE]
    assert report["titles"] == [macros.TITLE]
    assert report["pandas"] is False
    assert report["argv"][0] == "-c" and report["argv"][1] == f"--wb={path.name}"
    # Equal cell for cell, but for the time stamp: the click runs now, kpi calculate at NOW.
    got, want = _cells(tmp_path / "out.xlsx"), _cells(tmp_path / "cli.xlsx")
    differ = {k for k in set(got) | set(want) if got.get(k) != want.get(k)}
    # only the system sheet: the recorded status line and the stamp (填表說明 shows the line by formula)
    assert {k[0] for k in differ} == {L.SHEET_META} and len(differ) == 2, differ
    today = dt.datetime.now()
    assert any(str(got[k]).startswith(f"{today:%Y-%m-%d}") for k in differ)
    assert report["protection"] == _protection(path)


def test_the_vba_command_line_with_plain_python_loads_pandas(seed, tmp_path):
    """Why the add-in names the launcher: with python itself, xlwings.utils loads pandas first."""
    pytest.importorskip("pandas")
    _, path, values, _scope = seed
    report = _click(tmp_path, path, values, [sys.executable])
    assert report["pandas"] is True
    assert report["alerts"] == [SEED_MESSAGE]


def test_the_vba_command_line_in_manual_calculation_mode(seed, tmp_path):
    _, path, values, _scope = seed
    report = _click(tmp_path, path, values, _launcher(tmp_path), calculation="manual")
    assert report["calculation"] == "manual" and report["calculations"] == 2
    assert report["alerts"] == [SEED_MESSAGE]


# -- issue 22: what Excel 2013+ saves, names in bulk, the messages of its own ---------


def test_double_reads_and_writes_sha512_sheet_hashes(seed, tmp_path):
    from excel_double import SHA512, set_sha512_password

    _, path, values, _scope = seed
    wb = load_workbook(path)
    ws = wb.worksheets[1]
    set_sha512_password(ws.protection, "clerk", spin_count=1000)
    wb.save(tmp_path / "sha.xlsx")
    reread = load_workbook(tmp_path / "sha.xlsx").worksheets[1].protection
    assert (reread.algorithmName, reread.spinCount, reread.password) == (SHA512, 1000, None)
    book = Book(tmp_path / "sha.xlsx", values)
    api = book.sheets[ws.title].api
    _opens_only_with(api, "Clerk", "clerk")
    api.Protect(Password="clerk")  # as Excel 2013+ keys it again: SHA-512, a fresh salt, 100,000 spins
    p = book.sheets[ws.title].ws.protection
    assert (p.algorithmName, p.spinCount, p.password) == (SHA512, 100_000, None)
    assert p.saltValue != reread.saltValue
    api.Unprotect("clerk")  # the new key opens with the same password
    assert not api.ProtectContents


def test_the_sha512_hash_is_the_one_libreoffice_checks(tmp_path):
    """An independent engine: LibreOffice unprotects a sheet the double keyed with SHA-512
    only with the right password (so the double hashes as Excel does)."""
    require_soffice()
    from excel_double import set_sha512_password
    from openpyxl import Workbook

    from workbook.books.uno import office

    wb = Workbook()
    wb.active["A1"] = "x"
    wb.active.protection.sheet = True
    set_sha512_password(wb.active.protection, "秘書處kpi107", spin_count=100_000)
    wb.save(tmp_path / "sha.xlsx")
    with office(profile=tmp_path / "profile") as lo:
        doc = lo.open(tmp_path / "sha.xlsx")
        try:
            sheet = doc.Sheets.getByIndex(0)
            assert sheet.isProtected()
            with contextlib.suppress(Exception):  # UNO's IllegalArgumentException: wrong password
                sheet.unprotect("秘書處kpi108")
            assert sheet.isProtected()
            sheet.unprotect("秘書處kpi107")
            assert not sheet.isProtected()
        finally:
            doc.close(True)


def test_live_names_are_read_in_bulk(seed):
    _, path, values, _scope = seed
    book = Book(path, values)
    names = LiveBook(book).names()
    assert names == FileBook(path).names() and len(names) > 100
    assert book.name_calls == 0 and book.api.calls == 2  # Names.Count and one Paste List
    record = names[L.RECORD_NAME]
    assert {w[0] for w in book.writes} == {L.SHEET_META}  # the list went to free columns of _kpi…
    assert record[2] + len(L.REPORT_COLUMNS) < SCRATCH_COLUMN  # …right of calculate's own
    listed = [w for w in book.writes if w[2] == SCRATCH_COLUMN]
    assert listed == book.writes and all(
        book.sheets[L.SHEET_META].range((r, c)).value is None for _, r, c, *_ in listed
    )


def test_a_read_only_workbook_says_save_as(seed, tmp_path):
    _, path, values, _scope = seed
    book = Book(path, values, read_only=True)
    message = macros.calculate(book, now=NOW)
    assert message == f"{SEED_MESSAGE}\n{excel_button.READ_ONLY}"
    assert book.app.modes == ["critical"]


def test_protected_view_says_enable_editing(monkeypatch):
    from excel_double import App

    app = App(protected_view=True)

    class Apps:
        count, active = 1, app

    class NoBook:
        @classmethod
        def caller(cls):
            raise AttributeError("'NoneType' object has no attribute 'Name'")  # no Workbook behind the window

    monkeypatch.setitem(sys.modules, "xlwings", type(sys)("xlwings"))
    sys.modules["xlwings"].Book, sys.modules["xlwings"].apps = NoBook, Apps
    excel_button.main()
    assert app.alerts == [(excel_button.PROTECTED_VIEW, macros.TITLE)] and app.modes == ["critical"]
    unexpected = App(protected_view=False)
    Apps.active = unexpected
    excel_button.main()
    assert unexpected.alerts[0][0].startswith("計算時發生未預期的錯誤")


def test_a_python_without_a_dependency_says_what_to_install(seed, monkeypatch):
    _, path, values, _scope = seed
    import builtins

    real = builtins.__import__

    def without_it(name, *args, **kwargs):  # as a Python that lacks the module would import it
        if name == "workbook.books.excel":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_it)  # (UNO's own import hook may be below)
    book = Book(path, values)
    message = macros.calculate(book, now=NOW)
    assert message == common.NO_PACKAGE.format(module="workbook.books.excel")
    assert book.writes == [] and book.app.modes == ["critical"]


def test_two_quick_clicks_calculate_once(seed, tmp_path, monkeypatch):
    """A click that arrives while the first runs (here: while its message box is open) or
    just after it calculates nothing and shows nothing; a click after the quiet time runs."""
    from excel_double import App

    monkeypatch.setattr(common, "QUIET_SECONDS", 2.0)
    _, path, values, _scope = seed
    shutil.copyfile(path, tmp_path / "twice.xlsx")
    again: list[str] = []

    class ClickingApp(App):
        def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
            if not again:
                again.append(macros.calculate(Book(tmp_path / "twice.xlsx", values, app=App()), now=NOW))
            return super().alert(prompt, title, buttons, mode, callback)

    book = Book(tmp_path / "twice.xlsx", values, app=ClickingApp())
    assert macros.calculate(book, now=NOW) == SEED_MESSAGE
    assert again == [""]  # the click during the first: nothing
    second = Book(tmp_path / "twice.xlsx", values)
    assert macros.calculate(second, now=NOW) == "" and second.writes == [] and second.app.alerts == []
    monkeypatch.setattr(common, "QUIET_SECONDS", 0.0)  # later: a new click runs
    third = Book(tmp_path / "twice.xlsx", values)
    assert macros.calculate(third, now=NOW) == SEED_MESSAGE and third.writes
