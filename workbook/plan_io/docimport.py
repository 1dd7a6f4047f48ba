"""Import a plan from the agency's 施政計畫 document (.docx or .odt).

The Part 2 table (關鍵績效指標) is found by its headers, not its position:
策略績效目標 or 關鍵策略目標, 衡量指標 or 關鍵績效指標, 評估體制, 評估方式, 衡量標準 and
年度目標值, with or without a 權重 column, in any column order.  Goal cells merged
over their indicators, weights written as 「(15%)」 inside names, and targets as
plans write them are read as such.

From 衡量標準 the import infers what it safely can (see :func:`infer_measure`):
``A/B*100%`` is a ratio of A over B, ``(今年X-去年X)/去年X*100%`` a growth,
``…件數`` a count, stages with percents a milestone.  Whatever it cannot infer is
written with a ``needs_review`` mark naming the field; ``kpi plan check`` lists
every mark and refuses the plan until the coordinator removes them, so nothing is
ever guessed silently.  Part 3's table becomes ``work_plans``; Part 4's 原訂目標值
becomes ``previous_target`` and its readable counts the plan's ``sample``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpi_engine.kinds import KINDS
from kpi_engine.plan import parse_target
from kpi_engine.plan_loader import INDICATOR_KEYS
from workbook.plan_io.doctables import Cell, Document, DocumentError, Table, read_document

# -- Part 2 headers ------------------------------------------------------------

GOAL_WORDS = ("策略績效目標", "關鍵策略目標", "策略目標")
INDICATOR_WORDS = ("關鍵績效指標", "衡量指標", "績效指標")
ROLE_WORDS = (
    ("system", ("評估體制",)),
    ("method", ("評估方式",)),
    ("formula", ("衡量標準",)),
    ("weight", ("權重", "配分")),
    ("owner", ("承辦單位", "主辦單位", "承辦機關")),
    ("remarks", ("備註", "附註", "說明")),  # read as context (自103年起累計), never as a field
)
REQUIRED_ROLES = ("goal", "indicator", "system", "method", "formula", "target")
ROLE_NAMES = {
    "goal": "策略績效目標／關鍵策略目標",
    "indicator": "衡量指標／關鍵績效指標",
    "system": "評估體制",
    "method": "評估方式",
    "formula": "衡量標準",
    "target": "年度目標值",
}
_WEIGHT_IN_NAME = re.compile(r"\s*[（(]\s*([0-9]+(?:\.[0-9]+)?)\s*[%％]\s*[)）]\s*$")
_NUMERAL = "一二三四五六七八九十"
_LEADING_NUMBER = re.compile(rf"^\s*([{_NUMERAL}]+|[0-9]+)\s*[、.．]\s*")
_UNIT_WORDS = (
    # compounds first: 站日數 is station-days, not 日
    ("站日數", "站日"),
    ("人日數", "人日"),
    ("人時數", "人時"),
    ("車次數", "車次"),
    ("人次數", "人次"),
    ("人次", "人次"),
    ("車次", "車次"),
    ("場次", "場"),
    ("人數", "人"),
    ("件數", "件"),
    ("案數", "件"),
    ("次數", "次"),
    ("家數", "家"),
    ("處數", "處"),
    ("戶數", "戶"),
    ("校數", "校"),
    ("所數", "所"),
    ("座數", "座"),
    ("棟數", "棟"),
    ("株數", "株"),
    ("冊數", "冊"),
    ("本數", "本"),
    ("輛數", "輛"),
    ("公頃", "公頃"),
    ("公噸", "公噸"),
    ("天數", "天"),
    ("日數", "日"),
    ("時數", "小時"),
    ("人", "人"),
    ("件", "件"),
    ("次", "次"),
)
#: Words that make an indicator lower-is-better whatever its kind: failures, harm, delay.
LOWER_WORDS = (
    "不合格",
    "不符合",
    "不符",
    "不良",
    "污染",
    "汙染",
    "逾期",
    "違規",
    "違法",
    "事故",
    "缺失",
    "陳情",
    "申訴",
    "客訴",
    "死亡",
    "傷亡",
    "延宕",
    "延誤",
    "誤點",
    "故障",
    "停電",
    "停水",
    "淹水",
    "積水",
    "漏水",
    "火災",
    "竊盜",
    "犯罪",
    "發生率",
    "發生數",
    "發生件數",
    "中毒",
    "感染",
    "罹患",
    "失業",
    "流標",
    "廢標",
    "退件",
    "錯誤",
    "異常",
    "超標",
    "欠稅",
    "積欠",
    "未結",
    "積案",
    "處理天數",
    "處理時間",
    "處理日數",
    "等候時間",
    "等待時間",
    "作業天數",
    "排放量",
    "碳排",
    "用電量",
    "用水量",
    "耗電",
    "耗能",
    "垃圾量",
    "中輟",
    "輟學",
    "自殺",
    "酒駕",
    "閒置",
)
#: Words that say the indicator counts what is done against the bad thing (缺失改善率, 違規
#: 取締件數): higher is better there, so a lower word next to them decides nothing.
AGAINST_WORDS = (
    "改善",
    "修復率",
    "搶修",
    "排除",
    "處理率",
    "處理件數",
    "結案",
    "完成",
    "查獲",
    "破獲",
    "取締",
    "查處",
    "稽查",
    "稽核",
    "防制",
    "防治",
    "預防",
    "宣導",
    "輔導",
    "回收",
    "清除",
    "清理",
    "追繳",
    "收繳",
    "削減",
    "降低率",
    "減少率",
    "減量率",
)
#: Words that may be either: 流廢標下降率 is a rate of failures, 碳排放減少率 a reduction.
AMBIGUOUS_LOWER = ("下降", "降低", "減少", "縮短", "減量")
#: A footnote row or paragraph: 註、註1：、備註、附註、資料來源、說明：、※.
_FOOTNOTE = re.compile(
    r"^\s*(?:[※*＊]|(?:註|備註|附註|資料來源|說明)\s*[0-9一二三四五六七八九十]*\s*[:：、.．]?)"
)
#: A unit note after a 衡量標準: 「補助辦展數/計畫補助辦展數*100%(單位:場數)」.
_UNIT_NOTE = re.compile(r"\s*\(\s*單位\s*[:：]\s*[^()]{1,8}\)\s*$")
#: A unit printed after a name: 資源回收率（％）, 平均處理天數（天）, 認養處數（處）.
_UNIT_IN_NAME = re.compile(r"\s*[（(]\s*(%|％|[\u4e00-\u9fff]{1,3})\s*[)）]\s*$")
#: A footnote marker after a name: 累計認養處數(註1), 處數※, 處數註.
_NOTE_MARK = re.compile(
    r"\s*(?:[（(]\s*(註\s*[0-9一二三四五六七八九十]*)\s*[)）]|(註\s*[0-9]*)|([※*＊]+))\s*$"
)


@dataclass
class Mark:
    """A field the import could not infer, for the coordinator."""

    field: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        """The ``needs_review`` entry a plan file holds."""
        return {"field": self.field, "note_zh": self.zh, "note_en": self.en}


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").replace("（", "(").replace("）", ")")


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", _fold(text))


def _role_of(header: str) -> str | None:
    h = _compact(header)
    if not h:
        return None
    if "目標值" in h:
        return "previous_target" if ("原訂" in h or "上年" in h or "上(" in h) else "target"
    for role, words in ROLE_WORDS:
        if any(w in h for w in words):
            return role
    if any(w in h for w in GOAL_WORDS):
        return "goal"
    if any(w in h for w in INDICATOR_WORDS):
        return "indicator"
    return None


@dataclass
class Layout:
    """Where a Part 2 table keeps each field: role → column indexes, and the header rows."""

    columns: dict[str, list[int]]
    header_rows: int
    year: int | None


def part2_layout(table: Table) -> Layout | None:
    """The Part 2 layout of ``table`` when its headers are those of a KPI table, else None."""
    header_rows = 0
    for row in table.rows[:4]:
        roles = {_role_of(c.text) for c in row if not c.from_left} - {None}
        if len(roles) >= 2 or (header_rows and roles and all(_role_of(c.text) or not c.text for c in row)):
            header_rows += 1
        else:
            break
    if not header_rows:
        return None
    columns: dict[str, list[int]] = {}
    year = None
    width = len(table.rows[0])
    for col in range(width):
        # the deepest header that names a role wins: 衡量指標 under a spanning 衡量指標 group
        role = None
        for r in range(header_rows - 1, -1, -1):
            text = table.rows[r][col].text
            role = _role_of(text)
            if role:
                m = re.search(r"([0-9]{2,3})\s*年", _fold(text))
                if role == "target" and m:
                    year = int(m.group(1))
                break
        if role:
            columns.setdefault(role, []).append(col)
    if not all(r in columns for r in REQUIRED_ROLES):
        return None
    return Layout(columns, header_rows, year)


# -- inference from 衡量標準 --------------------------------------------------------


def unit_of(label: str) -> str | None:
    """The unit a count label implies: 取得證照人數 → 人, 案件數 → 件, 站日數 → 站日; None when unclear."""
    for word, unit in _UNIT_WORDS:
        if _compact(label).endswith(word):
            return unit
    return None


def infer_measure(formula: str) -> tuple[str | None, dict[str, str], list[dict] | None]:
    """(kind, role → label, stages) read from a 衡量標準, or kind None when unsure.

    Each kind's record says what it reads (:data:`kpi_engine.kinds.KINDS`):

    * stages written ``1.完成規劃(25%) 2.…`` → milestone;
    * ``(今年X-去年X)/去年X*100%`` (the subtrahend is the divisor) → growth;
    * ``A/B*100%`` → ratio, numerator A, denominator B;
    * ``總處理天數/案件數`` (a division without ×100) → average, total over cases;
    * a phrase ending in 件數/次數/人數… with no division → count (a stock is told from its
      wording by :func:`count_or_stock`).
    """
    f = _UNIT_NOTE.sub("", _fold(formula)).strip()  # 「…*100%(單位:場數)」: the note names a unit only
    stages = _stages(f)
    if stages:
        return "milestone", {"stage": KINDS["milestone"].role_names[0]}, stages
    for kind in KINDS.values():
        labels = kind.read_formula(f) if kind.read_formula else None
        if labels:
            return kind.code, labels, None
    if "/" not in f and "÷" not in f and not re.search(r"[+\-*×%]", f) and unit_of(f):
        label = re.sub(r"^(每年度|每年|全年度|全年|年度|本年度|當年度)(有關)?", "", _compact(f)) or _compact(
            f
        )
        return "count", {"count": label}, None
    return None, {}, None


def count_or_stock(context: str) -> tuple[str, bool | None]:
    """A count-like indicator: a stock (a level at a date), or a count within the year.

    ``(kind, cumulative)``; cumulative None when the wording says neither (then marked).
    「自103年起累計」, 「歷年累計」 are levels: a stock, never projected.  「每年」, 「年度」
    and the like say the count runs within the year.
    """
    text = _compact(context)
    if any(re.search(w, text) for w in KINDS["stock"].import_words):
        return "stock", False
    if any(re.search(w, text) for w in KINDS["count"].import_words):
        return "count", True
    return "count", None


def polarity_of(name: str, target: str) -> tuple[str | None, str]:
    """(polarity or None, how): from the target's comparator, else from words of the name.

    ``how`` is ``comparator``, ``word`` (a lower-is-better word: sure) or ``unsure`` (marked).

    A comparator decides (``≤5天``, ``85%以上``); else a lower-is-better word (不合格, 污染,
    逾期, 事故, 平均處理天數 …) makes it lower, unless the name counts what is done against
    the bad thing (缺失改善率, 違規取締件數); 下降/減少 in a name is lower but unsure (a
    reduction rate is higher-is-better).  Anything else is unsure: it is marked.
    """
    try:
        op = parse_target(target).op if target else None
    except ValueError:
        op = None
    if op:
        return ("lower" if "<" in op else "higher"), "comparator"
    n = _compact(name)
    rest = n
    for w in LOWER_WORDS:  # 未結案件數: the 結案 of 未結案 is no result against anything
        rest = rest.replace(w, "|")
    if any(w in rest for w in AGAINST_WORDS):
        return None, "unsure"
    if any(w in n for w in AMBIGUOUS_LOWER):
        return "lower", "unsure"
    if any(w in n for w in LOWER_WORDS):
        return "lower", "word"
    return None, "unsure"


def _stages(text: str) -> list[dict] | None:
    # 「1.完成規劃(25%)」, or without parentheses 「1.完成委託專業技術服務25%」 one a line (臺中市經發局
    # 103); a label may hold its own percent (「第一期工程進度達50%(80%)」), so parentheses win.
    bracketed = (
        r"\(\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*\)"
        if re.search(r"\([0-9.]+\s*%\)", text)
        else r"([0-9]+(?:\.[0-9]+)?)\s*%"
    )
    label = r"([^;；,，()]+?)" if "(" in bracketed[:3] else r"([^0-9;；,，()]+?)"
    found = re.findall(rf"(?:^|\s|[;；,，])([0-9]+)\s*[.、．]\s*{label}\s*{bracketed}", text)
    if len(found) < 2 or [int(n) for n, _, _ in found] != list(range(1, len(found) + 1)):
        return None
    out = []
    for _, label, pct in found:
        p = float(pct)
        out.append({"label": label.strip(), "percent": int(p) if p.is_integer() else p})
    return out


# -- the importer ----------------------------------------------------------------------


class _Importer:
    def __init__(self, doc: Document, path: Path):
        self.doc, self.path = doc, path
        self.listing: list[tuple[str, str]] = []  # what was recognised besides indicators, for the listing
        self.common = False  # inside a 共同性指標 section
        self.footnotes: list[str] = []  # note rows inside Part 2 tables
        self.doc_notes = [p for p in doc.paragraphs if _FOOTNOTE.match(p)]  # notes below a table

    def error(
        self, zh: str, en: str, table: Table | None = None, row: int | None = None, col: int | None = None
    ):
        sheet = f"第 {table.index} 個表格 table {table.index}" if table else None
        cell = (
            f"第 {row + 1} 列第 {col + 1} 欄 row {row + 1} column {col + 1}"
            if row is not None and col is not None
            else (f"第 {row + 1} 列 row {row + 1}" if row is not None else None)
        )
        return DocumentError(zh, en, path=self.path, sheet=sheet, cell=cell)

    def run(self) -> dict:
        found = [(t, lay) for t in self.doc.tables if (lay := part2_layout(t))]
        if not found:
            raise self.error(
                "找不到第二部分關鍵績效指標表格（表頭須有：策略績效目標或關鍵策略目標、衡量指標、評估體制、評估方式、衡量標準、年度目標值）",
                "no Part 2 KPI table found (headers needed: 策略績效目標/關鍵策略目標, 衡量指標, 評估體制, 評估方式, 衡量標準, 年度目標值)",
            )
        plan_marks: list[Mark] = []
        year = next((lay.year for _, lay in found if lay.year), None)
        agency, title_year = self.title()
        year = year or title_year
        if year is None:
            year = 0
            plan_marks.append(Mark("year", "文件中找不到年度", "the document names no year"))
        if agency is None:
            agency = "（機關名稱）"
            plan_marks.append(
                Mark(
                    "agency",
                    "文件中找不到機關名稱（標題「○○ 107 年度施政計畫」）",
                    "no agency found in the title",
                )
            )
        goals: list[dict] = []
        for table, layout in found:  # notes are read first: a note below the rows may explain one above
            for row in table.rows[layout.header_rows :]:
                own = _own_texts(row)
                if own and _FOOTNOTE.match(own[0]) and _no_measure(row, layout.columns):
                    self.footnotes.append(" ".join(own))
        for table, layout in found:  # a long Part 2 table may continue on a second table
            self.part2(table, layout, goals)
        work_plans = self.part3()
        for goal in goals:
            self.owners(goal, work_plans)
        data: dict[str, Any] = {
            # identity from agency and year: two agencies' plans of one year never share an id
            "id": f"plan_{hashlib.sha256(agency.encode('utf-8')).hexdigest()[:8]}"
            + (f"_{year}" if year else ""),
            "agency": agency,
            "year": year,
            "title": f"{agency} {year} 年度施政計畫" if year else f"{agency} 施政計畫",
        }
        if plan_marks:
            data["needs_review"] = [m.as_dict() for m in plan_marks]
        data["goals"] = goals
        if work_plans:
            data["work_plans"] = work_plans
        sample = self.part4(goals, year)
        if sample:
            data["sample"] = sample
        return data

    def title(self) -> tuple[str | None, int | None]:
        for p in self.doc.paragraphs[:40]:
            m = re.search(r"^([^\d\s].*?)\s*([0-9]{2,3})\s*年度?\s*施政計畫", _fold(p))
            if m:
                return m.group(1).strip(), int(m.group(2))
        return None, None

    # -- Part 2 ---------------------------------------------------------------
    def part2(self, table: Table, layout: Layout, goals: list[dict]) -> None:
        """Goals and indicator rows of one Part 2 table; notes and section rows are listed, not read."""
        cols = layout.columns
        goal_cols = cols["goal"]
        section: str | None = None  # a section row's text, waiting to become the next goal
        for r in range(layout.header_rows, len(table.rows)):
            row = table.rows[r]
            if not any(c.text for c in row):
                continue
            if part2_layout(Table([row], table.index)) is not None:
                continue  # a header repeated on a new page
            where = f"第 {table.index} 個表格第 {r + 1} 列 / table {table.index} row {r + 1}"
            own = _own_texts(row)
            if _FOOTNOTE.match(own[0] if own else "") and _no_measure(row, cols):
                self.listing.append(
                    (
                        f"{where}：註記，未當作指標（用於判讀）：「{_short(own)}」",
                        "a note row, not read as an indicator",
                    )
                )
                continue
            if len(own) == 1 and _no_measure(row, cols):
                section = own[0]
                self.common = "共同性" in _compact(section)
                what = "共同性指標分段（其後指標不計入本計畫權重）" if self.common else "分段標題"
                self.listing.append((f"{where}：{what}：「{_short(own)}」", "a section row"))
                continue
            self.check_merges(table, r, layout)
            goal_cell = row[goal_cols[-1]]
            goal_text = goal_cell.text
            if section and not goal_text:  # a goal printed on its own row, across the table
                goal_text, section = section, None
                goal_cell = Cell([goal_text])
            section = None
            continues = (
                goal_cell.from_above or not goal_text or (goals and _goal_key(goal_text) == goals[-1]["_key"])
            )
            if not continues:
                number = row[goal_cols[0]].text if len(goal_cols) > 1 else ""
                goals.append(self.goal(goal_text, number, len(goals)))
            elif not goals:
                raise self.error(
                    "第一項指標沒有策略績效目標",
                    "the first indicator row has no strategic goal",
                    table,
                    r,
                    goal_cols[-1],
                )
            goal = goals[-1]
            ind = self.indicator(table, r, layout, goal)
            if self.common or "共同性" in _compact(goal["name"]):  # a section, or a goal named 共同性目標
                ind["common"] = True
            goal["indicators"].append(ind)
        for goal in goals:
            if goal.get("weight") is None:
                # a goal printed without its weight weighs what its indicators weigh (the loader's rule)
                goal["weight"] = _number(sum(float(i["weight"]) for i in goal["indicators"]))

    def check_merges(self, table: Table, r: int, layout: Layout) -> None:
        row = table.rows[r]
        for role, cols in layout.columns.items():
            for col in cols:
                cell = row[col]
                if cell.from_left and col - 1 not in cols and role != "remarks":
                    raise self.error(
                        f"「{ROLE_NAMES.get(role, role)}」欄與左側欄位合併，無法分辨各欄內容",
                        f"the {role} cell is merged with the column to its left",
                        table,
                        r,
                        col,
                    )
                if cell.from_above and role in ("indicator", "formula"):
                    raise self.error(
                        f"「{ROLE_NAMES[role]}」儲存格與上一列合併；每項指標須各自一列",
                        f"the {role} cell is merged with the row above; each indicator needs its own row",
                        table,
                        r,
                        col,
                    )

    def goal(self, text: str, number: str, index: int) -> dict:
        name, weight = _split_weight(text)
        m = _LEADING_NUMBER.match(name)
        if m and not number:
            number, name = m.group(1), name[m.end() :]
        goal: dict[str, Any] = {"id": f"G{index + 1}"}
        if number:
            goal["number"] = number.strip()
        goal |= {"name": name.strip(), "weight": weight, "indicators": [], "_key": _goal_key(text)}
        return goal

    def indicator(self, table: Table, r: int, layout: Layout, goal: dict) -> dict:
        """One indicator row as plan data; what is read is set, what is not is set provisionally and marked."""
        row, cols = table.rows[r], layout.columns
        marks: list[Mark] = []

        def text(role: str) -> str:
            return row[cols[role][-1]].text if role in cols else ""

        name, weight = _split_weight(text("indicator"))
        number = row[cols["indicator"][0]].text if len(cols["indicator"]) > 1 else ""
        m = _LEADING_NUMBER.match(name)
        if m and not number:
            number, name = m.group(1), name[m.end() :]
        name, note_mark = _split_note_mark(name)
        name, name_unit = _split_unit(name)
        if "weight" in cols:
            w = _fold(text("weight")).strip().rstrip("%").strip()
            try:
                weight = _number(float(w))
            except ValueError:
                weight = None
        if weight is None:
            weight = 0
            marks.append(Mark("weight", "文件中找不到權重（權重欄或名稱後的「(15%)」）", "no weight found"))
        index = len(goal["indicators"]) + 1
        ind: dict[str, Any] = {"id": f"{goal['id']}_{index}"}
        if number:
            ind["number"] = number.strip()
        ind |= {"name": name.strip(), "weight": weight}
        system_text = _fold(text("system")).strip()
        if re.fullmatch(r"[1-5]", system_text):
            ind["system"] = int(system_text)
        else:
            ind["system"] = 1
            marks.append(
                Mark(
                    "system",
                    f"評估體制「{system_text}」不是 1–5 的代號，暫填 1",
                    f"評估體制 {system_text!r} is not a code 1-5",
                )
            )
        ind["method"] = text("method") or "統計數據"
        if not text("method"):
            marks.append(Mark("method", "評估方式空白，暫填「統計數據」", "評估方式 is empty"))
        formula = text("formula")
        ind["formula"] = formula or "（空白）"
        target_text = text("target")
        context = " ".join([name, formula, text("remarks"), *self.notes_on(name, note_mark)])
        kind, labels, stages, cumulative = self.measure(name, formula, target_text, context, marks)
        ind["kind"] = kind
        record = KINDS[kind]
        polarity, how = polarity_of(ind["name"], target_text)
        if how != "comparator" and polarity:
            ind["polarity"] = polarity  # a comparator sets it itself; writing it too would only repeat it
        if how == "unsure" and not record.staged:  # stages only go up: a milestone is higher-is-better
            shown = {"lower": "越低越好", "higher": "越高越好"}.get(polarity or record.default_polarity or "")
            marks.append(
                Mark(
                    "polarity",
                    "目標值未寫 ≥、≤、以上、以下，無法確定越高或越低越好"
                    + (
                        f"（暫依{'指標名稱' if polarity else '計算方式'}為{shown}）"
                        if shown
                        else "，請填寫方向"
                    ),
                    "higher or lower is better is not known (the target has no comparator)",
                )
            )
        if target_text:
            ind["target"] = target_text
        else:
            ind["target"] = "0%" if record.percent else "0"
            marks.append(Mark("target", "年度目標值空白", "the target is empty"))
        if target_text:
            try:
                parse_target(target_text)
            except ValueError:
                if not (record.staged and stages):
                    marks.append(
                        Mark(
                            "target",
                            f"無法判讀目標值「{target_text}」",
                            f"cannot read the target {target_text!r}",
                        )
                    )
        if "owner" in cols and text("owner"):
            ind["owner"] = text("owner")
        ind["inputs"] = self.inputs(kind, labels, cumulative, name_unit or _target_unit(target_text), marks)
        if stages:
            ind["stages"] = stages
        if marks:
            ind["needs_review"] = [m.as_dict() for m in marks]
        return ind

    def measure(
        self, name: str, formula: str, target: str, context: str, marks: list[Mark]
    ) -> tuple[str, dict[str, str], list[dict] | None, bool | None]:
        """(kind, role → label, stages, cumulative) of one indicator; marks what was not read."""
        kind, labels, stages = infer_measure(formula)
        cumulative: bool | None = None
        relative = _relative(target)
        if kind is None and re.match(r"^\s*第\s*[0-9]+\s*階段", _fold(target)):
            marks.append(
                Mark(
                    "stages", "目標值為階段，但衡量標準未列出各階段及百分比", "a stage target, but no stages"
                )
            )
        if kind == "average" and "%" in _fold(target):  # A/B with a percent target: a ratio short of ×100
            kind, labels = "ratio", {"numerator": labels["total"], "denominator": labels["cases"]}
            marks.append(
                Mark(
                    "kind",
                    f"衡量標準「{formula}」未寫 ×100%，但目標值是百分比：暫以比率計算，請確認",
                    "A/B without ×100 but a percent target: read as a ratio",
                )
            )
        if kind == "count" and relative:  # 較上年度成長5% of a count: a growth of it
            label = labels["count"]
            kind, labels = "growth", {"current": f"本年度{label}", "previous": f"上年度{label}"}
            marks.append(
                Mark(
                    "kind",
                    f"目標值「{target}」與上年度比較，改以成長率計算（本年度與上年度的{label}），請確認",
                    "a target against last year: read as a growth of the count",
                )
            )
        elif kind == "count":
            kind, cumulative = count_or_stock(context)
            labels = {KINDS[kind].roles[0]: labels["count"]}
            if cumulative is None:
                cumulative = True
                marks.append(
                    Mark(
                        "inputs",
                        "文件未載明是年度內累計（年中推估全年）或某日的存量，暫以年度內累計計算，請確認計算方式與「累計」",
                        "not said whether it runs within the year or is a level: read as a running count",
                    )
                )
        elif kind is None and any(
            re.search(w, _compact(name + formula)) for w in KINDS["average"].import_words
        ):
            kind = "average"
            labels = _placeholders(kind)
            marks.append(
                Mark(
                    "inputs",
                    f"平均數指標，但衡量標準「{formula}」未寫出「總數／件數」，請填寫兩項填報數據",
                    "an average, but 衡量標準 names no total and cases",
                )
            )
        if kind is None:
            kind = "growth" if relative else "ratio" if "%" in _fold(target) else "count"
            record = KINDS[kind]
            labels = _placeholders(kind)
            marks.append(
                Mark(
                    "kind",
                    f"無法由衡量標準「{formula}」判斷計算方式與填報數據，暫填為{record.label}",
                    f"cannot tell the kind and inputs from 衡量標準 {formula!r}",
                )
            )
        return kind, labels, stages, cumulative

    def inputs(
        self,
        kind: str,
        labels: dict[str, str],
        cumulative: bool | None,
        name_unit: str | None,
        marks: list[Mark],
    ) -> dict[str, dict]:
        """Input specs: units from the labels (or from the name's （處）), 累計 where the kind differs."""
        record = KINDS[kind]
        out: dict[str, dict] = {}
        for n, (role, label) in enumerate(labels.items()):
            spec: dict[str, Any] = {"label": label}
            unit = "階段" if record.staged else unit_of(label)
            if n == 0 and name_unit and not record.percent and (unit is None or _same_unit(unit, name_unit)):
                unit = name_unit  # the value's unit, as the name (資源回收量（公噸）) or the target (≤5天) prints it
            if unit is None:
                unit = "件"
                if not any(mk.field in ("kind", "inputs") and "請填寫" in mk.zh for mk in marks):
                    marks.append(
                        Mark(
                            "inputs",
                            f"無法由「{label}」判斷單位，暫填「件」",
                            f"cannot tell the unit of {label!r}",
                        )
                    )
            spec["unit"] = unit
            if kind == "growth":
                spec["cumulative"] = (
                    False  # this year's total against last year's: levels, not running counts
                )
            elif cumulative is not None and cumulative != record.cumulative:
                spec["cumulative"] = cumulative
            out[role] = spec
        return out

    def notes_on(self, name: str, mark: str | None) -> list[str]:
        """The footnotes about an indicator: those naming it, or carrying its mark (註1)."""
        key = _compact(name)
        out = []
        for note in self.footnotes + self.doc_notes:
            folded = _compact(note)
            if (key and key in folded) or (mark and folded.startswith(_compact(mark))):
                out.append(note)
        return out

    def owners(self, goal: dict, work_plans: list[dict]) -> None:
        """承辦單位 is not in Part 2: propose the Part 3 work plan that shares most wording, marked."""
        for ind in goal["indicators"]:
            if "owner" in ind:
                continue
            best, score = None, 0
            words = _bigrams(ind["name"] + ind["formula"])
            for w in work_plans:
                text = w["name"] + "".join(i["name"] + "".join(i["content"]) for i in w["items"])
                s = sum(1 for b in words if b in text)
                if s > score:
                    best, score = w["name"], s
            ind["owner"] = best or "（承辦單位）"
            note = (
                (
                    f"承辦單位未載於第二部分，依第三部分推定為「{best}」，請確認",
                    f"owner proposed from Part 3: {best}",
                )
                if best
                else ("承辦單位未載於文件，請填寫", "the document names no owner")
            )
            ind.setdefault("needs_review", []).append(Mark("owner", *note).as_dict())
        goal.pop("_key", None)

    # -- Part 3 ---------------------------------------------------------------
    def part3(self) -> list[dict]:
        plans: list[dict] = []
        for table in self.doc.tables:
            head = [_compact(c.text) for c in table.rows[0]] if table.rows else []
            if not ("工作計畫" in head and "重要施政計畫項目" in head and "實施內容" in head):
                continue
            cw, ci, cc = head.index("工作計畫"), head.index("重要施政計畫項目"), head.index("實施內容")
            for row in table.rows[1:]:
                w, i, c = row[cw], row[ci], row[cc]
                if w.text and not w.from_above and (not plans or _strip_number(w.text) != plans[-1]["name"]):
                    plans.append({"name": _strip_number(w.text), "items": []})
                if not plans:
                    continue
                items = plans[-1]["items"]
                if i.text and not i.from_above:
                    items.append({"name": _strip_number(i.text), "content": []})
                if items and c.text and not c.from_above:
                    items[-1]["content"].extend(_paragraphs(c))
        return plans

    # -- Part 4 ---------------------------------------------------------------
    def part4(self, goals: list[dict], year: int) -> dict | None:
        indicators = {_compact(i["name"]): i for g in goals for i in g["indicators"]}
        for table in self.doc.tables:
            head = " ".join(_compact(c.text) for c in table.rows[0]) if table.rows else ""
            if "原訂目標值" not in head or "達成情形" not in head:
                continue
            cols = [_compact(c.text) for c in table.rows[0]]
            t_col = next(i for i, h in enumerate(cols) if "原訂目標值" in h)
            a_col = next(i for i, h in enumerate(cols) if "達成情形" in h)
            n_col = next((i for i, h in enumerate(cols) if any(w in h for w in INDICATOR_WORDS)), t_col - 1)
            entries: dict[str, dict] = {}
            for row in table.rows[1:]:
                name, _ = _split_weight(row[n_col].text)
                ind = indicators.get(_compact(name))
                if ind is None:
                    continue
                if row[t_col].text:
                    ind["previous_target"] = row[t_col].text
                entries[ind["id"]] = _sample_counts(ind, row[a_col].text)
            period_text = " ".join(table.before + [p for p in self.doc.paragraphs if "年1月1日至" in p])
            m = re.search(
                r"([0-9]{2,3})\s*年\s*1\s*月\s*1\s*日至\s*([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*日",
                _fold(period_text),
            )
            if not entries or not m:
                return None
            end = (int(m.group(2)), int(m.group(3)))
            period = "FY" if end == (12, 31) else "H1" if end == (6, 30) else None
            if period is None:
                return None
            sample_year = int(m.group(1))
            return {
                "year": sample_year,
                "period": period,
                "targets": "previous" if sample_year == year - 1 else "current",
                "entries": entries,
            }
        return None


def _sample_counts(ind: dict, text: str) -> dict[str, int | None]:
    """The counts a Part 4 analysis states, where they can be read; None where not."""
    t = _fold(text).replace(",", "")
    roles = list(ind["inputs"])
    out: dict[str, int | None] = dict.fromkeys(roles)
    if ind["kind"] == "ratio":
        m = re.search(r"\(\s*([0-9]+)\s*[^\d/()]*/\s*([0-9]+)\s*[^\d()]*\)", t)
        if m:
            out["numerator"], out["denominator"] = int(m.group(1)), int(m.group(2))
    elif ind["kind"] == "count":
        unit = ind["inputs"]["count"]["unit"]
        m = re.search(rf"(?:共計|計有|合計|累計)\s*([0-9]+)\s*{re.escape(unit)}", t)
        if m:
            out["count"] = int(m.group(1))
    elif ind["kind"] == "growth":
        labels = {r: _compact(ind["inputs"][r]["label"]) for r in roles}
        for role, label in labels.items():
            m = re.search(rf"{re.escape(label)}\s*(?:為|計|共)?\s*([0-9]+)", _compact(t))
            if m:
                out[role] = int(m.group(1))
    return out


def _split_weight(text: str) -> tuple[str, float | int | None]:
    """``推動本處志願服務工作(15%)`` → (name, 15); the name keeps its own characters."""
    t = " ".join(text.split())
    m = _WEIGHT_IN_NAME.search(t)
    if not m:
        return t, None
    return t[: m.start()].strip(), _number(float(m.group(1)))


def _split_unit(name: str) -> tuple[str, str | None]:
    """``資源回收率（％）`` → (資源回收率, %); ``認養處數（處）`` → (認養處數, 處)."""
    m = _UNIT_IN_NAME.search(name)
    if not m:
        return name, None
    unit = _fold(m.group(1))
    return name[: m.start()].strip(), unit


def _split_note_mark(name: str) -> tuple[str, str | None]:
    """``累計認養處數(註1)`` → (累計認養處數, 註1): the mark links the name to its footnote."""
    m = _NOTE_MARK.search(name)
    if not m:
        return name, None
    return name[: m.start()].strip(), next(g for g in m.groups() if g)


def _placeholders(kind: str) -> dict[str, str]:
    """Input labels for the coordinator to fill in: （請填寫分子名稱）…"""
    record = KINDS[kind]
    return {role: f"（請填寫{record.role_name(role)}名稱）" for role in record.roles}


#: Unit words a plan may print for the same unit: the target's spelling is kept.
_SAME_UNIT = ({"日", "天"}, {"件", "案"}, {"人", "名"}, {"場", "場次"})


def _same_unit(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in _SAME_UNIT)


def _target_unit(target: str) -> str | None:
    """The unit word printed with a number target (``≤5天`` → 天), where it names a same unit."""
    try:
        return parse_target(target).unit or None if target else None
    except ValueError:
        return None


def _relative(target: str) -> bool:
    try:
        return bool(target) and parse_target(target).relative
    except ValueError:
        return False


def _own_texts(row: list[Cell]) -> list[str]:
    """The texts a row itself holds (merged continuations from above or the left excluded)."""
    return [c.text for c in row if c.text and not c.from_left and not c.from_above]


def _no_measure(row: list[Cell], cols: dict[str, list[int]]) -> bool:
    """No 衡量標準 and no target of its own: a note or a section title, not an indicator."""
    return all(
        not row[cols[role][-1]].text or row[cols[role][-1]].from_left for role in ("formula", "target")
    )


def _short(texts: list[str]) -> str:
    text = " ".join(" ".join(texts).split())
    return text if len(text) <= 40 else text[:40] + "…"


def _number(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def _goal_key(text: str) -> str:
    name, _ = _split_weight(text)
    return _compact(_LEADING_NUMBER.sub("", name))


def _strip_number(text: str) -> str:
    return re.sub(rf"^\s*(?:[{_NUMERAL}]+\s*、|[0-9]+\s*[.、．])\s*", "", " ".join(text.split())).strip()


def _paragraphs(cell: Cell) -> list[str]:
    """A 實施內容 cell as its numbered paragraphs: one a paragraph, or ``1. … 2. …`` in one."""
    paras = [p.strip() for p in cell.paragraphs if p.strip()]
    if len(paras) == 1:
        parts = re.split(r"(?:^|\s)(?=[0-9]+\.\s*\S)", paras[0])
        numbered = [p.strip() for p in parts if p.strip()]
        if len(numbered) > 1 and all(re.match(rf"{n}\.", p) for n, p in enumerate(numbered, 1)):
            paras = numbered
    return [re.sub(r"^[0-9]+\.\s*", "", p) for p in paras]


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[^\u4e00-\u9fff]", "", text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


def import_document(path: str | Path) -> dict:
    """Plan data (a plan file's mapping, with ``needs_review`` marks) from a .docx or .odt plan."""
    return import_with_listing(path)[0]


def import_with_listing(path: str | Path) -> tuple[dict, list[tuple[str, str]]]:
    """:func:`import_document`, and the lines of the import's listing (zh-TW, English): the note
    rows and section rows of the Part 2 table, which were recognised and not read as indicators."""
    path = Path(path)
    importer = _Importer(read_document(path), path)
    data = importer.run()
    for goal in data["goals"]:
        goal["indicators"] = [_ordered(i) for i in goal["indicators"]]
    return data, importer.listing


def _ordered(ind: dict) -> dict:
    """Keys in the order a plan file lists them, so the YAML reads like the embedded plan."""
    out = {k: ind[k] for k in INDICATOR_KEYS if k in ind}
    out.update({k: v for k, v in ind.items() if k not in out})
    return out


__all__ = [
    "DocumentError",
    "count_or_stock",
    "import_document",
    "import_with_listing",
    "infer_measure",
    "part2_layout",
    "polarity_of",
    "unit_of",
]
