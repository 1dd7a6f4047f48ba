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

The result is one :class:`Ledger`: per input cell the value, the file it came from and
the value and file it replaced (:class:`Cell`); the consolidated rows and Part 3 rows;
and every return the plan expects (:class:`Return`: 已繳, 部分, 未繳 or 逾期).  The
summary, the report, the archive and rollover all read this one ledger.  Plans are
told apart by fingerprint, so two plans sharing an id are never merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
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
#: What became of a return the plan expects, with its zh-TW label.
RETURN_STATUSES = {"returned": "已繳", "partial": "部分", "missing": "未繳", "overdue": "逾期"}
#: Staff text fields: 補充說明 of an indicator, 執行進度 and 執行情形 of a Part 3 item.
TEXT_FIELDS = ("note", "progress", "description")


@dataclass(slots=True)
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
    sent_shown: str = ""  # the same Date as the sender wrote it (their zone, else Asia/Taipei)
    mtime: str = ""  # the file's (or archive member's) modification time, UTC
    results: list[IndicatorResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: Staff's own text: (field, period id, indicator or item id) → text or number, blanks left out.
    texts: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    #: (status, reason, findings) as read, before any merge: a merge starts again from it.
    as_read: tuple[str, str, list[Finding]] | None = None

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


@dataclass(frozen=True, slots=True)
class Row:
    """One consolidated line: unit × indicator × period."""

    plan_id: str
    unit: str
    owner: str
    year: int
    source: str
    result: IndicatorResult
    note: str = ""  # 補充說明


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Cell:
    """One input or staff-text cell of the collection, with where its value came from."""

    plan_id: str
    unit: str
    year: int
    period: str
    field: str  # "in" (a count), "note" (補充說明), "progress" (執行進度), "description" (執行情形)
    target: str  # indicator id, or Part 3 item id
    role: str  # the input's role; "" for staff text
    value: Any
    source: str  # the file whose value won
    when: str  # that file's time (saved, else the email's Date, else modified)
    replaced: Any = None  # the value it replaced (the next newest file holding this cell)
    replaced_source: str = ""
    sha256: str = ""  # of the file whose value won (names can repeat across collects)
    replaced_sha256: str = ""


@dataclass(frozen=True, slots=True)
class Return:
    """A return the plan expects: one section (承辦單位) of one unit, for one year and period."""

    plan_id: str
    unit: str
    owner: str
    year: int
    period: str  # "" when nothing of the plan came at all
    status: str  # returned | partial | missing | overdue (RETURN_STATUSES)
    indicators: tuple[str, ...]  # what the section owes (assessed in the period)
    blank: tuple[str, ...]  # of those, indicators with an input still blank
    weight: Decimal  # the weight of the indicators it owes
    sources: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """已繳, 部分, 未繳 or 逾期."""
        return RETURN_STATUSES[self.status]

    @property
    def unreturned(self) -> bool:
        """Nothing of this section came: its indicators are 未填報 in the report."""
        return self.status in ("missing", "overdue")


@dataclass(slots=True)
class Ledger:
    """The one collection: cells with provenance, rows, Part 3 rows and expected returns."""

    rows: list[Row] = field(default_factory=list)
    items: list[ItemRow] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)


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


def _start_again(subs: list[Submission]) -> None:
    """Every file as read: a merge decides duplicates and conflicts afresh (so it can run twice)."""
    for s in subs:
        if s.as_read is None:
            s.as_read = (s.status, s.reason, list(s.findings))
        else:
            s.status, s.reason, s.findings = s.as_read[0], s.as_read[1], list(s.as_read[2])


def _same_bytes(subs: list[Submission]) -> None:
    """The same file given twice (same SHA-256) counts once; the others name the first."""
    first: dict[str, Submission] = {}
    for s in subs:
        if s.status not in COUNTED or not s.sha256:
            continue
        if s.sha256 in first:
            name = first[s.sha256].source
            s.status = "duplicate"
            s.reason = f"與 {name} 內容相同（同一檔案）/ the same file as {name}"
        else:
            first[s.sha256] = s


def build_ledger(
    subs: list[Submission],
    plans: Iterable[Plan],
    *,
    due: date | None = None,
    today: date | None = None,
    silent_plans: bool = True,
) -> Ledger:
    """The one collection of ``subs``: marks replaced files, adds conflicts, lists expected returns.

    ``due``: the date returns were due; a return still missing after it is 逾期 (overdue).
    ``silent_plans``: also list as 未繳 the returns of a plan nothing came of (False when the
    plan was not named by the user, e.g. the embedded default).
    """
    plans = list(plans)
    by_fp = {p.fingerprint: p for p in plans}
    _start_again(subs)
    _same_bytes(subs)
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(subs):
        if s.status in COUNTED and s.unit and s.fingerprint in by_fp:
            groups.setdefault((s.fingerprint, s.unit, s.year or 0), []).append(i)
    out = Ledger()
    for (fp, unit, year), members in groups.items():
        plan = by_fp[fp]
        members.sort(key=lambda i: _rank(subs[i], i), reverse=True)  # newest first
        cells = {i: _cells(subs[i]) for i in members}
        winner: dict[tuple, int] = {}
        for i in members:
            for key in cells[i]:
                winner.setdefault(key, i)
        _versions(plan, subs, members, cells, winner)
        _filled_elsewhere(subs, members, winner)
        out.rows += _rows(plan, unit, year, subs, members, cells, winner)
        out.items += _items(plan, unit, year, subs, cells, winner)
        out.cells += _provenance(plan, unit, year, subs, members, cells, winner)
    for plan in plans:
        if silent_plans or any(c.plan_id == plan.id for c in out.cells):
            out.returns += _returns(plan, out.cells, subs, due=due, today=today or date.today())
    order: dict[tuple, int] = {}
    for plan in plans:
        order.update({(plan.id, ind.id): n for n, ind in enumerate(plan.indicators)})
        order.update({(plan.id, "period", p.id): n for n, p in enumerate(plan.periods)})
        order.update(
            {(plan.id, "item", it.id): n for n, it in enumerate(i for w in plan.work_plans for i in w.items)}
        )

    def period_order(plan_id: str, period: str) -> int:
        return order.get((plan_id, "period", period), 0)

    out.rows.sort(
        key=lambda r: (
            r.plan_id,
            r.year,
            r.unit,
            period_order(r.plan_id, r.result.period),
            order.get((r.plan_id, r.result.indicator), 0),
        )
    )
    out.items.sort(
        key=lambda r: (
            r.plan_id,
            r.year,
            r.unit,
            period_order(r.plan_id, r.period),
            order.get((r.plan_id, "item", r.item), 0),
        )
    )
    return out


def merge(subs: list[Submission], plans: Iterable[Plan]) -> tuple[list[Row], list[ItemRow]]:
    """The consolidated rows and Part 3 rows (see :func:`build_ledger`)."""
    ledger = build_ledger(subs, plans)
    return ledger.rows, ledger.items


def consolidate(subs: list[Submission], plans: Iterable[Plan]) -> list[Row]:
    """The consolidated rows, one per unit × indicator × period, in plan order (see :func:`merge`)."""
    return merge(subs, plans)[0]


def _provenance(plan: Plan, unit: str, year: int, subs, members, cells, winner) -> list[Cell]:
    """Every winning cell with its file, and the value and file it replaced."""
    out = []
    later = {i: members[k + 1 :] for k, i in enumerate(members)}  # older files than each (newest first)
    for key, i in winner.items():
        fld, period, target, role = key
        older = next((j for j in later[i] if key in cells[j]), None)
        out.append(
            Cell(
                plan.id,
                unit,
                year,
                period,
                fld,
                target,
                role,
                cells[i][key],
                subs[i].source,
                subs[i].when,
                None if older is None else cells[older][key],
                "" if older is None else subs[older].source,
                subs[i].sha256,
                "" if older is None else subs[older].sha256,
            )
        )
    return out


def _returns(
    plan: Plan, cells: list[Cell], subs: list[Submission], *, due: date | None, today: date
) -> list[Return]:
    """Every return the plan expects: each unit's sections for the latest year and period that
    came (earlier ones: the units that sent something for them).

    Units are the plan's ``units`` (else the units that returned anything, else the agency);
    sections are the indicators' owners.  A section whose inputs are all filled is 已繳, one
    with some filled (or only notes) 部分, one with nothing 未繳 (逾期 after ``due``).
    """
    mine = [c for c in cells if c.plan_id == plan.id]
    seen = [s for s in subs if s.status in COUNTED and s.fingerprint == plan.fingerprint and s.unit]
    units = list(dict.fromkeys([*plan.units, *(s.unit for s in seen)])) or [plan.agency]
    order = {p.id: n for n, p in enumerate(plan.periods)}
    slots = sorted({(c.year, c.period) for c in mine}, key=lambda k: (k[0], order.get(k[1], 0)))
    slots = slots or [(plan.year, "")]
    filled: dict[tuple, set] = {}
    came: dict[tuple, dict[str, None]] = {}
    for c in mine:
        filled.setdefault((c.unit, c.year, c.period), set()).add((c.field, c.target, c.role))
        if c.field in ("in", "note"):
            came.setdefault((c.unit, c.year, c.period, plan.indicator(c.target).owner), {})[c.source] = None
    late = due is not None and today > due
    out = []
    latest = slots[-1]
    for year, period in slots:
        # every unit owes the period being collected (the latest); an earlier one (last year's
        # file in the inbox) is listed only for the units that sent something for it
        owing = units if (year, period) == latest else [u for u in units if (u, year, period) in filled]
        sections = _sections(plan, period)  # the same for every unit: worked out once
        for unit in owing:
            have = filled.get((unit, year, period), set())
            for owner, ids, owed, inputs, notes, weight in sections:
                if have:
                    blank = tuple(i for i, keys in inputs if any(k not in have for k in keys))
                    anything = any(k in have for _, keys in inputs for k in keys) or any(
                        k in have for k in notes
                    )
                else:  # nothing of the period came from the unit (most units, in a large inbox)
                    blank, anything = owed, False
                if not blank:
                    status = "returned"
                elif anything:
                    status = "partial"
                else:
                    status = "overdue" if late else "missing"
                sources = tuple(came.get((unit, year, period, owner), {}))
                out.append(Return(plan.id, unit, owner, year, period, status, ids, blank, weight, sources))
    return out


def _sections(plan: Plan, period: str) -> list[tuple]:
    """Each section (owner) with indicators in ``period``: its indicators' ids, those blank when
    nothing came, each one's input keys, their note keys and the section's weight."""
    out = []
    for owner in plan.owners:
        inds = [
            i
            for i in plan.indicators
            if i.owner == owner and (not period or not i.assessed_in or period in i.assessed_in)
        ]
        if inds:
            ids = tuple(i.id for i in inds)
            owed = tuple(i.id for i in inds if i.inputs)  # blank when nothing came
            inputs = tuple((i.id, tuple(("in", i.id, s.role) for s in i.inputs)) for i in inds)
            notes = tuple(("note", i.id, "") for i in inds)
            out.append((owner, ids, owed, inputs, notes, sum((i.weight for i in inds), Decimal(0))))
    return out


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
    idx = set(idx)
    if len(idx) == 1:  # one file (most rows)
        return subs[next(iter(idx))].source
    return " + ".join(
        dict.fromkeys(subs[i].source for i in sorted(idx, key=lambda i: _rank(subs[i], i), reverse=True))
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
