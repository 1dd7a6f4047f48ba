"""Consolidation: many submitted workbooks into one trustworthy picture.

Reading files is the workbook layer's job; here we only decide, for submissions
already read and recomputed, which ones count (classification and duplicates) and
what the consolidated rows are.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .evaluate import IndicatorResult
from .findings import Finding
from .plan import Plan

#: Classification of a submitted file, with its zh-TW label.
STATUSES = {
    "ok": "正常",
    "warnings": "有警告",
    "errors": "有錯誤",
    "foreign": "非本系統範本",
    "unreadable": "無法讀取",
    "unknown_plan": "計畫不在彙整範圍",
    "outdated": "範本版本過舊",
    "duplicate": "重複（已被較新的檔案取代）",
}
COUNTED = frozenset({"ok", "warnings", "errors"})


@dataclass
class Submission:
    """One workbook as received, read and recomputed (or not, when unusable)."""

    source: str
    sha256: str
    size: int
    status: str = "foreign"
    reason: str = ""
    plan_id: str = ""
    fingerprint: str = ""
    unit: str = ""
    owner: str = ""
    period: str = ""  # the workbook's period scope ("" = all periods)
    year: int | None = None
    calculated_at: str = ""
    results: list[IndicatorResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def classify(self) -> None:
        """ok / warnings / errors from the findings of a readable, known submission."""
        if any(f.severity == "error" for f in self.findings):
            self.status = "errors"
        elif self.findings:
            self.status = "warnings"
        else:
            self.status = "ok"


@dataclass(frozen=True)
class Row:
    """One consolidated line: unit × indicator × period."""

    plan_id: str
    unit: str
    owner: str
    year: int
    source: str
    result: IndicatorResult


def consolidate(subs: list[Submission], plans: Iterable[Plan]) -> list[Row]:
    """The consolidated rows, one per unit × indicator × period, in plan order.

    When several counted submissions report the same unit, indicator and period,
    the one calculated last wins (ties go to the file read later).  A submission
    none of whose rows survive is marked ``duplicate`` and names its successor.
    Workbooks filled separately by different sections (``--owner``) of one unit
    hold different indicators, so together they make one picture of the unit.
    """
    best: dict[tuple, tuple[tuple[str, int], int, IndicatorResult]] = {}
    for i, s in enumerate(subs):
        if s.status not in COUNTED:
            continue
        for r in s.results:
            key = (s.plan_id, s.unit, s.year, r.period, r.indicator)
            rank = (s.calculated_at, i)
            if key not in best or rank > best[key][0]:
                best[key] = (rank, i, r)
    winners: dict[int, set[tuple]] = {}
    for key, (_, i, _) in best.items():
        winners.setdefault(i, set()).add(key)
    for i, s in enumerate(subs):
        if s.status in COUNTED and s.results and i not in winners:
            key = (s.plan_id, s.unit, s.year, s.results[0].period, s.results[0].indicator)
            later = subs[best[key][1]].source
            s.status = "duplicate"
            s.reason = f"同一單位、期別另有較新的檔案：{later} / superseded by {later}"
    order: dict[tuple, int] = {}
    for plan in plans:
        order.update({(plan.id, ind.id): n for n, ind in enumerate(plan.indicators)})
        order.update({(plan.id, "period", p.id): n for n, p in enumerate(plan.periods)})
    out = [
        Row(subs[i].plan_id, subs[i].unit, subs[i].owner, subs[i].year or 0, subs[i].source, r)
        for _, i, r in best.values()
    ]
    out.sort(
        key=lambda r: (
            r.plan_id,
            r.year,
            r.unit,
            order.get((r.plan_id, "period", r.result.period), 0),
            order.get((r.plan_id, r.result.indicator), 0),
        )
    )
    return out
