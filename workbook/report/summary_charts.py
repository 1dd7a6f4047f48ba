"""The summary workbook's 圖表 sheet: charts native to the workbook (openpyxl), one set per year and period.

* Per indicator: each unit's 達成率 as a bar in its light's colour, against a 100% line;
  a coordinator sees at once which units miss which indicator.
* Per plan: each unit's weighted score, stacked by goal, out of the plan's weight.

The numbers the charts draw are written beside them, so the sheet reads without charts too.
"""

from __future__ import annotations

from decimal import Decimal

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.legend import LegendEntry
from openpyxl.chart.marker import DataPoint
from openpyxl.worksheet.worksheet import Worksheet

from kpi_engine.evaluate import scores
from workbook.collect import Collection
from workbook.form.styles import CENTER, HEADER_FILL, HEADING, LEFT, LIGHT_COLOURS, page_setup, style

GOAL_COLOURS = ["4472C4", "ED7D31", "A5A5A5", "FFC000", "5B9BD5", "70AD47"]
CHART_ROWS = 16  # rows one chart takes on the sheet


def _rate_chart(ws: Worksheet, title: str, header: int, last: int, col: int, lights: list[str]) -> BarChart:
    bar = BarChart()
    bar.type = "col"
    bar.title = title
    bar.y_axis.title = "達成率（%）"
    bar.y_axis.scaling.min, bar.y_axis.scaling.max = 0, 110
    bar.add_data(Reference(ws, min_col=col, min_row=header, max_row=last), titles_from_data=True)
    bar.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    series = bar.series[0]
    for i, light in enumerate(lights):
        point = DataPoint(idx=i)
        point.graphicalProperties.solidFill = LIGHT_COLOURS.get(light, LIGHT_COLOURS["white"])[0]
        point.graphicalProperties.line.solidFill = "404040"
        series.dPt.append(point)
    line = LineChart()  # the 100% every 達成率 is measured against
    line.add_data(Reference(ws, min_col=2, min_row=header, max_row=last), titles_from_data=True)
    line.series[0].graphicalProperties.line.solidFill = "C00000"
    line.series[0].graphicalProperties.line.dashStyle = "dash"
    line.series[0].smooth = False
    bar += line
    bar.legend.position = "b"
    # The legend names only the 100% line: bar colours are the lights, not one series colour.
    bar.legend.legendEntry = [LegendEntry(idx=0, delete=True)]
    bar.height, bar.width = 7.5, max(12, 1.6 * (last - header) + 6)
    return bar


def add_charts(wb: Workbook, coll: Collection) -> Worksheet:
    """Add the 圖表 sheet to the summary workbook and return it."""
    ws = wb.create_sheet("圖表")
    page_setup(ws, landscape=True)
    ws.column_dimensions["A"].width = 18
    for letter in "BCDEFGHIJKLMNOP":
        ws.column_dimensions[letter].width = 11
    row = 1
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
        indicators = [
            i
            for i in plan.indicators
            if any(by.get((u, i.id)) and by[(u, i.id)].achievement_rate is not None for u in units)
        ]
        style(
            ws.cell(row, 1, f"{year}年度 {period}：各單位達成率與加權得分（{len(units)} 個單位）"),
            font=HEADING,
            border=False,
            align=LEFT,
        )
        header = row + 1
        labels = (
            ["填報單位", "目標 100%"]
            + [i.name for i in indicators]
            + [f"目標{g.number}得分" for g in plan.goals]
        )
        for c, label in enumerate(labels, start=1):
            cell = ws.cell(header, c, label)
            cell.data_type = "s"
            style(cell, font=HEADING, fill=HEADER_FILL, align=CENTER)
        ws.row_dimensions[header].height = 80
        for n, unit in enumerate(units, start=header + 1):
            cell = ws.cell(n, 1, unit)
            cell.data_type = "s"  # a unit name is text, even one that starts with "="
            style(cell)
            style(ws.cell(n, 2, 100), align=CENTER)
            for c, ind in enumerate(indicators, start=3):
                r = by.get((unit, ind.id))
                rate = r.achievement_rate if r else None
                style(ws.cell(n, c, float(rate) if rate is not None else None), align=CENTER)
            results = [r.result for r in rows if r.unit == unit]
            goal = {s.id: s.score for s in scores(plan, results) if s.period == pid}
            for c, g in enumerate(plan.goals, start=3 + len(indicators)):
                style(ws.cell(n, c, float(goal.get(g.id, Decimal(0)))), align=CENTER)
        last = header + len(units)
        anchor_row = last + 2
        charts = []
        for c, ind in enumerate(indicators, start=3):
            lights = [by[(u, ind.id)].light if (u, ind.id) in by else "white" for u in units]
            charts.append(_rate_chart(ws, f"{ind.name}：各單位達成率", header, last, c, lights))
        stacked = BarChart()
        stacked.type, stacked.grouping, stacked.overlap = "col", "stacked", 100
        stacked.title = f"加權得分（各目標合計，計畫權重 {plan.weight_total:g}）"
        first = 3 + len(indicators)
        stacked.add_data(
            Reference(ws, min_col=first, max_col=first + len(plan.goals) - 1, min_row=header, max_row=last),
            titles_from_data=True,
        )
        stacked.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
        stacked.y_axis.scaling.min, stacked.y_axis.scaling.max = 0, float(plan.weight_total)
        for s, colour in zip(stacked.series, GOAL_COLOURS * 4, strict=False):
            s.graphicalProperties.solidFill = colour
        stacked.legend.position = "b"
        stacked.height, stacked.width = 7.5, max(12, 1.6 * len(units) + 6)
        charts.append(stacked)
        for k, chart in enumerate(charts):  # two charts side by side
            cell = f"{'A' if k % 2 == 0 else 'J'}{anchor_row + (k // 2) * CHART_ROWS}"
            ws.add_chart(chart, cell)
        row = anchor_row + -(-len(charts) // 2) * CHART_ROWS + 1
    return ws
