"""The package's layers (docs/decisions.md, "Layout"), checked on the source with ``ast``.

Every ``import`` and ``from … import`` in kpi_engine/, workbook/ and macros/ counts —
module level, inside functions, under ``if TYPE_CHECKING:``, relative or absolute —
so an import circle cannot hide in a function.  A module may import only from its
own layer or lower ones; the graph of the project's own modules has no cycle; the
engine imports no spreadsheet or file-format library.  (Importing ``a.b`` also runs
``a/__init__.py``; that implicit step is no edge here, only imports written in a file are.)
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("kpi_engine", "workbook", "macros")

#: Bottom to top; the same table is in docs/decisions.md ("Layout").  A file belongs to the
#: longest entry that names it: a folder (``…/``) holds everything below it.  Every file of
#: kpi_engine/, workbook/ and macros/ must belong to one.
LAYERS: tuple[tuple[str, ...], ...] = (
    # 0 the domain: plan, measures, labels, checks, narrative, evaluation
    ("kpi_engine/",),
    # 1 bytes and processes, nothing about the KPI form
    (
        "workbook/__init__.py",
        "workbook/errors.py",
        "workbook/interrupts.py",
        "workbook/outputs.py",
        "workbook/formats/",
        "workbook/cliparse.py",
        "workbook/libreoffice.py",
    ),
    # 2 the KPI form over the Book protocol
    ("workbook/form/",),
    # 3 one adapter per medium; plans from and to spreadsheets and documents
    ("workbook/books/", "workbook/plan_io/"),
    # 4 reading submissions; the two buttons
    ("workbook/collect/", "workbook/buttons/"),
    # 5 reports, summary, charts, archive
    ("workbook/report/",),
    # 6 entry points
    ("workbook/odf.py", "workbook/demo.py", "workbook/cli.py"),
    # 7 the shim the Excel add-in's VBA imports
    ("macros/",),
)

#: Libraries the engine never imports (it is the domain: no spreadsheet, no file format).
ENGINE_FORBIDDEN = (
    "openpyxl",
    "python_calamine",
    "xlsxwriter",
    "xlwings",
    "odf",
    "docx",
    "lxml",
    "defusedxml",
    "extract_msg",
    "tnefparse",
    "uno",
    "unohelper",
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def _sources() -> dict[str, Path]:
    """Every project module by dotted name."""
    out: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def _imports(name: str, is_package: bool, source: bytes | str) -> list[str]:
    """Every module the source of ``name`` imports, anywhere in it, relative ones resolved.

    ``from a import b`` counts as ``a.b`` where that is a project module, else as ``a``.
    """
    modules = _sources()
    package = name if is_package else name.rpartition(".")[0]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append(sub if sub in modules else target)
    return found


@functools.cache
def _graph() -> dict[str, frozenset[str]]:
    """Project module → every module it imports (third-party ones included)."""
    return {
        name: frozenset(_imports(name, path.name == "__init__.py", path.read_bytes()))
        for name, path in _sources().items()
    }


def _own(target: str) -> str | None:
    """The project module ``target`` names (``workbook.form.book.at`` → ``workbook.form.book``)."""
    modules = _sources()
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def _layer_of(rel: str) -> int | None:
    """The layer of a file (``workbook/form/book.py``), or None when the table names none."""
    best: tuple[int, int] | None = None
    for level, entries in enumerate(LAYERS):
        for entry in entries:
            named = rel.startswith(entry) if entry.endswith("/") else rel == entry
            if named and (best is None or len(entry) > best[0]):
                best = (len(entry), level)
    return None if best is None else best[1]


def _layer(module: str) -> int | None:
    return _layer_of(_sources()[module].relative_to(REPO).as_posix())


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, targets in _graph().items():
        own = {_own(t) for t in targets}
        edges[name] = {t for t in own if t is not None and t != name}
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as one circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(_circle(sorted(component), edges))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _circle(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One concrete circle through the component's first module: a → b → … → a."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & members):
            if w == start:
                return [*paths[v], start]
            if w not in paths:
                paths[w] = [*paths[v], w]
                queue.append(w)
    return component  # unreachable: a component is strongly connected


def test_every_module_has_a_layer():
    missing = sorted(str(path.relative_to(REPO)) for m, path in _sources().items() if _layer(m) is None)
    assert not missing, "files in no layer (add them to LAYERS and to docs/decisions.md):\n" + "\n".join(
        missing
    )


def test_no_import_cycles():
    cycles = _cycles(_edges())
    assert not cycles, "import circles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_no_import_from_a_higher_layer():
    bad = []
    for name, targets in sorted(_edges().items()):
        own = _layer(name)
        for target in sorted(targets):
            theirs = _layer(target)
            if own is not None and theirs is not None and theirs > own:
                bad.append(f"{_sources()[name].relative_to(REPO)} (layer {own}) → {target} (layer {theirs})")
    assert not bad, "imports from a higher layer:\n" + "\n".join(bad)


def test_engine_imports_no_file_format_or_workbook():
    bad = []
    for name, targets in sorted(_graph().items()):
        if _layer(name) != 0:
            continue
        for target in sorted(targets):
            top = target.split(".")[0]
            if top in ("workbook", "macros") or top in ENGINE_FORBIDDEN:
                bad.append(f"{_sources()[name].relative_to(REPO)} → {target}")
    assert not bad, "kpi_engine imports a workbook module or a file-format library:\n" + "\n".join(bad)


def test_the_table_is_the_one_in_decisions():
    """docs/decisions.md's Layout section names the same folders and files, layer by layer."""
    text = (REPO / "docs" / "decisions.md").read_text(encoding="utf-8")
    assert "\n## Layout\n" in text, "docs/decisions.md has no Layout section"
    section = text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    items: list[str] = []  # one numbered item each, its indented lines joined
    for line in section.splitlines():
        if re.match(r"\d+\. ", line):
            items.append(line)
        elif items and line.startswith(" ") and line.strip():
            items[-1] += " " + line.strip()
    assert [item.split(".", 1)[0] for item in items] == [str(n) for n in range(len(LAYERS))]
    for level, (item, entries) in enumerate(zip(items, LAYERS, strict=True)):
        head = item.split(" — ", 1)[0]  # what the layer holds; the rest describes it
        named = re.findall(r"`([^`]+)`", head)
        assert sorted(named) == sorted(entries), f"docs/decisions.md layer {level}: {named} ≠ {entries}"


def test_the_checks_find_what_they_look_for():
    """Imports anywhere in a file, relative ones resolved; circles; the layer of each kind of entry."""
    source = (
        "from . import mail\n"
        "from .item import Item\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from kpi_engine.plan import Plan\n"
        "def f():\n"
        "    from ..form import book\n"
        "    import openpyxl.cell\n"
    )
    assert sorted(_imports("workbook.collect.inbox", False, source)) == [
        "kpi_engine.plan",
        "openpyxl.cell",
        "typing",
        "workbook.collect.item",
        "workbook.collect.mail",
        "workbook.form.book",
    ]
    assert _imports("workbook.collect", True, "from .item import Item") == ["workbook.collect.item"]
    assert _own("workbook.form.book.at") == "workbook.form.book"
    assert _own("openpyxl") is None
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert _layer_of("kpi_engine/measures.py") == 0
    assert _layer_of("workbook/__init__.py") == 1
    assert _layer_of("workbook/formats/cells.py") == 1
    assert _layer_of("workbook/form/book.py") == 2
    assert _layer_of("workbook/report/archive.py") == 5
    assert _layer_of("workbook/cli.py") == 6
    assert _layer_of("macros/__init__.py") == 7
    assert _layer_of("workbook/nothing.py") is None
    assert _layer_of("workbook/formatsx/a.py") is None
