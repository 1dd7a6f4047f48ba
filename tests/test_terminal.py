"""The result table ``kpi calculate``/``kpi check`` print (drawn without rich, issue 24)."""

from __future__ import annotations

import re

from bench.genplan import generated_entries, generated_plan_yaml
from kpi_engine import evaluate, parse_plan
from kpi_engine.findings import finding
from workbook.report.terminal import boxed, display_width, fold, print_evaluation

SENTENCE = "截至6月30日止，參訓人數210人，取得及格證書187人，及格率89.05%(187人/210人)，達原訂目標值。"


def test_display_width_counts_wide_characters_twice() -> None:
    assert display_width("及格率89.05%") == 3 * 2 + 6


def test_fold_keeps_numbers_whole_and_lines_within_the_width() -> None:
    for width in (8, 10, 12, 16, 30):
        lines = fold(SENTENCE, width)
        assert "".join(lines) == SENTENCE  # nothing lost or added (no spaces to drop here)
        assert all(display_width(line) <= width for line in lines), (width, lines)
        for number in ("89.05%(187", "210", "187"):
            if display_width(number) <= width:
                assert any(number in line for line in lines), (width, number, lines)


def test_fold_breaks_a_word_longer_than_a_line_and_at_spaces() -> None:
    assert fold("abc defghijklmnopqrstuvwxyz 12", 8) == ["abc", "defghijk", "lmnopqrs", "tuvwxyz", "12"]


def test_box_fits_the_width_with_every_line_as_wide() -> None:
    rows = [["一 推動本處志願服務工作(15%)", "每年志工人數成長比例(15%)", "7%", "—", "—", "白燈", SENTENCE]]
    headers = ("策略績效目標", "衡量指標", "原訂目標值", "實際值", "達成率", "燈號", "績效衡量暨達成情形分析")
    for width in (60, 80, 120):
        lines = boxed("臺中市政府秘書處 達成情形（上半年）", headers, rows, width)
        body = lines[1:]
        assert body[0].startswith("┏") and body[-1].startswith("└")
        widths = {display_width(line) for line in body}
        assert len(widths) == 1 and widths.pop() <= width, (width, lines)
        assert any("89.05%" in line for line in body)


def test_cell_text_cannot_send_control_characters_to_the_terminal(capsys) -> None:
    plan = parse_plan(generated_plan_yaml(3, 3), source="generated")
    entries = {p.id: generated_entries(plan, p.id) for p in plan.periods}
    ev = evaluate(plan, entries, cells=True)
    ind, period = plan.indicators[0], plan.periods[0]
    hostile = "\x1b[2J\x1b]0;owned\x07[/red]"  # clear screen, set title, rich markup
    found = finding(
        "text", indicator=ind.id, input=ind.inputs[0].role, period=period.id, label="x", raw=hostile
    )
    assert "\x1b" in found.message_zh  # the message quotes the cell as typed
    ev.findings = [found.at("一-1 sheet", "C12")]
    print_evaluation(ev)
    out = capsys.readouterr().out
    assert "┏" in out and "C12" in out
    assert not re.search(
        "[\x00-\x08\x0b-\x1f\x7f]", out
    )  # captured output is not a terminal: no colour either
