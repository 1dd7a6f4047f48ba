"""The standard analysis sentence (績效衡量暨達成情形分析) of each indicator.

The plan gives the phrase; the numbers come from the engine.  Staff's own notes are
kept in their own cell; the workbook prints them after the generated sentence.
"""

from __future__ import annotations

from decimal import Decimal

from .expr import format_number, round_half_up
from .plan import Indicator, Period, Phrases, Target

#: Used when an indicator's plan entry carries no sentence of its own.
DEFAULT_SENTENCES = {
    "ratio": "截至{end}止，{denominator_label}{denominator}{denominator_unit}，{numerator_label}{numerator}{numerator_unit}，"
    "{name}{value}%({numerator}{numerator_unit}/{denominator}{denominator_unit})，{verdict}，達成率{rate}%。",
    "growth": "截至{end}止，{current_label}{current}{current_unit}，{previous_label}{previous}{previous_unit}，"
    "{name}{value}%，{verdict}，達成率{rate}%。",
    "count": "截至{end}止共計{count}{count_unit}，{verdict}{outlook}，達成率{rate}%。",
    "milestone": "截至{end}止，已達第{stage}階段「{stage_label}」，完成度{value}%，{verdict}，達成率{rate}%。",
}


def number_text(d: Decimal | None) -> str:
    """A number as printed in analyses: thousands separators, no trailing zeros."""
    if d is None:
        return ""
    text = format_number(d)
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-')):,}"
    return sign + whole + (f".{frac}" if frac else "")


def sentence(
    ind: Indicator,
    period: Period,
    roc_year: int,
    phrases: Phrases,
    inputs: dict[str, Decimal | None],
    result: dict[str, object],
    achieved: bool | None,
    at_risk: bool | None,
    target: Target,
) -> str:
    """Fill the indicator's phrase with the computed numbers.

    Returns the plan's 'pending' phrase when nothing can be computed yet.
    """
    value = result.get("value")
    if not isinstance(value, Decimal):
        return phrases.pending.format(end=period.end_text(), period=period.name, year=roc_year)
    fields: dict[str, object] = {
        "end": period.end_text(),
        "year": roc_year,
        "period": period.name,
        "name": ind.name,
        "value": number_text(value),
        "target": target.shown,
        "verdict": phrases.met if achieved else phrases.not_met,
        "rate": number_text(result.get("rate")),  # type: ignore[arg-type]
        "projection": "",
        "outlook": "",
    }
    for spec in ind.inputs:
        fields[spec.role] = number_text(inputs.get(spec.role))
        fields[f"{spec.role}_unit"] = spec.unit
        fields[f"{spec.role}_label"] = spec.label
    projection = result.get("projection")
    if isinstance(projection, Decimal):
        unit = ind.inputs[0].unit
        shown = number_text(round_half_up(projection, 0))
        fields["projection"] = shown
        outlook = phrases.at_risk if at_risk else phrases.on_track
        fields["outlook"] = f"，推估全年度約{shown}{unit}，{outlook}"
    if ind.kind == "milestone":
        stage = inputs.get("stage")
        index = int(stage) if stage is not None else 0
        fields["stage_label"] = ind.stages[index - 1].label if index >= 1 else "尚未開始"
    template = ind.sentence or DEFAULT_SENTENCES[ind.kind]
    return template.format(**fields)
