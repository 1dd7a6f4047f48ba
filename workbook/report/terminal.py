"""Terminal reports: the Part 4 table (達成情形) and findings, printed with rich.

A plan of more than :data:`FULL_TABLE_UP_TO` indicators prints compactly: per period one
summary line (lights counted) and one line per indicator that needs attention; ``full``
(``kpi calculate --all``) prints the whole table whatever the size.
"""

from __future__ import annotations

import sys
from collections import Counter

from kpi_engine.evaluate import Evaluation, IndicatorResult
from kpi_engine.narrative import number_text

LIGHT_STYLE = {
    "green": ("綠燈", "green"),
    "yellow": ("黃燈", "yellow"),
    "red": ("紅燈", "red"),
    "white": ("白燈", "dim"),
}


#: Plans up to this many indicators print the whole table; larger ones the compact summary.
#: Twenty rows of the table fill a terminal screen or two; beyond that the few that need
#: attention are lost among the rest.
FULL_TABLE_UP_TO = 20


def print_evaluation(ev: Evaluation, *, full: bool | None = None) -> None:
    """Print the Part 4 layout (or, for a large plan, its summary) and the findings.

    ``full``: the whole table (True), the summary (False), or by the plan's size (None).
    """
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    if full is None:
        full = len(ev.plan.indicators) <= FULL_TABLE_UP_TO
    if full:
        _print_table(ev, console)
    else:
        print("\n".join(compact_lines(ev)))
        sys.stdout.flush()  # before rich writes the findings below
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


def compact_lines(ev: Evaluation) -> list[str]:
    """The summary of a large plan: per period its lights counted, then each indicator that
    needs attention (a red or yellow light, behind schedule, or a finding), then how to see all."""
    plan = ev.plan
    flagged = Counter((f.indicator, f.period) for f in ev.findings if f.indicator)
    lines: list[str] = []
    for period in plan.periods:
        rows = [r for r in ev.results if r.period == period.id]
        if not rows:
            continue
        lights = Counter(r.light for r in rows)
        counted = "、".join(f"{LIGHT_STYLE[k][0]} {lights[k]}" for k in LIGHT_STYLE if lights[k])
        behind = sum(r.at_risk is True for r in rows)
        attention = [r for r in rows if _needs_attention(r, flagged)]
        lines.append(
            f"{plan.agency} 達成情形（{period.name}）：指標 {len(rows)} 項｜{counted}"
            + (f"｜落後 {behind} 項" if behind else "")
            + f"｜需注意 {len(attention)} 項"
            + f" / {period.id}: {len(rows)} indicators, {len(attention)} need attention"
        )
        lines += [_attention_line(plan, r, flagged[(r.indicator, r.period)]) for r in attention]
    shown = len(plan.indicators)
    lines.append(
        f"（共 {shown} 項指標，只列需注意者；完整表格請加 --all）"
        f" / ({shown} indicators, only those that need attention listed; --all prints the full table)"
    )
    return lines


def _needs_attention(r: IndicatorResult, flagged: Counter) -> bool:
    return r.light in ("red", "yellow") or r.at_risk is True or bool(flagged[(r.indicator, r.period)])


def _attention_line(plan, r: IndicatorResult, findings: int) -> str:
    ind = plan.indicator(r.indicator)
    unit = "%" if ind.target.percent else ind.inputs[0].unit
    parts = [
        f"實際值 {number_text(r.value)}{unit}" if r.value is not None else "實際值 —",
        f"目標 {r.target}",
        f"達成率 {number_text(r.achievement_rate)}%" if r.achievement_rate is not None else "達成率 —",
    ]
    if r.at_risk:
        parts.append("進度落後")
    if findings:
        parts.append(f"檢核 {findings} 項")
    return f"  [{LIGHT_STYLE[r.light][0]}] {ind.id} {ind.name}：" + "，".join(parts)


def _print_table(ev: Evaluation, console) -> None:
    """The Part 4 table, one per period."""
    from rich.markup import escape
    from rich.table import Table

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
