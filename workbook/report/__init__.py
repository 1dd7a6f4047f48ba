"""Reports: the terminal table (``print_evaluation``) and the Part 4 document (``kpi report``)."""

from workbook.report.terminal import LIGHT_STYLE, print_evaluation

__all__ = ["LIGHT_STYLE", "print_evaluation"]
