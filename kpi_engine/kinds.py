"""Indicator kinds: one record per kind, and the input rules every kind shares.

A :class:`Kind` says everything that differs between kinds — its input roles and
their names, its value expression, its own input rules (a divisor, a part within its
whole, stages), its default sentence, its default polarity, whether its inputs are
running totals and whether a part-year value is projected, and what plan import
reads in a 衡量標準.  The plan model, the loader and its schema, the computation
(:mod:`kpi_engine.measures`), the checks, the sentences, the authoring workbook,
the template and plan import all read these records; adding a kind touches this
file and its tests.

The cell tests (:func:`is_number`, :func:`is_blank`, :func:`is_formula`) and the
per-input check :func:`input_error_expr` are expressions, so the engine and the
workbook's formulas judge every input alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from .expr import Expr, Ref, call, cmp, if_


class _Input(Protocol):
    role: str
    cumulative: bool


class Indicator(Protocol):
    """What the records read of an indicator (:class:`kpi_engine.plan.Indicator`, which imports this module)."""

    kind: str
    inputs: tuple[_Input, ...]
    stages: tuple
    numerator_in_denominator: bool


BLANK = ""
#: Counts at or above this are refused: a billion people or cases is surely a typing mistake,
#: and below it every ratio, growth and projection rounds in LibreOffice exactly as the
#: engine computes it (docs/decisions.md; above 10^10 about 3% of projections differed).
MAX_COUNT = Decimal(10) ** 9
#: A full-width space (IME on) is blank to a clerk's eye: blank to the checks and formulas alike.
FULLWIDTH_SPACE = "\u3000"


# -- cell tests: what a formula can tell about an input cell ----------------------------------


def is_number(x: Expr) -> Expr:
    """A number and not a boolean: LibreOffice's ISNUMBER is true for TRUE, Excel's is not."""
    return call("AND", call("ISNUMBER", x), call("NOT", call("ISLOGICAL", x)))


def is_formula(x: Expr) -> Expr:
    """The cell holds a formula (the engine sees a typed formula as its text, ``=1+1``)."""
    return call("ISFORMULA", x)


def usable(x: Expr) -> Expr:
    """A number typed as a number: what a rule between two inputs may compare."""
    return call("AND", is_number(x), call("NOT", is_formula(x)))


def is_blank(x: Expr) -> Expr:
    """Nothing typed: an empty cell, or text of spaces only (half- or full-width)."""
    spaces = cmp("=", call("TRIM", call("SUBSTITUTE", x, FULLWIDTH_SPACE, " ")), BLANK)
    return call("AND", call("NOT", is_formula(x)), if_(call("ISTEXT", x), spaces, call("ISBLANK", x)))


def blank_text(text: str) -> bool:
    """:func:`is_blank` for a text value: only spaces (``TRIM`` removes nothing else)."""
    return text.replace(FULLWIDTH_SPACE, " ").strip(" ") == ""


def _flag(cond: Expr) -> Expr:
    return if_(cond, 1, 0)


def _when_number(x: Expr, cond: Expr) -> Expr:
    # IF, not AND: Excel's AND evaluates every argument, and "abc"<0 or #N/A<0 must not be reached.
    return if_(is_number(x), _flag(cond), 0)


def sum_of(terms: list[Expr]) -> Expr:
    """``terms[0] + terms[1] + …`` as one expression (a count of failing checks)."""
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _numbers(*roles: str) -> Expr:
    tests = [is_number(Ref(r)) for r in roles]
    return tests[0] if len(tests) == 1 else call("AND", *tests)


# -- value expressions -----------------------------------------------------------------------


def _percent_of(num: Callable[[Ref, Ref], Expr]) -> Callable[[Indicator, int], Expr]:
    def value(ind: Indicator, decimals: int) -> Expr:
        a, b = (Ref(s.role) for s in ind.inputs)
        raw = if_(cmp("=", b, 0), BLANK, call("ROUND", num(a, b) * 100 / b, decimals))
        return if_(_numbers(a.name, b.name), raw, BLANK)

    return value


def _level(ind: Indicator, decimals: int) -> Expr:
    x = Ref(ind.inputs[0].role)
    return if_(is_number(x), call("ROUND", x, decimals), BLANK)


def _mean(ind: Indicator, decimals: int) -> Expr:
    total, cases = Ref("total"), Ref("cases")
    raw = if_(cmp("=", cases, 0), BLANK, call("ROUND", total / cases, decimals))
    return if_(_numbers("total", "cases"), raw, BLANK)


def _stage_percent(ind: Indicator, decimals: int) -> Expr:
    s = Ref("stage")
    valid = call("AND", cmp(">=", s, 0), cmp("<=", s, len(ind.stages)), cmp("=", s, call("INT", s)))
    percents = [Decimal(0), *(st.percent for st in ind.stages)]
    return if_(is_number(s), if_(valid, call("CHOOSE", s + 1, *percents), BLANK), BLANK)


# -- what plan import reads in a 衡量標準 (already NFKC-folded) -----------------------------------

# Patterns, compiled (and cached by re) the first time an import reads a 衡量標準: a calculate
# never does (issue 24).
_TIMES_100 = r"\s*[*×xX]\s*100\s*%?\s*$"
_DIVIDED = r"\(?\s*([^()/\-+*×]+?)\s*\)?\s*[/÷]\s*\(?\s*([^()/\-+*×]+?)\s*\)?"


def _read_growth(text: str) -> dict[str, str] | None:
    if not re.search(_TIMES_100, text):
        return None
    body = re.sub(_TIMES_100, "", text).strip()
    m = re.fullmatch(r"\(\s*([^()]+?)\s*-\s*([^()]+?)\s*\)\s*/\s*\(?\s*([^()]+?)\s*\)?", body)
    if m and re.sub(r"\s", "", m.group(2)) == re.sub(r"\s", "", m.group(3)):
        return {"current": m.group(1).strip(), "previous": m.group(2).strip()}
    return None


def _read_ratio(text: str) -> dict[str, str] | None:
    if not re.search(_TIMES_100, text):
        return None
    m = re.fullmatch(_DIVIDED, re.sub(_TIMES_100, "", text).strip())
    return {"numerator": m.group(1).strip(), "denominator": m.group(2).strip()} if m else None


def _read_average(text: str) -> dict[str, str] | None:
    """``總處理天數／結案件數`` (a division without ×100), also after 「平均處理天數＝」."""
    if re.search(_TIMES_100, text) or "%" in text:
        return None
    body = re.split(r"[=:：]", text)[-1].strip()
    m = re.fullmatch(_DIVIDED, body)
    return {"total": m.group(1).strip(), "cases": m.group(2).strip()} if m else None


@dataclass(frozen=True)
class Kind:
    """Everything that differs between kinds of indicator."""

    code: str
    label: str  # as the authoring workbook's drop-down and the template print it
    summary: str  # how it is computed, in a few characters
    roles: tuple[str, ...]  # input roles, in display order
    role_names: tuple[str, ...]  # what each input is called where the plan names none
    percent: bool  # the value is a percentage (targets carry %)
    value: Callable[[Indicator, int], Expr]  # the value from the inputs, rounded
    sentence: str  # the default analysis sentence
    default_polarity: str | None  # None: the plan must say higher or lower
    cumulative: bool = True  # inputs are running totals within the year, unless the plan says not
    projected: bool = False  # a running total in a part-year period is projected to year end
    divisor: str | None = None  # 0 in this input cannot be divided by (zero_denominator)
    part_of_whole: bool = False  # the first input is part of the second (numerator_in_denominator)
    staged: bool = False  # the input is a stage number of the indicator's stages
    signed: bool = False  # the value may be negative (a fall), so may a lower-is-better target
    whole_value: bool = False  # the value is a whole number of its unit (a count, a level): printed #,##0
    read_formula: Callable[[str], dict[str, str] | None] | None = None  # import: role → label
    import_words: tuple[str, ...] = ()  # import: patterns in name or notes that say this kind

    def role_name(self, role: str) -> str:
        """What ``role`` is called in messages and placeholders (分子, 分母…)."""
        return self.role_names[self.roles.index(role)]


RATIO = Kind(
    "ratio",
    "比率",
    "A/B×100%",
    ("numerator", "denominator"),
    ("分子", "分母"),
    True,
    _percent_of(lambda a, b: a),
    "截至{end}止，{denominator_label}{denominator}{denominator_unit}，{numerator_label}{numerator}{numerator_unit}，"
    "{name}{value}%({numerator}{numerator_unit}/{denominator}{denominator_unit})，{verdict}，達成率{rate}%。",
    "higher",
    divisor="denominator",
    part_of_whole=True,
    read_formula=_read_ratio,
)
GROWTH = Kind(
    "growth",
    "成長率",
    "(今年-去年)/去年×100%",
    ("current", "previous"),
    ("今年數值", "去年數值"),
    True,
    _percent_of(lambda a, b: a - b),
    "截至{end}止，{current_label}{current}{current_unit}，{previous_label}{previous}{previous_unit}，"
    "{name}{value}%，{verdict}，達成率{rate}%。",
    "higher",
    divisor="previous",
    signed=True,
    read_formula=_read_growth,
)
COUNT = Kind(
    "count",
    "件數",
    "年度內累計件數",
    ("count",),
    ("件數",),
    False,
    _level,
    "截至{end}止共計{count}{count_unit}，{verdict}{outlook}，達成率{rate}%。",
    None,
    projected=True,
    whole_value=True,
    import_words=(r"每年", r"每年度", r"全年", r"年度內", r"當年度", r"本年度", r"1月1日起", r"年度累計"),
)
STOCK = Kind(
    "stock",
    "存量",
    "某日的數量（不推估）",
    ("level",),
    ("數量",),
    False,
    _level,
    "截至{end}止，{level_label}{level}{level_unit}，{verdict}，達成率{rate}%。",
    None,
    cumulative=False,
    whole_value=True,
    import_words=(r"自\s*[0-9]+\s*年度?起?\s*累計", r"歷年累計", r"累計至", r"迄今累計", r"現有", r"總數"),
)
AVERAGE = Kind(
    "average",
    "平均數",
    "總數/件數",
    ("total", "cases"),
    ("總數", "件數"),
    False,
    _mean,
    "截至{end}止，{total_label}{total}{total_unit}，{cases_label}{cases}{cases_unit}，"
    "{name}{value}{total_unit}，{verdict}，達成率{rate}%。",
    None,
    divisor="cases",
    read_formula=_read_average,
    import_words=(r"平均",),
)
MILESTONE = Kind(
    "milestone",
    "完成工作項目",
    "已達成階段的百分比",
    ("stage",),
    ("已達成階段",),
    True,
    _stage_percent,
    "截至{end}止，已達第{stage}階段「{stage_label}」，完成度{value}%，{verdict}，達成率{rate}%。",
    "higher",
    staged=True,
)

#: Every kind, in the order import tries them and documents list them.
KINDS: dict[str, Kind] = {k.code: k for k in (RATIO, GROWTH, COUNT, MILESTONE, AVERAGE, STOCK)}
#: The input roles each kind of indicator needs, in display order.
KIND_ROLES: dict[str, tuple[str, ...]] = {k.code: k.roles for k in KINDS.values()}
#: Kinds whose value is a percentage (their targets are printed with ``%``).
PERCENT_KINDS = frozenset(k.code for k in KINDS.values() if k.percent)
#: Every input role of any kind (the plan schema's input names).
ALL_ROLES: tuple[str, ...] = tuple(dict.fromkeys(r for k in KINDS.values() for r in k.roles))


def kind_of(ind: Indicator) -> Kind:
    """The record of an indicator's kind."""
    return KINDS[ind.kind]


def kind_text(ind: Indicator) -> str:
    """The kind as a sheet prints it: 比率; 件數（累計） for a running count that is projected."""
    kind = kind_of(ind)
    running = kind.projected and ind.inputs and ind.inputs[0].cumulative
    return kind.label + ("（累計）" if running else "")


# -- input rules ------------------------------------------------------------------------------


def input_error_expr(ind: Indicator, role: str) -> Expr:
    """How many checks of one input fail (0 when it is fine): the rules its cell must meet.

    A formula typed into it is one failure and nothing else is asked (Excel would compute
    it, the engine sees its text).  Otherwise: not a number (text, TRUE/FALSE, an error
    value), negative, not whole, too large, a stage out of range, 0 in a divisor, and for
    a part within its whole (a ratio's numerator) more than the whole.  Blank is fine
    here; some-but-not-all blank is judged per indicator (:func:`kpi_engine.measures.errors_expr`).
    """
    kind = kind_of(ind)
    x = Ref(role)
    terms: list[Expr] = [
        if_(call("OR", is_blank(x), is_number(x)), 0, 1),
        _when_number(x, cmp("<", x, 0)),
        _when_number(x, cmp("<>", x, call("INT", x))),
        _when_number(x, cmp(">=", call("ABS", x), MAX_COUNT)),
    ]
    if kind.staged:
        terms.append(_when_number(x, call("OR", cmp("<", x, 0), cmp(">", x, len(ind.stages)))))
    if role == kind.divisor:
        terms.append(_when_number(x, cmp("=", x, 0)))
    if kind.part_of_whole and ind.numerator_in_denominator and role == kind.roles[0]:
        whole = Ref(kind.roles[1])
        both = call("AND", usable(x), usable(whole))
        terms.append(if_(both, _flag(call("AND", cmp("<>", whole, 0), cmp(">", x, whole))), 0))
    return if_(is_formula(x), 1, sum_of(terms))
