"""A second agency's plan, written for these tests: a county fire bureau (消防局), not the seed.

It has a staged milestone, a lower-is-better running count projected mid-year, a
lower-is-better ratio, a growth rate assessed only at year end, and a ratio whose
numerator may exceed its denominator (households fitted with alarms against a
target count).  Every expected value below was computed by hand from the entries.

The LibreOffice part builds the workbook, calculates it, then changes inputs the
way staff do without pressing 計算 and recalculates in LibreOffice: every shown
cell must still be true (the analysis follows the inputs, 檢核 says the data changed).
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from helpers_workbook import Values, build_filled, recalc_all

from kpi_engine import evaluate, parse_plan
from workbook import libreoffice as lo
from workbook.books.file import FileBook
from workbook.form import layout as L

FIRE_PLAN = """\
id: hsinchu_fire_108
agency: 新竹縣政府消防局
year: 108
title: 新竹縣政府消防局 108 年度施政計畫
periods:
  - {id: H1, name: 上半年, start: "01-01", end: "06-30"}
  - {id: FY, name: 全年度, start: "01-01", end: "12-31"}
goals:
  - id: G1
    number: 一
    name: 強化緊急救護及救災效能
    weight: 45
    indicators:
      - id: dispatch_system
        number: 一
        name: 智慧救災指揮派遣系統建置進度
        weight: 15
        system: 1
        method: 專案管考
        formula: 依完成階段計算完成度
        kind: milestone
        polarity: higher
        target: 70%
        previous_target: 40%
        owner: 救災救護指揮中心
        inputs:
          stage: {label: 已完成階段, unit: 階段, cumulative: true}
        stages:
          - {label: 完成需求訪談, percent: 20}
          - {label: 完成系統設計, percent: 40}
          - {label: 完成系統建置, percent: 70}
          - {label: 完成教育訓練及上線, percent: 100}
      - id: ambulance_late_rate
        number: 二
        name: 救護車出勤逾時率
        weight: 15
        system: 1
        method: 統計數據
        formula: 逾時出勤件數/救護出勤總件數*100%
        kind: ratio
        polarity: lower
        target: ≤3%
        previous_target: ≤3.5%
        owner: 救災救護指揮中心
        inputs:
          numerator: {label: 逾時出勤件數, unit: 件}
          denominator: {label: 救護出勤總件數, unit: 件}
      - id: fire_deaths
        number: 三
        name: 住宅火災死亡人數
        weight: 15
        system: 1
        method: 統計數據
        formula: 每年住宅火災死亡人數
        kind: count
        polarity: lower
        target: ≤6
        previous_target: ≤7
        owner: 火災調查科
        inputs:
          count: {label: 住宅火災死亡人數, unit: 人, cumulative: true}
  - id: G2
    number: 二
    name: 深化防火宣導，提升居家安全
    weight: 30
    indicators:
      - id: outreach_growth
        number: 一
        name: 防火宣導參與人次成長率
        weight: 15
        system: 1
        method: 統計數據
        formula: (今年參與人次-去年參與人次)/去年參與人次*100%
        kind: growth
        polarity: higher
        target: 5%
        previous_target: 4%
        owner: 火災預防科
        assessed_in: [FY]
        inputs:
          current: {label: 今年防火宣導參與人次, unit: 人次, cumulative: false}
          previous: {label: 去年防火宣導參與人次, unit: 人次, cumulative: false}
      - id: alarm_households
        number: 二
        name: 住宅用火災警報器設置達成率
        weight: 15
        system: 1
        method: 統計數據
        formula: 已設置戶數/年度目標戶數*100%
        kind: ratio
        polarity: higher
        target: 100%
        previous_target: 100%
        owner: 火災預防科
        numerator_in_denominator: false
        inputs:
          numerator: {label: 已設置戶數, unit: 戶}
          denominator: {label: 年度目標戶數, unit: 戶}
"""

ENTRIES = {
    "H1": {
        "dispatch_system": {"stage": 2},
        "ambulance_late_rate": {"numerator": 37, "denominator": 1520},
        "fire_deaths": {"count": 4},
        "outreach_growth": {"current": 12000, "previous": 11500},  # not assessed at mid-year
        "alarm_households": {"numerator": 8350, "denominator": 10000},
    },
    "FY": {
        "dispatch_system": {"stage": 4},
        "ambulance_late_rate": {"numerator": 80, "denominator": 3000},
        "fire_deaths": {"count": 7},
        "outreach_growth": {"current": 24000, "previous": 23000},
        "alarm_households": {"numerator": 10350, "denominator": 10000},
    },
}

#: (indicator, period) → (value, projection, 達成情形, 達成率, light, sentence), all by hand.
EXPECTED = {
    # stage 2 = 40%; 40 × 100 / 70 = 57.142… → 57.14, red.
    ("dispatch_system", "H1"): (
        D("40"),
        None,
        "未達成",
        D("57.14"),
        "red",
        "截至6月30日止，已達第2階段「完成系統設計」，完成度40%，未達原訂目標值，達成率57.14%。",
    ),
    ("dispatch_system", "FY"): (
        D("100"),
        None,
        "達成",
        D("100"),
        "green",
        "截至12月31日止，已達第4階段「完成教育訓練及上線」，完成度100%，達原訂目標值，達成率100%。",
    ),
    # 37 / 1,520 = 2.434… % → 2.43 ≤ 3: met.
    ("ambulance_late_rate", "H1"): (
        D("2.43"),
        None,
        "達成",
        D("100"),
        "green",
        "截至6月30日止，救護出勤總件數1,520件，逾時出勤件數37件，救護車出勤逾時率2.43%(37件/1,520件)，"
        "達原訂目標值，達成率100%。",
    ),
    # 80 / 3,000 = 2.666… % → 2.67 ≤ 3: met.
    ("ambulance_late_rate", "FY"): (
        D("2.67"),
        None,
        "達成",
        D("100"),
        "green",
        "截至12月31日止，救護出勤總件數3,000件，逾時出勤件數80件，救護車出勤逾時率2.67%(80件/3,000件)，"
        "達原訂目標值，達成率100%。",
    ),
    # 2019: 181 of 365 days; 4 × 365 / 181 = 8.066… → 8 人 > 6: behind; 6 × 100 / 8 = 75, red.
    ("fire_deaths", "H1"): (
        D("4"),
        D("8"),
        "進度落後",
        D("75"),
        "red",
        "截至6月30日止共計4人，進度落後，推估全年度約8人，"
        "依目前進度推估全年度未能達成原訂目標值，達成率75%。",
    ),
    # 7 > 6: not met; 6 × 100 / 7 = 85.714… → 85.71, red.
    ("fire_deaths", "FY"): (
        D("7"),
        None,
        "未達成",
        D("85.71"),
        "red",
        "截至12月31日止共計7人，未達原訂目標值，達成率85.71%。",
    ),
    ("outreach_growth", "H1"): (None, None, "", None, "white", "本指標於全年度評估。"),
    # (24,000 − 23,000) / 23,000 = 4.347… % → 4.35 < 5; 4.35 × 100 / 5 = 87, red.
    ("outreach_growth", "FY"): (
        D("4.35"),
        None,
        "未達成",
        D("87"),
        "red",
        "截至12月31日止，今年防火宣導參與人次24,000人次，去年防火宣導參與人次23,000人次，"
        "防火宣導參與人次成長率4.35%，未達原訂目標值，達成率87%。",
    ),
    # 8,350 / 10,000 = 83.5% → rate 83.5, red.
    ("alarm_households", "H1"): (
        D("83.5"),
        None,
        "未達成",
        D("83.5"),
        "red",
        "截至6月30日止，年度目標戶數10,000戶，已設置戶數8,350戶，住宅用火災警報器設置達成率83.5%"
        "(8,350戶/10,000戶)，未達原訂目標值，達成率83.5%。",
    ),
    # 10,350 / 10,000 = 103.5% (more households than the target: no error here) → capped 100.
    ("alarm_households", "FY"): (
        D("103.5"),
        None,
        "達成",
        D("100"),
        "green",
        "截至12月31日止，年度目標戶數10,000戶，已設置戶數10,350戶，住宅用火災警報器設置達成率103.5%"
        "(10,350戶/10,000戶)，達原訂目標值，達成率100%。",
    ),
}
LIGHTS = {"green": "綠燈", "yellow": "黃燈", "red": "紅燈", "white": "白燈"}


@pytest.fixture(scope="module")
def fire_plan():
    return parse_plan(FIRE_PLAN, source="fire.yaml")


@pytest.fixture(scope="module")
def fire_eval(fire_plan):
    return evaluate(fire_plan, ENTRIES)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_hand_computed_results(fire_eval, key):
    value, projection, achieved, rate, light, sentence = EXPECTED[key]
    r = fire_eval.result(*key)
    assert (r.value, r.projection, r.cells["achieved"], r.achievement_rate, r.light) == (
        value,
        projection,
        achieved,
        rate,
        light,
    )
    assert r.sentence == sentence


def test_only_the_not_assessed_period_and_nothing_else_is_blank(fire_eval):
    assert not fire_eval.has_errors  # 10,350 of 10,000 households is allowed by the plan
    r = fire_eval.result("fire_deaths", "H1")
    assert r.at_risk is True and r.achieved is None


def test_the_same_ratio_is_an_error_where_the_numerator_is_part_of_the_denominator(fire_plan):
    ev = evaluate(fire_plan, {"H1": {"ambulance_late_rate": {"numerator": 1600, "denominator": 1520}}})
    r = ev.result("ambulance_late_rate", "H1")
    assert [f.code for f in ev.findings] == ["numerator_gt_denominator"]
    assert (r.value, r.achievement_rate, r.light, r.cells["achieved"]) == (None, None, "white", "資料有誤")
    assert r.sentence == "截至6月30日止，填報數據有誤，未能評估。"


@pytest.mark.parametrize(
    ("indicator", "raw", "codes"),
    [
        ("fire_deaths", {"count": -3}, ["negative"]),
        ("fire_deaths", {"count": 9.5}, ["non_integer"]),
        ("fire_deaths", {"count": True}, ["boolean"]),
        ("dispatch_system", {"stage": 5}, ["stage_out_of_range"]),
        ("ambulance_late_rate", {"numerator": "約37件", "denominator": 1520}, ["text"]),
    ],
)
def test_invalid_inputs_show_nothing(fire_plan, indicator, raw, codes):
    ev = evaluate(fire_plan, {"FY": {indicator: raw}})
    r = ev.result(indicator, "FY")
    assert [f.code for f in ev.findings] == codes
    assert (r.value, r.achievement_rate, r.light, r.achieved) == (None, None, "white", None)
    assert r.cells["status"] == "資料有誤 1 項"
    assert "填報數據有誤" in r.sentence


# ---------------------------------------------------------------------------
# LibreOffice: the workbook shows the hand-computed values, and stays true when inputs change
# ---------------------------------------------------------------------------

#: Changed after calculate, without calculating again: a valid change and an invalid one.
CHANGED = {
    ("fire_deaths", "H1", "count"): 2,  # 2 × 365 / 181 = 4.03 → 4 ≤ 6: 符合進度, green
    ("ambulance_late_rate", "FY", "numerator"): 3100,  # > 3,000: an error now
}


@pytest.fixture(scope="module")
def fire_books(fire_plan, tmp_path_factory):
    soffice = lo.require_soffice()
    folder = tmp_path_factory.mktemp("fire")
    scope = L.Scope(fire_plan, unit="新竹縣政府消防局")
    path, outcome = build_filled(scope, ENTRIES, folder / "fire.xlsx", run_calculate=True)
    changed = folder / "fire_changed.xlsx"
    changed.write_bytes(path.read_bytes())
    book = FileBook(changed)
    names = book.names()
    for (ind_id, period_id, role), value in CHANGED.items():
        name = L.input_name(fire_plan.indicator(ind_id), fire_plan.period(period_id), role)
        sheet, row, col = names[name]
        book.write(sheet, row, col, [[value]])
    book.save()
    done = recalc_all([path, changed], soffice)
    return {"scope": scope, "outcome": outcome, "lo": Values(done[path]), "changed": Values(done[changed])}


def _shown(values: Values, plan, ind_id: str, period_id: str, step: str):
    return values.named(L.step_name(plan.indicator(ind_id), plan.period(period_id), step))


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_libreoffice_shows_the_hand_computed_values(fire_plan, fire_books, key):
    value, projection, achieved, rate, light, sentence = EXPECTED[key]
    lo_values = fire_books["lo"]
    got = {step: _shown(lo_values, fire_plan, *key, step) for step in ("value", "achieved", "rate", "light")}
    assert got["value"] in (None, "") if value is None else got["value"] == pytest.approx(float(value))
    assert got["rate"] in (None, "") if rate is None else got["rate"] == pytest.approx(float(rate))
    assert (got["achieved"] or "") == achieved
    assert got["light"] == LIGHTS[light]
    assert _shown(lo_values, fire_plan, *key, "sentence") == sentence
    if projection is not None:
        assert _shown(lo_values, fire_plan, *key, "projection") == pytest.approx(float(projection))
    status = _shown(lo_values, fire_plan, *key, "status")
    assert status == ("本期不評估" if key == ("outreach_growth", "H1") else "無誤")


def test_changed_without_calculate_every_shown_cell_is_still_true(fire_plan, fire_books):
    """No 計算 after the change: results and analysis follow the inputs, 檢核 flags the change."""
    v = fire_books["changed"]
    entries = {p: {i: dict(raw) for i, raw in by.items()} for p, by in ENTRIES.items()}
    for (ind_id, period_id, role), value in CHANGED.items():
        entries[period_id][ind_id][role] = value
    ev = evaluate(fire_plan, entries, cells=True)
    for r in ev.results:
        ind, p = fire_plan.indicator(r.indicator), fire_plan.period(r.period)
        assert v.named(L.sentence_name(ind, p)) == r.sentence, (r.indicator, r.period)
        assert v.named(L.result_name(ind, p, "light")) == LIGHTS[r.light]
    deaths = ev.result("fire_deaths", "H1")
    assert deaths.sentence == (
        "截至6月30日止共計2人，符合進度，推估全年度約4人，依目前進度推估全年度可達成目標，達成率100%。"
    )
    assert _shown(v, fire_plan, "fire_deaths", "H1", "status") == "數據已變更，請重新計算"
    assert _shown(v, fire_plan, "fire_deaths", "H1", "light") == "綠燈"
    late = ("ambulance_late_rate", "FY")
    assert _shown(v, fire_plan, *late, "status") == "資料有誤 1 項"
    assert _shown(v, fire_plan, *late, "light") == "白燈"
    assert _shown(v, fire_plan, *late, "value") in (None, "")
    assert _shown(v, fire_plan, *late, "sentence") == "截至12月31日止，填報數據有誤，未能評估。"
    # Unchanged indicators still say what calculate found.
    assert _shown(v, fire_plan, "dispatch_system", "H1", "status") == "無誤"


def test_collect_reads_the_libreoffice_copy_without_false_tampering(fire_plan, fire_books):
    pytest.importorskip("python_calamine")
    from workbook.books.calamine import CalamineBook
    from workbook.form.calculate import calculate

    path: Path = fire_books["lo"].path
    outcome = calculate(CalamineBook(path.read_bytes(), path.name), plans=[fire_plan], write=False)
    assert outcome.state == "current"
    assert [f.code for f in outcome.findings if f.code in ("tampered", "result_mismatch")] == []
    changed: Path = fire_books["changed"].path
    outcome = calculate(CalamineBook(changed.read_bytes(), changed.name), plans=[fire_plan], write=False)
    assert outcome.state == "stale"
    assert [f.code for f in outcome.findings if f.code in ("tampered", "result_mismatch")] == []
