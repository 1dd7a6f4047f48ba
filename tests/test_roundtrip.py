"""Round trips: a filled workbook saved by LibreOffice, or again by openpyxl, still works.

The filled seed workbook (106 上半年 sample counts, staff notes, Part 3 progress) is

* ``libreoffice``: recalculated and saved as .xlsx by LibreOffice (a clerk who opens
  and saves it in LibreOffice Calc);
* ``openpyxl``: loaded and saved again by openpyxl;
* ``libreoffice+openpyxl``: both, in that order.

Each must keep every defined name at the same cell, the input validation, the sheet
protection with unlocked input cells and the very hidden metadata sheet, and must
calculate to exactly what the original calculates to, without touching input cells.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers_workbook import INPUT_PREFIXES, build_filled, cell_value, defined_cells, recalc_all
from openpyxl.worksheet.cell_range import MultiCellRange

from workbook import libreoffice as lo
from workbook.books.file import FileBook
from workbook.form import layout as L
from workbook.form.calculate import Outcome, calculate
from workbook.form.formulas import result_formulas

VARIANTS = ["libreoffice", "openpyxl", "libreoffice+openpyxl"]
VERY_HIDDEN_LOST = pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="LibreOffice 7.4 itself saves the veryHidden _kpi sheet as state='hidden' (anyone can unhide "
    "it from the menu); FileBook.save puts it back, see test_calculate_leaves_meta_sheet_very_hidden",
)
NOTES = {
    "procurement_pass_rate": '  另於7月辦理補訓。\n預計及格人數再增加 "12" 人  ',
    "safety_defects": "12",  # digits typed as text stay text
}


def _resave(src: Path, dst: Path) -> Path:
    wb = openpyxl.load_workbook(src)
    wb.save(dst)
    return dst


@pytest.fixture(scope="module")
def books(plan, tmp_path_factory) -> dict[str, Path]:
    """The original filled workbook and its round-tripped copies."""
    soffice = lo.require_soffice()
    folder = tmp_path_factory.mktemp("roundtrip")
    scope = L.Scope(plan, period_id=None, data_year=plan.sample.year)
    h1 = plan.period(plan.sample.period)
    notes: dict[str, Any] = {L.notes_name(plan.indicator(ind_id), h1): text for ind_id, text in NOTES.items()}
    for n, item in enumerate(scope.items[:3]):
        notes[L.progress_name(item, h1)] = 25 * (n + 1)
        notes[L.progress_text_name(item, h1)] = f"已完成第{n + 1}階段。"
    original, _ = build_filled(scope, {h1.id: plan.sample.entries}, folder / "filled.xlsx", notes=notes)
    recalculated = recalc_all([original], soffice)[original]
    return {
        "original": original,
        "libreoffice": recalculated,
        "openpyxl": _resave(original, folder / "filled.resaved.xlsx"),
        "libreoffice+openpyxl": _resave(recalculated, folder / "filled.lo.resaved.xlsx"),
    }


def _calculated(path: Path, folder: Path) -> tuple[Outcome, Path]:
    """Calculate a copy of ``path`` and save it; the outcome and the saved copy."""
    copy = folder / f"{path.stem}.calculated.xlsx"
    shutil.copyfile(path, copy)
    book = FileBook(copy)
    outcome = calculate(book)
    book.save()
    return outcome, copy


@pytest.fixture(scope="module")
def original_outcome(books, tmp_path_factory) -> Outcome:
    return _calculated(books["original"], tmp_path_factory.mktemp("original"))[0]


def _inputs(wb: openpyxl.Workbook) -> dict[str, Any]:
    where = defined_cells(wb)
    return {n: cell_value(wb, w) for n, w in sorted(where.items()) if n.startswith(INPUT_PREFIXES)}


@pytest.mark.parametrize("variant", VARIANTS)
def test_defined_names_point_to_the_same_cells(books, variant: str) -> None:
    before = defined_cells(openpyxl.load_workbook(books["original"]))
    after = defined_cells(openpyxl.load_workbook(books[variant]))
    assert len(before) > 150
    missing = sorted(set(before) - set(after))
    moved = {n: (before[n], after[n]) for n in before if n in after and after[n] != before[n]}
    assert not missing, f"defined names lost: {missing[:10]}"
    assert not moved, f"defined names moved: {dict(list(moved.items())[:10])}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_formulas_survive_as_the_normaliser_accepts_them(books, plan, variant: str) -> None:
    """Result formulas come back in a form calculate accepts (no 'formula_restored')."""
    from workbook.form.calculate import _normal_formula

    scope = L.Scope(plan, period_id=None, data_year=plan.sample.year)
    wb = openpyxl.load_workbook(books[variant])
    where = defined_cells(wb)
    changed = []
    for name, formula in result_formulas(scope).items():
        held = cell_value(wb, where[name])
        if _normal_formula(held) != _normal_formula(formula):
            changed.append(f"{name}: before {formula!r} after {held!r}")
    assert not changed, "\n".join(changed[:10])


@pytest.mark.parametrize("variant", VARIANTS)
def test_validation_and_protection_survive(books, variant: str) -> None:
    wb = openpyxl.load_workbook(books[variant])
    where = defined_cells(wb)
    inputs = {n: w for n, w in where.items() if n.startswith(INPUT_PREFIXES)}
    counts = {p: sum(n.startswith(p) for n in inputs) for p in INPUT_PREFIXES}
    assert all(counts.values()), counts
    for ws in wb.worksheets:
        if ws.sheet_state == "visible":
            assert ws.protection.sheet, f"sheet {ws.title} lost its protection"
            # staff may still resize rows and columns (False = not protected against)
            assert not ws.protection.formatColumns and not ws.protection.formatRows, ws.title
    for name, (sheet, address) in inputs.items():
        ws = wb[sheet]
        assert ws.protection.sheet, f"{name}: sheet {sheet} is not protected"
        assert ws[address].protection.locked is False, f"{name} ({sheet}!{address}) is locked"
        if not name.startswith(("IN_", "PROG_")):
            continue
        rules = [dv for dv in ws.data_validations.dataValidation if address in MultiCellRange(str(dv.sqref))]
        assert len(rules) == 1, f"{name} ({sheet}!{address}): {len(rules)} validation rules"
        dv = rules[0]
        if name.startswith("IN_"):
            assert (dv.type, dv.operator, str(dv.formula1)) == ("whole", "greaterThanOrEqual", "0"), name
        else:  # "between" is the format's default operator, which XlsxWriter leaves unwritten
            assert (dv.type, dv.operator or "between", str(dv.formula1), str(dv.formula2)) == (
                "whole",
                "between",
                "0",
                "100",
            )
        assert dv.showErrorMessage and dv.errorStyle in (None, "stop"), name
    for name, (sheet, address) in where.items():
        if name.startswith(("OUT_", "TXT_", "CHK_")):
            assert wb[sheet][address].protection.locked is not False, f"{name} is unlocked"


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param("libreoffice", marks=VERY_HIDDEN_LOST),
        "openpyxl",
        pytest.param("libreoffice+openpyxl", marks=VERY_HIDDEN_LOST),
    ],
)
def test_meta_sheet_stays_very_hidden(books, variant: str) -> None:
    assert openpyxl.load_workbook(books["original"])[L.SHEET_META].sheet_state == "veryHidden"
    assert openpyxl.load_workbook(books[variant])[L.SHEET_META].sheet_state == "veryHidden"


@pytest.mark.parametrize("variant", VARIANTS)
def test_calculate_leaves_meta_sheet_very_hidden(books, tmp_path, variant: str) -> None:
    _, saved = _calculated(books[variant], tmp_path)
    assert openpyxl.load_workbook(saved)[L.SHEET_META].sheet_state == "veryHidden"


@pytest.mark.parametrize("variant", VARIANTS)
def test_calculates_to_the_same_results(books, original_outcome, tmp_path, variant: str) -> None:
    outcome, _ = _calculated(books[variant], tmp_path)
    assert outcome.restored == []
    assert "formula_restored" not in {f.code for f in outcome.findings}
    before = original_outcome.evaluation.results
    after = outcome.evaluation.results
    assert [(r.indicator, r.period) for r in after] == [(r.indicator, r.period) for r in before]
    assert [r.sentence for r in after] == [r.sentence for r in before]
    assert [r.light for r in after] == [r.light for r in before]
    assert [r.cells for r in after] == [r.cells for r in before]
    assert [f.to_dict() for f in outcome.findings] == [f.to_dict() for f in original_outcome.findings]
    assert [s.to_dict() for s in outcome.evaluation.scores] == [
        s.to_dict() for s in original_outcome.evaluation.scores
    ]
    seeded = {(r.indicator, r.light) for r in after if r.period == "H1"}
    assert ("procurement_pass_rate", "green") in seeded and ("volunteer_growth", "white") in seeded


@pytest.mark.parametrize("variant", VARIANTS)
def test_input_cells_are_unchanged(books, tmp_path, variant: str) -> None:
    """Inputs are what staff typed after the round trip, and calculate does not touch them."""
    typed = _inputs(openpyxl.load_workbook(books["original"]))
    before = _inputs(openpyxl.load_workbook(books[variant]))
    _, saved = _calculated(books[variant], tmp_path)
    after = _inputs(openpyxl.load_workbook(saved))
    assert any(v is not None for v in typed.values())
    for name in typed:
        assert (type(before[name]), before[name]) == (type(typed[name]), typed[name]), name
        assert (type(after[name]), after[name]) == (type(before[name]), before[name]), name


@pytest.mark.parametrize("variant", VARIANTS)
def test_calculated_copy_is_still_a_valid_template(books, tmp_path, variant: str) -> None:
    """A round-tripped workbook, once calculated and saved, calculates again to the same."""
    first, saved = _calculated(books[variant], tmp_path)
    again = tmp_path / "again"
    again.mkdir()
    second, _ = _calculated(saved, again)
    assert [r.sentence for r in second.evaluation.results] == [r.sentence for r in first.evaluation.results]
    assert [f.code for f in second.findings] == [f.code for f in first.findings]
    assert second.restored == []
