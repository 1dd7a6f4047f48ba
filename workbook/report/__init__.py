"""Reports: the terminal table (``print_evaluation``) and the Part 4 document (``kpi report``)."""

from .terminal import LIGHT_STYLE, print_evaluation

__all__ = ["LIGHT_STYLE", "print_evaluation"]
