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

    @property
    def key(self) -> tuple:
        """What makes two submissions the same report: plan, unit, section, period, year."""
        return (self.plan_id, self.unit, self.owner, self.period, self.year)

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


def resolve_duplicates(subs: list[Submission]) -> None:
    """Mark all but the last-calculated submission of each report as duplicate.

    "Last" is the recorded calculation time; ties go to the file read later.
    """
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(subs):
        if s.status in COUNTED:
            groups.setdefault(s.key, []).append(i)
    for members in groups.values():
        if len(members) < 2:
            continue
        winner = max(members, key=lambda i: (subs[i].calculated_at, i))
        for i in members:
            if i != winner:
                subs[i].status = "duplicate"
                subs[
                    i
                ].reason = f"同一單位、期別另有較新的檔案：{subs[winner].source} / superseded by {subs[winner].source}"


def rows(subs: Iterable[Submission], plans: Iterable[Plan]) -> list[Row]:
    """Consolidated rows of the counted submissions, in plan order.

    Workbooks filled separately by different sections (``--owner``) of one unit
    simply contribute their own indicators, so together they cover the plan.
    """
    order = {}
    for plan in plans:
        for n, ind in enumerate(plan.indicators):
            order[(plan.id, ind.id)] = n
        for n, p in enumerate(plan.periods):
            order[(plan.id, "period", p.id)] = n
    out = [
        Row(s.plan_id, s.unit, s.owner, s.year or 0, s.source, r)
        for s in subs
        if s.status in COUNTED
        for r in s.results
    ]
    out.sort(
        key=lambda r: (
            r.plan_id,
            r.unit,
            order.get((r.plan_id, "period", r.result.period), 0),
            order.get((r.plan_id, r.result.indicator), 0),
        )
    )
    return out
