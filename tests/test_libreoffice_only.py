"""The 計算 button on a PC with nothing but LibreOffice.

The extension is installed as IT installs it (``unopkg add --shared``, into a shared store of
the test's own) and as a user does (``unopkg add`` into the profile), with no Python recorded
for the bridge.  soffice runs with ``tests/lo_guard`` on PYTHONPATH: its Python then sees no
site-packages, no dist-packages and not this checkout, only LibreOffice's UNO modules, as on
Windows.  Each click is what 「績效指標 → 計算」 does: the menu's command URL dispatched to the
document's frame.  It must give exactly what ``kpi calculate`` gives, load the engine, PyYAML
from the extension's bundle, be one undo step, calculate once when clicked
twice, and answer a read-only document with what to press.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cli_support import REPO
from test_libreoffice_button import (  # noqa: F401 - cases is a fixture
    assert_same_cells,
    cases,
    read_back,
    require_uno,
)

from workbook.books import unocore
from workbook.books.uno import import_uno, office, props, store
from workbook.buttons import lo_macro
from workbook.buttons.common import done_message
from workbook.buttons.oxt import BRIDGE_URL, COMMAND_URL, prepare_profile, prepare_shared
from workbook.form import layout as L

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
    for package in ("workbook", "kpi_engine", "yaml"):
        assert "kpi-workbook.oxt/python/pythonpath.zip/" in origins[package], (package, origins)
    assert "jsonschema" not in origins  # the workbook's plan is trusted by its fingerprint
    assert "hidden yaml" in "\n".join(loaded) or "yaml" in origins  # the guard saw the system's PyYAML


def test_one_undo_step_and_one_calculation_for_two_clicks(only_lo, cases, tmp_path):  # noqa: F811 - the imported fixture
    """Clicked twice quickly: one calculation, one entry in Edit → Undo; a later click: another.

    (Headless LibreOffice records no undo actions for API writes, so what one Ctrl+Z takes back
    is not checked here; the undo context is what makes it one step in a Calc window.)
    """
    case = cases["seed"]
    doc = _open(only_lo, case.path)
    try:
        kpi = doc.Sheets.getByName(L.SHEET_META)
        first = _dispatch(only_lo, doc)
        stamp = unocore.read_grid(kpi, *unocore.used_extent(kpi))
        second = _dispatch(only_lo, doc)  # clicked twice quickly: the last message, no second run
        undo = doc.getUndoManager()
        assert first == second and "計算" in first
        assert undo.getAllUndoActionTitles() == (lo_macro.UNDO_TITLE,)
        assert unocore.read_grid(kpi, *unocore.used_extent(kpi)) == stamp
        sheet, row, col = next(
            v for k, v in unocore.named_cells(doc).items() if k.startswith("NOTE_")
        )  # staff retype a note, then click again
        cell = doc.Sheets.getByName(sheet).getCellByPosition(col - 1, row - 1)
        cell.setString(cell.getString())
        time.sleep(lo_macro.AGAIN)  # no longer the same click
        assert _dispatch(only_lo, doc) == first
        titles = undo.getAllUndoActionTitles()  # the retyped note is an entry of its own
        assert titles[0] == titles[-1] == lo_macro.UNDO_TITLE and titles.count(lo_macro.UNDO_TITLE) == 2
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
