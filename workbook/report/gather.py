"""From the collection (read from returns or from the archive) to the :class:`~kpi_engine.report_model.Report`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from kpi_engine import Plan
from kpi_engine.checks import parse_count
from kpi_engine.evaluate import IndicatorResult
from kpi_engine.report_model import Report, UnitData, build_report
from workbook.collect import Collection
from workbook.report.errors import ReportError

#: Data for reports: plan id → (year, period id) → unit → UnitData.
Data = dict[str, dict[tuple[int, str], dict[str, UnitData]]]


def from_collection(coll: Collection, paths: Iterable[str | Path] = ()) -> Data:
    """Group the collection's rows, staff text and unreturned sections by plan, year, period and unit.

    Everything comes from the collection itself (one read of each return); ``paths`` is
    not read and is accepted only for older callers.
    """
    data: Data = {}

    def slot(plan_id: str, year: int, period: str, unit: str) -> UnitData:
        return data.setdefault(plan_id, {}).setdefault((year, period), {}).setdefault(unit, UnitData())

    for row in coll.rows:
        unit = slot(row.plan_id, row.year, row.result.period, row.unit)
        unit.results.append(row.result)
        if row.note:
            unit.notes[row.result.indicator] = row.note
    for item in coll.items:
        progress, _ = parse_count(item.progress)
        slot(item.plan_id, item.year, item.period, item.unit).progress[item.item] = (
            progress,
            item.description,
        )
    for ret in coll.returns:
        if ret.unreturned and ret.period:
            unit = slot(ret.plan_id, ret.year, ret.period, ret.unit)
            unit.unreported.update(dict.fromkeys(ret.indicators, ret.owner))
    return data


def choose(
    plans: Mapping[str, Plan], data: Data, *, year: int | None, period: str | None
) -> tuple[Plan, int, str]:
    """The plan, year and period to report: the one given, else the only or latest one."""
    data = {k: v for k, v in data.items() if any(u.results for units in v.values() for u in units.values())}
    if not data:
        raise ReportError("沒有可供報告的填報資料 / no collected results to report")
    if len(data) > 1:
        names = "、".join(
            f"{plans[k].agency} {plans[k].year} 年度（{plans[k].source or k}）" for k in sorted(data)
        )
        raise ReportError(
            f"資料含多個計畫：{names}；請以 --plan 指定一個 / several plans collected: {names}; choose one with --plan"
        )
    plan_id, by_key = next(iter(data.items()))
    plan = plans[plan_id]
    keys = list(by_key)
    if year is not None:
        keys = [k for k in keys if k[0] == year]
        if not keys:
            have = "、".join(str(y) for y in sorted({k[0] for k in by_key}))
            raise ReportError(f"沒有 {year} 年度的資料（現有 {have}）/ no data for year {year} (have {have})")
    if period is not None:
        try:
            pid = plan.period(period).id
        except KeyError:
            raise ReportError(f"期別不存在 / unknown period {period!r}") from None
        keys = [k for k in keys if k[1] == pid]
        if not keys:
            raise ReportError(f"沒有 {period} 的資料 / no data for period {period}")
    order = {p.id: n for n, p in enumerate(plan.periods)}
    y, pid = max(keys, key=lambda k: (k[0], order.get(k[1], 0)))  # latest year, then the later period
    return plan, y, pid


def make_report(
    plans: Mapping[str, Plan],
    data: Data,
    *,
    year: int | None = None,
    period: str | None = None,
    previous: Mapping[str, list[IndicatorResult]] | None = None,
    compare_year: int | None = None,
    sources: Iterable[str] = (),
) -> Report:
    """Pick the plan, year and period, then build the report's model."""
    plan, y, pid = choose(plans, data, year=year, period=period)
    units = dict(sorted(data[plan.id][(y, pid)].items()))
    return build_report(
        plan,
        year=y,
        period_id=pid,
        units=units,
        previous=previous,
        compare_year=compare_year,
        sources=list(sources),
    )
