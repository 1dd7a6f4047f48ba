"""The Excel formula of every result cell, rendered from the engine's computation.

The builder writes these formulas and ``calculate`` compares them with what a
workbook holds, so both use this one function.
"""

from __future__ import annotations

from kpi_engine.evaluate import target_for
from kpi_engine.expr import to_excel
from kpi_engine.measures import Computation, computation
from kpi_engine.plan import Indicator, Period

from . import layout as L


def indicator_computation(scope: L.Scope, ind: Indicator, period: Period) -> Computation:
    """The computation of one indicator and period, with the scope's year and targets."""
    target = target_for(ind, scope.targets)
    return computation(ind, period, scope.plan.options, roc_year=scope.year, target=target)


def formula_text(ind: Indicator, period: Period, comp: Computation, step: str) -> str:
    """``=…`` formula of one step, referring to inputs and earlier steps by defined name."""
    roles = {spec.role for spec in ind.inputs}

    def ref(name: str) -> str:
        return L.input_name(ind, period, name) if name in roles else L.result_name(ind, period, name)

    return "=" + to_excel(dict(comp.steps)[step], ref)


_FORMULAS: dict[tuple, dict[str, str]] = {}


def result_formulas(scope: L.Scope) -> dict[str, str]:
    """Defined name → formula for every result cell the scope's workbook holds.

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
                out[L.result_name(ind, period, step)] = formula_text(ind, period, comp, step)
    return out
