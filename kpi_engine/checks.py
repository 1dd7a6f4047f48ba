"""Checks on entered counts, made on the raw cell values staff typed.

:func:`parse_count` reads one raw value leniently (full-width digits, thousands
separators, stray spaces) and says what was odd about it; :func:`check_period` and
:func:`check_across` apply the rules that need several values.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from .expr import format_number
from .findings import Finding, finding, input_finding
from .kinds import MAX_COUNT as MAX_COUNT  # kept importable from here
from .kinds import blank_text, kind_of
from .plan import Indicator, Period, Plan

#: Excel's error values, as they appear when a cell is read.
EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA", "#SPILL!", "#CALC!"}
)
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_count(raw: object) -> tuple[Decimal | None, list[tuple[str, dict]]]:
    """Read one raw cell value as a number.

    Returns the number (or None when there is none) and a list of
    ``(finding code, message fields)`` describing anything odd.  Only value-level
    problems are reported here; missing values are judged per indicator.
    """
    if raw is None:
        return None, []
    if isinstance(raw, bool):
        return None, [("boolean", {"raw": raw})]
    if isinstance(raw, (datetime, date, time, timedelta)):
        return None, [("date", {"raw": raw})]
    if isinstance(raw, int):
        return Decimal(raw), []
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return None, [("text", {"raw": str(raw)})]
        return Decimal(repr(raw)), []
    if isinstance(raw, Decimal):
        return raw, []
    return _parse_text(str(raw))


def _parse_text(raw: str) -> tuple[Decimal | None, list[tuple[str, dict]]]:
    notes: list[tuple[str, dict]] = []
    if blank_text(raw):  # blank as the formulas see it: spaces only, half- or full-width
        return None, []
    stripped = raw.strip()
    if stripped == "":  # a tab or a no-break space is no number to a formula either
        return None, [("text", {"raw": raw})]
    if stripped.upper() in EXCEL_ERRORS:
        return None, [("excel_error", {"raw": stripped})]
    if stripped.startswith("="):  # openpyxl shows a typed formula as its text
        return None, [("formula_in_input", {"raw": stripped})]
    text = stripped
    if text != raw:
        notes.append(("whitespace", {}))
    folded = unicodedata.normalize("NFKC", text)
    if folded != text:
        notes.append(("fullwidth_digits", {}))
        text = folded.strip()
    if _THOUSANDS.match(text):
        notes.append(("thousands_separator", {}))
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        return None, [("text", {"raw": raw})]
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already guards this
        return None, [("text", {"raw": raw})]
    if not notes:
        notes.append(("text_number", {}))
    return value, [(code, {**f, "raw": raw, "value": _show(value)}) for code, f in notes]


def _show(d: Decimal) -> str:
    return format_number(d)


#: Lenient readings a spreadsheet formula cannot make: ISNUMBER() is false for text.
TEXT_READINGS = frozenset({"text_number", "whitespace", "fullwidth_digits", "thousands_separator"})
#: Errors no formula can see: a date is a number to ISNUMBER.  Calculate's record holds
#: them for the formulas (:data:`kpi_engine.measures.HELD_MARK`).
FORMULA_BLIND = frozenset({"date"})
_EXCEL_EPOCH = datetime(1899, 12, 30)


def as_cell_number(raw: object) -> Decimal | None:
    """The number a spreadsheet formula sees in a cell: numbers, and dates as serials.

    Text (even "187"), booleans and errors are not numbers to ``ISNUMBER``.
    """
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if raw == raw and abs(raw) != float("inf") else None
    if isinstance(raw, (datetime, date)):
        moment = raw if isinstance(raw, datetime) else datetime(raw.year, raw.month, raw.day)
        delta = moment.replace(tzinfo=None) - _EXCEL_EPOCH
        return Decimal(delta.days) + Decimal(delta.seconds) / Decimal(86400)
    return None


def check_value(
    ind: Indicator, role: str, period: Period, raw: object
) -> tuple[Decimal | None, list[Finding]]:
    """Parse one input and apply the per-value rules (sign, whole number, size, stage)."""
    value, notes = parse_count(raw)

    def make(code: str, **fields: object) -> Finding:
        return input_finding(code, ind, period, role, **fields)

    out = [make(code, **fields) for code, fields in notes]
    if value is None:
        return None, out
    shown = _show(value)
    if value < 0:
        out.append(make("negative", value=shown))
    if value != value.to_integral_value():
        out.append(make("non_integer", value=shown))
    if abs(value) >= MAX_COUNT:
        out.append(make("too_large", value=shown))
    if kind_of(ind).staged and not (0 <= value <= len(ind.stages)):
        out.append(make("stage_out_of_range", value=shown, other=len(ind.stages)))
    return value, out


def check_indicator(
    ind: Indicator, period: Period, raw: Mapping[str, object]
) -> tuple[dict[str, Decimal | None], list[Finding]]:
    """Parse and check all inputs of one indicator in one period."""
    values: dict[str, Decimal | None] = {}
    out: list[Finding] = []
    for spec in ind.inputs:
        values[spec.role], found = check_value(ind, spec.role, period, raw.get(spec.role))
        out += found
    blank = [s.role for s in ind.inputs if _is_blank(raw.get(s.role))]
    code = "missing" if len(blank) == len(ind.inputs) else "incomplete"
    out += [input_finding(code, ind, period, role) for role in blank]
    kind = kind_of(ind)
    if kind.divisor is not None and values.get(kind.divisor) == 0:
        out.append(input_finding("zero_denominator", ind, period, kind.divisor))
    if kind.part_of_whole:
        out += _ratio_rules(ind, period, values)
    out += date_serial_rule(ind, period, values)
    return values, out


#: The serial numbers of the dates 2000-01-01 … 2099-12-31: a date typed into a cell formatted
#: ``0`` (LibreOffice keeps the format) is one of these, and nothing else in the file says "date".
DATE_SERIALS = range(36_526, 73_051 + 1)
#: How far above its target a count must be to be read as a date typed in by mistake.
DATE_SERIAL_SCALE = 100


def date_serial_rule(ind: Indicator, period: Period, values: Mapping[str, Decimal | None]) -> list[Finding]:
    """A warning (``date_serial``) for a count that lies among date serials and far above its
    target: 43,281 (2018-06-30) against ≤135.  Only kinds whose one input is the value itself
    (count, stock) have a target of the input's scale; a rate's numerator above its
    denominator is already an error (``numerator_gt_denominator``)."""
    kind = kind_of(ind)
    if len(kind.roles) != 1 or kind.percent or kind.staged:
        return []
    (role,) = kind.roles
    value = values.get(role)
    targets = [t for t in (ind.target, ind.previous_target) if t is not None and not (t.percent or t.unset)]
    if value is None or not targets or value != value.to_integral_value() or int(value) not in DATE_SERIALS:
        return []
    scale = max(targets, key=lambda t: t.value)
    if value <= DATE_SERIAL_SCALE * scale.value:
        return []
    day = _EXCEL_EPOCH + timedelta(days=int(value))
    return [
        input_finding(
            "date_serial",
            ind,
            period,
            role,
            value=_show(value),
            date_zh=f"民國{day.year - 1911}年{day.month}月{day.day}日",
            date_en=f"{day:%Y-%m-%d}",
            target=scale.printed,
        )
    ]


def _is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and blank_text(raw))


def _ratio_rules(ind: Indicator, period: Period, values: Mapping[str, Decimal | None]) -> list[Finding]:
    if not ind.numerator_in_denominator:
        return []
    part, whole = kind_of(ind).roles
    num, den = values.get(part), values.get(whole)
    if num is not None and den is not None and den != 0 and num > den:  # 0 is zero_denominator
        return [
            input_finding(
                "numerator_gt_denominator",
                ind,
                period,
                part,
                value=_show(num),
                other_label=ind.input(whole).label,
                other=_show(den),
            )
        ]
    return []


def check_across(
    plan: Plan, values: Mapping[str, Mapping[str, Mapping[str, Decimal | None]]]
) -> list[Finding]:
    """Rules spanning periods or indicators.

    ``values`` is period id → indicator id → role → parsed number.  A running total
    (cumulative input) may not fall from an earlier period to a later one that
    starts on the same day; plan rules are checked within each period.
    """
    out: list[Finding] = []
    periods = [p for p in plan.periods if p.id in values]
    for early in periods:
        for late in periods:
            if early.start != late.start or early.end >= late.end:
                continue
            for ind in plan.indicators:
                for spec in ind.inputs:
                    a = values[early.id].get(ind.id, {}).get(spec.role)
                    b = values[late.id].get(ind.id, {}).get(spec.role)
                    if spec.cumulative and a is not None and b is not None and a > b:
                        out.append(
                            input_finding(
                                "half_gt_full",
                                ind,
                                early,
                                spec.role,
                                period_name=early.name,
                                value=_show(a),
                                other_period=late.name,
                                other=_show(b),
                            )
                        )
    for period in periods:
        out += _plan_rules(plan, period, values[period.id])
    return out


_OPS = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
}


def _plan_rules(
    plan: Plan, period: Period, values: Mapping[str, Mapping[str, Decimal | None]]
) -> list[Finding]:
    out = []
    for rule in plan.rules:
        left = values.get(rule.left[0], {}).get(rule.left[1])
        right = (
            rule.right
            if isinstance(rule.right, Decimal)
            else values.get(rule.right[0], {}).get(rule.right[1])
        )
        if left is None or right is None or _OPS[rule.op](left, right):
            continue
        out.append(
            finding(
                "rule",
                severity=rule.severity,
                indicator=rule.left[0],
                input=rule.left[1],
                period=period.id,
                message_zh=f"{rule.message_zh}（{rule.id}：{_show(left)} {rule.op} {_show(right)} 不成立）",
                message_en=f"{rule.message_en} ({rule.id}: {_show(left)} {rule.op} {_show(right)} fails)",
            )
        )
    return out
