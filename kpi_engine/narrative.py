"""The standard analysis sentence (績效衡量暨達成情形分析) of each indicator.

The plan gives the phrase; :func:`sentence_expr` turns it into an expression over
the computation's own steps, so the engine's sentence and the workbook's live
formula (numbers printed with ``TEXT``) are one definition and never disagree.
Staff's own notes are kept in their own cell; the workbook prints them after the
generated sentence.
"""

from __future__ import annotations

import re
import string
from decimal import Decimal

from .expr import Expr, Ref, Str, call, cmp, format_number, if_, join
from .kinds import KINDS, kind_of
from .labels import Labels
from .plan import UNSET_SHOWN, Indicator, Options, Period, Phrases, Target

#: Used when an indicator's plan entry carries no sentence of its own (each kind's record has one).
DEFAULT_SENTENCES = {code: kind.sentence for code, kind in KINDS.items()}


def number_text(d: Decimal | None) -> str:
    """A number as printed in analyses: thousands separators, no trailing zeros."""
    if d is None:
        return ""
    text = format_number(d)
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-')):,}"
    return sign + whole + (f".{frac}" if frac else "")


def number_expr(x: Expr, decimals: int) -> Expr:
    """:func:`number_text` as a formula: ``TEXT`` with separators, no trailing zeros.

    Whole numbers take ``#,##0``: Excel would print ``100.`` for ``#,##0.##``.
    """
    whole = call("TEXT", x, "#,##0")
    if decimals <= 0:
        return whole
    return if_(cmp("=", x, call("INT", x)), whole, call("TEXT", x, "#,##0." + "#" * decimals))


def fields_of(template: str) -> list[tuple[str, str | None]]:
    """The template as (literal text, field name or None) pieces."""
    return [(lit, name) for lit, name, _, _ in string.Formatter().parse(template)]


def sentence_expr(
    ind: Indicator,
    period: Period,
    roc_year: int,
    phrases: Phrases,
    target: Target,
    opts: Options,
    labels: Labels,
    assessed: bool,
    *,
    projected: bool = False,
    period_names: tuple[tuple[str, str], ...] = (),
) -> Expr:
    """The analysis sentence of ``ind`` in ``period`` as an expression over the steps.

    Not assessed this period → the plan's 'not this period' phrase; failing input
    checks → the 'invalid' phrase; nothing to compute yet → the 'pending' phrase;
    else the indicator's phrase with every number filled in.
    """
    end = period.end_text()
    if not assessed:
        known = dict(period_names)
        names = "、".join(known.get(p, p) for p in ind.assessed_in)
        return Str(phrases.not_this_period.format(periods=names, end=end, period=period.name, year=roc_year))
    pending = phrases.pending.format(end=end, period=period.name, year=roc_year)
    invalid = phrases.invalid.format(end=end, period=period.name, year=roc_year)
    d = opts.decimals
    fields: dict[str, Expr | str] = {
        "end": end,
        "year": str(roc_year),
        "period": period.name,
        "name": ind.name,
        "value": number_expr(Ref("value"), d),
        "target": target.shown,
        "verdict": _verdict(phrases, labels),
        "rate": number_expr(Ref("rate"), d),
        "projection": "",
        "outlook": "",
        "stage_label": "",
    }
    for spec in ind.inputs:
        fields[spec.role] = number_expr(Ref(spec.role), 0)
        fields[f"{spec.role}_unit"] = spec.unit
        fields[f"{spec.role}_label"] = spec.label
    if projected:
        fields["projection"] = number_expr(Ref("projection"), 0)
        fields["outlook"] = _outlook(ind, phrases, labels)
    if kind_of(ind).staged:
        labels_ = ["尚未開始", *(st.label for st in ind.stages)]
        fields["stage_label"] = call("CHOOSE", Ref("stage") + 1, *labels_)
    template = ind.sentence or DEFAULT_SENTENCES[ind.kind]
    if target.unset:  # 待設定: the figures are told, no verdict, rate or outlook is made up
        fields["verdict"] = UNSET_VERDICT
        fields["outlook"] = ""
        template = _RATE_CLAUSE.sub("", template)
    filled = _fill(template, fields)
    return if_(
        cmp(">", Ref("errors"), 0),
        invalid,
        if_(cmp("=", Ref("value"), ""), pending, filled),
    )


#: What an analysis says in place of 達成/未達成 while the target is 「待設定」.
UNSET_VERDICT = f"{UNSET_SHOWN}，未評估達成情形"
_RATE_CLAUSE = re.compile(r"[，,、]?\s*達成率\s*\{rate\}\s*%")


def _verdict(phrases: Phrases, labels: Labels) -> Expr:
    """The plan's phrase for what the ``achieved`` step shows (達成, 未達成, 符合進度, 進度落後)."""
    achieved = Ref("achieved")
    return if_(
        cmp("=", achieved, labels.met),
        phrases.met,
        if_(
            cmp("=", achieved, labels.not_met),
            phrases.not_met,
            if_(cmp("=", achieved, labels.on_schedule), phrases.on_schedule, phrases.behind),
        ),
    )


def _outlook(ind: Indicator, phrases: Phrases, labels: Labels) -> Expr:
    """「，推估全年度約 127 件，…」 after a running count's verdict; nothing without a projection."""
    proj = Ref("projection")
    outlook = if_(cmp("=", Ref("at_risk"), labels.yes), phrases.at_risk, phrases.on_track)
    return if_(
        cmp("=", proj, ""),
        "",
        join("，推估全年度約", number_expr(proj, 0), ind.inputs[0].unit, "，", outlook),
    )


def _fill(template: str, fields: dict[str, Expr | str]) -> Expr:
    """The template with each ``{field}`` replaced by its text or expression."""
    parts: list[Expr | str] = []
    for literal, name in fields_of(template):
        parts.append(literal)
        if name is not None:
            if name not in fields:
                raise KeyError(name)
            parts.append(fields[name])
    return join(*parts)
