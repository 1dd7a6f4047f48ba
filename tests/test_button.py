"""The 「計算」 button: the Excel double (tests/excel_double.py), xlwings' remote engine and the add-in file."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import ClassVar
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from kpi_engine import load_plan
from workbook.books.file import FileBook
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.libreoffice import recalculate, require_soffice

NOW = dt.datetime(2026, 7, 10, 9, 30)
INPUT_PREFIXES = ("IN_", "NOTE_", "PROG_", "DESC_")


def _filled(tmp: Path, plan=None, entries=None, year=106, period="H1") -> tuple[Path, L.Scope]:
    plan = plan or load_plan()
    scope = L.Scope(plan, period_id=period, unit="秘書處", data_year=year)
    path = write_template(scope, tmp / "filled.xlsx")
    book = FileBook(path)
    fill(book, scope, entries or {plan.sample.period: plan.sample.entries})
    ind = plan.indicators[1]
    book.write(*book.names()[L.notes_name(ind, scope.periods[0])], [["另辦理進階班1班。"]])
    book.save()
    return path, scope


def _cells(path: Path) -> dict[tuple[str, str], object]:
    wb = load_workbook(path)
    return {
        (ws.title, c.coordinate): (None if c.value == "" else c.value)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value not in (None, "")
    }


def _input_cells(path: Path) -> dict[str, object]:
    book = FileBook(path)
    return {
        n: book.grid(s)[r - 1][c - 1] if r - 1 < len(book.grid(s)) else None
        for n, (s, r, c) in book.names().items()
        if n.startswith(INPUT_PREFIXES)
    }


def _run_button(payload: dict):
    import xlwings as xw

    import macros

    book = xw.Book(json=payload)
    message = macros.calculate(book, now=NOW)
    return message, book.json()["actions"]


def _touched(actions: list[dict], payload: dict) -> set[tuple[int, int, int]]:
    out = set()
    for a in actions:
        if a["func"] == "setValues":
            for i in range(a["row_count"]):
                for j in range(a["column_count"]):
                    out.add((a["sheet_position"], a["start_row"] + i, a["start_column"] + j))
    return out


def _input_positions(payload: dict) -> set[tuple[int, int, int]]:
    from workbook.form.book import parse_address

    out = set()
    for n in payload["names"]:
        if n["name"].startswith(INPUT_PREFIXES):
            row, col = parse_address(n["address"])
            out.add((n["sheet_index"], row - 1, col - 1))
    return out


@pytest.fixture(scope="module")
def seed_case(tmp_path_factory):
    require_soffice()
    from tests_support import payload_from_file

    tmp = tmp_path_factory.mktemp("button")
    path, scope = _filled(tmp)
    payload = payload_from_file(path)
    return tmp, path, scope, payload


def _only_alert(actions: list[dict]) -> str:
    assert [a["func"] for a in actions] == ["alert"], [a["func"] for a in actions]
    return actions[0]["args"][0]


def _visible(cells: dict) -> dict:
    """The cells of the sheets staff see (all but the system sheet)."""
    return {k: v for k, v in cells.items() if k[0] != L.SHEET_META}


def test_remote_engine_writes_only_the_system_sheet(seed_case):
    """Issue 22: xlwings' remote engine (xlwings Lite) cannot lift protection, and need not:
    the button writes only the unprotected system sheet; the client applies it as Excel would."""
    from tests_support import apply_actions

    tmp, path, _scope, payload = seed_case
    message, actions = _run_button(payload)
    assert message.startswith("計算完成"), message
    meta = [s["name"] for s in payload["sheets"]].index(L.SHEET_META)
    assert {a["sheet_position"] for a in actions if a["func"] == "setValues"} == {meta}
    assert actions[-1]["func"] == "alert"
    out = tmp / "remote.xlsx"
    assert apply_actions(path, actions, out) == [message]  # a protection-enforcing client takes it
    assert _visible(_cells(out)) == _visible(_cells(path))  # every visible cell as it was
    assert _cells(out) != _cells(path)


def test_simulated_client_still_refuses_locked_cells_as_excel_does(seed_case):
    """The client the remote tests apply actions with refuses what Excel refuses."""
    from tests_support import ProtectedSheetError, apply_actions

    tmp, path, scope, payload = seed_case
    locked = {
        "func": "setValues",
        "values": [["x"]],
        "sheet_position": [s["name"] for s in payload["sheets"]].index(L.SHEET_FINDINGS),
        "start_row": 2,
        "start_column": 0,
        "row_count": 1,
        "column_count": 1,
        "args": [None],
    }
    with pytest.raises(ProtectedSheetError, match="protected sheet"):
        apply_actions(path, [locked], tmp / "refused.xlsx")
    # An unlocked input cell of the same protected sheet takes a write.
    from workbook.form.book import parse_address

    ind = scope.plan.indicator("procurement_pass_rate")
    name = next(n for n in payload["names"] if n["name"] == L.input_name(ind, scope.periods[0], "numerator"))
    row, col = parse_address(name["address"])
    write = {
        "func": "setValues",
        "values": [[190]],
        "sheet_position": name["sheet_index"],
        "start_row": row - 1,
        "start_column": col - 1,
        "row_count": 1,
        "column_count": 1,
        "args": [None],
    }
    apply_actions(path, [write], tmp / "input.xlsx")
    assert _input_cells(tmp / "input.xlsx")[name["name"]] == 190


def _double_click(path: Path, values: Path | None = None):
    from excel_double import Book

    import macros

    book = Book(path, values)
    message = macros.calculate(book, now=NOW)
    return message, book


def _written(book) -> set[tuple[str, int, int]]:
    return {
        (sheet, r, c)
        for sheet, r0, c0, rows, cols in book.writes
        for r in range(r0, r0 + rows)
        for c in range(c0, c0 + cols)
    }


def _inputs_of(path: Path) -> set[tuple[str, int, int]]:
    return {cell for n, cell in FileBook(path).names().items() if n.startswith(INPUT_PREFIXES)}


def test_button_never_touches_inputs_and_is_batched(seed_case):
    _tmp, path, _scope, _payload = seed_case
    message, book = _double_click(path)
    assert message.startswith("計算完成")
    assert book.writes and not _written(book) & _inputs_of(path)
    assert {w[0] for w in book.writes} == {L.SHEET_META}  # issue 22: the system sheet only
    # The name list and its clearing, the digest and stamp, calculate's record and report.
    assert len(book.writes) <= 4
    assert len(book.app.alerts) == 1


def test_action_count_does_not_grow_with_inputs(tmp_path):
    require_soffice()
    from plan_factory import indicator, make_plan

    kinds = ["ratio", "growth", "count", "milestone"]
    targets = {"ratio": "80%", "growth": "5%", "count": "≤100", "milestone": "100%"}
    plan = make_plan(*(indicator(f"k{i}", kinds[i % 4], targets[kinds[i % 4]], weight=1) for i in range(40)))
    entries = {"H1": {ind.id: dict.fromkeys((s.role for s in ind.inputs), 3) for ind in plan.indicators}}
    path, _scope = _filled(tmp_path, plan=plan, entries=entries, year=107, period=None)
    message, book = _double_click(path)
    assert message.startswith("計算完成"), message
    # Only _kpi (issue 22): the name list and its clearing, the digest and stamp, the record.
    assert {w[0] for w in book.writes} == {L.SHEET_META} and len(book.writes) <= 4
    assert not _written(book) & _inputs_of(path)


def test_text_in_a_count_is_reported_not_written(seed_case, tmp_path):
    _, path, scope, _ = seed_case
    bad = tmp_path / "bad.xlsx"
    shutil.copyfile(path, bad)
    book = FileBook(bad)
    ind = scope.plan.indicator("failed_tender_rate")
    sheet, row, col = book.names()[L.input_name(ind, scope.periods[0], "numerator")]
    book.write(sheet, row, col, [["約48件"]])
    book.save()
    message, double = _double_click(bad)
    assert message.startswith("有 1 項需要修正（紅色儲存格）")
    assert "請依「檢核結果」工作表修正" in message
    assert not _written(double) & _inputs_of(bad)
    out = tmp_path / "out.xlsx"
    double.save(out)
    from workbook.form.calculate import recorded_report

    first = recorded_report(FileBook(out))[1][0]  # what 檢核結果 shows by formula
    assert [first[1], first[7], first[3], first[4]] == ["錯誤", "text", sheet, f"C{row}"]
    assert first[2] == "流廢標列管件數不是數字：「約48件」"


def test_deleted_sheet_gives_a_message_and_no_writes(seed_case):
    _, _, scope, payload = seed_case
    gone = L.indicator_sheet(scope.plan, scope.plan.indicator("e_tender_rate"))
    index = [s["name"] for s in payload["sheets"]].index(gone)
    broken = dict(payload)
    broken["sheets"] = [s for s in payload["sheets"] if s["name"] != gone]
    # Excel drops names whose sheet is gone, and shifts the sheet indexes after it.
    broken["names"] = [
        {**n, "sheet_index": n["sheet_index"] - (n["sheet_index"] > index)}
        for n in payload["names"]
        if n["sheet_index"] != index
    ]
    message = _only_alert(_run_button(broken)[1])
    assert message.startswith("無法計算：找不到必要的儲存格名稱：IN_e_tender_rate_H1_numerator")
    assert "kpi-workbook.log" in message


def test_renamed_defined_name_gives_a_message_and_no_writes(seed_case):
    _, _, _, payload = seed_case
    broken = dict(payload)
    broken["names"] = [
        {**n, "name": "IN_safety_defects_H1_cnt"} if n["name"] == "IN_safety_defects_H1_count" else n
        for n in payload["names"]
    ]
    message = _only_alert(_run_button(broken)[1])
    assert "IN_safety_defects_H1_count" in message
    assert "Traceback" not in message


def test_foreign_workbook_gives_a_message(seed_case):
    _, _, _, payload = seed_case
    broken = {
        **payload,
        "names": [],
        "sheets": [{"name": "Sheet1", "pictures": [], "tables": [], "values": [["hello"]]}],
    }
    message = _only_alert(_run_button(broken)[1])
    assert message.startswith("無法計算：這不是本系統產生的填報工作簿")


def test_unexpected_error_is_logged_not_shown(seed_case, monkeypatch):
    import macros
    import workbook.form.calculate

    _, _, _, payload = seed_case

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(workbook.form.calculate, "calculate", boom)
    message = _only_alert(_run_button(payload)[1])
    assert "未預期的錯誤" in message and "Traceback" not in message
    assert "simulated bug" in macros.log_path().read_text(encoding="utf-8")


# -- the add-in file -----------------------------------------------------------------


@pytest.fixture(scope="module")
def addin(tmp_path_factory):
    from workbook.buttons.addin import build_addin

    return build_addin(tmp_path_factory.mktemp("addin"), interpreter=r"C:\Python311\python.exe")


def test_addin_is_a_valid_zip_with_xlwings_vba(addin):
    from workbook.buttons.addin import template_path

    with zipfile.ZipFile(addin) as z, zipfile.ZipFile(template_path()) as t:
        assert z.testzip() is None
        assert z.read("xl/vbaProject.bin") == t.read("xl/vbaProject.bin")
        assert sorted(z.namelist()) == sorted(t.namelist())
    assert addin.name == "macros.xlam"  # RunMain imports the module named after the file


def test_addin_ribbon_calls_only_runmain(addin):
    with zipfile.ZipFile(addin) as z:
        root = ElementTree.fromstring(z.read("customUI/customUI.xml"))
    ns = "{http://schemas.microsoft.com/office/2006/01/customui}"
    buttons = list(root.iter(f"{ns}button"))
    assert [b.get("label") for b in buttons] == ["計算"]
    assert buttons[0].get("size") == "large"
    assert {b.get("onAction") for b in buttons} == {"RibbonMyAddin.RunMain"}
    actions = {el.get(attr) for el in root.iter() for attr in el.attrib if attr.startswith("on")}
    assert actions == {"RibbonMyAddin.RunMain"}
    assert [t.get("label") for t in root.iter(f"{ns}tab")] == ["績效指標"]


def _conf(path: Path) -> list[list]:
    # openpyxl refuses add-ins; python-calamine reads the .xlam as Excel would show it.
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names == ["myaddin.conf"]
    return wb.get_sheet_by_name("myaddin.conf").to_python()


def test_addin_config_sheet_holds_the_interpreter(addin):
    rows = _conf(addin)
    assert rows[0] == ["Interpreter_Win", r"C:\Python311\python.exe"]
    assert rows[1] == ["Interpreter_Mac", r"C:\Python311\python.exe"]
    assert [r[0] for r in rows[2:9]] == [
        "PYTHONPATH",
        "Conda Path",
        "Conda Env",
        "UDF Modules",
        "Debug UDFs",
        "Use UDF Server",
        "Show Console",
    ]


def test_addin_config_keeps_the_workbook_folder_off_the_path(addin):
    # GetConfigFromSheet reads column A from A1 down to the first blank: row 10 must follow row 9.
    rows = _conf(addin)
    assert rows[9] == ["ADD_WORKBOOK_TO_PYTHONPATH", False]
    assert all(r[0] for r in rows[:10])


def test_kpi_addin_build_uses_this_installation(tmp_path):
    from workbook.buttons.addin import LAUNCHER, default_interpreter

    done = subprocess.run(["kpi", "addin", "build", "-o", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = _conf(tmp_path / "macros.xlam")
    interpreter = Path(rows[0][1])
    assert interpreter.resolve() == Path(default_interpreter()).resolve()
    # The launcher when pip installed it (it keeps pandas out), else this very Python.
    assert interpreter.name.startswith(LAUNCHER) or interpreter.resolve() == Path(sys.executable).resolve()


def test_install_into_a_locked_addin_file_is_a_clear_error(tmp_path, monkeypatch):
    import workbook.buttons.addin as addin
    from workbook.cli import main

    def locked(src, dst):
        raise PermissionError(
            13, "The process cannot access the file because it is being used by another process"
        )

    monkeypatch.setattr(addin.shutil, "copyfile", locked)
    monkeypatch.setattr(addin, "startup_folder", lambda: tmp_path / "XLSTART")
    with pytest.raises(addin.AddinError, match="請關閉所有 Excel 視窗後再執行 kpi addin install"):
        addin.install_addin()
    assert main(["addin", "install"]) == 2


class _FakeApp:
    started: ClassVar[list[_FakeApp]] = []

    def __init__(self, visible=True, add_book=True):
        self.startup_path = "/Users/clerk/Library/Excel/XLSTART"
        self.quitted = False
        _FakeApp.started.append(self)

    def quit(self):
        self.quitted = True


def test_startup_folder_closes_the_hidden_excel_it_starts(monkeypatch):
    import types

    import workbook.buttons.addin as addin

    fake = types.SimpleNamespace(apps=[], App=_FakeApp)
    monkeypatch.setitem(sys.modules, "xlwings", fake)
    monkeypatch.setattr(addin.sys, "platform", "win32")
    _FakeApp.started.clear()
    assert addin.startup_folder().name == "XLSTART"
    assert [a.quitted for a in _FakeApp.started] == [True]


def test_missing_excel_is_a_clear_error(monkeypatch):
    import types

    import workbook.buttons.addin as addin

    def no_excel(**kwargs):
        raise OSError("Invalid class string")  # pywintypes.com_error when Excel is not registered

    monkeypatch.setitem(sys.modules, "xlwings", types.SimpleNamespace(apps=[], App=no_excel))
    monkeypatch.setattr(addin.sys, "platform", "win32")
    with pytest.raises(addin.AddinError, match="找不到可用的 Microsoft Excel") as err:
        addin.startup_folder()
    assert "Traceback" not in str(err.value)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="checks the no-Excel path")
def test_kpi_addin_install_without_excel_is_a_clear_error(tmp_path):
    done = subprocess.run(["kpi", "addin", "install"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert "本機沒有 Microsoft Excel" in done.stderr and "Excel is not available" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_import_macros_stays_light():
    code = "import sys, macros; bad = [m for m in ('pandas', 'openpyxl') if m in sys.modules]; print(bad)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_recalculated_values_feed_the_payload(seed_case, tmp_path):
    # The payload carries what Excel shows: formula cells hold computed values, not formulas.
    _, _path, scope, payload = seed_case
    sheet_index = {s["name"]: i for i, s in enumerate(payload["sheets"])}
    ind = scope.plan.indicator("procurement_pass_rate")
    name = next(n for n in payload["names"] if n["name"] == L.result_name(ind, scope.periods[0], "value"))
    from workbook.form.book import parse_address

    row, col = parse_address(name["address"])
    values = payload["sheets"][name["sheet_index"]]["values"]
    assert values[row - 1][col - 1] == 89.05
    assert sheet_index[L.SHEET_META] == len(payload["sheets"]) - 1
    assert recalculate  # the helper used LibreOffice, the only engine that computes here
