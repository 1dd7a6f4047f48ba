"""The one error a report raises for a choice the user must make or fix."""


class ReportError(ValueError):
    """Nothing to report, a bad output name, or a choice the user has to make (plan, year, period)."""
