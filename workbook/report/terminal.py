"""Terminal reports: the Part 4 table (達成情形) and findings.

A plan of more than :data:`FULL_TABLE_UP_TO` indicators prints compactly: per period one
summary line (lights counted) and one line per indicator that needs attention; ``full``
(``kpi calculate --all``) prints the whole table whatever the size.

The table is drawn here, not with rich: importing and laying out rich cost 0.03 of the
seed calculate's 0.16 CPU-s (issue 24).  Its box is rich's (heavy head, a line between
rows), cells are folded at the terminal's width (``COLUMNS``, else 80 when not a terminal)
by display width (a CJK character is two columns) and never inside a number or word
that fits, and colour is used only on a terminal that shows it (``NO_COLOR`` honoured).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import unicodedata
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
    paint = _painter()
    if full is None:
        full = len(ev.plan.indicators) <= FULL_TABLE_UP_TO
    lines = table_lines(ev, paint) if full else compact_lines(ev)
    if ev.findings:
        lines.append(paint("檢核結果 / findings", "bold"))
        for f in ev.findings:
            where = f" [{f.sheet}!{f.cell}]" if f.cell else f" [{f.sheet}]" if f.sheet else ""
            colour = "red" if f.severity == "error" else "yellow"
            text = _shown(f"{f.code}{where}: {f.message_zh} / {f.message_en}")  # quotes cell text
            lines.append(f"  {paint(f.severity, colour)} {text}")
    warning = ev.weight_warning()
    if warning:
        lines.append(paint(warning["message_zh"], "dim"))
    print("\n".join(lines))


_ANSI = {"green": "32", "yellow": "33", "red": "31", "dim": "2", "bold": "1"}
#: Control characters (an escape sequence typed into a cell) are never sent to the terminal.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown(text: str) -> str:
    return _CONTROL.sub("\ufffd", text)


def _painter():
    """``paint(text, style)``: ANSI colour on a terminal that shows it, else the text as it is."""
    stream = sys.stdout
    on = (
        hasattr(stream, "isatty")
        and stream.isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM") != "dumb"
        # a classic Windows console shows escape codes as text; Windows Terminal does not
        and (os.name != "nt" or "WT_SESSION" in os.environ)
    )
    if not on:
        return lambda text, _style: text
    return lambda text, style: f"\x1b[{_ANSI[style]}m{text}\x1b[0m"


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


_HEADERS = ("策略績效目標", "衡量指標", "原訂目標值", "實際值", "達成率", "燈號", "績效衡量暨達成情形分析")


def table_lines(ev: Evaluation, paint=lambda text, _style: text) -> list[str]:
    """The Part 4 table, one per period, as lines for a terminal of the current width."""
    plan = ev.plan
    width = shutil.get_terminal_size((80, 24)).columns
    lines: list[str] = []
    for period in plan.periods:
        rows = [r for r in ev.results if r.period == period.id]
        if not rows:
            continue
        cells, styles = [], []
        for r in rows:
            ind = plan.indicator(r.indicator)
            goal = plan.goal_of(ind.id)
            unit = "%" if ind.target.percent else ind.inputs[0].unit
            label, style = LIGHT_STYLE[r.light]
            cells.append(
                [
                    f"{goal.number} {goal.name}({number_text(goal.weight)}%)",
                    f"{ind.name}({number_text(ind.weight)}%)",
                    r.target,
                    f"{number_text(r.value)}{unit}" if r.value is not None else "—",
                    f"{number_text(r.achievement_rate)}%" if r.achievement_rate is not None else "—",
                    label,
                    r.sentence,
                ]
            )
            styles.append({5: style})
        lines += boxed(f"{plan.agency} 達成情形（{period.name}）", _HEADERS, cells, width, styles, paint)
    return lines


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: a wide (CJK) character two, a combining mark none."""
    return sum(
        2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
        for ch in text
    )


def boxed(title, headers, rows, width, styles=(), paint=lambda text, _style: text) -> list[str]:
    """A table in rich's heavy-head box with a line between rows, at most ``width`` columns wide."""
    n = len(headers)
    natural = [
        max(display_width(str(x)) for x in [h, *(row[i] for row in rows)]) for i, h in enumerate(headers)
    ]
    widths = [max(w, 1) for w in natural]
    room = max(width - (3 * n + 1), 4 * n)  # each column: a border and a space either side
    while sum(widths) > room and max(widths) > 4:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    inner = sum(widths) + 3 * n - 1

    def rule(left: str, line: str, cross: str, right: str) -> str:
        return left + cross.join(line * (w + 2) for w in widths) + right

    def body(cells, bar: str, style_of: dict[int, str], bottom: bool = False) -> list[str]:
        folded = [fold(_shown(str(c)), w) for c, w in zip(cells, widths, strict=True)]
        height = max(len(f) for f in folded)
        if bottom:  # headers sit on the rule below them, as rich draws them
            folded = [[""] * (height - len(f)) + f for f in folded]
        out = []
        for k in range(height):
            parts = []
            for i, (f, w) in enumerate(zip(folded, widths, strict=True)):
                text = f[k] if k < len(f) else ""
                pad = " " * (w - display_width(text))
                parts.append(f" {paint(text, style_of[i]) if text and i in style_of else text}{pad} ")
            out.append(bar + bar.join(parts) + bar)
        return out

    title_pad = max(inner + 2 - display_width(title), 0)
    out = [" " * (title_pad // 2) + title]
    out.append(rule("┏", "━", "┳", "┓"))
    out += body(headers, "┃", {i: "bold" for i in range(n)}, bottom=True)
    out.append(rule("┡", "━", "╇", "┩"))
    styles = list(styles) or [{}] * len(rows)
    for k, (row, style_of) in enumerate(zip(rows, styles, strict=True)):
        if k:
            out.append(rule("├", "─", "┼", "┤"))
        out += body(row, "│", style_of)
    out.append(rule("└", "─", "┴", "┘"))
    return out


def fold(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns: broken at a space or beside a wide
    character, and inside a run of narrow ones (a number, a word) only when it is longer
    than a whole line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for token in _tokens(paragraph):
            size = display_width(token)
            if used + size > width and line.strip():
                lines.append(line.rstrip())
                line, used = "", 0
                if token == " ":
                    continue
            while size > width:  # a token longer than a line: folded character by character
                head, took = "", 0
                for ch in token:
                    w = display_width(ch)
                    if took + w > width - used and (head or line):
                        break
                    head, took = head + ch, took + w
                lines.append(line + head)
                token, line, used = token[len(head) :], "", 0
                size = display_width(token)
            line, used = line + token, used + size
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Runs of narrow non-space characters, single spaces, and single wide characters."""
    out: list[str] = []
    run = ""
    for ch in text:
        if ch != " " and unicodedata.east_asian_width(ch) not in "WF":
            run += ch
            continue
        if run:
            out.append(run)
            run = ""
        out.append(ch)
    if run:
        out.append(run)
    return out


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
