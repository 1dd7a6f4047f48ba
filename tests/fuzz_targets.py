"""Fuzz targets and mutation strategies shared by tests/test_fuzz.py and tools/fuzz.py.

Two contracts are fuzzed:

* a workbook's bytes, mutated (bytes flipped, truncated, inserted, or one zip member's
  XML damaged and the zip rebuilt), through :class:`~workbook.form.book.FileBook` and
  :class:`~workbook.books.calamine.CalamineBook` and ``calculate(write=False)``: each either
  succeeds or raises :class:`~workbook.formats.files.WorkbookFileError`, nothing else;
* plan text, mutated from the embedded plan or arbitrary, through
  :func:`kpi_engine.parse_plan` (and arbitrary bytes through :func:`kpi_engine.load_plan`):
  a :class:`~kpi_engine.Plan` or :class:`~kpi_engine.PlanError`, nothing else.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

from hypothesis import strategies as st

from kpi_engine import Plan, PlanError, load_plan, parse_plan
from kpi_engine.plan_loader import default_plan_path

#: Fragments a hostile or clumsy edit puts into an XML part.
XML_SNIPPETS = [
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>',
    b"&a;",
    b"&#0;",
    b"<",
    b">",
    b'"',
    b"</sheetData>",
    b'<c r="XFD1048576"><v>1</v></c>',
    b'<c r="A1" t="e"><v>#REF!</v></c>',
    b'<c r="C12" t="s"><v>99999</v></c>',
    b'<definedName name="IN_x">#REF!$C$12</definedName>',
    b'<dimension ref="A1:XFD1048576"/>',
    b'<row r="0">',
    b"\xff\xfe",
    b"\x00",
    b"\xe4\xb8",
]
#: Fragments of YAML syntax and plan vocabulary.
YAML_SNIPPETS = [
    ": ",
    "- ",
    "\t",
    "&a ",
    "*a",
    "!!python/object:os.system ",
    "!!binary ",
    "{",
    "}",
    "[",
    "]",
    "'",
    '"',
    "%",
    "≤",
    "%YAML 1.1\n",
    "---\n",
    "kind: growth",
    "kind: milestone",
    "target: ≤0",
    "target: 0%",
    "weight: -5",
    "weight: 1e400",
    "decimals: 99",
    "year: 0",
    "id: 二",
    "inputs: {}",
    "periods: []",
    "\n  ",
    "\x00",
    "\ufeff",
]


@functools.lru_cache(maxsize=1)
def small_workbook() -> bytes:
    """A small calculated workbook (two indicators, one period) as bytes: the fuzzing seed."""
    from plan_factory import indicator, make_plan

    from workbook.books.file import FileBook
    from workbook.demo import fill
    from workbook.form import layout as L
    from workbook.form.builder import write_template
    from workbook.form.calculate import calculate

    plan = make_plan(indicator("k1", "ratio", "80%"), indicator("k2", "count", "≤100"))
    scope = L.Scope(plan, period_id="H1", unit="測試科")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(scope, Path(tmp) / "small.xlsx")
        book = FileBook(path)
        fill(book, scope, {"H1": {"k1": {"numerator": 8, "denominator": 10}, "k2": {"count": 7}}})
        calculate(book, now=datetime(2018, 7, 10, 9, 30))
        book.save()
        return canonical(path.read_bytes())


def canonical(data: bytes) -> bytes:
    """The same package with fixed timestamps, so a mutation found once can be replayed."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            part = zin.read(info)
            if info.filename == "docProps/core.xml":
                part = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2018-07-10T01:30:00Z", part)
            zout.writestr(
                zipfile.ZipInfo(info.filename, date_time=(2018, 7, 10, 9, 30, 0)), part, zipfile.ZIP_DEFLATED
            )
    return out.getvalue()


@functools.lru_cache(maxsize=1)
def plan_text() -> str:
    return default_plan_path().read_text(encoding="utf-8")


# -- workbook mutations ---------------------------------------------------------------------


def _flip(data: bytes, spots: list[tuple[float, int]]) -> bytes:
    out = bytearray(data)
    if not out:
        return data
    for where, mask in spots:
        i = min(int(where * len(out)), len(out) - 1)
        out[i] ^= mask
    return bytes(out)


def _insert(data: bytes, where: float, blob: bytes) -> bytes:
    i = int(where * len(data))
    return data[:i] + blob + data[i:]


def _member(data: bytes, index: int, where: float, cut: int, blob: bytes) -> bytes:
    """Damage one member's uncompressed content (cut bytes, insert ``blob``) and rebuild the zip."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    infos = zin.infolist()
    target = infos[index % len(infos)].filename
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in infos:
            part = zin.read(info)
            if info.filename == target:
                i = int(where * len(part))
                part = part[:i] + blob + part[i + cut :]
            zout.writestr(info.filename, part)
    return out.getvalue()


positions = st.floats(0, 1, allow_nan=False, exclude_max=True)
blobs = st.one_of(st.sampled_from(XML_SNIPPETS), st.binary(max_size=64))

flips = st.lists(st.tuples(positions, st.integers(1, 255)), min_size=1, max_size=16).map(
    lambda spots: ("flip", spots)
)
truncations = positions.map(lambda where: ("truncate", where))
insertions = st.tuples(positions, blobs).map(lambda t: ("insert", *t))
member_damage = st.tuples(st.integers(0, 63), positions, st.integers(0, 64), blobs).map(
    lambda t: ("member", *t)
)
#: One or two mutations of a workbook's bytes.
mutations = st.lists(st.one_of(flips, truncations, insertions, member_damage), min_size=1, max_size=2)


def mutate(data: bytes, steps: list[tuple]) -> bytes:
    """Apply mutation steps (as drawn from :data:`mutations`) to workbook bytes."""
    for step in steps:
        kind, *args = step
        if kind == "flip":
            data = _flip(data, *args)
        elif kind == "truncate":
            data = data[: int(args[0] * len(data))]
        elif kind == "insert":
            data = _insert(data, *args)
        else:
            with contextlib.suppress(Exception):  # an earlier step broke the zip: keep the bytes
                data = _member(data, *args)
    return data


def read_with_filebook(data: bytes, folder: Path) -> None:
    """FileBook + calculate(write=False): returns, or raises WorkbookFileError only."""
    from workbook.books.file import FileBook
    from workbook.form.calculate import calculate

    path = folder / "fuzz.xlsx"
    path.write_bytes(data)
    calculate(FileBook(path), write=False)


def read_with_calamine(data: bytes) -> None:
    """CalamineBook + calculate(write=False): returns, or raises WorkbookFileError only."""
    from workbook.books.calamine import CalamineBook
    from workbook.form.calculate import calculate

    calculate(CalamineBook(data, "fuzz.xlsx"), write=False)


# -- plan mutations --------------------------------------------------------------------------

text_edits = st.lists(
    st.one_of(
        st.tuples(st.just("delete"), positions, st.integers(1, 200)),
        st.tuples(
            st.just("insert"), positions, st.one_of(st.sampled_from(YAML_SNIPPETS), st.text(max_size=20))
        ),
        st.tuples(st.just("duplicate"), positions, st.integers(1, 400)),
        st.tuples(st.just("swap_lines"), positions, positions),
    ),
    min_size=1,
    max_size=6,
)


def edit_text(text: str, edits: list[tuple]) -> str:
    for kind, where, arg in edits:
        i = int(where * len(text))
        if kind == "delete":
            text = text[:i] + text[i + arg :]
        elif kind == "insert":
            text = text[:i] + arg + text[i:]
        elif kind == "duplicate":
            text = text[:i] + text[i : i + arg] + text[i:]
        else:
            lines = text.split("\n")
            a, b = int(where * len(lines)), int(arg * len(lines))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


def parse_or_plan_error(text: str) -> Plan | None:
    """parse_plan: a Plan, or None for a PlanError; anything else propagates."""
    try:
        return parse_plan(text, source="fuzz.yaml")
    except PlanError:
        return None


def load_bytes_or_plan_error(data: bytes, folder: Path) -> Plan | None:
    path = folder / "fuzz.yaml"
    path.write_bytes(data)
    try:
        return load_plan(path)
    except PlanError:
        return None


# -- known bugs -----------------------------------------------------------------------------------

#: Exceptions that escape today, by (exception type, file of the innermost project frame):
#: each is a reported bug with a deterministic strict xfail (tests/test_hostile.py, tests/test_fuzz.py).
KNOWN_BUGS: dict[tuple[str, str], str] = {}  # every escape found so far is fixed; see the tests


def signature(exc: BaseException) -> tuple[str, str, int]:
    """(exception type, project file, line) of the innermost frame in workbook/ or kpi_engine/."""
    import traceback

    kind = f"{type(exc).__module__}.{type(exc).__name__}".removeprefix("builtins.")
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if "/workbook/" in f.filename or "/kpi_engine/" in f.filename
    ]
    if not frames:
        return kind, "?", 0
    f = frames[-1]
    path = f.filename.replace("\\", "/")
    return kind, path[path.rindex("/", 0, path.rindex("/")) + 1 :], f.lineno or 0


def known_bug(exc: BaseException) -> str | None:
    kind, path, _ = signature(exc)
    return KNOWN_BUGS.get((kind, path))


def undefined_entity(data: bytes, part: str | None = None) -> bytes:
    """A worksheet (``part``, default the first) with an undefined entity (&lol9;) in a new cell:
    no DTD for the guard to see."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    sheet = part or next(i.filename for i in zin.infolist() if i.filename.startswith("xl/worksheets/"))
    cell = b'<row r="200"><c r="A200" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    return _rezip(data, sheet, lambda xml: xml.replace(b"</sheetData>", cell + b"</sheetData>", 1))


def damaged_deflate(data: bytes) -> bytes:
    """The first worksheet's compressed bytes with the first change that makes inflating fail."""
    import zlib

    zin = zipfile.ZipFile(io.BytesIO(data))
    info = next(i for i in zin.infolist() if i.filename.startswith("xl/worksheets/"))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + info.compress_size // 4, start + info.compress_size):
        trial = bytearray(data)
        trial[i] ^= 0x55
        try:
            zlib.decompressobj(-15).decompress(bytes(trial[start : start + info.compress_size]))
        except zlib.error:
            return bytes(trial)
    raise AssertionError("no damaging byte found")


def _rezip(data: bytes, name: str, fn) -> bytes:
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            part = zin.read(info)
            zout.writestr(info.filename, fn(part) if info.filename == name else part)
    return out.getvalue()
