"""The summary workbook's 圖表 sheet: charts native to the workbook (XlsxWriter), one set per year and period.

* Per indicator: each unit's 達成率 as a bar in its light's colour, against a 100% line;
  a coordinator sees at once which units miss which indicator.
* Per plan: each unit's weighted score, stacked by goal, out of the plan's weight.

The numbers the charts draw are written beside them, so the sheet reads without charts too.
The charts refer to those cells and carry no cached copy of them (the workbook is written
in ``constant_memory`` mode): Excel and LibreOffice draw them from the cells.
"""

from __future__ import annotations

from decimal import Decimal

from xlsxwriter.chart import Chart
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from kpi_engine.evaluate import scores
from workbook.collect import Collection
from workbook.form.styles import LIGHT_COLOURS
from workbook.report.summary_rows import TableRows
from workbook.report.summary_style import CM_PX, Formats, page_setup, set_height, set_width

GOAL_COLOURS = ["4472C4", "ED7D31", "A5A5A5", "FFC000", "5B9BD5", "70AD47"]
CHART_ROWS = 16  # rows one chart takes on the sheet
SHEET = "圖表"


def _size(chart: Chart, width_cm: float) -> None:
    chart.set_size({"width": round(width_cm * CM_PX), "height": round(7.5 * CM_PX)})


def _rate_chart(wb: Workbook, title: str, header: int, last: int, col: int, lights: list[str]) -> Chart:
    """Units' 達成率 (column ``col``, 0-based rows ``header``+1 … ``last``) against 100%."""
    bar = wb.add_chart({"type": "column"})
    colours = list(dict.fromkeys(LIGHT_COLOURS.get(light, LIGHT_COLOURS["white"])[0] for light in lights))
    bar.add_series(
        {
            "name": [SHEET, header, col],
            "categories": [SHEET, header + 1, 0, last, 0],
            "values": [SHEET, header + 1, col, last, col],
            "points": [{"fill": {"color": "#" + c}, "border": {"color": "#404040"}} for c in colours],
        }
    )
    # One bar per unit, each in its light's colour: XlsxWriter turns every point given into
    # four dicts of its own (a 10,000-unit summary held 100 MB of them), so it is given one
    # point per colour and the series then names, for each bar, the one of its colour.
    made = dict(zip(colours, bar.series[0]["points"], strict=True))
    bar.series[0]["points"] = [made[LIGHT_COLOURS.get(light, LIGHT_COLOURS["white"])[0]] for light in lights]
    line = wb.add_chart({"type": "line"})  # the 100% every 達成率 is measured against
    line.add_series(
        {
            "name": [SHEET, header, 1],
            "categories": [SHEET, header + 1, 0, last, 0],
            "values": [SHEET, header + 1, 1, last, 1],
            "line": {"color": "#C00000", "dash_type": "dash"},
            "smooth": False,
        }
    )
    bar.combine(line)
    bar.set_title({"name": title})
    bar.set_y_axis({"name": "達成率（%）", "min": 0, "max": 110})
    # The legend names only the 100% line: bar colours are the lights, not one series colour.
    bar.set_legend({"position": "bottom", "delete_series": [0]})
    _size(bar, max(12, 1.6 * (last - header) + 6))
    return bar


def add_charts(wb: Workbook, fmt: Formats, coll: Collection) -> Worksheet:
    """Add the 圖表 sheet to the summary workbook and return it (rows written in order)."""
    ws = wb.add_worksheet(SHEET)
    page_setup(ws)
    set_width(ws, 0, 0, 18)
    set_width(ws, 1, 15, 11)
    row = 0  # 0-based
    groups: dict[tuple, list] = {}
    for r in coll.rows:
        groups.setdefault((r.plan_id, r.year, r.result.period), []).append(r)
    order = {(p.id, x.id): n for p in coll.plans for n, x in enumerate(p.periods)}
    for (plan_id, year, pid), rows in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], order.get((kv[0][0], kv[0][2]), 0))
    ):
        plan = coll.plan(plan_id)
        period = plan.period(pid).name
        units = list(dict.fromkeys(r.unit for r in rows))
        by = {(r.unit, r.result.indicator): r.result for r in rows}
        per_unit: dict[str, list] = {}
        for r in rows:
            per_unit.setdefault(r.unit, []).append(r.result)
        indicators = [
            i
            for i in plan.indicators
            if any(by.get((u, i.id)) and by[(u, i.id)].achievement_rate is not None for u in units)
        ]
        ws.write_string(
            row, 0, f"{year}年度 {period}：各單位達成率與加權得分（{len(units)} 個單位）", fmt.caption
        )
        header = row + 1
        labels = (
            ["填報單位", "目標 100%"]
            + [i.name for i in indicators]
            + [f"目標{g.number}得分" for g in plan.goals]
        )
        set_height(ws, header, 80)
        for c, label in enumerate(labels):
            ws.write_string(header, c, label, fmt.header)
        body = TableRows(ws, [fmt.wrap] + [fmt.center] * (len(labels) - 1), None)
        for n, unit in enumerate(units, start=header + 1):
            goal = {s.id: s.score for s in scores(plan, per_unit[unit]) if s.period == pid}
            body.write(  # a unit name is text, even one that starts with "="
                n,
                [unit, 100]
                + [r.achievement_rate if (r := by.get((unit, ind.id))) else None for ind in indicators]
                + [float(goal.get(g.id, Decimal(0))) for g in plan.goals],
            )
        last = header + len(units)
        anchor_row = last + 2  # one empty row below the table
        charts = []
        for c, ind in enumerate(indicators, start=2):
            lights = [by[(u, ind.id)].light if (u, ind.id) in by else "white" for u in units]
            charts.append(_rate_chart(wb, f"{ind.name}：各單位達成率", header, last, c, lights))
        stacked = wb.add_chart({"type": "column", "subtype": "stacked"})
        first = 2 + len(indicators)
        for k, colour in zip(range(len(plan.goals)), GOAL_COLOURS * 4, strict=False):
            stacked.add_series(
                {
                    "name": [SHEET, header, first + k],
                    "categories": [SHEET, header + 1, 0, last, 0],
                    "values": [SHEET, header + 1, first + k, last, first + k],
                    "fill": {"color": "#" + colour},
                    "overlap": 100,
                }
            )
        stacked.set_title({"name": f"加權得分（各目標合計，計畫權重 {plan.weight_total:g}）"})
        stacked.set_y_axis({"min": 0, "max": float(plan.weight_total)})
        stacked.set_legend({"position": "bottom"})
        _size(stacked, max(12, 1.6 * len(units) + 6))
        charts.append(stacked)
        for k, chart in enumerate(charts):  # two charts side by side
            ws.insert_chart(anchor_row + (k // 2) * CHART_ROWS, 0 if k % 2 == 0 else 9, chart)
        row = anchor_row + -(-len(charts) // 2) * CHART_ROWS + 1
    return ws
