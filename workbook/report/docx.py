"""The report as a Word document (.docx), written with python-docx."""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from kpi_engine.narrative import number_text
from kpi_engine.report_model import Report, UnitSection
from workbook.formats.files import save_atomic
from workbook.report import layout as K
from workbook.report.charts import Chart

_ALIGN = {"start": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER}


def _font(run, font: str, size: float, bold: bool = False, colour: str | None = None) -> None:
    run.font.name = font
    run.font.size = Pt(size)
    run.font.bold = bold
    if colour:
        run.font.color.rgb = RGBColor.from_string(colour)
    # Word picks the East Asian font from rFonts/@eastAsia, not from font.name.
    rfonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), font)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:eastAsia"), "zh-TW")
    run._element.get_or_add_rPr().append(lang)


def _para(
    container,
    text: str,
    font: str,
    *,
    size: float = 10.5,
    bold: bool = False,
    align: str = "start",
    colour: str | None = None,
    first: bool = False,
):
    p = (
        container.paragraphs[0]
        if first and container.paragraphs and not container.paragraphs[0].text
        else container.add_paragraph()
    )
    p.alignment = _ALIGN[align]
    p.paragraph_format.space_after = Pt(1)
    _font(p.add_run(K.xml_safe(text)), font, size, bold, colour)
    return p


def _heading(doc, text: str, font: str) -> None:
    """A table's heading, kept on the page of its table."""
    _para(doc, text, font, size=12, bold=True).paragraph_format.keep_with_next = True


def _shade(cell, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _fill(
    cell,
    texts,
    font: str,
    *,
    align: str = "start",
    bold: bool = False,
    fill: str | None = None,
    colour: str | None = None,
) -> None:
    for i, t in enumerate([texts] if isinstance(texts, str) else (texts or [""])):
        _para(cell, t, font, bold=bold, align=align, colour=colour, first=i == 0)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    if fill:
        _shade(cell, fill)


def _table(doc, cols: list[tuple[str, float]], font: str):
    table = doc.add_table(rows=1, cols=len(cols))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, (_, width) in zip(table.columns, cols, strict=True):
        column.width = Cm(width)  # the grid LibreOffice lays out by; cell widths are what Word uses
    header = table.rows[0]
    # Repeat the header on every page the table runs over.
    trpr = header._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    trpr.append(flag)
    for cell, (label, width) in zip(header.cells, cols, strict=True):
        cell.width = Cm(width)
        _fill(cell, label, font, align="center", bold=True, fill=K.HEADER_FILL)
    return table


def _row(table, cols):
    cells = table.add_row().cells
    for cell, (_, width) in zip(cells, cols, strict=True):
        cell.width = Cm(width)
    return cells


def _part4(doc, report: Report, section: UnitSection, font: str, form: str = K.DEFAULT_FORM) -> None:
    cols = K.columns(report, form)
    table = _table(doc, cols, font)
    for goal_first, count in section.goal_runs():
        start = section.lines.index(goal_first)
        top = None
        for k, line in enumerate(section.lines[start : start + count]):
            cells = _row(table, cols)
            if k == 0:
                top = cells[0]
                _fill(top, line.goal_lines, font, align="center")
            elif top is not None:
                top.merge(cells[0])
            fill, ink = K.light_fill(line.light)
            _fill(cells[1], line.indicator_lines, font)
            _fill(cells[2], line.target, font, align="center")
            if form == "plan":  # the plan's four columns: the analysis says value and rate
                _fill(cells[3], list(line.paragraphs) or [""], font)
                continue
            _fill(cells[3], line.value_text, font, align="center")
            _fill(cells[4], line.rate_text, font, align="center")
            _fill(cells[5], line.light_text, font, align="center", bold=True, fill=fill, colour=ink)
            c = 6
            if report.compare_year:
                prev = line.previous
                _fill(cells[6], prev.value_text if prev else "—", font, align="center")
                _fill(cells[7], prev.change_text if prev and prev.change_text else "—", font, align="center")
                c = 8
            _fill(cells[c], list(line.paragraphs) or [""], font)


def _scores(doc, report: Report, section: UnitSection, font: str) -> None:
    _heading(doc, "加權分數", font)
    table = _table(doc, K.SCORE_COLUMNS, font)
    for s in (*section.goal_scores, section.plan_score):
        bold = s is section.plan_score
        cells = _row(table, K.SCORE_COLUMNS)
        pct = s.percent
        values = [
            s.label,
            f"{number_text(s.weight)}%",
            f"{number_text(s.assessed_weight)}%",
            number_text(s.score),
            "—" if pct is None else f"{number_text(pct)}%",
        ]
        for i, (cell, v) in enumerate(zip(cells, values, strict=True)):
            _fill(cell, v, font, align="start" if i == 0 else "center", bold=bold)
            for p in cell.paragraphs:  # the table stays with its note: never a page of only the note
                p.paragraph_format.keep_with_next = True
    _para(
        doc,
        "註：加權得分＝Σ（指標權重×達成率）；未評估之指標（白燈）不計入，得分率＝加權得分÷已評估權重。"
        + report.weight_note,
        font,
        size=10,
    )


def _part3(doc, report: Report, n: int, font: str) -> None:
    _heading(doc, "重要施政計畫執行情形", font)
    table = _table(doc, K.ITEM_COLUMNS, font)
    top, current = None, None
    for item in K.reported_items(report, n):
        cells = _row(table, K.ITEM_COLUMNS)
        if item.work_plan != current:
            current, top = item.work_plan, cells[0]
            _fill(top, item.work_plan, font)
        elif top is not None:
            top.merge(cells[0])
        _fill(cells[1], item.item, font)
        _fill(cells[2], item.progress_text, font, align="center")
        _fill(cells[3], item.description or "", font)


def _footer_page_numbers(section, font: str) -> None:
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(p.add_run("第 "), font, 10)
    for instr in ("PAGE",):
        fld = OxmlElement("w:fldSimple")
        fld.set(qn("w:instr"), instr)
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "1"
        run.append(text)
        fld.append(run)
        p._p.append(fld)
    _font(p.add_run(" 頁"), font, 10)


def render_docx(
    report: Report,
    charts: dict[str, list[Chart]] | None = None,
    font: str = K.DOCUMENT_FONT,
    form: str = K.DEFAULT_FORM,
) -> bytes:
    """The report as .docx bytes; ``form``: ``review`` (管考) or ``plan`` (Part 4 as the plan prints it)."""
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.LANDSCAPE
    sec.page_width, sec.page_height = Cm(K.A4_LONG), Cm(K.A4_SHORT)
    sec.left_margin = sec.right_margin = sec.top_margin = Cm(K.MARGIN)
    sec.bottom_margin = Cm(1.5)
    _footer_page_numbers(sec, font)
    if form == "plan":
        _para(doc, K.title(report, form), font, size=14, bold=True).paragraph_format.keep_with_next = True
        _para(doc, f"{report.agency}　{report.span}（{report.period_name}）", font, size=11)
        many = len(report.units) > 1
        for section in report.units:
            if many or section.unit != report.agency:
                p = _para(doc, f"填報單位：{section.unit}", font, size=12, bold=True)
                p.paragraph_format.keep_with_next = True
            _part4(doc, report, section, font, form)
        buf = io.BytesIO()
        doc.save(buf)
        return buf.getvalue()
    charts = charts or {}
    _para(doc, K.title(report, form), font, size=16, bold=True, align="center")
    _para(doc, f"{report.span}（{report.period_name}）", font, size=12, align="center")
    for chart in charts.get("", []):
        doc.add_picture(io.BytesIO(chart.png), width=Cm(24))
    if len(report.units) > 1:
        _heading(doc, "各填報單位加權得分", font)
        cols, rows = K.overview(report)
        table = _table(doc, cols, font)
        for values in rows:
            for i, (cell, v) in enumerate(zip(_row(table, cols), values, strict=True)):
                _fill(cell, v, font, align="start" if i == 0 else "center")
    many = len(report.units) > 1
    for n, section in enumerate(report.units):
        if many or section.unit != report.agency:
            p = _para(doc, f"填報單位：{section.unit}", font, size=13, bold=True)
            p.paragraph_format.page_break_before = many  # each unit on its own pages
            p.paragraph_format.keep_with_next = True
        _part4(doc, report, section, font)
        _scores(doc, report, section, font)
        for chart in charts.get(section.unit, []):
            doc.add_picture(io.BytesIO(chart.png), width=Cm(24))
        if K.shows_items(report, n):
            _part3(doc, report, n, font)
    if any(s.items for s in report.units) and not any(
        K.shows_items(report, i) for i in range(len(report.units))
    ):
        _para(doc, K.ITEMS_EMPTY if many else K.ITEMS_EMPTY_ONE, font, size=11)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def write_docx(
    report: Report,
    path: Path,
    charts: dict[str, list[Chart]] | None = None,
    font: str = K.DOCUMENT_FONT,
    form: str = K.DEFAULT_FORM,
) -> Path:
    """Write the report to ``path`` atomically."""
    return save_atomic(render_docx(report, charts, font, form), Path(path))
