"""Typing every input of the seed template with the keyboard in a real LibreOffice window.

LibreOffice's AutoInput (on by default) completes what a clerk types against the texts
already in the same column: with 「100%」 beside the inputs, a typed ``10`` was stored as 1
(「100%」 read as a percent).  The template now keeps every column that holds input cells
free of text beginning with a digit; this test types each input of the seed template —
counts, 執行進度, 執行情形, 補充說明 and the 填報單位 — into the .xlsx and the .ods, saves
with Ctrl+S and reads back exactly what was stored.  The values are chosen to be prefixes of
the seed's targets (1, 8, 10, 11 …), so any such text left in an input column shows here.

It also types a numerator above its denominator (which validation lets through) and looks at
the screen: the cell turns red (its conditional format, from the engine's per-input check)
the moment Enter is pressed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from calc_window import CalcWindow, require_tools
from python_calamine import CalamineWorkbook

from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.styles import ERROR_FILL
from workbook.odf import write_template_ods

#: Full-year counts typed beside the seed's half-year ones: each a prefix of a seed target
#: (100%, 83%, 8%, 11.5%, ≤135) or of a number typed just before it in the same column.
FULL_YEAR = {
    "volunteer_growth": {"current": 11, "previous": 10},
    "procurement_pass_rate": {"numerator": 8, "denominator": 10},
    "e_tender_rate": {"numerator": 10, "denominator": 11},
    "failed_tender_rate": {"numerator": 1, "denominator": 13},
    "safety_defects": {"count": 1},
}
#: Texts are typed in ASCII, capitalised (AutoCorrect would capitalise them): xdotool types a CJK character by remapping a spare key for an
#: instant, and LibreOffice loses some of them (an artefact of the tool, not of the workbook).
UNIT = "Secretariat"


def _planned_inputs(plan, scope: L.Scope) -> dict[str, object]:
    """Defined name → what the clerk types (and what must be stored)."""
    sample = plan.sample.entries
    typed: dict[str, object] = {}
    for ind, period, role, name in scope.input_names():
        source = sample if period.id == "H1" else FULL_YEAR
        value = source[ind.id][role]
        typed[name] = 1 + len(typed) % 9 if value is None else value  # the seed leaves 志工 blank in H1
    for n, item in enumerate(scope.items):
        for period in scope.periods:
            typed[L.progress_name(item, period)] = [10, 100, 8, 1, 11, 0, 83][(n + len(typed)) % 7]
            typed[L.progress_text_name(item, period)] = f"Item {n + 1} {period.id}"
    for k, ind in enumerate(scope.indicators, start=1):
        for period in scope.periods:
            typed[L.notes_name(ind, period)] = f"Note {period.id} {k}"
    typed[L.UNIT_NAME] = UNIT
    return typed


def _addresses(xlsx: Path) -> dict[str, tuple[str, str]]:
    wb = openpyxl.load_workbook(xlsx)
    out = {}
    for name, dn in wb.defined_names.items():
        dests = list(dn.destinations)
        if len(dests) == 1:
            out[name] = (dests[0][0], dests[0][1].replace("$", ""))
    return out


def _stored(path: Path, where: dict[str, tuple[str, str]], names) -> dict[str, object]:
    """What the saved file holds at each name, read without LibreOffice."""
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        return {n: wb[where[n][0]][where[n][1]].value for n in names}
    book = CalamineWorkbook.from_path(str(path))
    grids: dict[str, list[list[object]]] = {}
    out = {}
    for n in names:
        sheet, ref = where[n]
        grid = grids.setdefault(sheet, book.get_sheet_by_name(sheet).to_python(skip_empty_area=False))
        col_letters, row = re.fullmatch(r"([A-Z]+)(\d+)", ref).groups()
        col = 0
        for ch in col_letters:
            col = col * 26 + ord(ch) - 64
        value = grid[int(row) - 1][col - 1]
        out[n] = int(value) if isinstance(value, float) and value.is_integer() else value
    return out


def _error_pixels(png: Path) -> int:
    from PIL import Image

    red = tuple(int(ERROR_FILL.colour[i : i + 2], 16) for i in (0, 2, 4))
    with Image.open(png) as img:
        return sum(1 for px in img.convert("RGB").get_flattened_data() if px == red)


@pytest.mark.parametrize("suffix", [".xlsx", ".ods"])
def test_every_input_typed_in_a_libreoffice_window_is_stored_as_typed(plan, tmp_path, suffix):
    require_tools()
    scope = L.Scope(plan)
    xlsx = write_template(scope, tmp_path / "layout.xlsx")
    where = _addresses(xlsx)
    path = tmp_path / f"填報{suffix}"
    if suffix == ".xlsx":
        shutil.copy(xlsx, path)
    else:
        write_template_ods(scope, path)
    typed = _planned_inputs(plan, scope)
    assert len(typed) == len(scope.input_names()) + 4 * len(scope.items) + 2 * len(scope.indicators) + 1

    with CalcWindow(path, tmp_path / "screen") as win:
        for name, value in typed.items():
            win.type_into(name, str(value))
        win.go_to(L.input_name(plan.indicator("e_tender_rate"), plan.periods[0], "numerator"))
        clean = win.screenshot("typed.png")
        win.save()
        # More 電子領標 than 招標 (10): validation lets it through, the cell turns red at once.
        win.type_into(L.input_name(plan.indicator("e_tender_rate"), plan.periods[0], "numerator"), "12")
        win.go_to(L.input_name(plan.indicator("e_tender_rate"), plan.periods[0], "denominator"))
        flagged = win.screenshot("formula.png")

    stored = _stored(path, where, typed)
    wrong = {n: (typed[n], stored[n]) for n in typed if stored[n] != typed[n]}
    assert wrong == {}, f"typed → stored differ (screens in {tmp_path / 'screen'})"
    assert _error_pixels(clean) == 0
    assert _error_pixels(flagged) > 500
