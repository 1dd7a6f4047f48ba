"""The whole cycle in ODF with only LibreOffice: the .ods template of ``kpi template -o FILE.ods``,
filled in LibreOffice, calculated with the 計算 button of the LibreOffice extension.

The button (clicked through the menu's dispatch, in a profile with ``kpi-workbook.oxt``
installed by ``unopkg``) writes exactly what ``kpi calculate FILE.ods`` writes, every sheet
stays protected, and ``kpi check`` (no LibreOffice) then finds the workbook calculated.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_libreoffice_button import _text, click, live_engine, lo, read_back  # noqa: F401 - lo is a fixture

from workbook.books.ods import OdsBook
from workbook.books.uno import store
from workbook.buttons.common import done_message
from workbook.cli import main
from workbook.form import layout as L
from workbook.form.calculate import calculate


@pytest.fixture(scope="module")
def filled(lo, plan, tmp_path_factory) -> Path:  # noqa: F811 - the imported fixture
    """The .ods template with the seed's 106 上半年 counts typed into its unlocked cells."""
    folder = tmp_path_factory.mktemp("odf_button")
    template = folder / "範本.ods"
    assert main(["template", "-o", str(template), "--year", "106"]) == 0
    names = OdsBook(template.read_bytes()).names()
    scope = L.Scope(plan, data_year=106)
    entries = {plan.sample.period: plan.sample.entries}
    doc = lo.open(template)
    try:
        for ind, p, role, name in scope.input_names():
            value = entries.get(p.id, {}).get(ind.id, {}).get(role)
            if value is not None:
                sheet, row, col = names[name]
                doc.Sheets.getByName(sheet).getCellByPosition(col - 1, row - 1).setValue(value)
        return store(doc, folder / "填報.ods")
    finally:
        doc.close(True)


def test_button_on_the_ods_template_equals_kpi_calculate(lo, filled, tmp_path) -> None:  # noqa: F811
    clicked, engine = tmp_path / "clicked.ods", tmp_path / "engine.ods"
    message = click(lo, filled, clicked, via="menu")
    outcome = live_engine(lo, filled, engine)
    assert not isinstance(outcome, Exception), outcome
    assert not outcome.has_errors and message == _text(done_message(outcome))
    got, want = read_back(lo, clicked), read_back(lo, engine)
    assert got.cells == want.cells
    assert got.unlocks == want.unlocks and all(
        v == "" for s, v in got.unlocks.items() if s != L.SHEET_META
    )  # protected, no password (the system sheet is left unprotected, issue 22)
    book = OdsBook(clicked.read_bytes(), str(clicked), formulas_visible=True)
    checked = calculate(book, write=False)
    assert checked.state == "current"
    value = checked.evaluation.result("procurement_pass_rate", "H1").value
    assert str(value) == "89.05"
