"""The LibreOffice 計算 button and ``kpi calculate --engine libreoffice`` in a real LibreOffice.

One private soffice serves the whole module: a fresh profile with ``kpi-workbook.oxt``
installed by ``unopkg add``.  Every workbook is a protected template, filled:

* the seed plan's 106 上半年 sample with a note;
* batch A (seed plan) and batch B (the seed plan with a sheet password) holding 20
  generated entry sets between them, one per indicator and period, including errors,
  a formula typed into a count, text and full-width digits in a count, a date, huge
  counts; batch B also has an overwritten result formula and a sheet whose protection
  staff removed;
* the seed template with one sheet protected by the clerk's own password.

Each is clicked as staff would click 「績效指標 → 計算」 (the command URL dispatched to
the document's frame, as the menu does), stored, and read back: every cell equals
what ``kpi calculate`` (openpyxl) writes, inputs are unchanged, and every sheet is
protected with the options (and password) it had.  The same for ``.ods`` copies made
with LibreOffice's Save As (through the macro's bridge path, answered in this process),
and for the live adapter that ``kpi calculate --engine libreoffice`` uses.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import REPO
from helpers_workbook import build_filled
from openpyxl import load_workbook

from kpi_engine import load_plan, parse_plan
from workbook import libreoffice as lo_harness
from workbook.books import unocore
from workbook.books.file import FileBook
from workbook.books.uno import UnoBook, import_uno, office, store
from workbook.buttons.common import done_message as button_message
from workbook.buttons.oxt import COMMAND_URL, prepare_profile
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.calculate import Outcome, calculate
from workbook.formats.files import WorkbookFileError

PASSWORD = "kpi107"
SEED_NOTE = "另於7月辦理補訓，預計及格人數再增加。"
PROTECTION_FIELDS = (
    "sheet",
    "objects",
    "scenarios",
    "formatCells",
    "formatRows",
    "formatColumns",
    "insertColumns",
    "insertRows",
    "insertHyperlinks",
    "deleteColumns",
    "deleteRows",
    "selectLockedCells",
    "selectUnlockedCells",
    "sort",
    "autoFilter",
    "pivotTables",
    "password",
)


class Formula(str):
    """An entry typed as a formula (=…), not as text."""


#: 20 entry sets by indicator kind: (label, inputs). Each fills one indicator × period slot.
GROWTH = [
    ("growth", {"current": 130, "previous": 120}),
    ("fullwidth text", {"current": "１２０", "previous": 100}),
    ("zero previous", {"current": 50, "previous": 0}),
    ("incomplete", {"current": 77, "previous": None}),
]
RATIO = [
    ("seed-like", {"numerator": 187, "denominator": 210}),
    ("exact half", {"numerator": 1, "denominator": 8}),
    ("zero denominator", {"numerator": 5, "denominator": 0}),
    ("numerator above denominator", {"numerator": 220, "denominator": 210}),
    ("count as text", {"numerator": "187", "denominator": 210}),
    ("formula in a count", {"numerator": Formula("=180+7"), "denominator": 210}),
    ("date in a count", {"numerator": datetime(2017, 12, 31), "denominator": 210}),
    ("negative", {"numerator": -3, "denominator": 10}),
    ("decimal", {"numerator": 12.5, "denominator": 40}),
    ("missing", {"numerator": None, "denominator": None}),
    ("huge near half", {"numerator": 327_749_997_965, "denominator": 999_999_993_791}),
    ("whitespace text", {"numerator": 10, "denominator": " 10"}),
]
COUNT = [
    ("count", {"count": 63}),
    ("formula count", {"count": Formula("=60+3")}),
    ("thousands text", {"count": "1,063"}),
    ("negative count", {"count": -2}),
]


@dataclass
class Case:
    """One filled template, its reference (``kpi calculate``) output and outcome."""

    name: str
    path: Path
    reference: Path
    outcome: Outcome | None
    removed_protection: tuple[str, ...] = ()


def _batches(plan) -> list[dict]:
    """The 20 entry sets spread over two workbooks (one per indicator × period slot)."""
    pools = {"growth": list(GROWTH), "ratio": list(RATIO), "count": list(COUNT)}
    batches: list[dict] = [{}, {}]
    for batch in batches:
        for period in plan.periods:
            for ind in plan.indicators:
                batch.setdefault(period.id, {})[ind.id] = dict(pools[ind.kind].pop(0)[1])
    assert not any(pools.values()), "every entry set is used"
    return batches


def _type_formulas(path: Path, scope: L.Scope, entries: dict) -> None:
    """Type the Formula entries as real formulas (build_filled writes text)."""
    wb = load_workbook(path)
    names = FileBook(path).names()
    for pid, by_ind in entries.items():
        for iid, inputs in by_ind.items():
            for role, value in inputs.items():
                if isinstance(value, Formula):
                    sheet, row, col = names[
                        L.input_name(scope.plan.indicator(iid), scope.plan.period(pid), role)
                    ]
                    wb[sheet].cell(row, col).value = str(value)  # data type "f"
    wb.save(path)


def _edit(path: Path, edit) -> None:
    wb = load_workbook(path)
    edit(wb)
    wb.save(path)


def _reference(path: Path) -> tuple[Path, Outcome | None]:
    """What ``kpi calculate`` (openpyxl) writes for ``path``."""
    out = path.with_name(path.stem + ".reference.xlsx")
    shutil.copyfile(path, out)
    book = FileBook(out)
    try:
        outcome = calculate(book)
    except WorkbookFileError:
        return out, None
    book.save()
    return out, outcome


@pytest.fixture(scope="module")
def cases(plan, tmp_path_factory) -> dict[str, Case]:
    folder = tmp_path_factory.mktemp("lo_button")
    made: dict[str, Case] = {}
    h1 = plan.period(plan.sample.period)
    seed_scope = L.Scope(plan, data_year=106)
    note = L.notes_name(plan.indicator("procurement_pass_rate"), h1)
    path, _ = build_filled(
        seed_scope, {h1.id: plan.sample.entries}, folder / "seed.xlsx", notes={note: SEED_NOTE}
    )
    made["seed"] = Case("seed", path, *_reference(path))

    protected_plan = parse_plan(
        plan.text.replace("password: null", f"password: {PASSWORD}"), source="pw.yaml"
    )
    assert protected_plan.options.password == PASSWORD
    batch_a, batch_b = _batches(plan)
    for name, scope, entries in (
        ("batch_a", L.Scope(plan, data_year=107), batch_a),
        ("batch_b", L.Scope(protected_plan, data_year=107), batch_b),
    ):
        path, _ = build_filled(scope, entries, folder / f"{name}.xlsx")
        _type_formulas(path, scope, entries)
        removed: tuple[str, ...] = ()
        if name == "batch_a":  # staff merged two input cells (H1 and FY of one count)
            names = FileBook(path).names()
            count = plan.indicator("safety_defects")
            sheet, row, col = names[L.input_name(count, h1, "count")]
            fy_cell = names[L.input_name(count, plan.period("FY"), "count")]
            assert fy_cell == (sheet, row, col + 1), "FY input sits right of H1"

            def merge(wb, sheet=sheet, row=row, col=col) -> None:
                wb[sheet].merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + 1)

            _edit(path, merge)
        if name == "batch_b":
            names = FileBook(path).names()
            overwritten = names["OUT_procurement_pass_rate_H1_value"]
            unprotected_sheet = names[L.input_name(plan.indicator("e_tender_rate"), h1, "numerator")][0]
            removed = (unprotected_sheet,)

            def damage(wb, overwritten=overwritten, sheet=unprotected_sheet) -> None:
                wb[overwritten[0]].cell(overwritten[1], overwritten[2]).value = 99
                wb[sheet].protection.sheet = False

            _edit(path, damage)
        made[name] = Case(name, path, *_reference(path), removed_protection=removed)

    path, _ = build_filled(seed_scope, {h1.id: plan.sample.entries}, folder / "clerk.xlsx")
    # A sheet calculate writes (the indicator sheets hold only formulas and inputs now).
    clerk_sheet = L.SHEET_FINDINGS

    def clerk_password(wb) -> None:
        wb[clerk_sheet].protection.password = "clerk-own"

    _edit(path, clerk_password)
    made["clerk"] = Case("clerk", path, *_reference(path), removed_protection=())
    made["clerk"].clerk_sheet = clerk_sheet  # type: ignore[attr-defined]
    return made


# ---------------------------------------------------------------------------
# one LibreOffice for the module, with the extension installed by unopkg
# ---------------------------------------------------------------------------


def require_uno() -> None:
    """soffice and its Python-UNO bridge, or skip (fail where KPI_REQUIRE_LIBREOFFICE=1)."""
    lo_harness.require_soffice()
    try:
        import_uno()
    except WorkbookFileError as exc:
        if os.environ.get("KPI_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def lo(tmp_path_factory):
    require_uno()
    profile = prepare_profile(tmp_path_factory.mktemp("lo_profile"))
    with office(profile=profile) as session:
        yield session


def _open(lo, path: Path):
    doc = lo.open(path)
    lo.desktop.setActiveFrame(doc.CurrentController.Frame)  # the clicked document is the current one
    return doc


def click(lo, path: Path, out: Path, *, via: str) -> str:
    """Open ``path``, run the 計算 button, store to ``out``; return the message shown."""
    doc = _open(lo, path)
    try:
        if via == "menu":  # what 績效指標 → 計算 does: dispatch the Addons.xcu URL to the frame
            helper = lo.ctx.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.DispatchHelper", lo.ctx
            )
            message = helper.executeDispatch(doc.CurrentController.Frame, COMMAND_URL, "", 0, ()).Result
        else:  # the macro's bridge path, driven from here: its reads, the JSON both ways, its writes
            message, _ = via_bridge(doc)
        store(doc, out)
    finally:
        doc.close(True)
    return message


def via_bridge(doc) -> tuple[str, str]:
    """``lo_macro._via_bridge`` with the bridge answered in this process instead of a subprocess
    started inside soffice (that subprocess is run by test_macro_messages_never_a_traceback)."""
    import json

    from workbook.buttons import bridge, lo_macro

    def answer(payload: dict) -> dict:
        request = json.loads(json.dumps(payload, ensure_ascii=False))
        return json.loads(json.dumps(bridge.answer(request), default=bridge._json_default))

    import types

    original, lo_macro._bridge = lo_macro._bridge, answer
    config = sys.modules.get("kpi_button_config")
    sys.modules["kpi_button_config"] = types.SimpleNamespace(PYTHON=sys.executable, PACKAGE_ROOT=None)
    try:
        return lo_macro._via_bridge(doc)
    finally:
        lo_macro._bridge = original
        if config is None:
            sys.modules.pop("kpi_button_config", None)
        else:
            sys.modules["kpi_button_config"] = config


def live_engine(lo, path: Path, out: Path) -> Outcome | WorkbookFileError:
    """What ``kpi calculate --engine libreoffice`` runs, in the shared session."""
    doc = lo.open(path)
    try:
        try:
            outcome = calculate(UnoBook(doc, bulk_names=True))
        except WorkbookFileError as exc:
            store(doc, out)
            return exc
        store(doc, out)
        return outcome
    finally:
        doc.close(True)


def save_as_ods(lo, path: Path) -> Path:
    doc = lo.open(path)
    try:
        return store(doc, path.with_suffix(".ods"))
    finally:
        doc.close(True)


_STAMP = re.compile(r"\d+年\d+月\d+日 \d\d:\d\d")


@dataclass
class ReadBack:
    """A stored workbook as LibreOffice reads it back."""

    cells: dict[str, list[list[Any]]]  # every sheet: formula text or constant per cell
    unlocks: dict[str, str | None]  # which password unprotects each sheet


def read_back(lo, path: Path) -> ReadBack:
    """Open ``path`` once: every sheet's cells, then which password unprotects each sheet.

    The calculation time differs by run: it is masked in the status line and ``_kpi``.
    """
    doc = lo.open(path)
    try:
        cells, unlocks = {}, {}
        for name in unocore.sheet_names(doc):
            sheet = doc.Sheets.getByName(name)
            grid = unocore.read_formulas(sheet, *unocore.used_extent(sheet))
            cells[name] = [
                [_STAMP.sub("STAMP", v) if isinstance(v, str) else v for v in line] for line in grid
            ]
            unlocks[name] = "unprotected" if not sheet.isProtected() else None
            for candidate in ("wrong-password", PASSWORD, "") if unlocks[name] is None else ():
                with contextlib.suppress(Exception):
                    sheet.unprotect(candidate)
                if not sheet.isProtected():
                    unlocks[name] = candidate
                    break
        for line in cells[L.SHEET_META]:
            if line and line[0] == "calculated_at" and line[1]:
                line[1] = "STAMP"
        return ReadBack(cells, unlocks)
    finally:
        doc.close(True)


def _input_cells(path: Path) -> list[tuple[str, int, int]]:
    return [
        (sheet, row, col)
        for name, (sheet, row, col) in FileBook(path).names().items()
        if name.startswith(("IN_", "NOTE_", "PROG_", "DESC_"))
    ]


#: What a sheet protected again after staff removed its protection must have (LibreOffice
#: applies its own defaults to the other options, which the removal had dropped anyway).
RESTORED_FIELDS = (
    "sheet",
    "password",
    "selectLockedCells",
    "selectUnlockedCells",
    "formatRows",
    "formatColumns",
)


def xlsx_protection(path: Path, removed: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """Every sheet's protection flags and password hash (LibreOffice writes the hex in lower case)."""
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        fields = RESTORED_FIELDS if ws.title in removed else PROTECTION_FIELDS
        got = {f: getattr(ws.protection, f) for f in fields}
        got["password"] = (got["password"] or "").upper() or None
        out[ws.title] = got
    return out


def ods_protection(path: Path) -> dict[str, tuple]:
    """Per sheet: table:protected, the key and its digest, and LibreOffice's protection options."""
    content = zipfile.ZipFile(path).read("content.xml").decode("utf-8")
    out = {}
    for m in re.finditer(r"<table:table ([^>]*)>(.*?)</table:table>", content, re.S):
        attrs = dict(re.findall(r'([\w:-]+)="([^"]*)"', m.group(1)))
        options = re.search(r"<loext:table-protection([^>]*)/>", m.group(2))
        out[attrs["table:name"]] = (
            attrs.get("table:protected"),
            attrs.get("table:protection-key"),
            attrs.get("table:protection-key-digest-algorithm"),
            options.group(1).strip() if options else None,
        )
    return out


def assert_same_cells(got: dict, want: dict, what: str) -> None:
    assert list(got) == list(want), what
    problems = []
    for sheet in want:
        a, b = got[sheet], want[sheet]
        for r in range(max(len(a), len(b))):
            la = a[r] if r < len(a) else []
            lb = b[r] if r < len(b) else []
            for c in range(max(len(la), len(lb))):
                va = la[c] if c < len(la) else None
                vb = lb[c] if c < len(lb) else None
                if va != vb:
                    problems.append(f"{sheet}!R{r + 1}C{c + 1}: {va!r} != {vb!r}")
    assert not problems, f"{what}: {len(problems)} cells differ:\n" + "\n".join(problems[:30])


def assert_inputs_unchanged(got: dict, original: dict, inputs: list[tuple[str, int, int]]) -> None:
    def cell(snap, s, r, c):
        grid = snap[s]
        return grid[r - 1][c - 1] if r - 1 < len(grid) and c - 1 < len(grid[r - 1]) else None

    changed = [(s, r, c) for s, r, c in inputs if cell(got, s, r, c) != cell(original, s, r, c)]
    assert not changed, f"input cells changed: {changed[:10]}"


# ---------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def snapshots(lo, cases) -> dict[str, ReadBack]:
    """Read-backs of the inputs and of the references, once."""
    out = {}
    for case in cases.values():
        out[case.name] = read_back(lo, case.path)
        out[case.name + ".reference"] = read_back(lo, case.reference)
    return out


@pytest.fixture(scope="module")
def ods_cases(lo, cases) -> dict[str, Path]:
    """.ods copies made with LibreOffice's Save As."""
    return {name: save_as_ods(lo, case.path) for name, case in cases.items() if name != "clerk"}


@pytest.mark.parametrize("name", ["seed", "batch_a", "batch_b"])
def test_button_click_equals_kpi_calculate_xlsx(lo, cases, snapshots, name: str, tmp_path) -> None:
    case = cases[name]
    out = tmp_path / f"{name}.clicked.xlsx"
    message = click(lo, case.path, out, via="menu")
    assert message == _text(button_message(case.outcome))
    got = read_back(lo, out)
    assert_same_cells(got.cells, snapshots[name + ".reference"].cells, f"{name}: button vs kpi calculate")
    assert_inputs_unchanged(got.cells, snapshots[name].cells, _input_cells(case.path))
    assert got.unlocks == snapshots[name + ".reference"].unlocks
    # protection: exactly what kpi calculate leaves (options, password), i.e. the template's
    removed = case.removed_protection
    assert xlsx_protection(out, removed) == xlsx_protection(case.reference, removed)
    want = xlsx_protection(case.path, removed)
    for sheet in removed:
        want[sheet]["sheet"] = True
        want[sheet]["password"] = want[L.SHEET_SUMMARY]["password"]  # the plan's, as on every form sheet
    assert xlsx_protection(out, removed) == want
    assert load_workbook(out, read_only=True)[L.SHEET_META].sheet_state == "veryHidden"


def test_batches_cover_the_required_findings(cases) -> None:
    """The generated entry sets really produce errors, a formula in a count, text in a count, …"""
    codes = {f.code for name in ("batch_a", "batch_b") for f in cases[name].outcome.findings}
    for code in (
        "formula_in_input",
        "number_as_text",
        "date",
        "zero_denominator" if "zero_denominator" in codes else "division_by_zero",
        "formula_restored",
        "protection_restored",
        "incomplete",
        "missing",
        "merged_input",
    ):
        assert code in codes, (code, sorted(codes))
    assert cases["batch_a"].outcome.has_errors and cases["batch_b"].outcome.has_errors


@pytest.mark.parametrize("name", ["seed", "batch_a", "batch_b"])
def test_button_click_equals_kpi_calculate_ods(lo, cases, snapshots, ods_cases, name: str, tmp_path) -> None:
    case = cases[name]
    source = ods_cases[name]
    before = ods_protection(source)
    original = read_back(lo, source)
    out = tmp_path / f"{name}.clicked.ods"
    message = click(lo, source, out, via="bridge")
    assert message == _text(button_message(case.outcome))
    got = read_back(lo, out)
    assert_same_cells(
        got.cells, snapshots[name + ".reference"].cells, f"{name} (.ods): button vs kpi calculate"
    )
    assert_inputs_unchanged(got.cells, original.cells, _input_cells(case.path))
    after = ods_protection(out)
    keys_before, keys_after = original.unlocks, got.unlocks
    for sheet, (flag, _key, _digest, options) in before.items():
        if sheet == L.SHEET_META:  # the system sheet: unprotected, as the template leaves it (issue 22)
            assert after[sheet][0] == flag, sheet
            continue
        assert after[sheet][0] == "true", sheet
        if sheet in case.removed_protection:
            assert flag is None and keys_after[sheet] == keys_before[L.SHEET_SUMMARY], sheet
        else:  # the same options; the same password opens it (LibreOffice may re-hash it)
            assert (after[sheet][0], after[sheet][3]) == (flag, options), sheet
            assert keys_after[sheet] == keys_before[sheet], sheet


@pytest.mark.parametrize("name", ["seed", "batch_a", "batch_b"])
@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_live_adapter_equals_kpi_calculate(
    lo, cases, snapshots, ods_cases, name: str, fmt: str, tmp_path
) -> None:
    """UnoBook, the adapter of ``kpi calculate --engine libreoffice``, gives the same findings and cells."""
    case = cases[name]
    source = case.path if fmt == "xlsx" else ods_cases[name]
    out = tmp_path / f"{name}.engine.{fmt}"
    outcome = live_engine(lo, source, out)
    assert isinstance(outcome, Outcome), outcome
    assert outcome.to_dict() == case.outcome.to_dict()
    got = read_back(lo, out)
    assert_same_cells(
        got.cells, snapshots[name + ".reference"].cells, f"{name}.{fmt}: engine vs kpi calculate"
    )
    assert got.unlocks == snapshots[name + ".reference"].unlocks
    if fmt == "xlsx":
        removed = case.removed_protection
        assert xlsx_protection(out, removed) == xlsx_protection(case.reference, removed)


def test_clerk_password_stops_nothing_but_on_the_system_sheet(lo, cases, snapshots, tmp_path) -> None:
    """A visible sheet with the clerk's own password: the click writes only ``_kpi`` (issue 22), so it
    calculates.  The clerk's own password on ``_kpi`` itself: refused, naming LibreOffice's menu."""
    case = cases["clerk"]
    sheet = case.clerk_sheet  # type: ignore[attr-defined]
    assert case.outcome is not None  # kpi calculate does not need to lift it either
    message = click(lo, case.path, tmp_path / "clerk.clicked.xlsx", via="menu")
    assert message == _text(button_message(case.outcome))
    got = read_back(lo, tmp_path / "clerk.clicked.xlsx")
    assert_same_cells(got.cells, snapshots["clerk.reference"].cells, "clerk: button vs kpi calculate")
    assert got.unlocks[sheet] is None  # still only the clerk's password opens it
    doc = _open(lo, case.path)
    try:
        meta = doc.Sheets.getByName(L.SHEET_META)
        meta.protect("clerk-own")
        before = unocore.read_formulas(meta, *unocore.used_extent(meta))
        helper = lo.ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", lo.ctx)
        refused = helper.executeDispatch(doc.CurrentController.Frame, COMMAND_URL, "", 0, ()).Result
        assert unocore.read_formulas(meta, *unocore.used_extent(meta)) == before
    finally:
        doc.close(True)
    assert f"工作表「{L.SHEET_META}」已被設定其他保護密碼" in refused, refused
    assert "工具 → 保護工作表" in refused and "結果未寫入" in refused


def kpi(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``kpi ARGS`` from this checkout (python -m workbook.cli); never a traceback."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "workbook.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    return proc


def test_kpi_calculate_engine_libreoffice_cli(lo, cases, snapshots, tmp_path) -> None:
    """The real command line: its own private LibreOffice, output in the input's format."""
    case = cases["batch_b"]
    src = tmp_path / "in.xlsx"
    shutil.copyfile(case.path, src)
    before = src.read_bytes()
    proc = kpi(
        "calculate", str(src), "-o", str(tmp_path / "out.xlsx"), "--engine", "libreoffice", cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stderr  # batch B has errors
    assert src.read_bytes() == before  # the input is byte-identical
    assert_same_cells(
        read_back(lo, tmp_path / "out.xlsx").cells, snapshots["batch_b.reference"].cells, "CLI engine"
    )
    removed = case.removed_protection
    assert xlsx_protection(tmp_path / "out.xlsx", removed) == xlsx_protection(case.reference, removed)
    # in place, as `kpi calculate FILE` does: LibreOffice works on a private copy, no lock file is left
    proc = kpi("calculate", str(src), "--engine", "libreoffice", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert_same_cells(read_back(lo, src).cells, snapshots["batch_b.reference"].cells, "CLI engine in place")
    assert not list(tmp_path.glob(".~lock*")) and not list(tmp_path.glob(".*.tmp"))
    bad = kpi("calculate", str(src), "-o", str(tmp_path / "out.ods"), "--engine", "libreoffice", cwd=tmp_path)
    assert bad.returncode == 2 and "格式" in bad.stderr


def test_in_process_path_equals_kpi_calculate(lo, cases, snapshots, tmp_path) -> None:
    """What the macro runs when LibreOffice's Python has this package (here driven over the pipe)."""
    from workbook.buttons.lo_button import calculate_document

    case = cases["batch_b"]
    doc = lo.open(case.path)
    try:
        message, severity = calculate_document(doc)
        store(doc, tmp_path / "inproc.xlsx")
    finally:
        doc.close(True)
    assert message == _text(button_message(case.outcome)) and severity == "warning"
    got = read_back(lo, tmp_path / "inproc.xlsx")
    assert_same_cells(got.cells, snapshots["batch_b.reference"].cells, "in-process vs kpi calculate")
    assert got.unlocks == snapshots["batch_b.reference"].unlocks


def test_in_process_plan_is_kept_only_for_the_same_text(lo, cases, tmp_path) -> None:
    """A later click reuses the plan parsed before (speed), but never for a plan text altered
    under the same fingerprint: that one is parsed and refused as on a first click."""
    from workbook.buttons import lo_button

    case = cases["batch_b"]
    doc = lo.open(case.path)
    try:
        assert lo_button.calculate_document(doc)[1] == "warning"
    finally:
        doc.close(True)
    fingerprint = case.outcome.scope.plan.fingerprint
    assert any(key[0] == fingerprint for key in lo_button._PLANS)  # kept for the next click
    doc = lo.open(case.path)
    try:
        meta = doc.Sheets.getByName(L.SHEET_META)
        grid = unocore.read_grid(meta, unocore.used_extent(meta)[0], 2)
        row = next(
            i for i, line in enumerate(grid) if line[0] == "plan_text" and f"password: {PASSWORD}" in line[1]
        )
        meta.getCellByPosition(1, row).setString(
            grid[row][1].replace(f"password: {PASSWORD}", "password: other")
        )
        message, severity = lo_button.calculate_document(doc)
    finally:
        doc.close(True)
    assert severity == "error" and "指紋" in message, message


# ---------------------------------------------------------------------------
# without LibreOffice: the extension's parts and the macro's failure messages
# ---------------------------------------------------------------------------


def test_oxt_parts(tmp_path) -> None:
    from workbook.buttons.oxt import build_oxt

    path = build_oxt(tmp_path, interpreter="/opt/python/bin/python3")
    with zipfile.ZipFile(path) as oxt:
        names = set(oxt.namelist())
        addons = oxt.read("Addons.xcu").decode("utf-8")
        handler = oxt.read("ProtocolHandler.xcu").decode("utf-8")
        config = oxt.read("python/pythonpath/kpi_button_config.py").decode("utf-8")
        manifest = oxt.read("META-INF/manifest.xml").decode("utf-8")
        bundle = set(zipfile.ZipFile(io.BytesIO(oxt.read("python/pythonpath.zip"))).namelist())
    assert {"description.xml", "python/kpi_button.py", "python/pythonpath.zip"} <= names
    # the engine, the button and their pure-Python dependencies; nothing compiled
    assert {
        "kpi_engine/plan_loader.py",
        "workbook/buttons/lo_button.py",
        "templates/plan.schema.json",
    } <= bundle
    assert "yaml/__init__.py" in bundle
    # no jsonschema (nor its compiled rpds-py): a workbook's plan is trusted by its fingerprint
    assert not [n for n in bundle if n.startswith(("jsonschema/", "referencing/", "rpds/"))]
    assert not [n for n in bundle if n.endswith((".so", ".pyd", ".pyc"))]
    assert 'full-path="Addons.xcu"' in manifest and 'full-path="ProtocolHandler.xcu"' in manifest
    assert "vnd.sun.star.uno-component;type=Python" in manifest and "vnd.kpi-workbook:*" in handler
    assert (
        "OfficeMenuBar" in addons
        and "OfficeToolBar" in addons
        and "com.sun.star.sheet.SpreadsheetDocument" in addons
    )
    assert (
        '<value xml:lang="zh-TW">績效指標</value>' in addons
        and '<value xml:lang="zh-TW">計算</value>' in addons
    )
    assert COMMAND_URL in addons and "location=" not in addons
    assert "PYTHON = '/opt/python/bin/python3'" in config
    assert "PYTHON = None" in zipfile.ZipFile(build_oxt(tmp_path / "none")).read(
        "python/pythonpath/kpi_button_config.py"
    ).decode("utf-8")  # kpi addin build --libreoffice records no Python


def test_bundle_unpacked_once_per_version(monkeypatch, tmp_path) -> None:
    """The extension's zip is unpacked beside the profile so Python keeps its bytecode; put on
    sys.path where the zip is; a new version replaces the old folder; a failure keeps the zip."""
    from workbook.buttons import lo_macro

    first, second = tmp_path / "v1.zip", tmp_path / "v2.zip"
    for path, text in ((first, "VERSION = 1\n"), (second, "VERSION = 2\n")):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("kpi_probe/__init__.py", text)
    folder = tmp_path / "profile" / lo_macro.UNPACKED
    monkeypatch.setattr(sys, "path", ["/lib", str(first), "/after"])
    one = lo_macro.unpack_bundle(str(first), str(folder))
    assert one and sys.path == ["/lib", one, str(first), "/after"]
    assert (Path(one) / "kpi_probe" / "__init__.py").read_text() == "VERSION = 1\n"
    assert lo_macro.unpack_bundle(str(first), str(folder)) == one and sys.path.count(one) == 1
    two = lo_macro.unpack_bundle(str(second), str(folder))
    assert two != one and [p.name for p in folder.iterdir()] == [Path(two).name]  # the old one went
    (folder.parent / "file").write_text("")  # a folder that cannot be made: the zip stays in use
    monkeypatch.setattr(sys, "path", [str(first)])
    assert lo_macro.unpack_bundle(str(first), str(folder.parent / "file" / "x")) is None
    assert sys.path == [str(first)]


def test_pure_python_yaml_parses_plans_in_one_pass_and_refuses_aliases(monkeypatch, plan) -> None:
    """The bundle's PyYAML has no C part: the plan is loaded in one pass that refuses aliases."""
    import yaml

    from kpi_engine import PlanError, plan_loader

    monkeypatch.setattr(plan_loader, "_FAST_LOADER", yaml.SafeLoader)
    assert parse_plan(plan.text, plan.source, fingerprint=plan.fingerprint) == plan
    with pytest.raises(PlanError) as err:
        parse_plan(plan.text.replace("password: null", "password: &p null\nx_alias: *p"))
    assert [i.code for i in err.value.issues] == ["yaml_alias"]


def _macro(monkeypatch, python: str):
    """The extension's macro module with its two pythonpath modules in place."""
    import types

    from workbook.buttons import lo_macro

    config = types.SimpleNamespace(PYTHON=python, PACKAGE_ROOT=str(REPO))
    monkeypatch.setitem(sys.modules, "kpi_button_config", config)
    monkeypatch.setattr(unocore, "read_document", lambda doc: {"version": 1, "sheets": {}, "names": {}})
    return lo_macro


class _Doc:
    Sheets = None
    Title = "t.xlsx"

    def isReadonly(self) -> bool:
        return False


def _text(message) -> str:
    return message[0] if isinstance(message, tuple) else message


def test_macro_messages_never_a_traceback(monkeypatch, tmp_path) -> None:
    lo_macro = _macro(monkeypatch, "/nonexistent/python3")
    assert lo_macro.run(None) == (lo_macro.NO_DOCUMENT, "error")
    message, severity = lo_macro.run(_Doc(), bridge=True)
    # no usable Python: nothing the clerk could type (no kpi command, no pip)
    assert "kpi-workbook.oxt" in message and "kpi addin" not in message and severity == "error"
    # a document that is not a template: the bridge's message, in zh-TW and English
    lo_macro = _macro(monkeypatch, sys.executable)
    message, severity = lo_macro.run(_Doc(), bridge=True)
    assert (
        message.startswith("無法計算：這不是本系統產生的填報工作簿")
        and "not a KPI Workbook template" in message
        and severity == "error"
    )
    # a Python without this package: its own message, naming that Python
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    monkeypatch.setitem(sys.modules, "kpi_button_config", types_ns(PYTHON=str(bare / "bin" / "python")))
    monkeypatch.chdir(tmp_path)  # as in LibreOffice: the repository is not the working folder
    message, _ = lo_macro.run(_Doc(), bridge=True)
    assert message == lo_macro.NO_PACKAGE.format(python=bare / "bin" / "python")


def types_ns(**values):
    import types

    return types.SimpleNamespace(PACKAGE_ROOT=None, **values)


def test_libreoffice_missing_message(monkeypatch, tmp_path) -> None:
    from workbook.books import uno
    from workbook.books import uno_engine as engine

    monkeypatch.setattr(uno, "find_soffice", lambda: None)
    src = tmp_path / "a.xlsx"
    write_template(L.Scope(load_plan()), src)
    with pytest.raises(WorkbookFileError) as err:
        engine.calculate_file(src, tmp_path / "b.xlsx")
    text = str(err.value)
    assert "libreoffice-calc-nogui" in text and "python3-uno" in text and "libreoffice.org" in text


def test_install_messages_without_unopkg_or_as_root(monkeypatch) -> None:
    from workbook.buttons import oxt

    monkeypatch.setattr(oxt, "find_unopkg", lambda: None)
    monkeypatch.setattr(oxt.os, "geteuid", lambda: 1000, raising=False)
    with pytest.raises(oxt.OxtError) as err:
        oxt.install_oxt()
    assert "找不到 LibreOffice 的 unopkg" in str(err.value) and "Extension Manager" in str(err.value)
    monkeypatch.setattr(oxt, "find_unopkg", lambda: "/usr/bin/unopkg")
    monkeypatch.setattr(oxt.os, "geteuid", lambda: 0, raising=False)
    with pytest.raises(oxt.OxtError) as err:
        oxt.install_oxt()
    assert "root" in str(err.value) and "kpi addin install --libreoffice" in str(err.value)
