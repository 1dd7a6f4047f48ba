"""Hand-checked results of every kind, polarity, rounding edge, cap and light.

Every expected number below was worked out by hand; the working is in the comment
next to it.  Plans are tiny YAML files built by :mod:`plan_factory`.  Unless a test
says otherwise the period is 全年度 (FY), so no year-end projection is involved,
decimals are 2, the cap is 100 and the lights are green ≥ 100, yellow ≥ 90.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from plan_factory import indicator, make_plan

from kpi_engine import evaluate
from kpi_engine.expr import Ref, to_excel
from kpi_engine.measures import EN_LABELS, computation

D = Decimal


def one(ind: dict, entry: dict, *, period: str = "FY", year: int | None = None, options: dict | None = None):
    """Evaluate a single indicator in a one-indicator plan; returns (result, evaluation)."""
    plan = make_plan(ind, options=options)
    ev = evaluate(plan, {period: {ind["id"]: entry}}, year=year)
    return ev.result(ind["id"], period), ev


# ---------------------------------------------------------------------------
# every kind × every polarity
# ---------------------------------------------------------------------------

# fmt: off
KIND_POLARITY_CASES = [
    # (id, kind, target, polarity, entry, value, achieved, rate, light)
    # ratio, higher: 187×100/210 = 89.047… → 89.05 ≥ 80; 89.05×100/80 = 111.3 → capped 100.
    ("r_hi_met", "ratio", "80%", "higher", {"numerator": 187, "denominator": 210}, "89.05", True, "100", "green"),
    # ratio, higher: 89.05 < 95; 89.05×100/95 = 93.736… → 93.74 (≥ 90: yellow).
    ("r_hi_miss", "ratio", "95%", "higher", {"numerator": 187, "denominator": 210}, "89.05", False, "93.74", "yellow"),
    # ratio, lower: 48×100/643 = 7.465… → 7.47 ≤ 11.5, met → 100.
    ("r_lo_met", "ratio", "11.5%", "lower", {"numerator": 48, "denominator": 643}, "7.47", True, "100", "green"),
    # ratio, lower, missed: 30×100/200 = 15 > 11.5; target/actual = 11.5×100/15 = 76.666… → 76.67.
    ("r_lo_miss", "ratio", "11.5%", "lower", {"numerator": 30, "denominator": 200}, "15", False, "76.67", "red"),
    # growth, higher: (1075−1000)×100/1000 = 7.5 < 8; 7.5×100/8 = 93.75 → yellow.
    ("g_hi_miss", "growth", "8%", "higher", {"current": 1075, "previous": 1000}, "7.5", False, "93.75", "yellow"),
    # growth, higher: (108−100)×100/100 = 8 ≥ 8; 8×100/8 = 100.
    ("g_hi_met", "growth", "8%", "higher", {"current": 108, "previous": 100}, "8", True, "100", "green"),
    # growth, lower (e.g. spending growth ≤5%): (1100−1000)×100/1000 = 10 > 5; 5×100/10 = 50.
    ("g_lo_miss", "growth", "≤5%", "lower", {"current": 1100, "previous": 1000}, "10", False, "50", "red"),
    # growth, lower: (900−1000)×100/1000 = −10 ≤ 5, met → 100.
    ("g_lo_met", "growth", "≤5%", "lower", {"current": 900, "previous": 1000}, "-10", True, "100", "green"),
    # count, higher (e.g. ≥40 sessions): 36 < 40; 36×100/40 = 90 → exactly the yellow threshold.
    ("c_hi_miss", "count", "40", "higher", {"count": 36}, "36", False, "90", "yellow"),
    # count, lower: 150 > 120; 120×100/150 = 80 → red.
    ("c_lo_miss", "count", "≤120", "lower", {"count": 150}, "150", False, "80", "red"),
    # count, lower: 120 ≤ 120, met → 100.
    ("c_lo_met", "count", "≤120", "lower", {"count": 120}, "120", True, "100", "green"),
    # milestone, higher: stage 3 of 25/50/75/100 → 75 < 100; 75×100/100 = 75 → red.
    ("m_hi_miss", "milestone", "100%", "higher", {"stage": 3}, "75", False, "75", "red"),
    # milestone, higher: stage 3 → 75 ≥ 75, met → 100.
    ("m_hi_met", "milestone", "75%", "higher", {"stage": 3}, "75", True, "100", "green"),
    # milestone, lower: stage 3 → 75 > 50; 50×100/75 = 66.666… → 66.67.
    ("m_lo_miss", "milestone", "≤50%", "lower", {"stage": 3}, "75", False, "66.67", "red"),
    # milestone, lower: stage 1 → 25 ≤ 50, met → 100.
    ("m_lo_met", "milestone", "≤50%", "lower", {"stage": 1}, "25", True, "100", "green"),
]
# fmt: on


@pytest.mark.parametrize(
    ("id", "kind", "target", "polarity", "entry", "value", "achieved", "rate", "light"),
    KIND_POLARITY_CASES,
    ids=[c[0] for c in KIND_POLARITY_CASES],
)
def test_kind_and_polarity(id, kind, target, polarity, entry, value, achieved, rate, light):
    r, ev = one(indicator(id, kind, target, polarity=polarity), entry)
    assert r.value == D(value)
    assert r.achieved is achieved
    assert r.achievement_rate == D(rate)
    assert r.light == light
    assert r.projection is None and r.at_risk is None  # FY: nothing to project
    assert ev.findings == []


def test_ratio_sentence_uses_plan_labels():
    r, _ = one(indicator("r", "ratio", "95%"), {"numerator": 187, "denominator": 210})
    assert r.sentence == (
        "截至12月31日止，r.denominator210件，r.numerator187件，"
        "指標r89.05%(187件/210件)，未達原訂目標值，達成率93.74%。"
    )


def test_milestone_sentence_names_the_stage():
    r, _ = one(indicator("m", "milestone", "100%"), {"stage": 2})
    assert r.sentence == "截至12月31日止，已達第2階段「完成招標」，完成度50%，未達原訂目標值，達成率50%。"


def test_milestone_stage_zero_and_out_of_range():
    # Stage 0: not started → 0%, rate 0.
    r, ev = one(indicator("m", "milestone", "100%"), {"stage": 0})
    assert (r.value, r.achievement_rate, r.light) == (0, 0, "red")
    assert "「尚未開始」" in r.sentence
    # Stage 5 of 4: no such stage → blank, white, and an error finding.
    r, ev = one(indicator("m", "milestone", "100%"), {"stage": 5})
    assert (r.value, r.achievement_rate, r.light) == (None, None, "white")
    [f] = ev.findings
    assert (f.code, f.severity, f.input) == ("stage_out_of_range", "error", "stage")
    assert f.message_zh == "m.stage須為 0 至 4 的階段編號：5"


# ---------------------------------------------------------------------------
# rounding: half away from zero, like Excel's ROUND
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "decimals", "shown"),
    [
        (1, 8, 0, "13"),  # 1×100/8 = 12.5 → 13 (Python's round(12.5) gives 12)
        (3, 8, 0, "38"),  # 37.5 → 38
        (1, 16, 1, "6.3"),  # 1×100/16 = 6.25 → 6.3 (round(6.25, 1) gives 6.2)
        (1, 800, 2, "0.13"),  # 1×100/800 = 0.125 → 0.13
        (17809, 20000, 2, "89.05"),  # 1780900/20000 = 89.045 exactly → 89.05
        # 1×100/1600 = 0.0625: at 2 decimals the dropped digits are "25" (< half) → 0.06,
        # not 0.07; only at 3 decimals is it a half: 0.0625 → 0.063.
        (1, 1600, 2, "0.06"),
        (1, 1600, 3, "0.063"),
        (2, 3, 2, "66.67"),  # 66.666… → 66.67
        (1, 3, 2, "33.33"),  # 33.333… → 33.33
    ],
)
def test_ratio_rounds_half_up(numerator, denominator, decimals, shown):
    r, _ = one(
        indicator("r", "ratio", "50%"),
        {"numerator": numerator, "denominator": denominator},
        options={"decimals": decimals},
    )
    assert str(r.value) == shown  # exact digits, not just numeric equality


def test_negative_half_rounds_away_from_zero():
    # (7−8)×100/8 = −12.5 → Excel's ROUND(−12.5, 0) is −13, not −12.
    r, _ = one(indicator("g", "growth", "8%"), {"current": 7, "previous": 8}, options={"decimals": 0})
    assert str(r.value) == "-13"


def test_rate_rounds_half_up():
    # 1×100/2 = 50; 50×100/80 = 62.5 → 63 at 0 decimals.
    r, _ = one(indicator("r", "ratio", "80%"), {"numerator": 1, "denominator": 2}, options={"decimals": 0})
    assert (str(r.value), str(r.achievement_rate)) == ("50", "63")


# ---------------------------------------------------------------------------
# cap, lights
# ---------------------------------------------------------------------------


def test_cap_120_limits_far_above_target():
    # 90×100/100 = 90; 90×100/50 = 180 → capped at 120.
    r, _ = one(indicator("r", "ratio", "50%"), {"numerator": 90, "denominator": 100}, options={"cap": 120})
    assert (r.value, r.achieved, r.achievement_rate, r.light) == (90, True, 120, "green")


def test_cap_120_leaves_rates_below_it():
    # 55×100/50 = 110 ≤ 120: shown as is.
    r, _ = one(indicator("r", "ratio", "50%"), {"numerator": 55, "denominator": 100}, options={"cap": 120})
    assert r.achievement_rate == 110


def test_cap_default_100():
    r, _ = one(indicator("r", "ratio", "50%"), {"numerator": 90, "denominator": 100})
    assert r.achievement_rate == 100


def test_lower_is_better_met_is_100_even_with_cap_120():
    # Lower-is-better: met means 100 (README), whatever the cap; 5 ≤ 10.
    r, _ = one(indicator("c", "count", "≤10"), {"count": 5}, options={"cap": 120})
    assert r.achievement_rate == 100


@pytest.mark.parametrize(
    ("count", "rate", "light"),
    [
        (10000, "100", "green"),  # 10000×100/10000 = 100
        (9000, "90", "yellow"),  # 90: the yellow threshold itself
        (8999, "89.99", "red"),  # 89.99 just under it
        (0, "0", "red"),
        (None, None, "white"),  # nothing entered yet
    ],
)
def test_default_lights(count, rate, light):
    r, _ = one(indicator("c", "count", "10000"), {"count": count})
    assert r.achievement_rate == (None if rate is None else D(rate))
    assert r.light == light


@pytest.mark.parametrize(
    ("count", "light"),
    [(100, "green"), (95, "green"), (94, "yellow"), (80, "yellow"), (79, "red"), (None, "white")],
)
def test_custom_light_thresholds(count, light):
    # Plan lights green ≥ 95, yellow ≥ 80: count×100/100 is the rate itself.
    r, _ = one(
        indicator("c", "count", "100"), {"count": count}, options={"lights": {"green": 95, "yellow": 80}}
    )
    assert r.light == light


def test_light_labels_in_english():
    plan = make_plan(indicator("c", "count", "100"))
    ev = evaluate(plan, {"FY": {"c": {"count": 95}}}, labels=EN_LABELS)
    r = ev.result("c", "FY")
    assert r.cells["light"] == "Yellow" and r.light == "yellow"
    assert r.cells["achieved"] == "Not met" and r.achieved is False


# ---------------------------------------------------------------------------
# blanks, zero denominators, negative growth, zero and strict targets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("numerator", [0, 5])
def test_zero_denominator(numerator):
    r, ev = one(indicator("r", "ratio", "80%"), {"numerator": numerator, "denominator": 0})
    assert r.value is None
    assert r.achievement_rate is None and r.achieved is None
    assert r.light == "white"
    assert r.cells["achieved"] == "資料有誤" and r.cells["errors"] == 1
    assert r.sentence == "截至12月31日止，填報數據有誤，未能評估。"
    # Only the zero denominator is reported: "5 exceeds 0" would blame the wrong cell.
    assert [(f.code, f.severity, f.indicator, f.input, f.period) for f in ev.findings] == [
        ("zero_denominator", "error", "r", "denominator", "FY")
    ]
    assert ev.findings[0].message_zh == "r.denominator為 0，比率無法計算"
    assert ev.findings[0].message_en == "r.denominator is 0, so the ratio cannot be computed"


def test_growth_zero_previous():
    r, ev = one(indicator("g", "growth", "8%"), {"current": 10, "previous": 0})
    assert (r.value, r.light) == (None, "white")
    [f] = ev.findings
    assert (f.code, f.severity, f.input) == ("zero_denominator", "error", "previous")
    assert f.message_zh == "g.previous為 0，比率無法計算"


def test_growth_negative_rate_clamps_to_zero():
    # (90−100)×100/100 = −10; −10×100/8 = −125 → clamped to 0.
    r, ev = one(indicator("g", "growth", "8%"), {"current": 90, "previous": 100})
    assert r.value == -10
    assert r.achievement_rate == 0
    assert (r.achieved, r.light) == (False, "red")
    assert r.sentence == (
        "截至12月31日止，g.current90件，g.previous100件，指標g-10%，未達原訂目標值，達成率0%。"
    )
    assert ev.findings == []  # a fall in numbers is a result, not a data error


@pytest.mark.parametrize(
    ("current", "value", "achieved", "rate"),
    [
        (100, "0", True, "100"),  # 0% growth meets a 0% target
        (150, "50", True, "100"),  # any growth meets it; 100, not the cap
        (99, "-1", False, "0"),  # a fall misses it: 0
    ],
)
def test_zero_target_higher_is_better(current, value, achieved, rate):
    # A target of 0% cannot be divided by: met → 100, missed → 0 (cap 120 does not apply).
    r, _ = one(indicator("g", "growth", "0%"), {"current": current, "previous": 100}, options={"cap": 120})
    assert (r.value, r.achieved, r.achievement_rate) == (D(value), achieved, D(rate))


def test_strict_zero_target_higher_is_better():
    # ">0%" needs real growth: 0% growth misses it, so the rate is 0, not 100.
    r, _ = one(indicator("g", "growth", ">0%"), {"current": 100, "previous": 100})
    assert (r.value, r.achieved, r.achievement_rate, r.light) == (0, False, 0, "red")


def test_lower_is_better_missing_the_target():
    # 23×100/100 = 23 > 11.5; target/actual×100 = 11.5×100/23 = 50.
    r, _ = one(indicator("r", "ratio", "11.5%", polarity="lower"), {"numerator": 23, "denominator": 100})
    assert (r.value, r.achieved, r.achievement_rate, r.light) == (23, False, 50, "red")


@pytest.mark.parametrize(
    ("count", "achieved", "rate", "light"),
    [
        (9, True, "100", "green"),  # 9 < 10: met
        # 10 < 10 is false: missed.  target/actual×100 = 100 exactly, but an unmet target
        # never shows 100 (that would light green beside 未達成): the rate stops at 99.99.
        (10, False, "99.99", "yellow"),
        (20, False, "50", "red"),  # 10×100/20 = 50
    ],
)
def test_strict_less_than_target(count, achieved, rate, light):
    r, _ = one(indicator("c", "count", "<10"), {"count": count})
    assert r.achieved is achieved
    assert r.achievement_rate == D(rate)
    assert r.light == light
    assert r.cells["achieved"] == ("達成" if achieved else "未達成")


def test_strict_greater_than_target():
    # 50×100/100 = 50, and 50 > 50 is false: missed, so not 100 and not green.
    r, _ = one(indicator("r", "ratio", ">50%"), {"numerator": 50, "denominator": 100})
    assert (r.achieved, r.achievement_rate, r.light) == (False, D("99.99"), "yellow")


def test_rounding_never_turns_a_miss_into_100():
    # 99999×100/100000 = 99.999, which ROUND(…, 2) would show as 100.00 → green beside 未達成.
    r, _ = one(indicator("c", "count", "100000"), {"count": 99999})
    assert (r.achieved, r.achievement_rate, r.light) == (False, D("99.99"), "yellow")
    # Lower-is-better: 100001 > 100000; 100000×100/100001 = 99.999… → likewise 99.99.
    r, _ = one(indicator("c", "count", "≤100000"), {"count": 100001})
    assert (r.achieved, r.achievement_rate, r.light) == (False, D("99.99"), "yellow")
    # At 0 decimals the largest rate under 100 is 99.
    r, _ = one(indicator("c", "count", "1000"), {"count": 999}, options={"decimals": 0})
    assert (r.achieved, r.achievement_rate, r.light) == (False, 99, "yellow")


# ---------------------------------------------------------------------------
# year-end projection of running counts
# ---------------------------------------------------------------------------


def test_projection_in_a_leap_year():
    # ROC 109 = 2020: 1/1–6/30 is 31+29+31+30+31+30 = 182 of 366 days.
    # 60×366/182 = 120.659… → 121 件 > 120: behind; 120×100/121 = 99.173… → 99.17.
    r, _ = one(indicator("c", "count", "≤120"), {"count": 60}, period="H1", year=109)
    assert r.projection == D("121")
    assert (
        r.achieved is None and r.cells["achieved"] == "進度落後"
    )  # 60 to date is within 120, the pace is not
    assert r.at_risk is True
    assert (r.achievement_rate, r.light) == (D("99.17"), "yellow")
    assert r.sentence == (
        "截至6月30日止共計60件，進度落後，推估全年度約121件，"
        "依目前進度推估全年度未能達成原訂目標值，達成率99.17%。"
    )


def test_projection_in_a_common_year():
    # ROC 107 = 2018: 181 of 365 days; 50×365/181 = 100.828… → 101 ≤ 120: on schedule.
    r, _ = one(indicator("c", "count", "≤120"), {"count": 50}, period="H1", year=107)
    assert (r.projection, r.at_risk, r.achievement_rate, r.light) == (D("101"), False, 100, "green")
    assert r.cells["achieved"] == "符合進度"


def test_higher_count_projection():
    # ≥40 sessions, 18 by 6/30 of 2018: 18×365/181 = 36.298… → 36; 36×100/40 = 90.
    r, _ = one(indicator("c", "count", "40"), {"count": 18}, period="H1", year=107)
    assert (r.projection, r.cells["achieved"], r.at_risk) == (D("36"), "進度落後", True)
    assert (r.achievement_rate, r.light) == (D("90"), "yellow")


def test_non_cumulative_count_is_not_projected():
    r, _ = one(indicator("c", "count", "≤120", cumulative=False), {"count": 60}, period="H1")
    assert r.projection is None and r.at_risk is None
    assert "projection" not in r.cells
    assert (r.achievement_rate, r.light) == (100, "green")


# ---------------------------------------------------------------------------
# weights and scores
# ---------------------------------------------------------------------------


def test_weight_warning_under_100():
    plan = make_plan(indicator("a", "count", "10", weight=10), indicator("b", "count", "10", weight=20))
    ev = evaluate(plan, {})
    assert ev.weight_warning() == {
        "code": "weights_under_100",
        "weight_total": 30,
        "message_zh": "本計畫指標權重合計 30%，其餘 70% 屬計畫外之共同性指標",
        "message_en": "indicator weights add up to 30%; the other 70% belongs to common indicators outside this plan",
    }
    assert ev.to_dict()["weight_warning"] == ev.weight_warning()


def test_no_weight_warning_at_100():
    plan = make_plan(indicator("a", "count", "10", weight=60), indicator("b", "count", "10", weight=40))
    ev = evaluate(plan, {})
    assert ev.weight_warning() is None
    assert ev.to_dict()["weight_warning"] is None


def test_weighted_score():
    # a: 10 ≥ 10 → 100; b: 5×100/10 = 50.  Score 60×100/100 + 40×50/100 = 60 + 20 = 80.
    plan = make_plan(indicator("a", "count", "10", weight=60), indicator("b", "count", "10", weight=40))
    ev = evaluate(plan, {"FY": {"a": {"count": 10}, "b": {"count": 5}}})
    [goal, whole] = ev.scores
    assert (goal.id, goal.weight, goal.assessed_weight, goal.score) == ("G1", 100, 100, 80)
    assert (whole.id, whole.score) == ("test_plan", 80)


def test_score_counts_only_assessed_indicators():
    # b has no data: only a's weight 60 is assessed; 60×100/100 = 60.
    plan = make_plan(indicator("a", "count", "10", weight=60), indicator("b", "count", "10", weight=40))
    ev = evaluate(plan, {"FY": {"a": {"count": 10}, "b": {"count": None}}})
    assert (ev.scores[0].assessed_weight, ev.scores[0].score) == (60, 60)


# ---------------------------------------------------------------------------
# one definition, two evaluators
# ---------------------------------------------------------------------------


def test_excel_formulas_of_a_ratio_indicator():
    plan = make_plan(indicator("r", "ratio", "83%"))
    comp = computation(plan.indicator("r"), plan.period("FY"), plan.options, roc_year=107)
    names = {"numerator": "R_N", "denominator": "R_D", "value": "R_V", "achieved": "R_A", "rate": "R_R"}
    names["errors"] = "R_E"
    shown = ("value", "achieved", "rate", "light")
    formulas = {step: to_excel(expr, names.__getitem__) for step, expr in comp.steps if step in shown}
    num_n, num_d = "AND(ISNUMBER(R_N),NOT(ISLOGICAL(R_N)))", "AND(ISNUMBER(R_D),NOT(ISLOGICAL(R_D)))"
    assert formulas == {
        "value": f'IF((R_E>0),"",IF(AND({num_n},{num_d}),IF((R_D=0),"",ROUND(((R_N*100)/R_D),2)),""))',
        "achieved": 'IF((R_E>0),"資料有誤",IF((R_V=""),"",IF((R_V>=83),"達成","未達成")))',
        "rate": 'IF((R_V=""),"",ROUND(MAX(0,MIN(IF((R_V>=83),100,99.99),((R_V*100)/83))),2))',
        "light": 'IF((R_R=""),"白燈",IF((R_R>=100),"綠燈",IF((R_R>=90),"黃燈","紅燈")))',
    }


def test_excel_formulas_of_a_lower_count_with_projection():
    plan = make_plan(indicator("c", "count", "≤120"))
    comp = computation(plan.indicator("c"), plan.period("H1"), plan.options, roc_year=107)
    formulas = {step: to_excel(expr, str.upper) for step, expr in comp.steps}
    assert formulas["projection"] == 'IF((VALUE=""),"",ROUND(((VALUE*365)/181),0))'
    assert formulas["rate"] == (
        'IF((PROJECTION=""),"",IF((PROJECTION<=120),100,'
        "ROUND(MAX(0,MIN(99.99,((MAX(120,0)*100)/PROJECTION))),2)))"
    )
    assert formulas["at_risk"] == 'IF((PROJECTION=""),"",IF((PROJECTION<=120),"否","是"))'


ALL_KINDS_PLAN = [
    indicator("r", "ratio", "83%", weight=20),
    indicator("f", "ratio", "11.5%", polarity="lower", weight=20),
    indicator("g", "growth", "8%", weight=20),
    indicator("c", "count", "≤120", weight=20),
    indicator("m", "milestone", "100%", weight=20),
]
ALL_KINDS_ENTRIES = {
    "H1": {
        "r": {"numerator": 187, "denominator": 210},
        "f": {"numerator": 48, "denominator": 643},
        "g": {"current": 1075, "previous": 1000},
        "c": {"count": 63},
        "m": {"stage": 2},
    },
    "FY": {
        "r": {"numerator": 1, "denominator": 8},
        "f": {"numerator": 30, "denominator": 0},
        "g": {"current": 90, "previous": 100},
        "c": {"count": None},
        "m": {"stage": 4},
    },
}


def test_computation_run_equals_evaluate():
    plan = make_plan(*ALL_KINDS_PLAN)
    ev = evaluate(plan, ALL_KINDS_ENTRIES)
    assert len(ev.results) == 10
    for r in ev.results:
        ind, period = plan.indicator(r.indicator), plan.period(r.period)
        comp = computation(ind, period, plan.options, roc_year=plan.year)
        cells = comp.run(dict(r.inputs))
        assert cells == r.cells
        assert (cells["value"] if cells["value"] != "" else None) == r.value
        assert (cells["rate"] if cells["rate"] != "" else None) == r.achievement_rate
        assert comp.labels.light_code(cells["light"]) == r.light


def test_evaluate_reports_zh_cells_as_the_workbook_shows_them():
    plan = make_plan(*ALL_KINDS_PLAN)
    ev = evaluate(plan, ALL_KINDS_ENTRIES)
    # H1 of 2018, 63 defects: 63×365/181 = 127.044… → 127 > 120 → behind;
    # 120×100/127 = 94.488… → 94.49, yellow.
    cells = ev.result("c", "H1").cells
    assert {
        k: cells[k] for k in ("errors", "value", "projection", "achieved", "rate", "light", "at_risk")
    } == {
        "errors": 0,
        "value": D("63.00"),
        "projection": D("127"),
        "achieved": "進度落後",
        "rate": D("94.49"),
        "light": "黃燈",
        "at_risk": "是",
    }
    assert cells["status"] == "尚未計算"  # never 「無誤」 before calculate has checked it
    assert ev.result("c", "FY").cells == {
        "errors": 0,
        "value": "",
        "achieved": "",
        "rate": "",
        "light": "白燈",
        "status": "尚未填寫",
        "sentence": "截至12月31日止，尚無資料，未能評估。",
    }


# ---------------------------------------------------------------------------
# the sentence and the checks as formulas: Excel's limits, TEXT
# ---------------------------------------------------------------------------


def _depth(e) -> int:
    """Function-call nesting depth of an expression (Excel allows 64)."""
    from kpi_engine import expr as X

    if isinstance(e, X.Call):
        return 1 + max((_depth(a) for a in e.args), default=0)
    if isinstance(e, X.Bin):
        return max(_depth(e.left), _depth(e.right))
    return 0


def test_a_long_sentence_splits_its_literals_and_stays_within_excel_limits():
    long_phrase = "本項指標係依據年度計畫辦理，" * 30  # 420 characters of literal text
    ind = indicator("r", "ratio", "83%", sentence=long_phrase + "{name}{value}%，{verdict}，達成率{rate}%。")
    plan = make_plan(ind)
    comp = computation(plan.indicator("r"), plan.period("FY"), plan.options, roc_year=107)
    long_name = "IN_a_rather_long_indicator_identifier_of_sixty_characters_FY_numerator"
    for step, e in comp.steps:
        text = to_excel(e, lambda n: long_name)
        assert len(text) < 8192, step  # Excel's formula length limit
        assert _depth(e) < 64, step
        literals = [part for part in text.split('"')[1::2]]
        assert all(len(lit) <= 255 for lit in literals), step  # Excel's text literal limit
    r, _ = one(ind, {"numerator": 187, "denominator": 210})
    assert r.sentence == long_phrase + "指標r89.05%，達原訂目標值，達成率100%。"


@pytest.mark.parametrize(
    ("value", "fmt", "text"),
    [
        ("1234567.5", "#,##0.##", "1,234,567.5"),
        ("1234567.5", "#,##0", "1,234,568"),
        ("89.05", "#,##0.##", "89.05"),
        ("-5.5", "#,##0.##", "-5.5"),
        ("2.5", "0", "3"),  # half away from zero, as Excel's TEXT
        ("0.125", "#,##0.##", "0.13"),
        ("100", "#,##0.##", "100."),  # as Excel: why whole numbers take "#,##0"
    ],
)
def test_text_formats_as_excel(value, fmt, text):
    from kpi_engine.expr import excel_text

    assert excel_text(Decimal(value), fmt) == text


@pytest.mark.parametrize("value", ["0", "3", "1234567", "89.05", "7.5", "-12.25", "100", "0.5"])
def test_number_expr_prints_as_number_text(value):
    from kpi_engine.expr import evaluate as run
    from kpi_engine.narrative import number_expr, number_text

    assert run(number_expr(Ref("x"), 2), {"x": Decimal(value)}) == number_text(Decimal(value))


def test_a_boolean_is_no_number_in_the_checks():
    r, ev = one(indicator("c", "count", "4", polarity="higher", cumulative=False), {"count": True})
    assert [f.code for f in ev.findings] == ["boolean"]
    assert (r.value, r.light, r.cells["errors"], r.cells["status"]) == (None, "white", 1, "資料有誤 1 項")


def test_an_error_only_calculate_can_see_holds_while_the_inputs_are_unchanged():
    """A date typed into a count is its serial (43281) to every formula; calculate's record
    says it found a date, and while the inputs equal its snapshot nothing is computed."""
    from kpi_engine.measures import CALC_REF, HELD_MARK, SNAP_PREFIX

    plan = make_plan(indicator("c", "count", "≤120"))
    entries = {"FY": {"c": {"count": 43281}}}

    def run(calc: str, snap: object):
        state = {("c", "FY"): {CALC_REF: calc, SNAP_PREFIX + "count": snap}}
        (r,) = evaluate(plan, entries, year=107, cells=True, state=state).results  # type: ignore[arg-type]
        return r.cells

    held = run(HELD_MARK + "錯誤 1 項、警告 0 項（見檢核結果）", 43281)
    assert (held["errors"], held["value"], held["light"]) == (1, "", "白燈")
    assert "43,281" not in held["sentence"] and "資料有誤" in held["status"]
    assert run(HELD_MARK + "錯誤 1 項", 63)["value"] == 43281  # changed since: the formulas judge again
    assert run("錯誤 0 項、警告 0 項", 43281)["value"] == 43281  # no mark: nothing held


def test_compiled_steps_compute_what_the_tree_says():
    """The functions the engine runs (``expr_compile.compile_step``) against the tree walked
    node by node (``evaluate``), for every step of every kind, on inputs of every cell type:
    numbers, text, booleans, blanks, error values, dates' serials and calculate's record.
    Identical means the same type and the same digits (``Decimal('1')`` is not ``'1.0'``)."""
    import random

    from kpi_engine.expr import CellError, ExprError, decimal_context
    from kpi_engine.expr import evaluate as walk
    from kpi_engine.expr_compile import compile_step
    from kpi_engine.measures import CALC_REF, HELD_MARK, SNAP_PREFIX

    plan = make_plan(*ALL_KINDS_PLAN)
    rng = random.Random(7)
    pool = [None, "", " ", "abc", "187", True, False, CellError("#N/A"), Decimal(0), Decimal(-3)]
    pool += [Decimal("12.5"), Decimal(43281), Decimal(10**12), Decimal(187), Decimal(210), Decimal(3)]
    compared = 0
    for ind in plan.indicators:
        for period in plan.periods:
            comp = computation(ind, period, plan.options, roc_year=107)
            for _ in range(60):
                env = {spec.role: rng.choice(pool) for spec in ind.inputs}
                snap = rng.random() < 0.5
                env |= {
                    SNAP_PREFIX + spec.role: env[spec.role] if snap else rng.choice(pool)
                    for spec in ind.inputs
                }
                env[CALC_REF] = rng.choice([None, "無誤", HELD_MARK + "錯誤 1 項"])
                walked, ran = dict(env), dict(env)
                for name, expr in comp.steps:
                    with decimal_context():
                        try:
                            want: object = walk(expr, walked)
                        except ExprError:
                            want = ExprError
                        try:
                            got: object = compile_step(expr)(ran)
                        except ExprError:
                            got = ExprError
                    assert (type(got), repr(got)) == (type(want), repr(want)), (ind.id, period.id, name, env)
                    if want is ExprError:
                        break
                    walked[name] = ran[name] = want  # type: ignore[assignment]
                    compared += 1
    assert compared > 2000


# ---------------------------------------------------------------------------
# average and stock (issue 20), and what a formula can tell about an input (issue 21)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "polarity", "entry", "value", "achieved", "rate", "light"),
    [
        # 64 days over 10 cases = 6.4 ≤ 6.5: met → 100.
        ("≤6.5", None, {"total": 64, "cases": 10}, "6.4", True, "100", "green"),
        # 70 / 10 = 7 > 6.5: 6.5×100/7 = 92.857… → 92.86 (yellow).
        ("≤6.5", None, {"total": 70, "cases": 10}, "7", False, "92.86", "yellow"),
        # 6.4 > 5 with a bare target and lower polarity: 5×100/6.4 = 78.125 → 78.13 (red).
        ("5", "lower", {"total": 64, "cases": 10}, "6.4", False, "78.13", "red"),
        # any decimals: 100 / 3 = 33.333… → 33.33 ≥ 12 books a pupil: met.
        ("≥12", None, {"total": 100, "cases": 3}, "33.33", True, "100", "green"),
    ],
)
def test_average(target, polarity, entry, value, achieved, rate, light):
    r, _ = one(indicator("avg", "average", target, polarity=polarity), entry)
    assert (r.value, r.achieved, r.achievement_rate, r.light) == (D(value), achieved, D(rate), light)


def test_average_of_no_cases_is_an_error():
    r, ev = one(indicator("avg", "average", "≤6"), {"total": 12, "cases": 0})
    assert r.value is None and r.light == "white"
    assert [(f.code, f.input) for f in ev.findings] == [("zero_denominator", "cases")]


def test_a_stock_is_compared_as_it_stands_and_never_projected():
    """The issue's case: 80 處 at 6/30 against ≧85 is 80 (94.12, yellow), not 161 projected."""
    stock = indicator("adopted", "stock", "≧85")
    r, _ = one(stock, {"level": 80}, period="H1")
    # 80 < 85: 未達成; 80×100/85 = 94.117… → 94.12.
    assert (r.value, r.projection, r.achieved, r.achievement_rate, r.light) == (
        D(80),
        None,
        False,
        D("94.12"),
        "yellow",
    )
    assert r.sentence == "截至6月30日止，adopted.level80件，未達原訂目標值，達成率94.12%。"
    running = indicator("adopted", "count", "≧85")
    r, _ = one(running, {"count": 80}, period="H1")
    assert r.projection == D(161)  # 80 × 365 / 181 = 161.3…: what a running count would claim


def test_a_stock_may_fall_between_periods():
    """A level is not a running total: 上半年 90 then 全年度 85 is no half_gt_full error."""
    plan = make_plan(indicator("adopted", "stock", "≧85"))
    ev = evaluate(plan, {"H1": {"adopted": {"level": 90}}, "FY": {"adopted": {"level": 85}}})
    assert [f.code for f in ev.findings] == []
    assert ev.result("adopted", "FY").achieved is True


@pytest.mark.parametrize(
    ("raw", "codes", "errors"),
    [
        ("=1+1", ["formula_in_input"], 1),  # Excel would compute 2: the formulas count it as an error too
        ("=-3", ["formula_in_input"], 1),  # one error, not also "negative": the formulas stop at the formula
        (
            "　",
            [],
            0,
        ),  # a full-width space is blank to the checks and the formulas alike (nothing reported yet)
        ("　 　", [], 0),
        ("\t", ["text"], 1),  # TRIM removes spaces only: a tab is text to a formula
    ],
)
def test_formulas_and_spaces_in_a_count(raw, codes, errors):
    plan = make_plan(indicator("c", "count", "≤120"))
    ev = evaluate(plan, {"FY": {"c": {"count": raw}}}, cells=True)
    assert [f.code for f in ev.findings] == codes
    assert ev.results[0].cells["errors"] == errors


def test_input_error_expr_is_the_per_input_check():
    """The per-input check the workbook's conditional formats use: ISFORMULA first, as files store it."""
    from kpi_engine.measures import input_error_expr

    ind = make_plan(indicator("r", "ratio", "80%")).indicator("r")
    text = to_excel(input_error_expr(ind, "numerator"), lambda name: name.upper())
    assert text.startswith("IF(_xlfn.ISFORMULA(NUMERATOR),1,")
    assert "DENOMINATOR" in text  # a numerator above its denominator is the numerator's error
    divisor = to_excel(input_error_expr(ind, "denominator"), lambda name: name.upper())
    assert "NUMERATOR" not in divisor and "(DENOMINATOR=0)" in divisor  # 0 is the divisor's own error
