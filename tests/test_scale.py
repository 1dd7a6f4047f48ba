"""Issue 25 (scale): what makes big plans cheap must not change a byte of what is written.

* The .ods patcher builds ``content.xml`` once with a join; its output equals the old
  per-edit splicing on the seed and on a 200-indicator-sized package.
* ``kpi`` run as a one-shot command (``gc.freeze`` after the load and at exit) writes what
  an in-process run writes.
* The Excel add-in's exact command line, with numpy, matplotlib and pandas installed,
  loads none of them.

Speed itself is measured by ``python -m bench``, never here.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from workbook.buttons.common import KEPT_OUT
from workbook.cli import main as kpi
from workbook.formats import ods_patch
from workbook.libreoffice import recalculate, require_soffice

REPO = Path(__file__).resolve().parents[1]


def _old_splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """The algorithm before issue 25: the whole text copied for every edit, last edit first."""
    for start, stop, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[stop:]
    return text


@pytest.fixture(scope="module")
def seed_ods(tmp_path_factory) -> tuple[str, dict]:
    """The seed sample as LibreOffice saves it, and the cells ``kpi calculate`` writes into it."""
    require_soffice()
    from bench.inputs import make
    from workbook.books import ods_write

    paths = make("seed", tmp_path_factory.mktemp("scale-seed"))
    captured = {}
    patch = ods_write.patch_ods

    def capture(data, cells, *content):
        captured.update(cells)
        return patch(data, cells, *content)

    work = paths["ods"].with_name("calculated.ods")
    shutil.copyfile(paths["ods"], work)
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()):
        mp.setattr(ods_write, "patch_ods", capture)
        # every result written, even one LibreOffice's save shows already: the patcher's whole job
        mp.setattr(ods_write, "_shows", lambda held, value: False)
        assert kpi(["calculate", str(work)]) == 0
    assert captured, "calculate did not go through the cell patcher"
    with zipfile.ZipFile(paths["ods"]) as z:
        return z.read("content.xml").decode("utf-8"), captured


def _cloned(xml: str, cells: dict, copies: int) -> tuple[str, dict]:
    """``xml`` with each indicator sheet (and the cells written there) copied ``copies`` times."""
    sheets = {sheet for sheet, _, _ in cells}
    out, extra, pos = [], {}, 0
    for m in re.finditer(r'<table:table table:name="([^"]*)"', xml):
        name = m.group(1)
        end = xml.index("</table:table>", m.start()) + len("</table:table>")
        if not re.match(r"[一二三四五六七八九十]+-\d+ ", name) or name not in sheets:
            continue
        out.append(xml[pos:end])
        table = xml[m.start() : end]
        for n in range(copies):
            clone = f"{name} {n}"
            out.append(table.replace(f'table:name="{name}"', f'table:name="{clone}"', 1))
            extra.update({(clone, r, c): v for (s, r, c), v in cells.items() if s == name})
        pos = end
    out.append(xml[pos:])
    return "".join(out), {**cells, **extra}


@pytest.mark.parametrize("copies", [0, 40], ids=["seed", "200-indicators"])
def test_ods_patch_writes_what_the_old_splicing_wrote(seed_ods, copies, monkeypatch):
    xml, cells = _cloned(*seed_ods, copies)
    assert len({s for s, _, _ in cells}) > 5 * copies  # the copies are written too
    joined = ods_patch.patch_content(xml, cells)
    monkeypatch.setattr(ods_patch, "spliced", _old_splice)
    assert joined == ods_patch.patch_content(xml, cells)
    assert joined != xml and len(cells) > 100


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_the_one_shot_command_writes_what_an_in_process_run_writes(tmp_path):
    from bench.inputs import make

    filled = make("20", tmp_path / "in", ods=False)["xlsx"]
    shell, here = tmp_path / "shell.xlsx", tmp_path / "here.xlsx"
    shutil.copyfile(filled, shell)
    shutil.copyfile(filled, here)
    # As the console script runs it (argv from sys.argv, so one-shot), reporting whether it froze.
    probe = (
        "import gc, sys; from workbook.cli import main; sys.argv = ['kpi', 'calculate', sys.argv[1]];"
        "code = main(); print(gc.get_freeze_count() > 0); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(shell)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("True")  # the loaded workbook was frozen
    with contextlib.redirect_stdout(io.StringIO()):
        assert kpi(["calculate", str(here)]) == 0
    a, b = _members(shell), _members(here)
    assert a.keys() == b.keys()
    # The calculated-at time (its label may be a shared string: XlsxWriter's templates) and
    # the package's modified time: two runs a second apart differ there and only there.
    stamp = re.compile(rb"<t>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</t>|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    for name in a:  # equal but for those times
        assert stamp.sub(b"", a[name]) == stamp.sub(b"", b[name]), name


def test_the_add_in_command_line_loads_no_numpy_matplotlib_or_pandas(tmp_path):
    for name in KEPT_OUT:
        pytest.importorskip(name)  # installed (the test extras), or there is nothing to keep out
    require_soffice()
    from test_button import _filled
    from test_excel_button import _click

    path, _scope = _filled(tmp_path)
    values = recalculate(path, tmp_path / "values.xlsx")
    modules = tmp_path / "modules.json"
    # The console script pip writes for kpi-excel-python, noting what the click loaded at exit.
    launcher = tmp_path / "kpi-excel-python"
    launcher.write_text(
        "import atexit, json, sys\n"
        f"atexit.register(lambda: json.dump(sorted(m for m, v in sys.modules.items() if v), open({str(modules)!r}, 'w')))\n"
        "from workbook.buttons.launch import main\n"
        "sys.exit(main())\n",
        encoding="utf-8",
    )
    report = _click(tmp_path, path, values, [sys.executable, str(launcher)])
    assert report["alerts"][0].startswith("計算完成")  # the click ran to the end
    loaded = set(json.loads(modules.read_text(encoding="utf-8")))
    assert {"xlwings", "workbook.form.calculate", "workbook.books.excel"} <= loaded
    assert not {m for m in loaded if m.split(".")[0] in KEPT_OUT}


def test_keeping_pandas_out_while_xlwings_loads_is_undone_afterwards():
    """The Excel button's main() marks pandas, numpy and matplotlib absent only while xlwings is
    imported: a process that goes on (a test worker) can import them afterwards."""
    import sys

    from workbook.buttons.common import pandas_kept_out

    before = {name: sys.modules.get(name, "absent") for name in KEPT_OUT}
    with pandas_kept_out():
        assert all(sys.modules[name] is None for name in KEPT_OUT if before[name] == "absent")
    assert {name: sys.modules.get(name, "absent") for name in KEPT_OUT} == before


def test_the_bench_compares_one_workbook_in_three_files(tmp_path):
    """``python -m bench`` holds the .ods's calculate to the same workbook saved by LibreOffice as
    .xlsx (one writer, two formats), and shows the template's own .xlsx for scale: all three
    must be the one filled workbook, calculated alike, or the ratios compare different work."""
    require_soffice()
    from bench.inputs import make

    paths = make("seed", tmp_path / "in", libreoffice_xlsx=True)
    results = {}
    for key in ("xlsx", "ods", "lo.xlsx"):
        work = tmp_path / f"work-{key.replace('.', '-')}{paths[key].suffix}"
        shutil.copyfile(paths[key], work)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert kpi(["calculate", str(work), "--json"]) == 0, key
        results[key] = json.loads(printed.getvalue())["indicators"]
    assert results["ods"] == results["xlsx"] == results["lo.xlsx"]
    seen = {(r["indicator"], r["period"]): r for r in results["lo.xlsx"]}
    # the seed's 106 上半年 sample, as Part 4 prints it: 89.05% (187/210), 100% (10/10)
    assert seen["procurement_pass_rate", "H1"]["value"] == 89.05
    assert seen["procurement_pass_rate", "H1"]["inputs"] == {"numerator": 187, "denominator": 210}
    assert seen["e_tender_rate", "H1"]["value"] == 100
    assert seen["e_tender_rate", "H1"]["inputs"] == {"numerator": 10, "denominator": 10}
