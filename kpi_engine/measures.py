"""The single definition of each indicator's computation.

:func:`computation` turns an indicator, a period and a target into an ordered list
of named steps (value, projection, achieved, rate, light, at_risk), each an
:class:`~kpi_engine.expr.Expr`.  The engine evaluates these steps with Decimal;
the workbook writes the very same steps as Excel formulas.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from .expr import Expr, Ref, Str, Value, call, cmp, decimal_context, if_, join
from .expr_compile import Step, step_function, walker
from .kinds import input_error_expr as input_error_expr  # the per-input check, importable from here
from .kinds import is_blank as is_blank
from .kinds import is_number as is_number
from .kinds import kind_of, sum_of
from .labels import EN_LABELS as EN_LABELS  # kept importable from here
from .labels import ZH_LABELS, Labels
from .narrative import sentence_expr
from .plan import Indicator, Options, Period, Phrases, Target

BLANK = ""
DEFAULT_PHRASES = Phrases()


#: Reference names of what the last calculate recorded (see :func:`status_expr`).
CALC_REF = "calc"
SNAP_PREFIX = "snap:"
#: How calculate's record starts when it found an error no formula can see (a date typed
#: into a count is a number to formulas).  While the inputs equal the snapshot, the
#: ``errors`` step counts it, so no value or sentence is shown from such inputs.
HELD_MARK = "公式無法檢核的錯誤："


@dataclass(frozen=True)
class Computation:
    """The named result steps of one indicator in one period."""

    indicator: Indicator
    period: Period
    target: Target
    steps: tuple[tuple[str, Expr], ...]
    labels: Labels

    def run(self, inputs: Mapping[str, Value]) -> dict[str, Value]:
        """Evaluate every step on the given cell values (role → value, plus ``calc``/``snap:`` refs)."""
        with decimal_context():
            return self.run_in_context(inputs)

    def run_in_context(self, inputs: Mapping[str, Value]) -> dict[str, Value]:
        """:meth:`run` for a caller already inside :func:`~kpi_engine.expr.decimal_context`
        (:func:`kpi_engine.evaluate.evaluate` enters it once for all its indicators)."""
        steps = self.__dict__.get("_steps") or self._step_functions()
        env: dict[str, Value] = dict(inputs)
        out: dict[str, Value] = {}
        for name, step in steps:
            out[name] = env[name] = step(env)
        return out

    def _step_functions(self) -> tuple[tuple[str, Step], ...]:
        """Each step compiled once its shape is hot (:mod:`kpi_engine.expr_compile`), else walked;
        kept once every step is compiled."""
        fast = [(name, step_function(expr)) for name, expr in self.steps]
        if all(fn is not None for _, fn in fast):
            steps = tuple(fast)  # type: ignore[arg-type]
            object.__setattr__(self, "_steps", steps)
            return steps
        return tuple(
            (name, fn or walker(expr)) for (name, fn), (_, expr) in zip(fast, self.steps, strict=True)
        )


def errors_expr(ind: Indicator, assessed: bool) -> Expr:
    """How many input checks fail: the rules that decide whether a result may be shown.

    Per input, :func:`~kpi_engine.kinds.input_error_expr` (a formula, not a number,
    negative, not whole, too large, a stage out of range, a zero divisor, a part above
    its whole); per indicator some inputs blank but not all (assessed periods only),
    and an error the last calculate found that no formula can see (:data:`HELD_MARK`).
    The same rules report findings in :mod:`kpi_engine.checks`.
    """
    roles = [spec.role for spec in ind.inputs]
    terms: list[Expr] = [input_error_expr(ind, role) for role in roles]
    if assessed and len(roles) > 1:
        all_blank = call("AND", *(is_blank(Ref(r)) for r in roles))
        terms += [if_(is_blank(Ref(r)), if_(all_blank, 0, 1), 0) for r in roles]
    calc = Ref(CALC_REF)
    held = call("AND", cmp("=", call("LEFT", calc, len(HELD_MARK)), HELD_MARK), unchanged_expr(ind))
    terms.append(if_(held, 1, 0))
    return sum_of(terms)


def unchanged_expr(ind: Indicator) -> Expr:
    """Every input still equals the snapshot the last calculate took (``snap:<role>``)."""
    roles = [spec.role for spec in ind.inputs]
    return call(
        "AND", *(call("IFERROR", call("EXACT", Ref(r), Ref(SNAP_PREFIX + r)), _false()) for r in roles)
    )


def value_expr(ind: Indicator, decimals: int) -> Expr:
    """The indicator's actual value from its inputs (its kind's expression), blank when it cannot be computed.

    The caller gates it on :func:`errors_expr`; the guards here only keep Excel
    from an error value (#DIV/0!, #VALUE!) whatever the inputs.
    """
    return kind_of(ind).value(ind, decimals)


def projection_factor(ind: Indicator, period: Period, roc_year: int) -> tuple[int, int] | None:
    """(days in year, days elapsed) for a running total projected in a part-year period, else None.

    Only a kind that projects (a count) does, and only while its input is cumulative: a
    stock, an average and a non-cumulative count are compared as they stand.
    """
    if not kind_of(ind).projected or not ind.inputs[0].cumulative or period.is_full_year():
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


def status_expr(ind: Indicator, assessed: bool, labels: Labels) -> Expr:
    """The 檢核 cell: failing checks counted live, else what the last calculate found.

    It never says 「無誤」 on its own: that text comes only from calculate (the
    ``calc`` reference), and only while every input still equals the snapshot
    calculate took (``snap:<role>``); otherwise it asks for a calculation.
    """
    errors = Ref("errors")
    before, _, after = labels.invalid_count.partition("{n}")
    bad = join(before, errors, after)
    if not assessed:
        return if_(cmp(">", errors, 0), bad, labels.not_assessed)
    roles = [spec.role for spec in ind.inputs]
    calc = Ref(CALC_REF)
    last = if_(cmp("=", calc, BLANK), labels.uncalculated, if_(unchanged_expr(ind), calc, labels.changed))
    all_blank = call("AND", *(is_blank(Ref(r)) for r in roles)) if len(roles) > 1 else is_blank(Ref(roles[0]))
    return if_(cmp(">", errors, 0), bad, if_(all_blank, labels.unfilled, last))


def _false() -> Expr:
    return cmp("=", 1, 0)  # FALSE without a boolean literal, in every client


def computation(
    ind: Indicator,
    period: Period,
    opts: Options,
    *,
    roc_year: int,
    target: Target | None = None,
    labels: Labels = ZH_LABELS,
    phrases: Phrases = DEFAULT_PHRASES,
    period_names: tuple[tuple[str, str], ...] = (),
) -> Computation:
    """Build the result steps of ``ind`` for ``period`` (see :func:`_computation`).

    Remembered by its arguments spelt one way (a default passed or left out is the same
    key): a calculate asks for each computation from the engine, the formulas and the
    repairs, and collect asks for the same ones for every file.
    """
    return _computation(ind, period, opts, roc_year, target or ind.target, labels, phrases, period_names)


#: Computations remembered.  Their trees share every node they have in common
#: (:class:`~kpi_engine.expr.Expr` nodes are interned), so one costs a few KB.
COMPUTATIONS_KEPT = 4096


@functools.lru_cache(maxsize=COMPUTATIONS_KEPT)  # every argument is frozen
def _computation(
    ind: Indicator,
    period: Period,
    opts: Options,
    roc_year: int,
    target: Target,
    labels: Labels,
    phrases: Phrases,
    period_names: tuple[tuple[str, str], ...],
) -> Computation:
    """Build the result steps of ``ind`` for ``period``.

    ``target`` defaults to the indicator's yearly target; pass ``previous_target``
    to assess last year's data.  Steps refer to inputs by role name and to earlier
    steps by step name: ``errors`` (failing input checks), ``value``, ``projection``
    (part-year running counts), ``achieved``, ``rate``, ``light``, ``at_risk``,
    ``status`` (the 檢核 cell) and ``sentence`` (the analysis).  While any check
    fails, or in a period the indicator is not assessed in, there is no value,
    no rate and a white light.
    """
    assessed = not ind.assessed_in or period.id in ind.assessed_in
    opts = ind.options_for(opts)  # an indicator may round to its own decimals
    op = target.comparator(ind.polarity)
    value = Ref("value")
    errors = Ref("errors")
    factor = projection_factor(ind, period, roc_year)
    steps: list[tuple[str, Expr]] = [("errors", errors_expr(ind, assessed))]
    if not assessed:  # e.g. volunteers are recruited and counted only at year end
        steps.append(("value", Str(BLANK)))
        if factor:
            steps.append(("projection", Str(BLANK)))
        steps += [("achieved", if_(cmp(">", errors, 0), labels.invalid, BLANK)), ("rate", Str(BLANK))]
        steps.append(("light", Str(labels.white)))
        if factor:
            steps.append(("at_risk", Str(BLANK)))
    else:
        steps.append(("value", if_(cmp(">", errors, 0), BLANK, value_expr(ind, opts.decimals))))
        basis: Expr = value
        if factor:
            year_days, elapsed = factor
            # A projected count is a count: a whole number of its unit (127 defects, not 127.04).
            proj = call("ROUND", value * year_days / elapsed, 0)
            steps.append(("projection", if_(cmp("=", value, BLANK), BLANK, proj)))
            basis = Ref("projection")
            # Before year end a running total is judged on its projection: on schedule or behind.
            verdict = if_(cmp(op, basis, target.value), labels.on_schedule, labels.behind)
        else:
            verdict = if_(cmp(op, value, target.value), labels.met, labels.not_met)
        if target.unset:  # 待設定: the value is computed, nothing is compared or rated
            verdict = Str(labels.target_unset)
        steps.append(
            (
                "achieved",
                if_(cmp(">", errors, 0), labels.invalid, if_(cmp("=", value, BLANK), BLANK, verdict)),
            )
        )
        rated = Str(BLANK) if target.unset else rate_expr(basis, ind, target, opts)
        steps.append(("rate", if_(cmp("=", basis, BLANK), BLANK, rated)))
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
            miss = Str(BLANK) if target.unset else if_(cmp(op, basis, target.value), labels.no, labels.yes)
            steps.append(("at_risk", if_(cmp("=", basis, BLANK), BLANK, miss)))
    steps.append(("status", status_expr(ind, assessed, labels)))
    sentence = sentence_expr(
        ind,
        period,
        roc_year,
        phrases,
        target,
        opts,
        labels,
        assessed,
        projected=factor is not None,
        period_names=period_names,
    )
    steps.append(("sentence", sentence))
    return Computation(ind, period, target, tuple(steps), labels)
