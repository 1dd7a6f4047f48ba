"""Evaluate entered counts against a plan: results, findings and weighted scores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from .checks import EXCEL_ERRORS, TEXT_READINGS, as_cell_number, check_across, check_indicator
from .errors import KpiError
from .expr import CellError, Value, decimal_context, round_half_up
from .findings import Finding, input_finding
from .kinds import blank_text
from .labels import ZH_LABELS, Labels
from .measures import CALC_REF, SNAP_PREFIX, Computation, computation
from .plan import Indicator, Period, Plan, Target

Entries = Mapping[str, Mapping[str, Mapping[str, object]]]
"""Raw entries: period (id or name) → indicator id → input role → raw cell value."""

State = Mapping[tuple[str, str], Mapping[str, object]]
"""What the last calculate recorded, per (indicator id, period id): ``calc`` (its 檢核
text) and ``snap:<role>`` (each input as it was then).  Only the 檢核 step reads it."""


class EntriesError(KpiError, ValueError):
    """Entries that name an unknown period, indicator or input."""

    code = "entries_invalid"


@dataclass(frozen=True)
class IndicatorResult:
    """The outcome of one indicator in one period."""

    indicator: str
    period: str
    inputs: dict[str, Decimal | None]
    value: Decimal | None
    projection: Decimal | None
    target: str
    achieved: bool | None
    achievement_rate: Decimal | None
    light: str  # green | yellow | red | white
    at_risk: bool | None
    sentence: str
    cells: dict[str, Value]  # each step's value exactly as the workbook cell shows it

    def to_dict(self) -> dict:
        """JSON-ready dict; numbers as floats rounded to the plan's decimals."""
        num = _json_number
        return {
            "indicator": self.indicator,
            "period": self.period,
            "inputs": {k: num(v) for k, v in self.inputs.items()},
            "value": num(self.value),
            "projection": num(self.projection),
            "target": self.target,
            "achieved": self.achieved,
            "achievement_rate": num(self.achievement_rate),
            "light": self.light,
            "at_risk": self.at_risk,
            "sentence": self.sentence,
        }


def _json_number(d: Decimal | None) -> int | float | None:
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


@dataclass(frozen=True)
class Score:
    """Weighted score of a goal or the whole plan in one period."""

    id: str
    period: str
    weight: Decimal
    assessed_weight: Decimal
    score: Decimal  # Σ weight × 達成率 / 100 over assessed indicators

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {k: _json_number(v) if isinstance(v, Decimal) else v for k, v in self.__dict__.items()}


@dataclass
class Evaluation:
    """Everything one evaluation produced."""

    plan: Plan
    results: list[IndicatorResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        """True when any finding has severity error."""
        return any(f.severity == "error" for f in self.findings)

    def result(self, indicator: str, period: str) -> IndicatorResult:
        """The result of one indicator in one period (id or name)."""
        pid = self.plan.period(period).id
        for r in self.results:
            if r.indicator == indicator and r.period == pid:
                return r
        raise KeyError((indicator, period))

    def weight_warning(self) -> dict | None:
        """A note when the plan's weights add up to less than 100."""
        total = self.plan.weight_total
        if total >= 100:
            return None
        rest = 100 - total
        return {
            "code": "weights_under_100",
            "weight_total": _json_number(total),
            "message_zh": f"本計畫指標權重合計 {total}%，其餘 {rest}% 屬計畫外之共同性指標",
            "message_en": f"indicator weights add up to {total}%; the other {rest}% belongs to common indicators outside this plan",
        }

    def to_dict(self) -> dict:
        """The documented ``--json`` shape: indicators, findings, scores."""
        return {
            "plan": {"id": self.plan.id, "year": self.plan.year, "fingerprint": self.plan.fingerprint},
            "indicators": [r.to_dict() for r in self.results],
            "findings": [f.to_dict() for f in self.findings],
            "scores": [s.to_dict() for s in self.scores],
            "weight_warning": self.weight_warning(),
        }


def target_for(ind: Indicator, targets: str) -> Target:
    """The yearly target, or last year's when ``targets == "previous"``."""
    if targets == "previous" and ind.previous_target is not None:
        return ind.previous_target
    return ind.target


def evaluate(
    plan: Plan,
    entries: Entries,
    *,
    targets: Literal["current", "previous"] = "current",
    year: int | None = None,
    labels: Labels = ZH_LABELS,
    cells: bool = False,
    state: State | None = None,
) -> Evaluation:
    """Check and compute every indicator present in ``entries``.

    ``year`` is the ROC year the counts belong to (default: the plan's year); it
    sets the calendar for mid-year projections.  ``targets="previous"`` assesses
    against last year's targets, as Part 4 of a plan does.

    ``cells=True`` computes from the values as a spreadsheet's formulas see them
    (text such as "187" is no number there), so results equal the workbook's own
    formulas; a count stored as text is then an error, not a warning.
    """
    year = _year(year or plan.year)
    if targets not in ("current", "previous"):
        raise EntriesError(
            f"targets 須為 current 或 previous / targets must be current or previous: {targets!r}"
        )
    ev = Evaluation(plan)
    runs: list[tuple[Computation, dict[str, Decimal | None], dict[str, Value]]] = []
    period_names = tuple((p.id, p.name) for p in plan.periods)
    parsed: dict[str, dict[str, dict[str, Decimal | None]]] = {}
    for period_key, by_indicator in _mapping(entries, "entries").items():
        period = _period(plan, period_key)
        if period.id in parsed:
            raise EntriesError(f"期別重複 / period given twice: {period.id}/{period.name}")
        parsed[period.id] = {}
        by_indicator = _mapping(by_indicator, str(period_key))
        for ind_id, raw in by_indicator.items():
            _mapping(raw, f"{period_key}.{ind_id}")
        # A period with nothing entered at all is simply not reported yet: no "missing" noise.
        reported = any(not _blank(v) for raw in by_indicator.values() for v in raw.values())
        for ind_id, raw in by_indicator.items():
            ind = _indicator(plan, ind_id, raw)
            assessed = not ind.assessed_in or period.id in ind.assessed_in
            values, found = check_indicator(ind, period, raw)
            if not assessed or not reported:
                found = [f for f in found if f.code not in ("missing", "incomplete")]
            parsed[period.id][ind.id] = values
            env = {spec.role: cell_value(raw.get(spec.role), values[spec.role], cells) for spec in ind.inputs}
            if cells:
                # A date is no count, though formulas see its serial (2018/6/30 is 43281).
                values = {
                    spec.role: None
                    if isinstance(raw.get(spec.role), date)
                    else as_cell_number(raw.get(spec.role))
                    for spec in ind.inputs
                }
                found = _text_is_an_error(ind, period, raw, found)
            ev.findings += found
            recorded = (state or {}).get((ind.id, period.id), {})
            env[CALC_REF] = _text_or_blank(recorded.get(CALC_REF))
            for spec in ind.inputs:
                env[SNAP_PREFIX + spec.role] = cell_value(recorded.get(SNAP_PREFIX + spec.role), None, True)
            comp = computation(
                ind,
                period,
                plan.options,
                roc_year=year,
                target=target_for(ind, targets),
                labels=labels,
                phrases=plan.phrases,
                period_names=period_names,
            )
            runs.append((comp, values, env))
    with decimal_context():  # once for every indicator, not per computation
        ev.results = [_result(comp, values, env) for comp, values, env in runs]
    ev.findings += check_across(plan, parsed)
    ev.scores = scores(plan, ev.results)
    return ev


def cell_value(raw: object, parsed: Decimal | None, cells: bool) -> Value:
    """An input as the expression tree sees it.

    In a workbook (``cells``) that is the cell as a formula sees it: numbers (and
    dates, as serial numbers), text, TRUE/FALSE and error values, so the tree's
    checks (a number, whole, ≥ 0) judge what the formulas judge.  From YAML/JSON
    entries the lenient reading of text (「１８７」) is the number; what cannot be
    read stays text, so the tree refuses it too.
    """
    if isinstance(raw, bool) or raw is None:
        return raw
    if not cells:
        if parsed is not None:
            return parsed
        if isinstance(raw, str) and blank_text(raw):
            return None
    else:
        number = as_cell_number(raw)
        if number is not None:
            return number
    if isinstance(raw, str):
        return CellError(raw.strip().upper()) if raw.strip().upper() in EXCEL_ERRORS else raw
    if isinstance(raw, CellError):
        return raw
    return str(raw)  # a date from YAML, NaN, or anything else no formula counts with


def _text_or_blank(v: object) -> Value:
    return None if v is None or v == "" else str(v)


def _text_is_an_error(
    ind: Indicator, period: Period, raw: Mapping[str, object], found: list[Finding]
) -> list[Finding]:
    """In a workbook, a count stored as text cannot be computed: one error per such input."""
    out, seen = [], set()
    for f in found:
        if f.code not in TEXT_READINGS:
            out.append(f)
        elif f.input not in seen:
            seen.add(f.input)
            out.append(input_finding("number_as_text", ind, period, f.input, raw=raw.get(f.input or "")))
    return out


def _year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 300:
        raise EntriesError(f"年度須為民國年（例如 106）/ year must be an ROC year such as 106: {year!r}")
    return year


def _mapping(value: object, where: str) -> Mapping:
    """Entries are nested mappings; anything else is unusable input, not a crash."""
    if not isinstance(value, Mapping):
        raise EntriesError(f"{where}: 須為對照表 / must be a mapping, got {value!r}")
    return value


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and blank_text(raw))


def _period(plan: Plan, key: str) -> Period:
    try:
        return plan.period(key)
    except KeyError:
        names = ", ".join(f"{p.id}/{p.name}" for p in plan.periods)
        raise EntriesError(f"期別不存在 / unknown period {key!r} (known: {names})") from None


def _indicator(plan: Plan, ind_id: str, raw: Mapping[str, object]) -> Indicator:
    try:
        ind = plan.indicator(ind_id)
    except KeyError:
        raise EntriesError(f"指標代碼不存在 / unknown indicator {ind_id!r}") from None
    extra = set(raw) - {s.role for s in ind.inputs}
    if extra:
        raise EntriesError(f"{ind_id}: 填報欄位不存在 / unknown inputs {sorted(extra)}")
    return ind


def _result(comp: Computation, values: dict[str, Decimal | None], env: dict[str, Value]) -> IndicatorResult:
    ind, period, labels = comp.indicator, comp.period, comp.labels
    cells = comp.run_in_context(env)

    def num(name: str) -> Decimal | None:
        v = cells.get(name)
        return v if isinstance(v, Decimal) else None

    at_risk = None if cells.get("at_risk", "") == "" else cells["at_risk"] == labels.yes
    return IndicatorResult(
        indicator=ind.id,
        period=period.id,
        inputs=values,
        value=num("value"),
        projection=num("projection"),
        target=comp.target.printed,
        achieved=labels.achieved_code(cells["achieved"]),
        achievement_rate=num("rate"),
        light=labels.light_code(cells["light"]),
        at_risk=at_risk,
        sentence=str(cells["sentence"]),
        cells=cells,
    )


def scores(plan: Plan, results: list[IndicatorResult]) -> list[Score]:
    """Weighted scores per goal and for the plan, per period.

    Only assessed indicators (those with an 達成率) count towards ``score``;
    ``assessed_weight`` says how much weight that covers.
    """
    out: list[Score] = []
    for period in plan.periods:
        rows = [r for r in results if r.period == period.id]
        if not rows:
            continue
        first: dict[str, IndicatorResult] = {}
        for r in rows:
            first.setdefault(r.indicator, r)
        own = tuple(i for i in plan.indicators if not i.common)  # 共同性指標 are outside the plan's score
        groups = [(g.id, g.indicators) for g in plan.goals] + [(plan.id, own)]
        for gid, inds in groups:
            weight = assessed = total = Decimal(0)
            for ind in inds:
                weight += ind.weight
                r = first.get(ind.id)
                if r is not None and r.achievement_rate is not None:
                    assessed += ind.weight
                    total += ind.weight * r.achievement_rate / 100
            out.append(Score(gid, period.id, weight, assessed, round_half_up(total, plan.options.decimals)))
    return out
