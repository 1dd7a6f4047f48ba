"""The template workbook staff fill in, read back with openpyxl exactly as saved.

Every assertion reads the saved .xlsx (no mocks): sheets and their order, the Part 2
table, input cells (unlocked, validated, named), protection, result formulas,
conditional formats, print setup, fonts, the very hidden metadata, and the scopes
``kpi template`` offers (``--owner``, ``--period``, ``--year``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from cli_support import kpi, load_genplan
from openpyxl import load_workbook
from openpyxl.worksheet.protection import hash_password
from openpyxl.worksheet.worksheet import Worksheet

from kpi_engine import parse_plan
from kpi_engine.expr import to_excel
from kpi_engine.kinds import input_error_expr
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.formulas import result_formulas

REPO = Path(__file__).resolve().parents[1]
PROCUREMENT = ("procurement_pass_rate", "e_tender_rate", "failed_tender_rate")
PROCUREMENT_ITEMS = (
    "1. 落實採購專業人員專職化",
    "2. 提升本府整體採購效率",
    "3. 運用管考及督導機制，確保本府採購品質",
)
INPUT_PREFIXES = ("IN_", "NOTE_", "PROG_", "DESC_")
SEED_SHEETS = [
    "填表說明",
    "關鍵績效指標",
    "一-1 每年志工人數成長比例",
    "二-1 本府採購專業人員基礎班訓練及格率",
    "二-2 電子領標達成率",
    "二-3 流廢標下降率",
    "三-1 每年民眾及同仁、巡檢人員反映辦公環境安全缺失件數",
    "重要施政計畫",
    "達成情形",
    "檢核結果",
    "_kpi",
]


def cell_of(wb, name: str):
    """The one cell a workbook-scoped defined name points at."""
    dests = list(wb.defined_names[name].destinations)
    assert len(dests) == 1, (name, dests)
    sheet, ref = dests[0]
    return wb[sheet][ref.replace("$", "")]


def named_cells(wb) -> dict[str, tuple[str, str]]:
    """Every defined name → (sheet, coordinate)."""
    out = {}
    for name, dn in wb.defined_names.items():
        ((sheet, ref),) = list(dn.destinations)
        out[name] = (sheet, ref.replace("$", ""))
    return out


def meta_of(wb) -> dict:
    ws = wb[L.SHEET_META]
    meta: dict = {}
    text = []
    for key, value in ws.iter_rows(min_col=1, max_col=2, values_only=True):
        if key == "plan_text":
            text.append(value)
        elif key is not None:
            meta[key] = value
    meta["plan_text"] = "".join(text)
    return meta


def validations_at(ws: Worksheet, coordinate: str) -> list:
    return [dv for dv in ws.data_validations.dataValidation if coordinate in dv.sqref]


def row_values(ws: Worksheet) -> list[tuple]:
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def indicator_sheets(wb) -> list[str]:
    fixed = {L.SHEET_GUIDE, L.SHEET_KPI, L.SHEET_ITEMS, L.SHEET_SUMMARY, L.SHEET_FINDINGS, L.SHEET_META}
    return [s for s in wb.sheetnames if s not in fixed]


# ---------------------------------------------------------------------------
# fixtures: templates built once per module
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(plan, tmp_path_factory):
    """Build (and cache) a template for a scope; returns (scope, path, loaded workbook)."""
    folder = tmp_path_factory.mktemp("templates")
    cache: dict = {}

    def make(**kw):
        key = tuple(sorted((k, v.fingerprint if k == "plan" else v) for k, v in kw.items()))
        if key not in cache:
            the_plan = kw.pop("plan", plan)
            scope = L.Scope(the_plan, **kw)
            path = write_template(scope, folder / f"t{len(cache)}.xlsx")
            cache[key] = (scope, path, load_workbook(path))
        return cache[key]

    return make


@pytest.fixture(scope="module")
def full(built, plan):
    """The whole plan, 107 (current targets), both periods."""
    return built(unit="臺中市政府秘書處")


# ---------------------------------------------------------------------------
# sheets
# ---------------------------------------------------------------------------


def test_sheets_present_in_order(full, plan):
    _, _, wb = full
    expected = [
        L.SHEET_GUIDE,
        L.SHEET_KPI,
        *(L.indicator_sheet(plan, ind) for ind in plan.indicators),
        L.SHEET_ITEMS,
        L.SHEET_SUMMARY,
        L.SHEET_FINDINGS,
        L.SHEET_META,
    ]
    assert wb.sheetnames == expected == SEED_SHEETS
    assert wb[L.SHEET_META].sheet_state == "veryHidden"
    assert [ws.title for ws in wb.worksheets if ws.sheet_state != "visible"] == [L.SHEET_META]
    assert wb.active.title == L.SHEET_GUIDE
    assert all(len(name) <= 31 for name in wb.sheetnames)


def test_guide_has_status_line(full):
    _, _, wb = full
    status = cell_of(wb, L.STATUS_NAME)
    assert status.parent.title == L.SHEET_GUIDE
    record = cell_of(wb, L.RECORD_NAME)  # issue 22: the line shows what calculate records in _kpi
    assert record.parent.title == L.SHEET_META and record.value == "尚未計算 / not calculated yet"
    assert status.value == f'={L.SHEET_META}!${record.column_letter}${record.row}&""'
    findings = cell_of(wb, L.FINDINGS_NAME)
    assert (findings.parent.title, findings.coordinate) == (L.SHEET_FINDINGS, "A3")
    header = [c.value for c in findings.parent[2]]
    assert header == ["序號", "嚴重度", "說明", "工作表", "儲存格", "期別", "Message", "代碼"]


# ---------------------------------------------------------------------------
# Part 2: 關鍵績效指標
# ---------------------------------------------------------------------------


def test_kpi_sheet_carries_part2_rows(full):
    _, _, wb = full
    ws = wb[L.SHEET_KPI]
    rows = row_values(ws)
    assert rows[2] == (
        "策略績效目標",
        None,
        "衡量指標",
        None,
        "評估體制",
        "評估方式",
        "衡量標準",
        "107年年度目標值",
    )
    body = {r[3]: r for r in rows[3:8]}
    assert list(body) == [
        "每年志工人數成長比例(15%)",
        "本府採購專業人員基礎班訓練及格率(15%)",
        "電子領標達成率(10%)",
        "流廢標下降率(15%)",
        "每年民眾及同仁、巡檢人員反映辦公環境安全缺失件數(15%)",
    ]
    assert body["流廢標下降率(15%)"][2:] == (
        "三",
        "流廢標下降率(15%)",
        1,
        "統計數據",
        "流廢標列管件數/招標總件數*100%",
        "11.5%",
    )
    assert [r[7] for r in body.values()] == ["8%", "83%", "100%", "11.5%", "≤120"]
    assert all(r[4] == 1 and r[5] == "統計數據" for r in body.values())
    # The goal with its weight heads its three indicators in one merged cell.
    goal_row = next(
        i for i, r in enumerate(rows, start=1) if r[1] == "強化採購專業智識，有效提升本府採購效益(40%)"
    )
    assert rows[goal_row - 1][0] == "二"
    assert rows[goal_row - 1][3] == "本府採購專業人員基礎班訓練及格率(15%)"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert f"B{goal_row}:B{goal_row + 2}" in merged
    assert f"A{goal_row}:A{goal_row + 2}" in merged
    assert "推動本處志願服務工作(15%)" in [r[1] for r in rows]
    notes = [r[0] for r in rows if isinstance(r[0], str) and r[0][:2] in ("註：", "1.", "5.")]
    assert notes[0] == "註：評估體制之數字代號意義如下："
    assert notes[1] == "1.指實際評估作業係運用既有之組織架構進行。"


def test_indicator_sheet_definition(full):
    _, _, wb = full
    ws = wb["二-3 流廢標下降率"]
    labels = {r[0]: r[1] for r in row_values(ws) if r[0] is not None}
    assert ws["A1"].value == "流廢標下降率"
    assert labels["策略績效目標"] == "二 強化採購專業智識，有效提升本府採購效益(40%)"
    assert labels["權重"] == "15%"
    assert labels["評估體制"] == "1（指實際評估作業係運用既有之組織架構進行）"
    assert labels["衡量標準"] == "流廢標列管件數/招標總件數*100%"
    assert labels["107年年度目標值"] == "11.5%"
    assert labels["計算方式"] == "比率，越低越好"
    assert labels["承辦單位"] == "採購管理業務"
    header = next(r for r in row_values(ws) if r[0] == "填報數據")
    assert header == ("填報數據", "單位", "上半年（截至6月30日）", "全年度（截至12月31日）")


# ---------------------------------------------------------------------------
# input cells
# ---------------------------------------------------------------------------


def test_every_count_input_is_unlocked_validated_and_named(full):
    scope, _, wb = full
    inputs = scope.input_names()
    assert len(inputs) == 2 * (2 + 2 + 2 + 2 + 1)  # two periods × nine counts
    for ind, _p, role, name in inputs:
        dn = wb.defined_names[name]  # workbook-scoped: in the workbook's names …
        assert dn.localSheetId is None
        cell = cell_of(wb, name)
        assert all(name not in ws.defined_names for ws in wb.worksheets)  # … not a sheet's
        assert cell.protection.locked is False, name
        dvs = validations_at(cell.parent, cell.coordinate)
        assert len(dvs) == 1, name
        dv = dvs[0]
        assert (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0"), name
        # "stop" is the file format's default, which XlsxWriter leaves unwritten
        assert dv.showErrorMessage and dv.showInputMessage and (dv.errorStyle or "stop") == "stop"
        assert dv.allow_blank
        label, unit = ind.input(role).label, ind.input(role).unit
        assert dv.prompt.startswith(f"請輸入{label}（{unit}）：0 以上的整數")
        assert "儲存格變紅色表示本格不符上述規則" in dv.prompt
        assert dv.promptTitle == label
        assert dv.error == "請輸入 0 以上的整數 / enter a whole number ≥ 0"
        assert dv.errorTitle == "輸入錯誤"
        assert cell.value is None
        assert cell.number_format == "General"  # every digit typed shows: a 9.5 is no "10"


def test_notes_and_plan_items_are_unlocked_named_inputs(full):
    scope, _, wb = full
    for ind in scope.indicators:
        for p in scope.periods:
            cell = cell_of(wb, L.notes_name(ind, p))
            assert cell.protection.locked is False
            assert cell.number_format == "@"  # staff text stays text
            assert cell.parent.title == L.indicator_sheet(scope.plan, ind)
    assert len(scope.items) == 26
    for item in scope.items:
        for p in scope.periods:
            prog = cell_of(wb, L.progress_name(item, p))
            desc = cell_of(wb, L.progress_text_name(item, p))
            assert prog.parent.title == desc.parent.title == L.SHEET_ITEMS
            assert prog.protection.locked is False and desc.protection.locked is False
            (dv,) = validations_at(prog.parent, prog.coordinate)
            # "between" is the file format's default operator, which XlsxWriter leaves unwritten
            assert (dv.type, dv.operator or "between", dv.formula1, dv.formula2) == (
                "whole",
                "between",
                "0",
                "100",
            )
            assert dv.showErrorMessage and dv.prompt == "執行進度，0 至 100 的整數（%）"
            assert desc.number_format == "@"


def test_every_other_cell_is_locked(full):
    _, _, wb = full
    names = named_cells(wb)
    inputs = {where for name, where in names.items() if name.startswith(INPUT_PREFIXES)}
    unlocked = set()
    for ws in wb.worksheets:
        # issue 22: the system sheet is calculate's to write, unprotected (and very hidden)
        assert ws.protection.sheet is (ws.title != L.SHEET_META), ws.title
        for row in ws.iter_rows(min_row=1, max_row=ws.max_row + 2, max_col=ws.max_column + 2):
            for cell in row:
                if not cell.protection.locked:
                    unlocked.add((ws.title, cell.coordinate))
    assert unlocked == inputs
    # nothing named other than inputs is unlocked: results, sentences, status, findings
    for name, (sheet, coord) in names.items():
        if not name.startswith(INPUT_PREFIXES):
            assert wb[sheet][coord].protection.locked is True, name


def test_protection_without_password_by_default(full):
    _, _, wb = full
    for ws in wb.worksheets:
        assert ws.protection.sheet is (ws.title != L.SHEET_META)  # issue 22: _kpi unprotected
        assert not ws.protection.password, ws.title
        if ws.sheet_state == "visible":  # staff may resize rows and columns
            assert ws.protection.formatColumns is False and ws.protection.formatRows is False


def test_protection_password_from_the_plan(built, plan):
    text = plan.text.replace("password: null", "password: 'kpi-107'", 1)
    assert text != plan.text
    pw_plan = parse_plan(text, source="pw.yaml")
    assert pw_plan.options.password == "kpi-107"
    _, _, wb = built(plan=pw_plan)
    for ws in wb.worksheets:
        if ws.sheet_state == "visible":
            assert ws.protection.sheet is True
            assert ws.protection.password == hash_password("kpi-107"), ws.title


# ---------------------------------------------------------------------------
# result cells
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [{}, {"period_id": "H1", "data_year": 106}, {"owner": "廳舍管理業務"}])
def test_result_cells_hold_the_engine_formulas(built, kw):
    scope, _, wb = built(**kw)
    formulas = result_formulas(scope)
    assert formulas
    for name, formula in formulas.items():
        cell = cell_of(wb, name)
        assert cell.value == formula, name
        assert cell.protection.locked is True
    # and no result cell is named that the scope does not compute
    out_names = {n for n in wb.defined_names if n.startswith(("OUT_", "CHK_", "TXT_"))}
    assert out_names == set(formulas)


def test_result_formulas_refer_to_inputs_by_name(full):
    _, _, wb = full
    f = cell_of(wb, "OUT_procurement_pass_rate_H1_value").value
    assert f.startswith("=")
    assert "IN_procurement_pass_rate_H1_numerator" in f and "IN_procurement_pass_rate_H1_denominator" in f
    assert "$" not in f  # no fixed address: inserted rows break nothing


def test_summary_sheet_refers_to_results_by_name(full):
    _, _, wb = full
    ws = wb[L.SHEET_SUMMARY]
    rows = row_values(ws)
    assert rows[1][0] == "107年1月1日至6月30日止"
    line = next(r for r in rows if r[1] == "流廢標下降率(15%)")
    assert line[2:7] == (
        "11.5%",
        "=OUT_failed_tender_rate_H1_value",
        "=OUT_failed_tender_rate_H1_rate",
        "=OUT_failed_tender_rate_H1_light",
        '=TXT_failed_tender_rate_H1&IF(NOTE_failed_tender_rate_H1="","",CHAR(10)&NOTE_failed_tender_rate_H1)',
    )


def test_light_cells_have_conditional_formatting(full):
    scope, _, wb = full
    expected = {
        '"綠燈"': "63BE7B",
        '"黃燈"': "FFEB84",
        '"紅燈"': "F8696B",
        '"白燈"': "E7E6E6",
    }  # 白燈 never white on white

    def rules_at(ws: Worksheet, coord: str) -> dict:
        found = {}
        for cf in ws.conditional_formatting:
            if coord in cf.sqref:
                for rule in cf.rules:
                    assert rule.type == "cellIs" and rule.operator == "equal"
                    found[rule.formula[0]] = rule.dxf.fill.bgColor.rgb[-6:]
        return found

    lights = [n for n in result_formulas(scope) if n.endswith("_light")]
    assert len(lights) == 10
    for name in lights:
        cell = cell_of(wb, name)
        assert rules_at(cell.parent, cell.coordinate) == expected, name
    ws = wb[L.SHEET_SUMMARY]
    light_cells = [c for row in ws.iter_rows() for c in row if str(c.value).endswith("_light")]
    assert len(light_cells) == 10
    for cell in light_cells:
        assert rules_at(ws, cell.coordinate) == expected, cell.coordinate


def test_no_text_beginning_with_a_digit_in_a_column_of_input_cells(built, full):
    """LibreOffice's AutoInput completes a typed 10 to 「100%」 (stored as 1) from such a text."""
    checked = 0
    for _, _, wb in (full, built(unit="x", owner="採購管理業務", period_id="H1"), built(data_year=106)):
        for ws in wb.worksheets:
            inputs = {c.column for row in ws.iter_rows() for c in row if c.protection.locked is False}
            for row in ws.iter_rows():
                for c in row:
                    if c.column in inputs and isinstance(c.value, str) and not c.value.startswith("="):
                        checked += 1
                        assert not c.value.strip()[:1].isdigit(), (ws.title, c.coordinate, c.value)
    assert checked > 50  # the labels, headers and notes of those columns were looked at


def test_every_input_turns_red_when_its_own_check_fails(full):
    """Each count's conditional format is the engine's own per-input check, on that cell."""
    scope, _, wb = full
    for ind, p, role, name in scope.input_names():
        cell = cell_of(wb, name)
        where = {spec.role: cell_of(wb, L.input_name(ind, p, spec.role)).coordinate for spec in ind.inputs}
        absolute = {r: "$" + re.sub(r"(\d+)", r"$\1", a) for r, a in where.items()}
        check = to_excel(input_error_expr(ind, role), absolute.__getitem__)
        rules = [
            r for cf in cell.parent.conditional_formatting if cell.coordinate in cf.sqref for r in cf.rules
        ]
        assert [r.formula for r in rules] == [[f"({check})>0"]], name
        assert rules[0].dxf.fill.bgColor.rgb[-6:] == "FFC7CE"
    for name in result_formulas(scope):
        if name.startswith("CHK_") or name.endswith("_achieved"):  # 資料有誤 in its own red
            cell = cell_of(wb, name)
            rules = [
                r
                for cf in cell.parent.conditional_formatting
                if cell.coordinate in cf.sqref
                for r in cf.rules
            ]
            assert [r.formula for r in rules] == [[f'LEFT({cell.coordinate},4)="資料有誤"']], name


# ---------------------------------------------------------------------------
# look and print
# ---------------------------------------------------------------------------


def test_print_setup_a4_fit_to_width(full):
    _, _, wb = full
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        assert int(ws.page_setup.paperSize) == 9, ws.title
        # 1 is the file format's default, which XlsxWriter leaves unwritten (openpyxl reads None)
        assert int(ws.page_setup.fitToWidth or 1) == 1
        # An indicator sheet is one page (its notes never print apart); the others run on.
        tall = ws.page_setup.fitToHeight
        assert int(1 if tall is None else tall) == (1 if ws.title in indicator_sheets(wb) else 0), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    landscape = {ws.title for ws in wb.worksheets if ws.page_setup.orientation == "landscape"}
    assert landscape == {L.SHEET_KPI, L.SHEET_ITEMS, L.SHEET_SUMMARY, L.SHEET_FINDINGS}


def test_font_is_biaukai(full):
    _, _, wb = full
    names = named_cells(wb)
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    assert cell.font.name == "標楷體", (ws.title, cell.coordinate)
    for name, (sheet, coord) in names.items():  # empty cells staff type into too
        assert wb[sheet][coord].font.name == "標楷體", name


# ---------------------------------------------------------------------------
# metadata
# ---------------------------------------------------------------------------


def test_meta_sheet(built, plan):
    _, _, wb = built(unit="秘書處", owner="採購管理業務", period_id="H1", data_year=106)
    meta = meta_of(wb)
    assert meta["product"] == L.PRODUCT == "kpi-workbook"
    assert meta["template_version"] == L.TEMPLATE_VERSION
    assert meta["plan_id"] == "taichung_secretariat_107"
    assert meta["plan_fingerprint"] == plan.fingerprint
    assert len(plan.fingerprint) == 64
    assert meta["data_year"] == 106
    assert meta["targets"] == "previous"
    assert meta["unit"] == "秘書處"
    assert meta["owner"] == "採購管理業務"
    assert meta["period"] == "H1"
    assert meta["input_digest"] in ("", None) and meta["calculated_at"] in ("", None)
    assert meta["plan_text"] == plan.text
    assert parse_plan(meta["plan_text"]).fingerprint == plan.fingerprint
    keys = [r[0] for r in wb[L.SHEET_META].iter_rows(values_only=True)]
    assert keys[: len(L.META_KEYS)] == list(L.META_KEYS)


def test_meta_sheet_whole_plan(full, plan):
    _, _, wb = full
    meta = meta_of(wb)
    assert meta["data_year"] == 107 and meta["targets"] == "current"
    assert meta["owner"] in ("", None) and meta["period"] in ("", None)
    assert meta["unit"] == "臺中市政府秘書處"


# ---------------------------------------------------------------------------
# kpi template scopes, through the installed command
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_templates(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    made = {}
    for key, args in {
        "owner": ["--owner", "採購管理業務"],
        "period": ["--period", "上半年"],
        "y106": ["--year", "106"],
        "y107": ["--year", "107"],
    }.items():
        proc = kpi("template", "-o", f"{key}.xlsx", *args, cwd=folder)
        assert proc.returncode == 0, proc.stderr
        assert f"已產生填報工作簿 / template written: {key}.xlsx" in proc.stdout
        made[key] = load_workbook(folder / f"{key}.xlsx")
    return made


def test_owner_template_holds_only_that_section(cli_templates, plan):
    wb = cli_templates["owner"]
    assert indicator_sheets(wb) == [
        "二-1 本府採購專業人員基礎班訓練及格率",
        "二-2 電子領標達成率",
        "二-3 流廢標下降率",
    ]
    ins = {n for n in wb.defined_names if n.startswith("IN_")}
    assert {n.split("_H1_")[0].split("_FY_")[0][3:] for n in ins} == set(PROCUREMENT)
    assert len(ins) == 3 * 2 * 2
    kpi_rows = [r for r in row_values(wb[L.SHEET_KPI])[3:] if r[3]]
    assert [r[3] for r in kpi_rows] == [
        "本府採購專業人員基礎班訓練及格率(15%)",
        "電子領標達成率(10%)",
        "流廢標下降率(15%)",
    ]
    items = [r for r in row_values(wb[L.SHEET_ITEMS])[2:] if r[0]]
    assert [r[0] for r in items] == ["採購管理業務"] * 3
    assert tuple(r[1] for r in items) == PROCUREMENT_ITEMS
    assert len([n for n in wb.defined_names if n.startswith("PROG_")]) == 3 * 2
    summary = [r[1] for r in row_values(wb[L.SHEET_SUMMARY]) if r[1] and r[1].endswith("%)")]
    assert len(summary) == 3 * 2
    assert "承辦單位：採購管理業務" in wb[L.SHEET_GUIDE]["A2"].value
    assert meta_of(wb)["owner"] == "採購管理業務"


def test_period_template_holds_only_h1(cli_templates):
    wb = cli_templates["period"]
    for prefix in ("IN_", "OUT_", "TXT_", "CHK_", "NOTE_", "PROG_", "DESC_"):
        names = [n for n in wb.defined_names if n.startswith(prefix)]
        assert names, prefix
        assert all("_H1" in n and "_FY" not in n for n in names), prefix
    assert len([n for n in wb.defined_names if n.startswith("IN_")]) == 9
    ws = wb["二-1 本府採購專業人員基礎班訓練及格率"]
    header = next(r for r in row_values(ws) if r[0] == "填報數據")
    assert header == ("填報數據", "單位", "上半年（截至6月30日）")
    assert ws.max_column == 3
    summary_heads = [r[0] for r in row_values(wb[L.SHEET_SUMMARY]) if r[0] and "月" in str(r[0])]
    assert summary_heads == ["107年1月1日至6月30日止"]
    assert meta_of(wb)["period"] == "H1"


@pytest.mark.parametrize(
    ("key", "year", "failed", "defects", "targets"),
    [("y106", 106, "12%", "≤135", "previous"), ("y107", 107, "11.5%", "≤120", "current")],
)
def test_year_chooses_the_targets(cli_templates, key, year, failed, defects, targets):
    wb = cli_templates[key]
    rows = row_values(wb[L.SHEET_KPI])
    assert rows[2][7] == f"{year}年年度目標值"
    by_name = {r[3]: r[7] for r in rows[3:8]}
    assert by_name["流廢標下降率(15%)"] == failed
    assert by_name["每年民眾及同仁、巡檢人員反映辦公環境安全缺失件數(15%)"] == defects
    for sheet, target in (
        ("二-3 流廢標下降率", failed),
        ("三-1 每年民眾及同仁、巡檢人員反映辦公環境安全缺失件數", defects),
    ):
        labels = {r[0]: r[1:] for r in row_values(wb[sheet]) if r[0]}
        assert labels[f"{year}年年度目標值"][0] == target
        assert "年度目標值" not in labels  # no target text beside the inputs (AutoInput)
    meta = meta_of(wb)
    assert (meta["data_year"], meta["targets"]) == (year, targets)
    # the target is inside the rate formula, not only printed
    number = defects.lstrip("≤")
    assert number in cell_of(wb, "OUT_safety_defects_FY_rate").value


def test_template_rejects_unknown_scope(tmp_path):
    proc = kpi("template", "-o", "x.xlsx", "--owner", "不存在業務", cwd=tmp_path)
    assert proc.returncode == 2
    assert "承辦單位不存在" in proc.stderr and "unknown owner" in proc.stderr
    proc = kpi("template", "-o", "x.xlsx", "--year", "105", cwd=tmp_path)
    assert proc.returncode == 2 and "year must be" in proc.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_template_into_a_missing_folder_exits_2(tmp_path):
    proc = subprocess.run(
        [shutil.which("kpi") or "kpi", "template", "-o", "沒有這個資料夾/t.xlsx"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-300:]
    assert proc.returncode == 2
    assert "無法儲存檔案" in proc.stderr


# ---------------------------------------------------------------------------
# a large generated plan
# ---------------------------------------------------------------------------


def test_generated_200_indicator_template(built):
    gen = load_genplan()
    big = gen.generated_plan(200)
    scope, _, wb = built(plan=big)
    sheets = indicator_sheets(wb)
    assert len(sheets) == 200 and len(set(sheets)) == 200
    assert len(wb.sheetnames) == 206
    ins = scope.input_names()
    for ind, _p, _role, name in ins:
        cell = cell_of(wb, name)
        assert cell.protection.locked is False
        (dv,) = validations_at(cell.parent, cell.coordinate)
        if ind.kind == "milestone":
            assert (dv.type, dv.formula1) == ("list", '"0,1,2,3,4"')
        else:
            assert (dv.type, dv.operator, dv.formula1) == ("whole", "greaterThanOrEqual", "0")
        assert dv.showErrorMessage
    formulas = result_formulas(scope)
    assert {n for n in wb.defined_names if n.startswith(("OUT_", "CHK_", "TXT_"))} == set(formulas)
    for name in list(formulas)[::37]:
        assert cell_of(wb, name).value == formulas[name]
    meta = meta_of(wb)
    assert meta["plan_fingerprint"] == big.fingerprint
    assert meta["plan_text"] == big.text and len(big.text) > L.PLAN_TEXT_CHUNK  # stored in chunks


# ---------------------------------------------------------------------------
# the writer (issue 24): XlsxWriter for a new template, openpyxl for a rebuilt sheet
# ---------------------------------------------------------------------------


def test_formula_cells_carry_no_cached_result(full):
    """XlsxWriter caches 0 for a formula unless told otherwise; a template's formulas carry an
    empty value, so collect (which reads cached values) never takes a result no client computed."""
    _, path, _ = full
    formulas = 0
    with zipfile.ZipFile(path) as z:
        for part in z.namelist():
            if not part.startswith("xl/worksheets/sheet"):
                continue
            for cell in re.findall(r"<c [^>]*>(?:(?!</c>).)*?<f>.*?</c>", z.read(part).decode("utf-8")):
                formulas += 1
                assert re.search(r"<v>\s*</v>|<v/>", cell) or "<v>" not in cell, (part, cell[:200])
    assert formulas > 500  # results, 檢核, 分析, 達成情形, 檢核結果 and the status line


def test_a_rebuilt_sheet_is_the_one_a_new_template_has(full, tmp_path):
    """One builder, two backends: 填表說明 and 檢核結果 rebuilt by openpyxl inside a workbook
    being repaired (``FileBook.rebuild_sheets``) are the sheets XlsxWriter wrote, cell for cell."""
    from workbook.form.builder import _Builder

    scope, path, new = full
    repaired = load_workbook(path)
    for sheet in (L.SHEET_GUIDE, L.SHEET_FINDINGS):
        repaired.remove(repaired[sheet])
    builder = _Builder(repaired, scope)
    builder.guide()
    builder.findings()
    repaired.save(tmp_path / "repaired.xlsx")
    back = load_workbook(tmp_path / "repaired.xlsx")

    def look(c):
        fill = c.fill.fgColor.rgb[-6:] if c.fill.fill_type else None
        return (
            c.value,
            c.number_format,
            (c.font.name, c.font.sz, bool(c.font.b)),
            fill,
            (c.alignment.horizontal, c.alignment.vertical, bool(c.alignment.wrap_text)),
            c.border.left.style,
            c.protection.locked,
        )

    for sheet in (L.SHEET_GUIDE, L.SHEET_FINDINGS):
        a, b = new[sheet], back[sheet]
        cells_a = {c.coordinate: look(c) for row in a.iter_rows() for c in row if c.has_style or c.value}
        cells_b = {c.coordinate: look(c) for row in b.iter_rows() for c in row if c.has_style or c.value}
        assert cells_a == cells_b, sheet
        assert sorted(map(str, a.merged_cells.ranges)) == sorted(map(str, b.merged_cells.ranges))
        assert [(str(d.sqref), d.type, d.prompt) for d in a.data_validations.dataValidation] == [
            (str(d.sqref), d.type, d.prompt) for d in b.data_validations.dataValidation
        ]
        assert (a.protection.sheet, a.protection.password) == (b.protection.sheet, b.protection.password)
        assert (a.page_setup.orientation, int(a.page_setup.paperSize)) == (
            b.page_setup.orientation,
            int(b.page_setup.paperSize),
        )
        widths = {k: (d.width, d.hidden) for k, d in a.column_dimensions.items() if d.width}
        assert widths == {k: (b.column_dimensions[k].width, b.column_dimensions[k].hidden) for k in widths}
        for r, dim in b.row_dimensions.items():  # XlsxWriter stores whole pixels, rounded up
            if dim.height:
                assert dim.height <= a.row_dimensions[r].height < dim.height + 0.75, (sheet, r)
    names = [L.STATUS_NAME, L.FINDINGS_NAME] + ([L.UNIT_NAME] if not scope.unit else [])
    for name in names:
        assert list(back.defined_names[name].destinations) == list(new.defined_names[name].destinations)


def test_text_in_a_plan_is_never_a_formula(built, plan, tmp_path):
    """A unit named like a formula stays text: XlsxWriter is told never to turn text into formulas."""
    _, path, wb = built(unit="=1+1")
    assert meta_of(wb)["unit"] == "=1+1"
    with zipfile.ZipFile(path) as z:
        assert "<f>1+1</f>" not in z.read(f"xl/worksheets/sheet{len(wb.sheetnames)}.xml").decode()
