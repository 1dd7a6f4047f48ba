"""Terminal reports: the Part 4 table (達成情形) and findings, printed with rich."""

from __future__ import annotations

from kpi_engine.evaluate import Evaluation
from kpi_engine.narrative import number_text

LIGHT_STYLE = {
    "green": ("綠燈", "green"),
    "yellow": ("黃燈", "yellow"),
    "red": ("紅燈", "red"),
    "white": ("白燈", "dim"),
}


def print_evaluation(ev: Evaluation) -> None:
    """Print the Part 4 layout and the findings to the terminal."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    plan = ev.plan
    for period in plan.periods:
        rows = [r for r in ev.results if r.period == period.id]
        if not rows:
            continue
        table = Table(title=f"{plan.agency} 達成情形（{period.name}）", show_lines=True)
        for col in (
            "策略績效目標",
            "衡量指標",
            "原訂目標值",
            "實際值",
            "達成率",
            "燈號",
            "績效衡量暨達成情形分析",
        ):
            table.add_column(col, overflow="fold")
        for r in rows:
            ind = plan.indicator(r.indicator)
            goal = plan.goal_of(ind.id)
            unit = "%" if ind.target.percent else ind.inputs[0].unit
            label, style = LIGHT_STYLE[r.light]
            table.add_row(
                f"{goal.number} {goal.name}({number_text(goal.weight)}%)",
                f"{ind.name}({number_text(ind.weight)}%)",
                r.target,
                f"{number_text(r.value)}{unit}" if r.value is not None else "—",
                f"{number_text(r.achievement_rate)}%" if r.achievement_rate is not None else "—",
                f"[{style}]{label}[/{style}]",
                escape(r.sentence),
            )
        console.print(table)
    if ev.findings:
        console.print("[bold]檢核結果 / findings[/bold]")
        for f in ev.findings:
            where = f" [{f.sheet}!{f.cell}]" if f.cell else f" [{f.sheet}]" if f.sheet else ""
            colour = "red" if f.severity == "error" else "yellow"
            text = escape(f"{f.code}{where}: {f.message_zh} / {f.message_en}")  # cell text is not markup
            console.print(f"  [{colour}]{f.severity}[/{colour}] {text}")
    warning = ev.weight_warning()
    if warning:
        console.print(f"[dim]{warning['message_zh']}[/dim]")
