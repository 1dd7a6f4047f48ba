"""The one error a report raises for a choice the user must make or fix."""

from kpi_engine.errors import KpiError


class ReportError(KpiError, ValueError):
    """Nothing to report, a bad output name, or a choice the user has to make (plan, year, period)."""

    code = "report"
