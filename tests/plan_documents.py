"""Plan documents typed into .docx (python-docx) and .odt (odfpy) for the import tests.

A document is a list of blocks: a paragraph (``str``) or a table (a list of rows).
In a table row, ``None`` continues the cell above (a vertical merge), ``"<"``
continues the cell to the left (a horizontal merge), and ``"\\n"`` inside a text
separates paragraphs of one cell.  Both writers make real merged cells: python-docx
``merge`` (``w:vMerge`` / ``w:gridSpan``) and ODF ``number-rows-spanned`` /
``number-columns-spanned`` with ``covered-table-cell``.
"""

from __future__ import annotations

from pathlib import Path

Row = list[str | None]
Block = str | list[Row]

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


def write_docx(blocks: list[Block], path: Path) -> Path:
    """The blocks as a Word document."""
    import docx

    doc = docx.Document()
    for block in blocks:
        if isinstance(block, str):
            doc.add_paragraph(block)
            continue
        rows = block
        table = doc.add_table(rows=len(rows), cols=max(len(r) for r in rows))
        table.style = "Table Grid"
        for (r, c), (down, across) in _rectangles(rows).items():
            cell = table.cell(r, c)
            if down > 1 or across > 1:
                cell = cell.merge(table.cell(r + down - 1, c + across - 1))
            lines = str(rows[r][c]).split("\n")
            cell.paragraphs[0].text = lines[0]
            for line in lines[1:]:
                cell.add_paragraph(line)
    doc.save(path)
    return path


def write_odt(blocks: list[Block], path: Path, *, header_rows: int = 0) -> Path:
    """The blocks as an OpenDocument text; the first ``header_rows`` rows of a table are its header."""
    from odf.opendocument import OpenDocumentText
    from odf.table import CoveredTableCell, Table, TableCell, TableColumn, TableHeaderRows, TableRow
    from odf.text import P

    doc = OpenDocumentText()
    for n, block in enumerate(blocks):
        if isinstance(block, str):
            doc.text.addElement(P(text=block))
            continue
        rows = block
        width = max(len(r) for r in rows)
        table = Table(name=f"Table{n}")
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
        doc.text.addElement(table)
    doc.save(str(path))
    return path


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
