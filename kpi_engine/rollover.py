"""Next year's plan from this year's: targets to set, last year's target and results carried.

``rollover`` works on the plan file's data, so every field the plan has (texts,
Part 3, options) is carried as written; only what changes with the year changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

import yaml

from .evaluate import IndicatorResult
from .plan import Plan
from .plan_loader import UNSET_TARGET, dump_plan

HEADER = """\
# 施政計畫定義檔（KPI Workbook plan definition），由 kpi plan rollover 自 {source} 產生。
# 每項指標的 target（年度目標值）為「{unset}」，請逐項填入 {year} 年度目標值後執行「kpi plan check 檔名」。
# previous_target 為 {prev} 年度目標值；sample 為 {prev} 年度全年度實績（第四部分的來源）。
"""


def _plain(d: Decimal | None) -> int | float | None:
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


def rollover(
    plan: Plan,
    to_year: int,
    *,
    results: list[IndicatorResult] | None = None,
    notes: Mapping[str, str] | None = None,
    period_id: str | None = None,
    pending: str = "",
) -> str:
    """The plan file text of ``to_year``'s plan.

    ``results`` (this year's results of one unit, ``period_id``: the full year)
    become the new plan's ``sample``, so its Part 4 comes straight out of them.
    ``pending`` (why there are none yet, e.g. only 上半年 is archived) writes a sample
    whose every count is blank and marked 「待補」, to be filled in when the year is done.
    """
    data = yaml.safe_load(plan.text)
    year = plan.year
    data["id"] = re.sub(rf"_{year}$", "", str(data["id"])) + f"_{to_year}"
    data["year"] = to_year
    data["title"] = str(data["title"]).replace(str(year), str(to_year), 1)
    for g in data["goals"]:
        for raw in g["indicators"]:
            ind = plan.indicator(raw["id"])
            if ind.target.unset:  # never set this year: there is no previous target to carry
                raw.pop("previous_target", None)
            else:
                raw["previous_target"] = ind.target.printed
            raw["target"] = UNSET_TARGET
            raw.setdefault("polarity", ind.polarity)  # it may have come from the target's ≤ sign
    data.pop("sample", None)
    full = period_id or next((p.id for p in plan.periods if p.is_full_year()), plan.periods[-1].id)
    if pending and not results:
        entries = {ind.id: {spec.role: None for spec in ind.inputs} for ind in plan.indicators}
        data["sample"] = {"year": year, "period": full, "targets": "previous", "entries": entries}
    elif results:
        period = full
        entries = {
            r.indicator: {k: _plain(v) for k, v in r.inputs.items()} for r in results if r.period == period
        }
        sample: dict = {"year": year, "period": period, "targets": "previous", "entries": entries}
        kept = {k: v for k, v in (notes or {}).items() if k in entries and v}
        if kept:
            sample["notes"] = kept
        data["sample"] = sample
    # Keep the plan's own key order, with sample where the embedded plan has it (before overview).
    order = [k for k in data if k not in ("overview", "work_plans")] + [
        k for k in ("overview", "work_plans") if k in data
    ]
    data = {k: data[k] for k in order}
    head = HEADER.format(source=plan.id, unset=UNSET_TARGET, year=to_year, prev=year)
    text = dump_plan(data)
    if pending and not results:
        text = _mark_pending(
            text, f"{PENDING}：{pending}；全年度彙整後請重新執行 kpi plan rollover，或逐項填入"
        )
    return head + text


#: The mark of a sample count still to come (the year's results are not in yet).
PENDING = "待補"


def _mark_pending(text: str, why: str) -> str:
    """Mark the sample block and each of its blank counts 「待補」 (YAML comments: the plan stays valid)."""
    out, inside = [], False
    for line in text.split("\n"):
        if line.startswith("sample:"):
            out.append(f"# {why}")
            inside = True
        elif inside and line and not line.startswith(" "):
            inside = False
        if inside and line.rstrip().endswith(": null"):
            line += f"  # {PENDING}"
        out.append(line)
    return "\n".join(out)
