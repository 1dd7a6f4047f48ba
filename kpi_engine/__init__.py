"""KPI Workbook engine: plan model, measures, checks, narrative and evaluation.

This package imports no Excel library.  The short API::

    from kpi_engine import load_plan, evaluate
    plan = load_plan()                       # the embedded default plan
    ev = evaluate(plan, {"上半年": {"procurement_pass_rate": {"numerator": 187, "denominator": 210}}})
    ev.result("procurement_pass_rate", "上半年").value   # Decimal('89.05')
"""

from .evaluate import EntriesError, Evaluation, IndicatorResult, evaluate
from .findings import Finding
from .plan import Indicator, Plan
from .plan_loader import PlanError, default_plan_path, load_plan, parse_plan

__all__ = [
    "EntriesError",
    "Evaluation",
    "Finding",
    "Indicator",
    "IndicatorResult",
    "Plan",
    "PlanError",
    "default_plan_path",
    "evaluate",
    "load_plan",
    "parse_plan",
    "sample_entries",
]

__version__ = "0.1.0"


def sample_entries(plan: Plan) -> dict:
    """The plan's sample counts as entries for :func:`evaluate` (empty if none)."""
    if plan.sample is None:
        return {}
    return {plan.sample.period: plan.sample.entries}
