"""The compiled evaluator (``kpi_engine.expr_compile``) against the reference tree walk.

Identical means the same type and the same digits (``Decimal('1')`` is not ``Decimal('1.0')``),
or the same exception.  Inputs are drawn by hypothesis from every kind of cell value: numbers
(negative, fractional, huge, tiny, -0), texts (blank, spaces, full-width, formulas, case
pairs such as ß/SS), booleans, blanks and error values.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plan_factory import indicator, make_plan

from kpi_engine import expr as X
from kpi_engine import expr_compile as C
from kpi_engine.evaluate import evaluate
from kpi_engine.expr import Bin, CellError, Expr, Num, Ref, Str, call, decimal_context
from kpi_engine.measures import CALC_REF, HELD_MARK, SNAP_PREFIX, computation
from kpi_engine.plan import Target

D = Decimal
SETTINGS = settings(max_examples=400, deadline=None)

# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------

numbers = st.one_of(
    st.integers(-1000, 1000).map(D),
    st.integers(0, 10**9).map(D),
    st.builds(lambda n, e: D(f"{n}E{e}"), st.integers(-(10**17), 10**17), st.integers(-30, 20)),
    st.builds(
        lambda n, e: D(f"{n}E{e}"), st.integers(1, 10**40), st.integers(-400, 300)
    ),  # huge, tiny, 40 digits
    st.sampled_from([D("-0"), D("0.00"), D("0E+3"), D("187.0"), D("43281"), D("1E+9"), D("999999999.5")]),
)
texts = st.one_of(
    st.sampled_from(["", " ", "\u3000", " \u3000 ", "abc", "ABC", "ß", "SS", "187", "=1+1", "=", "#N/A"]),
    st.sampled_from(["無誤", HELD_MARK, HELD_MARK + "錯誤 1 項", "資料有誤", "達成", "未達成", "İ", "i̇"]),
    st.text(max_size=6),
)
values = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    texts,
    st.sampled_from(["#N/A", "#DIV/0!", "#VALUE!"]).map(CellError),
)


def outcome(run, *args) -> tuple:
    """What running gives, comparable exactly: (type, repr) of the value or of the exception class."""
    try:
        got = run(*args)
    except Exception as exc:
        return ("raised", type(exc))
    return (type(got), repr(got))


# ---------------------------------------------------------------------------
# every step of every kind's computation
# ---------------------------------------------------------------------------

PLAN = make_plan(
    indicator("r", "ratio", "83%", weight=10),
    indicator("f", "ratio", "11.5%", polarity="lower", weight=10),
    indicator("g", "growth", "8%", weight=10),
    indicator("c", "count", "≤120", weight=10),
    indicator("u", "count", "200", weight=10),
    indicator("m", "milestone", "100%", weight=10),
    indicator("s", "stock", "≥50", weight=10),
    indicator("a", "average", "≤7", weight=10),
    indicator("z", "ratio", "0%", weight=10),
    indicator("n", "ratio", "90%", weight=10, numerator_in_denominator=False),
)


def _computations() -> list:
    out = []
    for ind in PLAN.indicators:
        variants = [ind, replace(ind, target=Target("待設定", D(0), ind.target.percent, None, unset=True))]
        variants.append(replace(ind, assessed_in=("FY",)))
        for variant in variants:
            for period in PLAN.periods:
                for decimals in (0, 2):
                    opts = replace(PLAN.options, decimals=decimals)
                    out.append(computation(variant, period, opts, roc_year=107))
    return out


COMPUTATIONS = _computations()


@SETTINGS
@given(st.sampled_from(COMPUTATIONS), st.data())
def test_every_step_computes_what_the_walk_does(comp, data):
    roles = [spec.role for spec in comp.indicator.inputs]
    env = {role: data.draw(values, label=role) for role in roles}
    same = data.draw(st.booleans(), label="snapshot equals inputs")
    for role in roles:
        env[SNAP_PREFIX + role] = env[role] if same else data.draw(values, label="snap")
    env[CALC_REF] = data.draw(st.one_of(st.none(), texts), label="calc")
    walked, ran = dict(env), dict(env)
    for name, expr in comp.steps:
        with decimal_context():
            want = outcome(X.evaluate, expr, walked)
            got = outcome(C.compile_step(expr), ran)
        assert got == want, (name, env)
        if want[0] == "raised":
            break
        walked[name] = ran[name] = X.evaluate(expr, walked)


# ---------------------------------------------------------------------------
# any tree: what the engine's steps never build is computed alike too
# ---------------------------------------------------------------------------

REFS = ("a", "b", "c")
leaves = st.one_of(
    numbers.map(Num),
    texts.map(Str),
    st.sampled_from(REFS).map(Ref),
)
FORMATS = ("#,##0", "#,##0.##", "0.00", "0", "#,##0.0#", "bad")


def _trees(kids: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    pair = st.tuples(kids, kids)
    ops = st.sampled_from(["+", "-", "*", "/", "&", "=", "<>", "<", "<=", ">", ">="])
    ref = st.sampled_from(REFS).map(Ref)
    return st.one_of(
        st.builds(lambda op, ab: Bin(op, *ab), ops, pair),
        st.builds(lambda c, t, e: call("IF", c, t, e), kids, kids, kids),
        # the engine's guard: inside, the reference is known to be a number (or text…)
        st.builds(
            lambda fn, r, t, e: call("IF", call(fn, r), t, e),
            st.sampled_from(["ISNUMBER", "ISTEXT", "ISBLANK", "ISLOGICAL"]),
            ref,
            kids,
            kids,
        ),
        st.builds(
            lambda r, t, e: call(
                "IF", call("AND", call("ISNUMBER", r), call("NOT", call("ISLOGICAL", r))), t, e
            ),
            ref,
            kids,
            kids,
        ),
        st.builds(
            lambda r, t, e: call("IF", call("OR", call("ISTEXT", r), call("ISBLANK", r)), t, e),
            ref,
            kids,
            kids,
        ),
        st.builds(lambda v, f: call("IFERROR", v, f), kids, kids),
        st.builds(
            lambda fn, args: call(fn, *args),
            st.sampled_from(["AND", "OR"]),
            st.lists(kids, min_size=1, max_size=3),
        ),
        st.builds(
            lambda fn, x: call(fn, x),
            st.sampled_from(["NOT", "ISNUMBER", "ISTEXT", "ISLOGICAL", "ISBLANK", "ISERROR", "ISFORMULA"]),
            kids,
        ),
        st.builds(lambda fn, x: call(fn, x), st.sampled_from(["TRIM", "ABS", "INT"]), kids),
        st.builds(lambda ab: call("EXACT", *ab), pair),
        st.builds(lambda x, n: call("LEFT", x, n), kids, st.integers(0, 12)),
        st.builds(lambda x, n: call("ROUND", x, n), kids, st.integers(-2, 4)),
        st.builds(lambda x, f: call("TEXT", x, f), kids, st.sampled_from(FORMATS)),
        st.builds(lambda x, o, n: call("SUBSTITUTE", x, o, n), kids, kids, kids),
        st.builds(
            lambda fn, args: call(fn, *args),
            st.sampled_from(["MIN", "MAX"]),
            st.lists(kids, min_size=1, max_size=3),
        ),
        st.builds(lambda i, args: call("CHOOSE", i, *args), kids, st.lists(kids, min_size=1, max_size=3)),
    )


trees = st.recursive(leaves, _trees, max_leaves=12)


@SETTINGS
@given(trees, st.fixed_dictionaries({r: values for r in REFS}))
def test_any_tree_computes_what_the_walk_does(tree, env):
    with decimal_context():
        assert outcome(C.compile_step(tree), env) == outcome(X.evaluate, tree, env)


#: The functions whose compiled form works on its first argument's value, with their other arguments.
_OF_A_VALUE = {
    "LEFT": (Num(D(2)),),
    "ROUND": (Num(D(2)),),
    "TEXT": (Str("0"),),
    "INT": (),
    "ABS": (),
    "TRIM": (),
}


@pytest.mark.parametrize("fn", sorted(_OF_A_VALUE))
def test_a_comparison_folded_to_a_constant_compiles_without_a_warning(fn):
    """Text against a number compares by type alone, so the generator writes ``True``: a
    function of it must not become ``True[:n]``, which Python warns of when it compiles."""
    tree = call(fn, Bin(">", Str("a"), Num(D(1))), *_OF_A_VALUE[fn])
    with warnings.catch_warnings(), decimal_context():
        warnings.simplefilter("error")
        assert outcome(C.compile_step(tree), {}) == outcome(X.evaluate, tree, {})


@pytest.mark.parametrize("n", [40, 150])
def test_long_chains_compile(n):
    """A sum or a text join of many parts: Python's parser has a nesting limit, the generator stays under it."""
    terms = [call("IF", call("ISNUMBER", Ref("a")), Num(D(i)), Str("x")) for i in range(n)]
    total: Expr = terms[0]
    text: Expr = terms[0]
    for t in terms[1:]:
        total, text = Bin("+", total, t), Bin("&", text, t)
    env = {"a": D(1)}
    with decimal_context():
        assert (
            outcome(C.compile_step(total), env)
            == outcome(X.evaluate, total, env)
            == (Decimal, repr(D(n * (n - 1) // 2)))
        )
        assert outcome(C.compile_step(text), env) == outcome(X.evaluate, text, env)


# ---------------------------------------------------------------------------
# shapes, binding and when a shape is compiled
# ---------------------------------------------------------------------------


def test_trees_that_differ_in_literals_share_one_compiled_shape():
    a = call("IF", Bin(">", Ref("x"), Num(D(3))), Str("高"), Str("低"))
    b = call("IF", Bin(">", Ref("x"), Num(D(7))), Str("上"), Str("下"))
    assert C.shape(a)[0] == C.shape(b)[0] and C.literals(a) != C.literals(b)
    with decimal_context():
        assert [C.compile_step(a)({"x": D(5)}), C.compile_step(b)({"x": D(5)})] == ["高", "下"]
    assert C._FACTORIES[C.shape(a)[0]] is C._FACTORIES[C.shape(b)[0]]


def test_a_shape_is_compiled_once_it_is_hot_and_results_stay_the_same():
    tree = call("IF", Bin("<", Ref("hot test"), Num(D(0))), Str("neg"), Bin("*", Ref("hot test"), Num(D(2))))
    sid = C.shape(tree)[0]
    got = [C.step_function(tree) for _ in range(C.HOT)]
    assert got[:-1] == [None] * (C.HOT - 1) and got[-1] is not None
    assert C.step_function(tree) is got[-1] and sid in C._FACTORIES
    with decimal_context():
        assert got[-1]({"hot test": D("-1")}) == "neg" and got[-1]({"hot test": D("2.5")}) == D("5.0")


def test_evaluate_gives_the_same_results_walked_and_compiled(monkeypatch):
    """A whole evaluation twice, every step walked and then every step compiled: every
    cell the same, to the digit."""
    from test_measures import ALL_KINDS_ENTRIES, ALL_KINDS_PLAN

    from kpi_engine import measures

    plan = make_plan(*ALL_KINDS_PLAN)
    entries = {
        period: {i: dict(raw) for i, raw in inds.items()} for period, inds in ALL_KINDS_ENTRIES.items()
    }
    entries["H1"]["g"]["current"] = "abc"  # and FY holds a zero denominator and a blank
    runs = []
    for steps in (lambda e: None, C.compile_step):
        measures._computation.cache_clear()  # new Computations: none holds compiled steps yet
        monkeypatch.setattr(measures, "step_function", steps)
        runs.append(
            [
                {k: (type(v), repr(v)) for k, v in r.cells.items()}
                for r in evaluate(plan, entries, cells=True).results
            ]
        )
    assert runs[0] == runs[1] and len(runs[0]) == 10
    assert runs[0][0]["value"] == (Decimal, "Decimal('89.05')")


# ---------------------------------------------------------------------------
# the rounding helpers, now given their context, against their localcontext form
# ---------------------------------------------------------------------------


def _round_half_up_before(value: Decimal, places: int) -> Decimal:
    quantum = Decimal(1).scaleb(-places)
    with localcontext() as ctx:
        ctx.prec = max(34, value.adjusted() + places + 2)
        return value.quantize(quantum, rounding=ROUND_HALF_UP)


def _excel_round_before(value: Decimal, places: int) -> Decimal:
    if value == 0:
        return _round_half_up_before(value, places)
    with localcontext() as ctx:
        ctx.prec = 34
        shown = value.quantize(Decimal(1).scaleb(value.adjusted() - 14), rounding=ROUND_HALF_EVEN)
    return _round_half_up_before(shown, places)


def _format_number_before(d: Decimal) -> str:
    with localcontext() as ctx:
        ctx.prec = max(34, len(d.as_tuple().digits))
        text = format(d.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _as_text_before(v: Decimal) -> str:
    if v == 0:
        return "0"
    with localcontext() as ctx:
        ctx.prec = 34
        shown = v.quantize(Decimal(1).scaleb(v.adjusted() - 14), rounding=ROUND_HALF_EVEN)
    return _format_number_before(shown)


@SETTINGS
@given(numbers, st.integers(-3, 6), st.booleans())
def test_rounding_helpers_equal_their_localcontext_form(value, places, inside):
    with decimal_context() if inside else localcontext():
        assert outcome(X.round_half_up, value, places) == outcome(_round_half_up_before, value, places)
        assert outcome(X.excel_round, value, places) == outcome(_excel_round_before, value, places)
        assert outcome(X.format_number, value) == outcome(_format_number_before, value)
        assert outcome(X.as_text, value) == outcome(_as_text_before, value)
