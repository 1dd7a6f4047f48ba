"""The plan model: an annual administrative plan (施政計畫) and its indicators.

These are plain, immutable dataclasses.  :mod:`kpi_engine.plan_loader` builds them
from a YAML plan file and reports mistakes by line; nothing here reads files.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from .kinds import KIND_ROLES as KIND_ROLES  # kept importable from here
from .kinds import PERCENT_KINDS as PERCENT_KINDS
from .labels import ZH_LABELS

Kind = Literal["ratio", "growth", "count", "milestone", "average", "stock"]  # see kinds.KINDS
Polarity = Literal["higher", "lower"]

#: 評估體制 codes as the Executive Yuan's plan format defines them; a plan may override.
DEFAULT_EVALUATION_SYSTEMS: dict[int, str] = {
    1: "指實際評估作業係運用既有之組織架構進行",
    2: "指實際評估作業係由特定之任務編組進行",
    3: "指實際評估作業係透過第三者方式（如由專家學者）進行",
    4: "指實際評估作業係由上級機關（如各部會）或上級機關之特定任務編組進行",
    5: "其他",
}

# Comparators as plans print them, after NFKC (which folds ＜ ＞ ％ and full-width digits).
_OPS = {"≤": "<=", "≦": "<=", "<=": "<=", "≥": ">=", "≧": ">=", ">=": ">=", "<": "<", ">": ">"}
# Words before the number: 不低於85%, 至少 30 件, 不超過 10 件, 低於 5%.
_PREFIX_WORDS = {
    "不低於": ">=",
    "不少於": ">=",
    "不小於": ">=",
    "至少": ">=",
    "最少": ">=",
    "不高於": "<=",
    "不超過": "<=",
    "不多於": "<=",
    "不大於": "<=",
    "至多": "<=",
    "最多": "<=",
    "低於": "<",
    "少於": "<",
    "小於": "<",
    "未滿": "<",
    "高於": ">",
    "超過": ">",
    "多於": ">",
    "大於": ">",
}
# Words after the number and unit: 85%以上, 10件以下, 5%以內; （含）is noise here.
_SUFFIX_WORDS = {"以上": ">=", "以下": "<=", "以內": "<=", "為限": "<="}
_PREFIX_RE = "|".join(sorted((re.escape(k) for k in [*_OPS, *_PREFIX_WORDS]), key=len, reverse=True))
_TARGET_RE = re.compile(
    rf"^(?P<op>{_PREFIX_RE})?\s*(?P<num>[-+−]?[0-9][0-9,]*(?:\.[0-9]+)?)\s*"
    r"(?P<unit>%|(?:(?!以上|以下|以內|為限)[\u4e00-\u9fff]){1,3})?\s*(?:\(含\))?\s*(?P<suffix>以上|以下|以內|為限)?$"
)
_STAGE_RE = re.compile(r"^第\s*([0-9]+)\s*(?:階段|階|期)$")
# A target relative to last year: 較上年度成長5%, 較去年減少3%以上, 較106年度同期增加2%.
_RELATIVE_RE = re.compile(
    r"^(?:較|比)\s*(?:上|前一?|去)?\s*(?:[0-9]{2,3}\s*)?年度?\s*(?:同期)?\s*"
    r"(?P<way>成長|增加|提升|提高|增長|減少|降低|下降|減低)\s*(?P<num>[0-9]+(?:\.[0-9]+)?)\s*%\s*(?:\(含\))?\s*(?:以上)?$"
)
_FALLS = ("減少", "降低", "下降", "減低")
UNSET_TARGET = "待設定"  # what a rollover writes as each target until the coordinator sets it
UNSET_SHOWN = "目標值待設定"  # what the template, the results and the report show for it


@dataclass(frozen=True)
class Target:
    """A target as printed (``8%``, ``≤120``, ``85%以上``, ``第3階段``) and what it means."""

    printed: str
    value: Decimal
    percent: bool
    op: str | None  # the comparator printed with it, if any ("<=", ">=", "<", ">")
    unit: str = ""  # a unit word printed with a number target (``10件以下`` → 件)
    stage: int | None = None  # a milestone target written as a stage: its number (1-based)
    stage_label: str = ""  # that stage's label
    relative: bool = False  # written against last year (較上年度成長5%): a growth target
    unset: bool = False  # 「待設定」 (next year's plan after a rollover): results without a rate or light

    def comparator(self, polarity: Polarity) -> str:
        """The comparison that means "met": the printed one, else by polarity."""
        return self.op or (">=" if polarity == "higher" else "<=")

    @property
    def shown(self) -> str:
        """The target as sheets print it: a stage target as ``第3階段（完成施工）``."""
        if self.stage is not None:
            return f"第{self.stage}階段（{self.stage_label}）"
        if self.unset:
            return UNSET_SHOWN
        return self.printed


def parse_target(text: str) -> Target:
    """Parse a target as plans write it.

    Accepts ``8%``, ``≤120``, ``11.5%``, ``≥85%``, ``85%以上``, ``≤10件``, ``10件以下``,
    ``-5%``, ``不低於85%``, ``至少30件``, and targets against last year (``較上年度成長5%``
    is a growth ≥ 5%, ``較上年度減少3%`` a growth ≤ -3%); full-width characters are folded first.
    ``printed`` keeps the text as written.  Raises ValueError for anything else,
    including a comparator written both before and after the number that disagree.
    """
    original = str(text).strip()
    folded = unicodedata.normalize("NFKC", original).replace("（", "(").replace("）", ")")
    rel = _RELATIVE_RE.match(folded.replace(" ", ""))
    if rel:  # a growth of at least X%, or a fall of at least X% (a growth of at most -X%)
        size = Decimal(rel.group("num"))
        falls = rel.group("way") in _FALLS
        return Target(original, -size if falls else size, True, "<=" if falls else ">=", relative=True)
    m = _TARGET_RE.match(folded.strip())
    if not m:
        raise ValueError(f"目標值格式不正確 / not a target: {text!r} (e.g. 8%, ≤120, 85%以上, 10件以下)")
    op_text, number, unit, suffix = m.group("op", "num", "unit", "suffix")
    op = None
    if op_text:
        op = _OPS.get(op_text) or _PREFIX_WORDS[op_text]
    if suffix:
        after = _SUFFIX_WORDS[suffix]
        if op and op[0] != after[0]:
            raise ValueError(f"目標值前後的比較方向矛盾 / contradictory comparators in target {text!r}")
        op = op or after
    value = Decimal(number.replace(",", "").replace("−", "-").lstrip("+"))
    percent = unit == "%"
    return Target(original, value, percent, op, "" if percent else (unit or ""))


def stage_target(text: str, stages: tuple[Stage, ...]) -> Target | None:
    """A milestone target written as a stage: ``第3階段``, ``3`` or the stage's label.

    Returns None when the text names no stage in that way (it may still be a percent).
    """
    original = str(text).strip()
    folded = unicodedata.normalize("NFKC", original)
    m = _STAGE_RE.match(folded) or re.fullmatch(r"([0-9]+)", folded)
    number = int(m.group(1)) if m else None
    if number is None:
        for n, st in enumerate(stages, start=1):
            if folded in (st.label, f"{n}.{st.label}", f"第{n}階段{st.label}"):
                number = n
    if number is None:
        return None
    if not 1 <= number <= len(stages):
        raise ValueError(f"沒有第{number}階段 / no stage {number} (the plan lists {len(stages)})")
    st = stages[number - 1]
    return Target(original, st.percent, True, None, "", number, st.label)


@dataclass(frozen=True)
class Period:
    """A reporting period, e.g. 上半年 1/1–6/30. Month-day bounds apply to any year."""

    id: str
    name: str
    start: tuple[int, int]  # (month, day)
    end: tuple[int, int]

    def dates(self, roc_year: int) -> tuple[date, date]:
        """Start and end dates in the Gregorian calendar for a ROC year."""
        y = roc_year + 1911
        return date(y, *self.start), date(y, *self.end)

    def is_full_year(self) -> bool:
        """True when the period covers the whole calendar year."""
        return self.start == (1, 1) and self.end == (12, 31)

    def end_text(self) -> str:
        """The period end as printed in analyses: ``6月30日``."""
        return f"{self.end[0]}月{self.end[1]}日"


@dataclass(frozen=True)
class InputSpec:
    """One count that staff enter for an indicator."""

    role: str
    label: str
    unit: str
    cumulative: bool = True  # a running total: the 上半年 figure cannot exceed 全年度


@dataclass(frozen=True)
class Stage:
    """One step of a milestone scale: ``1.完成委託…`` worth 25%."""

    label: str
    percent: Decimal


@dataclass(frozen=True)
class Indicator:
    """A key performance indicator (關鍵績效指標)."""

    id: str
    number: str
    name: str
    weight: Decimal
    system: int
    method: str
    formula: str
    kind: Kind
    polarity: Polarity
    target: Target
    previous_target: Target | None
    owner: str
    inputs: tuple[InputSpec, ...]
    goal_id: str = ""
    stages: tuple[Stage, ...] = ()
    sentence: str | None = None
    assessed_in: tuple[str, ...] = ()  # period ids; empty means every period
    numerator_in_denominator: bool = True  # ratio: the numerator counts part of the denominator
    decimals: int | None = None  # this indicator's rounding; None means the plan's
    common: bool = False  # 共同性指標: reported with the plan, outside its weight and score

    def options_for(self, opts: Options) -> Options:
        """The plan options with this indicator's own ``decimals``, if it sets one."""
        if self.decimals is None or self.decimals == opts.decimals:
            return opts
        return replace(opts, decimals=self.decimals)

    def input(self, role: str) -> InputSpec:
        """The input spec for a role."""
        for spec in self.inputs:
            if spec.role == role:
                return spec
        raise KeyError(role)


@dataclass(frozen=True)
class Goal:
    """A strategic performance goal (策略績效目標) with its indicators."""

    id: str
    number: str
    name: str
    weight: Decimal
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Rule:
    """A cross-check the plan declares between inputs, e.g. ``a.numerator <= b.denominator``."""

    id: str
    left: tuple[str, str]  # (indicator id, role)
    op: str
    right: tuple[str, str] | Decimal
    severity: Literal["error", "warning"]
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class Lights:
    """Achievement-rate thresholds for the status lights."""

    green: Decimal = Decimal(100)
    yellow: Decimal = Decimal(90)


@dataclass(frozen=True)
class Options:
    """Plan-wide computation options."""

    decimals: int = 2
    cap: Decimal = Decimal(100)
    lights: Lights = field(default_factory=Lights)
    password: str | None = None
    submit_to: str | None = None  # where staff email the calculated workbook


@dataclass(frozen=True)
class Phrases:
    """Fixed phrases of the analysis sentences; a plan may reword them."""

    met: str = "達原訂目標值"
    not_met: str = "未達原訂目標值"
    on_track: str = "依目前進度推估全年度可達成目標"
    at_risk: str = "依目前進度推估全年度未能達成原訂目標值"  # no promise made on staff's behalf
    # A running count before year end: its sentence says what its 達成情形 cell shows.
    on_schedule: str = ZH_LABELS.on_schedule
    behind: str = ZH_LABELS.behind
    pending: str = "截至{end}止，尚無資料，未能評估。"
    invalid: str = "截至{end}止，填報數據有誤，未能評估。"
    not_this_period: str = "本指標於{periods}評估。"
    compare: str = ""  # e.g. 「較{compare_year}年度同期{change}。」, appended when a report compares years


@dataclass(frozen=True)
class PlanItem:
    """A Part 3 item: 重要施政計畫項目 with its 實施內容."""

    id: str
    number: int
    name: str
    content: tuple[str, ...]


@dataclass(frozen=True)
class WorkPlan:
    """A Part 3 工作計畫 with its items."""

    number: int
    name: str
    items: tuple[PlanItem, ...]
    owner: str = ""  # 承辦單位: the section whose template holds these items; "" → the one named as it


@dataclass(frozen=True)
class Sample:
    """Sample data carried by a plan (the seed's 106 上半年 counts)."""

    year: int
    period: str
    targets: Literal["current", "previous"]
    entries: dict[str, dict[str, object]]
    notes: dict[str, str] = field(default_factory=dict)  # indicator id → staff's 補充說明


@dataclass(frozen=True)
class UnitContact:
    """Who answers for a reporting unit's returns, and where a reminder is written (plan ``units``)."""

    name: str
    contact: str = ""  # 聯絡人
    email: str = ""  # 催繳信箱: the reminder's To


@dataclass(frozen=True)
class Plan:
    """A whole annual plan: goals, indicators, periods, options and texts."""

    id: str
    agency: str
    year: int
    title: str
    periods: tuple[Period, ...]
    goals: tuple[Goal, ...]
    options: Options
    phrases: Phrases
    evaluation_systems: dict[int, str]
    rules: tuple[Rule, ...]
    work_plans: tuple[WorkPlan, ...]
    overview: dict
    sample: Sample | None
    fingerprint: str
    source: str = ""
    text: str = ""  # the plan file as written, so a workbook can carry its own plan
    units: tuple[str, ...] = ()  # the reporting units (填報單位), when the plan lists them
    contacts: tuple[UnitContact, ...] = ()  # each listed unit's contact and address, as given
    # What must still be settled before the plan is final (its 「待設定」 targets, as plan issues):
    # templates and results are made meanwhile; ``kpi plan check`` lists them.
    pending: tuple = field(default=(), compare=False)

    def contact(self, unit: str) -> UnitContact | None:
        """The plan's contact for ``unit``, if it names one."""
        return next((c for c in self.contacts if c.name == unit), None)

    @functools.cached_property
    def indicators(self) -> tuple[Indicator, ...]:
        """All indicators in plan order (the plan is frozen: worked out once)."""
        return tuple(i for g in self.goals for i in g.indicators)

    @functools.cached_property
    def _by_id(self) -> dict[str, tuple[Indicator, Goal]]:
        # A 1,000-indicator plan is looked up thousands of times per calculate: by dict, not by scan.
        out: dict[str, tuple[Indicator, Goal]] = {}
        for g in self.goals:
            for i in g.indicators:
                out.setdefault(i.id, (i, g))
        return out

    def indicator(self, indicator_id: str) -> Indicator:
        """Look an indicator up by id."""
        return self._by_id[indicator_id][0]

    def goal_of(self, indicator_id: str) -> Goal:
        """The goal an indicator belongs to."""
        return self._by_id[indicator_id][1]

    def period(self, period_id: str) -> Period:
        """Look a period up by id or by name (上半年)."""
        for p in self.periods:
            if period_id in (p.id, p.name):
                return p
        raise KeyError(period_id)

    @property
    def owners(self) -> tuple[str, ...]:
        """The sections (承辦單位) that own indicators, in plan order."""
        return tuple(dict.fromkeys(i.owner for i in self.indicators))

    @property
    def weight_total(self) -> Decimal:
        """Sum of the plan's own indicator weights; the rest up to 100 belongs to 共同性指標."""
        return sum((i.weight for i in self.indicators if not i.common), Decimal(0))
