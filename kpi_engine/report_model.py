"""The Part 4 report (實施狀況及成果概述) as plain data: built once, rendered by any writer.

Writers (.odt, .docx, terminal) only lay out what is here; every number, unit, light
and numbered paragraph is decided in this module, so all formats say the same thing.
Nothing here imports a file format.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from .evaluate import IndicatorResult, Score, scores
from .expr import round_half_up
from .narrative import number_text
from .plan import PERCENT_KINDS, Indicator, Plan

LIGHT_NAMES = {"green": "綠燈", "yellow": "黃燈", "red": "紅燈", "white": "白燈"}
_DIGITS = "〇一二三四五六七八九"


def zh_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 23 → 二十三 (the numbering of 「一、…二、…」)."""
    if not 1 <= n <= 99:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def numbered(paragraphs: Sequence[str]) -> tuple[str, ...]:
    """The seed's numbering: one paragraph stands alone, several read 「一、…」「二、…」."""
    paras = [p.strip() for p in paragraphs if p and p.strip()]
    if len(paras) <= 1:
        return tuple(paras)
    return tuple(f"{zh_number(i)}、{p}" for i, p in enumerate(paras, start=1))


def split_notes(text: str | None) -> list[str]:
    """Staff's notes as paragraphs: one per line; a numbering they typed themselves is dropped."""
    out = []
    for line in str(text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = line.strip()
        for n in range(1, 21):  # 「一、」 typed by staff would otherwise read 「一、一、」
            prefix = f"{zh_number(n)}、"
            if line.startswith(prefix):
                line = line[len(prefix) :].strip()
                break
        if line:
            out.append(line)
    return out


def value_unit(ind: Indicator) -> str:
    """The unit 實際值 is printed in: % for rates, else the count's unit (件, 人)."""
    return "%" if ind.kind in PERCENT_KINDS else (ind.inputs[0].unit if ind.inputs else "")


def _with_unit(d: Decimal | None, unit: str) -> str:
    return "—" if d is None else f"{number_text(d)}{unit}"


@dataclass(frozen=True)
class Previous:
    """Last year's value of one indicator and the change since."""

    year: int
    value: Decimal | None
    rate: Decimal | None
    value_text: str
    change_text: str  # "+1.25 個百分點", "-3件", "" when either side has no value


@dataclass(frozen=True)
class IndicatorLine:
    """One row of the Part 4 table."""

    goal_id: str
    goal_number: str
    goal_name: str
    goal_weight: Decimal
    indicator_id: str
    name: str
    weight: Decimal
    target: str
    value: Decimal | None
    unit: str
    rate: Decimal | None
    light: str  # green | yellow | red | white
    sentence: str
    notes: tuple[str, ...]
    paragraphs: tuple[str, ...]  # notes then the generated sentence, numbered as the seed does
    previous: Previous | None = None

    @property
    def goal_lines(self) -> list[str]:
        """The merged goal cell: number, name, and weight on a line of its own (never split)."""
        return [self.goal_number, self.goal_name, f"({number_text(self.goal_weight)}%)"]

    @property
    def indicator_lines(self) -> list[str]:
        """The indicator cell: name, then its weight on a line of its own."""
        return [self.name, f"({number_text(self.weight)}%)"]

    @property
    def value_text(self) -> str:
        """「89.05%」, 「63件」 or 「—」."""
        return _with_unit(self.value, self.unit)

    @property
    def rate_text(self) -> str:
        """「100%」 or 「—」 when not assessed."""
        return _with_unit(self.rate, "%")

    @property
    def light_text(self) -> str:
        """「綠燈」."""
        return LIGHT_NAMES.get(self.light, self.light)


@dataclass(frozen=True)
class ScoreLine:
    """The weighted score of a goal or of the whole plan."""

    id: str
    label: str
    weight: Decimal
    assessed_weight: Decimal
    score: Decimal
    exact: Decimal | None = None  # the score before rounding: 得分率 is rounded once, as 達成率 is

    @property
    def percent(self) -> Decimal | None:
        """Score as a share of the weight that was assessed (None when nothing was).

        From the unrounded score, rounded half up once: one assessed indicator's 得分率
        equals its 達成率 (94.49%, not 94.47% from a rounded 14.17 ÷ 15).
        """
        if not self.assessed_weight:
            return None
        score = self.score if self.exact is None else self.exact
        return round_half_up(score * 100 / self.assessed_weight, 2)


@dataclass(frozen=True)
class ItemLine:
    """A Part 3 item with what staff reported on it."""

    work_plan: str  # 「一、國際事務」
    item: str  # 「1. 推動實質城市外交及擴大國際參與」
    item_id: str
    progress: Decimal | None
    description: str

    @property
    def progress_text(self) -> str:
        """「80%」 or an empty string when not reported."""
        return "" if self.progress is None else f"{number_text(self.progress)}%"


@dataclass(frozen=True)
class UnitSection:
    """Everything one reporting unit's part of the report shows."""

    unit: str
    lines: tuple[IndicatorLine, ...]
    goal_scores: tuple[ScoreLine, ...]
    plan_score: ScoreLine
    items: tuple[ItemLine, ...]
    left_out: Decimal = Decimal(0)  # the weight of 「未填報」 indicators, left out of the score

    def goal_runs(self) -> list[tuple[IndicatorLine, int]]:
        """(first line, number of lines) per goal, for the merged 策略績效目標 cell."""
        runs: list[tuple[IndicatorLine, int]] = []
        for line in self.lines:
            if runs and runs[-1][0].goal_id == line.goal_id:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((line, 1))
        return runs


@dataclass(frozen=True)
class Report:
    """The whole document: heading, one section per unit, and the weights note."""

    agency: str
    plan_year: int
    year: int
    period_id: str
    period_name: str
    span: str  # 「106年1月1日至6月30日止」
    weight_total: Decimal
    units: tuple[UnitSection, ...]
    compare_year: int | None = None
    sources: tuple[str, ...] = field(default=())

    @property
    def heading(self) -> str:
        """「上(106)年度實施狀況及成果概述」 when the data is the plan's previous year."""
        if self.year == self.plan_year - 1:
            return f"上({self.year})年度實施狀況及成果概述"
        return f"{self.year}年度實施狀況及成果概述"

    @property
    def common_share(self) -> Decimal:
        """The weight that belongs to 共同性指標 outside the plan (100 − the plan's total)."""
        return max(Decimal(0), 100 - self.weight_total)

    @property
    def weight_note(self) -> str:
        """What the plan's weights cover, stated as the plan score's caveat."""
        total = number_text(self.weight_total)
        if self.common_share == 0:
            return f"本計畫指標權重合計 {total}%。"
        return (
            f"本計畫指標權重合計 {total}%，其餘 {number_text(self.common_share)}% 屬計畫外之共同性指標，"
            "不在本表評分範圍。"
        )


def change_text(ind: Indicator, now: Decimal | None, before: Decimal | None) -> str:
    """The change of 實際值 since last year: percentage points for rates, units for counts."""
    if now is None or before is None:
        return ""
    diff = now - before
    sign = "+" if diff > 0 else ""
    unit = "個百分點" if ind.kind in PERCENT_KINDS else value_unit(ind)
    text = f"{sign}{number_text(diff)}{unit}"
    if diff == 0:
        return text
    better = (diff > 0) == (ind.polarity == "higher")
    return f"{text}（{'進步' if better else '退步'}）"


def _line(
    plan: Plan,
    ind: Indicator,
    r: IndicatorResult | None,
    notes: str,
    previous: tuple[int, IndicatorResult] | None,
) -> IndicatorLine:
    goal = plan.goal_of(ind.id)
    note_paras = split_notes(notes)
    sentence = r.sentence if r is not None else ""
    prev = None
    if previous is not None:
        pyear, pr = previous
        prev = Previous(
            pyear,
            pr.value,
            pr.achievement_rate,
            _with_unit(pr.value, value_unit(ind)),
            change_text(ind, r.value if r else None, pr.value),
        )
    if prev is not None and prev.change_text and plan.phrases.compare and sentence:
        # The plan asks for last year's figure in the sentence itself.
        sentence += plan.phrases.compare.format(
            compare_year=prev.year, previous=prev.value_text, change=prev.change_text
        )
    return IndicatorLine(
        goal_id=goal.id,
        goal_number=goal.number,
        goal_name=goal.name,
        goal_weight=goal.weight,
        indicator_id=ind.id,
        name=ind.name,
        weight=ind.weight,
        target=r.target if r is not None else "",
        value=r.value if r else None,
        unit=value_unit(ind),
        rate=r.achievement_rate if r else None,
        light=r.light if r else "white",
        sentence=sentence,
        notes=tuple(note_paras),
        paragraphs=numbered([*note_paras, sentence]),
        previous=prev,
    )


def _score_lines(
    plan: Plan, period_id: str, results: list[IndicatorResult]
) -> tuple[list[ScoreLine], ScoreLine]:
    by_id: dict[str, Score] = {s.id: s for s in scores(plan, results) if s.period == period_id}
    rates = {r.indicator: r.achievement_rate for r in results if r.period == period_id}

    def exact(inds) -> Decimal:  # Σ weight × 達成率 ÷ 100, as evaluate.scores sums it, unrounded
        return sum((i.weight * rates[i.id] / 100 for i in inds if rates.get(i.id) is not None), Decimal(0))

    goals = []
    for g in plan.goals:
        s = by_id.get(g.id)
        goals.append(
            ScoreLine(
                g.id,
                f"策略績效目標{g.number}　{g.name}",
                g.weight,
                s.assessed_weight if s else Decimal(0),
                s.score if s else Decimal(0),
                exact(g.indicators),
            )
        )
    s = by_id.get(plan.id)
    total = ScoreLine(
        plan.id,
        "本計畫合計",
        plan.weight_total,
        s.assessed_weight if s else Decimal(0),
        s.score if s else Decimal(0),
        exact([i for i in plan.indicators if not i.common]),
    )
    return goals, total


def _items(plan: Plan, progress: Mapping[str, tuple[Decimal | None, str]]) -> tuple[ItemLine, ...]:
    out = []
    for w in plan.work_plans:
        for item in w.items:
            value, text = progress.get(item.id, (None, ""))
            out.append(
                ItemLine(
                    f"{zh_number(w.number)}、{w.name}", f"{item.number}. {item.name}", item.id, value, text
                )
            )
    return tuple(out)


@dataclass
class UnitData:
    """What a unit reported for one year and period: results, notes and Part 3 progress."""

    results: list[IndicatorResult] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)  # indicator id → 補充說明
    progress: dict[str, tuple[Decimal | None, str]] = field(
        default_factory=dict
    )  # item id → (執行進度, 執行情形)
    #: indicator id → the section (承辦單位) whose return never came: 「未填報」 in the report
    unreported: dict[str, str] = field(default_factory=dict)


#: What the report says of an indicator whose section sent nothing.
UNREPORTED = "未填報"


def _unreported_line(plan: Plan, ind: Indicator, owner: str, year: int) -> IndicatorLine:
    """「未填報」: no value, no light, and the weight it leaves out of the score said plainly."""
    target = ind.previous_target if year == plan.year - 1 and ind.previous_target else ind.target
    text = f"{UNREPORTED}（{owner}未繳），權重 {number_text(ind.weight)}% 未計入本期評分。"
    return replace(_line(plan, ind, None, "", None), target=target.printed, sentence=text, paragraphs=(text,))


def build_report(
    plan: Plan,
    *,
    year: int,
    period_id: str,
    units: Mapping[str, UnitData],
    previous: Mapping[str, list[IndicatorResult]] | None = None,
    compare_year: int | None = None,
    sources: Sequence[str] = (),
) -> Report:
    """The report of ``plan`` for one year and period, one section per unit.

    ``previous`` maps a unit to last year's results of the same period (matched by
    indicator id, which a rollover keeps); ``compare_year`` names that year.
    """
    period = plan.period(period_id)
    sections = []
    for unit, data in units.items():
        rows = [r for r in data.results if r.period == period.id]
        by_ind = {r.indicator: r for r in rows}
        before = {r.indicator: r for r in (previous or {}).get(unit, []) if r.period == period.id}
        lines = tuple(
            _unreported_line(plan, ind, data.unreported[ind.id], year)
            if ind.id in data.unreported
            else _line(
                plan,
                ind,
                by_ind.get(ind.id),
                data.notes.get(ind.id, ""),
                (compare_year, before[ind.id]) if compare_year and ind.id in before else None,
            )
            for ind in plan.indicators
            if ind.id in by_ind or ind.id in data.unreported
        )
        goals, total = _score_lines(plan, period.id, rows)
        left_out = sum((line.weight for line in lines if line.indicator_id in data.unreported), Decimal(0))
        sections.append(
            UnitSection(unit, lines, tuple(goals), total, _items(plan, data.progress), left_out=left_out)
        )
    start, end = period.start, period.end
    span = f"{year}年{start[0]}月{start[1]}日至{end[0]}月{end[1]}日止"
    return Report(
        agency=plan.agency,
        plan_year=plan.year,
        year=year,
        period_id=period.id,
        period_name=period.name,
        span=span,
        weight_total=plan.weight_total,
        units=tuple(sections),
        compare_year=compare_year,
        sources=tuple(sources),
    )
