"""The 計算 button for Excel without a local Python: the xlwings Lite script, run in Pyodide.

``kpi addin build --lite`` writes ``main.py`` (the engine inside, as a zip) and
``requirements.txt``.  Here ``main.py`` runs in Pyodide under Node (the ``pyodide`` npm package,
``tests/node``; ``.ci/run`` installs it) on the payload xlwings' remote interpreter receives from
Excel, exactly as xlwings Lite calls a script (``xw.Book(json=payload)``, the function, then the
book's queued actions).  The actions, applied as Excel's client applies them, give every cell
``kpi calculate`` gives.  Without Node or the npm package the test is skipped, with the reason,
unless KPI_REQUIRE_PYODIDE or KPI_REQUIRE_LIBREOFFICE is 1 (CI), where it fails instead.

Also here: the bundle reads a workbook's plan in a Python that has nothing installed
(``-I -S``): trusted by its fingerprint, without jsonschema.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_button import NOW, _filled

from workbook.books.file import FileBook
from workbook.buttons import bundle
from workbook.buttons.common import done_message
from workbook.buttons.lite import SCRIPT_NAME, build_lite
from workbook.form.calculate import calculate

NODE_DIR = Path(__file__).with_name("node")
PYODIDE = NODE_DIR / "node_modules" / "pyodide"
_STAMPS = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|\d+年\d+月\d+日 \d\d:\d\d")


def _require_pyodide() -> str:
    node = shutil.which("node")
    missing = "Node.js" if node is None else None if PYODIDE.is_dir() else "the pyodide npm package"
    if missing is None:
        return node  # type: ignore[return-value]
    reason = f"{missing} is not installed (npm ci --prefix tests/node installs pyodide)"
    if "1" in (os.environ.get("KPI_REQUIRE_PYODIDE"), os.environ.get("KPI_REQUIRE_LIBREOFFICE")):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _xlwings_site(target: Path) -> None:
    """xlwings' Python files (xlwings Lite installs xlwings itself; its compiled reader is not needed)."""
    import xlwings

    shutil.copytree(
        Path(xlwings.__file__).parent,
        target / "xlwings",
        ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__", "*.xl*", "js", "html", "addin", "rest"),
    )


def _cells(path: Path) -> dict[tuple[str, str], object]:
    """Every non-empty cell; text written with Excel's apostrophe prefix and the run's time masked."""
    out = {}
    for ws in load_workbook(path).worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, str):
                    v = _STAMPS.sub("STAMP", v[1:] if v.startswith("'") else v)
                if v not in (None, ""):
                    out[(ws.title, c.coordinate)] = v
    return out


def test_lite_script_in_pyodide_equals_kpi_calculate(tmp_path):
    node = _require_pyodide()
    from tests_support import apply_actions, payload_from_file

    work = tmp_path / "lite"
    _, requirements = build_lite(work)
    assert "xlwings" in requirements.read_text(encoding="utf-8")
    _xlwings_site(work / "site")
    path, _ = _filled(tmp_path)
    (work / "payload.json").write_text(
        json.dumps(payload_from_file(path), ensure_ascii=False, default=str), encoding="utf-8"
    )
    proc = subprocess.run(
        [node, str(NODE_DIR / "run_lite.mjs"), str(work), SCRIPT_NAME],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=NODE_DIR,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    ran = json.loads(proc.stdout)
    assert ran["platform"] == "emscripten"  # really Pyodide
    alerts = apply_actions(path, ran["actions"], tmp_path / "lite.xlsx")

    reference = tmp_path / "reference.xlsx"
    shutil.copyfile(path, reference)
    book = FileBook(reference)
    outcome = calculate(book, now=NOW)
    book.save()
    want = done_message(outcome, with_next_step=True)
    assert alerts == [want[0] if isinstance(want, tuple) else want]
    assert _cells(tmp_path / "lite.xlsx") == _cells(reference)


BAD_PLANS = [
    ("kind: ratio", "kind: ratioo"),
    ("weight: 15", "weight: fifteen"),
    ("polarity: lower", "polarity: down"),
]


def test_bundle_reads_a_workbooks_plan_in_a_python_with_nothing_installed(tmp_path):
    """With only the bundle (``-I -S``, no jsonschema): the plan a workbook carries builds to the
    same plan as here, trusted by its fingerprint; a tampered text under that fingerprint is
    refused (``plan_unverifiable``), as it is refused here (with the schema's own words)."""
    from kpi_engine import PlanError, parse_plan
    from kpi_engine.plan_loader import default_plan_path

    zipped = tmp_path / "bundle.zip"
    zipped.write_bytes(bundle.bundle_zip())
    text = default_plan_path().read_text(encoding="utf-8")
    fingerprint = parse_plan(text).fingerprint
    cases = [text] + [text.replace(old, new, 1) for old, new in BAD_PLANS]
    assert all(case != text for case in cases[1:])

    def here(case: str) -> str:
        try:
            return parse_plan(case, fingerprint=fingerprint).fingerprint
        except PlanError as exc:
            return "refused: " + ",".join(i.code for i in exc.issues)

    script = (
        "import json, sys\n"
        "sys.path[:] = [p for p in sys.path if 'site-packages' not in p and 'dist-packages' not in p]\n"
        f"sys.path.append({str(zipped)!r})\n"
        "from kpi_engine import PlanError, parse_plan\n"
        "import yaml\n"
        "assert yaml.__file__.startswith(sys.path[-1])\n"
        "out = []\n"
        "for case in json.load(sys.stdin):\n"
        "    try:\n"
        f"        out.append(parse_plan(case, fingerprint={fingerprint!r}).fingerprint)\n"
        "    except PlanError as exc:\n"
        "        out.append('refused: ' + ','.join(i.code for i in exc.issues))\n"
        "assert 'jsonschema' not in sys.modules\n"
        "print(json.dumps(out, ensure_ascii=False))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    there = json.loads(proc.stdout)
    assert there[0] == here(text) == fingerprint
    assert there[1:] == ["refused: plan_unverifiable"] * len(BAD_PLANS)
    assert all(h.startswith("refused: ") and "plan_unverifiable" not in h for h in map(here, cases[1:]))
