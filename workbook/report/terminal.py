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


def print_collection(coll, output: str) -> None:
    """What ``kpi collect`` prints: files by status, the files that need attention (errors
    before warnings, each with its first error), the expected returns, and the rows written."""
    from collections import Counter

    from kpi_engine.consolidate import STATUSES
    from workbook.collect.text import terminal_text

    counts = Counter(s.status for s in coll.submissions)
    print(f"收件 {len(coll.submissions)} 個檔案 / files read: {len(coll.submissions)}")
    for status, label in STATUSES.items():
        if counts[status]:
            print(f"  {label} ({status}): {counts[status]}")
    problems = [s for s in coll.submissions if s.status != "ok"]
    if problems:
        print("需要注意的檔案 / files that need attention:")
    for s in problems:
        found = sorted(
            s.findings, key=lambda f: f.severity != "error"
        )  # the error that made it "errors" first
        why = s.reason or "; ".join(f.message_zh for f in found[:3])
        more = f"（另 {len(found) - 3} 項）" if not s.reason and len(found) > 3 else ""
        print(f"  [{STATUSES[s.status]}] {terminal_text(s.source)}")
        print(f"      {terminal_text(why)}{more}")
    print_returns(coll)
    print(f"彙總 {len(coll.rows)} 筆 / rows: {len(coll.rows)} → {terminal_text(output)}")


def print_returns(coll) -> None:
    """Every expected return: 已繳, 部分, 未繳 or 逾期, per unit and section."""
    from collections import Counter

    from kpi_engine.consolidate import RETURN_STATUSES
    from workbook.collect.text import terminal_text

    if not coll.returns:
        return
    counts = Counter(r.status for r in coll.returns)
    summary = "、".join(f"{label} {counts[k]}" for k, label in RETURN_STATUSES.items() if counts[k])
    print(f"應繳 {len(coll.returns)} 份（{summary}）/ returns expected: {len(coll.returns)}")
    for r in coll.returns:
        if r.status == "returned":
            continue
        plan = coll.plan(r.plan_id)
        when = f"{r.year}年度{plan.period(r.period).name if r.period else ''}"
        names = "、".join(plan.indicator(i).name for i in (r.indicators if r.unreturned else r.blank))
        what = "未填" if r.unreturned else "尚有空白"
        print(
            f"  [{r.label}] {terminal_text(r.unit)} {terminal_text(r.owner)}（{when}）{what}：{terminal_text(names)}"
        )
