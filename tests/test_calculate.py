"""Headless calculate and check of a filled workbook file, read back with openpyxl.

A template is built, counts are typed into its input cells by defined name (as staff
would, :func:`workbook.demo.fill`), and :func:`workbook.form.calculate.calculate` or the
installed ``kpi calculate`` / ``kpi check`` runs on the saved file.  Assertions read
the saved .xlsx again; nothing is mocked except one failing save.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from datetime import datetime
from decimal import Decimal
from itertools import combinations
from pathlib import Path

import pytest
from cli_support import kpi, load_genplan
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

import workbook.formats.files
from kpi_engine import evaluate, sample_entries
from workbook.books.file import FileBook
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.calculate import block_writes, calculate, recorded_report
from workbook.form.formulas import result_formulas
from workbook.formats.files import WorkbookFileError

REPO = Path(__file__).resolve().parents[1]
PASS_RATE_SENTENCE = (
    "截至6月30日止，參訓人數210人，取得及格證書187人，及格率89.05%(187人/210人)，達原訂目標值，達成率100%。"
)
INPUT_PREFIXES = ("IN_", "NOTE_", "PROG_", "DESC_")
T1 = datetime(2018, 7, 10, 9, 30, 15)
T2 = datetime(2018, 7, 11, 14, 5, 0)
T3 = datetime(2018, 7, 12, 8, 0, 0)


@pytest.fixture(scope="module")
def seed_scope(plan):
    """The demo's scope: 106 上半年 counts against the 106 targets."""
    return L.Scope(plan, unit=plan.agency, period_id="H1", data_year=106)


@pytest.fixture(scope="module")
def seed_template(seed_scope, tmp_path_factory):
    return write_template(seed_scope, tmp_path_factory.mktemp("tpl") / "seed_template.xlsx")


def make_filled(
    template: Path,
    scope: L.Scope,
    folder: Path,
    entries: dict,
    *,
    extra: dict | None = None,
    name="filled.xlsx",
) -> Path:
    """Copy the template, type ``entries`` (period → indicator → role → value) and ``extra``
    (defined name → value) into it, save; returns the file."""
    path = folder / name
    shutil.copyfile(template, path)
    book = FileBook(path)
    fill(book, scope, entries)
    names = book.names()
    for n, v in (extra or {}).items():
        sheet, row, col = names[n]
        book.write(sheet, row, col, [[v]])
    book.save()
    return path


def seed_entries(plan, **changes) -> dict:
    """The plan's sample counts, with ``indicator={role: value}`` overrides."""
    entries = {k: dict(v) for k, v in plan.sample.entries.items()}
    for ind, values in changes.items():
        entries[ind].update(values)
    return {plan.sample.period: entries}


def run(path: Path, *, write: bool = True, now: datetime | None = None, output: Path | None = None):
    book = FileBook(path)
    outcome = calculate(book, write=write, now=now)
    if write:
        book.save(output)
    return outcome


def snapshot(path: Path) -> tuple[dict, dict]:
    """Every cell value of every sheet, and every defined name's reference."""
    wb = load_workbook(path)
    cells = {(ws.title, c.coordinate): c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}
    cells = {k: v for k, v in cells.items() if v not in (None, "")}  # an empty string reads back as None
    names = {n: dn.attr_text for n, dn in wb.defined_names.items()}
    return cells, names


def by_name(path: Path) -> dict:
    """Defined name → the value of its cell."""
    wb = load_workbook(path)
    out = {}
    for n, dn in wb.defined_names.items():
        ((sheet, ref),) = list(dn.destinations)
        out[n] = wb[sheet][ref.replace("$", "")].value
    return out


def address(path: Path, name: str) -> tuple[str, str]:
    wb = load_workbook(path)
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return sheet, ref.replace("$", "")


def meta(path: Path) -> dict:
    ws = load_workbook(path)[L.SHEET_META]
    return {k: v for k, v in ws.iter_rows(min_col=1, max_col=2, values_only=True) if k != "plan_text"}


def findings_table(path: Path) -> list[tuple]:
    """The findings calculate recorded in ``_kpi`` (what 檢核結果 shows by formula), blanks as ""."""
    _, rows = recorded_report(FileBook(path))
    return [tuple("" if v is None else v for v in r) for r in rows]


def status_line(path: Path) -> str:
    """The status line calculate recorded (what 填表說明 shows by formula)."""
    return recorded_report(FileBook(path))[0]


def folder_files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------
# the seed sample
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_done(plan, seed_scope, seed_template, tmp_path_factory):
    """The seed sample filled and calculated once: (filled-before file, calculated file, outcome)."""
    folder = tmp_path_factory.mktemp("seed")
    before = make_filled(seed_template, seed_scope, folder, seed_entries(plan), name="before.xlsx")
    after = folder / "after.xlsx"
    shutil.copyfile(before, after)
    outcome = run(after, now=T1)
    return before, after, outcome


def test_seed_sentences_are_live_formulas(seed_done, seed_eval, seed_scope):
    # The analysis is a formula (LibreOffice computes it in test_libreoffice_oracle); the
    # engine evaluates the very same expression.
    _, after, outcome = seed_done
    values = by_name(after)
    formulas = result_formulas(seed_scope)
    assert values["TXT_procurement_pass_rate_H1"] == formulas["TXT_procurement_pass_rate_H1"]
    assert values["TXT_procurement_pass_rate_H1"].startswith("=IF(")
    assert outcome.evaluation.result("procurement_pass_rate", "H1").sentence == PASS_RATE_SENTENCE
    for r in seed_eval.results:
        assert outcome.evaluation.result(r.indicator, r.period).sentence == r.sentence
    texts = {r.indicator: r.sentence for r in outcome.evaluation.results if r.period == "H1"}
    assert texts["volunteer_growth"] == "截至6月30日止，尚無資料，未能評估。"
    assert texts["failed_tender_rate"] == (
        "截至6月30日止，招標總件數643件，流廢標列管48件，實際達成目標值為7.47%(48件/643件)，達原訂目標值，達成率100%。"
    )


def test_seed_results_match_the_engine(seed_done, seed_eval):
    _, _, outcome = seed_done
    r = outcome.evaluation.result("procurement_pass_rate", "H1")
    assert (r.value, r.achievement_rate, r.light, r.target) == (Decimal("89.05"), 100, "green", "82%")
    mine = {(x.indicator, x.period): x for x in outcome.evaluation.results}
    for x in seed_eval.results:
        got = mine[(x.indicator, x.period)]
        # Only the 檢核 cell differs: calculate has now checked the inputs.
        assert {**got.cells, "status": None} == {**x.cells, "status": None}
        assert (got.value, got.achievement_rate, got.light, got.sentence) == (
            x.value,
            x.achievement_rate,
            x.light,
            x.sentence,
        )


def test_seed_statuses(seed_done):
    _, after, outcome = seed_done
    values = by_name(after)
    # calculate records what it found (CALC_) and the inputs it checked (SNAP_) …
    assert {n: v for n, v in values.items() if n.startswith("CALC_")} == {
        "CALC_volunteer_growth_H1": "錯誤 0 項、警告 2 項（見檢核結果）",
        "CALC_procurement_pass_rate_H1": "無誤",
        "CALC_e_tender_rate_H1": "無誤",
        "CALC_failed_tender_rate_H1": "無誤",
        "CALC_safety_defects_H1": "無誤",
    }
    assert values["SNAP_procurement_pass_rate_H1_numerator"] == 187
    assert values["SNAP_volunteer_growth_H1_current"] is None
    # … and the 檢核 formulas show it while the inputs are unchanged.
    statuses = {r.indicator: r.cells["status"] for r in outcome.evaluation.results}
    assert statuses == {
        "volunteer_growth": "尚未填寫",
        "procurement_pass_rate": "無誤",
        "e_tender_rate": "無誤",
        "failed_tender_rate": "無誤",
        "safety_defects": "無誤",
    }
    assert status_line(after) == "已於 107年7月10日 09:30 計算：錯誤 0 項、警告 2 項。"
    m = meta(after)
    assert m["calculated_at"] == "2018-07-10 09:30:15"
    assert len(m["input_digest"]) == 64


def test_seed_findings_table(seed_done):
    _, after, outcome = seed_done
    sheet = "一-1 每年志工人數成長比例"
    assert [(f.code, f.severity, f.sheet, f.cell) for f in outcome.findings] == [
        ("missing", "warning", sheet, "C12"),
        ("missing", "warning", sheet, "C13"),
    ]
    assert (sheet, "C12") == address(after, "IN_volunteer_growth_H1_current")
    assert (sheet, "C13") == address(after, "IN_volunteer_growth_H1_previous")
    assert findings_table(after) == [
        (
            "1",
            "警告",
            "今年志工總人數尚未填寫",
            sheet,
            "C12",
            "上半年",
            "今年志工總人數 is not filled in yet",
            "missing",
        ),
        (
            "2",
            "警告",
            "去年志工總人數尚未填寫",
            sheet,
            "C13",
            "上半年",
            "去年志工總人數 is not filled in yet",
            "missing",
        ),
    ]


def test_clean_workbook_says_no_findings(plan, seed_scope, seed_template, tmp_path):
    entries = seed_entries(plan, volunteer_growth={"current": 540, "previous": 500})
    path = make_filled(seed_template, seed_scope, tmp_path, entries)
    outcome = run(path, now=T1)
    assert outcome.findings == []
    assert findings_table(path) == [("", "", "無檢核問題", "", "", "", "no findings", "")]
    values = by_name(path)
    assert status_line(path) == "已於 107年7月10日 09:30 計算：錯誤 0 項、警告 0 項。"
    assert values["CALC_volunteer_growth_H1"] == "無誤"
    r = outcome.evaluation.result("volunteer_growth", "H1")
    assert r.cells["status"] == "無誤"
    assert r.sentence.startswith("截至6月30日止，今年志工總人數540人，去年志工總人數500人")


def test_results_keep_their_formulas(seed_done, seed_scope):
    _, after, _ = seed_done
    values = by_name(after)
    for name, formula in result_formulas(seed_scope).items():
        assert values[name] == formula, name


# ---------------------------------------------------------------------------
# findings point at the cell to fix
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "column"),
    [("H1", "C"), ("FY", "D")],
)
def test_text_in_an_input_is_an_error_at_that_cell(plan, tmp_path, period, column):
    scope = L.Scope(plan, data_year=106)  # both periods: 上半年 in C, 全年度 in D
    template = write_template(scope, tmp_path / "t.xlsx")
    counts = {"failed_tender_rate": {"numerator": "約48件", "denominator": 643}}
    path = make_filled(template, scope, tmp_path, {period: counts})
    outcome = run(path, now=T1)
    sheet, cell = address(path, f"IN_failed_tender_rate_{period}_numerator")
    assert (sheet, cell) == ("二-3 流廢標下降率", f"{column}12")
    (f,) = [f for f in outcome.findings if f.severity == "error"]
    assert (f.code, f.indicator, f.input, f.period, f.sheet, f.cell) == (
        "text",
        "failed_tender_rate",
        "numerator",
        period,
        sheet,
        cell,
    )
    assert f.message_zh == "流廢標列管件數不是數字：「約48件」"
    period_name = plan.period(period).name
    assert ("1", "錯誤", f.message_zh, sheet, cell, period_name, f.message_en, "text") in findings_table(path)
    values = by_name(path)
    assert values[f"CALC_failed_tender_rate_{period}"] == "錯誤 1 項、警告 0 項（見檢核結果）"
    r = outcome.evaluation.result("failed_tender_rate", period)
    assert (r.cells["status"], r.cells["achieved"], r.light) == ("資料有誤 1 項", "資料有誤", "white")
    assert values[f"IN_failed_tender_rate_{period}_numerator"] == "約48件"  # never rewritten
    assert "請依「檢核結果」修正後再計算" in status_line(path)


def test_progress_out_of_range_points_at_the_item(plan, seed_scope, seed_template, tmp_path):
    item = seed_scope.items[0]
    p = seed_scope.plan.period("H1")
    path = make_filled(
        seed_template, seed_scope, tmp_path, seed_entries(plan), extra={L.progress_name(item, p): 120}
    )
    outcome = run(path)
    (f,) = [f for f in outcome.findings if f.code == "progress_range"]
    assert (f.sheet, f.cell) == address(path, L.progress_name(item, p))
    assert f.message_zh == f"{item.name}執行進度須為 0 至 100 的整數：120"


# ---------------------------------------------------------------------------
# calculate never writes an input
# ---------------------------------------------------------------------------


def test_inputs_and_notes_unchanged(plan, seed_scope, seed_template, tmp_path):
    p = plan.period("H1")
    extra = {}
    for i, ind in enumerate(seed_scope.indicators):
        extra[L.notes_name(ind, p)] = f"承辦人補充說明{i}：含全形數字１２３與換行\n第二行"
    for i, item in enumerate(seed_scope.items):
        extra[L.progress_name(item, p)] = (i * 7) % 101
        extra[L.progress_text_name(item, p)] = f"{item.name}：已依進度辦理（{i}）"
    entries = seed_entries(
        plan,
        volunteer_growth={"current": "１２３", "previous": " 100 "},  # odd but readable
        safety_defects={"count": "1,063"},
    )
    path = make_filled(seed_template, seed_scope, tmp_path, entries, extra=extra)
    before = {n: v for n, v in by_name(path).items() if n.startswith(INPUT_PREFIXES)}
    assert len(before) == 9 + 5 + 26 * 2
    assert all(v is not None for v in before.values())
    run(path)
    run(path)
    after = {n: v for n, v in by_name(path).items() if n.startswith(INPUT_PREFIXES)}
    assert after == before
    assert after["IN_volunteer_growth_H1_current"] == "１２３"
    assert after["NOTE_procurement_pass_rate_H1"] == "承辦人補充說明1：含全形數字１２３與換行\n第二行"


def test_calculate_writes_no_visible_cell(seed_done):
    """Issue 22: after kpi calculate every cell of every visible sheet is as the template and
    the clerk left it (value or formula, protection too); only the system sheet changed."""
    before, after, _ = seed_done
    cells_before, names_before = snapshot(before)
    cells_after, names_after = snapshot(after)
    assert names_before == names_after
    changed = {
        k for k in cells_before.keys() | cells_after.keys() if cells_before.get(k) != cells_after.get(k)
    }
    wb0, wb1 = load_workbook(before), load_workbook(after)
    visible = [ws.title for ws in wb1.worksheets if ws.sheet_state == "visible"]
    assert L.SHEET_META not in visible and L.SHEET_FINDINGS in visible and L.SHEET_GUIDE in visible
    assert changed and {sheet for sheet, _ in changed} == {L.SHEET_META}
    for title in visible:
        assert wb1[title].protection.sheet and wb0[title].protection.sheet == wb1[title].protection.sheet
        assert wb1[title].protection.password == wb0[title].protection.password
    assert not wb1[L.SHEET_META].protection.sheet and wb1[L.SHEET_META].sheet_state == "veryHidden"


def test_visible_report_cells_show_the_record(seed_done):
    """The status line and every 檢核結果 cell refer to the report cell calculate writes."""
    _, after, _ = seed_done
    wb = load_workbook(after)
    status = by_name(after)[L.STATUS_NAME]
    record_sheet, record = address(after, L.RECORD_NAME)
    assert record_sheet == L.SHEET_META
    assert status == f'={L.SHEET_META}!${record[0]}${record[1:]}&""'
    ws = wb[L.SHEET_FINDINGS]
    col, row = record[0], int(record[1:])
    first = ws.cell(3, 1).value  # the first findings row is the report's second row
    assert first == f'={L.SHEET_META}!${col}${row + 1}&""'
    assert ws.column_dimensions["H"].hidden  # the code column
    assert [c.value for c in ws[2]][:8] == list(L.REPORT_COLUMNS)


# ---------------------------------------------------------------------------
# idempotence
# ---------------------------------------------------------------------------


def test_calculating_twice_gives_the_same_workbook(plan, seed_scope, seed_template, tmp_path):
    entries = seed_entries(plan, failed_tender_rate={"numerator": "約48件"})  # with findings, too
    p = plan.period("H1")
    extra = {L.notes_name(seed_scope.indicators[1], p): "補充說明"}
    path = make_filled(seed_template, seed_scope, tmp_path, entries, extra=extra)
    first = run(path, now=T1)
    snap1 = snapshot(path)
    second = run(path, now=T2)  # later, same inputs
    snap2 = snapshot(path)
    assert snap1[1] == snap2[1]  # defined names
    diff = {k: (snap1[0].get(k), snap2[0].get(k)) for k in snap1[0].keys() | snap2[0].keys()}
    assert {k: v for k, v in diff.items() if v[0] != v[1]} == {}
    assert first.findings == second.findings
    assert first.blocks == second.blocks
    assert meta(path)["calculated_at"] == "2018-07-10 09:30:15"  # inputs unchanged: stamp kept

    # A changed input is a new calculation: new digest, new stamp.
    old_digest = meta(path)["input_digest"]
    book = FileBook(path)
    fill(book, seed_scope, seed_entries(plan))
    book.save()
    run(path, now=T3)
    m = meta(path)
    assert m["calculated_at"] == "2018-07-12 08:00:00"
    assert m["input_digest"] != old_digest
    assert status_line(path).startswith("已於 107年7月12日 08:00 計算")


def test_check_does_not_write(seed_done):
    _, after, _ = seed_done
    book = FileBook(after)
    grids = {s: [list(r) for r in book.grid(s)] for s in book.sheet_names()}
    outcome = calculate(book, write=False)
    assert outcome.blocks == [] and outcome.restored == []
    assert [f.code for f in outcome.findings] == ["missing", "missing"]
    assert {s: book.grid(s) for s in book.sheet_names()} == grids


# ---------------------------------------------------------------------------
# overwritten result formulas
# ---------------------------------------------------------------------------


@pytest.fixture
def overwritten(plan, seed_scope, seed_template, tmp_path):
    """The seed sample with 89.05 typed over the pass rate's value formula."""
    name = "OUT_procurement_pass_rate_H1_value"
    path = make_filled(seed_template, seed_scope, tmp_path, seed_entries(plan), extra={name: 89.05})
    assert by_name(path)[name] == 89.05
    return name, path


def test_overwritten_formula_is_restored(overwritten, seed_scope):
    name, path = overwritten
    sheet, cell = address(path, name)
    # C16: no target row above the results since issue 21
    assert (sheet, cell) == ("二-1 本府採購專業人員基礎班訓練及格率", "C16")
    outcome = run(path)
    assert outcome.restored == [name]
    (f,) = [f for f in outcome.findings if f.code == "formula_restored"]
    assert (f.severity, f.indicator, f.input, f.period, f.sheet, f.cell) == (
        "warning",
        "procurement_pass_rate",
        "value",
        "H1",
        sheet,
        cell,
    )
    assert f.message_zh == f"{sheet}!{cell} 的公式遭覆寫，已還原"
    assert by_name(path)[name] == result_formulas(seed_scope)[name]
    assert any(r[7] == "formula_restored" and r[3:5] == (sheet, cell) for r in findings_table(path))
    again = run(path)  # restored: nothing to report the second time
    assert again.restored == []
    assert "formula_restored" not in {f.code for f in again.findings}


def test_kpi_check_is_read_only_and_reports_overwritten(overwritten, tmp_path):
    name, path = overwritten
    sheet, cell = address(path, name)
    data, mtime = path.read_bytes(), path.stat().st_mtime_ns
    files = folder_files(tmp_path)
    proc = kpi("check", path.name, "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # formula_overwritten is an error
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    found = [f for f in out["findings"] if f["code"] == "formula_overwritten"]
    assert [(f["sheet"], f["cell"], f["severity"]) for f in found] == [(sheet, cell, "error")]
    assert out["restored_formulas"] == []
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime
    assert folder_files(tmp_path) == files
    assert by_name(path)[name] == 89.05
    text = kpi("check", path.name, cwd=tmp_path)
    assert text.returncode == 1
    assert f"formula_overwritten [{sheet}!{cell}]" in text.stdout.replace("\n", "")


# ---------------------------------------------------------------------------
# the kpi command: exit codes, -o, atomic save
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["calculate", "check"])
def test_exit_0_for_the_clean_sample(seed_done, tmp_path, command):
    before, _, _ = seed_done
    path = tmp_path / "sample.xlsx"
    shutil.copyfile(before, path)
    data = path.read_bytes()
    proc = kpi(command, path.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "89.05%" in proc.stdout
    if command == "check":
        assert path.read_bytes() == data
    else:
        assert by_name(path)["CALC_procurement_pass_rate_H1"] == "無誤"
    assert PASS_RATE_SENTENCE in proc.stdout or "89.05" in proc.stdout
    assert folder_files(tmp_path) == {"sample.xlsx"}  # no temporary file left behind


@pytest.mark.parametrize("command", ["calculate", "check"])
def test_exit_1_for_an_error_finding(plan, seed_scope, seed_template, tmp_path, command):
    entries = seed_entries(plan, procurement_pass_rate={"numerator": 250, "denominator": 210})
    path = make_filled(seed_template, seed_scope, tmp_path, entries)
    proc = kpi(command, path.name, "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    out = json.loads(proc.stdout)
    (f,) = [f for f in out["findings"] if f["severity"] == "error"]
    sheet, cell = address(path, "IN_procurement_pass_rate_H1_numerator")
    assert (f["code"], f["sheet"], f["cell"]) == ("numerator_gt_denominator", sheet, cell)
    assert f["message_zh"] == "取得證照人數（250）大於受訓總人數（210）"
    if command == "calculate":
        assert by_name(path)["CALC_procurement_pass_rate_H1"] == "錯誤 1 項、警告 0 項（見檢核結果）"
    (r,) = [r for r in out["indicators"] if r["indicator"] == "procurement_pass_rate" and r["period"] == "H1"]
    assert (r["value"], r["achievement_rate"], r["light"]) == (None, None, "white")  # 250/210 is no 119%


def _text_file(path: Path) -> None:
    path.write_text("這不是活頁簿 / not a workbook\n", encoding="utf-8")


def _without_meta(path: Path) -> None:
    wb = load_workbook(path)
    del wb[L.SHEET_META]
    wb.save(path)


def _without_name(path: Path) -> None:
    wb = load_workbook(path)
    del wb.defined_names["IN_procurement_pass_rate_H1_numerator"]
    wb.save(path)


def _plain_workbook(path: Path) -> None:
    Workbook().save(path)


def _tampered_plan(path: Path) -> None:
    wb = load_workbook(path)
    ws = wb[L.SHEET_META]
    for row in ws.iter_rows(min_col=1, max_col=2):
        if row[0].value == "plan_text":
            row[1].value = row[1].value.replace("target: 83%", "target: 50%")
    wb.save(path)


UNUSABLE = {
    # the wording of this one is the file guard's; it names Excel in both languages
    "text_file": (_text_file, "Excel", "workbook"),
    "no_meta": (
        _without_meta,
        "這不是本系統產生的填報工作簿（找不到系統資料）",
        "not a KPI Workbook template",
    ),
    "plain_workbook": (_plain_workbook, "這不是本系統產生的填報工作簿", "its metadata sheet is missing"),
    "name_deleted": (
        _without_name,
        "找不到必要的儲存格名稱：IN_procurement_pass_rate_H1_numerator",
        "required defined names are missing: IN_procurement_pass_rate_H1_numerator",
    ),
    "plan_tampered": (_tampered_plan, "工作簿內的計畫資料與指紋不符", "does not match its fingerprint"),
}


@pytest.mark.parametrize("command", ["calculate", "check"])
@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_exit_2_for_an_unusable_file(seed_done, tmp_path, case, command):
    before, _, _ = seed_done
    spoil, zh, en = UNUSABLE[case]
    path = tmp_path / "壞檔.xlsx"
    shutil.copyfile(before, path)
    spoil(path)
    data = path.read_bytes()
    proc = kpi(command, path.name, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.startswith("錯誤 / error: ")
    zh_part, _, en_part = proc.stderr.removeprefix("錯誤 / error: ").rpartition(" / ")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh_part), proc.stderr  # a zh-TW message …
    assert en_part.isascii() and len(en_part.split()) >= 3, proc.stderr  # … then an English one
    assert zh in proc.stderr and en in proc.stderr
    assert "壞檔.xlsx" in proc.stderr or case != "text_file"
    assert path.read_bytes() == data
    assert folder_files(tmp_path) == {"壞檔.xlsx"}


def test_unusable_file_raises_workbook_file_error(seed_done, tmp_path):
    before, _, _ = seed_done
    path = tmp_path / "x.xlsx"
    shutil.copyfile(before, path)
    _without_name(path)
    with pytest.raises(WorkbookFileError) as err:
        calculate(FileBook(path))
    assert "IN_procurement_pass_rate_H1_numerator" in err.value.message_zh


def test_output_option_leaves_the_source_untouched(seed_done, tmp_path):
    before, _, _ = seed_done
    src = tmp_path / "填報.xlsx"
    shutil.copyfile(before, src)
    data, mtime = src.read_bytes(), src.stat().st_mtime_ns
    proc = kpi("calculate", src.name, "-o", "已計算.xlsx", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert src.read_bytes() == data and src.stat().st_mtime_ns == mtime
    out = tmp_path / "已計算.xlsx"
    assert by_name(out)["CALC_procurement_pass_rate_H1"] == "無誤"
    assert by_name(src)["CALC_procurement_pass_rate_H1"] is None
    assert folder_files(tmp_path) == {"填報.xlsx", "已計算.xlsx"}


def test_atomic_save_leaves_no_temporary_files(seed_done, tmp_path):
    before, _, _ = seed_done
    path = tmp_path / "a.xlsx"
    shutil.copyfile(before, path)
    mode = 0o640
    path.chmod(mode)
    run(path)
    run(path, output=tmp_path / "b.xlsx")
    assert folder_files(tmp_path) == {"a.xlsx", "b.xlsx"}
    assert path.stat().st_mode & 0o777 == mode  # the file keeps its permissions


def test_failed_save_keeps_the_original(seed_done, tmp_path, monkeypatch):
    before, _, _ = seed_done
    path = tmp_path / "a.xlsx"
    shutil.copyfile(before, path)
    data = path.read_bytes()
    written = []

    def failing_save(content, filename):
        with open(filename, "wb") as fh:  # half a file, then the disk fills up
            fh.write(b"PK\x03\x04 partial")
        written.append(Path(filename))
        raise OSError(28, "No space left on device")

    book = FileBook(path)
    calculate(book)
    monkeypatch.setattr(workbook.formats.files, "write_content", failing_save)
    with pytest.raises(WorkbookFileError) as err:
        book.save()
    assert "原檔未變更" in err.value.message_zh and "the original is unchanged" in err.value.message_en
    assert written and written[0].parent == tmp_path and written[0].name.endswith(".tmp")
    assert path.read_bytes() == data
    assert folder_files(tmp_path) == {"a.xlsx"}


def test_failed_save_to_a_directory_exits_2(seed_done, tmp_path):
    before, _, _ = seed_done
    src = tmp_path / "a.xlsx"
    shutil.copyfile(before, src)
    (tmp_path / "out.xlsx").mkdir()  # the target name is taken by a folder: os.replace fails
    data = src.read_bytes()
    proc = kpi("calculate", "a.xlsx", "-o", "out.xlsx", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "輸出路徑是資料夾" in proc.stderr and "the output is a directory" in proc.stderr
    assert src.read_bytes() == data
    assert folder_files(tmp_path) == {"a.xlsx", "out.xlsx"}
    assert list((tmp_path / "out.xlsx").iterdir()) == []


def test_save_into_a_missing_folder_is_a_workbook_file_error(seed_done, tmp_path):
    before, _, _ = seed_done
    path = tmp_path / "a.xlsx"
    shutil.copyfile(before, path)
    book = FileBook(path)
    calculate(book)
    try:
        with pytest.raises(WorkbookFileError):
            book.save(tmp_path / "沒有這個資料夾" / "out.xlsx")
    finally:
        assert folder_files(tmp_path) == {"a.xlsx"}


def test_calculate_into_a_missing_folder_exits_2(seed_done, tmp_path):
    before, _, _ = seed_done
    src = tmp_path / "a.xlsx"
    shutil.copyfile(before, src)
    data = src.read_bytes()
    proc = kpi("calculate", "a.xlsx", "-o", "沒有這個資料夾/out.xlsx", cwd=tmp_path)
    assert src.read_bytes() == data
    assert "Traceback" not in proc.stderr, proc.stderr[-400:]
    assert proc.returncode == 2
    assert "無法儲存檔案" in proc.stderr


def test_indicator_name_with_an_apostrophe(tmp_path):
    from kpi_engine import parse_plan

    text = load_genplan().generated_plan_yaml(4, 1).replace("電子領標案件比率第1項", "Children's 滿意度", 1)
    plan = parse_plan(text)
    scope = L.Scope(plan, period_id="H1")
    path = write_template(scope, tmp_path / "a.xlsx")
    assert "1-1 Children's 滿意度" in load_workbook(path).sheetnames
    book = FileBook(path)
    fill(book, scope, {"H1": {"k001": {"numerator": 1, "denominator": 2}}})
    outcome = calculate(book, plans=[plan])
    assert outcome.evaluation.result("k001", "H1").value == 50


# ---------------------------------------------------------------------------
# look of what calculate writes
# ---------------------------------------------------------------------------


def test_findings_rows_use_the_house_font(seed_done):
    _, after, _ = seed_done
    ws = load_workbook(after)[L.SHEET_FINDINGS]
    for row in ws.iter_rows(min_row=3, max_row=4, max_col=8):
        for cell in row:
            assert cell.font.name == "標楷體", cell.coordinate
            assert cell.alignment.wrap_text, cell.coordinate


# ---------------------------------------------------------------------------
# block_writes: few rectangles, never a cell not given
# ---------------------------------------------------------------------------

cells_strategy = st.dictionaries(
    keys=st.tuples(st.sampled_from(["甲", "乙", L.SHEET_META]), st.integers(1, 12), st.integers(1, 8)),
    values=st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3)),
    max_size=70,
)


def _rects(blocks):
    return [(s, r, r + len(v) - 1, c, c + len(v[0]) - 1) for s, r, c, v in blocks]


@settings(max_examples=400, deadline=None)
@given(cells_strategy)
@example({})
@example({("甲", 1, 1): "x", ("甲", 2, 1): "y", ("甲", 3, 1): "z", ("甲", 2, 2): "w"})
@example({("甲", r, c): r * c for r in range(3, 203) for c in range(1, 9)})
def test_block_writes_covers_exactly_the_given_cells(cells):
    blocks = block_writes(cells)
    covered: dict = {}
    for sheet, row, col, values in blocks:
        assert values and values[0], "no empty block"
        assert all(len(line) == len(values[0]) for line in values), "rectangular"
        for i, line in enumerate(values):
            for j, v in enumerate(line):
                key = (sheet, row + i, col + j)
                assert key in cells, f"covers a cell not given: {key}"
                assert key not in covered, f"written twice: {key}"
                covered[key] = v
    assert covered == cells
    # maximal: no two blocks together form one rectangle
    for a, b in combinations(_rects(blocks), 2):
        if a[0] != b[0]:
            continue
        stacked = a[3:] == b[3:] and (a[2] + 1 == b[1] or b[2] + 1 == a[1])
        side_by_side = a[1:3] == b[1:3] and (a[4] + 1 == b[3] or b[4] + 1 == a[3])
        assert not (stacked or side_by_side), (a, b)
    # never more blocks than runs of adjacent cells in a row
    runs = sum(1 for (s, r, c) in cells if (s, r, c - 1) not in cells)
    assert len(blocks) <= runs


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["甲", "乙"]),
    st.integers(1, 300),
    st.integers(1, 20),
    st.integers(1, 250),
    st.integers(1, 10),
)
def test_block_writes_a_rectangle_is_one_block(sheet, top, left, height, width):
    cells = {(sheet, r, c): (r, c) for r in range(top, top + height) for c in range(left, left + width)}
    ((s, row, col, values),) = block_writes(cells)
    assert (s, row, col) == (sheet, top, left)
    assert values == [[(r, c) for c in range(left, left + width)] for r in range(top, top + height)]


def _assert_blocks_bounded(outcome, sheetnames):
    per_sheet = Counter(s for s, *_ in outcome.blocks)
    assert set(per_sheet) <= set(sheetnames)
    assert len(outcome.blocks) <= 2 * len(sheetnames), per_sheet
    assert max(per_sheet.values()) <= 2, per_sheet


def test_seed_write_blocks_are_few(seed_done):
    _, after, outcome = seed_done
    sheetnames = load_workbook(after).sheetnames
    _assert_blocks_bounded(outcome, sheetnames)
    # Only the system sheet (issue 22): the metadata (digest, stamp), and calculate's record
    # with its report beside it as one rectangle from row 1.
    assert [(b[0], b[1], b[2]) for b in outcome.blocks] == [
        (L.SHEET_META, 10, 2),
        (L.SHEET_META, 1, L.STATE_COLUMN),
    ]
    values = outcome.blocks[1][3]
    _, record_col = FileBook(after).names()[L.RECORD_NAME][1:]
    width = record_col - L.STATE_COLUMN + len(L.REPORT_COLUMNS)
    assert (len(values), len(values[0])) == (1 + L.FINDINGS_CAPACITY, width)


# ---------------------------------------------------------------------------
# a generated 200-indicator plan
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def genplan():
    return load_genplan()


def test_generated_plan_write_blocks_are_few(genplan, tmp_path):
    plan = genplan.generated_plan(200)
    scope = L.Scope(plan, unit="測試單位")
    book = FileBook(write_template(scope, tmp_path / "t200.xlsx"))
    entries = {p.id: genplan.generated_entries(plan, p.id) for p in plan.periods}
    fill(book, scope, entries)
    outcome = calculate(book, plans=[plan], now=T1)
    assert outcome.findings == []
    sheetnames = book.sheet_names()
    assert len(sheetnames) == 206
    _assert_blocks_bounded(outcome, sheetnames)
    assert len(outcome.blocks) == 2  # the metadata; calculate's record and report (issue 22)
    assert {b[0] for b in outcome.blocks} == {L.SHEET_META}
    names = book.names()
    ev = evaluate(plan, entries)
    mine = {(r.indicator, r.period): r for r in outcome.evaluation.results}
    for r in ev.results[::23]:
        assert mine[(r.indicator, r.period)].sentence == r.sentence
        assert mine[(r.indicator, r.period)].cells["status"] == "無誤"
        sheet, row, col = names[f"CALC_{r.indicator}_{r.period}"]
        assert book.grid(sheet)[row - 1][col - 1] == "無誤"


def test_more_findings_than_the_table_holds(genplan, tmp_path):
    plan = genplan.generated_plan(80, 8)
    scope = L.Scope(plan)
    path = write_template(scope, tmp_path / "t80.xlsx")
    book = FileBook(path)
    fill(
        book,
        scope,
        {p.id: {i.id: {s.role: "x" for s in i.inputs} for i in plan.indicators} for p in plan.periods},
    )
    outcome = calculate(book, plans=[plan])
    book.save()
    n = len(outcome.findings)
    assert n == 2 * sum(len(i.inputs) for i in plan.indicators) > L.FINDINGS_CAPACITY
    assert {f.code for f in outcome.findings} == {"text"}
    _assert_blocks_bounded(outcome, book.sheet_names())
    rows = findings_table(path)
    assert len(rows) == L.FINDINGS_CAPACITY
    assert rows[-2][0] == str(L.FINDINGS_CAPACITY - 1)
    rest = n - (L.FINDINGS_CAPACITY - 1)
    assert rows[-1] == (
        "…",
        "",
        f"另有 {rest} 項未列出，請先修正上列問題",
        "",
        "",
        "",
        f"{rest} more not shown",
        "",
    )
    assert status_line(path).endswith(f"計算：錯誤 {n} 項、警告 0 項。請依「檢核結果」修正後再計算。")


def test_sample_entries_helper_matches_the_plan(plan):
    # guard for seed_entries(): the sample is the 106 上半年 counts of the plan text
    assert seed_entries(plan) == {"H1": dict(sample_entries(plan)["H1"])}
