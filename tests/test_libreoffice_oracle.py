"""LibreOffice as an oracle: the template's own formulas must compute what the engine computes.

Every result cell (each ``OUT_*`` defined name: value, projection, achieved, rate,
light, at_risk) of a filled template is recalculated by LibreOffice and compared
with ``IndicatorResult.cells`` from :func:`kpi_engine.evaluate`, as are the cells
of the 達成情形 sheet that refer to them.

* the seed plan with its 106 上半年 sample counts, assessed against the 106 and
  the 107 targets;
* generated plans (every kind and polarity, custom decimals, caps, light thresholds,
  a leap year, three periods) with several hundred generated entry sets: empty
  inputs, zero denominators, exact halves at the rounding digit, values at and far
  from the target, and odd inputs.  Many entry sets share one workbook (one per
  indicator and period), so LibreOffice runs only once per batch.
"""

from __future__ import annotations

import functools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers_workbook import Values, build_filled, recalc_all, same_value, summary_references

from kpi_engine import Plan, evaluate, parse_plan
from kpi_engine import expr as X
from kpi_engine.checks import check_indicator
from kpi_engine.kinds import KINDS, kind_of
from kpi_engine.measures import CALC_REF, SNAP_PREFIX, Computation
from kpi_engine.plan import Indicator, Options, Period
from kpi_engine.plan_loader import dump_plan
from workbook import libreoffice as lo
from workbook.form import layout as L
from workbook.form.formulas import formula_text, indicator_computation

# ---------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------


class Formula(str):
    """An input typed as a formula (``=1+1``): the engine reads its text, as openpyxl shows it."""


@dataclass
class Case:
    """One entry set: an indicator in a period of one batch workbook."""

    batch: str
    ind: Indicator
    period: Period
    raw: dict[str, object]
    intent: str = "seed"
    tags: set[str] = field(default_factory=set)


def compare_results(
    scope: L.Scope, cases: list[Case], lo_book: Values, template: Path
) -> tuple[list[str], int]:
    """Compare every OUT_* cell and the 達成情形 references; return (mismatches, cells compared)."""
    plan = scope.plan
    entries: dict[str, dict[str, dict[str, object]]] = {}
    for c in cases:
        entries.setdefault(c.period.id, {})[c.ind.id] = c.raw
    where = lo_book.where
    # What the last calculate recorded (nothing, for a workbook never calculated): the 檢核 step reads it.
    state: dict[tuple[str, str], dict[str, object]] = {}
    for c in cases:
        record = state.setdefault((c.ind.id, c.period.id), {})
        record[CALC_REF] = lo_book.named(L.calc_name(c.ind, c.period))
        for spec in c.ind.inputs:
            record[SNAP_PREFIX + spec.role] = lo_book.named(L.snapshot_name(c.ind, c.period, spec.role))
    ev = evaluate(plan, entries, targets=scope.targets, year=scope.year, cells=True, state=state)  # type: ignore[arg-type]
    results = {(r.indicator, r.period): r for r in ev.results}
    decimals = plan.options.decimals
    problems: list[str] = []
    compared = 0
    expected_by_name: dict[str, Any] = {}
    for c in cases:
        r = results[(c.ind.id, c.period.id)]
        comp = indicator_computation(scope, c.ind, c.period)
        steps = [name for name, _ in comp.steps]
        assert set(r.cells) == set(steps), (c.ind.id, c.period.id, r.cells)
        for step in steps:
            name = L.step_name(c.ind, c.period, step)
            assert name in where, f"defined name {name} missing after LibreOffice"
            shown = lo_book.named(name)
            expected = r.cells[step]
            expected_by_name[name] = expected
            compared += 1
            if not same_value(expected, shown, decimals):
                problems.append(
                    f"[{c.batch}] {c.ind.id} ({c.ind.kind}/{c.ind.polarity}, target {comp.target.printed}) "
                    f"period {c.period.id} inputs {c.raw} intent {c.intent}: step {step}: "
                    f"LibreOffice {shown!r} != engine {expected!r}; formula {formula_text(c.ind, c.period, comp, step)}"
                )
    # 達成情形: =OUT_… cells show the result cell; the analysis cell shows TXT & notes.
    for address, formula, kind in summary_references(template):
        if kind != "out":
            continue
        name = formula[1:]
        if name not in expected_by_name:
            continue
        compared += 1
        shown = lo_book.at(L.SHEET_SUMMARY, address)
        if not same_value(expected_by_name[name], shown, decimals):
            problems.append(
                f"[{cases[0].batch}] {L.SHEET_SUMMARY}!{address} ({formula}): LibreOffice {shown!r} "
                f"!= engine {expected_by_name[name]!r}"
            )
    return problems, compared


def fail_on(problems: list[str]) -> None:
    if problems:
        shown = "\n".join(problems[:40])
        more = f"\n… and {len(problems) - 40} more" if len(problems) > 40 else ""
        pytest.fail(f"{len(problems)} LibreOffice/engine mismatches:\n{shown}{more}", pytrace=False)


# ---------------------------------------------------------------------------
# 1. the seed plan and its sample counts
# ---------------------------------------------------------------------------

SEED_NOTE = "另於7月辦理補訓，預計及格人數再增加。"


#: Counts typed the way clerks sometimes do: numbers stored as text, and a date.
TEXT_ENTRIES = {
    "procurement_pass_rate": {"numerator": "187", "denominator": 210},
    "e_tender_rate": {"numerator": " 10", "denominator": "１０"},
    "failed_tender_rate": {"numerator": 48, "denominator": "643"},
    "safety_defects": {"count": "1,063"},
}
DATE_ENTRIES = {
    "procurement_pass_rate": {"numerator": datetime(2017, 12, 31), "denominator": 210000},
    "safety_defects": {"count": date(2018, 6, 30)},
}
#: Counts just below checks.MAX_COUNT (10^12, so no finding) whose exact a×100/b lies within
#: 2.5e-14 of a rounding half: 32.77499999999997499… and 99.98499999999999500…
HUGE_ENTRIES = {
    "e_tender_rate": {"numerator": 327_749_997_965, "denominator": 999_999_993_791},
    "failed_tender_rate": {"numerator": 999_849_993_334, "denominator": 999_999_993_333},
}


@pytest.fixture(scope="module")
def seed_books(plan, tmp_path_factory) -> dict[Any, dict[str, Any]]:
    """The seed template for 106 and 107 data, filled, calculated, recalculated by LibreOffice.

    Keys ``"text"`` and ``"fy"`` are the 106 template with text-typed counts (H1), or
    a date and huge near-half counts (FY), instead of the sample counts.
    """
    soffice = lo.require_soffice()
    folder = tmp_path_factory.mktemp("seed_oracle")
    made: dict[Any, dict[str, Any]] = {}
    h1, fy = plan.period(plan.sample.period), plan.period("FY")
    for year in (106, 107):
        scope = L.Scope(plan, period_id=None, data_year=year)
        entries = {h1.id: plan.sample.entries}
        note = L.notes_name(plan.indicator("procurement_pass_rate"), h1)
        path, outcome = build_filled(
            scope, entries, folder / f"seed_{year}.xlsx", notes={note: SEED_NOTE}, run_calculate=True
        )
        made[year] = {"scope": scope, "path": path, "outcome": outcome, "note": note, "entries": entries}
    for key, period, inputs in (("text", h1, TEXT_ENTRIES), ("fy", fy, {**DATE_ENTRIES, **HUGE_ENTRIES})):
        scope = L.Scope(plan, period_id=period.id, data_year=106)  # one period: a smaller workbook
        entries = {period.id: inputs}
        path, outcome = build_filled(scope, entries, folder / f"seed_{key}.xlsx", run_calculate=True)
        made[key] = {"scope": scope, "path": path, "outcome": outcome, "entries": entries}
    done = recalc_all([m["path"] for m in made.values()], soffice)
    for m in made.values():
        m["lo_path"] = done[m["path"]]
        m["lo"] = Values(m["lo_path"])
    return made


def seed_cases(scope: L.Scope, entries: dict) -> list[Case]:
    """Every indicator and period of the scope, with the entries' inputs or blanks."""
    cases = []
    for p in scope.periods:
        for ind in scope.indicators:
            raw = {spec.role: None for spec in ind.inputs}
            raw.update(entries.get(p.id, {}).get(ind.id, {}))
            cases.append(Case(f"seed {scope.year}", ind, p, raw))
    return cases


@pytest.mark.parametrize("year", [106, 107])
def test_seed_result_cells_match_engine(plan, seed_books, year: int) -> None:
    book = seed_books[year]
    scope = book["scope"]
    assert scope.targets == ("previous" if year == 106 else "current")
    cases = seed_cases(scope, book["entries"])
    problems, compared = compare_results(scope, cases, book["lo"], book["path"])
    fail_on(problems)
    n_out = sum(1 for n in book["lo"].where if n.startswith("OUT_"))
    assert compared >= n_out > 0


def test_seed_values_are_the_documented_ones(seed_books) -> None:
    """Spot values straight from LibreOffice (README: 89.05, 127; 107 targets: 94.49 yellow)."""
    got = {}
    for year in (106, 107):
        book = seed_books[year]
        for name in (
            "OUT_procurement_pass_rate_H1_value",
            "OUT_safety_defects_H1_projection",
            "OUT_safety_defects_H1_rate",
            "OUT_safety_defects_H1_light",
            "OUT_safety_defects_H1_at_risk",
            "OUT_volunteer_growth_H1_light",
        ):
            got[(year, name.removeprefix("OUT_"))] = book["lo"].named(name)
    assert got[(106, "procurement_pass_rate_H1_value")] == pytest.approx(89.05)
    assert got[(106, "safety_defects_H1_projection")] == 127  # 63 × 365 / 181 = 127.04 → 127 件
    assert got[(106, "safety_defects_H1_rate")] == 100
    assert got[(106, "safety_defects_H1_at_risk")] == "否"
    assert got[(107, "safety_defects_H1_rate")] == pytest.approx(94.49)  # 120 × 100 / 127
    assert got[(107, "safety_defects_H1_light")] == "黃燈"
    assert got[(107, "safety_defects_H1_at_risk")] == "是"
    assert got[(106, "volunteer_growth_H1_light")] == "白燈"


@pytest.mark.parametrize("year", [106, 107])
def test_seed_summary_sheet_shows_results_and_analysis(plan, seed_books, year: int) -> None:
    """達成情形: value, rate and light cells and the analysis (sentence + staff notes)."""
    book = seed_books[year]
    scope, outcome, values = book["scope"], book["outcome"], book["lo"]
    refs = summary_references(book["path"])
    texts = [(a, f) for a, f, kind in refs if kind == "text"]
    outs = [(a, f) for a, f, kind in refs if kind == "out"]
    n = len(scope.indicators) * len(scope.periods)
    assert len(texts) == n and len(outs) == 3 * n
    results = {(r.indicator, r.period): r for r in outcome.evaluation.results}
    for address, formula in outs:
        assert values.at(L.SHEET_SUMMARY, address) == values.named(formula[1:]), (address, formula)
    for address, formula in texts:
        ind_id, period_id = next(
            (i.id, p.id)
            for i in scope.indicators
            for p in scope.periods
            if formula.startswith(f"={L.sentence_name(i, p)}&")
        )
        sentence = results[(ind_id, period_id)].sentence
        note_name = L.notes_name(plan.indicator(ind_id), plan.period(period_id))
        expected = sentence + ("\n" + SEED_NOTE if note_name == book["note"] else "")
        assert values.at(L.SHEET_SUMMARY, address) == expected, (address, formula)


def test_counts_typed_as_text_show_the_engine_results(seed_books) -> None:
    book = seed_books["text"]
    cases = [c for c in seed_cases(book["scope"], book["entries"]) if c.period.id == "H1"]
    problems, _ = compare_results(book["scope"], cases, book["lo"], book["path"])
    fail_on(problems)


def test_date_typed_into_a_count_shows_the_engine_results(seed_books) -> None:
    book = seed_books["fy"]
    cases = [c for c in seed_cases(book["scope"], book["entries"]) if c.ind.id in DATE_ENTRIES]
    problems, _ = compare_results(book["scope"], cases, book["lo"], book["path"])
    fail_on(problems)
    # Formulas see 2018/6/30 as 43281; calculate's record holds the error, so LibreOffice
    # shows no value and no 43,281 sentence (issue 11).
    for c in cases:
        sentence = book["lo"].named(L.step_name(c.ind, c.period, "sentence"))
        assert "填報數據有誤" in sentence and "43,100" not in sentence and "43,281" not in sentence
        assert book["lo"].named(L.step_name(c.ind, c.period, "value")) in ("", None)


def test_huge_counts_round_as_in_the_workbook_or_are_errors(seed_books) -> None:
    book = seed_books["fy"]
    flagged = {f.indicator for f in book["outcome"].findings if f.severity == "error"}
    cases = [
        c
        for c in seed_cases(book["scope"], book["entries"])
        if c.ind.id in HUGE_ENTRIES and c.ind.id not in flagged
    ]
    problems, _ = compare_results(book["scope"], cases, book["lo"], book["path"])
    fail_on(problems)


def test_odd_inputs_are_reported_by_calculate(seed_books) -> None:
    """What calculate says about them: a count stored as text is an error in a workbook
    (its formulas cannot use it), and so is a date."""
    codes = {
        (f.indicator, f.period, f.code, f.severity)
        for key in ("text", "fy")
        for f in seed_books[key]["outcome"].findings
    }
    assert ("procurement_pass_rate", "H1", "number_as_text", "error") in codes
    assert ("safety_defects", "H1", "number_as_text", "error") in codes
    assert ("procurement_pass_rate", "FY", "date", "error") in codes
    assert not any(code in ("text_number", "thousands_separator") for _, _, code, _ in codes)


def _read_back(path: Path):
    """Check a saved workbook as the coordinator's collect does: values only, read-only."""
    pytest.importorskip("python_calamine")
    from workbook.books.calamine import CalamineBook
    from workbook.form.calculate import calculate

    return calculate(CalamineBook(path.read_bytes(), path.name), write=False)


@pytest.mark.parametrize("year", [106, 107])
def test_seed_saved_by_libreoffice_reads_back_as_calculated(seed_books, year: int) -> None:
    """A calculated workbook saved by a spreadsheet application (values cached) is current, untampered."""
    book = seed_books[year]
    outcome = _read_back(book["lo_path"])
    assert outcome.state == "current"
    assert [f.to_dict() for f in outcome.findings] == [
        f.to_dict() for f in book["outcome"].findings if f.code != "formula_restored"
    ]


def test_text_counts_read_back_without_tamper_findings(seed_books) -> None:
    outcome = _read_back(seed_books["text"]["lo_path"])
    assert outcome.state == "current"
    assert [f.code for f in outcome.findings if f.code in ("tampered", "result_mismatch")] == []


def test_date_input_reads_back_as_calculated(seed_books) -> None:
    outcome = _read_back(seed_books["fy"]["lo_path"])
    assert outcome.state == "current"


# ---------------------------------------------------------------------------
# 2. generated plans and entry sets
# ---------------------------------------------------------------------------

SEED = 20240607
PERIODS = [
    {"id": "H1", "name": "上半年", "start": "01-01", "end": "06-30"},
    {"id": "M7", "name": "七月中", "start": "01-01", "end": "07-19"},  # 200 days in a common year
    {"id": "FY", "name": "全年度", "start": "01-01", "end": "12-31"},
]
# A milestone target must be one of its stages (a plan error otherwise, issue 15).
MILESTONE_A = [10.5, 33.3, 62.5, 80, 100]  # ÷ 80% target: 13.125, 41.625, 78.125 are exact halves
MILESTONE_B = [25, 50, 75, 100]
MILESTONE_C = [16, 40, 50, 60, 64, 80, 100]  # 50 ÷ 64 = 78.125%, 50 ÷ 80 = 62.5%
#: (id, kind, polarity, target, previous target, extra indicator fields)
SPECS: list[tuple[str, str, str, str, str, dict]] = [
    ("r_hi_8", "ratio", "higher", "8%", "7%", {}),
    ("r_hi_83", "ratio", "higher", "83%", "82%", {}),
    ("r_hi_100", "ratio", "higher", "100%", "100%", {}),
    ("r_hi_ge3", "ratio", "higher", ">=3%", "≥2.5%", {}),
    ("r_hi_0", "ratio", "higher", "0%", "1%", {}),
    ("r_lo_115", "ratio", "lower", "11.5%", "12%", {}),
    ("r_lo_lt5", "ratio", "lower", "<5%", "<6%", {}),
    ("r_lo_0", "ratio", "lower", "0%", "≤0.5%", {}),
    ("g_hi_8", "growth", "higher", "8%", "7%", {}),
    ("g_hi_0", "growth", "higher", "0%", ">3%", {}),
    ("g_lo_lt5", "growth", "lower", "<5%", "≤4%", {}),
    ("g_lo_115", "growth", "lower", "11.5%", "0%", {}),
    ("c_hi_ge3", "count", "higher", ">=3", "2", {}),
    ("c_hi_120", "count", "higher", "120", "100", {"cumulative": False}),
    ("c_lo_le120", "count", "lower", "≤120", "≤135", {}),
    ("c_lo_lt5", "count", "lower", "<5", "<7", {}),
    ("c_lo_0", "count", "lower", "0", "0", {}),
    ("m_hi_80", "milestone", "higher", "80%", "62.5%", {"stages": MILESTONE_A}),
    ("m_hi_100", "milestone", "higher", "100%", "100%", {"stages": MILESTONE_B}),
    ("m_lo_50", "milestone", "lower", "≤50%", "<60%", {"stages": MILESTONE_C}),
    ("a_lo_le65", "average", "lower", "≤6.5", "7", {}),
    ("a_hi_ge325", "average", "higher", ">=3.25", "3", {}),
    ("a_lo_64", "average", "lower", "6.4", "≤8.125", {}),
    ("s_hi_ge80", "stock", "higher", "≥80", "85", {}),
    ("s_lo_le10", "stock", "lower", "≤10", "12", {}),
    ("s_hi_0", "stock", "higher", "0", ">=1", {}),
]
ROLES = {
    "ratio": ("numerator", "denominator"),
    "growth": ("current", "previous"),
    "count": ("count",),
    "milestone": ("stage",),
    "average": ("total", "cases"),
    "stock": ("level",),
}
#: (name, plan year, data year, options): custom decimals, caps and light thresholds.
BATCHES: list[tuple[str, int, int, dict]] = [
    ("b0_default", 107, 107, {}),
    ("b1_prev_cap120", 107, 106, {"cap": 120, "lights": {"green": 95, "yellow": 80}}),
    ("b2_dec1_cap150", 107, 107, {"decimals": 1, "cap": 150}),
    ("b3_dec0_cap95", 107, 107, {"decimals": 0, "cap": 95, "lights": {"green": 90, "yellow": 75}}),
    ("b4_dec3_cap110", 107, 107, {"decimals": 3, "cap": 110, "lights": {"green": 100, "yellow": 50}}),
    ("b5_leap_prev", 110, 109, {"lights": {"green": 99.5, "yellow": 90.25}}),
]
_TWO_INPUTS = [
    "normal",
    "empty",
    "zero_den",
    "half",
    "far_above",
    "far_below",
    "half",
    "at_target",
    "odd",
    "partial",
]
_ONE_INPUT = ["normal", "empty", "half", "far_above", "far_below", "at_target", "odd", "half", "normal"]
#: Entry-set categories cycled through the (batch, period) slots of each indicator.
CATEGORIES = {
    "ratio": _TWO_INPUTS,
    "growth": _TWO_INPUTS,
    "count": _ONE_INPUT,
    "milestone": _ONE_INPUT,
    "average": _TWO_INPUTS,
    "stock": _ONE_INPUT,
}
#: Numerator/denominator pairs whose a×100/b is an exact half at the plan's decimals:
#: 5/32 = 15.625%, 3/4000 = 0.075%, 201/20000 = 1.005%, 3/80 = 3.75%, 7/16 = 43.75%, 1/1600 = 0.0625% …
LISTED_HALVES = {
    0: [(1, 8), (5, 8), (1, 200), (3, 200), (1, 40), (99, 200), (7, 8), (33, 40)],
    1: [(1, 16), (3, 80), (7, 16), (5, 16), (1, 80), (201, 2000), (107, 400), (13, 16)],
    2: [(5, 32), (3, 4000), (201, 20000), (107, 4000), (1, 800), (1, 32), (7, 32), (3, 800)],
    3: [(1, 1600), (3, 1600), (7, 1600), (1, 40000), (201, 200000), (3, 8000), (13, 1600), (9, 1600)],
}
#: Denominators (and previous values) whose quotients end in 5 at the rounding digit.
HALF_DENOMINATORS = [8, 16, 32, 40, 80, 160, 200, 250, 400, 625, 800, 1600, 2000, 3125, 4000, 8000]
HALF_DENOMINATORS += [10000, 20000]


def generated_plan(year: int, options: dict, assessed: dict[str, list[str]] | None = None) -> Plan:
    goals = []
    for kind in ROLES:
        inds = []
        for ind_id, k, polarity, target, previous, extra in SPECS:
            if k != kind:
                continue
            d: dict[str, Any] = {
                "id": ind_id,
                "name": f"測試指標{ind_id}",
                "weight": 5,
                "system": 1,
                "method": "統計數據",
                "formula": "測試用衡量標準",
                "kind": kind,
                "polarity": polarity,
                "target": target,
                "previous_target": previous,
                "owner": "測試科",
                "inputs": {
                    role: {
                        "label": f"{ind_id}.{role}",
                        "unit": "件",
                        "cumulative": extra.get("cumulative", True),
                    }
                    for role in ROLES[kind]
                },
            }
            if "stages" in extra:
                d["stages"] = [{"label": f"階段{n}", "percent": p} for n, p in enumerate(extra["stages"], 1)]
            if assessed and ind_id in assessed:
                d["assessed_in"] = assessed[ind_id]
            inds.append(d)
        goals.append({"id": f"G_{kind}", "name": f"{kind}目標", "weight": 5 * len(inds), "indicators": inds})
    data = {
        "id": f"generated_{year}",
        "agency": "測試機關",
        "year": year,
        "title": "產生的測試計畫",
        "periods": PERIODS,
        "options": options,
        "goals": goals,
    }
    return parse_plan(dump_plan(data), source="generated.yaml")


def _truth(v: X.Value) -> bool:
    return v if isinstance(v, bool) else (v != 0 if isinstance(v, Decimal) else False)


def taken_rounds(e: X.Expr, env: dict[str, X.Value], out: list[tuple[Decimal, int]]) -> None:
    """Collect the (argument, places) of every ROUND the evaluation actually performs."""
    if isinstance(e, X.Bin):
        taken_rounds(e.left, env, out)
        taken_rounds(e.right, env, out)
    elif isinstance(e, X.Call):
        if e.fn == "IF":
            taken_rounds(e.args[0], env, out)
            branch = e.args[1] if _truth(X.evaluate(e.args[0], env)) else e.args[2]
            taken_rounds(branch, env, out)
            return
        if e.fn == "ROUND":
            arg = X.evaluate(e.args[0], env)
            if isinstance(arg, Decimal):
                out.append((arg, int(X.evaluate(e.args[1], env))))  # type: ignore[arg-type]
        for a in e.args:
            taken_rounds(a, env, out)


def is_half(x: Decimal, places: int) -> bool:
    """Is ``x`` exactly half-way between two multiples of 10^-places?"""
    q = abs(x).scaleb(places)
    return q - q.to_integral_value(rounding=ROUND_FLOOR) == Decimal("0.5")


def analyse(comp: Computation, opts: Options, raw: dict) -> tuple[dict, set[str]]:
    """Run the computation as the engine does and tag what the entry set exercises."""
    ind, period = comp.indicator, comp.period
    values, _ = check_indicator(ind, period, raw)
    env: dict[str, X.Value] = dict(values)
    rounds: list[tuple[Decimal, int]] = []
    for name, e in comp.steps:
        taken_rounds(e, env, rounds)
        env[name] = X.evaluate(e, env)
    tags: set[str] = set()
    if all(v is None for v in values.values()):
        tags.add("empty")
    elif any(v is None for v in values.values()):
        tags.add("partial")
    zero_role = kind_of(ind).divisor
    if zero_role and values.get(zero_role) == 0:
        tags.add("zero_den")
    halves = [(x, d) for x, d in rounds if is_half(x, d)]
    if halves:
        tags.add("half")
        if any(Decimal(float(x)) != x for x, _ in halves):
            tags.add("half_not_binary")  # e.g. 0.075 is no binary fraction
        if any(Decimal(float(x)) < x for x, _ in halves):
            tags.add("half_float_below")  # the nearest double lies just below the half
    if isinstance(env["value"], Decimal):
        tags.add("computed")
        if env["value"] == comp.target.value:
            tags.add("value_at_target")
    rate = env.get("rate")
    if isinstance(rate, Decimal):
        if rate == opts.cap and opts.cap != 100:
            tags.add("rate_at_custom_cap")
        if rate == 100 - Decimal(1).scaleb(-opts.decimals):
            tags.add("rate_just_below_100")  # a missed target never shows 100
    tags.add(f"light:{env['light']}")
    return env, tags


def _pick_ratio(rng: random.Random, t: Decimal, polarity: str, cat: str) -> dict:
    if cat == "zero_den":
        return {"numerator": rng.choice([0, rng.randint(1, 40)]), "denominator": 0}
    if cat == "far_above":
        den = rng.randint(50, 5000)
        return {"numerator": den - rng.randint(0, den // 10), "denominator": den}  # far above any target
    if cat == "far_below":
        den = rng.randint(50, 5000)
        return {"numerator": 0, "denominator": den}
    if cat == "at_target":
        den = 1000 * rng.randint(1, 9)
        return {"numerator": int(t * den / 100), "denominator": den}
    if cat == "half":
        den = rng.choice(HALF_DENOMINATORS)
        near = round(den * float(t or 5) / 100 * rng.uniform(0.5, 1.2)) + rng.randint(-3, 3)
        return {"numerator": max(0, min(den, rng.choice([near, rng.randint(0, den)]))), "denominator": den}
    if cat == "odd":
        return rng.choice(
            [
                {"numerator": -3, "denominator": 40},
                {"numerator": 12.5, "denominator": 100},
                {"numerator": 250, "denominator": 200},
                {"numerator": 7, "denominator": -25},
                {"numerator": 10**9, "denominator": 3},
            ]
        )
    den = rng.randint(1, 3000)
    centre = float(t) / 100 if t else 0.02
    num = round(den * centre * rng.uniform(0.6, 1.4))
    return {"numerator": max(0, min(den, num)), "denominator": den}


def _pick_growth(rng: random.Random, t: Decimal, polarity: str, cat: str) -> dict:
    if cat == "zero_den":
        return {"current": rng.choice([0, rng.randint(1, 300)]), "previous": 0}
    if cat == "far_above":
        p = rng.randint(10, 2000)
        return {"current": p * rng.randint(5, 40), "previous": p}
    if cat == "far_below":
        p = rng.randint(10, 2000)
        return {"current": rng.choice([0, p // 3]), "previous": p}
    if cat == "at_target":
        p = 1000 * rng.randint(1, 5)
        return {"current": int(p + p * t / 100), "previous": p}
    if cat == "half":
        p = rng.choice(HALF_DENOMINATORS)
        near = p + round(p * float(t or 3) / 100 * rng.uniform(0.5, 1.5)) + rng.randint(-3, 3)
        return {"current": rng.choice([near, p + rng.randint(-p // 2, p)]), "previous": p}
    if cat == "odd":
        return rng.choice(
            [
                {"current": 5, "previous": -10},
                {"current": -4, "previous": 10},
                {"current": 110.5, "previous": 100},
                {"current": 10**9, "previous": 1},
            ]
        )
    p = rng.randint(1, 5000)
    growth = float(t) / 100 * rng.uniform(0.5, 1.5) + rng.uniform(-0.05, 0.05)
    return {"current": max(0, round(p * (1 + growth))), "previous": p}


def _pick_count(rng: random.Random, t: Decimal, polarity: str, cat: str) -> dict:
    if cat == "far_above":
        return {"count": int(t) * 40 + rng.randint(500, 10**6)}
    if cat == "far_below":
        return {"count": 0}
    if cat == "at_target":
        return {"count": int(t)}
    if cat == "half":
        return {"count": rng.randint(0, 400)}
    if cat == "odd":
        return {"count": rng.choice([-5, 12.5, 3.0, 10**11])}
    return {"count": max(0, round(max(float(t), 4) * rng.uniform(0.3, 1.5)))}


def _pick_average(rng: random.Random, t: Decimal, polarity: str, cat: str) -> dict:
    if cat == "zero_den":
        return {"total": rng.choice([0, rng.randint(1, 40)]), "cases": 0}
    if cat == "far_above":
        n = rng.randint(5, 400)
        return {"total": n * rng.randint(40, 90), "cases": n}
    if cat == "far_below":
        return {"total": 0, "cases": rng.randint(1, 400)}
    if cat == "at_target":
        n = 20 * rng.randint(1, 20)  # ×20 makes 6.4, 6.5 and 3.25 whole totals
        return {"total": int(t * n) if (t * n) == int(t * n) else int(t) * n, "cases": n}
    if cat == "half":
        n = rng.choice(HALF_DENOMINATORS[:12])
        return {"total": round(n * max(float(t), 1) * rng.uniform(0.6, 1.4)) + rng.randint(-3, 3), "cases": n}
    if cat == "odd":
        return rng.choice(
            [
                {"total": -3, "cases": 4},
                {"total": 12.5, "cases": 2},
                {"total": 10, "cases": -2},
                {"total": 10**9, "cases": 3},
            ]
        )
    n = rng.randint(1, 3000)
    return {"total": max(0, round(n * max(float(t), 1) * rng.uniform(0.6, 1.4))), "cases": n}


def _pick_stage(rng: random.Random, ind: Indicator, t: Decimal, cat: str) -> dict:
    n = len(ind.stages)
    if cat == "far_above":
        return {"stage": n if ind.polarity == "higher" else 0}
    if cat == "far_below":
        return {"stage": 0 if ind.polarity == "higher" else n}
    if cat == "at_target":
        hit = [i for i, st in enumerate(ind.stages, 1) if st.percent == t]
        return {"stage": hit[0] if hit else rng.randint(0, n)}
    if cat == "odd":
        return {"stage": rng.choice([n + 1, -1, 1.5, 2.0])}
    return {"stage": rng.randint(0, n)}


def pick_entry(rng: random.Random, comp: Computation, opts: Options, cat: str) -> tuple[dict, str]:
    """Inputs for one entry set of category ``cat`` (exact halves are searched for).

    Returns the inputs and the category they really are (``normal`` when the
    indicator has no exact half under this batch's options).
    """
    ind, t = comp.indicator, comp.target.value
    if cat == "empty":
        return {role: None for role in ROLES[ind.kind]}, cat
    if cat == "partial":
        roles = ROLES[ind.kind]
        raw = {role: None for role in roles}
        raw[rng.choice(roles)] = rng.randint(1, 200)
        return raw, cat
    first_half = None
    for _ in range(250 if cat == "half" else 1):
        if ind.kind == "ratio":
            raw = _pick_ratio(rng, t, ind.polarity, cat)
        elif ind.kind == "growth":
            raw = _pick_growth(rng, t, ind.polarity, cat)
        elif ind.kind in ("count", "stock"):
            raw = {ind.inputs[0].role: _pick_count(rng, t, ind.polarity, cat)["count"]}
        elif ind.kind == "average":
            raw = _pick_average(rng, t, ind.polarity, cat)
        else:
            raw = _pick_stage(rng, ind, t, cat)
        if cat != "half":
            return raw, cat
        tags = analyse(comp, opts, raw)[1]
        if "half_not_binary" in tags:
            return raw, cat
        if "half" in tags and first_half is None:
            first_half = raw, cat
    if first_half:  # only binary halves (e.g. 3.125) exist for this indicator here
        return first_half
    return pick_entry(rng, comp, opts, "normal")  # no exact half exists for this indicator here


@functools.cache
def generated_cases() -> tuple[dict[str, Any], ...]:
    """:func:`generate_cases`, once per test session (callers must not change the batches)."""
    return tuple(generate_cases())


def generate_cases() -> list[dict[str, Any]]:
    """Every batch: its plan's scope and entry sets (one per indicator and period)."""
    rng = random.Random(SEED)
    batches = []
    for b, (name, year, data_year, options) in enumerate(BATCHES):
        plan = generated_plan(year, options)
        scope = L.Scope(plan, data_year=data_year)
        cases: list[Case] = []
        for i, ind in enumerate(plan.indicators):
            cats = CATEGORIES[ind.kind]
            for j, period in enumerate(plan.periods):
                comp = indicator_computation(scope, ind, period)
                if ind.kind == "ratio" and period.id == "FY":
                    listed = LISTED_HALVES[plan.options.decimals]
                    num, den = listed[i % len(listed)]
                    raw, cat = {"numerator": num, "denominator": den}, "listed"
                else:
                    cat = cats[(b * len(plan.periods) + j + i) % len(cats)]
                    raw, cat = pick_entry(rng, comp, plan.options, cat)
                tags = analyse(comp, plan.options, raw)[1]
                cases.append(Case(name, ind, period, raw, cat, tags))
        batches.append({"name": name, "scope": scope, "cases": cases})
    batches.append(invalid_batch())
    return batches


#: Inputs no result may be shown for, of every kind, and valid counts near checks.MAX_COUNT (10^9).
INVALID_INPUTS: dict[str, list[tuple[str, dict]]] = {
    "ratio": [
        ("negative", {"numerator": -3, "denominator": 40}),
        ("decimal", {"numerator": 12.5, "denominator": 100}),
        ("text", {"numerator": "約48件", "denominator": 643}),
        ("boolean", {"numerator": True, "denominator": 4}),
        ("num_gt_den", {"numerator": 420, "denominator": 410}),
        ("negative_den", {"numerator": 7, "denominator": -25}),
        ("too_large", {"numerator": 10**9, "denominator": 10**9}),
        ("near_max", {"numerator": 999_999_937, "denominator": 999_999_999}),
        ("near_max_half", {"numerator": 999_999_995, "denominator": 999_999_999}),
        ("spaces", {"numerator": "   ", "denominator": 100}),
        ("fullwidth_space", {"numerator": "　", "denominator": 100}),
        ("formula", {"numerator": Formula("=1+1"), "denominator": 4}),
        ("formula_den", {"numerator": 3, "denominator": Formula("=2*5")}),
    ],
    "growth": [
        ("negative", {"current": -4, "previous": 10}),
        ("decimal", {"current": 110.5, "previous": 100}),
        ("text", {"current": "１２０", "previous": 100}),
        ("boolean", {"current": 5, "previous": False}),
        ("too_large", {"current": 10**9, "previous": 1}),
        ("near_max", {"current": 999_999_999, "previous": 999_999_989}),
        ("near_max_small", {"current": 1, "previous": 999_999_998}),
        ("fullwidth_space", {"current": 120, "previous": "　　"}),
        ("formula", {"current": Formula("=100+20"), "previous": 100}),
    ],
    "count": [
        ("negative", {"count": -3}),
        ("decimal", {"count": 9.5}),
        ("text", {"count": "12"}),
        ("boolean", {"count": True}),
        ("too_large", {"count": 10**9}),
        ("near_max", {"count": 999_999_999}),
        ("near_max_odd", {"count": 987_654_321}),
        ("fullwidth_padded", {"count": "　12"}),
        ("formula", {"count": Formula("=1+1")}),
        ("formula_negative", {"count": Formula("=-3")}),
    ],
    "milestone": [
        ("stage_above", {"stage": 9}),
        ("stage_negative", {"stage": -1}),
        ("stage_decimal", {"stage": 1.5}),
        ("boolean", {"stage": True}),
        ("text", {"stage": "2"}),
        ("formula", {"stage": Formula("=1+1")}),
        ("fullwidth_padded", {"stage": "2　"}),
    ],
    "average": [
        ("zero_cases", {"total": 12, "cases": 0}),
        ("negative", {"total": -3, "cases": 4}),
        ("decimal", {"total": 12.5, "cases": 2}),
        ("text", {"total": "約40天", "cases": 4}),
        ("fullwidth_space", {"total": 64, "cases": "　"}),
        ("formula", {"total": Formula("=64"), "cases": 10}),
        ("formula_cases", {"total": 64, "cases": Formula("=5+5")}),
        ("too_large", {"total": 10**9, "cases": 1}),
        ("near_max", {"total": 999_999_999, "cases": 7}),
    ],
    "stock": [
        ("negative", {"level": -1}),
        ("decimal", {"level": 80.5}),
        ("text", {"level": "80處"}),
        ("formula", {"level": Formula("=80+5")}),
        ("fullwidth_padded", {"level": "　85"}),
        ("near_max", {"level": 999_999_999}),
    ],
}
#: assessed_in for the invalid batch: some indicators only in one period.
ASSESSED = {"g_hi_8": ["FY"], "c_lo_le120": ["FY"], "r_lo_115": ["H1"], "m_hi_100": ["FY"]}


def invalid_batch() -> dict[str, Any]:
    """Every indicator and period with an invalid (or near-MAX_COUNT) entry set, with assessed_in."""
    plan = generated_plan(107, {}, ASSESSED)
    scope = L.Scope(plan, data_year=107)
    cases: list[Case] = []
    for i, ind in enumerate(plan.indicators):
        options = INVALID_INPUTS[ind.kind]
        for j, period in enumerate(plan.periods):
            intent, raw = options[(i * len(plan.periods) + j) % len(options)]
            comp = indicator_computation(scope, ind, period)
            tags = analyse(comp, plan.options, raw)[1] | {f"invalid:{intent}"}
            cases.append(Case("b6_invalid", ind, period, dict(raw), intent, tags))
    return {"name": "b6_invalid", "scope": scope, "cases": cases}


def write_batches(batches: list[dict[str, Any]], folder: Path) -> None:
    """One filled workbook per batch; a :class:`Formula` input is typed as a formula, as staff would."""
    for b in batches:
        entries: dict[str, dict[str, dict[str, object]]] = {}
        for c in b["cases"]:
            entries.setdefault(c.period.id, {})[c.ind.id] = c.raw
        b["path"], _ = build_filled(b["scope"], entries, folder / f"{b['name']}.xlsx")
        typed = {
            L.input_name(c.ind, c.period, role): v
            for c in b["cases"]
            for role, v in c.raw.items()
            if isinstance(v, Formula)
        }
        if typed:
            type_formulas(b["path"], typed)


def type_formulas(path: Path, typed: dict[str, str]) -> None:
    """Put formulas into input cells (by defined name), as a clerk typing ``=1+1`` would."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    for name, formula in typed.items():
        sheet, cell = next(iter(wb.defined_names[name].destinations))
        wb[sheet][cell.replace("$", "")] = str(formula)  # openpyxl stores "=…" as a formula
    wb.save(path)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> list[dict[str, Any]]:
    soffice = lo.require_soffice()
    batches = [dict(b) for b in generated_cases()]
    write_batches(batches, tmp_path_factory.mktemp("generated_oracle"))
    done = recalc_all([b["path"] for b in batches], soffice)
    for b in batches:
        b["lo"] = Values(done[b["path"]])
    return batches


def coverage(batches: list[dict[str, Any]]) -> Counter:
    counts: Counter = Counter()
    for b in batches:
        for c in b["cases"]:
            key = f"{c.ind.kind}/{c.ind.polarity}"
            counts[(key, f"intent:{c.intent}")] += 1
            for tag in c.tags:
                counts[(key, tag)] += 1
    return counts


def test_generated_entry_sets_cover_every_kind_polarity_and_edge(record_property) -> None:
    """Deterministic, and each kind × polarity gets normal, empty, zero-denominator and half cases."""
    batches = list(generated_cases())
    cases = [c for b in batches for c in b["cases"]]
    assert len(cases) >= 200
    again = [c.raw for b in generate_cases() for c in b["cases"]]
    assert [c.raw for c in cases] == again, "generation must be deterministic"
    counts = coverage(batches)
    lines = [f"{len(cases)} generated entry sets in {len(batches)} workbooks"]
    for key in sorted({k for k, _ in counts}):
        tags = {t: n for (k, t), n in sorted(counts.items()) if k == key}
        lines.append(f"  {key}: {tags}")
    print("\n" + "\n".join(lines))
    record_property("coverage", "\n".join(lines))
    needed = ["computed", "empty", "partial", "half", "light:綠燈", "light:紅燈", "light:白燈"]
    for kind, roles in ROLES.items():
        for polarity in ("higher", "lower"):
            key = f"{kind}/{polarity}"
            for tag in needed + (["zero_den"] if KINDS[kind].divisor else []):
                if tag == "partial" and len(roles) == 1:
                    continue
                assert counts[(key, tag)] >= 1, f"no {tag} case for {key}"
            for intent in ("normal", "far_above", "far_below", "at_target", "odd"):
                assert counts[(key, f"intent:{intent}")] >= 1, f"no {intent} case for {key}"
    total = Counter(t for (_, t), n in counts.items() for _ in range(n))
    assert total["half_not_binary"] >= 20 and total["half_float_below"] >= 10, total
    assert total["intent:listed"] == 8 * len(BATCHES)
    assert total["light:黃燈"] >= 5 and total["value_at_target"] >= 10, total
    assert total["rate_at_custom_cap"] >= 3 and total["rate_just_below_100"] >= 1, total


def test_generated_result_cells_match_engine(generated) -> None:
    problems: list[str] = []
    total = cells = 0
    for b in generated:
        found, compared = compare_results(b["scope"], b["cases"], b["lo"], b["path"])
        problems += found
        cells += compared
        total += len(b["cases"])
    print(f"\ncompared {cells} cells of {total} entry sets in {len(generated)} LibreOffice runs")
    fail_on(problems)
    assert total >= 200 and cells >= 7 * total


def test_invalid_batch_covers_every_kind_of_bad_input() -> None:
    b = next(b for b in generated_cases() if b["name"] == "b6_invalid")
    intents = {(c.ind.kind, c.intent) for c in b["cases"]}
    for kind, options in INVALID_INPUTS.items():
        for intent, _ in options:
            assert (kind, intent) in intents, (kind, intent)
    assessed = [c for c in b["cases"] if c.ind.assessed_in]
    assert {c.ind.kind for c in assessed} == {"ratio", "growth", "count", "milestone"}
    assert {c.ind.polarity for c in b["cases"] if c.ind.kind in ("ratio", "growth")} == {"higher", "lower"}


def test_invalid_inputs_are_blank_and_white_in_libreoffice(generated) -> None:
    """No invalid input shows a value, a rate, 達成 or a coloured light in LibreOffice."""
    b = next(b for b in generated if b["name"] == "b6_invalid")
    checked = 0
    for c in b["cases"]:
        if c.intent.startswith("near_max"):
            continue
        if "space" in c.intent and c.ind.assessed_in and c.period.id not in c.ind.assessed_in:
            continue  # a blank input in a period not assessed is no error
        assessed = not c.ind.assessed_in or c.period.id in c.ind.assessed_in
        shown = {
            step: b["lo"].named(L.step_name(c.ind, c.period, step)) for step in ("value", "rate", "light")
        }
        assert shown["value"] in (None, "") and shown["rate"] in (None, ""), (
            c.ind.id,
            c.period.id,
            c.raw,
            shown,
        )
        assert shown["light"] == "白燈", (c.ind.id, c.period.id, c.raw, shown)
        achieved = b["lo"].named(L.step_name(c.ind, c.period, "achieved"))
        status = b["lo"].named(L.status_name(c.ind, c.period))
        if assessed:
            assert achieved == "資料有誤", (c.ind.id, c.raw, achieved)
        assert status.startswith("資料有誤 "), (c.ind.id, c.period.id, c.raw, status)
        checked += 1
    assert checked >= 40


def test_rounding_below_max_count_agrees_with_libreoffice(tmp_path) -> None:
    """Every count below checks.MAX_COUNT (10^9) rounds in LibreOffice as the engine rounds it.

    Ratios, growth rates (0–3 decimals) and projections (whole, and at 2 decimals as before)
    from random counts in [10^8, 10^9): 2,000 ROUNDs, zero differences.  (Counts from
    10^10 to 10^12, the old range, disagreed in about 3% of 2-decimal projections.)
    """
    import openpyxl

    from kpi_engine.checks import MAX_COUNT

    soffice = lo.require_soffice()
    rng = random.Random(15)
    hi = int(MAX_COUNT)
    rows: list[tuple[str, Decimal, int]] = []
    for _ in range(500):
        d = rng.randint(hi // 10, hi - 1)
        a, places = rng.randint(0, d), rng.choice([0, 1, 2, 3])
        rows.append((f"=ROUND({a}*100/{d},{places})", Decimal(a) * 100 / Decimal(d), places))
        p, c = rng.randint(hi // 10, hi - 1), rng.randint(0, hi - 1)
        rows.append((f"=ROUND(({c}-{p})*100/{p},{places})", Decimal(c - p) * 100 / Decimal(p), places))
        x = rng.randint(hi // 10, hi - 1)
        year_days, elapsed = rng.choice([(365, 181), (366, 182), (365, 90), (365, 200), (365, 273)])
        for places in (0, 2):
            exact = Decimal(x) * year_days / elapsed
            rows.append((f"=ROUND({x}*{year_days}/{elapsed},{places})", exact, places))
    wb = openpyxl.Workbook()
    for i, (formula, _, _) in enumerate(rows, start=1):
        wb.active.cell(i, 1, formula)
    src = tmp_path / "rounding.xlsx"
    wb.save(src)
    done = lo.recalculate(src, tmp_path / "rounding.lo.xlsx", soffice=soffice)
    shown = [r[0] for r in openpyxl.load_workbook(done, data_only=True).active.iter_rows(values_only=True)]
    differ = [
        (formula, value)
        for (formula, exact, places), value in zip(rows, shown, strict=True)
        if Decimal(repr(value)).quantize(Decimal(1).scaleb(-places)) != X.excel_round(exact, places)
    ]
    assert len(rows) == 2000 and differ == []
