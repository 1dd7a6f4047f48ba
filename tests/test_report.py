"""``kpi report``: the seed sample's report document reproduces the seed's Part 4.

The demo's calculated workbook goes through collect and the report writers; the
.odt and .docx are read back with odfpy and python-docx and compared, row by row,
with the Part 4 table of ``../shared/seed``.
"""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from report_support import docx_tables, odt_tables
from test_seed_part4 import SEED_SENTENCES

from kpi_engine.report_model import numbered, split_notes, zh_number
from workbook.cli import main
from workbook.demo import run_demo
from workbook.report import layout as K

PART4 = "第四部分：上(106)年度實施狀況及成果概述"


def seed_part4(seed_text: str) -> list[list[str]]:
    """The seed's Part 4 rows: goal number, goal, indicator, target, analysis."""
    part = seed_text.split(PART4)[-1]
    rows = [line.split("\t") for line in part.splitlines() if "\t" in line]
    return rows[1:]  # without the header


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    _, _, filled = run_demo(folder)
    return folder, filled


@pytest.fixture(scope="module")
def written(demo):
    folder, filled = demo
    out = {}
    for fmt in ("odt", "docx"):
        path = folder / f"report.{fmt}"
        assert main(["report", str(filled), "-o", str(path)]) == 0
        out[fmt] = path
    return out


@pytest.mark.parametrize("fmt", ["odt", "docx"])
def test_part4_rows_match_the_seed(written, seed_text, fmt):
    tables = (odt_tables if fmt == "odt" else docx_tables)(written[fmt])
    header, *rows = tables[0]
    assert header[:6] == ["策略績效目標", "衡量指標", "原訂目標值", "實際值", "達成率", "燈號"]
    assert header[-1] == "績效衡量暨達成情形分析"
    seed = seed_part4(seed_text)
    assert len(rows) == len(seed) == 5
    for mine, theirs in zip(rows, seed, strict=True):
        goal_no, goal, indicator, target, _analysis = theirs
        # Merged over its indicators; the weight is a line of its own so 「(15%)」 never splits.
        assert mine[0].replace(" (", "(") == (f"{goal_no} {goal}" if goal_no else "")
        assert mine[1].replace(" (", "(") == indicator
        assert mine[2] == target
    values = [(r[3], r[4], r[5]) for r in rows]
    assert values == [
        ("—", "—", "白燈"),
        ("89.05%", "100%", "綠燈"),
        ("100%", "100%", "綠燈"),
        ("7.47%", "100%", "綠燈"),
        ("63件", "100%", "綠燈"),
    ]
    analyses = [r[-1] for r in rows]
    # The ratio sentences, character for character (the seed's procurement line adds 「已辦理基礎班3班，」).
    for i, ind in ((1, "procurement_pass_rate"), (2, "e_tender_rate"), (3, "failed_tender_rate")):
        assert f"二、{SEED_SENTENCES[ind]}" in analyses[i]
    # Whole analysis cells equal the seed's where staff's notes are the seed's text.
    assert analyses[2] == seed[2][4]
    assert analyses[3] == seed[3][4]
    assert analyses[1] == seed[1][4].replace("截至6月30日止，已辦理基礎班3班，", "截至6月30日止，")


@pytest.mark.parametrize("fmt", ["odt", "docx"])
def test_scores_and_common_indicators(written, fmt):
    tables = (odt_tables if fmt == "odt" else docx_tables)(written[fmt])
    scores = {row[0]: row[1:] for row in tables[1][1:]}
    assert scores["策略績效目標二　強化採購專業智識，有效提升本府採購效益"] == ["40%", "40%", "40", "100%"]
    assert scores["策略績效目標一　推動本處志願服務工作"] == ["15%", "0%", "0", "—"]
    assert scores["本計畫合計"] == ["70%", "55%", "55", "100%"]
    text = _all_text(written[fmt], fmt)
    assert "其餘 30% 屬計畫外之共同性指標" in text
    assert "106年1月1日至6月30日止" in text
    assert "上(106)年度實施狀況及成果概述" in text


def _all_text(path: Path, fmt: str) -> str:
    if fmt == "odt":
        from odf import teletype
        from odf.opendocument import load
        from odf.text import P

        return "\n".join(teletype.extractText(p) for p in load(str(path)).getElementsByType(P))
    import docx

    return "\n".join(p.text for p in docx.Document(str(path)).paragraphs)


def test_part3_rows_only_where_there_is_progress(written, plan):
    """The demo reports no Part 3 progress: no table of 26 blank rows, one line saying so."""
    assert len(odt_tables(written["odt"])) == 2  # Part 4 and the scores
    for fmt in ("odt", "docx"):
        assert K.ITEMS_EMPTY_ONE in _all_text(written[fmt], fmt)


@pytest.mark.parametrize("fmt", ["odt", "docx"])
def test_plan_form_is_the_plans_four_columns(demo, tmp_path, seed_text, fmt):
    path = tmp_path / f"plan.{fmt}"
    assert main(["report", str(demo[1]), "-o", str(path), "--form", "plan"]) == 0
    tables = (odt_tables if fmt == "odt" else docx_tables)(path)
    assert len(tables) == 1  # no scores, lights or Part 3: the plan's Part 4 only
    header, *rows = tables[0]
    assert header == ["策略績效目標", "衡量指標", "原訂目標值", "績效衡量暨達成情形分析"]
    assert len(rows) == len(seed_part4(seed_text)) == 5
    assert "89.05%(187人/210人)" in rows[1][3] and "7.47%(48件/643件)" in rows[3][3]
    assert _all_text(path, fmt).splitlines()[0] == "第四部分：上(106)年度實施狀況及成果概述"
    assert "第四部分：上(106)年度實施狀況及成果概述" in seed_text  # the title as the plan prints it


def test_plan_form_pdf_prints_every_text_whole_in_a_taiwanese_font(demo, tmp_path, plan):
    from workbook.libreoffice import require_soffice

    require_soffice()
    pdf = tmp_path / "plan.pdf"
    assert main(["report", str(demo[1]), "-o", str(pdf), "--form", "plan"]) == 0
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True).stdout
    text = "".join(raw.split())  # content order (-raw): a cell's wrapped lines join up again
    assert "第四部分：上(106)年度實施狀況及成果概述" in text
    for goal in plan.goals:
        assert "".join(goal.name.split()) in text, goal.name
    for ind in plan.indicators:
        assert "".join(ind.name.split()) in text, ind.name
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    if "AR PL UKai TW" in K.installed_fonts():  # CI installs fonts-arphic-ukai
        assert "UKaiTW" in fonts and "jp" not in fonts.lower()  # ，。 centred, not Japanese forms


def test_score_rate_is_rounded_once_as_the_achievement_rate():
    """One indicator of weight 15 at 94.49%: the 得分率 is 94.49%, not 94.47% (14.17 ÷ 15)."""
    from decimal import Decimal

    from kpi_engine.report_model import ScoreLine

    rate = Decimal("94.49")
    line = ScoreLine("G3", "三", Decimal(15), Decimal(15), Decimal("14.17"), Decimal(15) * rate / 100)
    assert line.percent == rate


def test_odt_is_a4_landscape_in_kai_with_page_numbers(written):
    import zipfile

    with zipfile.ZipFile(written["odt"]) as z:
        xml = z.read("content.xml").decode() + z.read("styles.xml").decode()
    assert 'fo:page-width="29.7cm"' in xml and 'fo:page-height="21.0cm"' in xml
    assert 'svg:font-family="標楷體"' in xml
    assert "text:page-number" in xml
    assert 'style:country-asian="TW"' in xml


def test_notes_numbering():
    assert (
        zh_number(1) == "一"
        and zh_number(10) == "十"
        and zh_number(12) == "十二"
        and zh_number(23) == "二十三"
    )
    assert numbered(["只有一段。"]) == ("只有一段。",)
    assert numbered(["甲。", "", "乙。"]) == ("一、甲。", "二、乙。")
    # Numbering staff typed themselves is not doubled.
    assert split_notes("一、甲。\n二、乙。\r\n") == ["甲。", "乙。"]


def test_pdf_through_libreoffice(demo, tmp_path):
    from workbook.libreoffice import require_soffice

    require_soffice()
    pdf = tmp_path / "report.pdf"
    assert main(["report", str(demo[1]), "-o", str(pdf)]) == 0
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "89.05%" in text and "7.47%" in text and "第 1 頁" in text
    # No number broken over two lines (「達成率10 / 0%」, 「2│0 名」): no line of a sentence ends
    # in a number the next line continues.
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True).stdout
    broken = re.findall(r"[\u4e00-\u9fff，、（(] ?\d+\n[\d%.,]", raw)  # pdftotext: 「率 10」
    assert broken == [], broken
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "CJK" in fonts or "Kai" in fonts  # a Chinese font, never a box of tofu


def test_bad_output_name_is_a_message(demo, tmp_path, capsys):
    assert main(["report", str(demo[1]), "-o", str(tmp_path / "report.txt")]) == 2
    assert ".odt、.docx 或 .pdf" in capsys.readouterr().err


def test_nothing_to_report(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty"), "-o", str(tmp_path / "r.odt")]) == 2
    assert "沒有可供報告的填報資料" in capsys.readouterr().err
    assert not (tmp_path / "r.odt").exists()


def test_value_units(written):
    rows = odt_tables(written["odt"])[0]
    assert rows[5][3] == "63件"  # a count shows its unit
    assert Decimal(rows[2][3].rstrip("%")) == Decimal("89.05")


@pytest.fixture(scope="module")
def three_units(plan, tmp_path_factory):
    from report_support import COUNTS_107, make_workbook

    from workbook.books.file import FileBook
    from workbook.form import layout as L
    from workbook.form.calculate import calculate

    folder = tmp_path_factory.mktemp("units")
    for n, unit in enumerate(["甲區公所", "乙區公所", "丙區公所"]):
        counts = dict(COUNTS_107, safety_defects={"count": 50 + 20 * n})
        path = make_workbook(plan, folder, f"{unit}.xlsx", year=107, unit=unit, entries=counts)
        if n == 1:  # one unit reports on a Part 3 item
            book = FileBook(path)
            names = book.names()
            item, period = plan.work_plans[0].items[0], plan.period("H1")
            for name, value in (
                (L.progress_name(item, period), 80),
                (L.progress_text_name(item, period), "已與2個姊妹市互訪。"),
            ):
                sheet, row, col = names[name]
                book.write(sheet, row, col, [[value]])
            calculate(book)
            book.save()
    return folder


def test_a_report_of_several_units(three_units, tmp_path):
    import zipfile

    out = tmp_path / "units.odt"
    assert main(["report", str(three_units), "-o", str(out)]) == 0
    tables = odt_tables(out)
    # Per unit: Part 4 and scores; Part 3 only for the unit that wrote any.
    part4 = [t for t in tables if t[0][0] == "策略績效目標" and len(t[0]) == 7]
    assert len(part4) == 3
    lights = [[r[5] for r in t[1:]] for t in part4]
    # Units in code-point order (丙 乙 甲): defects 90, 70, 50 project to 182, 141, 101 against ≤120.
    assert [row[-1] for row in lights] == ["紅燈", "紅燈", "綠燈"]
    part3 = [t for t in tables if t[0][0] == "工作計畫"]
    assert len(part3) == 1
    assert len(part3[0]) == 2  # the header and the one item reported on: no 25 blank rows
    assert part3[0][1][2:] == ["80%", "已與2個姊妹市互訪。"]
    text = _all_text(out, "odt")
    assert (
        text.index("填報單位：丙區公所") < text.index("填報單位：乙區公所") < text.index("填報單位：甲區公所")
    )
    with zipfile.ZipFile(out) as z:
        pictures = [n for n in z.namelist() if n.startswith("Pictures/")]
    assert len(pictures) == 2  # 達成率 by unit, weighted scores by unit


#: A page-number footer as either writer prints it (「第 3 頁」, 「第3頁」).
PAGE_NUMBER = re.compile(r"^第\s*\d+\s*頁")


def _pages_opening_with_the_note(pdf: Path) -> list[list[str]]:
    """The pages of ``pdf`` whose text (page number aside) begins with the 加權分數 note."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    out = []
    for page in text.split("\f"):
        body = [
            line.strip() for line in page.splitlines() if line.strip() and not PAGE_NUMBER.match(line.strip())
        ]
        if body and body[0].startswith("註：加權得分"):
            out.append(body)
    return out


@pytest.fixture(scope="module")
def table_ends_near_a_page_bottom(plan):
    """Twenty units whose Part 4 grows by a line each (a longer 補充說明), one unit to a page
    run: somewhere the score table ends at a page's foot, where the two-line note would be
    pushed alone onto the next page unless it is kept with its table."""
    from kpi_engine import evaluate, sample_entries
    from kpi_engine.report_model import UnitData, build_report

    ev = evaluate(plan, sample_entries(plan), targets="previous", year=plan.sample.year)
    sentence = "本季辦理採購專業人員訓練並檢討流廢標原因，" * 40
    units = {
        f"單位{k:02d}": UnitData(
            results=list(ev.results), notes={"safety_defects": sentence[: 40 * k] + "。"}
        )
        for k in range(20)
    }
    return build_report(plan, year=plan.sample.year, period_id=plan.sample.period, units=units)


def test_no_page_holds_only_the_score_note(table_ends_near_a_page_bottom, tmp_path, monkeypatch):
    """Printed through LibreOffice (the PDF from the .odt, and the .docx), no page opens with the
    note, so none holds only it.  The same data with the .odt's keep-together switched off does
    leave the note alone: the data reaches a page's foot on this machine's fonts."""
    from workbook.libreoffice import convert_to_pdf, require_soffice
    from workbook.report import odt
    from workbook.report.document import write_report

    require_soffice()
    report = table_ends_near_a_page_bottom
    assert _pages_opening_with_the_note(write_report(report, tmp_path / "kept.pdf")) == []
    docx = write_report(report, tmp_path / "kept.docx")
    assert _pages_opening_with_the_note(convert_to_pdf(docx, tmp_path / "kept_docx.pdf")) == []
    table = odt._Doc.table
    monkeypatch.setattr(odt._Doc, "table", lambda d, name, widths, keep=False: table(d, name, widths))
    alone = _pages_opening_with_the_note(write_report(report, tmp_path / "not_kept.pdf"))
    assert alone and all(len(body) <= 3 for body in alone)  # the note's lines and nothing else


def test_one_unit_report_has_no_chart(written):
    import zipfile

    with zipfile.ZipFile(written["odt"]) as z:
        assert not [n for n in z.namelist() if n.startswith("Pictures/")]


def test_period_and_year_choices(demo, tmp_path, capsys):
    filled = str(demo[1])
    assert main(["report", filled, "--period", "全年度", "-o", str(tmp_path / "r.odt")]) == 2
    assert "沒有 全年度 的資料" in capsys.readouterr().err
    assert main(["report", filled, "--year", "107", "-o", str(tmp_path / "r.odt")]) == 2
    assert "沒有 107 年度的資料（現有 106）" in capsys.readouterr().err
    assert (
        main(["report", filled, "--period", "上半年", "--year", "106", "-o", str(tmp_path / "r.docx")]) == 0
    )


def test_pdf_without_libreoffice_says_so(demo, tmp_path, monkeypatch, capsys):
    import workbook.libreoffice as lo

    monkeypatch.setattr(lo, "find_soffice", lambda: None)
    assert main(["report", str(demo[1]), "-o", str(tmp_path / "r.pdf")]) == 2
    assert "產生 PDF 需要 LibreOffice" in capsys.readouterr().err
    assert not (tmp_path / "r.pdf").exists()
    # .odt and .docx need no LibreOffice.
    assert main(["report", str(demo[1]), "-o", str(tmp_path / "r.odt")]) == 0


@pytest.mark.parametrize("fmt", ["odt", "docx"])
def test_control_characters_pasted_from_word(seed_eval, plan, tmp_path, fmt):
    from kpi_engine.report_model import UnitData, build_report
    from workbook.report.document import write_report

    notes = {"e_tender_rate": "約50%\x0b（詳附件）\x07"}
    report = build_report(
        plan, year=106, period_id="H1", units={"單位\x0c甲": UnitData(seed_eval.results, notes)}
    )
    path = write_report(report, tmp_path / f"r.{fmt}")
    tables = (odt_tables if fmt == "odt" else docx_tables)(path)
    assert "一、約50% （詳附件）" in tables[0][3][-1]


def test_demo_writes_the_report(tmp_path, capsys):
    from workbook.libreoffice import require_pdftoppm, require_soffice

    require_soffice()
    require_pdftoppm()
    assert main(["demo", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    odt = next(tmp_path.glob("*_達成情形報告.odt"))
    assert f"達成情形報告 / report: {odt}" in printed
    assert odt_tables(odt)[0][2][3] == "89.05%"
    assert next(tmp_path.glob("*_達成情形報告.pdf")).stat().st_size > 0
    assert list(tmp_path.glob("*_達成情形報告-1.png"))


def test_a_summary_workbook_is_read_back(three_units, tmp_path):
    summary = tmp_path / "summary.xlsx"
    assert main(["collect", str(three_units), "-o", str(summary)]) in (0, 1)
    from_files, from_summary = tmp_path / "a.odt", tmp_path / "b.odt"
    assert main(["report", str(three_units), "-o", str(from_files)]) == 0
    assert main(["report", str(summary), "-o", str(from_summary)]) == 0
    # The same numbers, lights and sentences whether from the workbooks or their summary.
    part4 = lambda path: [t for t in odt_tables(path) if t[0][0] == "策略績效目標" and len(t[0]) == 7]  # noqa: E731
    mine, theirs = part4(from_summary), part4(from_files)
    assert len(mine) == 3
    assert [[r[:6] for r in t] for t in mine] == [[r[:6] for r in t] for t in theirs]
    assert [[r[-1] for r in t] for t in mine] == [[r[-1] for r in t] for t in theirs]


def test_without_matplotlib_the_report_has_no_charts(three_units, tmp_path, monkeypatch):
    import sys
    import zipfile

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    out = tmp_path / "r.odt"
    assert main(["report", str(three_units), "-o", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        assert not [n for n in z.namelist() if n.startswith("Pictures/")]


def test_by_unit_charts_only_while_a_page_can_show_them(three_units, tmp_path, monkeypatch):
    """Three units: the two by-unit charts. Over MAX_CHART_UNITS (40; 2 here), none: the bars would
    be unreadable and the bitmap of 300 units alone took hundreds of MB; the tables say it."""
    import zipfile

    pytest.importorskip("matplotlib")
    from workbook.report import charts

    pictures = []
    for cap in (charts.MAX_CHART_UNITS, 2):
        monkeypatch.setattr(charts, "MAX_CHART_UNITS", cap)
        out = tmp_path / f"r{cap}.odt"
        assert main(["report", str(three_units), "-o", str(out)]) == 0
        with zipfile.ZipFile(out) as z:
            pictures.append(len([n for n in z.namelist() if n.startswith("Pictures/")]))
    assert pictures == [2, 0]


@pytest.mark.parametrize("fmt", ["odt", "docx"])
def test_units_overview_table(three_units, tmp_path, fmt):
    out = tmp_path / f"r.{fmt}"
    assert main(["report", str(three_units), "-o", str(out)]) == 0
    overview = (odt_tables if fmt == "odt" else docx_tables)(out)[0]
    assert overview[0] == [
        "填報單位",
        "目標一（15）",
        "目標二（40）",
        "目標三（15）",
        "合計",
        "已評估權重",
        "得分率",
    ]
    # 甲 (defects 50 → 101 ≤ 120): e-tender 9/10 scores 9 of its 10; everything else full marks.
    assert [r[0] for r in overview[1:]] == ["丙區公所", "乙區公所", "甲區公所"]
    assert overview[3][1:] == ["15", "39", "15", "69", "70%", "98.57%"]
