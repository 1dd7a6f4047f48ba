"""Repairing, not refusing (issue 11, part 2): staff's edits to the form itself.

Each case is made the way staff make it (openpyxl standing in for Excel's UI: delete
a sheet, type into a cell, copy a sheet) and run through ``kpi calculate`` / ``kpi
check`` as staff would.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from cli_support import kpi
from helpers_workbook import build_filled
from openpyxl import load_workbook

from kpi_engine import load_plan
from kpi_engine.evaluate import target_for
from workbook.books.file import FileBook
from workbook.form import layout as L
from workbook.form.calculate import calculate, recorded_report

IND = "procurement_pass_rate"
SHEET = "二-1 本府採購專業人員基礎班訓練及格率"
TXT = f"TXT_{IND}_H1"
NUM = f"IN_{IND}_H1_numerator"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    plan = load_plan()
    scope = L.Scope(plan, unit=plan.agency, period_id="H1", data_year=106)
    path, _ = build_filled(scope, {"H1": plan.sample.entries}, tmp_path_factory.mktemp("r") / "base.xlsx")
    return path


def _edit(base: Path, folder: Path, change, name: str = "a.xlsx") -> Path:
    path = folder / name
    shutil.copyfile(base, path)
    wb = load_workbook(path)
    change(wb)
    wb.save(path)
    return path


def _where(wb, name: str) -> tuple[str, str]:
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return sheet, ref.replace("$", "")


def _json(proc) -> dict:
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def _codes(out: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for f in out["findings"]:
        found.setdefault(f["code"], []).append(f)
    return found


@pytest.mark.parametrize("sheet", [L.SHEET_FINDINGS, L.SHEET_GUIDE])
def test_a_deleted_product_sheet_is_rebuilt(base, tmp_path, sheet):
    path = _edit(base, tmp_path, lambda wb: wb.remove(wb[sheet]))
    proc = kpi("check", "a.xlsx", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # before: exit 2, "找不到必要的儲存格名稱：KPI_FINDINGS"
    assert [f["message_en"] for f in _codes(_json(proc))["sheet_missing"]] == [
        f"sheet {sheet!r} has been deleted; calculate rebuilds it from the template"
    ]
    proc = kpi("calculate", "a.xlsx", "--json", cwd=tmp_path)
    out = _json(proc)
    assert proc.returncode == 0, proc.stderr
    assert [f["sheet"] for f in _codes(out)["sheet_recreated"]] == [sheet]
    assert "foreign content" not in proc.stderr and "may be lost" in out["notes"][0]["message_en"]
    wb = load_workbook(path)
    assert wb.sheetnames[0] == L.SHEET_GUIDE and wb.sheetnames[-2:] == [L.SHEET_FINDINGS, L.SHEET_META]
    assert wb[sheet].protection.sheet
    status, rows = recorded_report(FileBook(path))  # what the rebuilt sheets show by formula
    assert any(r[7] == "sheet_recreated" for r in rows)
    assert status.startswith("已於")
    assert FileBook(path).formulas(L.SHEET_FINDINGS, 3, 8)[2][0].startswith(f"={L.SHEET_META}!")
    status_sheet, ref = _where(wb, L.STATUS_NAME)
    assert (
        wb[status_sheet][ref].value == load_workbook(base)[status_sheet][ref].value
    )  # the template's formula
    again = kpi("calculate", "a.xlsx", "--json", cwd=tmp_path)  # the next calculate patches again
    assert "sheet_recreated" not in _codes(_json(again)) and _json(again)["notes"] == []


@pytest.mark.parametrize(
    "key, value, cell",
    [("data_year", "106年", "B5"), ("calculated_at", "2018/7/10 09:30", "B11")],
)
@pytest.mark.parametrize("command", ["calculate", "check"])
def test_an_edited_metadata_value_is_a_clear_error(base, tmp_path, key, value, cell, command):
    def change(wb):
        ws = wb[L.SHEET_META]
        row = next(c.row for c in ws["A"] if c.value == key)
        ws.cell(row, 2, value)

    path = _edit(base, tmp_path, change)
    data = path.read_bytes()
    proc = kpi(command, "a.xlsx", cwd=tmp_path)
    assert proc.returncode == 2  # before: a ValueError traceback
    assert f"a.xlsx [_kpi] {cell}: 系統資料 {key} 的值「{value}」已被修改" in proc.stderr
    assert f"the metadata value {key} = {value!r} was edited" in proc.stderr
    assert path.read_bytes() == data


def test_an_edited_displayed_target_is_flagged_and_restored(base, tmp_path):
    plan = load_plan()
    printed = target_for(plan.indicator(IND), "previous").printed
    spots = []

    def change(wb):
        ws = wb[SHEET]
        for row in ws.iter_rows():
            for c in row:
                if c.value == printed:
                    spots.append(c.coordinate)
                    c.value = "10%"

    path = _edit(base, tmp_path, change)
    assert spots  # where the sheet prints the target (the definition, perhaps the results header)
    out = _json(kpi("calculate", "a.xlsx", "--json", cwd=tmp_path))
    restored = _codes(out)["target_restored"]
    assert sorted(f["cell"] for f in restored) == sorted(spots)
    assert all("「10%」" in f["message_zh"] and printed in f["message_zh"] for f in restored)
    ws = load_workbook(path)[SHEET]
    assert [ws[ref].value for ref in spots] == [printed] * len(spots)
    assert "target_restored" not in _codes(_json(kpi("calculate", "a.xlsx", "--json", cwd=tmp_path)))


def test_text_typed_into_the_analysis_cell_is_reported_before_it_is_replaced(base, tmp_path):
    path = tmp_path / "a.xlsx"
    shutil.copyfile(base, path)
    book = FileBook(path)
    calculate(book)
    book.save()
    sentence = FileBook(path).grid(SHEET)
    typed = "本期因颱風停班兩日，訓練延至7月辦理。"

    def change(wb):
        sheet, ref = _where(wb, TXT)
        wb[sheet][ref].value = typed

    wb = load_workbook(path)
    change(wb)
    wb.save(path)
    out = _json(kpi("calculate", "a.xlsx", "--json", cwd=tmp_path))
    (f,) = _codes(out)["analysis_replaced"]
    assert typed in f["message_zh"] and f["sheet"] == SHEET
    wb = load_workbook(path)
    sheet, ref = _where(wb, TXT)
    assert wb[sheet][ref].value.startswith("=IF(")  # the live sentence formula is back
    assert "formula_restored" in _codes(out)
    _, rows = recorded_report(FileBook(path))
    assert any(r[7] == "analysis_replaced" and typed in r[2] for r in rows)  # the text is kept there
    assert sentence  # the first calculate read back fine


def test_counts_typed_into_a_copied_sheet_are_reported(base, tmp_path):
    copy_cells = {}

    def change(wb):
        copy = wb.copy_worksheet(wb[SHEET])  # "二-1 … Copy", as Excel's 建立複本
        _, ref = _where(wb, NUM)
        copy[ref].value = 199
        copy_cells[copy.title] = ref

    _edit(base, tmp_path, change)
    out = _json(kpi("calculate", "a.xlsx", "--json", cwd=tmp_path))
    ((title, ref),) = copy_cells.items()
    (f,) = _codes(out)["copied_sheet_input"]
    assert (f["sheet"], f["cell"]) == (title, ref)
    assert "199" in f["message_zh"] and SHEET in f["message_zh"]


def test_a_date_typed_into_a_count_is_a_date_error_at_its_cell(base, tmp_path):
    def change(wb):
        sheet, ref = _where(wb, NUM)
        wb[sheet][ref].value = dt.datetime(2018, 6, 30)
        wb[sheet][ref].number_format = "yyyy/m/d"

    path = _edit(base, tmp_path, change)
    out = _json(kpi("calculate", "a.xlsx", "--json", cwd=tmp_path))
    (f,) = _codes(out)["date"]
    wb = load_workbook(path)
    assert (f["sheet"], f["cell"]) == _where(wb, NUM)
    assert "43281" not in f["message_zh"] and "2018-06-30" in f["message_zh"]
    sheet, ref = _where(wb, NUM)
    assert wb[sheet][ref].value == dt.datetime(2018, 6, 30)  # the input itself is untouched


def test_a_date_in_a_count_never_becomes_43281_in_the_results(base, tmp_path):
    def change(wb):
        sheet, ref = _where(wb, NUM)
        wb[sheet][ref].value = dt.datetime(2018, 6, 30)

    _edit(base, tmp_path, change)
    out = _json(kpi("calculate", "a.xlsx", "--json", cwd=tmp_path))
    assert "43281" not in json.dumps(out) and "43,281" not in json.dumps(out, ensure_ascii=False)
