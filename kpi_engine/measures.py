"""The single definition of each indicator's computation.

:func:`computation` turns an indicator, a period and a target into an ordered list
of named steps (value, projection, achieved, rate, light, at_risk), each an
:class:`~kpi_engine.expr.Expr`.  The engine evaluates these steps with Decimal;
the workbook writes the very same steps as Excel formulas.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from .expr import Expr, Ref, Value, call, cmp, evaluate, if_
from .plan import Indicator, Options, Period, Target

BLANK = ""


@dataclass(frozen=True)
class Labels:
    """The texts result cells show; the engine maps them back to codes."""

    green: str = "綠燈"
    yellow: str = "黃燈"
    red: str = "紅燈"
    white: str = "白燈"
    met: str = "達成"
    not_met: str = "未達成"
    yes: str = "是"
    no: str = "否"

    def light_code(self, text: Value) -> str:
        """``綠燈`` → ``green``; anything else → ``white``."""
        return {self.green: "green", self.yellow: "yellow", self.red: "red"}.get(str(text), "white")


ZH_LABELS = Labels()
EN_LABELS = Labels("Green", "Yellow", "Red", "White", "Met", "Not met", "Yes", "No")


@dataclass(frozen=True)
class Computation:
    """The named result steps of one indicator in one period."""

    indicator: Indicator
    period: Period
    target: Target
    steps: tuple[tuple[str, Expr], ...]
    labels: Labels

    def run(self, inputs: dict[str, Value]) -> dict[str, Value]:
        """Evaluate every step on the given input values (role → number or None)."""
        env: dict[str, Value] = dict(inputs)
        for name, expr in self.steps:
            env[name] = evaluate(expr, env)
        return {name: env[name] for name, _ in self.steps}


def _isnum(*names: str) -> Expr:
    tests = [call("ISNUMBER", Ref(n)) for n in names]
    return tests[0] if len(tests) == 1 else call("AND", *tests)


def value_expr(ind: Indicator, decimals: int) -> Expr:
    """The indicator's actual value from its inputs, blank when it cannot be computed."""
    if ind.kind == "ratio":
        n, d = Ref("numerator"), Ref("denominator")
        raw = if_(cmp("=", d, 0), BLANK, call("ROUND", n * 100 / d, decimals))
        return if_(_isnum("numerator", "denominator"), raw, BLANK)
    if ind.kind == "growth":
        c, p = Ref("current"), Ref("previous")
        raw = if_(cmp("=", p, 0), BLANK, call("ROUND", (c - p) * 100 / p, decimals))
        return if_(_isnum("current", "previous"), raw, BLANK)
    if ind.kind == "count":
        return if_(_isnum("count"), call("ROUND", Ref("count"), decimals), BLANK)
    if ind.kind == "milestone":
        s = Ref("stage")
        valid = call("AND", cmp(">=", s, 0), cmp("<=", s, len(ind.stages)), cmp("=", s, call("INT", s)))
        percents = [Decimal(0), *(st.percent for st in ind.stages)]
        return if_(_isnum("stage"), if_(valid, call("CHOOSE", s + 1, *percents), BLANK), BLANK)
    raise ValueError(f"unknown kind {ind.kind}")


def projection_factor(ind: Indicator, period: Period, roc_year: int) -> tuple[int, int] | None:
    """(days in year, days elapsed) for a cumulative count in a part-year period, else None."""
    if ind.kind != "count" or not ind.inputs[0].cumulative or period.is_full_year():
        return None
    start, end = period.dates(roc_year)
    year_days = (start.replace(month=12, day=31) - start.replace(month=1, day=1)).days + 1
    elapsed = (end - start.replace(month=1, day=1)).days + 1  # pro rata from 1 January
    return year_days, elapsed


def rate_expr(basis: Expr, ind: Indicator, target: Target, opts: Options) -> Expr:
    """達成率: actual/target×100 (higher is better) or target/actual×100 (lower), capped.

    A missed target is capped just below 100 (99.99 at 2 decimals), so that neither a
    strict target (``<120`` with 120) nor rounding (99.999 → 100.00) shows 100 and a
    green light beside 未達成.
    """
    cap, d = opts.cap, opts.decimals
    t = target.value
    op = target.comparator(ind.polarity)
    full = min(cap, Decimal(100))
    below = min(cap, Decimal(100) - Decimal(1).scaleb(-d))  # the largest rate under 100
    met = cmp(op, basis, t)
    if ind.polarity == "higher":
        if t == 0:  # a zero target cannot be divided by: met → 100, missed → 0
            return if_(met, full, 0)
        return call("ROUND", call("MAX", 0, call("MIN", if_(met, cap, below), basis * 100 / t)), d)
    shortfall = call("ROUND", call("MAX", 0, call("MIN", below, call("MAX", t, 0) * 100 / basis)), d)
    return if_(met, full, shortfall)


@functools.lru_cache(maxsize=4096)  # every argument is frozen; collect computes the same ones over and over
def computation(
    ind: Indicator,
    period: Period,
    opts: Options,
    *,
    roc_year: int,
    target: Target | None = None,
    labels: Labels = ZH_LABELS,
) -> Computation:
    """Build the result steps of ``ind`` for ``period``.

    ``target`` defaults to the indicator's yearly target; pass ``previous_target``
    to assess last year's data.  Steps refer to inputs by role name and to earlier
    steps by step name.
    """
    target = target or ind.target
    opts = ind.options_for(opts)  # an indicator may round to its own decimals
    op = target.comparator(ind.polarity)
    value = Ref("value")
    steps: list[tuple[str, Expr]] = [("value", value_expr(ind, opts.decimals))]
    factor = projection_factor(ind, period, roc_year)
    basis: Expr = value
    if factor:
        year_days, elapsed = factor
        proj = call("ROUND", value * year_days / elapsed, opts.decimals)
        steps.append(("projection", if_(cmp("=", value, BLANK), BLANK, proj)))
        basis = Ref("projection")
    steps.append(
        (
            "achieved",
            if_(cmp("=", value, BLANK), BLANK, if_(cmp(op, value, target.value), labels.met, labels.not_met)),
        )
    )
    steps.append(("rate", if_(cmp("=", basis, BLANK), BLANK, rate_expr(basis, ind, target, opts))))
    rate = Ref("rate")
    lights = opts.lights
    light = if_(
        cmp("=", rate, BLANK),
        labels.white,
        if_(
            cmp(">=", rate, lights.green),
            labels.green,
            if_(cmp(">=", rate, lights.yellow), labels.yellow, labels.red),
        ),
    )
    steps.append(("light", light))
    if factor:
        miss = if_(cmp(op, basis, target.value), labels.no, labels.yes)
        steps.append(("at_risk", if_(cmp("=", basis, BLANK), BLANK, miss)))
    return Computation(ind, period, target, tuple(steps), labels)
