"""A tiny spreadsheet-expression language: one definition, two evaluators.

Every indicator's computation is written once as an :class:`Expr` tree.  The same
tree is evaluated here with :mod:`decimal` (the engine's result) and rendered as
Excel formula text (the workbook's live result), so the two cannot drift apart.

Semantics follow Excel for the small subset used: ``""`` is the empty result, text
compares equal only to text, ``ROUND`` rounds half away from zero, ``IF`` is lazy.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from .errors import KpiError


@dataclass(frozen=True)
class CellError:
    """An Excel error value in a cell (``#N/A``, ``#VALUE!``…)."""

    code: str

    def __str__(self) -> str:
        return self.code


Value = Decimal | str | bool | CellError | None
"""A cell value as the evaluator sees it: number, text, boolean, error, or None for blank."""

#: Excel's limit on one text literal inside a formula.
MAX_LITERAL = 255


class ExprError(KpiError, ValueError):
    """An expression hit an Excel error (e.g. ``#DIV/0!``); guards should prevent it."""

    code = "expression_error"


#: Every node made so far, by its class and fields (a child by identity): see :meth:`Expr.__new__`.
_INTERNED: dict[tuple, Expr] = {}
#: Nodes kept at most; then the table starts again (nodes already made stay valid).
INTERN_LIMIT = 500_000


def _field_key(value: object) -> object:
    if isinstance(value, Expr):
        return id(value)
    if isinstance(value, tuple):
        return tuple(id(v) if isinstance(v, Expr) else v for v in value)
    if isinstance(value, Decimal):
        return ("D", str(value))  # 1 and 1.0 are different literals (their results' exponents differ)
    return (type(value), value)


@dataclass(frozen=True)
class Expr:
    """Base class of expression nodes.

    Nodes are interned: making a node equal to one already made returns that one.  Every
    indicator of a kind has the same checks and most of the same sentence, so a plan of
    1,000 indicators holds each shared subtree once (memory flat, issue 25), and what is
    worked out about a node (its formula text, its shape and compiled step in
    :mod:`kpi_engine.expr_compile`) is kept on it once for all of them.
    """

    def __new__(cls, *args: object, **kwargs: object) -> Expr:
        if not args and not kwargs:  # copy and pickle make the object, then set its fields
            return object.__new__(cls)
        if kwargs:
            names = list(cls.__dataclass_fields__)  # type: ignore[attr-defined]
            args = (*args, *(kwargs[n] for n in names[len(args) :]))
        key = cls._key(*args)
        node = _INTERNED.get(key)
        if node is None:
            if len(_INTERNED) >= INTERN_LIMIT:
                _INTERNED.clear()
            node = _INTERNED[key] = object.__new__(cls)
        return node

    @classmethod
    def _key(cls, *fields: object) -> tuple:
        """The node's identity in :data:`_INTERNED` (each class spells its own, for speed)."""
        return (cls, *map(_field_key, fields))

    # Operator overloads keep measure definitions readable: ``a * 100 / b``.
    def __add__(self, other: ExprLike) -> Expr:
        return _node(Bin, "+", self, lift(other))

    def __sub__(self, other: ExprLike) -> Expr:
        return _node(Bin, "-", self, lift(other))

    def __mul__(self, other: ExprLike) -> Expr:
        return _node(Bin, "*", self, lift(other))

    def __truediv__(self, other: ExprLike) -> Expr:
        return _node(Bin, "/", self, lift(other))


@dataclass(frozen=True)
class Num(Expr):
    """A numeric literal."""

    value: Decimal

    @classmethod
    def _key(cls, value: object) -> tuple:  # type: ignore[override]
        return (Num, "D", str(value)) if isinstance(value, Decimal) else (Num, type(value), value)


@dataclass(frozen=True)
class Str(Expr):
    """A text literal."""

    text: str

    @classmethod
    def _key(cls, text: object) -> tuple:  # type: ignore[override]
        return (Str, type(text), text)


@dataclass(frozen=True)
class Ref(Expr):
    """A reference to a named cell: an input, or an earlier result."""

    name: str

    @classmethod
    def _key(cls, name: object) -> tuple:  # type: ignore[override]
        return (Ref, type(name), name)


@dataclass(frozen=True)
class Bin(Expr):
    """A binary operator: arithmetic (+ - * /), text join (&) or comparison (= <> < <= > >=)."""

    op: str
    left: Expr
    right: Expr

    @classmethod
    def _key(cls, op: object, left: object, right: object) -> tuple:  # type: ignore[override]
        return (Bin, op, id(left), id(right))


@dataclass(frozen=True)
class Call(Expr):
    """A function call, named as in Excel."""

    fn: str
    args: tuple[Expr, ...]

    @classmethod
    def _key(cls, fn: object, args: object) -> tuple:  # type: ignore[override]
        return (Call, fn, *map(id, args))  # type: ignore[call-overload]


ExprLike = Expr | int | str | Decimal


def _node(cls: type, *fields: object) -> Any:
    """The interned node ``cls(*fields)``: looked up first, so a node made before is returned
    without constructing it again (the builders below make a plan's trees mostly of those)."""
    node = _INTERNED.get(cls._key(*fields))  # type: ignore[attr-defined]
    return node if node is not None else cls(*fields)


def lift(x: ExprLike) -> Expr:
    """Turn a Python literal into an expression node."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, str):
        return _node(Str, x)
    if isinstance(x, bool):
        raise TypeError("booleans are not literals here")
    return _node(Num, Decimal(x))


def call(fn: str, *args: ExprLike) -> Call:
    """Build a function call node, e.g. ``call("ROUND", x, 2)``."""
    return _node(Call, fn, tuple([a if isinstance(a, Expr) else lift(a) for a in args]))


def join(*parts: ExprLike) -> Expr:
    """Text concatenation with Excel's ``&``: ``join("共", x, "件")``."""
    nodes: list[Expr] = []
    for p in parts:
        node = lift(p)
        if isinstance(node, Str) and node.text == "":
            continue
        if isinstance(node, Str) and nodes and isinstance(nodes[-1], Str):
            nodes[-1] = _node(Str, nodes[-1].text + node.text)  # one literal, a shorter formula
        else:
            nodes.append(node)
    if not nodes:
        return Str("")
    out = nodes[0]
    for n in nodes[1:]:
        out = _node(Bin, "&", out, n)
    return out


def cmp(op: str, left: ExprLike, right: ExprLike) -> Bin:
    """Build a comparison node; ``op`` is one of = <> < <= > >=."""
    if op not in _COMPARE:
        raise ValueError(f"not a comparison: {op}")
    return _node(Bin, op, lift(left), lift(right))


def if_(cond: Expr, then: ExprLike, other: ExprLike) -> Call:
    """``IF(cond, then, other)``."""
    return call("IF", cond, then, other)


# ---------------------------------------------------------------------------
# Python evaluation
# ---------------------------------------------------------------------------

_PRECISION = 34  # well beyond Excel's 15 digits, so half-way cases are exact
#: The rounding helpers pass their context to ``quantize``/``normalize`` rather than enter
#: ``localcontext`` on every call (they run for every number of every sentence); the same
#: digits, rounding and traps as a local copy of the default context with 34 digits.
_CONTEXT = Context(prec=_PRECISION)
_POWERS: dict[int, Decimal] = {}


def _power(n: int) -> Decimal:
    """``Decimal(1).scaleb(n)`` (1En), kept for the few exponents rounding uses."""
    got = _POWERS.get(n)
    if got is None:
        got = Decimal(1).scaleb(n, _CONTEXT)
        if len(_POWERS) < 4096:
            _POWERS[n] = got
    return got


def _digits(prec: int) -> Context:
    """A context of ``prec`` digits, at least 34."""
    return _CONTEXT if prec <= _PRECISION else Context(prec=prec)


def round_half_up(value: Decimal, places: int) -> Decimal:
    """Round like Excel's ROUND: half away from zero, at ``places`` decimals."""
    # Enough digits for the rounded result, however large (else quantize raises).
    context = _digits(value.adjusted() + places + 2)
    return value.quantize(_power(-places), rounding=ROUND_HALF_UP, context=context)


def excel_round(value: Decimal, places: int) -> Decimal:
    """ROUND as Excel and LibreOffice compute it.

    They hold doubles and round the number as it displays to 15 significant
    digits, so 32.77499999999997499… (from counts near 10¹²) rounds to 32.78
    there.  Below that precision this is exactly :func:`round_half_up`.
    """
    if value == 0:
        return round_half_up(value, places)
    shown = value.quantize(_power(value.adjusted() - 14), rounding=ROUND_HALF_EVEN, context=_CONTEXT)
    return round_half_up(shown, places)


def _num(v: Value, fn: str) -> Decimal:
    if isinstance(v, CellError):
        raise ExprError(f"{v.code} in {fn}")
    if isinstance(v, bool):
        return Decimal(int(v))
    if v is None:
        return Decimal(0)  # a blank cell counts as 0 in arithmetic, as in Excel
    if isinstance(v, Decimal):
        return v
    raise ExprError(f"#VALUE! in {fn}: {v!r}")


def _compare(op: str, a: Value, b: Value) -> bool:
    if isinstance(a, CellError) or isinstance(b, CellError):
        raise ExprError("error value in a comparison")
    a = "" if a is None else a
    b = "" if b is None else b
    # Excel orders numbers < text < booleans; only like-typed values are equal.
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        key_a, key_b = ra, rb
    elif isinstance(a, str):
        key_a, key_b = a.casefold(), b.casefold()  # type: ignore[union-attr]
    else:
        key_a, key_b = a, b
    return _COMPARE[op](key_a, key_b)


def _rank(v: Value) -> int:
    return 2 if isinstance(v, bool) else 0 if isinstance(v, Decimal) else 1


_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "=": lambda x, y: x == y,
    "<>": lambda x, y: x != y,
    "<": lambda x, y: x < y,  # type: ignore[operator]
    "<=": lambda x, y: x <= y,  # type: ignore[operator]
    ">": lambda x, y: x > y,  # type: ignore[operator]
    ">=": lambda x, y: x >= y,  # type: ignore[operator]
}


def _truth(v: Value) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, Decimal):
        return v != 0
    if v is None:
        return False
    raise ExprError(f"#VALUE! as condition: {v!r}")


def evaluate(expr: Expr, env: Mapping[str, Value]) -> Value:
    """Evaluate ``expr`` with Excel semantics; ``env`` maps reference names to values."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return _eval(expr, env)


@contextmanager
def decimal_context() -> Iterator[None]:
    """The decimal context every evaluation runs in (34 digits, beyond Excel's 15)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        yield


def _arith(op: str, a: Value, b: Value) -> Decimal:
    x, y = _num(a, op), _num(b, op)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if y == 0:
        raise ExprError("#DIV/0!")
    return x / y


def _eval(e: Expr, env: Mapping[str, Value]) -> Value:
    t = type(e)  # the most frequent first: a walk visits references and calls most
    if t is Ref:
        return env.get(e.name)  # type: ignore[attr-defined]
    if t is Call:
        return _call(e, env)  # type: ignore[arg-type]
    if t is Bin:
        op = e.op  # type: ignore[attr-defined]
        a, b = _eval(e.left, env), _eval(e.right, env)  # type: ignore[attr-defined]
        if op in _COMPARE:
            return _compare(op, a, b)
        if op == "&":
            return as_text(a) + as_text(b)
        return _arith(op, a, b)
    if t is Num:
        return e.value  # type: ignore[attr-defined]
    if t is Str:
        return e.text  # type: ignore[attr-defined]
    raise TypeError(f"unknown node {e!r}")


def _call(e: Call, env: Mapping[str, Value]) -> Value:
    fn, args = e.fn, e.args
    if fn == "IF":
        branch = args[1] if _truth(_eval(args[0], env)) else args[2]
        return _eval(branch, env)
    if fn == "IFERROR":
        try:
            got = _eval(args[0], env)
        except ExprError:
            return _eval(args[1], env)
        return _eval(args[1], env) if isinstance(got, CellError) else got
    return _apply(fn, [_eval(a, env) for a in args])


def _apply(fn: str, vals: list[Value]) -> Value:
    """A non-lazy function on its evaluated arguments."""
    test = _IS.get(fn)
    if test is not None:
        return test(vals[0])
    for v in vals:
        if isinstance(v, CellError):
            raise ExprError(f"error value in {fn}")
    if fn == "AND":
        return all(_truth(v) for v in vals)
    if fn == "NOT":
        return not _truth(vals[0])
    if fn == "LEFT":
        return as_text(vals[0])[: int(_num(vals[1], fn))]
    if fn == "TRIM":
        return _trim(as_text(vals[0]))
    if fn == "SUBSTITUTE":
        return _substitute(as_text(vals[0]), as_text(vals[1]), as_text(vals[2]))
    if fn == "EXACT":
        return as_text(vals[0]) == as_text(vals[1])
    if fn == "TEXT":
        return excel_text(_num(vals[0], fn), str(vals[1]))
    if fn == "ABS":
        return abs(_num(vals[0], fn))
    if fn == "OR":
        return any(_truth(v) for v in vals)
    if fn == "ROUND":
        return excel_round(_num(vals[0], fn), int(_num(vals[1], fn)))
    if fn == "INT":
        return _num(vals[0], fn).to_integral_value(rounding="ROUND_FLOOR")
    if fn == "MIN":
        return min(_num(v, fn) for v in vals)
    if fn == "MAX":
        return max(_num(v, fn) for v in vals)
    if fn == "CHOOSE":
        index = int(_num(vals[0], fn))
        if not 1 <= index < len(vals):
            raise ExprError("#VALUE! in CHOOSE")
        return vals[index]
    raise ExprError(f"unsupported function {fn}")


def _trim(text: str) -> str:
    """Excel's TRIM: runs of spaces made one, none at either end (other white space stays)."""
    return " ".join(filter(None, text.split(" ")))


def _substitute(text: str, old: str, new: str) -> str:
    """Excel's SUBSTITUTE of every ``old`` (an empty ``old`` changes nothing)."""
    return text.replace(old, new) if old else text


_IS: dict[str, Callable[[Value], bool]] = {
    # ISNUMBER is false for booleans, as in Excel (LibreOffice says true: formulas add NOT(ISLOGICAL())).
    "ISNUMBER": lambda v: isinstance(v, Decimal),
    "ISLOGICAL": lambda v: isinstance(v, bool),
    "ISTEXT": lambda v: isinstance(v, str),
    "ISBLANK": lambda v: v is None,
    "ISERROR": lambda v: isinstance(v, CellError),
    # A formula typed into an input reaches the engine as its text (openpyxl, UNO and the
    # .ods reader show it so); a text cell that starts with "=" is no number either.
    "ISFORMULA": lambda v: isinstance(v, str) and v.startswith("="),
}

#: Functions newer than Excel 2007 are stored in a file with the ``_xlfn.`` prefix;
#: without it Excel and LibreOffice both show #NAME?.  Clients show them without it.
FILE_NAMES = {"ISFORMULA": "_xlfn.ISFORMULA"}


def as_text(v: Value) -> str:
    """A value as Excel's ``&`` and ``EXACT`` turn it into text (numbers to 15 digits)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, Decimal):
        if v == 0:
            return "0"
        shown = v.quantize(_power(v.adjusted() - 14), rounding=ROUND_HALF_EVEN, context=_CONTEXT)
        return format_number(shown)
    if isinstance(v, CellError):
        raise ExprError(f"{v.code} as text")
    return v


def excel_text(value: Decimal, fmt: str) -> str:
    """``TEXT(value, fmt)`` for the formats the sentences use: ``#,##0`` and ``#,##0.##…``.

    Rounds half away from zero like Excel; ``#`` decimals drop trailing zeros (a
    bare trailing point stays, as in Excel: callers print whole numbers with ``#,##0``).
    """
    whole_fmt, frac_fmt, places, required = _text_format(fmt)
    rounded = excel_round(value, places)
    sign = "-" if rounded < 0 else ""
    digits = format(abs(rounded), "f")
    whole, _, frac = digits.partition(".")
    if whole_fmt == "#,##0":
        whole = f"{int(whole):,}"
    frac = frac.ljust(places, "0")
    while len(frac) > required and frac.endswith("0"):
        frac = frac[:-1]
    point = "." if frac_fmt else ""
    return f"{sign}{whole}{point}{frac}"


@functools.lru_cache(maxsize=64)
def _text_format(fmt: str) -> tuple[str, str, int, int]:
    """A TEXT format read once: whole part, decimals part, decimals, decimals required."""
    whole_fmt, _, frac_fmt = fmt.partition(".")
    if whole_fmt not in ("#,##0", "0") or set(frac_fmt) - {"#", "0"}:
        raise ExprError(f"unsupported TEXT format {fmt!r}")
    return whole_fmt, frac_fmt, len(frac_fmt), frac_fmt.count("0")


# ---------------------------------------------------------------------------
# Excel rendering
# ---------------------------------------------------------------------------


def format_number(d: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros (``12.50`` → ``12.5``)."""
    text = format(d.normalize(_digits(len(d.as_tuple().digits))), "f")  # normalize() must not round
    return "0" if text in ("-0", "") else text


#: Marks a reference in a rendered template (no formula holds a NUL: XML cannot carry one).
_MARK = "\x00"
_MARKED = re.compile(f"{_MARK}([^{_MARK}]*){_MARK}")


def to_excel(expr: Expr, ref: Callable[[str], str]) -> str:
    """Render ``expr`` as Excel formula text (without the leading ``=``).

    ``ref`` maps a reference name to what the formula should say for it: a
    defined name or a cell address.  The text around the references is rendered
    once per (interned) node and kept on it; only the references are filled in here.
    """
    template = _template(expr)
    if _MARK not in template:
        return template
    return _MARKED.sub(lambda m: ref(m.group(1)), template)


def _template(expr: Expr) -> str:
    """The node's formula text with each reference marked, rendered once and kept on the node."""
    template = expr.__dict__.get("_excel")
    if template is None:
        template = _render(expr)
        object.__setattr__(expr, "_excel", template)
    return template


def _render(expr: Expr) -> str:
    if isinstance(expr, Num):
        return format_number(expr.value)
    if isinstance(expr, Str):
        # Excel refuses a text literal over 255 characters: join shorter pieces.
        text = expr.text
        pieces = [text[i : i + MAX_LITERAL] for i in range(0, len(text), MAX_LITERAL)] or [""]
        quoted = ['"' + p.replace('"', '""') + '"' for p in pieces]
        return quoted[0] if len(quoted) == 1 else "(" + "&".join(quoted) + ")"
    if isinstance(expr, Ref):
        return f"{_MARK}{expr.name}{_MARK}"
    if isinstance(expr, Bin):
        # Always parenthesise: Excel's precedence (e.g. unary minus) is a trap.
        return f"({_template(expr.left)}{expr.op}{_template(expr.right)})"
    if isinstance(expr, Call):
        name = FILE_NAMES.get(expr.fn, expr.fn)
        return f"{name}(" + ",".join(_template(a) for a in expr.args) + ")"
    raise TypeError(f"unknown node {expr!r}")


def refs(expr: Expr) -> set[str]:
    """All reference names that ``expr`` uses."""
    if isinstance(expr, Ref):
        return {expr.name}
    if isinstance(expr, Bin):
        return refs(expr.left) | refs(expr.right)
    if isinstance(expr, Call):
        out: set[str] = set()
        for a in expr.args:
            out |= refs(a)
        return out
    return set()
