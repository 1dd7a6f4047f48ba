"""Property tests: bounds, monotonicity, lights and Excel-exact rounding.

Indicators are varied directly (kind, polarity, comparator, target, cap, decimals,
period, year) from small parsed plans, so each example costs a few microseconds.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from plan_factory import indicator, make_plan

from kpi_engine.expr import Num, Ref, call, evaluate, format_number, round_half_up
from kpi_engine.measures import computation, rate_expr
from kpi_engine.plan import PERCENT_KINDS, Lights, Options, Target

D = Decimal


def dec(n: int, scale: int) -> Decimal:
    """n × 10^−scale, exactly (scaleb would round to the context's 28 digits)."""
    return D(f"{n}E{-scale}")


BASE = make_plan(
    indicator("r", "ratio", "50%", weight=25),
    indicator("g", "growth", "8%", weight=25),
    indicator("c", "count", "100", weight=25),
    indicator("m", "milestone", "100%", weight=25),
)
BY_KIND = {ind.kind: ind for ind in BASE.indicators}
KINDS = sorted(BY_KIND)
CAPS = [1, 50, 99, 100, 120, 150, 1000]

SETTINGS = settings(max_examples=300, deadline=None)

# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------

targets = st.builds(dec, st.integers(0, 2000), st.integers(0, 2))
counts = st.one_of(st.none(), st.integers(-50, 3000), st.integers(0, 10**7))


@st.composite
def setups(draw, kinds=KINDS, caps=CAPS):
    """(indicator, options, period) with a plan-valid target and comparator."""
    kind = draw(st.sampled_from(kinds))
    polarity = draw(st.sampled_from(["higher", "lower"]))
    op = draw(st.sampled_from([None, ">=", ">"] if polarity == "higher" else [None, "<=", "<"]))
    t = draw(targets)
    assume(not (op == "<" and t == 0))  # the plan loader rejects "<0": it can never be met
    target = Target(f"{op or ''}{t}", t, kind in PERCENT_KINDS, op)
    ind = replace(BY_KIND[kind], polarity=polarity, target=target)
    opts = Options(decimals=draw(st.integers(0, 4)), cap=D(draw(st.sampled_from(caps))))
    period = BASE.period(draw(st.sampled_from(["H1", "FY"])))
    return ind, opts, period


def inputs_for(draw, ind) -> dict:
    if ind.kind == "milestone":
        stage = draw(st.one_of(st.none(), st.integers(-1, len(ind.stages) + 1)))
        return {"stage": None if stage is None else D(stage)}
    return {s.role: (None if (n := draw(counts)) is None else D(n)) for s in ind.inputs}


# ---------------------------------------------------------------------------
# 達成率 within [0, cap]; green exactly when the target is met
# ---------------------------------------------------------------------------


@SETTINGS
@given(st.data(), setups(), st.integers(100, 130))
def test_rate_is_within_zero_and_cap(data, setup, year):
    ind, opts, period = setup
    cells = computation(ind, period, opts, roc_year=year).run(inputs_for(data.draw, ind))
    rate = cells["rate"]
    if rate == "":
        assert cells["light"] == "白燈"
        assert cells["value"] == ""  # blank only when nothing can be computed
    else:
        assert isinstance(rate, Decimal)
        assert 0 <= rate <= opts.cap
        assert rate == round_half_up(rate, opts.decimals)  # shown at the plan's decimals


@SETTINGS
@given(st.data(), setups(caps=[100, 120, 1000]), st.integers(100, 130))
def test_green_light_exactly_when_met(data, setup, year):
    # Default lights (green ≥ 100): green ⇔ the target is met — by the year-end
    # projection for a running count in a part-year period, else by the value itself.
    ind, opts, period = setup
    cells = computation(ind, period, opts, roc_year=year).run(inputs_for(data.draw, ind))
    assume(cells["rate"] != "")
    met = cells["at_risk"] == "否" if "at_risk" in cells else cells["achieved"] == "達成"
    assert (cells["light"] == "綠燈") == met
    assert (cells["rate"] >= 100) == met


@SETTINGS
@given(st.data(), setups(), st.integers(100, 130))
def test_light_follows_rate_thresholds(data, setup, year):
    ind, opts, period = setup
    green = data.draw(st.integers(50, 150))
    yellow = data.draw(st.integers(0, green))
    opts = replace(opts, lights=Lights(D(green), D(yellow)))
    cells = computation(ind, period, opts, roc_year=year).run(inputs_for(data.draw, ind))
    rate = cells["rate"]
    expected = "白燈" if rate == "" else "綠燈" if rate >= green else "黃燈" if rate >= yellow else "紅燈"
    assert cells["light"] == expected


# ---------------------------------------------------------------------------
# monotonic in the actual value
# ---------------------------------------------------------------------------

values = st.builds(dec, st.integers(-(10**6), 10**6), st.integers(0, 3))


def rate_of(ind, opts, x: Decimal) -> Decimal:
    """達成率 of a basis value x, evaluated straight from rate_expr (no value step)."""
    r = evaluate(rate_expr(Ref("value"), ind, ind.target, opts), {"value": x})
    assert isinstance(r, Decimal)
    return r


@SETTINGS
@given(setups(), values, values)
def test_rate_is_monotonic_in_the_basis(setup, x1, x2):
    ind, opts, _ = setup
    lo, hi = sorted((x1, x2))
    if ind.polarity == "higher":
        assert rate_of(ind, opts, lo) <= rate_of(ind, opts, hi)
    else:
        assert rate_of(ind, opts, lo) >= rate_of(ind, opts, hi)


@SETTINGS
@given(setups(kinds=["count"]), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(100, 130))
def test_count_rate_is_monotonic_in_the_count(setup, n1, n2, year):
    # A count's value is the count itself, so this runs the whole computation,
    # year-end projection included for running counts in 上半年.
    ind, opts, period = setup
    lo, hi = sorted((n1, n2))
    comp = computation(ind, period, opts, roc_year=year)
    r_lo, r_hi = comp.run({"count": D(lo)})["rate"], comp.run({"count": D(hi)})["rate"]
    if ind.polarity == "higher":
        assert r_lo <= r_hi
    else:
        assert r_lo >= r_hi


@pytest.mark.parametrize(("target", "polarity"), [(">50", "higher"), ("<50", "lower")])
def test_monotonic_across_a_strict_target(target, polarity):
    # The step at a strict target: 49, 50, 51 around ">50" / "<50".
    ind = replace(BY_KIND["count"], polarity=polarity, target=Target(target, D(50), False, target[0]))
    rates = [rate_of(ind, Options(), D(x)) for x in (49, 50, 51)]
    if polarity == "higher":  # 98, 99.99 (50 > 50 fails), 100
        assert rates == [D(98), D("99.99"), D(100)]
    else:  # 100 (49 < 50), 99.99 (50 < 50 fails), 50×100/51 = 98.039… → 98.04
        assert rates == [D(100), D("99.99"), D("98.04")]


# ---------------------------------------------------------------------------
# the value step against exact fractions
# ---------------------------------------------------------------------------


def half_up(q: Fraction, places: int) -> Decimal:
    """Reference rounding of an exact fraction: half away from zero."""
    scaled = abs(q) * 10**places
    whole = int(scaled + Fraction(1, 2))  # floor(|q|·10^p + ½)
    sign = "-" if q < 0 else ""
    return D(f"{sign}{whole}E{-places}")


@SETTINGS
@given(st.integers(0, 10**6), st.integers(1, 10**6), st.integers(0, 4))
def test_ratio_value_equals_exact_fraction(numerator, denominator, decimals):
    numerator %= denominator + 1  # the numerator is part of the denominator: larger is an error
    ind = BY_KIND["ratio"]
    comp = computation(ind, BASE.period("FY"), Options(decimals=decimals), roc_year=107)
    cells = comp.run({"numerator": D(numerator), "denominator": D(denominator)})
    assert cells["value"] == half_up(Fraction(numerator * 100, denominator), decimals)


@SETTINGS
@given(st.integers(0, 10**6), st.integers(1, 10**6), st.integers(0, 4))
def test_growth_value_equals_exact_fraction(current, previous, decimals):
    ind = BY_KIND["growth"]
    comp = computation(ind, BASE.period("FY"), Options(decimals=decimals), roc_year=107)
    cells = comp.run({"current": D(current), "previous": D(previous)})
    assert cells["value"] == half_up(Fraction((current - previous) * 100, previous), decimals)


# ---------------------------------------------------------------------------
# rounding: round_half_up is Excel's ROUND
# ---------------------------------------------------------------------------


def excel_round_text(text: str, places: int) -> str:
    """Excel's ROUND on decimal text, by hand: digit strings and carries only.

    Keeps ``places`` decimals; if the first dropped digit is 5 or more, adds one to
    the last kept digit, carrying leftwards (half away from zero: the sign is kept).
    """
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("+-").partition(".")
    frac = frac.ljust(places + 1, "0")
    digits = list(whole + frac[:places])
    if frac[places] >= "5":
        i = len(digits) - 1
        while i >= 0 and digits[i] == "9":
            digits[i] = "0"
            i -= 1
        if i < 0:
            digits.insert(0, "1")
        else:
            digits[i] = str(int(digits[i]) + 1)
    kept = "".join(digits)
    head, tail = kept[: len(kept) - places], kept[len(kept) - places :]
    head = head.lstrip("0") or "0"
    out = head + ("." + tail if places else "")
    return out if set(out) <= set("0.") else sign + out  # no "-0.00"


def half_text(n: int, places: int) -> str:
    """Decimal text of n followed by a final 5 at ``places + 1`` decimals: an exact half."""
    digits = str(abs(n)) + "5"
    digits = digits.rjust(places + 2, "0")
    text = digits[: -(places + 1)] + "." + digits[-(places + 1) :]
    return ("-" if n < 0 else "") + text


def test_reference_helpers_by_hand():
    assert half_text(12, 0) == "12.5"
    assert half_text(-12, 0) == "-12.5"
    assert half_text(6, 2) == "0.065"
    assert half_text(0, 1) == "0.05"
    assert excel_round_text("12.5", 0) == "13"
    assert excel_round_text("-12.5", 0) == "-13"
    assert excel_round_text("9.995", 2) == "10.00"
    assert excel_round_text("0.0625", 2) == "0.06"
    assert excel_round_text("-0.004", 2) == "0.00"


@SETTINGS
@given(st.one_of(st.integers(-(10**12), 10**12), st.integers(-(10**40), 10**40)), st.integers(0, 8))
@example(n=12, places=0)  # 12.5 → 13
@example(n=-12, places=0)  # −12.5 → −13
@example(n=999, places=2)  # 9.995 → 10.00
@example(n=0, places=0)  # 0.5 → 1
def test_round_half_up_on_exact_halves(n, places):
    text = half_text(n, places)
    x = D(text)
    want = D(excel_round_text(text, places))
    assert round_half_up(x, places) == want
    assert format(round_half_up(x, places), "f") == excel_round_text(text, places)
    assert x == dec(n * 10 + (5 if n >= 0 else -5), places + 1)
    with localcontext(prec=100):  # the default 28 digits would round these numbers
        assert x.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP) == want
        assert abs(want) > abs(x)  # a half always moves away from zero


@SETTINGS
@given(
    st.one_of(st.integers(-(10**15), 10**15), st.integers(-(10**60), 10**60)),
    st.integers(0, 8),
    st.integers(0, 6),
)
@example(n=10**40, scale=0, places=2)  # far beyond 34 digits: must not raise
def test_round_half_up_on_any_decimal(n, scale, places):
    x = dec(n, scale)
    text = format(x, "f")
    assert round_half_up(x, places) == D(excel_round_text(text, places))
    assert round_half_up(x, places) == half_up(Fraction(x), places)


@SETTINGS
@given(st.integers(-(10**9), 10**9), st.integers(0, 6), st.integers(0, 6))
def test_round_in_expressions_is_round_half_up(n, scale, places):
    x = dec(n, scale)
    assert evaluate(call("ROUND", Num(x), places), {}) == round_half_up(x, places)


def test_python_round_is_not_excel_round():
    # Python's round() rounds halves to even (and floats are binary), Excel's ROUND does not.
    assert round(D("0.125"), 2) == D("0.12")
    assert round_half_up(D("0.125"), 2) == D("0.13")
    assert round(D("2.5")) == 2 and round_half_up(D("2.5"), 0) == 3
    assert round(D("-2.5")) == -2 and round_half_up(D("-2.5"), 0) == -3
    assert round(6.25, 1) == 6.2 and round_half_up(D("6.25"), 1) == D("6.3")
    assert round(2.675, 2) == 2.67  # 2.675 as a float is 2.67499999…
    assert round_half_up(D("2.675"), 2) == D("2.68")


@SETTINGS
@given(st.one_of(st.integers(-(10**15), 10**15), st.integers(-(10**60), 10**60)), st.integers(-3, 8))
@example(n=10**40 - 1, scale=0)  # 40 nines: more digits than a default context keeps
def test_format_number_round_trips(n, scale):
    x = dec(n, scale)
    text = format_number(x)
    assert "E" not in text.upper()
    assert D(text) == x
