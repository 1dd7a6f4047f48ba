"""The embedded plan is the seed's plan, and broken plans are reported by line."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from kpi_engine import PlanError, parse_plan
from kpi_engine.plan import parse_target
from kpi_engine.plan_loader import default_plan_path

# Part 2 of the seed, row by row: goal, goal weight, indicator, weight, code, method, formula, 107 target.
PART2 = [
    (
        "推動本處志願服務工作",
        15,
        "每年志工人數成長比例",
        15,
        1,
        "統計數據",
        "(今年志工總人數-去年志工總人數)/去年志工總人數*100%",
        "8%",
    ),
    (
        "強化採購專業智識，有效提升本府採購效益",
        40,
        "本府採購專業人員基礎班訓練及格率",
        15,
        1,
        "統計數據",
        "取得證照人數/受訓總人數*100%",
        "83%",
    ),
    (
        "強化採購專業智識，有效提升本府採購效益",
        40,
        "電子領標達成率",
        10,
        1,
        "統計數據",
        "提供電子領標案件數/招標採購案件數*100%",
        "100%",
    ),
    (
        "強化採購專業智識，有效提升本府採購效益",
        40,
        "流廢標下降率",
        15,
        1,
        "統計數據",
        "流廢標列管件數/招標總件數*100%",
        "11.5%",
    ),
    (
        "提供洽公市民及同仁安全的辦公環境，確保辦公人員洽公安全無虞",
        15,
        "每年民眾及同仁、巡檢人員反映辦公環境安全缺失件數",
        15,
        1,
        "統計數據",
        "每年有關反映公共安全之缺失件數",
        "≤120",
    ),
]
PREVIOUS_TARGETS = ["7%", "82%", "100%", "12%", "≤135"]


def test_part2_transcribed(plan):
    rows = [
        (
            plan.goal_of(i.id).name,
            plan.goal_of(i.id).weight,
            i.name,
            i.weight,
            i.system,
            i.method,
            i.formula,
            i.target.printed,
        )
        for i in plan.indicators
    ]
    assert rows == PART2
    assert [i.previous_target.printed for i in plan.indicators] == PREVIOUS_TARGETS
    assert [i.polarity for i in plan.indicators] == ["higher", "higher", "higher", "lower", "lower"]
    assert [i.kind for i in plan.indicators] == ["growth", "ratio", "ratio", "ratio", "count"]
    assert plan.weight_total == 70


def test_part2_rows_are_in_the_seed(seed_text):
    # Each row of PART2 is printed in the seed as tab-separated cells.
    for goal, gw, name, w, code, method, formula, target in PART2:
        assert f"{goal}({gw}%)" in seed_text
        assert f"{name}({w}%)\t{code}\t{method}\t{formula}\t{target}" in seed_text


def test_part3_items_and_owners(plan, seed_text):
    assert [w.name for w in plan.work_plans] == [
        "國際事務",
        "機要業務",
        "一般事務行政管理",
        "廳舍管理業務",
        "公共關係業務",
        "文書及檔案管理業務",
        "採購管理業務",
    ]
    assert [len(w.items) for w in plan.work_plans] == [2, 3, 5, 4, 4, 5, 3]
    flat = re.sub(r"<[^>]+>", "", seed_text)
    for w in plan.work_plans:
        for item in w.items:
            assert item.name in flat
    # The seed names no sections; each indicator is owned by the Part 3 work plan doing it.
    assert plan.owners == ("公共關係業務", "採購管理業務", "廳舍管理業務")
    assert set(plan.owners) <= {w.name for w in plan.work_plans}


def test_periods_and_options(plan):
    assert [(p.id, p.name, p.start, p.end) for p in plan.periods] == [
        ("H1", "上半年", (1, 1), (6, 30)),
        ("FY", "全年度", (1, 1), (12, 31)),
    ]
    assert plan.options.decimals == 2 and plan.options.cap == 100
    assert plan.evaluation_systems[1].startswith("指實際評估作業係運用既有")


def test_packaged_plan_is_a_file():
    assert default_plan_path().name == "taichung_secretariat_107.yaml"
    assert default_plan_path().is_file()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8%", (Decimal(8), True, None)),
        ("≤120", (Decimal(120), False, "<=")),
        ("11.5%", (Decimal("11.5"), True, None)),
        (">= 3", (Decimal(3), False, ">=")),
        ("＜5％", (Decimal(5), True, "<")),
    ],
)
def test_parse_target(text, expected):
    t = parse_target(text)
    assert (t.value, t.percent, t.op) == expected


@pytest.mark.parametrize("text", ["", "約8%", "8%%", "1.2.3", "≤"])
def test_parse_target_rejects(text):
    with pytest.raises(ValueError):
        parse_target(text)


def _default_text() -> str:
    return default_plan_path().read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_yaml_syntax_error_names_line():
    text = _default_text().replace("weight: 40\n", "weight: [40\n", 1)
    with pytest.raises(PlanError) as exc:
        parse_plan(text, "broken.yaml")
    assert exc.value.issues[0].line is not None
    assert "YAML" in str(exc.value)


def test_schema_error_names_line_and_field():
    text = _default_text().replace("system: 1                    # 評估體制", "system: 7", 1)
    with pytest.raises(PlanError) as exc:
        parse_plan(text, "broken.yaml")
    [issue] = exc.value.issues
    assert issue.path == "goals[0].indicators[0].system"
    assert issue.line == _line_of(text, "system: 7")
    assert "第" in str(exc.value) and "broken.yaml" in str(exc.value)


def test_semantic_errors_all_reported_with_lines():
    text = _default_text()
    text = text.replace("target: 83%", "target: 八十三%", 1)
    text = text.replace("target: ≤120", "target: ≥120", 1)  # contradicts polarity: lower
    text = text.replace("達成率{rate}%。\n\n  - id: G2", "達成率{rate}%{bogus}。\n\n  - id: G2", 1)
    with pytest.raises(PlanError) as exc:
        parse_plan(text, "broken.yaml")
    by_path = {i.path: i for i in exc.value.issues}
    assert by_path["goals[1].indicators[0].target"].line == _line_of(text, "target: 八十三%")
    assert by_path["goals[2].indicators[0].polarity"].line == _line_of(
        text, "polarity: lower\n        target: ≥120"
    )
    assert "{bogus}" in by_path["goals[0].indicators[0].sentence"].message_zh


def test_goal_weight_must_match_indicators():
    text = _default_text().replace("weight: 40\n", "weight: 45\n", 1)
    with pytest.raises(PlanError) as exc:
        parse_plan(text, "broken.yaml")
    [issue] = exc.value.issues
    assert issue.path == "goals[1].weight" and "45" in issue.message_zh


def test_kind_inputs_must_match():
    text = _default_text().replace("          count: {label: 反映", "          counted: {label: 反映", 1)
    with pytest.raises(PlanError) as exc:
        parse_plan(text, "broken.yaml")
    assert any("inputs" in i.path for i in exc.value.issues)


def test_fingerprint_ignores_sample_but_not_definition(plan):
    text = _default_text()
    same = parse_plan(text.replace("{count: 63}", "{count: 64}"))
    other = parse_plan(text.replace("target: 83%", "target: 84%"))
    assert same.fingerprint == plan.fingerprint
    assert other.fingerprint != plan.fingerprint


def test_submit_to_is_optional_and_must_be_one_address(plan):
    from plan_factory import indicator, make_plan

    assert plan.options.submit_to is None
    good = make_plan(indicator("k1", "count", "≤100"), options={"submit_to": " kpi@taichung.gov.tw "})
    assert good.options.submit_to == "kpi@taichung.gov.tw"
    for bad in ("kpi at taichung", "a@b.tw; c@d.tw", "王小明 <kpi@taichung.gov.tw>"):
        with pytest.raises(PlanError) as exc:
            make_plan(indicator("k1", "count", "≤100"), options={"submit_to": bad})
        [issue] = exc.value.issues
        assert issue.path == "options.submit_to" and issue.line is not None, issue


def test_the_published_schema_lists_the_kinds_records():
    """templates/plan.schema.json documents what kinds.KINDS decides (the loader uses the records)."""
    import json

    from kpi_engine.kinds import ALL_ROLES, KINDS
    from kpi_engine.plan_loader import _templates_dir

    published = json.loads((_templates_dir() / "plan.schema.json").read_text(encoding="utf-8"))
    props = published["$defs"]["indicator"]["properties"]
    assert props["kind"]["enum"] == list(KINDS)
    assert props["inputs"]["propertyNames"]["enum"] == list(ALL_ROLES)
    for code in KINDS:
        assert code in props["kind"]["description"]


def test_a_target_against_last_year_fits_a_growth_only():
    from plan_factory import indicator, make_plan

    plan = make_plan(indicator("g", "growth", "較上年度成長5%"), indicator("f", "growth", "較上年度減少3%"))
    g, f = plan.indicators
    assert (g.target.value, g.target.op, g.polarity) == (5, ">=", "higher")
    assert (f.target.value, f.target.op, f.polarity) == (-3, "<=", "lower")  # a fall of 3% at least
    with pytest.raises(PlanError) as exc:
        make_plan(indicator("r", "ratio", "較上年度成長5%"))
    assert [i.code for i in exc.value.issues] == ["target_format"]


def test_common_indicators_are_outside_the_plans_weight_and_score():
    from plan_factory import indicator, make_plan

    from kpi_engine import evaluate

    plan = make_plan(
        indicator("own", "count", "≥10", weight=70),
        indicator("budget", "ratio", "≥90%", weight=30, common=True),
    )
    assert plan.weight_total == 70
    ev = evaluate(plan, {"FY": {"own": {"count": 10}, "budget": {"numerator": 45, "denominator": 100}}})
    score = next(s for s in ev.scores if s.id == plan.id)
    assert (score.weight, score.score) == (70, 70)  # 50% budget execution does not lower the plan's score
    goal = next(s for s in ev.scores if s.id == "G1")
    assert goal.weight == 100  # the goal still shows what it holds
