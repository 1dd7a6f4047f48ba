"""Small hand-made plans for unit tests: one goal, the indicators a test needs.

Plans are written as YAML text and parsed with :func:`kpi_engine.parse_plan`, so
every test plan passes the same schema and semantic checks as a clerk's plan file.
"""

from __future__ import annotations

from typing import Any

from kpi_engine import Plan, parse_plan
from kpi_engine.kinds import KIND_ROLES, KINDS
from kpi_engine.plan import parse_target
from kpi_engine.plan_loader import dump_plan

ROLES = KIND_ROLES  # each kind's record says its inputs

#: Four equal steps, used by milestone indicators unless a test gives its own.
FOUR_STAGES = [
    {"label": "完成規劃", "percent": 25},
    {"label": "完成招標", "percent": 50},
    {"label": "完成施工", "percent": 75},
    {"label": "完成驗收", "percent": 100},
]


def _comparator(target: str) -> str | None:
    try:
        return parse_target(target).op
    except ValueError:  # a test of a bad target: leave the plan as written
        return ">="


def indicator(
    id: str,
    kind: str,
    target: str,
    *,
    polarity: str | None = None,
    weight: float = 10,
    previous_target: str | None = None,
    cumulative: bool | None = None,
    **extra: Any,
) -> dict:
    """One indicator entry; input labels are ``<id>.<role>`` so messages are easy to assert."""
    d: dict[str, Any] = {
        "id": id,
        "name": f"指標{id}",
        "weight": weight,
        "system": 1,
        "method": "統計數據",
        "formula": "測試用衡量標準",
        "kind": kind,
        "target": target,
        "owner": "測試科",
        "inputs": {
            role: {"label": f"{id}.{role}", "unit": "件"}
            | ({} if cumulative is None else {"cumulative": cumulative})
            for role in ROLES[kind]
        },
    }
    if polarity:
        d["polarity"] = polarity
    elif KINDS[kind].default_polarity is None and _comparator(target) is None:
        d["polarity"] = "higher"  # a count must say its direction; tests mean higher unless told
    if previous_target is not None:
        d["previous_target"] = previous_target
    if kind == "milestone":
        d["stages"] = FOUR_STAGES
    d.update(extra)
    return d


def plan_yaml(*indicators: dict, options: dict | None = None, rules: list[dict] | None = None) -> str:
    """A minimal valid plan file (one goal holding ``indicators``) as YAML text."""
    data: dict[str, Any] = {
        "id": "test_plan",
        "agency": "測試機關",
        "year": 107,
        "title": "測試計畫",
        "goals": [
            {
                "id": "G1",
                "name": "測試目標",
                "weight": sum(i["weight"] for i in indicators),
                "indicators": list(indicators),
            }
        ],
    }
    if options is not None:
        data["options"] = options
    if rules is not None:
        data["rules"] = rules
    return dump_plan(data)


def make_plan(*indicators: dict, options: dict | None = None, rules: list[dict] | None = None) -> Plan:
    """Parse :func:`plan_yaml` into a Plan."""
    return parse_plan(plan_yaml(*indicators, options=options, rules=rules), source="test_plan.yaml")
