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
import zipfile
from pathlib import Path

import pytest
import yaml
from helpers_workbook import same_value

from kpi_engine import evaluate, load_plan, parse_plan
from kpi_engine.plan_loader import dump_plan
from workbook import libreoffice as lo
from workbook.books.file import FileBook
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


# -- issue 24: the .ods written without LibreOffice ------------------------------------------


def test_ods_template_is_written_without_libreoffice(plan, tmp_path, monkeypatch) -> None:
    """``kpi template -o FILE.ods`` starts no LibreOffice: both ways into it refuse here."""
    import workbook.books.uno as uno
    import workbook.odf as odf

    def refused(*_a, **_k):
        raise AssertionError("LibreOffice started for an .ods template")

    monkeypatch.setattr(odf, "convert_workbooks", refused)
    monkeypatch.setattr(uno, "office", refused)
    xlsx, ods = tmp_path / "t.xlsx", tmp_path / "t.ods"
    assert main(["template", "-o", str(xlsx), "--year", "106"]) == 0
    assert main(["template", "-o", str(ods), "--year", "106"]) == 0
    assert verify_ods(xlsx, ods.read_bytes()) == []
    with zipfile.ZipFile(ods) as z:
        assert z.infolist()[0].filename == "mimetype" and z.infolist()[0].compress_type == zipfile.ZIP_STORED


def _xlsxwriter_book(path: Path, password: str) -> None:
    """A workbook as XlsxWriter writes one (shared strings, its own style indexes), by hand."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    data = wb.add_worksheet("資料 一")
    calc = wb.add_worksheet("Calc")
    meta = wb.add_worksheet("_meta")
    meta.very_hidden()
    head = wb.add_format(
        {"bold": True, "bg_color": "#D9E2F3", "border": 1, "align": "center", "font_name": "標楷體"}
    )
    entry = wb.add_format({"locked": False, "bg_color": "#FFF2CC", "num_format": "0"})
    pct = wb.add_format({"num_format": "0.00%"})
    red = wb.add_format({"bg_color": "#F8696B", "font_color": "#FFFFFF", "bold": True})
    data.merge_range("A1:C1", "填報 it's", head)
    data.write_row("A2", ["件數", "總數"], head)
    data.write_number("A3", 7, entry)
    data.write_number("B3", 8, entry)
    data.write_string("C3", "兩  空格\n第二行")
    wb.define_name("COUNT", "='資料 一'!$A$3")
    wb.define_name("TOTAL", "='資料 一'!$B$3")
    data.data_validation(
        "A3:B3",
        {
            "validate": "integer", "criteria": ">=", "value": 0, "input_title": "件數",
            "input_message": "請輸入 0 以上的整數", "error_title": "輸入錯誤", "error_message": "整數 / whole number",
        },
    )  # fmt: skip
    calc.write_formula("A1", '=IF(TOTAL=0,"",COUNT/TOTAL)', pct)
    calc.write_formula("A2", "=_xlfn.ISFORMULA(A1)")
    calc.write_formula("A3", "=SUM('資料 一'!A3:B3)&\" 件, 共\"")
    calc.write_formula("A4", '=IF(A1>=0.8,"達成","未達成")')
    calc.write_formula("A5", "=ROUND(A1*100,2)")
    calc.conditional_format("A4", {"type": "cell", "criteria": "==", "value": '"未達成"', "format": red})
    calc.set_column("A:A", 20)
    calc.set_row(3, 30)
    calc.set_landscape()
    calc.set_paper(9)
    calc.fit_to_pages(1, 0)
    calc.set_footer("&C&A 第 &P 頁")
    data.protect(password)
    calc.protect(password)
    meta.write_string("A1", "x")
    wb.close()


def test_any_ooxml_writer_converts_and_recalculates_like_the_xlsx(tmp_path) -> None:
    """An XlsxWriter workbook: structure read back without LibreOffice, then every cell of the
    .ods recalculated by LibreOffice against the .xlsx recalculated by LibreOffice."""
    from python_calamine import CalamineWorkbook

    from workbook.books.ods_write import OdsFileBook
    from workbook.formats.xlsx_to_ods import PasswordUnknown, xlsx_to_ods

    xlsx = tmp_path / "w.xlsx"
    _xlsxwriter_book(xlsx, PASSWORD)
    with pytest.raises(PasswordUnknown):
        xlsx_to_ods(xlsx.read_bytes(), password="wrong")
    ods = tmp_path / "w.ods"
    ods.write_bytes(xlsx_to_ods(xlsx.read_bytes(), password=PASSWORD))

    book = OdsBook(ods.read_bytes(), "w.ods", formulas_visible=True)
    assert book.sheet_names() == ["資料 一", "Calc", "_meta"]
    assert book.hidden_sheets() == ["_meta"]
    assert book.names() == {"COUNT": ("資料 一", 3, 1), "TOTAL": ("資料 一", 3, 2)}
    assert book.validation("資料 一", 3, 2) == ("件數", "請輸入 0 以上的整數", "整數 / whole number")
    assert book.unlocked("資料 一", 3, 1) and not book.unlocked("資料 一", 2, 1)
    assert book.has_password("資料 一") and book.has_password("Calc") and not book.protected("_meta")
    assert OdsFileBook(ods)._plan_key("Calc", PASSWORD) and not OdsFileBook(ods)._plan_key("Calc", "x")
    assert book.grid("Calc")[1][0].upper().replace("_XLFN.", "") == "=ISFORMULA(A1)"
    assert book.grid("資料 一")[2][2] == "兩  空格\n第二行"

    recalculated = {}
    for src in (xlsx, ods):
        out = lo.recalculate(src, tmp_path / f"{src.suffix[1:]}.recalc.xlsx")
        wb = CalamineWorkbook.from_path(str(out))
        recalculated[src.suffix] = {s: wb.get_sheet_by_name(s).to_python() for s in wb.sheet_names}
    assert recalculated[".ods"] == recalculated[".xlsx"]
    calc = recalculated[".ods"]["Calc"]
    assert [row[0] for row in calc[:5]] == [0.875, True, "15 件, 共", "達成", 87.5]


def test_ods_plan_workbook_looks_like_the_xlsx(tmp_path) -> None:
    """The plan workbook as .ods printed through LibreOffice: the same pages as its .xlsx."""
    from PIL import Image, ImageChops, ImageStat

    lo.require_pdftoppm()
    xlsx, ods = tmp_path / "計畫設定.xlsx", tmp_path / "計畫設定.ods"
    assert main(["plan", "export", "-o", str(xlsx)]) == 0
    assert main(["plan", "export", "-o", str(ods)]) == 0
    assert zipfile.ZipFile(ods).namelist()[0] == "mimetype"
    pages = {}
    for f in (xlsx, ods):
        pdf = lo.convert_to_pdf(f, tmp_path / f"{f.suffix[1:]}.pdf")
        pages[f.suffix] = lo.pdf_to_pngs(pdf, tmp_path / f.suffix[1:], dpi=40)
    assert len(pages[".ods"]) == len(pages[".xlsx"]) >= 3
    for a, b in zip(pages[".xlsx"], pages[".ods"], strict=True):
        ia, ib = Image.open(a).convert("L"), Image.open(b).convert("L")
        assert ia.size == ib.size
        assert ImageStat.Stat(ImageChops.difference(ia, ib)).mean[0] < 1.0, a.name


def test_ods_summary_is_written_without_libreoffice_and_equals_the_xlsx(tmp_path, monkeypatch) -> None:
    """``kpi collect -o S.ods``: no LibreOffice; every cell the .xlsx summary holds, its charts as
    ODF chart objects over the same ranges, its frozen header rows printed on every page."""
    from python_calamine import CalamineWorkbook

    import workbook.books.uno as uno
    import workbook.odf as odf
    from workbook.demo import fill
    from workbook.form.builder import write_template

    plan = load_plan()
    h1 = plan.period(plan.sample.period)
    filled = tmp_path / "inbox" / "秘書處.xlsx"
    filled.parent.mkdir()
    scope = L.Scope(plan, unit=plan.agency, data_year=plan.sample.year)
    write_template(scope, tmp_path / "blank.xlsx")
    book = FileBook(tmp_path / "blank.xlsx")
    fill(book, scope, {h1.id: plan.sample.entries})
    book.save(filled)

    def refused(*_a, **_k):
        raise AssertionError("LibreOffice started for an .ods summary")

    monkeypatch.setattr(odf, "convert_workbooks", refused)
    monkeypatch.setattr(uno, "office", refused)
    xlsx, ods = tmp_path / "S.xlsx", tmp_path / "S.ods"
    assert main(["collect", str(filled.parent), "-o", str(xlsx)]) == 0
    assert main(["collect", str(filled.parent), "-o", str(ods)]) == 0
    a, b = CalamineWorkbook.from_path(str(xlsx)), CalamineWorkbook.from_path(str(ods))
    assert a.sheet_names == b.sheet_names
    for name in a.sheet_names:
        assert a.get_sheet_by_name(name).to_python() == b.get_sheet_by_name(name).to_python(), name
    with zipfile.ZipFile(ods) as z:
        charts = [n for n in z.namelist() if n.startswith("Object ") and n.endswith("/content.xml")]
        assert len(charts) == len([n for n in zipfile.ZipFile(xlsx).namelist() if n.startswith("xl/charts/")])
        assert charts and all(b"chart:values-cell-range-address" in z.read(n) for n in charts)
        assert b"<table:table-header-rows>" in z.read("content.xml")
