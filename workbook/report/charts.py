"""Charts for the report, as PNG images any writer can embed (matplotlib, optional).

Only charts that answer a question the table cannot answer at a glance are drawn:

* several units: which units miss which indicator (達成率 by unit against the 100% line),
  and how each unit scores on each goal (weighted score against the goal's weight);
* with last year's figures: which indicators moved (達成率 this year against last year).

A one-unit report without a comparison has a five-row table that says it all: no chart.
Bar colours are the lights' colours.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

from kpi_engine.narrative import number_text
from kpi_engine.report_model import Report, UnitSection
from workbook.form.styles import LIGHT_COLOURS

CHART_FONTS = ["DFKai-SB", "標楷體", "Noto Sans CJK TC", "Noto Serif CJK TC", "Noto Sans CJK JP"]
LAST_YEAR = "#A6A6A6"
EDGE = "#404040"


@dataclass(frozen=True)
class Chart:
    """A rendered chart: PNG bytes and its pixel size (for the aspect ratio)."""

    title: str
    png: bytes
    width_px: int
    height_px: int


def _light(light: str) -> str:
    return "#" + LIGHT_COLOURS.get(light, LIGHT_COLOURS["white"])[0]


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # no display: charts are files
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = CHART_FONTS + list(plt.rcParams["font.sans-serif"])
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _png(fig, title: str) -> Chart:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = buf.getvalue()
    # The true pixel size after bbox_inches="tight" is in the PNG header.
    w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return Chart(title, data, w, h)


def _short(name: str, n: int = 14) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def _f(d: Decimal | None) -> float:
    return float(d) if d is not None else 0.0


def rates_by_unit(report: Report) -> Chart:
    """Small multiples: one panel per indicator, 達成率 of each unit against the 100% line."""
    plt = _plt()
    first = report.units[0]
    names = [line.indicator_id for line in first.lines]
    labels = {line.indicator_id: line.name for line in first.lines}
    n = len(names)
    cols = min(3, n)
    rows = -(-n // cols)
    units = [s.unit for s in report.units]
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 0.32 * len(units) * rows + 1.3 * rows), squeeze=False
    )
    for k, ind in enumerate(names):
        ax = axes[k // cols][k % cols]
        rates, colours, texts = [], [], []
        for s in report.units:
            line = next((x for x in s.lines if x.indicator_id == ind), None)
            rates.append(_f(line.rate) if line else 0)
            colours.append(_light(line.light if line else "white"))
            texts.append(line.rate_text if line else "—")
        y = range(len(units))
        ax.barh(list(y), rates, color=colours, edgecolor=EDGE, linewidth=0.5)
        ax.axvline(100, color="#C00000", linestyle="--", linewidth=1)
        for i, t in zip(y, texts, strict=True):
            ax.text(2, i, t, va="center", fontsize=7)
        ax.set_yticks(list(y), [_short(u, 10) for u in units], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, 110)
        ax.set_title(_short(labels[ind], 18), fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("各指標達成率（依填報單位；虛線為 100%，顏色為燈號）", fontsize=11)
    fig.tight_layout()
    return _png(fig, "各指標達成率（依填報單位）")


def goal_scores_by_unit(report: Report) -> Chart:
    """Per goal, each unit's weighted score (coloured) against the goal's weight (outline)."""
    plt = _plt()
    goals = report.units[0].goal_scores
    units = [s.unit for s in report.units]
    fig, axes = plt.subplots(
        1, len(goals), figsize=(4.2 * len(goals), 0.32 * len(units) + 1.4), squeeze=False
    )
    for k, g in enumerate(goals):
        ax = axes[0][k]
        scores, colours = [], []
        for s in report.units:
            mine = next(x for x in s.goal_scores if x.id == g.id)
            scores.append(_f(mine.score))
            pct = mine.percent
            light = "white" if pct is None else "green" if pct >= 100 else "yellow" if pct >= 90 else "red"
            colours.append(_light(light))
        y = list(range(len(units)))
        ax.barh(y, [float(g.weight)] * len(units), color="white", edgecolor=EDGE, linewidth=0.6)
        ax.barh(y, scores, color=colours, edgecolor=EDGE, linewidth=0.5)
        for i, v in zip(y, scores, strict=True):
            ax.text(float(g.weight) * 0.02, i, f"{v:g}", va="center", fontsize=7)
        ax.set_yticks(y, [_short(u, 10) for u in units], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, float(g.weight) * 1.05 or 1)
        ax.set_title(
            _short(g.label.replace("策略績效目標", "目標"), 18) + f"（權重 {g.weight:g}）", fontsize=9
        )
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle("各策略績效目標加權得分（框為權重，顏色依得分率之燈號）", fontsize=11)
    fig.tight_layout()
    return _png(fig, "各策略績效目標加權得分")


def year_on_year(report: Report, section: UnitSection) -> Chart:
    """Per indicator, 達成率 this year (light colour) beside last year (grey), with the 100% line."""
    plt = _plt()
    lines = section.lines
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(lines) + 1.2))
    y = list(range(len(lines)))
    h = 0.38
    last = [_f(x.previous.rate) if x.previous else 0 for x in lines]
    now = [_f(x.rate) for x in lines]
    ax.barh([i - h / 2 for i in y], last, height=h, color=LAST_YEAR, label=f"{report.compare_year}年度")
    ax.barh(
        [i + h / 2 for i in y],
        now,
        height=h,
        color=[_light(x.light) for x in lines],
        edgecolor=EDGE,
        linewidth=0.5,
        label=f"{report.year}年度（顏色為燈號）",
    )
    for i, x in enumerate(lines):
        prev = x.previous.rate if x.previous else None
        shown = "—" if prev is None else f"{number_text(prev)}%"
        ax.text(2, i - h / 2, shown, va="center", fontsize=7)
        ax.text(2, i + h / 2, x.rate_text, va="center", fontsize=7)
    ax.axvline(100, color="#C00000", linestyle="--", linewidth=1)
    ax.set_yticks(y, [_short(x.name, 16) for x in lines], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("達成率（%）", fontsize=8)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title(
        f"達成率：{report.year} 與 {report.compare_year} 年度{report.period_name}比較（{section.unit}）",
        fontsize=11,
    )
    fig.tight_layout()
    return _png(fig, "達成率年度比較")


#: Units a by-unit chart holds: beyond this its bars are unreadable on a page and its bitmap
#: alone takes hundreds of MB (300 units: a 1,900 × 29,000 pixel image); the report's own
#: tables say the same numbers, so the chart is left out.
MAX_CHART_UNITS = 40


def report_charts(report: Report) -> dict[str, list[Chart]]:
    """The charts worth drawing for ``report``: '' holds whole-report charts, else per unit."""
    out: dict[str, list[Chart]] = {}
    if 1 < len(report.units) <= MAX_CHART_UNITS and report.units[0].lines:
        out[""] = [rates_by_unit(report), goal_scores_by_unit(report)]
    if report.compare_year:
        for section in report.units:
            if any(line.previous for line in section.lines):
                out.setdefault(section.unit, []).append(year_on_year(report, section))
    return out


def charts_if_available(report: Report) -> dict[str, list[Chart]] | None:
    """:func:`report_charts`, or None where matplotlib (the ``[charts]`` extra) is not installed."""
    try:
        return report_charts(report)
    except ImportError:
        return None
