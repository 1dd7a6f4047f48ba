"""Checks on entered counts: lenient parsing, per-indicator rules and cross-period rules.

Findings are asserted whole: code, severity, indicator, input, period and the exact
zh-TW and English messages staff will read.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from plan_factory import indicator, make_plan

from kpi_engine import Finding, evaluate
from kpi_engine.checks import parse_count
from kpi_engine.findings import CATALOGUE

D = Decimal
DEFECTS = "反映公共安全之缺失件數"  # label of safety_defects.count in the embedded plan


def defects(raw: object, plan) -> list[Finding]:
    """Findings for one safety_defects count entered for 全年度."""
    return evaluate(plan, {"全年度": {"safety_defects": {"count": raw}}}).findings


def fields(f: Finding) -> tuple:
    return (f.code, f.severity, f.indicator, f.input, f.period, f.message_zh, f.message_en)


# ---------------------------------------------------------------------------
# parse_count: one raw cell value
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_parse_blank(raw):
    assert parse_count(raw) == (None, [])


@pytest.mark.parametrize("raw", ["約120", "120件", "一百二十", "12,34", "1 234", "1e3", "N/A", "-"])
def test_parse_text_is_not_a_number(raw):
    assert parse_count(raw) == (None, [("text", {"raw": raw})])


@pytest.mark.parametrize(
    ("raw", "value", "codes"),
    [
        ("１２３", D(123), ["fullwidth_digits"]),
        ("1,234", D(1234), ["thousands_separator"]),
        ("1,234,567", D(1234567), ["thousands_separator"]),
        (" 12 ", D(12), ["whitespace"]),
        ("12", D(12), ["text_number"]),
        ("１,２３４", D(1234), ["fullwidth_digits", "thousands_separator"]),
        ("\u3000１２", D(12), ["whitespace", "fullwidth_digits"]),  # ideographic space too
        ("－３", D(-3), ["fullwidth_digits"]),
    ],
)
def test_parse_lenient_text(raw, value, codes):
    got, notes = parse_count(raw)
    assert got == value
    assert [code for code, _ in notes] == codes
    for _, f in notes:
        assert f == {"raw": raw, "value": str(value)}


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0, D(0)),
        (63, D(63)),
        (-3, D(-3)),
        (2.5, D("2.5")),
        (0.1, D("0.1")),
        (D("7"), D(7)),
        (10**13, D(10**13)),
    ],
)
def test_parse_numbers_pass_through(raw, value):
    # Sign, whole number and size are judged per indicator, not here.
    assert parse_count(raw) == (value, [])


def test_parse_float_uses_its_shortest_repr():
    # 0.1 as a float is 0.1000000000000000055…; staff typed 0.1.
    assert str(parse_count(0.1)[0]) == "0.1"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (True, "boolean"),
        (False, "boolean"),
        (date(2018, 6, 30), "date"),
        (datetime(2018, 6, 30, 12, 0), "date"),
        ("#DIV/0!", "excel_error"),
        ("#N/A", "excel_error"),
        (" #value! ", "excel_error"),
        (float("nan"), "text"),
    ],
)
def test_parse_not_a_count(raw, code):
    value, notes = parse_count(raw)
    assert value is None
    assert [c for c, _ in notes] == [code]


# ---------------------------------------------------------------------------
# per-value findings, through evaluate, with full messages
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "severity", "zh", "en"),
    [
        ("約120", "text", "error", f"{DEFECTS}不是數字：「約120」", f"{DEFECTS} is not a number: '約120'"),
        ("120件", "text", "error", f"{DEFECTS}不是數字：「120件」", f"{DEFECTS} is not a number: '120件'"),
        (
            "一百二十",
            "text",
            "error",
            f"{DEFECTS}不是數字：「一百二十」",
            f"{DEFECTS} is not a number: '一百二十'",
        ),
        (
            "１２３",
            "fullwidth_digits",
            "warning",
            f"{DEFECTS}含全形數字「１２３」，已視為 123",
            f"{DEFECTS} has full-width digits '１２３'; read as 123",
        ),
        (
            "1,234",
            "thousands_separator",
            "warning",
            f"{DEFECTS}含千分位符號「1,234」，已視為 1234",
            f"{DEFECTS} has thousands separators '1,234'; read as 1234",
        ),
        (
            " 12 ",
            "whitespace",
            "warning",
            f"{DEFECTS}前後有空白「 12 」，已視為 12",
            f"{DEFECTS} has surrounding spaces ' 12 '; read as 12",
        ),
        (
            "12",
            "text_number",
            "warning",
            f"{DEFECTS}存成文字「12」，已視為 12",
            f"{DEFECTS} is stored as text '12'; read as 12",
        ),
        (-3, "negative", "error", f"{DEFECTS}不可為負數：-3", f"{DEFECTS} cannot be negative: -3"),
        (2.5, "non_integer", "error", f"{DEFECTS}須為整數：2.5", f"{DEFECTS} must be a whole number: 2.5"),
        (
            True,
            "boolean",
            "error",
            f"{DEFECTS}不可為是非值：True",
            f"{DEFECTS} cannot be a TRUE/FALSE value: True",
        ),
        (
            date(2018, 6, 30),
            "date",
            "error",
            f"{DEFECTS}不可為日期：2018-06-30",
            f"{DEFECTS} cannot be a date: 2018-06-30",
        ),
        (
            "#DIV/0!",
            "excel_error",
            "error",
            f"{DEFECTS}為錯誤值 #DIV/0!",
            f"{DEFECTS} holds the error value #DIV/0!",
        ),
        (
            10**13,
            "too_large",
            "error",
            f"{DEFECTS}數值過大：10000000000000",
            f"{DEFECTS} is implausibly large: 10000000000000",
        ),
    ],
)
def test_value_findings(plan, raw, code, severity, zh, en):
    [f] = defects(raw, plan)
    assert fields(f) == (code, severity, "safety_defects", "count", "FY", zh, en)
    assert (f.sheet, f.cell) == (None, None)  # located only when read from a workbook


def test_severities_follow_the_catalogue():
    # Readable-but-odd values are warnings; anything the engine cannot trust is an error.
    for code in ("missing", "fullwidth_digits", "thousands_separator", "whitespace", "text_number"):
        assert CATALOGUE[code][0] == "warning", code
    for code in (
        "incomplete",
        "text",
        "negative",
        "non_integer",
        "too_large",
        "boolean",
        "date",
        "excel_error",
        "numerator_gt_denominator",
        "zero_denominator",
        "half_gt_full",
        "stage_out_of_range",
        "rule",
    ):
        assert CATALOGUE[code][0] == "error", code


def test_value_that_is_read_is_used(plan):
    ev = evaluate(plan, {"全年度": {"safety_defects": {"count": "１２３"}}})
    r = ev.result("safety_defects", "FY")
    assert r.inputs == {"count": 123}
    # 123 > 120 (107 target); 120×100/123 = 97.56…
    assert (r.value, r.achievement_rate, r.light) == (123, D("97.56"), "yellow")


@pytest.mark.parametrize("raw", ["約120", True, date(2018, 6, 30), "#DIV/0!"])
def test_unreadable_value_leaves_the_result_blank(plan, raw):
    r = evaluate(plan, {"FY": {"safety_defects": {"count": raw}}}).result("safety_defects", "FY")
    assert (r.value, r.achievement_rate, r.light) == (None, None, "white")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [(10**40, "1" + "0" * 40), ("9" * 40, "9" * 40), (1e300, "1" + "0" * 300)],
)
def test_absurdly_large_values_are_reported_not_crashed_on(plan, raw, shown):
    # Far beyond Decimal's default 28 digits (a pasted ID number, Excel's 1E+300).
    ev = evaluate(plan, {"FY": {"safety_defects": {"count": raw}}})
    [f] = [f for f in ev.findings if f.code == "too_large"]
    assert f.message_zh == f"{DEFECTS}數值過大：{shown}"  # the number as typed, not rounded
    r = ev.result("safety_defects", "FY")
    # Too large is a failing check: no value, no rate, a white light.
    assert (r.value, r.achievement_rate, r.light) == (None, None, "white")
    assert r.cells["achieved"] == "資料有誤"
    assert ev.has_errors


def test_several_problems_in_one_value(plan):
    # " -2.5 ": spaces, negative and not whole: three findings on the same input.
    codes = [(f.code, f.severity) for f in defects(" -2.5 ", plan)]
    assert codes == [("whitespace", "warning"), ("negative", "error"), ("non_integer", "error")]


# ---------------------------------------------------------------------------
# per-indicator rules
# ---------------------------------------------------------------------------


def test_numerator_greater_than_denominator(plan):
    ev = evaluate(plan, {"上半年": {"procurement_pass_rate": {"numerator": 211, "denominator": 210}}})
    [f] = ev.findings
    assert fields(f) == (
        "numerator_gt_denominator",
        "error",
        "procurement_pass_rate",
        "numerator",
        "H1",
        "取得證照人數（211）大於受訓總人數（210）",
        "取得證照人數 (211) exceeds 受訓總人數 (210)",
    )
    assert ev.has_errors


def test_numerator_equal_to_denominator_is_fine(plan):
    ev = evaluate(plan, {"H1": {"e_tender_rate": {"numerator": 10, "denominator": 10}}})
    assert ev.findings == []


def test_denominator_zero(plan):
    ev = evaluate(plan, {"H1": {"failed_tender_rate": {"numerator": 0, "denominator": 0}}})
    [f] = ev.findings
    assert fields(f) == (
        "zero_denominator",
        "error",
        "failed_tender_rate",
        "denominator",
        "H1",
        "招標總件數為 0，比率無法計算",
        "招標總件數 is 0, so the ratio cannot be computed",
    )


def test_partially_blank_is_incomplete(plan):
    ev = evaluate(plan, {"H1": {"procurement_pass_rate": {"numerator": 187, "denominator": None}}})
    [f] = ev.findings
    assert fields(f) == (
        "incomplete",
        "error",
        "procurement_pass_rate",
        "denominator",
        "H1",
        "受訓總人數未填寫，本指標無法計算",
        "受訓總人數 is empty, so the indicator cannot be computed",
    )
    assert ev.result("procurement_pass_rate", "H1").light == "white"


def test_blank_text_counts_as_blank(plan):
    ev = evaluate(plan, {"H1": {"procurement_pass_rate": {"numerator": "  ", "denominator": 210}}})
    assert [(f.code, f.input) for f in ev.findings] == [("incomplete", "numerator")]


def test_input_left_out_counts_as_blank(plan):
    ev = evaluate(plan, {"H1": {"procurement_pass_rate": {"numerator": 187}}})
    assert [(f.code, f.input) for f in ev.findings] == [("incomplete", "denominator")]


def test_all_blank_is_missing(plan):
    # The period has been reported (another indicator has counts), this one is still blank.
    ev = evaluate(
        plan,
        {
            "H1": {
                "procurement_pass_rate": {"numerator": None, "denominator": ""},
                "safety_defects": {"count": 63},
            }
        },
    )
    assert [fields(f) for f in ev.findings] == [
        (
            "missing",
            "warning",
            "procurement_pass_rate",
            "numerator",
            "H1",
            "取得證照人數尚未填寫",
            "取得證照人數 is not filled in yet",
        ),
        (
            "missing",
            "warning",
            "procurement_pass_rate",
            "denominator",
            "H1",
            "受訓總人數尚未填寫",
            "受訓總人數 is not filled in yet",
        ),
    ]
    assert not ev.has_errors


def test_unreadable_value_is_not_also_missing(plan):
    # "#N/A" is something typed, not a blank: one error, no missing/incomplete.
    ev = evaluate(plan, {"H1": {"procurement_pass_rate": {"numerator": "#N/A", "denominator": 210}}})
    assert [(f.code, f.input) for f in ev.findings] == [("excel_error", "numerator")]


def test_growth_previous_zero(plan):
    ev = evaluate(plan, {"FY": {"volunteer_growth": {"current": 12, "previous": 0}}})
    [f] = ev.findings
    assert fields(f) == (
        "zero_denominator",
        "error",
        "volunteer_growth",
        "previous",
        "FY",
        "去年志工總人數為 0，比率無法計算",
        "去年志工總人數 is 0, so the ratio cannot be computed",
    )


def test_milestone_stage_checks():
    plan = make_plan(indicator("m", "milestone", "100%"))
    ev = evaluate(plan, {"FY": {"m": {"stage": 1.5}}})
    assert [fields(f) for f in ev.findings] == [
        (
            "non_integer",
            "error",
            "m",
            "stage",
            "FY",
            "m.stage須為整數：1.5",
            "m.stage must be a whole number: 1.5",
        )
    ]
    ev = evaluate(plan, {"FY": {"m": {"stage": -1}}})
    assert [(f.code, f.message_en) for f in ev.findings] == [
        ("negative", "m.stage cannot be negative: -1"),
        ("stage_out_of_range", "m.stage must be a stage number from 0 to 4: -1"),
    ]


# ---------------------------------------------------------------------------
# cross-period and plan rules
# ---------------------------------------------------------------------------


def test_half_year_above_full_year_for_a_running_total(plan):
    ev = evaluate(
        plan, {"上半年": {"safety_defects": {"count": 70}}, "全年度": {"safety_defects": {"count": 65}}}
    )
    [f] = ev.findings
    assert fields(f) == (
        "half_gt_full",
        "error",
        "safety_defects",
        "count",
        "H1",
        f"{DEFECTS}：上半年（70）大於全年度（65），累計數不應減少",
        f"{DEFECTS}: 上半年 (70) exceeds 全年度 (65); a running total cannot fall",
    )


def test_half_year_equal_to_full_year_is_fine(plan):
    ev = evaluate(plan, {"H1": {"safety_defects": {"count": 70}}, "FY": {"safety_defects": {"count": 70}}})
    assert ev.findings == []


def test_half_year_above_full_year_for_a_head_count_is_fine(plan):
    # Volunteer head counts are not running totals (cumulative: false): the year-end
    # figure may well be lower than the mid-year one.
    assert [s.cumulative for s in plan.indicator("volunteer_growth").inputs] == [False, False]
    ev = evaluate(
        plan,
        {
            "H1": {"volunteer_growth": {"current": 120, "previous": 100}},
            "FY": {"volunteer_growth": {"current": 110, "previous": 100}},
        },
    )
    assert ev.findings == []


def test_half_year_above_full_year_for_each_ratio_input(plan):
    ev = evaluate(
        plan,
        {
            "H1": {"procurement_pass_rate": {"numerator": 50, "denominator": 80}},
            "FY": {"procurement_pass_rate": {"numerator": 40, "denominator": 70}},
        },
    )
    assert [(f.code, f.input, f.period) for f in ev.findings] == [
        ("half_gt_full", "numerator", "H1"),
        ("half_gt_full", "denominator", "H1"),
    ]
    assert ev.findings[1].message_zh == "受訓總人數：上半年（80）大於全年度（70），累計數不應減少"


def test_nothing_entered_in_a_period_is_not_reported_yet(plan):
    # A period with no counts at all is simply not due yet: no missing noise.
    ev = evaluate(plan, {"FY": {"procurement_pass_rate": {"numerator": None, "denominator": None}}})
    assert ev.findings == []
    assert ev.result("procurement_pass_rate", "FY").light == "white"


def test_half_year_check_needs_both_periods(plan):
    ev = evaluate(plan, {"H1": {"safety_defects": {"count": 70}}, "FY": {"safety_defects": {"count": None}}})
    assert ev.findings == []  # 全年度 not reported yet: nothing to compare with


RULES = [
    {
        "id": "passed_within_trained",
        "left": "a.numerator",
        "op": "<=",
        "right": "b.count",
        "severity": "warning",
        "message_zh": "及格人數不應多於受訓人數",
        "message_en": "passes should not exceed trainees",
    },
    {
        "id": "few_cases",
        "left": "a.denominator",
        "op": "<",
        "right": 1000,
        "message_zh": "案件數須少於一千",
        "message_en": "cases must be under 1000",
    },
]


def rules_plan():
    return make_plan(indicator("a", "ratio", "80%"), indicator("b", "count", "50"), rules=RULES)


def test_plan_rules_fire_with_their_severity_and_messages():
    plan = rules_plan()
    assert [(r.id, r.severity) for r in plan.rules] == [
        ("passed_within_trained", "warning"),
        ("few_cases", "error"),
    ]
    ev = evaluate(plan, {"H1": {"a": {"numerator": 60, "denominator": 1500}, "b": {"count": 45}}})
    assert [fields(f) for f in ev.findings] == [
        (
            "rule",
            "warning",
            "a",
            "numerator",
            "H1",
            "及格人數不應多於受訓人數（passed_within_trained：60 <= 45 不成立）",
            "passes should not exceed trainees (passed_within_trained: 60 <= 45 fails)",
        ),
        (
            "rule",
            "error",
            "a",
            "denominator",
            "H1",
            "案件數須少於一千（few_cases：1500 < 1000 不成立）",
            "cases must be under 1000 (few_cases: 1500 < 1000 fails)",
        ),
    ]
    assert ev.has_errors


def test_plan_rules_pass_and_skip_blanks():
    plan = rules_plan()
    ok = evaluate(plan, {"FY": {"a": {"numerator": 45, "denominator": 999}, "b": {"count": 45}}})
    assert ok.findings == []
    # b not entered: the cross rule cannot be judged, so it stays silent.
    partial = evaluate(plan, {"FY": {"a": {"numerator": 45, "denominator": 100}}})
    assert partial.findings == []


def test_plan_rules_apply_per_period():
    plan = rules_plan()
    ev = evaluate(
        plan,
        {
            "H1": {"a": {"numerator": 10, "denominator": 20}, "b": {"count": 12}},
            "FY": {"a": {"numerator": 30, "denominator": 40}, "b": {"count": 25}},
        },
    )
    assert [(f.code, f.period) for f in ev.findings] == [("rule", "FY")]


def test_plan_rule_naming_an_unknown_input_is_a_plan_error():
    from kpi_engine import PlanError

    bad = [{**RULES[0], "right": "b.counted"}]
    with pytest.raises(PlanError) as exc:
        make_plan(indicator("a", "ratio", "80%"), indicator("b", "count", "50"), rules=bad)
    [issue] = exc.value.issues
    assert issue.path == "rules[0].right" and issue.line is not None
    assert "b.counted" in issue.message_zh


def test_every_finding_is_complete(plan):
    # A messy period: every finding names what, where and why in both languages.
    ev = evaluate(
        plan,
        {
            "H1": {
                "volunteer_growth": {"current": None, "previous": None},
                "procurement_pass_rate": {"numerator": "２１１", "denominator": 210},
                "e_tender_rate": {"numerator": 10, "denominator": None},
                "failed_tender_rate": {"numerator": "約48", "denominator": 0},
                "safety_defects": {"count": 70},
            },
            "FY": {"safety_defects": {"count": 65.5}},
        },
    )
    codes = sorted(f.code for f in ev.findings)
    assert codes == sorted(
        [
            "missing",
            "missing",
            "fullwidth_digits",
            "numerator_gt_denominator",
            "incomplete",
            "text",
            "zero_denominator",
            "non_integer",
            "half_gt_full",
        ]
    )
    for f in ev.findings:
        assert f.code in CATALOGUE
        assert f.severity == CATALOGUE[f.code][0]
        assert f.indicator and f.input and f.period in ("H1", "FY")
        assert f.message_zh and f.message_en and "{" not in f.message_zh + f.message_en
        assert set(f.to_dict()) == {
            "code",
            "severity",
            "indicator",
            "input",
            "period",
            "message_zh",
            "message_en",
            "sheet",
            "cell",
        }
