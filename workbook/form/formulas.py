"""The Excel formula of every result cell, rendered from the engine's computation.

The builder writes these formulas and ``calculate`` compares them with what a
workbook holds, so both use this one function.
"""

from __future__ import annotations

from kpi_engine.evaluate import target_for
from kpi_engine.expr import to_excel
from kpi_engine.measures import CALC_REF, SNAP_PREFIX, Computation, computation
from kpi_engine.plan import Indicator, Period
from workbook.form import layout as L


def indicator_computation(scope: L.Scope, ind: Indicator, period: Period) -> Computation:
    """The computation of one indicator and period, with the scope's year and targets."""
    plan = scope.plan
    return computation(
        ind,
        period,
        plan.options,
        roc_year=scope.year,
        target=target_for(ind, scope.targets),
        phrases=plan.phrases,
        period_names=tuple((p.id, p.name) for p in plan.periods),
    )


def formula_text(ind: Indicator, period: Period, comp: Computation, step: str) -> str:
    """``=…`` formula of one step, referring to inputs and earlier steps by defined name."""
    roles = {spec.role for spec in ind.inputs}

    def ref(name: str) -> str:
        if name in roles:
            return L.input_name(ind, period, name)
        if name == CALC_REF:
            return L.calc_name(ind, period)
        if name.startswith(SNAP_PREFIX):
            return L.snapshot_name(ind, period, name.removeprefix(SNAP_PREFIX))
        return L.step_name(ind, period, name)

    return "=" + to_excel(dict(comp.steps)[step], ref)


_FORMULAS: dict[tuple, dict[str, str]] = {}


def result_formulas(scope: L.Scope) -> dict[str, str]:
    """Defined name → formula for every result cell the scope's workbook holds.

    That includes the 檢核 (``CHK_``) and analysis (``TXT_``) cells: they are formulas too.

    Cached per plan fingerprint and scope: collect asks for the same few scopes
    for every file it reads.
    """
    key = (scope.plan.fingerprint, scope.owner, scope.period_id, scope.year)
    if key not in _FORMULAS:
        if len(_FORMULAS) > 256:
            _FORMULAS.clear()
        _FORMULAS[key] = _render(scope)
    return _FORMULAS[key]


def _render(scope: L.Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for ind in scope.indicators:
        for period in scope.periods:
            comp = indicator_computation(scope, ind, period)
            for step, _ in comp.steps:
                out[L.step_name(ind, period, step)] = formula_text(ind, period, comp, step)
    return out
