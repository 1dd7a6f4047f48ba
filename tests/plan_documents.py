"""Plan documents typed into .docx (python-docx) and .odt (odfpy) for the import tests.

A document is a list of blocks: a paragraph (``str``) or a table (a list of rows).
In a table row, ``None`` continues the cell above (a vertical merge), ``"<"``
continues the cell to the left (a horizontal merge), and ``"\\n"`` inside a text
separates paragraphs of one cell.  Both writers make real merged cells: python-docx
``merge`` (``w:vMerge`` / ``w:gridSpan``) and ODF ``number-rows-spanned`` /
``number-columns-spanned`` with ``covered-table-cell``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

Row = list[str | None]

UP, LEFT = None, "<"


def _rectangles(rows: list[Row]) -> dict[tuple[int, int], tuple[int, int]]:
    """Origin (row, col) → (rows spanned, columns spanned) of every typed cell."""
    out = {}
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            if text is UP or text == LEFT:
                continue
            across = 1
            while c + across < len(row) and row[c + across] == LEFT:
                across += 1
            down = 1
            while r + down < len(rows) and all(rows[r + down][c + k] is UP for k in range(across)):
                down += 1
            out[(r, c)] = (down, across)
    return out


@dataclass
class Layout:
    """A table placed inside a one-cell layout table (as some agencies lay out a page)."""

    rows: list[Row]
    title: str = ""


#: A paragraph, a table (rows), or a table inside a layout table.
Block = str | list[Row] | Layout


def _docx_table(container, rows: list[Row]):
    table = container.add_table(rows=len(rows), cols=max(len(r) for r in rows))
    table.style = "Table Grid"
    for (r, c), (down, across) in _rectangles(rows).items():
        cell = table.cell(r, c)
        if down > 1 or across > 1:
            cell = cell.merge(table.cell(r + down - 1, c + across - 1))
        lines = str(rows[r][c]).split("\n")
        cell.paragraphs[0].text = lines[0]
        for line in lines[1:]:
            cell.add_paragraph(line)
    return table


def write_docx(blocks: list[Block], path: Path) -> Path:
    """The blocks as a Word document."""
    import docx

    doc = docx.Document()
    for block in blocks:
        if isinstance(block, str):
            doc.add_paragraph(block)
        elif isinstance(block, Layout):
            outer = doc.add_table(rows=1, cols=1)
            cell = outer.cell(0, 0)
            cell.paragraphs[0].text = block.title
            _docx_table(cell, block.rows)
        else:
            _docx_table(doc, block)
    doc.save(path)
    return path


def _odt_table(rows: list[Row], name: str, header_rows: int):
    from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableHeaderRows, TableRow
    from odf.text import P

    width = max(len(r) for r in rows)
    table = Table(name=name)
    table.addElement(TableColumn(numbercolumnsrepeated=width))
    spans = _rectangles(rows)
    head = TableHeaderRows() if header_rows else None
    if head is not None:
        table.addElement(head)
    for r, row in enumerate(rows):
        tr = TableRow()
        for c in range(width):
            if (r, c) in spans:
                down, across = spans[(r, c)]
                attrs = {}
                if down > 1:
                    attrs["numberrowsspanned"] = down
                if across > 1:
                    attrs["numbercolumnsspanned"] = across
                tc = TableCell(**attrs)
                for line in str(row[c] if c < len(row) else "").split("\n"):
                    tc.addElement(P(text=line))
                tr.addElement(tc)
            else:
                tr.addElement(CoveredTableCell())
        (head if head is not None and r < header_rows else table).addElement(tr)
    return table


def write_odt(blocks: list[Block], path: Path, *, header_rows: int = 0) -> Path:
    """The blocks as an OpenDocument text; the first ``header_rows`` rows of a table are its header."""
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import P

    doc = OpenDocumentText()
    for n, block in enumerate(blocks):
        if isinstance(block, str):
            doc.text.addElement(P(text=block))
        elif isinstance(block, Layout):
            outer = Table(name=f"Layout{n}")
            outer.addElement(TableColumn())
            tr, tc = TableRow(), TableCell()
            tc.addElement(P(text=block.title))
            tc.addElement(_odt_table(block.rows, f"Table{n}", header_rows))
            tr.addElement(tc)
            outer.addElement(tr)
            doc.text.addElement(outer)
        else:
            doc.text.addElement(_odt_table(block, f"Table{n}", header_rows))
    doc.save(str(path))
    return path


def _rewrite_docx(path: Path, change) -> Path:
    """Apply ``change(body)`` to the document body's XML (python-docx has no API for these)."""
    import docx

    doc = docx.Document(path)
    change(doc.element.body)
    doc.save(path)
    return path


def in_content_control(path: Path, table: int = 0) -> Path:
    """Put the ``table``-th body table inside a content control (w:sdt), as template forms do."""
    from docx.oxml import OxmlElement

    def change(body) -> None:
        tbl = [c for c in body.iterchildren() if c.tag.endswith("}tbl")][table]
        sdt, content = OxmlElement("w:sdt"), OxmlElement("w:sdtContent")
        sdt.append(OxmlElement("w:sdtPr"))
        tbl.addprevious(sdt)
        content.append(tbl)
        sdt.append(content)

    return _rewrite_docx(path, change)


def delete_row_tracked(path: Path, row: int, table: int = 0) -> Path:
    """Delete a table row as Word does with Track Changes on: w:trPr/w:del, its text as w:delText."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def change(body) -> None:
        tbl = list(body.iter(qn("w:tbl")))[table]
        tr = list(tbl.iterchildren(qn("w:tr")))[row]
        mark = {qn("w:id"): "90", qn("w:author"): "研考科", qn("w:date"): "2024-01-05T10:00:00Z"}
        pr = tr.find(qn("w:trPr"))
        if pr is None:
            pr = OxmlElement("w:trPr")
            tr.insert(0, pr)
        deletion = OxmlElement("w:del")
        for k, v in mark.items():
            deletion.set(k, v)
        pr.append(deletion)
        for n, run in enumerate(list(tr.iter(qn("w:r")))):
            wrapper = OxmlElement("w:del")
            for k, v in mark.items():
                wrapper.set(k, str(100 + n) if k == qn("w:id") else v)
            run.addprevious(wrapper)
            wrapper.append(run)
            for t in run.findall(qn("w:t")):
                t.tag = qn("w:delText")

    return _rewrite_docx(path, change)


# -- the seed document -----------------------------------------------------------


def seed_blocks(seed_text: str, plan) -> list[Block]:
    """The seed's title, Part 2 and Part 4 as typed from the seed text, and Part 3 from the plan.

    Part 2: the seed's rows, tab-separated, 8 columns (goal number, goal, indicator
    number, indicator, 評估體制, 評估方式, 衡量標準, target); a row whose goal cells are
    empty continues the goal above, so its goal cells are merged.  The header is the
    document's two rows (策略績效目標 over two columns and two rows; 衡量指標 over six
    columns, then 衡量指標 over two).  Part 3's seed text is split by the PDF's pages,
    so it is typed from the embedded plan's items in the document's own style.
    """
    lines = seed_text.splitlines()
    start = lines.index("第二部分：關鍵績效指標")
    header = [c.strip() for c in lines[start + 3].split("\t") if c.strip()]  # 衡量指標, 評估體制, …
    part2: list[Row] = [
        ["策略績效目標", LEFT, "衡量指標", LEFT, LEFT, LEFT, LEFT, LEFT],
        [UP, UP, header[0], LEFT, *header[1:]],
    ]
    for line in lines[start + 4 :]:
        if not line.strip():
            break
        cells = line.split("\t")[:8]
        if not cells[0] and not cells[1]:
            cells[0] = cells[1] = UP
        part2.append(cells)
    part3: list[Row] = [["工作計畫", "重要施政計畫項目", "實施內容"]]
    numerals = "一二三四五六七八九十"
    for w, work in enumerate(plan.work_plans):
        for i, item in enumerate(work.items):
            content = "\n".join(
                f"{n}. {c}" if len(item.content) > 1 else c for n, c in enumerate(item.content, 1)
            )
            part3.append([f"{numerals[w]}、{work.name}" if i == 0 else UP, f"{i + 1}. {item.name}", content])
    p4 = lines.index("第四部分：上(106)年度實施狀況及成果概述")
    part4: list[Row] = [["策略績效目標", LEFT, "衡量指標", "原訂目標值", "績效衡量暨達成情形分析"]]
    for line in lines[p4 + 5 :]:
        if not line.strip():
            break
        cells = line.split("\t")[:5]
        if not cells[0] and not cells[1]:
            cells[0] = cells[1] = UP
        part4.append(cells)
    title = [x for x in lines[:8] if x.strip()]
    return [
        *title,
        "第二部分：關鍵績效指標",
        part2,
        "第三部分：年度重要施政計畫",
        part3,
        "第四部分：上(106)年度實施狀況及成果概述",
        lines[p4 + 2],  # 106年1月1日至6月30日止
        part4,
    ]


# -- a second agency, shaped differently ------------------------------------------------

#: 新竹縣環境保護局 112 年度: columns in another order, no weight column (weights in the
#: names), goal numbers inside the goal text, 評估方式 merged down the whole table, and a
#: milestone indicator with its stages written in 衡量標準.
SECOND_PART2: list[Row] = [
    ["關鍵策略目標", "關鍵績效指標", "衡量標準", "112年年度目標值", "評估方式", "評估體制"],
    [
        "一、推動資源循環，減少廢棄物(35%)",
        "1.資源回收率(20%)",
        "資源回收量/垃圾產生量*100%",
        "≥58%",
        "統計數據",
        "1",
    ],
    [
        UP,
        "2.焚化底渣再利用設施工程進度(15%)",
        "1.完成規劃設計(25%) 2.完成工程發包(50%) 3.完成主體工程(80%) 4.完成驗收啟用(100%)",
        "第3階段",
        UP,
        "1",
    ],
    [
        "二、守護空氣品質，提升環境服務(25%)",
        "1.空氣品質不良日數(10%)",
        "全年空氣品質指標AQI大於100之日數",
        "12日以下",
        UP,
        "1",
    ],
    [
        UP,
        "2.環保志工人數成長率(10%)",
        "(今年環保志工人數-去年環保志工人數)/去年環保志工人數*100%",
        "不低於5%",
        UP,
        "2",
    ],
    [UP, "3.陳情案件平均處理天數(5%)", "陳情案件處理總天數/陳情案件數", "≤5天", UP, "1"],
]


def second_blocks() -> list[Block]:
    """A second agency's plan document: title and Part 2 only."""
    return [
        "新竹縣政府環境保護局",
        "新竹縣政府環境保護局 112 年度施政計畫",
        "第二部分：關鍵績效指標",
        SECOND_PART2,
    ]


# -- three more agencies, each shaped differently (issue 20) -----------------------------------

#: 臺南市政府衛生局 113 年度 (.docx): two header rows, weights in their own column, a 備註
#: column, lower-is-better names with bare targets, a unit in a name, a target against last
#: year, a 共同性指標 section row, and a note row and a source row at the bottom.
HEALTH_PART2: list[Row] = [
    ["策略績效目標", "衡量指標", LEFT, LEFT, LEFT, LEFT, "權重", "備註"],
    [UP, "衡量指標", "評估體制", "評估方式", "衡量標準", "113年度目標值", UP, UP],
    [
        "一、強化食品安全管理",
        "市售食品標示抽查不合格率（％）",
        "1",
        "統計數據",
        "標示不合格件數/抽查件數*100%",
        "3%",
        "15",
        "",
    ],
    [UP, "食品中毒案件平均處理天數", "1", "統計數據", "食品中毒案件處理總天數／結案件數", "5天", "10", ""],
    [
        "二、提升預防保健服務",
        "65歲以上長者流感疫苗接種人數",
        "1",
        "統計數據",
        "65歲以上長者流感疫苗接種人數",
        "較上年度成長5%",
        "10",
        "",
    ],
    [UP, "癌症篩檢陽性個案追蹤完成率", "1", "統計數據", "完成追蹤人數/篩檢陽性人數*100%", "90%", "10", ""],
    [UP, "傳染病通報逾期件數", "1", "統計數據", "每年傳染病逾期通報件數", "12件", "5", ""],
    ["共同性指標", LEFT, LEFT, LEFT, LEFT, LEFT, LEFT, LEFT],
    [
        "三、提升行政效能",
        "年度預算執行率",
        "1",
        "統計數據",
        "實際支出數/預算數*100%",
        "≥90%",
        "10",
        "共同性指標",
    ],
    [UP, "同仁參加數位學習平均時數", "1", "統計數據", "參加數位學習總時數／同仁人數", "≥20小時", "10", ""],
    ["註：「傳染病通報逾期件數」以法定傳染病通報時限計算。", LEFT, LEFT, LEFT, LEFT, LEFT, LEFT, LEFT],
    ["資料來源：衛生福利部疾病管制署傳染病通報系統。", LEFT, LEFT, LEFT, LEFT, LEFT, LEFT, LEFT],
]

#: 高雄市政府教育局 113 年度 (.odt): the table inside a one-cell layout table, each goal on
#: a row of its own across the table, weights in names, an average, a stock explained by a
#: footnote (註1), a per-quarter count, and a target against last year.
EDUCATION_PART2: list[Row] = [
    ["關鍵策略目標", "關鍵績效指標", "評估體制", "評估方式", "衡量標準", "年度目標值"],
    ["一、提升學生學習成效(30%)", LEFT, LEFT, LEFT, LEFT, LEFT],
    ["", "1.國中學生中輟率(10%)", "1", "統計數據", "中輟學生人數/國中學生總人數*100%", "0.2%"],
    ["", "2.學生平均每人借閱圖書冊數(10%)", "1", "統計數據", "學生借閱圖書總冊數/學生總人數", "≥12冊"],
    ["", "3.親職教育講座場次(10%)", "1", "統計數據", "每季辦理親職教育講座場次", "每季2場"],
    ["二、打造永續校園(20%)", LEFT, LEFT, LEFT, LEFT, LEFT],
    ["", "1.累計設置太陽光電學校數(註1)(10%)", "1", "統計數據", "設置太陽光電之學校數", "≥120校"],
    ["", "2.校園用電量(10%)", "1", "統計數據", "全年校園總用電度數", "較上年度減少2%"],
    ["註1：太陽光電學校數自105年起累計，含已完成汰換者。", LEFT, LEFT, LEFT, LEFT, LEFT],
]

#: 桃園市政府環境保護局 113 年度 (.docx): the table in a content control (w:sdt), the weight
#: column first, a 備註 column that says 「自103年起累計」, a goal whose first row was deleted
#: with Track Changes on (row 3), units 站日 and 日, and a note row.
ENVIRONMENT_PART2: list[Row] = [
    ["權重", "策略績效目標", "衡量指標", "衡量標準", "評估方式", "評估體制", "113年度目標值", "備註"],
    [
        "15",
        "一、改善河川水質(30%)",
        "河川嚴重污染長度比率",
        "嚴重污染河段長度/河川總長度*100%",
        "統計數據",
        "1",
        "3.5%",
        "",
    ],
    ["15", UP, "空氣品質良好站日數比率", "AQI良好站日數/總監測站日數*100%", UP, "1", "≥60%", ""],
    ["10", "二、維護空氣品質(20%)", "細懸浮微粒年平均濃度", "PM2.5年平均濃度", "統計數據", "1", "≤15", ""],
    ["10", UP, "累計認養空氣品質淨化區處數", "認養空氣品質淨化區處數", UP, "1", "≧85處", "自103年起累計"],
    ["10", UP, "陳情案件平均處理天數", "陳情案件處理總日數/陳情案件數", UP, "1", "6日", ""],
    [
        "5",
        "三、推動資源循環(10%)",
        "資源回收率（％）",
        "資源回收量/垃圾產生量*100%",
        "統計數據",
        "1",
        "56%",
        "",
    ],
    ["5", UP, "事業廢棄物申報逾期件數", "事業廢棄物逾期申報件數", UP, "1", "30件", "年度內累計"],
    ["備註：本表指標依環境部公告方法計算。", LEFT, LEFT, LEFT, LEFT, LEFT, LEFT, LEFT],
]
#: The row of ENVIRONMENT_PART2 deleted with Track Changes (the first of goal 二).
ENVIRONMENT_DELETED_ROW = 3


def agency_documents(folder: Path) -> dict[str, Path]:
    """The three agencies' plan documents, written into ``folder``."""
    health = write_docx(
        ["臺南市政府衛生局", "臺南市政府衛生局 113 年度施政計畫", "第二部分：關鍵績效指標", HEALTH_PART2],
        folder / "衛生局.docx",
    )
    education = write_odt(
        [
            "高雄市政府教育局 113 年度施政計畫",
            Layout(EDUCATION_PART2, "第二部分：關鍵績效指標"),
        ],
        folder / "教育局.odt",
        header_rows=1,
    )
    environment = write_docx(
        ["桃園市政府環境保護局 113 年度施政計畫", "第二部分：關鍵績效指標", ENVIRONMENT_PART2],
        folder / "環保局.docx",
    )
    in_content_control(environment)
    delete_row_tracked(environment, ENVIRONMENT_DELETED_ROW)
    return {"health": health, "education": education, "environment": environment}
