"""A generated plan of any size, for benchmarks and scale tests.

``generated_plan_yaml(200)`` writes a plan file with 200 indicators spread over 20
goals, cycling through every kind (ratio, growth, count, milestone) and both
polarities, with the owners' Part 3 work plans.  The text goes through
:func:`kpi_engine.parse_plan`, so it passes the same schema and semantic checks as a
clerk's plan: each goal's weight is the sum of its indicators' weights and the
plan's weights add up to at most 100.

``generated_entries(plan, period)`` gives plausible, error-free counts for it.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from kpi_engine import Plan, parse_plan
from kpi_engine.plan_loader import dump_plan

KINDS = ("ratio", "growth", "count", "milestone")
OWNERS = tuple(
    f"{name}業務"
    for name in (
        "綜合規劃",
        "採購管理",
        "廳舍管理",
        "公共關係",
        "文書檔案",
        "資訊管理",
        "人事行政",
        "會計財務",
    )
)
TOPICS = (
    "採購專業人員訓練及格",
    "電子領標案件",
    "流廢標案件",
    "志工人數",
    "公文線上簽核",
    "檔案影像建檔",
    "辦公環境安全缺失",
    "會議室使用",
    "話務服務品質抽測",
    "財產盤點",
)
STAGES = [
    {"label": "完成規劃", "percent": 25},
    {"label": "完成招標", "percent": 50},
    {"label": "完成施工", "percent": 75},
    {"label": "完成驗收", "percent": 100},
]


def _indicator(n: int, kind: str, weight: Decimal) -> dict[str, Any]:
    topic = TOPICS[n % len(TOPICS)]
    lower = n % 8 in (2, 7)  # some ratio and count indicators are lower-is-better
    d: dict[str, Any] = {
        "id": f"k{n:03d}",
        "number": str(n),
        "weight": float(weight),
        "system": 1 + n % 5,
        "method": "統計數據",
        "kind": kind,
        "owner": OWNERS[n % len(OWNERS)],
    }
    if kind == "ratio":
        d |= {
            "name": f"{topic}比率第{n}項",
            "formula": f"{topic}件數/{topic}總件數*100%",
            "target": "≤12%" if lower else f"{80 + n % 15}%",
            "previous_target": "≤13%" if lower else f"{79 + n % 15}%",
            "inputs": {
                "numerator": {"label": f"{topic}件數", "unit": "件"},
                "denominator": {"label": f"{topic}總件數", "unit": "件"},
            },
        }
    elif kind == "growth":
        d |= {
            "name": f"{topic}成長比例第{n}項",
            "formula": "(今年數-去年數)/去年數*100%",
            "target": f"{3 + n % 6}%",
            "previous_target": f"{2 + n % 6}%",
            "inputs": {
                "current": {"label": f"今年{topic}數", "unit": "人", "cumulative": False},
                "previous": {"label": f"去年{topic}數", "unit": "人", "cumulative": False},
            },
        }
    elif kind == "count":
        d |= {
            "name": f"每年{topic}件數第{n}項",
            "formula": f"每年{topic}件數",
            "polarity": "lower" if lower else "higher",
            "target": "≤120" if lower else str(200 + n),
            "previous_target": "≤135" if lower else str(190 + n),
            "inputs": {"count": {"label": f"{topic}件數", "unit": "件", "cumulative": True}},
        }
    else:
        d |= {
            "name": f"{topic}改善工程第{n}項",
            "formula": "完成工作項目",
            "target": "100%",
            "previous_target": "100%",
            "inputs": {"stage": {"label": "已達成階段", "unit": "階段"}},
            "stages": STAGES,
        }
    return d


def generated_plan_data(indicators: int = 200, goals: int = 20, *, year: int = 107) -> dict[str, Any]:
    """The plan as a dict: ``indicators`` spread evenly over ``goals``, weights adding to 100."""
    if indicators < goals:
        goals = indicators
    each = (Decimal(100) / indicators).quantize(Decimal("0.0001"), rounding="ROUND_DOWN")
    per_goal = [indicators // goals + (1 if g < indicators % goals else 0) for g in range(goals)]
    goal_list, n = [], 0
    for g, count in enumerate(per_goal, start=1):
        inds = []
        for _ in range(count):
            n += 1
            inds.append(_indicator(n, KINDS[(n - 1) % len(KINDS)], each))
        goal_list.append(
            {
                "id": f"G{g}",
                "number": str(g),
                "name": f"策略績效目標第{g}項：提升行政效能與服務品質",
                # the loader compares Decimal(str(weight)), so sum the same way it does
                "weight": float(sum(Decimal(str(i["weight"])) for i in inds)),
                "indicators": inds,
            }
        )
    return {
        "id": f"generated_{indicators}",
        "agency": "測試市政府秘書處",
        "year": year,
        "title": f"測試市政府秘書處 {year} 年度施政計畫（{indicators} 項指標）",
        "goals": goal_list,
        "work_plans": [
            {
                "name": owner,
                "items": [
                    {
                        "name": f"{owner}重點工作第{i}項",
                        "content": [f"辦理{owner}第{i}項工作。", "定期檢討改進。"],
                    }
                    for i in range(1, 4)
                ],
            }
            for owner in OWNERS
        ],
    }


def generated_plan_yaml(indicators: int = 200, goals: int = 20, *, year: int = 107) -> str:
    """:func:`generated_plan_data` as plan-file YAML text."""
    return dump_plan(generated_plan_data(indicators, goals, year=year))


def generated_plan(indicators: int = 200, goals: int = 20, *, year: int = 107) -> Plan:
    """Parse :func:`generated_plan_yaml` into a Plan."""
    return parse_plan(
        generated_plan_yaml(indicators, goals, year=year), source=f"generated_{indicators}.yaml"
    )


def generated_entries(plan: Plan, period: str, *, seed: int = 0) -> dict[str, dict[str, int]]:
    """Error-free counts for every indicator of ``plan`` in one period: indicator → role → count.

    The full-year counts are drawn once per ``seed``; a part-year period gets half of
    each running total, so 上半年 never exceeds 全年度.
    """
    rng = random.Random(seed)
    part = not plan.period(period).is_full_year()
    out: dict[str, dict[str, int]] = {}
    for ind in plan.indicators:
        if ind.kind == "ratio":
            den = rng.randint(50, 800)
            counts = {"numerator": rng.randint(0, den), "denominator": den}
        elif ind.kind == "growth":
            prev = rng.randint(100, 500)
            counts = {"current": prev + rng.randint(-10, 60), "previous": prev}
        elif ind.kind == "count":
            counts = {"count": rng.randint(0, 150)}
        else:
            counts = {"stage": rng.randint(0, len(ind.stages))}
        if part:
            counts = {r: v // 2 if ind.input(r).cumulative else v for r, v in counts.items()}
        out[ind.id] = counts
    return out
