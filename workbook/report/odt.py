"""The report as an OpenDocument text (.odt), written with odfpy."""

from __future__ import annotations

from pathlib import Path

from odf.opendocument import OpenDocumentText
from odf.style import (
    FontFace,
    Footer,
    GraphicProperties,
    MasterPage,
    PageLayout,
    PageLayoutProperties,
    ParagraphProperties,
    Style,
    TableCellProperties,
    TableColumnProperties,
    TableProperties,
    TableRowProperties,
    TextProperties,
)
from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableHeaderRows, TableRow
from odf.text import P, PageCount, PageNumber

from kpi_engine.narrative import number_text
from kpi_engine.report_model import Report, UnitSection
from workbook.formats.files import save_atomic
from workbook.report import layout as K
from workbook.report.charts import Chart


class _Doc:
    """An OpenDocumentText with the report's styles registered once."""

    def __init__(self, font: str):
        self.doc = OpenDocumentText()
        self.font = font
        self._styles: dict[str, Style] = {}
        self._n = 0
        self.doc.fontfacedecls.addElement(
            FontFace(name="KpiFont", fontfamily=font, fontfamilygeneric="roman", fontpitch="variable")
        )
        body = Style(name="KpiBody", family="paragraph")
        body.addElement(self._text_props("11pt"))
        body.addElement(ParagraphProperties(margintop="0cm", marginbottom="0.05cm"))
        self.doc.styles.addElement(body)
        self._page()

    def _text_props(self, size: str, bold: bool = False, colour: str | None = None) -> TextProperties:
        weight = (
            {"fontweight": "bold", "fontweightasian": "bold", "fontweightcomplex": "bold"} if bold else {}
        )
        extra = {"color": f"#{colour}"} if colour else {}
        return TextProperties(
            fontname="KpiFont",
            fontnameasian="KpiFont",
            fontnamecomplex="KpiFont",
            fontsize=size,
            fontsizeasian=size,
            fontsizecomplex=size,
            # Digits and Latin letters are "Western" text: with zh-TW there LibreOffice breaks
            # lines inside a number (「達成率10 / 0%」); English rules keep 100% and 2,000 whole.
            language="en",
            country="US",
            languageasian="zh",
            countryasian="TW",
            **weight,
            **extra,
        )

    def _page(self) -> None:
        layout = PageLayout(name="KpiA4Landscape")
        layout.addElement(
            PageLayoutProperties(
                pagewidth=f"{K.A4_LONG}cm",
                pageheight=f"{K.A4_SHORT}cm",
                printorientation="landscape",
                margintop=f"{K.MARGIN}cm",
                marginbottom="1cm",
                marginleft=f"{K.MARGIN}cm",
                marginright=f"{K.MARGIN}cm",
            )
        )
        self.doc.automaticstyles.addElement(layout)
        master = MasterPage(name="Standard", pagelayoutname=layout)
        footer = Footer()
        p = P(stylename=self.para("footer", align="center", size="10pt"))
        p.addText("第 ")
        p.addElement(PageNumber(selectpage="current"))
        p.addText(" 頁，共 ")
        p.addElement(PageCount())
        p.addText(" 頁")
        footer.addElement(p)
        master.addElement(footer)
        self.doc.masterstyles.addElement(master)

    def para(
        self,
        key: str,
        *,
        align: str = "start",
        size: str = "11pt",
        bold: bool = False,
        space: str = "0cm",
        colour: str | None = None,
        keep: bool = False,
    ) -> Style:
        """A paragraph style, registered on first use."""
        name = f"P_{key}"
        if name not in self._styles:
            s = Style(name=name, family="paragraph", parentstylename="KpiBody")
            props = {"textalign": align, "marginbottom": space}
            if keep:
                props["keepwithnext"] = "always"
            if key.startswith("break"):
                props["breakbefore"] = "page"
            s.addElement(ParagraphProperties(**props))
            s.addElement(self._text_props(size, bold, colour))
            self.doc.automaticstyles.addElement(s)
            self._styles[name] = s
        return self._styles[name]

    def cell_style(self, fill: str | None = None, valign: str = "middle") -> Style:
        """A bordered table cell, optionally filled."""
        name = f"C_{fill or 'none'}_{valign}"
        if name not in self._styles:
            s = Style(name=name, family="table-cell")
            props = {"border": "0.5pt solid #000000", "padding": "0.08cm", "verticalalign": valign}
            if fill:
                props["backgroundcolor"] = f"#{fill}"
            s.addElement(TableCellProperties(**props))
            self.doc.automaticstyles.addElement(s)
            self._styles[name] = s
        return self._styles[name]

    def row(self) -> TableRow:
        """A table row that is never split across two pages."""
        if "R_keep" not in self._styles:
            s = Style(name="R_keep", family="table-row")
            s.addElement(TableRowProperties(keeptogether="always"))
            self.doc.automaticstyles.addElement(s)
            self._styles["R_keep"] = s
        return TableRow(stylename=self._styles["R_keep"])

    def table(self, name: str, widths: list[float], *, keep: bool = False) -> Table:
        """A table of the given column widths (cm), as wide as their sum; ``keep``: with what follows."""
        self._n += 1
        ts = Style(name=f"T{self._n}", family="table")
        ts.addElement(
            TableProperties(
                width=f"{sum(widths):.2f}cm",
                align="center",
                margintop="0.2cm",
                marginbottom="0.2cm",
                **({"keepwithnext": "always", "maybreakbetweenrows": "false"} if keep else {}),
            )
        )
        self.doc.automaticstyles.addElement(ts)
        table = Table(name=name, stylename=ts)
        for i, w in enumerate(widths):
            cs = Style(name=f"T{self._n}C{i}", family="table-column")
            cs.addElement(TableColumnProperties(columnwidth=f"{w:.2f}cm"))
            self.doc.automaticstyles.addElement(cs)
            table.addElement(TableColumn(stylename=cs))
        return table

    def cell(
        self,
        texts: list[str] | str,
        *,
        align: str = "start",
        fill: str | None = None,
        bold: bool = False,
        colour: str | None = None,
        rows: int = 1,
        valign: str = "middle",
    ) -> TableCell:
        """A string cell holding one paragraph per text."""
        attrs = {"numberrowsspanned": rows} if rows > 1 else {}
        c = TableCell(stylename=self.cell_style(fill, valign), valuetype="string", **attrs)
        style = self.para(
            f"cell_{align}_{bold}_{colour}", align=align, size="10.5pt", bold=bold, colour=colour
        )
        for t in [texts] if isinstance(texts, str) else texts or [""]:
            c.addElement(P(stylename=style, text=K.xml_safe(t)))
        return c

    def header_row(self, labels: list[str]) -> TableHeaderRows:
        rows = TableHeaderRows()
        row = TableRow()
        for label in labels:
            row.addElement(self.cell(label, align="center", fill=K.HEADER_FILL, bold=True))
        rows.addElement(row)
        return rows

    def text(self, content: str, **kw) -> None:
        key = "_".join(f"{k}{v}" for k, v in sorted(kw.items()))
        self.doc.text.addElement(P(stylename=self.para(key or "plain", **kw), text=K.xml_safe(content)))

    def image(self, chart: Chart, width_cm: float) -> None:
        """A PNG chart as a paragraph of its own, scaled to ``width_cm``."""
        from odf.draw import Frame, Image

        self._n += 1
        href = self.doc.addPicture(f"Pictures/chart{self._n}.png", "image/png", chart.png)
        height = width_cm * chart.height_px / chart.width_px
        gs = Style(name=f"G{self._n}", family="graphic")
        gs.addElement(GraphicProperties(wrap="none", horizontalpos="center", horizontalrel="paragraph"))
        self.doc.automaticstyles.addElement(gs)
        p = P(stylename=self.para("figure", align="center"))
        frame = Frame(
            stylename=gs,
            width=f"{width_cm:.2f}cm",
            height=f"{height:.2f}cm",
            anchortype="as-char",
            name=f"chart{self._n}",
        )
        frame.addElement(Image(href=href))
        p.addElement(frame)
        self.doc.text.addElement(p)


def _part4(d: _Doc, report: Report, section: UnitSection, n: int, form: str = K.DEFAULT_FORM) -> None:
    cols = K.columns(report, form)
    table = d.table(f"實施狀況及成果概述{n}", [w for _, w in cols])
    table.addElement(d.header_row([label for label, _ in cols]))
    for goal_first, count in section.goal_runs():
        first = True
        for line in section.lines[section.lines.index(goal_first) : section.lines.index(goal_first) + count]:
            row = d.row()
            if first:
                row.addElement(d.cell(line.goal_lines, align="center", rows=count))
                first = False
            else:
                row.addElement(CoveredTableCell())
            fill, ink = K.light_fill(line.light)
            row.addElement(d.cell(line.indicator_lines))
            row.addElement(d.cell(line.target, align="center"))
            if form == "plan":  # the plan's four columns: the analysis says value and rate
                row.addElement(d.cell(list(line.paragraphs) or [""], valign="top"))
                table.addElement(row)
                continue
            row.addElement(d.cell(line.value_text, align="center"))
            row.addElement(d.cell(line.rate_text, align="center"))
            row.addElement(d.cell(line.light_text, align="center", fill=fill, bold=True, colour=ink))
            if report.compare_year:
                prev = line.previous
                row.addElement(d.cell(prev.value_text if prev else "—", align="center"))
                row.addElement(d.cell(prev.change_text if prev and prev.change_text else "—", align="center"))
            row.addElement(d.cell(list(line.paragraphs) or [""], valign="top"))
            table.addElement(row)
    d.doc.text.addElement(table)


def _scores(d: _Doc, report: Report, section: UnitSection, n: int) -> None:
    d.text("加權分數", size="12pt", bold=True, keep=True)
    table = d.table(
        f"加權分數{n}", [w for _, w in K.SCORE_COLUMNS], keep=True
    )  # never a page of only the note
    table.addElement(d.header_row([label for label, _ in K.SCORE_COLUMNS]))
    for s in (*section.goal_scores, section.plan_score):
        row = d.row()
        bold = s is section.plan_score
        row.addElement(d.cell(s.label, bold=bold))
        row.addElement(d.cell(f"{number_text(s.weight)}%", align="center", bold=bold))
        row.addElement(d.cell(f"{number_text(s.assessed_weight)}%", align="center", bold=bold))
        row.addElement(d.cell(number_text(s.score), align="center", bold=bold))
        pct = s.percent
        row.addElement(d.cell("—" if pct is None else f"{number_text(pct)}%", align="center", bold=bold))
        table.addElement(row)
    d.doc.text.addElement(table)
    d.text(
        "註：加權得分＝Σ（指標權重×達成率）；未評估之指標（白燈）不計入，得分率＝加權得分÷已評估權重。"
        + report.weight_note,
        size="10pt",
    )


def _part3(d: _Doc, report: Report, n: int) -> None:
    d.text("重要施政計畫執行情形", size="12pt", bold=True, keep=True)
    table = d.table(f"重要施政計畫{n}", [w for _, w in K.ITEM_COLUMNS])
    table.addElement(d.header_row([label for label, _ in K.ITEM_COLUMNS]))
    runs: list[list] = []
    for item in K.reported_items(report, n - 1):
        if runs and runs[-1][0] == item.work_plan:
            runs[-1][1].append(item)
        else:
            runs.append([item.work_plan, [item]])
    for work_plan, items in runs:
        for i, item in enumerate(items):
            row = d.row()
            if i == 0:
                row.addElement(d.cell(work_plan, rows=len(items), valign="top"))
            else:
                row.addElement(CoveredTableCell())
            row.addElement(d.cell(item.item, valign="top"))
            row.addElement(d.cell(item.progress_text, align="center"))
            row.addElement(d.cell(item.description or "", valign="top"))
            table.addElement(row)
    d.doc.text.addElement(table)


def _plan_form(d: _Doc, report: Report) -> None:
    """Part 4 as the plan prints it: its title, then per unit the four-column table."""
    d.text(K.title(report, "plan"), size="14pt", bold=True, space="0.15cm", keep=True)
    d.text(f"{report.agency}　{report.span}（{report.period_name}）", size="11pt", space="0.1cm", keep=True)
    many = len(report.units) > 1
    for n, section in enumerate(report.units, start=1):
        if many or section.unit != report.agency:
            style = d.para("unit", size="12pt", bold=True, keep=True, space="0.1cm")
            d.doc.text.addElement(P(stylename=style, text=K.xml_safe(f"填報單位：{section.unit}")))
        _part4(d, report, section, n, "plan")


def render_odt(
    report: Report,
    charts: dict[str, list[Chart]] | None = None,
    font: str = K.DOCUMENT_FONT,
    form: str = K.DEFAULT_FORM,
) -> bytes:
    """The report as .odt bytes; ``charts`` maps a unit ('' = the whole report) to its charts.

    ``form``: ``review`` (the 管考 view) or ``plan`` (Part 4 as the plan prints it).
    """
    import io

    d = _Doc(font)
    if form == "plan":
        _plan_form(d, report)
        buf = io.BytesIO()
        d.doc.write(buf)
        return buf.getvalue()
    charts = charts or {}
    d.text(K.title(report, form), align="center", size="16pt", bold=True, space="0.15cm")
    d.text(f"{report.span}（{report.period_name}）", align="center", size="12pt", space="0.2cm")
    for chart in charts.get("", []):
        d.image(chart, 24.0)
    if len(report.units) > 1:
        d.text("各填報單位加權得分", size="12pt", bold=True, keep=True)
        cols, rows = K.overview(report)
        table = d.table("各填報單位加權得分", [w for _, w in cols])
        table.addElement(d.header_row([label for label, _ in cols]))
        for values in rows:
            row = d.row()
            for i, v in enumerate(values):
                row.addElement(d.cell(v, align="start" if i == 0 else "center"))
            table.addElement(row)
        d.doc.text.addElement(table)
    many = len(report.units) > 1
    for n, section in enumerate(report.units, start=1):
        if many or section.unit != report.agency:
            # Each unit on its own pages when there are several.
            style = d.para("break_unit" if many else "unit", size="13pt", bold=True, keep=True, space="0.1cm")
            d.doc.text.addElement(P(stylename=style, text=K.xml_safe(f"填報單位：{section.unit}")))
        _part4(d, report, section, n)
        _scores(d, report, section, n)
        for chart in charts.get(section.unit, []):
            d.image(chart, 24.0)
        if K.shows_items(report, n - 1):
            _part3(d, report, n)
    if any(s.items for s in report.units) and not any(
        K.shows_items(report, i) for i in range(len(report.units))
    ):
        d.text(K.ITEMS_EMPTY if many else K.ITEMS_EMPTY_ONE, size="11pt")
    buf = io.BytesIO()
    d.doc.write(buf)
    return buf.getvalue()


def write_odt(
    report: Report,
    path: Path,
    charts: dict[str, list[Chart]] | None = None,
    font: str = K.DOCUMENT_FONT,
    form: str = K.DEFAULT_FORM,
) -> Path:
    """Write the report to ``path`` atomically."""
    return save_atomic(render_odt(report, charts, font, form), Path(path))
