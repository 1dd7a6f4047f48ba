"""Plans say what real plans say: targets as written, stage targets, per-indicator decimals.

Issue 15 item 5.  Each plan error carries a stable code and the YAML line; the
stage target and the per-indicator decimals are checked in LibreOffice as well as
in the engine, since the workbook's formulas must compute what the engine does.
"""

from __future__ import annotations

from decimal import Decimal

import openpyxl
import pytest
from helpers_workbook import Values, build_filled, same_value
from plan_factory import FOUR_STAGES, indicator, make_plan, plan_yaml

from kpi_engine import PlanError, evaluate, parse_plan
from kpi_engine.plan import parse_target
from workbook import libreoffice as lo
from workbook.form import layout as L
from workbook.form.builder import write_template


@pytest.mark.parametrize(
    ("text", "value", "op", "percent", "unit"),
    [
        ("≥85%", "85", ">=", True, ""),
        ("85%以上", "85", ">=", True, ""),
        ("85％（含）以上", "85", ">=", True, ""),
        ("不低於85%", "85", ">=", True, ""),
        ("≤10件", "10", "<=", False, "件"),
        ("10件以下", "10", "<=", False, "件"),
        ("≦135", "135", "<=", False, ""),
        ("不超過 10 件", "10", "<=", False, "件"),
        ("至少30人次", "30", ">=", False, "人次"),
        ("-5%", "-5", None, True, ""),
        ("１，２００件", "1200", None, False, "件"),
        ("低於5%", "5", "<", True, ""),
        ("5%以內", "5", "<=", True, ""),
    ],
)
def test_targets_as_plans_write_them(text, value, op, percent, unit):
    t = parse_target(text)
    assert (t.value, t.op, t.percent, t.unit) == (Decimal(value), op, percent, unit)
    assert t.printed == text  # the original text is kept for display


@pytest.mark.parametrize("text", ["≥85%以下", "85%左右", "約85%", "第3階段", "八成五"])
def test_unreadable_targets_refused(text):
    with pytest.raises(ValueError):
        parse_target(text)


def _issues(*inds, **kw) -> list:
    with pytest.raises(PlanError) as exc:
        make_plan(*inds, **kw)
    return exc.value.issues


def _codes(*inds, **kw) -> list[tuple[str, str]]:
    return [(i.code, i.path) for i in _issues(*inds, **kw)]


def test_written_comparator_sets_absent_polarity():
    plan = make_plan(indicator("c", "count", "10件以下", polarity=None), indicator("r", "ratio", "不低於85%"))
    assert plan.indicator("c").polarity == "lower"
    assert plan.indicator("c").target.comparator("lower") == "<="
    assert plan.indicator("r").polarity == "higher"


def test_comparator_against_polarity_is_an_error_with_line():
    issues = _issues(indicator("c", "count", "≤10件", polarity="higher"))
    assert [(i.code, i.path) for i in issues] == [("target_polarity", "goals[0].indicators[0].polarity")]
    text = plan_yaml(indicator("c", "count", "≤10件", polarity="higher"))
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.strip().startswith("polarity:"))
    assert issues[0].line == line
    assert "[target_polarity]" in str(issues[0]) and "contradicts" in str(issues[0])


def test_count_without_polarity_is_an_error():
    raw = indicator("c", "count", "100")
    del raw["polarity"]
    assert _codes(raw) == [("polarity_missing", "goals[0].indicators[0].polarity")]


def test_target_unit_must_be_the_inputs_unit():
    assert _codes(indicator("c", "count", "10人以下")) == [("target_unit", "goals[0].indicators[0].target")]
    assert _codes(indicator("r", "ratio", "85件")) == [
        ("target_format", "goals[0].indicators[0].target"),
        ("target_unit", "goals[0].indicators[0].target"),
    ]


def test_negative_target_only_for_lower_growth():
    plan = make_plan(indicator("g", "growth", "-5%", polarity="lower"))
    assert plan.indicator("g").target.value == Decimal(-5)
    assert _codes(indicator("g", "growth", "-5%")) == [
        ("polarity_missing", "goals[0].indicators[0].polarity"),
        ("target_format", "goals[0].indicators[0].target"),
    ]
    assert ("target_format", "goals[0].indicators[0].target") in _codes(
        indicator("r", "ratio", "-5%", polarity="lower")
    )


@pytest.mark.parametrize("written", ["第3階段", "3", "完成施工", "第 3 階段", "75%"])
def test_milestone_target_as_a_stage(written):
    ind = make_plan(indicator("m", "milestone", written)).indicator("m")
    assert ind.target.value == Decimal(75)
    assert ind.target.printed == written
    if written != "75%":
        assert ind.target.shown == "第3階段（完成施工）"


@pytest.mark.parametrize(
    ("written", "code"),
    [("80%", "stage_target"), ("第5階段", "target_format"), ("完成設計", "target_format")],
)
def test_milestone_target_matching_no_stage(written, code):
    issues = _issues(indicator("m", "milestone", written))
    assert [(i.code, i.path) for i in issues] == [(code, "goals[0].indicators[0].target")]


def test_stage_percents_must_increase():
    stages = [dict(s) for s in FOUR_STAGES]
    stages[2]["percent"] = 50  # 25, 50, 50, 100
    issues = _issues(indicator("m", "milestone", "100%", stages=stages))
    assert [(i.code, i.path) for i in issues] == [("stage_order", "goals[0].indicators[0].stages[2]")]
    assert "第3階段" in issues[0].message_zh and "stage 3" in issues[0].message_en


def test_every_issue_has_a_known_code():
    from kpi_engine.plan_loader import ISSUE_CODES

    bad = [
        indicator("a", "count", "≤10件", polarity="higher"),
        indicator("b", "milestone", "80%"),
        indicator("c", "ratio", "八成"),
    ]
    assert {i.code for i in _issues(*bad)} <= set(ISSUE_CODES)


def test_decimals_per_indicator_in_engine_and_formula():
    plan = make_plan(
        indicator("r1", "ratio", "30%", decimals=1),
        indicator("r0", "ratio", "30%", decimals=0),
        indicator("r2", "ratio", "30%"),
    )
    ev = evaluate(
        plan,
        {
            "上半年": {
                "r1": {"numerator": 1, "denominator": 3},
                "r0": {"numerator": 1, "denominator": 3},
                "r2": {"numerator": 1, "denominator": 3},
            }
        },
    )
    assert [ev.result(i, "上半年").value for i in ("r1", "r0", "r2")] == [
        Decimal("33.3"),
        Decimal("33"),
        Decimal("33.33"),
    ]
    from workbook.form.formulas import result_formulas

    formulas = result_formulas(L.Scope(plan))
    r1 = formulas[L.result_name(plan.indicator("r1"), plan.period("H1"), "value")]
    assert ",1)" in r1 and ",2)" not in r1


def test_decimals_schema_bounds():
    with pytest.raises(PlanError) as exc:
        make_plan(indicator("r", "ratio", "30%", decimals=9))
    assert exc.value.issues[0].code == "schema"


@pytest.fixture(scope="module")
def stage_plan():
    return parse_plan(
        plan_yaml(
            indicator("m", "milestone", "第3階段", previous_target="完成招標"),
            indicator("r", "ratio", "≥30%", decimals=1),
            indicator("c", "count", "10件以下"),
        ),
        source="stage_plan.yaml",
    )


def test_part2_sheet_prints_the_stage(stage_plan, tmp_path):
    path = write_template(L.Scope(stage_plan), tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path)[L.SHEET_KPI]
    rows = {ws.cell(r, 4).value: ws.cell(r, 8).value for r in range(4, ws.max_row + 1) if ws.cell(r, 4).value}
    assert rows["指標m(10%)"] == "第3階段（完成施工）"
    assert rows["指標r(10%)"] == "≥30%"
    assert rows["指標c(10%)"] == "10件以下"
    previous = write_template(L.Scope(stage_plan, data_year=106), tmp_path / "p.xlsx")
    ws = openpyxl.load_workbook(previous)[L.SHEET_KPI]
    assert "第2階段（完成招標）" in [ws.cell(r, 8).value for r in range(4, ws.max_row + 1)]


def test_libreoffice_computes_stage_targets_and_decimals(stage_plan, tmp_path):
    """The template's formulas, recalculated by LibreOffice, equal the engine's cells."""
    soffice = lo.require_soffice()
    entries = {
        "H1": {"m": {"stage": 2}, "r": {"numerator": 2, "denominator": 7}, "c": {"count": 6}},
        "FY": {"m": {"stage": 3}, "r": {"numerator": 1, "denominator": 3}, "c": {"count": 11}},
    }
    scope = L.Scope(stage_plan)
    path, _ = build_filled(scope, entries, tmp_path / "filled.xlsx")
    values = Values(lo.recalculate(path, tmp_path / "lo.xlsx", soffice=soffice))
    ev = evaluate(stage_plan, entries, cells=True)
    compared = 0
    for ind in stage_plan.indicators:
        for period in stage_plan.periods:
            cells = ev.result(ind.id, period.id).cells
            for step, engine in cells.items():
                shown = values.named(L.step_name(ind, period, step))
                assert same_value(engine, shown, 2), (ind.id, period.id, step, engine, shown)
                compared += 1
    assert compared >= 24
    # hand-checked: 2/7 = 28.571… → 28.6 at one decimal (not 28.57), below ≥30 → 未達成
    assert values.named(L.result_name(stage_plan.indicator("r"), stage_plan.period("H1"), "value")) == 28.6
    # stage 3 meets 第3階段 (75%); stage 2 (50%) does not
    m = stage_plan.indicator("m")
    assert values.named(L.result_name(m, stage_plan.period("FY"), "achieved")) == "達成"
    assert values.named(L.result_name(m, stage_plan.period("H1"), "achieved")) == "未達成"
