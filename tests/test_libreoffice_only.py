"""The 計算 button on a PC with nothing but LibreOffice.

The extension is installed as IT installs it (``unopkg add --shared``, into a shared store of
the test's own) and as a user does (``unopkg add`` into the profile), with no Python recorded
for the bridge.  soffice runs with ``tests/lo_guard`` on PYTHONPATH: its Python then sees no
site-packages, no dist-packages and not this checkout, only LibreOffice's UNO modules, as on
Windows.  Each click is what 「績效指標 → 計算」 does: the menu's command URL dispatched to the
document's frame.  It must give exactly what ``kpi calculate`` gives, load the engine, PyYAML
from the extension's bundle, be no undo step, calculate once when clicked
twice, and answer a read-only document with what to press.  In a real Calc window (Xvfb,
keyboard by xdotool): a number typed without Enter is entered and calculated by the click, and
Ctrl+Z afterwards never leaves a sheet unprotected or a result that does not say it is stale.
"""

from __future__ import annotations

import time
from pathlib import Path

import openpyxl
import pytest
from calc_window import CalcWindow, require_tools
from cli_support import REPO
from helpers_workbook import build_filled
from test_libreoffice_button import (  # noqa: F401 - cases is a fixture
    assert_same_cells,
    cases,
    read_back,
    require_uno,
)

from workbook.books import unocore
from workbook.books.file import FileBook
from workbook.books.uno import import_uno, office, props, store
from workbook.buttons import lo_macro
from workbook.buttons.common import done_message
from workbook.buttons.oxt import BRIDGE_URL, COMMAND_URL, prepare_profile, prepare_shared
from workbook.form import layout as L
from workbook.form.calculate import calculate

GUARD = Path(__file__).with_name("lo_guard")


@pytest.fixture(scope="module", params=["user", "shared"])
def only_lo(request, tmp_path_factory):
    """A soffice whose Python sees only LibreOffice, with the extension installed one way."""
    require_uno()
    folder = tmp_path_factory.mktemp(f"only_lo_{request.param}")
    profile = folder / "profile"
    if request.param == "shared":
        args = prepare_shared(profile, folder / "shared")
        assert not list(profile.glob("user/uno_packages/cache/uno_packages/*/kpi-workbook.oxt"))
    else:
        prepare_profile(profile)
        args = []
    log = folder / "guard.log"
    env = {"PYTHONPATH": str(GUARD), "KPI_GUARD_LOG": str(log), "KPI_GUARD_REPO": str(REPO)}
    with office(profile=profile, args=args, env=env) as session:
        session.guard_log = log  # type: ignore[attr-defined]
        yield session


def _dispatch(lo, doc, url: str = COMMAND_URL) -> str:
    helper = lo.ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", lo.ctx)
    return helper.executeDispatch(doc.CurrentController.Frame, url, "", 0, ()).Result


def _open(lo, path: Path, **options):
    url = import_uno().systemPathToFileUrl(str(path))
    doc = lo.desktop.loadComponentFromURL(url, "_blank", 0, props(Hidden=True, **options))
    lo.desktop.setActiveFrame(doc.CurrentController.Frame)
    return doc


def _protection(doc) -> dict[str, bool]:
    return unocore.protected_sheets(doc)


@pytest.mark.parametrize("name", ["seed", "batch_b"])
def test_click_equals_kpi_calculate_with_only_libreoffice(only_lo, cases, name, tmp_path):  # noqa: F811 - the imported fixture
    case = cases[name]
    doc = _open(only_lo, case.path)
    try:
        message = _dispatch(only_lo, doc)
        store(doc, tmp_path / "clicked.xlsx")
    finally:
        doc.close(True)
    want = done_message(case.outcome)
    assert message == (want[0] if isinstance(want, tuple) else want)
    got, reference = read_back(only_lo, tmp_path / "clicked.xlsx"), read_back(only_lo, case.reference)
    assert_same_cells(got.cells, reference.cells, "LibreOffice only vs kpi calculate")
    assert got.unlocks == reference.unlocks
    loaded = only_lo.guard_log.read_text(encoding="utf-8").splitlines()
    origins = {line.split()[1]: line.split(maxsplit=2)[2] for line in loaded if line.startswith("loaded ")}
    for package in ("workbook", "kpi_engine"):  # the extension's bundle, unpacked beside the profile
        assert f"/user/{lo_macro.UNPACKED}/" in origins[package], (package, origins)
    # A template carries its plan's JSON copy (issue 24), so LibreOffice's Python never loads PyYAML.
    assert "yaml" not in origins, origins
    assert "jsonschema" not in origins  # the workbook's plan is trusted by its fingerprint


def test_no_undo_step_and_one_calculation_for_two_clicks(only_lo, cases, tmp_path):  # noqa: F811 - the imported fixture
    """Clicked twice quickly: one calculation; a later click: another.  Neither is an entry in
    Edit → Undo and nothing is left to undo after either (LibreOffice's undo of setDataArray
    leaves the cells that were empty as written: half a calculation).
    """
    case = cases["seed"]
    doc = _open(only_lo, case.path)
    try:
        kpi = doc.Sheets.getByName(L.SHEET_META)
        undo = doc.getUndoManager()
        first = _dispatch(only_lo, doc)
        stamp = unocore.read_grid(kpi, *unocore.used_extent(kpi))
        second = _dispatch(only_lo, doc)  # clicked twice quickly: the last message, no second run
        assert first == second and "計算" in first
        assert unocore.read_grid(kpi, *unocore.used_extent(kpi)) == stamp
        assert undo.getAllUndoActionTitles() == () and not undo.isUndoPossible()
        sheet, row, col = next(
            v for k, v in unocore.named_cells(doc).items() if k.startswith("NOTE_")
        )  # staff type a note, then click again
        doc.Sheets.getByName(sheet).getCellByPosition(col - 1, row - 1).setString("補訓中")
        assert undo.isUndoPossible()
        time.sleep(lo_macro.AGAIN)  # no longer the same click
        assert _dispatch(only_lo, doc) == first
        assert unocore.read_grid(kpi, *unocore.used_extent(kpi)) != stamp  # its digest covers the note
        assert not undo.isUndoPossible() and doc.IsUndoEnabled  # and typing is recorded again:
        doc.Sheets.getByName(sheet).getCellByPosition(col - 1, row - 1).setString("補訓完成")
        assert undo.isUndoPossible()
    finally:
        doc.close(True)


def test_read_only_document_says_what_to_press(only_lo, cases, tmp_path):  # noqa: F811 - the imported fixture
    doc = _open(only_lo, cases["seed"].path, ReadOnly=True)
    try:
        message = _dispatch(only_lo, doc)
        assert doc.getUndoManager().getAllUndoActionTitles() == ()
    finally:
        doc.close(True)
    assert message == lo_macro.READ_ONLY and "編輯文件" in message and "編輯 → 編輯模式" in message


def test_no_python_recorded_needs_no_command(only_lo, cases):  # noqa: F811 - the imported fixture
    """The bridge with no Python recorded: a message that asks for nothing needing Python."""
    doc = _open(only_lo, cases["seed"].path)
    try:
        message = _dispatch(only_lo, doc, BRIDGE_URL)
    finally:
        doc.close(True)
    assert "kpi-workbook.oxt" in message and "kpi addin" not in message and "pip" not in message


# ---------------------------------------------------------------------------
# A real Calc window: typed without Enter, then 計算; then Ctrl+Z
# ---------------------------------------------------------------------------


def menu_calculate(win: CalcWindow) -> None:
    """「績效指標 → 計算」 from the keyboard, then OK on the message box (screenshot before)."""
    win.extension_menu_first_item()
    box = win.find_window(lo_macro.TITLE)
    time.sleep(0.5)
    win.screenshot("message.png")
    win.press_enter_in(box)


def _kpi_and_state(path: Path, name: str) -> tuple[list, object, str, dict[str, bool]]:
    """What LibreOffice saved: the system sheet, the cell ``name``, calculate's verdict on the
    file (``current``: its results are of these inputs; ``stale``: they say 數據已變更) and each
    visible sheet's protection."""
    book = FileBook(path)
    sheet, row, col = book.names()[name]
    value = book.grid(sheet)[row - 1][col - 1]
    state = calculate(book, write=False).state
    wb = openpyxl.load_workbook(path)
    protected = {ws.title: bool(ws.protection.sheet) for ws in wb.worksheets if ws.sheet_state == "visible"}
    return book.grid(L.SHEET_META), value, state, protected


def test_typed_without_enter_then_ctrl_z_in_a_calc_window(plan, tmp_path):
    """A clerk types 「abc」 into a count and clicks 計算 without Enter: Calc's validation refuses it
    (its own message) and the click calculates what the cells hold.  Then 190 over 187, no Enter, 計算: the click enters it and
    calculates with it.  Then Ctrl+Z, three times: nothing changes (no half-undone calculation,
    every visible sheet still protected, the results still those of the inputs)."""
    require_tools()
    require_uno()
    h1 = plan.period(plan.sample.period)
    ratio = plan.indicator("procurement_pass_rate")
    path, _ = build_filled(L.Scope(plan, data_year=106), {h1.id: plan.sample.entries}, tmp_path / "seed.xlsx")
    args = prepare_shared(tmp_path / "unopkg-profile", tmp_path / "shared")
    env = {"PYTHONPATH": str(GUARD), "KPI_GUARD_REPO": str(REPO)}
    numerator = L.input_name(ratio, h1, "numerator")
    with CalcWindow(path, tmp_path / "screen", args=args, env=env) as win:
        main = win.find_window(f"{path.name} - LibreOffice Calc")
        win.go_to(L.input_name(ratio, plan.period("FY"), "numerator"))
        win.xdotool("type", "--delay", "25", "abc")  # no Enter, and not a count: Calc refuses it
        before = set(win.xdotool("search", "--onlyvisible", "--name", "").split())
        win.extension_menu_first_item()
        end = time.monotonic() + 120  # Calc's own validation message comes first …
        while not (refused := set(win.xdotool("search", "--onlyvisible", "--name", "").split()) - before):
            assert time.monotonic() < end, "no validation message"
            time.sleep(0.3)
        win.screenshot("refused.png")
        win.press_enter_in(refused.pop())
        win.press_enter_in(win.find_window(lo_macro.TITLE))  # … then ours: what the cells hold
        win.xdotool("windowfocus", "--sync", main, "key", "Escape", "sleep", "0.5")  # the clerk gives up
        win.save()
        assert _kpi_and_state(path, L.input_name(ratio, plan.period("FY"), "numerator"))[1:3] == (
            None,
            "current",
        )
        win.go_to(numerator)
        win.xdotool("type", "--delay", "25", "190")  # no Enter
        menu_calculate(win)
        win.xdotool("windowfocus", "--sync", main)
        win.save()
        clicked = _kpi_and_state(path, numerator)
        for _ in range(3):
            win.xdotool("windowfocus", "--sync", main, "key", "--clearmodifiers", "ctrl+z", "sleep", "0.5")
        win.save()  # Calc saves an unchanged document too
        undone = _kpi_and_state(path, numerator)
    _, typed, state, protected = clicked
    assert typed == 190 and state == "current", "the typed number was entered and calculated"
    assert all(protected.values()), protected
    assert undone == clicked, "Ctrl+Z after a click changed nothing"
