"""The plan-authoring workbook: YAML → workbook → YAML keeps the plan; mistakes name sheet and cell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml
from cli_support import REPO
from plan_factory import indicator, plan_yaml

from bench.genplan import generated_plan
from kpi_engine import load_plan, parse_plan
from kpi_engine.plan_loader import dump_plan
from workbook.plan_io import load_any
from workbook.plan_io.authoring import (
    KIND_LABELS,
    SHEET_GUIDE,
    SHEET_ITEMS,
    SHEET_KPI,
    SHEET_PLAN,
    AuthoringError,
    write_plan_workbook,
)
from workbook.plan_io.reading import load_workbook_plan


def run_kpi(*args: str) -> subprocess.CompletedProcess:
    """``kpi ARGS`` from this checkout (the installed console script may be another checkout's)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "workbook.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    return proc


def _columns(ws) -> dict[str, int]:
    return {ws.cell(2, c).value: c for c in range(1, ws.max_column + 1) if ws.cell(2, c).value}


def _plans():
    return {
        "embedded": load_plan(),
        "generated_40": generated_plan(40, 7),
        "generated_13": generated_plan(13, 4, year=110),
        "stages_and_decimals": parse_plan(
            plan_yaml(
                indicator("m", "milestone", "第3階段", previous_target="完成招標", assessed_in=["FY"]),
                indicator("r", "ratio", "85%以上", decimals=1, sentence="{name}為{value}%，{verdict}。"),
                indicator("c", "count", "10件以下", cumulative=False),
                indicator("g", "growth", "-5%", polarity="lower"),
            )
        ),
        "submit_to": parse_plan(
            plan_yaml(
                indicator("c", "count", "≤10"), options={"submit_to": "kpi@taichung.gov.tw", "password": "pw"}
            )
        ),
    }


@pytest.mark.parametrize("name", list(_plans()))
def test_round_trip_keeps_the_fingerprint(name, tmp_path):
    plan = _plans()[name]
    data = yaml.safe_load(plan.text)
    book = write_plan_workbook(data, tmp_path / "計畫設定.xlsx")
    back = load_workbook_plan(book)
    assert back.fingerprint == plan.fingerprint
    assert back.sample == plan.sample
    assert back.options == plan.options
    # and again through YAML text written from the workbook
    assert parse_plan(back.text).fingerprint == plan.fingerprint


def test_sheets_read_as_the_plan_document(tmp_path):
    plan = load_plan()
    book = write_plan_workbook(yaml.safe_load(plan.text), tmp_path / "計畫設定.xlsx")
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames[:4] == [SHEET_PLAN, SHEET_KPI, SHEET_ITEMS, SHEET_GUIDE]
    ws = wb[SHEET_KPI]
    cols = _columns(ws)
    rows = [
        (
            ws.cell(r, cols["策略績效目標"]).value,
            ws.cell(r, cols["衡量指標"]).value,
            ws.cell(r, cols["權重（%）"]).value,
            ws.cell(r, cols["107年年度目標值"]).value,
            ws.cell(r, cols["計算方式"]).value,
            ws.cell(r, cols["方向"]).value,
        )
        for r in range(3, 8)
    ]
    assert rows[0] == ("推動本處志願服務工作", "每年志工人數成長比例", 15, "8%", "成長率", "越高越好")
    assert rows[2] == (None, "電子領標達成率", 10, "100%", "比率", "越高越好")  # same goal: left blank
    assert rows[4][3:] == ("≤120", "件數", "越低越好")
    lists = {
        next(iter(dv.sqref.ranges)).coord.split(":")[0].rstrip("0123456789"): dv.formula1
        for dv in ws.data_validations.dataValidation
    }
    kind_col = openpyxl.utils.get_column_letter(cols["計算方式"])
    assert lists[kind_col] == '"' + ",".join(KIND_LABELS.values()) + '"'
    assert '"越高越好,越低越好"' in lists.values()
    items = wb[SHEET_ITEMS]
    assert [items.cell(3, c).value for c in (1, 2)] == ["國際事務", "推動實質城市外交及擴大國際參與"]
    assert items.max_row - 2 == sum(len(i.content) or 1 for w in plan.work_plans for i in w.items)


def _edit(book: Path, out: Path, sheet: str, header: str, row: int, value) -> Path:
    wb = openpyxl.load_workbook(book)
    ws = wb[sheet]
    ws.cell(row, _columns(ws)[header]).value = value
    wb.save(out)
    return out


@pytest.fixture(scope="module")
def seed_book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("authoring") / "計畫設定.xlsx"
    return write_plan_workbook(yaml.safe_load(load_plan().text), path)


@pytest.mark.parametrize(
    ("header", "row", "value", "code", "cell", "words"),
    [
        ("107年年度目標值", 3, "八成", "target_format", "J3", "not a target"),
        ("方向", 7, "越高越好", "target_polarity", "M7", "contradicts"),
        ("計算方式", 4, "比例", "schema", "L4", "not one of"),
        ("權重（%）", 5, "十", "schema", "F5", "must be a number"),
        ("權重（%）", 5, 12, "goal_weight", "C4", "differs"),
        ("填報數據二", 4, None, "schema", "T4", "label"),
        ("衡量標準", 6, None, "schema", "I6", "should be non-empty"),
    ],
)
def test_mistakes_name_sheet_and_cell(seed_book, tmp_path, header, row, value, code, cell, words):
    book = _edit(seed_book, tmp_path / "bad.xlsx", SHEET_KPI, header, row, value)
    with pytest.raises(AuthoringError) as exc:
        load_workbook_plan(book)
    found = [(i.code, i.sheet, i.cell) for i in exc.value.issues]
    assert (code, SHEET_KPI, cell) in found, found
    text = str(exc.value)
    assert words in text and f"工作表「{SHEET_KPI}」{cell}" in text


def test_cli_export_import_template(seed_book, tmp_path):
    out = tmp_path / "計畫設定.xlsx"
    assert run_kpi("plan", "export", "-o", str(out)).returncode == 0
    yaml_out = tmp_path / "plan.yaml"
    r = run_kpi("plan", "import", str(out), "-o", str(yaml_out))
    assert r.returncode == 0, r.stderr
    assert load_plan(yaml_out).fingerprint == load_plan().fingerprint
    r = run_kpi("plan", "check", str(out), "--json")
    assert json.loads(r.stdout)["fingerprint"] == load_plan().fingerprint
    template = tmp_path / "範本.xlsx"
    r = run_kpi("template", str(out), "-o", str(template))
    assert r.returncode == 0, r.stderr
    assert "關鍵績效指標" in openpyxl.load_workbook(template).sheetnames
    # an error in the workbook: the CLI names the sheet and the cell, exit 2, no traceback
    bad = _edit(out, tmp_path / "bad.xlsx", SHEET_KPI, "107年年度目標值", 3, "八成")
    r = run_kpi("template", str(bad), "-o", str(tmp_path / "x.xlsx"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "J3" in r.stderr and "target_format" in r.stderr
    r = run_kpi("plan", "import", str(bad), "-o", str(tmp_path / "bad.yaml"))
    assert r.returncode == 1 and "J3" in r.stdout


def test_cli_new_is_a_valid_plan_with_one_row(tmp_path):
    out = tmp_path / "new.xlsx"
    assert run_kpi("plan", "new", "-o", str(out)).returncode == 0
    plan = load_any(out)
    assert len(plan.indicators) == 1 and plan.indicators[0].kind == "ratio"


def test_cli_refuses_unknown_output(tmp_path):
    r = run_kpi("plan", "export", "-o", str(tmp_path / "x.txt"))
    assert r.returncode == 2 and ".yaml" in r.stderr


def test_not_an_authoring_workbook(tmp_path):
    template = tmp_path / "範本.xlsx"
    assert run_kpi("template", "-o", str(template)).returncode == 0
    r = run_kpi("plan", "check", str(template))
    assert r.returncode == 2 and "填報工作簿" in r.stderr and "kpi plan new" in r.stderr


def test_ods_round_trip(seed_book, tmp_path):
    from workbook import libreoffice as lo

    lo.require_soffice()
    ods = tmp_path / "計畫設定.ods"
    r = run_kpi("plan", "export", "-o", str(ods))
    assert r.returncode == 0, r.stderr
    assert load_any(ods).fingerprint == load_plan().fingerprint


def test_check_json_lists_codes_and_cells(seed_book, tmp_path):
    bad = _edit(seed_book, tmp_path / "bad.xlsx", SHEET_KPI, "方向", 7, "越高越好")
    r = run_kpi("plan", "check", str(bad), "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 2 and out["ok"] is False
    assert {"code": "target_polarity", "sheet": SHEET_KPI, "cell": "M7"}.items() <= out["issues"][0].items()


def test_a_csv_named_xlsx_as_plan(tmp_path):
    fake = tmp_path / "計畫設定.xlsx"
    fake.write_text("id,agency\nx,y\n", encoding="utf-8")
    r = run_kpi("template", str(fake), "-o", str(tmp_path / "t.xlsx"))
    assert r.returncode == 2 and "不是 Excel 活頁簿" in r.stderr
    assert not (tmp_path / "t.xlsx").exists()


def test_a_repeated_indicator_code_names_its_cell_and_ends(seed_book, tmp_path):
    """A 指標代碼 typed twice used to make plan check, import, template and collect loop for ever
    (locate could not shorten the bare path "goals").  The CLI runs first, with a timeout."""
    book = _edit(seed_book, tmp_path / "dup.xlsx", SHEET_KPI, "指標代碼", 4, "volunteer_growth")
    proc = subprocess.run(
        [sys.executable, "-m", "workbook.cli", "plan", "check", str(book)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert proc.returncode == 2 and "duplicate_id" in proc.stderr + proc.stdout
    with pytest.raises(AuthoringError) as exc:
        load_workbook_plan(book)
    dup = [i for i in exc.value.issues if i.code == "duplicate_id"]
    ws = openpyxl.load_workbook(book)[SHEET_KPI]
    col = openpyxl.utils.get_column_letter(_columns(ws)["指標代碼"])
    assert [(i.sheet, i.cell) for i in dup] == [(SHEET_KPI, f"{col}4")]


def test_common_indicators_round_trip(tmp_path):
    data = yaml.safe_load(
        plan_yaml(
            indicator("own", "count", "≥10", weight=70),
            indicator("budget", "ratio", "≥90%", weight=30, common=True),
        )
    )
    book = write_plan_workbook(data, tmp_path / "common.xlsx")
    ws = openpyxl.load_workbook(book)[SHEET_KPI]
    col = _columns(ws)["共同性指標"]
    assert [ws.cell(r, col).value for r in (3, 4)] == [None, "是"]
    plan = load_workbook_plan(book)
    assert [i.common for i in plan.indicators] == [False, True] and plan.weight_total == 70
    assert plan.fingerprint == parse_plan(dump_plan(data)).fingerprint


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    """Written by XlsxWriter with text as text: a 衡量標準 or a title starting with "=" is
    never a formula in the package (a formula cell keeps no value for a reader), and reads back."""
    import zipfile

    plan = parse_plan(plan_yaml(indicator("c", "count", "≤10")))
    data = yaml.safe_load(plan.text)
    data["title"] = '=HYPERLINK("http://example.com")'
    data["goals"][0]["indicators"][0]["formula"] = "=缺失件數"
    plan = parse_plan(yaml.safe_dump(data, allow_unicode=True))
    book = write_plan_workbook(data, tmp_path / "計畫設定.xlsx")
    with zipfile.ZipFile(book) as z:
        parts = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert not any("<f>" in z.read(n).decode("utf-8") for n in parts)
    back = load_workbook_plan(book)
    assert back.title == data["title"] and back.indicators[0].formula == "=缺失件數"
    assert back.fingerprint == plan.fingerprint
