"""Where things live in a KPI workbook: sheet names, defined names and metadata keys.

Every reader finds cells through the workbook-scoped defined names built here,
never by fixed address, so rows a clerk inserts break nothing.  Names are derived
from plan ids, so the plan alone says which names a workbook must have.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kpi_engine.plan import Indicator, Period, Plan, PlanItem

TEMPLATE_VERSION = "3"  # 2: checks, 檢核 and the analysis are live formulas; 3: calculate writes only _kpi
PRODUCT = "kpi-workbook"

SHEET_GUIDE = "填表說明"
SHEET_KPI = "關鍵績效指標"
SHEET_ITEMS = "重要施政計畫"
SHEET_SUMMARY = "達成情形"
SHEET_FINDINGS = "檢核結果"
SHEET_META = "_kpi"  # very hidden: plan id, fingerprint, plan text, unit, period

#: Rows reserved on the findings sheet; more findings than this are summarised.
FINDINGS_CAPACITY = 200
#: Metadata keys in the very hidden sheet, in order.
META_KEYS = (
    "product",
    "template_version",
    "plan_id",
    "plan_fingerprint",
    "data_year",
    "targets",
    "unit",
    "owner",
    "period",
    "input_digest",
    "calculated_at",
)
PLAN_TEXT_CHUNK = 30000
#: First column of the calculate state (CALC_ then SNAP_ per input) in the metadata sheet.
STATE_COLUMN = 4  # an Excel cell holds at most 32,767 characters

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def indicator_sheet(plan: Plan, ind: Indicator) -> str:
    """The sheet name of one indicator: ``二-1 本府採購專業人員…`` (≤ 31 characters)."""
    goal = plan.goal_of(ind.id)
    position = goal.indicators.index(ind) + 1
    name = _BAD_SHEET_CHARS.sub("", f"{goal.number or goal.id}-{position} {ind.name}")
    return name[:31]


def _defined(prefix: str, owner: Indicator | PlanItem, period: Period, *rest: str) -> str:
    """``PREFIX_owner_period`` (then ``_role`` or ``_step``): how every per-period name is spelled."""
    return "_".join((prefix, owner.id, period.id, *rest))


def input_name(ind: Indicator, period: Period, role: str) -> str:
    """Defined name of an input cell."""
    return _defined("IN", ind, period, role)


def result_name(ind: Indicator, period: Period, step: str) -> str:
    """Defined name of a result cell (a step of the computation)."""
    return _defined("OUT", ind, period, step)


def sentence_name(ind: Indicator, period: Period) -> str:
    """Defined name of the generated analysis sentence."""
    return _defined("TXT", ind, period)


def notes_name(ind: Indicator, period: Period) -> str:
    """Defined name of staff's own notes (an input cell)."""
    return _defined("NOTE", ind, period)


def status_name(ind: Indicator, period: Period) -> str:
    """Defined name of the check status of one indicator and period."""
    return _defined("CHK", ind, period)


def step_name(ind: Indicator, period: Period, step: str) -> str:
    """Defined name of the cell that shows a step of the computation.

    The 檢核 status and the analysis sentence keep their own names (``CHK_``, ``TXT_``);
    every other step is an ``OUT_`` result.
    """
    if step == "status":
        return status_name(ind, period)
    if step == "sentence":
        return sentence_name(ind, period)
    return result_name(ind, period, step)


def calc_name(ind: Indicator, period: Period) -> str:
    """Defined name of what the last calculate found for one indicator and period (in ``_kpi``)."""
    return _defined("CALC", ind, period)


def snapshot_name(ind: Indicator, period: Period, role: str) -> str:
    """Defined name of an input's value at the last calculate (in ``_kpi``)."""
    return _defined("SNAP", ind, period, role)


def progress_name(item: PlanItem, period: Period) -> str:
    """Defined name of a Part 3 item's 執行進度 (0–100) input."""
    return _defined("PROG", item, period)


def progress_text_name(item: PlanItem, period: Period) -> str:
    """Defined name of a Part 3 item's 執行情形 text input."""
    return _defined("DESC", item, period)


FINDINGS_NAME = "KPI_FINDINGS"  # the first row of the findings table
STATUS_NAME = "KPI_STATUS"  # the workbook-level status line on the guide sheet
#: The 填報單位 input cell on the guide sheet of a template made without a unit.
UNIT_NAME = "KPI_UNIT"
#: Defined name marking a summary workbook written by ``kpi collect`` (so a later collect skips it).
SUMMARY_MARK = "KPI_SUMMARY"
#: The first cell of calculate's report in ``_kpi`` (issue 22): row 1 the status line, then
#: FINDINGS_CAPACITY findings rows, REPORT_COLUMNS wide.  The visible status line and 檢核結果
#: show it cell by cell by formula; calculate writes nothing else staff see.
RECORD_NAME = "KPI_RECORD"
#: Columns of a findings row, zh-TW first; the code last (a hidden column on 檢核結果).
REPORT_COLUMNS = ("序號", "嚴重度", "說明", "工作表", "儲存格", "期別", "Message", "代碼")


@dataclass(frozen=True)
class Scope:
    """What one workbook holds: the plan, and optionally one section and one period."""

    plan: Plan
    owner: str | None = None
    period_id: str | None = None
    unit: str = ""
    data_year: int | None = None  # ROC year of the counts; default the plan's year

    @property
    def year(self) -> int:
        """ROC year whose calendar and targets apply."""
        return self.data_year or self.plan.year

    @property
    def targets(self) -> str:
        """``previous`` when the counts are last year's (as in the plan's Part 4)."""
        return "previous" if self.year == self.plan.year - 1 else "current"

    @property
    def indicators(self) -> tuple[Indicator, ...]:
        """Indicators this workbook holds."""
        return tuple(i for i in self.plan.indicators if self.owner in (None, i.owner))

    @property
    def periods(self) -> tuple[Period, ...]:
        """Periods this workbook holds."""
        return tuple(p for p in self.plan.periods if self.period_id in (None, p.id))

    @property
    def items(self) -> tuple[PlanItem, ...]:
        """Part 3 items this workbook holds (the owner's work plans, or all).

        A work plan belongs to the section that owns it: its ``owner`` (承辦單位, spelt as the
        indicators' owner) where the plan gives one, else the section named as the work plan
        (the seed's 採購管理業務).  The agency-wide template (no owner) holds every item.
        """
        return tuple(
            item for w in self.plan.work_plans if self.owner in (None, w.owner or w.name) for item in w.items
        )

    def input_names(self) -> list[tuple[Indicator, Period, str, str]]:
        """Every count input: (indicator, period, role, defined name)."""
        return [
            (ind, p, spec.role, input_name(ind, p, spec.role))
            for ind in self.indicators
            for p in self.periods
            for spec in ind.inputs
        ]


_T = TypeVar("_T")
#: Forms a :func:`per_form` cache holds at most (collect reads a few templates' returns).
PER_FORM_ENTRIES = 64


def per_form(build: Callable[[Scope], _T]) -> Callable[[Scope], _T]:
    """``build(scope)`` computed once per form: the plan (this very object), owner, period and data
    year, which are all that defined names and computation steps depend on; never the unit, which
    differs in each return of one template (collect asks the same form's names for every return).
    The value is shared between callers: read it, never change it."""
    cache: dict[tuple, tuple[Plan, Any]] = {}

    @functools.wraps(build)
    def cached(scope: Scope) -> _T:
        key = (id(scope.plan), scope.owner, scope.period_id, scope.data_year)
        hit = cache.get(key)
        if hit is not None and hit[0] is scope.plan:  # held here, so its id is not reused
            return hit[1]
        if len(cache) >= PER_FORM_ENTRIES:
            cache.clear()
        value = build(scope)
        cache[key] = (scope.plan, value)
        return value

    return cached
