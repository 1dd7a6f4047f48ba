"""What ``kpi calculate`` pays before its work (issue 24: the seed within 3× the floor).

The costs themselves are measured by ``python -m bench`` (never timed here); these tests
pin what keeps them down: the modules a calculate of an .xlsx loads, the one parser it
builds, and the plan's YAML read in one pass when it cannot hold an alias.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_engine import PlanError, load_plan, parse_plan, plan_loader
from workbook import cli, cliparse

#: Never loaded by a calculate of an .xlsx: the whole-workbook reader and writers, the
#: terminal library, the schema validator (the workbook's plan carries its fingerprint),
#: the other formats' libraries, and the parts of the package other commands use.
NOT_ON_THE_PATH = (
    "openpyxl",
    "xlsxwriter",
    "rich",
    "jsonschema",
    "odf",
    "docx",
    "xlwings",
    "defusedxml",
    "workbook.collect",
    "workbook.plan_io.authoring",
    "workbook.report.summary",
    "yaml",  # the plan is read from its JSON copy
)

#: Not loaded by a calculate itself either (a site ``.pth`` file may load them before it):
#: the package's resources (they bring tempfile and more; the plan is read from the workbook).
NOT_LOADED_BY_CALCULATE = ("importlib.resources",)


def _loaded(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """``kpi ARGS`` as pip's console script runs it, and the modules it had loaded at exit."""
    modules = tmp_path / "modules.json"
    script = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: json.dump(sorted(m for m, v in sys.modules.items() if v), open({str(modules)!r}, 'w')))\n"
        "from workbook.cli import main\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120)
    return done, set(json.loads(modules.read_text(encoding="utf-8")))


def _any_of(loaded: set[str], names: tuple[str, ...]) -> set[str]:
    return {m for m in loaded for name in names if m == name or m.startswith(name + ".")}


def test_calculate_of_an_xlsx_loads_none_of_the_other_commands_libraries(tmp_path: Path) -> None:
    book = tmp_path / "填報.xlsx"
    assert cli.main(["template", "-o", str(book)]) == 0
    done, loaded = _loaded(tmp_path, "calculate", str(book))
    assert done.returncode in (0, 1), done.stderr
    assert "已儲存 / saved" in done.stdout
    assert {"workbook.form.calculate", "workbook.books.xlsx_file", "python_calamine"} <= loaded
    assert not _any_of(loaded, NOT_ON_THE_PATH)
    before = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert not _any_of(loaded - set(json.loads(before.stdout)), NOT_LOADED_BY_CALCULATE)


def test_collect_into_an_xlsx_summary_loads_no_openpyxl_yaml_or_schema(tmp_path: Path) -> None:
    """The summary is written with XlsxWriter in the house style (plain records, not openpyxl's
    objects), and the embedded default plan is read from its shipped copy: openpyxl (with
    numpy) and the plan's YAML and schema were 0.16 CPU-s of every collect (issue 24)."""
    book = tmp_path / "回收.xlsx"
    assert cli.main(["template", "-o", str(book)]) == 0
    done, loaded = _loaded(tmp_path, "collect", str(book), "-o", str(tmp_path / "彙整.xlsx"))
    assert done.returncode in (0, 1), done.stderr
    assert (tmp_path / "彙整.xlsx").is_file()
    assert {"workbook.collect", "workbook.report.summary", "xlsxwriter"} <= loaded
    assert not _any_of(loaded, ("openpyxl", "numpy", "yaml", "jsonschema"))


def test_the_shipped_copy_of_the_default_plan_is_current() -> None:
    """``templates/…copy.json`` is what ``tools/plan_copy.py`` writes from the YAML now."""
    path = plan_loader.default_plan_path()
    validated = parse_plan(path.read_text(encoding="utf-8-sig"), source=str(path))  # in full
    shipped = (path.parent / plan_loader.DEFAULT_PLAN_COPY).read_text(encoding="utf-8")
    assert shipped == plan_loader.shipped_plan_copy(validated), "run: python tools/plan_copy.py"
    assert load_plan() == validated


def test_the_shipped_copy_is_ignored_once_the_yaml_is_edited() -> None:
    path = plan_loader.default_plan_path()
    text = path.read_text(encoding="utf-8-sig")
    assert plan_loader._shipped_plan(text, str(path)) == load_plan()
    edited = text.replace("password: null", "password: abc")
    assert edited != text
    assert plan_loader._shipped_plan(edited, str(path)) is None  # read and validated as any plan


def test_only_the_chosen_subcommand_is_built() -> None:
    parser = cli.build_parser()
    args = parser.parse_args(["calculate", "x.xlsx", "--all"])
    assert (args.func, args.file, args.all, args.engine) == (cli.cmd_calculate, "x.xlsx", True, "openpyxl")
    (commands,) = [a for a in parser._actions if isinstance(a, cliparse._SubCommands)]
    built = {name for name, p in dict.items(commands.choices) if not isinstance(p, cliparse._Pending)}
    assert built == {"calculate"}
    # every name and help line is there from the start: the help and an invalid choice list them all
    assert list(commands.choices) == [
        "plan",
        "compute",
        "template",
        "calculate",
        "check",
        "addin",
        "collect",
        "report",
        "demo",
    ]
    with pytest.raises(cliparse.ArgumentUsageError) as err:
        cli.build_parser().parse_args(["calculat", "x.xlsx"])
    assert "invalid choice: 'calculat' (choose from 'plan', 'compute', 'template', 'calculate'" in str(
        err.value
    )


def test_a_dash_file_hint_still_knows_every_subcommands_options() -> None:
    parser = cli.build_parser()
    assert cliparse.dash_file_hint(["calculate", "--csv-lang"], parser) is None  # collect's option
    assert "kpi calculate -- -報表.xlsx" in cliparse.dash_file_hint(["calculate", "-報表.xlsx"], parser)


def test_a_plan_without_an_alias_is_read_in_one_pass(monkeypatch) -> None:
    embedded = load_plan()
    assert not plan_loader._may_alias(embedded.text)  # its 「…人數*100%」 start no alias
    import yaml

    passes = []
    real = yaml.parse
    monkeypatch.setattr(yaml, "parse", lambda *a, **k: passes.append(1) or real(*a, **k))
    assert parse_plan(embedded.text, embedded.source, fingerprint=embedded.fingerprint) == embedded
    assert passes == []


def _outcome(text: str) -> list[str]:
    try:
        parse_plan(text)
    except PlanError as exc:
        return [i.code for i in exc.issues]
    return []


@pytest.mark.parametrize(
    ("alias", "codes"),
    [
        ("password: &p null\nx_alias: *p", ["yaml_alias"]),
        ("password: &p null\nx_alias: [1,*p]", ["yaml_alias"]),
        ("password: &p null\nx_alias: {a: *p}", ["yaml_alias"]),
        ("password: &p null\nx_alias:\n  - *p", ["yaml_alias"]),
        ('password: &p null\nx_alias: ["a",*p]', ["yaml_alias"]),
        ("password: &p null\nx_alias: {a:*p}", ["schema"]),  # PyYAML reads 「a:*p」 as one word
        ("password: &p null\nx_alias: !!str *p", ["yaml_syntax"]),
        ("password: &p null\nx_alias: 人數*p", ["schema"]),  # inside a word: no alias
    ],
)
def test_the_one_pass_refuses_what_the_two_passes_refused(monkeypatch, alias: str, codes: list[str]) -> None:
    text = load_plan().text
    assert "password: null" in text
    text = text.replace("password: null", alias)
    assert _outcome(text) == codes
    monkeypatch.setattr(plan_loader, "_may_alias", lambda _text: True)  # always the second pass
    assert _outcome(text) == codes


def test_a_plan_copy_is_read_without_pyyaml(tmp_path: Path) -> None:
    embedded = load_plan()
    copy = plan_loader.plan_copy(embedded)
    assert copy is not None and json.loads(copy)["data"]["id"] == embedded.id
    from_copy = parse_plan(embedded.text, "(workbook)", fingerprint=embedded.fingerprint, copy=copy)
    assert from_copy == parse_plan(embedded.text, "(workbook)", fingerprint=embedded.fingerprint)
    (tmp_path / "text.yaml").write_text(embedded.text, encoding="utf-8")
    (tmp_path / "copy.json").write_text(copy, encoding="utf-8")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from kpi_engine import parse_plan\n"
        f"folder = Path({str(tmp_path)!r})\n"
        "text = (folder / 'text.yaml').read_text(encoding='utf-8')\n"
        "copy = (folder / 'copy.json').read_text(encoding='utf-8')\n"
        f"plan = parse_plan(text, '(workbook)', fingerprint={embedded.fingerprint!r}, copy=copy)\n"
        "print(plan.id, 'yaml' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == [embedded.id, "False"], done.stderr


def _read(text: str, fingerprint: str, copy: str | None) -> object:
    try:
        return parse_plan(text, "(workbook)", fingerprint=fingerprint, copy=copy)
    except PlanError as exc:
        return [i.code for i in exc.issues]


def test_a_copy_that_is_not_of_the_text_is_ignored() -> None:
    embedded = load_plan()
    copy = plan_loader.plan_copy(embedded)
    assert copy is not None
    stored = json.loads(copy)
    edited = embedded.text.replace("password: null", "password: abc")  # the text changed after the copy
    other = dict(stored, data={**stored["data"], "title": "別的計畫"})  # the copy's data changed
    for text, bad in (
        (edited, copy),
        (embedded.text, json.dumps(other, ensure_ascii=False)),
        (embedded.text, "{"),
        (embedded.text, "[]"),
        (embedded.text, json.dumps({"text_sha256": stored["text_sha256"], "data": 1})),
    ):
        assert _read(text, embedded.fingerprint, bad) == _read(text, embedded.fingerprint, None)
    assert _read(edited, embedded.fingerprint, copy).fingerprint != embedded.fingerprint  # read from the text


@pytest.mark.parametrize("extra", ["made_on: 2018-01-01", "codes: {1: 一}", "ratio: .nan"])
def test_no_copy_when_json_cannot_hold_the_data_exactly(extra: str) -> None:
    from dataclasses import replace

    embedded = load_plan()
    assert plan_loader.plan_copy(replace(embedded, text=embedded.text + f"\n{extra}\n")) is None
    assert plan_loader.plan_copy(replace(embedded, text="")) is None
