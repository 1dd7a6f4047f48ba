"""Expression trees compiled to Python source: the engine's fast evaluator.

:func:`kpi_engine.expr.evaluate` walks a tree node by node; it stays the reference.  A
collect evaluates the same few steps for every indicator of every return, so a step's tree
is turned into one Python function here: ``IF`` becomes a conditional (its branches stay
lazy), ``IFERROR`` a ``try``, a comparison or a sum of values whose kinds are known (a
literal; a reference inside ``IF(ISNUMBER(x), …)``) plain Python on :class:`~decimal.Decimal`
and ``str``, AND/OR of tests that cannot fail Python's ``and``/``or``.  Whatever is not known
is checked at run time, and anything unusual (text in a sum, an error value in a
comparison) goes to the reference's own helpers, so the values are the walk's, bit for bit.

Source is generated per *shape*: a tree with its literals taken out.  Every indicator of a
kind has steps of the same shape with other texts and targets, so a plan of 200 indicators
compiles a few dozen functions, each bound to each tree's literals.  Compiling costs about
what 10–30 walks of a tree do, so a shape is compiled once it has been walked :data:`HOT`
times (a calculate of a small plan hardly compiles; a collect compiles after a few returns).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from decimal import ROUND_FLOOR, Decimal

from .expr import (
    _COMPARE,
    Bin,
    Call,
    CellError,
    Expr,
    ExprError,
    Num,
    Ref,
    Str,
    Value,
    _apply,
    _arith,
    _compare,
    _eval,
    _substitute,
    _trim,
    _truth,
    as_text,
    excel_round,
    excel_text,
)

Step = Callable[[Mapping[str, Value]], Value]

#: Walks of one shape after which it is compiled.  Compiling a shape costs about what 10–30
#: walks of it do; a calculate of the seed plan compiles one small shape (the light, shared by
#: its 5 indicators), one of 200 indicators ~30 shapes, a collect after 2–3 returns.
HOT = 16

# What a value may be, as bits: the kinds of :data:`~kpi_engine.expr.Value`.
NUM, TEXT, BOOL, ERR, BLANK = 1, 2, 4, 8, 16
ANY = NUM | TEXT | BOOL | ERR | BLANK

_PY_OP = {"=": "==", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_IS_KIND = {"ISNUMBER": NUM, "ISTEXT": TEXT, "ISLOGICAL": BOOL, "ISERROR": ERR, "ISBLANK": BLANK}
_FAILED = object()  # IFERROR's value raised
_RANK = {NUM: 0, TEXT: 1, BOOL: 2}  # a value known to be of one type, as comparisons order them

_GLOBALS: dict[str, object] = {
    "_D": Decimal,
    "_str": str,
    "CellError": CellError,
    "ExprError": ExprError,
    "_FAILED": _FAILED,
    "_cmp": _compare,
    "_arith": _arith,
    "_apply": _apply,
    "_text": as_text,
    "_truth": _truth,
    "_round": excel_round,
    "_excel_text": excel_text,
    "_trim": _trim,
    "_substitute": _substitute,
    "_FLOOR": ROUND_FLOOR,
}


def _exact(a: Value, b: Value) -> bool:
    """EXACT as :func:`~kpi_engine.expr._apply` computes it, the usual cases first: an input
    against calculate's snapshot of it (equal numbers show equal text; a blank shows "",
    which no number does)."""
    ta, tb = type(a), type(b)
    if ta is tb and (ta is Decimal or ta is str):
        if a == b:
            return True
        if ta is str:
            return False
    elif (a is None and tb is Decimal) or (b is None and ta is Decimal):
        return False
    return _apply("EXACT", [a, b])  # type: ignore[return-value]


_GLOBALS["_exact"] = _exact


# ---------------------------------------------------------------------------
# Shapes: a tree without its literals
# ---------------------------------------------------------------------------

_SHAPES: dict[tuple, int] = {}
_FACTORIES: dict[int, Callable[[tuple], Step]] = {}
_WALKS: dict[int, int] = {}
_IDS = itertools.count()  # never reused: a node keeps its shape's id after the tables are cleared
#: Shapes kept at most; then the tables start again (functions already bound stay valid).
SHAPE_LIMIT = 100_000


def shape(e: Expr) -> tuple[int, int]:
    """``e``'s shape: an id shared by every tree that differs from it only in literals, and
    how many literals it has; kept on the (interned) node.  Cheap, as every step's is looked
    up on every walk until its shape is compiled."""
    got = e.__dict__.get("_shape")
    if got is None:
        got = e.__dict__["_shape"] = _shape(e)  # a cache, not a field: the frozen node is unchanged
    return got


def _shape(e: Expr) -> tuple[int, int]:
    t = type(e)
    if t is Bin:
        (left, n), (right, m) = shape(e.left), shape(e.right)  # type: ignore[attr-defined]
        key: tuple = ("B", e.op, left, right)  # type: ignore[attr-defined]
        count = n + m
    elif t is Call:
        parts = [shape(a) for a in e.args]  # type: ignore[attr-defined]
        key = (e.fn, *[p[0] for p in parts])  # type: ignore[attr-defined]
        count = sum([p[1] for p in parts])
    elif t is Ref:
        key, count = ("R", e.name), 0  # type: ignore[attr-defined]
    else:  # a literal's type decides the code, its value not
        key, count = (t.__name__, type(_literal(e))), 1
    sid = _SHAPES.get(key)
    if sid is None:
        if len(_SHAPES) >= SHAPE_LIMIT:
            _SHAPES.clear()
            _FACTORIES.clear()
            _WALKS.clear()
        sid = _SHAPES[key] = next(_IDS)
    return sid, count


def _literal(e: Expr) -> object:
    return e.value if type(e) is Num else e.text  # type: ignore[attr-defined]


def literals(e: Expr) -> tuple:
    """``e``'s literals in the order its shape's code numbers them (depth first, left to right)."""
    out: list = []
    stack = [e]
    while stack:
        node = stack.pop()
        t = type(node)
        if t is Bin:
            stack += (node.right, node.left)  # type: ignore[attr-defined]
        elif t is Call:
            stack += reversed(node.args)  # type: ignore[attr-defined]
        elif t is Num or t is Str:
            out.append(_literal(node))
    return tuple(out)


def step_function(e: Expr) -> Step | None:
    """``e`` compiled, if its shape has been walked :data:`HOT` times (counting this call); else None:
    the caller walks it (:func:`kpi_engine.expr.walker`).  Call the result inside
    :func:`~kpi_engine.expr.decimal_context`."""
    fn = e.__dict__.get("_fast")
    if fn is not None:
        return fn
    sid = shape(e)[0]
    factory = _FACTORIES.get(sid)
    if factory is None:
        walks = _WALKS[sid] = _WALKS.get(sid, 0) + 1
        if walks < HOT:
            return None
        factory = _FACTORIES[sid] = _factory(e)
    fn = e.__dict__["_fast"] = factory(literals(e))
    return fn


def compile_step(e: Expr) -> Step:
    """``e`` compiled now, whatever its shape's count (tests, and callers that know it runs often)."""
    sid = shape(e)[0]
    factory = _FACTORIES.get(sid)
    if factory is None:
        factory = _FACTORIES[sid] = _factory(e)
    return factory(literals(e))


def walker(e: Expr) -> Step:
    """``e`` evaluated by the reference walk, as a step function."""
    return functools.partial(_eval, e)


# ---------------------------------------------------------------------------
# Source generation
# ---------------------------------------------------------------------------


class _Code:
    """A generated value: ``expr`` evaluates it once the lines emitted before it have run."""

    __slots__ = ("depth", "expr", "kinds", "raises", "slot")

    def __init__(self, expr: str, kinds: int, raises: bool, depth: int = 0, slot: int | None = None):
        self.expr, self.kinds, self.raises, self.depth, self.slot = expr, kinds, raises, depth, slot


#: Nesting beyond which a value goes to a local variable (Python's parser has limits).
_MAX_DEPTH = 30


def _factory(e: Expr) -> Callable[[tuple], Step]:
    namespace = dict(_GLOBALS)
    exec(compile(source(e), f"<kpi step {shape(e)[0]}>", "exec"), namespace)
    return namespace["_bind"]  # type: ignore[return-value]


def source(e: Expr) -> str:
    """The Python source generated for ``e``'s shape: ``_bind(literals)`` returns the step function."""
    gen = _Gen()
    body: list[str] = []
    result = gen.value(e, 0, {}, body, "        ")
    n = shape(e)[1]
    lines = ["def _bind(K):"]
    if n:
        lines.append("    " + "".join(f"k{i}, " for i in range(n)) + "= K")
    lines += gen.derived
    lines.append("    def step(env):")
    lines += [f"        {local} = env.get({name!r})" for name, local in gen.refs.items()]
    lines += body
    lines.append(f"        return {result.expr}")
    lines.append("    return step")
    return "\n".join(lines) + "\n"


def _atomic(text: str) -> bool:
    return text.isidentifier() or text in ("True", "False", "None")


class _Gen:
    """Turns one tree into lines of Python (see :func:`_factory`)."""

    def __init__(self) -> None:
        self.refs: dict[str, str] = {}
        self.derived: list[str] = []
        self._derived: set[str] = set()
        self._n = 0

    def temp(self) -> str:
        self._n += 1
        return f"t{self._n}"

    def derive(self, name: str, expr: str) -> str:
        """A value computed from the literals once per binding (``k3f = k3.casefold()``)."""
        if name not in self._derived:
            self._derived.add(name)
            self.derived.append(f"    {name} = {expr}")
        return name

    def store(self, code: _Code, out: list[str], ind: str) -> _Code:
        """``code`` in a local variable (evaluated here, in order)."""
        if _atomic(code.expr):
            return code
        t = self.temp()
        out.append(f"{ind}{t} = {code.expr}")
        return _Code(t, code.kinds, False, 0, code.slot)

    def settle(self, code: _Code, out: list[str], ind: str) -> _Code:
        """``code`` safe to evaluate later: what may raise is evaluated now, in the tree's order."""
        if code.raises or code.depth > _MAX_DEPTH:
            return self.store(code, out, ind)
        return code

    def value(self, e: Expr, off: int, facts: dict[str, int], out: list[str], ind: str) -> _Code:
        """Code for ``e`` whose literals start at slot ``off``; ``facts`` narrow references' kinds."""
        t = type(e)
        if t is Num or t is Str:
            literal = _literal(e)
            kinds = NUM if type(literal) is Decimal else TEXT if type(literal) is str else ANY
            return _Code(f"k{off}", kinds, False, 0, off)
        if t is Ref:
            name = e.name  # type: ignore[attr-defined]
            local = self.refs.setdefault(name, f"x{len(self.refs)}")
            return _Code(local, facts.get(name, ANY), False)
        if t is Bin:
            return self.binary(e, off, facts, out, ind)  # type: ignore[arg-type]
        return self.call(e, off, facts, out, ind)  # type: ignore[arg-type]

    def args(
        self, kids: tuple[Expr, ...], off: int, facts: dict[str, int], out: list[str], ind: str
    ) -> list[_Code]:
        """The operands, each settled in order (as the walk evaluates them)."""
        codes = []
        for kid in kids:
            codes.append(self.settle(self.value(kid, off, facts, out, ind), out, ind))
            off += shape(kid)[1]
        return codes

    # -- operators -----------------------------------------------------------------------

    def binary(self, e: Bin, off: int, facts: dict[str, int], out: list[str], ind: str) -> _Code:
        if e.op == "&":
            return self.join(e, off, facts, out, ind)
        a, b = self.args((e.left, e.right), off, facts, out, ind)
        depth = max(a.depth, b.depth) + 1
        if e.op in _COMPARE:
            return self.compare(e.op, a, b, depth, out, ind)
        op = e.op
        if a.kinds == NUM and b.kinds == NUM and op != "/":
            return _Code(f"({a.expr} {op} {b.expr})", NUM, False, depth)
        a, b = self.store(a, out, ind), self.store(b, out, ind)
        fast = f"type({a.expr}) is _D and type({b.expr}) is _D"
        if op == "/":
            fast += f" and {b.expr}"  # a zero divisor goes to _arith: #DIV/0!
        return _Code(f"({a.expr} {op} {b.expr} if {fast} else _arith({op!r}, {a.expr}, {b.expr}))", NUM, True)

    def compare(self, op: str, a: _Code, b: _Code, depth: int, out: list[str], ind: str) -> _Code:
        py = _PY_OP[op]
        raises = bool((a.kinds | b.kinds) & ERR)
        if a.kinds == b.kinds and a.kinds in (NUM, BOOL):
            return _Code(f"({a.expr} {py} {b.expr})", BOOL, False, depth)
        if a.kinds == TEXT and b.kinds == TEXT:
            return _Code(f"({self.folded(a)} {py} {self.folded(b)})", BOOL, False, depth)
        if a.kinds in _RANK and b.kinds in _RANK:  # of two types: Excel orders numbers < text < booleans
            return _Code(str(_COMPARE[op](_RANK[a.kinds], _RANK[b.kinds])), BOOL, False)
        a, b = self.store(a, out, ind), self.store(b, out, ind)
        slow = f"_cmp({op!r}, {a.expr}, {b.expr})"
        for x, y in ((a, b), (b, a)):  # one side known: test the other's type only
            if y.kinds not in (NUM, TEXT) or x.kinds in _RANK:
                continue
            # Of the other type the order is Excel's (numbers < text), whatever the values.
            ranks = (0, 1) if (x is a) == (y.kinds == TEXT) else (1, 0)
            other = f"{_COMPARE[op](*ranks)} if type({x.expr}) is {'_D' if y.kinds == TEXT else '_str'} else {slow}"
            if y.kinds == NUM:
                return _Code(f"({a.expr} {py} {b.expr} if type({x.expr}) is _D else {other})", BOOL, raises)
            same = f"{self.folded(a)} {py} {self.folded(b)}"
            return _Code(f"({same} if type({x.expr}) is _str else {other})", BOOL, raises)
        return _Code(slow, BOOL, raises)

    def folded(self, code: _Code) -> str:
        """Text casefolded, as comparisons see it (a literal's once per binding)."""
        if code.slot is not None:
            return self.derive(f"k{code.slot}f", f"k{code.slot}.casefold()")
        return f"{code.expr}.casefold()"

    def join(self, e: Bin, off: int, facts: dict[str, int], out: list[str], ind: str) -> _Code:
        """A chain of ``&`` as one concatenation, each part turned into text in order."""
        kids: list[Expr] = []
        node: Expr = e
        while type(node) is Bin and node.op == "&":  # type: ignore[attr-defined]
            kids.append(node.right)  # type: ignore[attr-defined]
            node = node.left  # type: ignore[attr-defined]
        kids.append(node)
        kids.reverse()
        parts = []
        for kid in kids:
            code = self.settle(self.value(kid, off, facts, out, ind), out, ind)
            off += shape(kid)[1]
            if code.kinds != TEXT:
                code = _Code(f"_text({code.expr})", TEXT, bool(code.kinds & ERR), code.depth + 1)
            parts.append(self.settle(code, out, ind))
        if len(parts) <= 3:
            return _Code(
                "(" + " + ".join(p.expr for p in parts) + ")", TEXT, False, max(p.depth for p in parts) + 1
            )
        return _Code(
            '"".join((' + ", ".join(p.expr for p in parts) + ",))",
            TEXT,
            False,
            max(p.depth for p in parts) + 1,
        )

    # -- functions -----------------------------------------------------------------------

    def call(self, e: Call, off: int, facts: dict[str, int], out: list[str], ind: str) -> _Code:
        fn = e.fn
        if fn == "IF":
            return self.if_(e, off, facts, out, ind)
        if fn == "IFERROR":
            return self.iferror(e, off, facts, out, ind)
        args = self.args(e.args, off, facts, out, ind)
        depth = max(a.depth for a in args) + 1
        if fn in _IS_KIND or fn == "ISFORMULA":
            return self.is_(fn, args[0], depth, out, ind)
        if fn in ("AND", "OR", "NOT") and all(a.kinds == BOOL for a in args):
            return self.logical(fn, e.args, args, depth, out, ind)
        generic = _Code(
            f"_apply({fn!r}, [{', '.join(a.expr for a in args)}])", _RESULT.get(fn, ANY), True, depth
        )
        x = args[0]
        if fn in ("ROUND", "LEFT") and args[1].slot is not None and args[1].kinds == NUM:
            places = self.derive(f"k{args[1].slot}i", f"int(k{args[1].slot})")
            if fn == "ROUND" and x.kinds == NUM:
                return _Code(f"_round({x.expr}, {places})", NUM, False, depth)
            if fn == "LEFT":
                if x.kinds == TEXT:
                    return _Code(f"{x.expr}[:{places}]", TEXT, False, depth)
                if not x.kinds & (TEXT | BLANK):  # no text to cut (a comparison folded to True)
                    return generic
                x = self.store(x, out, ind)  # calculate's record: text, or blank before any
                text = f'({x.expr}[:{places}] if type({x.expr}) is _str else "" if {x.expr} is None else {generic.expr})'
                return _Code(text, TEXT, True)
        if fn in ("INT", "ABS"):
            x = self.store(x, out, ind) if x.kinds != NUM else x
            text = f"{x.expr}.to_integral_value(rounding=_FLOOR)" if fn == "INT" else f"abs({x.expr})"
            if x.kinds == NUM:
                return _Code(text, NUM, False, depth)
            return _Code(f"({text} if type({x.expr}) is _D else {generic.expr})", NUM, True)
        if fn in ("MIN", "MAX") and len(args) == 2 and all(a.kinds == NUM for a in args):
            a, b = (
                self.store(args[0], out, ind),
                self.store(args[1], out, ind),
            )  # the first of equals, as min()
            return _Code(
                f"({b.expr} if {b.expr} {'<' if fn == 'MIN' else '>'} {a.expr} else {a.expr})", NUM, False
            )
        if fn == "TEXT" and args[1].kinds == TEXT:
            x = self.store(x, out, ind)
            return _Code(
                f"(_excel_text({x.expr}, {args[1].expr}) if type({x.expr}) is _D else {generic.expr})",
                TEXT,
                True,
            )
        if fn == "TRIM" and x.kinds == TEXT:
            return _Code(f"_trim({x.expr})", TEXT, False, depth)
        if fn == "SUBSTITUTE" and all(a.kinds == TEXT for a in args):
            return _Code(f"_substitute({x.expr}, {args[1].expr}, {args[2].expr})", TEXT, False, depth)
        if fn == "EXACT":
            return _Code(f"_exact({args[0].expr}, {args[1].expr})", BOOL, True, depth)
        return generic

    def is_(self, fn: str, x: _Code, depth: int, out: list[str], ind: str) -> _Code:
        if fn == "ISFORMULA":
            if not x.kinds & TEXT:
                return _Code("False", BOOL, False)
            x = self.store(x, out, ind)
            return _Code(f"(isinstance({x.expr}, _str) and {x.expr}.startswith('='))", BOOL, False, depth)
        kind = _IS_KIND[fn]
        if not x.kinds & kind:
            return _Code("False", BOOL, False)
        if x.kinds == kind:
            return _Code("True", BOOL, False)
        test = {
            "ISNUMBER": "isinstance({}, _D)",
            "ISTEXT": "isinstance({}, _str)",
            "ISLOGICAL": "type({}) is bool",
            "ISERROR": "isinstance({}, CellError)",
            "ISBLANK": "{} is None",
        }[fn]
        return _Code("(" + test.format(x.expr) + ")", BOOL, False, depth)

    def logical(
        self, fn: str, kids: tuple[Expr, ...], args: list[_Code], depth: int, out: list[str], ind: str
    ) -> _Code:
        """AND, OR, NOT of tests.  The walk evaluates every argument, so only arguments that
        cannot raise may be skipped by Python's short circuit; the others were evaluated already."""
        if fn == "NOT":
            return _Code(f"(not {args[0].expr})", BOOL, False, depth)
        joiner = " and " if fn == "AND" else " or "
        return _Code("(" + joiner.join(a.expr for a in args) + ")", BOOL, False, depth)

    def if_(self, e: Call, off: int, facts: dict[str, int], out: list[str], ind: str) -> _Code:
        cond_e, then_e, else_e = e.args
        cond = self.settle(self.value(cond_e, off, facts, out, ind), out, ind)
        if cond.kinds == BOOL:
            test = cond
        else:
            test = self.settle(_Code(f"_truth({cond.expr})", BOOL, bool(cond.kinds & (TEXT | ERR))), out, ind)
        off_then = off + shape(cond_e)[1]
        off_else = off_then + shape(then_e)[1]
        then_lines: list[str] = []
        else_lines: list[str] = []
        inner = ind + "    "
        yes = self.value(then_e, off_then, _narrow(facts, cond_e, True), then_lines, inner)
        no = self.value(else_e, off_else, _narrow(facts, cond_e, False), else_lines, inner)
        kinds = yes.kinds | no.kinds
        depth = max(test.depth, yes.depth, no.depth) + 1
        if not then_lines and not else_lines and depth <= _MAX_DEPTH:
            return _Code(f"({yes.expr} if {test.expr} else {no.expr})", kinds, yes.raises or no.raises, depth)
        r = self.temp()
        out.append(f"{ind}if {test.expr}:")
        out += then_lines
        out.append(f"{inner}{r} = {yes.expr}")
        out.append(f"{ind}else:")
        out += else_lines
        out.append(f"{inner}{r} = {no.expr}")
        return _Code(r, kinds, False)

    def iferror(self, e: Call, off: int, facts: dict[str, int], out: list[str], ind: str) -> _Code:
        value_e, fallback_e = e.args
        inner = ind + "    "
        tried: list[str] = []
        got = self.value(value_e, off, facts, tried, inner)
        if not tried and not got.raises and not got.kinds & ERR:
            return got  # cannot fail: the fallback is never taken
        fallback: list[str] = []
        other = self.value(fallback_e, off + shape(value_e)[1], facts, fallback, inner)
        r = self.temp()
        out.append(f"{ind}try:")
        out += tried
        out.append(f"{inner}{r} = {got.expr}")
        out.append(f"{ind}except ExprError:")
        out.append(f"{inner}{r} = _FAILED")
        out.append(f"{ind}if {r} is _FAILED or isinstance({r}, CellError):")
        out += fallback
        out.append(f"{inner}{r} = {other.expr}")
        return _Code(r, (got.kinds & ~ERR) | other.kinds, False)


#: What a function returns, for the kinds of its result.
_RESULT = {
    "LEFT": TEXT,
    "TRIM": TEXT,
    "SUBSTITUTE": TEXT,
    "TEXT": TEXT,
    "EXACT": BOOL,
    "AND": BOOL,
    "OR": BOOL,
    "NOT": BOOL,
    "ABS": NUM,
    "ROUND": NUM,
    "INT": NUM,
    "MIN": NUM,
    "MAX": NUM,
}


def _narrow(facts: dict[str, int], cond: Expr, truth: bool) -> dict[str, int]:
    """``facts`` and what ``cond`` being ``truth`` says of references' kinds (``ISNUMBER(x)``…)."""
    learnt = _learn(cond, truth)
    if not learnt:
        return facts
    out = dict(facts)
    for name, kinds in learnt.items():
        out[name] = out.get(name, ANY) & kinds
    return out


def _learn(cond: Expr, truth: bool) -> dict[str, int]:
    if type(cond) is not Call:
        return {}
    fn, args = cond.fn, cond.args  # type: ignore[attr-defined]
    if fn in _IS_KIND and type(args[0]) is Ref:
        kind = _IS_KIND[fn]
        return {args[0].name: kind if truth else ANY & ~kind}  # type: ignore[attr-defined]
    if fn == "NOT":
        return _learn(args[0], not truth)
    if (fn == "AND" and truth) or (fn == "OR" and not truth):  # every argument is `truth`
        out: dict[str, int] = {}
        for a in args:
            for name, kinds in _learn(a, truth).items():
                out[name] = out.get(name, ANY) & kinds
        return out
    return {}
