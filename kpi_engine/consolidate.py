"""Consolidation: many submitted workbooks into one trustworthy picture.

Reading files is the workbook layer's job; here we only decide, for submissions
already read and recomputed, which ones count (classification and versions) and
what the consolidated rows are.

Submissions are merged **per input cell**: for each unit, year, period, indicator
and input the newest non-blank value wins, so sections that each fill their own
part of one shared template make one picture, and a blank never overwrites a
number.  "Newest" is the workbook's own saved time, then the email's Date, then
the file's modification time; whether a file was calculated does not matter,
because every result is recomputed here.  A file none of whose values survive is
``duplicate`` and names the file(s) that replaced it.  Two different numbers for
the same input, where the older file was not simply replaced as a whole period,
are a ``conflict`` that names both files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .evaluate import IndicatorResult, evaluate
from .findings import Finding, finding
from .plan import Plan

#: Classification of a submitted file, with its zh-TW label.
STATUSES = {
    "ok": "正常",
    "warnings": "有警告",
    "errors": "有錯誤",
    "foreign": "非本系統範本",
    "unreadable": "無法讀取",
    "unsupported": "格式不支援",
    "unknown_plan": "計畫不在彙整範圍",
    "outdated": "範本版本過舊",
    "duplicate": "重複（已被較新的檔案取代）",
    "summary": "彙總檔（略過）",
    "ignored": "非試算表（略過）",
}
COUNTED = frozenset({"ok", "warnings", "errors"})
#: Staff text fields: 補充說明 of an indicator, 執行進度 and 執行情形 of a Part 3 item.
TEXT_FIELDS = ("note", "progress", "description")


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
    saved_at: str = ""  # the workbook's own last-saved time (docProps), UTC
    sent_at: str = ""  # the Date of the email it came in, UTC
    mtime: str = ""  # the file's (or archive member's) modification time, UTC
    results: list[IndicatorResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: Staff's own text: (field, period id, indicator or item id) → text or number, blanks left out.
    texts: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    def classify(self) -> None:
        """ok / warnings / errors from the findings of a readable, known submission."""
        if any(f.severity == "error" for f in self.findings):
            self.status = "errors"
        elif self.findings:
            self.status = "warnings"
        else:
            self.status = "ok"

    @property
    def when(self) -> str:
        """The time that decides which version is newest, as shown to staff."""
        return self.saved_at or self.sent_at or self.mtime


@dataclass(frozen=True)
class Row:
    """One consolidated line: unit × indicator × period."""

    plan_id: str
    unit: str
    owner: str
    year: int
    source: str
    result: IndicatorResult
    note: str = ""  # 補充說明


@dataclass(frozen=True)
class ItemRow:
    """One Part 3 line: unit × 重要施政計畫 item × period, with staff's progress and text."""

    plan_id: str
    unit: str
    year: int
    period: str
    item: str
    progress: Any
    description: str
    source: str


def _rank(s: Submission, i: int) -> tuple:
    return (s.saved_at, s.sent_at, s.mtime, i)


def _cells(s: Submission) -> dict[tuple, Any]:
    out: dict[tuple, Any] = {}
    for r in s.results:
        for role, v in r.inputs.items():
            if v is not None:
                out[("in", r.period, r.indicator, role)] = v
    for (fld, period, target), v in s.texts.items():
        if v not in (None, ""):
            out[(fld, period, target, "")] = v
    return out


def merge(subs: list[Submission], plans: Iterable[Plan]) -> tuple[list[Row], list[ItemRow]]:
    """The consolidated rows and Part 3 rows; marks replaced files and adds conflicts."""
    plans = list(plans)
    by_id = {p.id: p for p in plans}
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(subs):
        if s.status in COUNTED and s.unit and s.plan_id in by_id:
            groups.setdefault((s.plan_id, s.unit, s.year or 0), []).append(i)
    rows: list[Row] = []
    items: list[ItemRow] = []
    for (plan_id, unit, year), members in groups.items():
        plan = by_id[plan_id]
        members.sort(key=lambda i: _rank(subs[i], i), reverse=True)  # newest first
        cells = {i: _cells(subs[i]) for i in members}
        winner: dict[tuple, int] = {}
        for i in members:
            for key in cells[i]:
                winner.setdefault(key, i)
        _versions(plan, subs, members, cells, winner)
        _filled_elsewhere(subs, members, winner)
        rows += _rows(plan, unit, year, subs, members, cells, winner)
        items += _items(plan, unit, year, subs, cells, winner)
    order: dict[tuple, int] = {}
    for plan in plans:
        order.update({(plan.id, ind.id): n for n, ind in enumerate(plan.indicators)})
        order.update({(plan.id, "period", p.id): n for n, p in enumerate(plan.periods)})
        order.update(
            {(plan.id, "item", it.id): n for n, it in enumerate(i for w in plan.work_plans for i in w.items)}
        )

    def period_order(plan_id: str, period: str) -> int:
        return order.get((plan_id, "period", period), 0)

    rows.sort(
        key=lambda r: (
            r.plan_id,
            r.year,
            r.unit,
            period_order(r.plan_id, r.result.period),
            order.get((r.plan_id, r.result.indicator), 0),
        )
    )
    items.sort(
        key=lambda r: (
            r.plan_id,
            r.year,
            r.unit,
            period_order(r.plan_id, r.period),
            order.get((r.plan_id, "item", r.item), 0),
        )
    )
    return rows, items


def consolidate(subs: list[Submission], plans: Iterable[Plan]) -> list[Row]:
    """The consolidated rows, one per unit × indicator × period, in plan order (see :func:`merge`)."""
    return merge(subs, plans)[0]


def _versions(plan: Plan, subs: list[Submission], members: list[int], cells: dict, winner: dict) -> None:
    """Mark files whose every value was replaced; report conflicting numbers."""
    for i in members:
        s = subs[i]
        lost = {key: winner[key] for key in cells[i] if winner[key] != i}
        if cells[i] and len(lost) == len(cells[i]):
            names = " ; ".join(dict.fromkeys(subs[j].source for j in lost.values()))
            s.status = "duplicate"
            s.reason = f"已被較新的檔案取代：{names} / superseded by the newer {names}"
            continue
        # a whole period replaced by a newer file is a correction, not a conflict
        kept_periods = {key[1] for key in cells[i] if winner[key] == i}
        for key, j in lost.items():
            if key[0] != "in" or key[1] not in kept_periods:
                continue
            mine, theirs = cells[i][key], cells[j][key]
            if mine == theirs:
                continue
            newer = subs[j]
            fields = dict(
                label=_label(plan, key[2], key[3]),
                value=_text(mine),
                other=_text(theirs),
                file=s.source,
                other_file=newer.source,
            )
            for target in (s, newer):
                target.findings.append(
                    finding("conflict", indicator=key[2], input=key[3], period=key[1], **fields)
                )
                target.classify()


def _filled_elsewhere(subs: list[Submission], members: list[int], winner: dict) -> None:
    """A section leaves the other sections' inputs blank: not "missing" when another file has them."""
    for i in members:
        s = subs[i]
        keep = [
            f
            for f in s.findings
            if not (f.code == "missing" and ("in", f.period, f.indicator, f.input) in winner)
        ]
        if len(keep) != len(s.findings):
            s.findings = keep
            if s.status in COUNTED:
                s.classify()


def _label(plan: Plan, ind_id: str, role: str) -> str:
    try:
        ind = plan.indicator(ind_id)
        return f"{ind.name}「{ind.input(role).label}」"
    except KeyError:
        return f"{ind_id}.{role}"


def _text(v: Any) -> str:
    if isinstance(v, Decimal):
        return str(int(v)) if v == v.to_integral_value() else str(v)
    return str(v)


def _sources(subs: list[Submission], idx: Iterable[int]) -> str:
    return " + ".join(
        dict.fromkeys(subs[i].source for i in sorted(set(idx), key=lambda i: _rank(subs[i], i), reverse=True))
    )


def _rows(plan: Plan, unit: str, year: int, subs, members, cells, winner) -> list[Row]:
    live = [i for i in members if subs[i].status in COUNTED]
    # every indicator × period some file of the unit holds (its form had it), newest holder first
    holders: dict[tuple[str, str], list[int]] = {}
    for i in live:
        for r in subs[i].results:
            holders.setdefault((r.period, r.indicator), []).append(i)
    if not holders:
        return []
    entries: dict[str, dict[str, dict[str, Any]]] = {}
    reuse: dict[tuple[str, str], IndicatorResult] = {}
    for (period, ind_id), held in holders.items():
        ind = plan.indicator(ind_id)
        raw = {
            spec.role: cells[winner[k]][k] if (k := ("in", period, ind_id, spec.role)) in winner else None
            for spec in ind.inputs
        }
        entries.setdefault(period, {})[ind_id] = raw
        sources = {
            winner[("in", period, ind_id, spec.role)]
            for spec in ind.inputs
            if ("in", period, ind_id, spec.role) in winner
        }
        if len(sources) <= 1:
            src = next(iter(sources), held[0])
            mine = next((r for r in subs[src].results if (r.period, r.indicator) == (period, ind_id)), None)
            if mine is not None and all(mine.inputs.get(k) == v for k, v in raw.items()):
                reuse[(period, ind_id)] = mine
    if len(reuse) < len(holders):
        targets = "previous" if year == plan.year - 1 else "current"
        ev = evaluate(plan, entries, targets=targets, year=year, cells=True)
        fresh = {(r.period, r.indicator): r for r in ev.results}
    else:
        fresh = {}
    out = []
    for (period, ind_id), held in holders.items():
        result = reuse.get((period, ind_id)) or fresh.get((period, ind_id))
        if result is None:
            continue
        keys = [("in", period, ind_id, role) for role in result.inputs] + [("note", period, ind_id, "")]
        src = [winner[k] for k in keys if k in winner] or [held[0]]
        note_key = ("note", period, ind_id, "")
        note = str(cells[winner[note_key]][note_key]) if note_key in winner else ""
        first = subs[max(src, key=lambda i: _rank(subs[i], i))]
        out.append(Row(plan.id, unit, first.owner, year, _sources(subs, src), result, note))
    return out


def _items(plan: Plan, unit: str, year: int, subs, cells, winner) -> list[ItemRow]:
    keys: dict[tuple[str, str], dict[str, int]] = {}
    for key, i in winner.items():
        if key[0] in ("progress", "description"):
            keys.setdefault((key[1], key[2]), {})[key[0]] = i
    out = []
    for (period, item), won in keys.items():
        value = {
            fld: cells[won[fld]][(fld, period, item, "")] if fld in won else None
            for fld in ("progress", "description")
        }
        out.append(
            ItemRow(
                plan.id,
                unit,
                year,
                period,
                item,
                value["progress"],
                str(value["description"] or ""),
                _sources(subs, won.values()),
            )
        )
    return out
