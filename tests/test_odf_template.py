"""``kpi template -o FILE.ods``: the .ods template against the .xlsx one, in a real LibreOffice.

* structure, read back without LibreOffice: the same sheets, named ranges, formulas, data
  validation messages, protection with unlocked inputs, hidden metadata sheet;
* in LibreOffice over UNO: counts typed into the protected .ods template's unlocked inputs
  are accepted, its formulas compute what the engine computes, a locked cell is refused,
  and a plan's sheet password protects every sheet (a wrong one does not lift it);
* the look: both templates printed through LibreOffice give the same pages, pixel for pixel
  within anti-aliasing.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import yaml
from helpers_workbook import same_value

from kpi_engine import evaluate, parse_plan
from kpi_engine.plan_loader import dump_plan
from workbook import libreoffice as lo
from workbook.books.ods import OdsBook
from workbook.cli import main
from workbook.form import layout as L
from workbook.odf import verify_ods

PASSWORD = "kpi-107"


@pytest.fixture(scope="module")
def templates(plan, tmp_path_factory) -> dict[str, Path]:
    lo.require_soffice()
    folder = tmp_path_factory.mktemp("ods_template")
    data = yaml.safe_load(plan.text)
    data.setdefault("options", {})["password"] = PASSWORD
    locked = folder / "locked.yaml"
    locked.write_text(dump_plan(data), encoding="utf-8")
    out = {}
    for key, args in (("seed", []), ("locked", [str(locked)])):
        for fmt in ("xlsx", "ods"):
            path = folder / f"{key}.{fmt}"
            assert main(["template", *args, "-o", str(path), "--year", "106"]) == 0
            out[f"{key}.{fmt}"] = path
    return out


def test_ods_template_has_everything_the_xlsx_has(templates) -> None:
    for key in ("seed", "locked"):
        assert verify_ods(templates[f"{key}.xlsx"], templates[f"{key}.ods"].read_bytes()) == []
        book = OdsBook(templates[f"{key}.ods"].read_bytes(), key)
        assert book.hidden_sheets() == [L.SHEET_META]
        # every form sheet protected; the system sheet _kpi is not (issue 22: the button writes only there)
        assert all(book.protected(s) for s in book.sheet_names() if s != L.SHEET_META)
        assert not book.protected(L.SHEET_META)
        assert len(book.names()) > 150
    assert oct(templates["seed.ods"].stat().st_mode & 0o777) == oct(
        templates["seed.xlsx"].stat().st_mode & 0o777
    )


def test_check_of_the_blank_ods_template(templates, capsys) -> None:
    assert main(["check", str(templates["seed.ods"]), "--json"]) == 0
    assert '"not_calculated"' in capsys.readouterr().out


def test_password_is_carried_into_the_ods(templates) -> None:
    """Every form sheet keyed with the plan's password; _kpi protected without one, as in the .xlsx."""
    locked = OdsBook(templates["locked.ods"].read_bytes(), "locked.ods")
    keyed = [s for s in locked.sheet_names() if locked.has_password(s)]
    assert keyed == [s for s in locked.sheet_names() if s != L.SHEET_META] and len(keyed) == 10
    seed = OdsBook(templates["seed.ods"].read_bytes(), "seed.ods")
    assert not any(seed.has_password(s) for s in seed.sheet_names())


def test_the_ods_template_computes_in_libreoffice(templates, plan) -> None:
    """Type the seed counts into the protected .ods template, as staff would, and read the results."""
    from workbook.books.uno import office

    scope = L.Scope(parse_plan(plan.text), data_year=106)
    h1 = plan.period(plan.sample.period)
    entries = {h1.id: plan.sample.entries}
    ev = evaluate(scope.plan, entries, targets=scope.targets, year=106, cells=True)
    names = OdsBook(templates["locked.ods"].read_bytes()).names()
    with office() as session:
        doc = session.open(templates["locked.ods"])
        try:
            sheets = doc.Sheets
            for ind, p, role, name in scope.input_names():
                value = entries.get(p.id, {}).get(ind.id, {}).get(role)
                if value is not None:
                    sheet, row, col = names[name]
                    assert sheets.getByName(sheet).isProtected()
                    sheets.getByName(sheet).getCellByPosition(col - 1, row - 1).setValue(value)
            doc.calculateAll()
            compared = 0
            for r in ev.results:
                ind, p = plan.indicator(r.indicator), plan.period(r.period)
                for step, expected in r.cells.items():
                    sheet, row, col = names[L.step_name(ind, p, step)]
                    cell = sheets.getByName(sheet).getCellByPosition(col - 1, row - 1)
                    shown = cell.getString() if isinstance(expected, str) else cell.getValue()
                    if isinstance(expected, str) or expected is None:
                        assert cell.getString() == (expected or ""), (ind.id, p.id, step)
                    else:
                        assert same_value(expected, shown, plan.options.decimals), (ind.id, p.id, step, shown)
                    compared += 1
            assert compared >= 20  # every result step of the five indicators in 上半年
            # a locked cell refuses a typed value, and only the plan's password lifts protection
            sheet_name, row, col = names[L.result_name(plan.indicator("procurement_pass_rate"), h1, "value")]
            sheet = sheets.getByName(sheet_name)
            locked = sheet.getCellRangeByPosition(col - 1, row - 1, col - 1, row - 1)
            with pytest.raises(Exception) as refused:
                locked.setDataArray(((1.0,),))
            assert "RuntimeException" in type(refused.value).__name__
            with contextlib.suppress(Exception):  # a wrong password: IllegalArgumentException
                sheet.unprotect("wrong")
            assert sheet.isProtected()
            sheet.unprotect(PASSWORD)
            assert not sheet.isProtected()
        finally:
            doc.close(True)


def test_ods_template_looks_like_the_xlsx(templates, tmp_path) -> None:
    from PIL import Image, ImageChops, ImageStat

    lo.require_pdftoppm()
    pages = {}
    for fmt in ("xlsx", "ods"):
        pdf = lo.convert_to_pdf(templates[f"seed.{fmt}"], tmp_path / f"{fmt}.pdf")
        pages[fmt] = lo.pdf_to_pngs(pdf, tmp_path / fmt, dpi=40)
    assert len(pages["ods"]) == len(pages["xlsx"]) >= 10
    for a, b in zip(pages["xlsx"], pages["ods"], strict=True):
        ia, ib = Image.open(a).convert("L"), Image.open(b).convert("L")
        assert ia.size == ib.size, (a.name, ia.size, ib.size)  # paper size and orientation
        mean = ImageStat.Stat(ImageChops.difference(ia, ib)).mean[0]
        assert mean < 1.0, (a.name, mean)  # anti-aliasing only; a moved row or lost fill is far more
