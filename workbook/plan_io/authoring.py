"""The plan-authoring workbook: a plan as sheets a coordinator (研考) recognises.

Sheets: 計畫 (agency, year, options, phrases, periods), 關鍵績效指標 (the plan's
Part 2 columns plus what the engine needs, with drop-downs), 重要施政計畫 (Part 3),
填表說明, and a very hidden ``_plan`` sheet that carries the parts of a plan no
coordinator edits in cells (Part 1 text, rules, sample data) as YAML.

:func:`plan_workbook` writes plan data (the dict a YAML plan file holds) into a
workbook; :mod:`.reading` reads it back.  Data → workbook → data keeps the
plan's fingerprint (defaults spelled out in cells are dropped by
:func:`kpi_engine.plan_loader.canonical`).  Every mistake is reported with its sheet
and cell, in zh-TW and English, with the same codes ``kpi plan check`` uses.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpi_engine import PlanError
from kpi_engine.kinds import KIND_ROLES, KINDS
from kpi_engine.plan import Phrases
from kpi_engine.plan_loader import DEFAULT_PERIODS, INDICATOR_KEYS, dump_plan
from workbook.form import styles as S
from workbook.form.sheet import Sheet, Validation
from workbook.form.sheet_xlsx import XlsxBook
from workbook.form.styles import row_height
from workbook.formats.cells import column_letters
from workbook.formats.files import WorkbookFileError, save_atomic

SHEET_PLAN = "計畫"
SHEET_KPI = "關鍵績效指標"
SHEET_ITEMS = "重要施政計畫"
SHEET_GUIDE = "填表說明"
SHEET_EXTRA = "_plan"  # very hidden: Part 1 text, rules, sample, as YAML
MARKER = "kpi-plan-authoring"
FORMAT_VERSION = "1"
#: Rows below the last indicator that still get drop-downs, for rows a coordinator adds.
SPARE_ROWS = 200
#: A cell holds at most 32,767 characters; YAML is split into chunks well below that.
CHUNK = 30_000

#: The kinds' names in the drop-down, from their records.
KIND_LABELS = {code: kind.label for code, kind in KINDS.items()}
POLARITY_LABELS = {"higher": "越高越好", "lower": "越低越好"}
YES, NO = "是", "否"
REVIEW_FILL = S.Fill("F8CBAD")  # marked for the coordinator

# (label, path in the plan data, type) of the 計畫 sheet's rows.
PLAN_ROWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("計畫代碼", ("id",), "text"),
    ("機關名稱", ("agency",), "text"),
    ("民國年度", ("year",), "int"),
    ("計畫名稱", ("title",), "text"),
    ("小數位數", ("options", "decimals"), "int"),
    ("達成率上限（%）", ("options", "cap"), "number"),
    ("綠燈門檻（達成率 ≥）", ("options", "lights", "green"), "number"),
    ("黃燈門檻（達成率 ≥）", ("options", "lights", "yellow"), "number"),
    ("工作表保護密碼", ("options", "password"), "password"),
    ("計算完成寄回信箱", ("options", "submit_to"), "text"),
    ("用語：達成", ("phrases", "met"), "text"),
    ("用語：未達成", ("phrases", "not_met"), "text"),
    ("用語：推估可達成", ("phrases", "on_track"), "text"),
    ("用語：推估恐未達成", ("phrases", "at_risk"), "text"),
    ("用語：尚無資料", ("phrases", "pending"), "text"),
    ("用語：非評估期別", ("phrases", "not_this_period"), "text"),
)
PLAN_NOTES = {
    "計畫代碼": "英文字母開頭，僅含英數字與底線，例如 taichung_secretariat_107",
    "民國年度": "例如 107",
    "小數位數": "實際值、達成率四捨五入的位數（同 Excel ROUND）",
    "工作表保護密碼": "空白表示不設密碼",
    "計算完成寄回信箱": "同仁按「計算」無誤後，提示存檔並寄到此電子郵件地址；空白表示寄回彙整窗口",
}
PLAN_REVIEW_LABEL = "待確認"
PERIOD_HEADERS = ("期別代碼", "期別名稱", "起日（月-日）", "迄日（月-日）")
OPTION_KEYS = {"decimals", "cap", "lights", "password", "submit_to"}
#: The 計畫 sheet's table of reporting units: who owes returns and where a reminder goes.
UNITS_TITLE = "填報單位與催繳信箱"
UNIT_HEADERS = ("單位名稱", "電子郵件", "聯絡人")  # the address in the wide column: it prints on page 1
UNIT_KEYS = ("name", "email", "contact")
UNITS_NOTE = "選填：kpi collect 依此列出未繳單位，催繳信（--remind）寄到電子郵件"


@dataclass(frozen=True)
class Column:
    """One column of the 關鍵績效指標 sheet."""

    key: str
    header: str
    width: float
    note: str = ""


KPI_COLUMNS: tuple[Column, ...] = (
    Column("goal_number", "目標項次", 6),
    Column("goal_name", "策略績效目標", 26, "同一目標的後續列可留白"),
    Column("goal_weight", "目標權重（%）", 8),
    Column("number", "指標項次", 6),
    Column("name", "衡量指標", 28),
    Column("weight", "權重（%）", 8),
    Column("system", "評估體制", 8),
    Column("method", "評估方式", 10),
    Column("formula", "衡量標準", 32),
    Column("target", "年度目標值", 12),
    Column("previous_target", "上年度目標值", 12),
    Column("kind", "計算方式", 12),
    Column("polarity", "方向", 11),
    Column("decimals", "小數位數", 7),
    Column("owner", "承辦單位", 14),
    Column("review", "待確認", 30),
    Column("in1_label", "填報數據一", 18),
    Column("in1_unit", "單位一", 6),
    Column("in1_cumulative", "累計一", 6),
    Column("in2_label", "填報數據二", 18),
    Column("in2_unit", "單位二", 6),
    Column("in2_cumulative", "累計二", 6),
    Column("stages", "階段（完成工作項目）", 24),
    Column("assessed_in", "評估期別", 10),
    Column("common", "共同性指標", 8, "「是」：與計畫一併填報，但不計入本計畫權重與得分"),
    Column("sentence", "分析句型", 36),
    Column("goal_id", "目標代碼", 8),
    Column("id", "指標代碼", 16),
    Column("extra", "其他設定（YAML）", 12),
)
_KPI_KEYS = {c.key: i for i, c in enumerate(KPI_COLUMNS, start=1)}
#: Indicator keys the sheet has columns for; any other key travels in the 其他設定 column.
_MAPPED_INDICATOR_KEYS = frozenset(INDICATOR_KEYS)
#: 承辦單位 last, so an authoring workbook made before it reads as before (no owner).
ITEM_HEADERS = ("工作計畫", "重要施政計畫項目", "實施內容", "承辦單位")


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetIssue:
    """A mistake in an authoring workbook, at a sheet and cell."""

    sheet: str
    cell: str
    message_zh: str
    message_en: str
    code: str = "schema"
    path: str = ""  # the plan field, as kpi plan check names it

    @property
    def line(self) -> None:
        """Workbook issues have cells, not lines (PlanIssue compatibility)."""
        return None

    def __str__(self) -> str:
        where = f"工作表「{self.sheet}」{self.cell} sheet {self.sheet!r} cell {self.cell}"
        return f"{where}: [{self.code}] {self.message_zh} / {self.message_en}"


class AuthoringError(PlanError):
    """An authoring workbook whose plan has mistakes; ``issues`` name sheet and cell."""

    code = "plan_workbook_invalid"


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------


def _get(data: dict, path: tuple[str, ...]) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _defaults() -> dict:
    phrases = Phrases()
    return {
        ("options", "decimals"): 2,
        ("options", "cap"): 100,
        ("options", "lights", "green"): 100,
        ("options", "lights", "yellow"): 90,
        **{("phrases", k): getattr(phrases, k) for k in phrases.__dataclass_fields__},
    }


def _review_text(marks: list[dict] | None) -> str:
    return "\n".join(f"{m['field']}：{m['note_zh']} / {m['note_en']}" for m in marks or [])


def _stages_text(stages: list[dict] | None) -> str:
    return "\n".join(f"{n}.{s['label']} {_num_text(s['percent'])}%" for n, s in enumerate(stages or [], 1))


def _num_text(x: Any) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def plan_workbook(data: dict) -> bytes:
    """The authoring workbook (.xlsx, written by XlsxWriter) of plan ``data`` (a plan file's mapping)."""
    book = XlsxBook()
    marked = _marked_fields(data)
    sheets = [
        _plan_sheet(book.sheet(SHEET_PLAN), data, marked),
        _kpi_sheet(book.sheet(SHEET_KPI), data),
        _items_sheet(book.sheet(SHEET_ITEMS), data),
        _guide_sheet(book.sheet(SHEET_GUIDE)),
    ]
    _extra_sheet(book.sheet(SHEET_EXTRA), data)
    for ws in sheets:  # the wide KPI table prints at ≥ 70 %, not squeezed to one page width
        ws.readable_print()
    book.activate(sheets[1])  # the KPI table is what a coordinator works on
    return book.close()


def write_plan_workbook(data: dict, path: str | Path) -> Path:
    """Write the authoring workbook of ``data`` to ``path`` (.xlsx, or .ods converted from it)."""
    path = Path(path)
    content = plan_workbook(data)
    if path.suffix.lower() != ".ods":
        return save_atomic(content, path)
    from workbook import libreoffice as lo
    from workbook.formats.xlsx_to_ods import UnsupportedPackage, xlsx_to_ods

    with tempfile.TemporaryDirectory(prefix="kpi-plan-") as tmp:
        xlsx = save_atomic(content, Path(tmp) / "plan.xlsx")
        try:  # written in Python (issue 24); LibreOffice only for what the converter does not write
            return save_atomic(xlsx_to_ods(xlsx.read_bytes()), path)
        except UnsupportedPackage:
            pass
        try:
            return lo.recalculate(xlsx, path, fmt="ods")
        except lo.LibreOfficeError as exc:
            raise WorkbookFileError(
                "無法以 LibreOffice 轉存 .ods，請改用 .xlsx",
                f"cannot write .ods through LibreOffice: {exc}",
                path=path,
            ) from exc


def _marked_fields(data: dict) -> set[tuple]:
    out = set()
    for m in data.get("needs_review") or []:
        out.add(("plan", m["field"]))
    return out


def _header(ws: Sheet, row: int, labels: list[str] | tuple[str, ...]) -> None:
    for col, text in enumerate(labels, start=1):
        ws.put(row, col, text, font=S.HEADING, fill=S.HEADER_FILL, align=S.CENTER)


def _title(ws: Sheet, text: str) -> None:
    ws.put(1, 1, text, font=S.TITLE, border=False, align=S.LEFT)
    ws.height(1, 26)


def _plan_sheet(ws: Sheet, data: dict, marked: set[tuple]) -> Sheet:
    ws.page()
    for col, width in enumerate((24, 50, 50, 16), start=1):
        ws.width(col, width)
    _title(ws, "計畫基本資料")
    _header(ws, 2, ["項目", "內容", "說明"])
    defaults = _defaults()
    row = 3
    for label, path, kind in PLAN_ROWS:
        value = _get(data, path)
        if value is None:
            value = defaults.get(path)
        ws.put(row, 1, label, fill=S.LABEL_FILL)
        fill = REVIEW_FILL if ("plan", path[-1]) in marked else None
        ws.put(row, 2, value, fill=fill, fmt="@" if kind in ("text", "password") else None)
        ws.put(row, 3, PLAN_NOTES.get(label, ""), font=S.SMALL)
        ws.height(row, row_height([(str(value or ""), 50), (PLAN_NOTES.get(label, ""), 60)]))
        row += 1
    ws.put(row, 1, PLAN_REVIEW_LABEL, fill=S.LABEL_FILL)
    review = _review_text(data.get("needs_review"))
    ws.put(row, 2, review or None, fill=REVIEW_FILL if review else None)
    ws.put(row, 3, "匯入時未能判讀、須確認的項目；確認或修正後請刪除該行", font=S.SMALL)
    row += 2
    ws.put(row, 1, "填報期別", font=S.HEADING, border=False)
    row += 1
    _header(ws, row, PERIOD_HEADERS)
    for p in data.get("periods") or DEFAULT_PERIODS:
        row += 1
        for col, key in enumerate(("id", "name", "start", "end"), start=1):
            ws.put(
                row, col, str(p[key]), align=S.CENTER, fmt="@"
            )  # 06-30 stays text; Excel would make it a date
    row += 2
    ws.put(row, 1, UNITS_TITLE, font=S.HEADING, border=False)
    ws.put(row, 2, UNITS_NOTE, font=S.SMALL, border=False, align=S.LEFT)
    row += 1
    _header(ws, row, UNIT_HEADERS)
    for unit in data.get("units") or []:
        row += 1
        given = {"name": unit} if isinstance(unit, str) else unit
        for col, key in enumerate(UNIT_KEYS, start=1):
            ws.put(row, col, given.get(key) or None, fmt="@")
    return ws


def _kpi_sheet(ws: Sheet, data: dict) -> Sheet:
    ws.page(landscape=True, paper=8)  # A3
    year = data.get("year", "")
    for i, c in enumerate(KPI_COLUMNS, start=1):
        ws.width(i, c.width, hidden=c.key == "extra")
    ws.merge(1, 1, 1, 8, f"第二部分：關鍵績效指標（{year}年度）", font=S.TITLE, border=False, align=S.LEFT)
    ws.height(1, 26)
    headers = [f"{year}年年度目標值" if c.key == "target" and year else c.header for c in KPI_COLUMNS]
    _header(ws, 2, headers)
    ws.height(2, 34)
    ws.freeze(3, 6)  # the header, and the goal and indicator numbers and names, stay in view
    periods = {p["id"]: p["name"] for p in data.get("periods") or DEFAULT_PERIODS}
    row = 3
    for goal in data.get("goals") or []:
        for n, ind in enumerate(goal.get("indicators") or []):
            values = _indicator_cells(ind, periods)
            if n == 0:
                values |= {
                    "goal_number": goal.get("number"),
                    "goal_name": goal.get("name"),
                    "goal_weight": goal.get("weight"),
                    "goal_id": goal.get("id"),
                }
            marked = {m["field"] for m in ind.get("needs_review") or []}
            for key, col in _KPI_KEYS.items():
                review = _field_of(key) in marked or (key == "review" and marked)
                ws.put(
                    row,
                    col,
                    values.get(key),
                    align=S.CENTER if key in _CENTERED else S.WRAP_MID,
                    fmt="@" if key in _TEXT_KEYS else None,
                    fill=REVIEW_FILL if review else None,
                )
            ws.height(
                row,
                row_height(
                    [(str(values.get(c.key) or ""), c.width) for c in KPI_COLUMNS if c.key != "extra"]
                ),
            )
            row += 1
    _validations(ws, 3, max(row, 4) + SPARE_ROWS)
    return ws


_CENTERED = {
    "goal_number",
    "goal_weight",
    "number",
    "weight",
    "system",
    "target",
    "previous_target",
    "kind",
    "polarity",
    "decimals",
    "common",
    "in1_unit",
    "in1_cumulative",
    "in2_unit",
    "in2_cumulative",
}
# Typed as text so Excel never turns 一 or 06-30 or 8% into something else.
_TEXT_KEYS = {"goal_number", "number", "target", "previous_target", "goal_id", "id"}


def _field_of(key: str) -> str:
    """The plan field a column holds, as review marks name it."""
    if key.startswith("in1") or key.startswith("in2"):
        return "inputs"
    return {"goal_name": "goal", "goal_weight": "goal"}.get(key, key)


def _indicator_cells(ind: dict, periods: dict[str, str]) -> dict[str, Any]:
    kind = ind.get("kind")
    roles = KIND_ROLES.get(kind or "", tuple(ind.get("inputs") or {}))
    # The keys whose cell shows the value as it is; the rest are spelled out below.
    values: dict[str, Any] = {key: ind.get(key) for key in INDICATOR_KEYS if key in _KPI_KEYS}
    values["kind"] = KIND_LABELS.get(kind, kind)
    values["polarity"] = POLARITY_LABELS.get(ind.get("polarity"), ind.get("polarity"))
    values["common"] = YES if ind.get("common") else None
    for n, role in enumerate(roles[:2], start=1):
        spec = (ind.get("inputs") or {}).get(role) or {}
        values[f"in{n}_label"] = spec.get("label")
        values[f"in{n}_unit"] = spec.get("unit")
        default = KINDS[kind].cumulative if kind in KINDS else True
        values[f"in{n}_cumulative"] = YES if spec.get("cumulative", default) else NO
    values["stages"] = _stages_text(ind.get("stages")) or None
    values["assessed_in"] = "、".join(periods.get(p, p) for p in ind.get("assessed_in") or []) or None
    values["review"] = _review_text(ind.get("needs_review")) or None
    extra = {k: v for k, v in ind.items() if k not in _MAPPED_INDICATOR_KEYS}
    values["extra"] = dump_plan(extra) if extra else None
    return values


def _validations(ws: Sheet, first: int, last: int) -> None:
    def add(key: str, choices: list[str], prompt: str) -> None:
        rule = Validation(
            "list",
            tuple(choices),
            prompt=prompt,
            prompt_title=KPI_COLUMNS[_KPI_KEYS[key] - 1].header,
            error="請由清單選擇 / choose from the list",
            error_title="輸入錯誤",
        )
        letter = column_letters(_KPI_KEYS[key])
        ws.validate(f"{letter}{first}:{letter}{last}", rule)

    add(
        "kind",
        list(KIND_LABELS.values()),
        "；".join(f"{k.label} {k.summary}" for k in KINDS.values()),
    )
    add("polarity", list(POLARITY_LABELS.values()), "空白時依目標值的 ≤、≥、以上、以下 判斷")
    add("in1_cumulative", [YES, NO], "是否為累計數（上半年不得大於全年度）")
    add("in2_cumulative", [YES, NO], "是否為累計數（上半年不得大於全年度）")
    add("common", [YES, NO], "共同性指標：與計畫一併填報，不計入本計畫權重與得分")


def _items_sheet(ws: Sheet, data: dict) -> Sheet:
    ws.page(landscape=True)
    for col, width in enumerate((18, 36, 90, 14), start=1):
        ws.width(col, width)
    _title(ws, "第三部分：年度重要施政計畫")
    _header(ws, 2, ITEM_HEADERS)
    row = 3
    for w in data.get("work_plans") or []:
        first_of_plan = True
        items = w.get("items") or []
        if not items:
            ws.put(row, 1, w["name"])
            ws.put(row, 4, w.get("owner") or None)
            row += 1
        for item in items:
            content = item.get("content") or [None]
            for k, text in enumerate(content):
                ws.put(row, 1, w["name"] if first_of_plan else None)
                ws.put(row, 2, item["name"] if k == 0 else None)
                ws.put(row, 3, text, font=S.BODY)
                ws.put(row, 4, (w.get("owner") or None) if first_of_plan else None)
                ws.height(row, row_height([(text or "", 90), (item["name"] if k == 0 else "", 36)]))
                first_of_plan = False
                row += 1
    return ws


GUIDE_LINES = (
    (
        "用途",
        "本活頁簿即「計畫定義檔」：填妥後執行 kpi template 計畫設定.xlsx -o 範本.xlsx 產生填報工作簿；"
        "或 kpi plan import 計畫設定.xlsx -o 計畫.yaml 轉成 YAML；kpi plan check 計畫設定.xlsx 檢查。",
    ),
    ("計畫", "機關名稱、民國年度、計畫名稱、小數位數、燈號門檻與分析用語；下方為填報期別（月-日）。"),
    (
        "關鍵績效指標",
        "每列一項指標，欄位同施政計畫第二部分：策略績效目標、衡量指標、評估體制、評估方式、衡量標準、年度目標值。"
        "同一策略績效目標的第二列起，目標欄位可留白。權重寫數字（15 表示 15%）；目標權重須等於所屬指標權重合計。",
    ),
    (
        "計算方式",
        "比率：填報數據一為分子、二為分母（A/B×100%）；成長率：一為今年數、二為去年數"
        "（(今年-去年)/去年×100%）；件數：只填數據一；完成工作項目：數據一為已達成階段，並填「階段」欄。",
    ),
    ("方向", "越高越好或越低越好；空白時依目標值的比較符號判斷（≤、以下為越低越好）。件數指標須註明。"),
    (
        "目標值",
        "照計畫原文填寫，例如 8%、83%、≥85%、85%以上、≤120、10件以下、不低於85%；"
        "完成工作項目可寫「第3階段」、階段編號或階段名稱。比率、成長率、完成工作項目的目標須有 %。",
    ),
    ("階段", "每行一個階段：「1.完成委託規劃 25%」，百分比須逐步增加。"),
    (
        "累計",
        "「是」表示截至期別截止日的累計數（上半年件數會推估全年度）；「否」表示時點數（例如志工人數）。",
    ),
    ("評估期別", "空白表示每一期都評估；只在全年度評估時填「全年度」。"),
    ("分析句型", "空白時使用預設句型；大括號內為代入欄位，例如 {value}、{rate}、{verdict}、{end}。"),
    ("代碼", "目標代碼、指標代碼為英文代碼，空白時自動編號；已發出的範本靠代碼對應，發出後請勿更改。"),
    (
        "待確認",
        "由計畫文件匯入時未能判讀的欄位會標成橘色，並在「待確認」欄說明。確認或修正該欄位後，"
        "請刪除「待確認」欄中的該行；仍有待確認項目時，kpi plan check 與 kpi template 會列出並停止。",
    ),
    ("重要施政計畫", "每列一段實施內容；同一工作計畫、同一重要施政計畫項目的後續列可留白。"),
    (
        "承辦單位（第三部分）",
        "寫在工作計畫的第一列，與指標的承辦單位同名：該單位的工作簿含此工作計畫；空白則為與工作計畫同名的單位。",
    ),
    ("其他", "第一部分文字、檢核規則與範例資料保存在隱藏工作表，不需修改。"),
)


def _guide_sheet(ws: Sheet) -> Sheet:
    ws.page()
    ws.width(1, 16)
    ws.width(2, 100)
    _title(ws, "填表說明")
    for row, (label, text) in enumerate(GUIDE_LINES, start=3):
        ws.put(row, 1, label, fill=S.LABEL_FILL, font=S.HEADING)
        ws.put(row, 2, text)
        ws.height(row, row_height([(text, 100)]))
    return ws


def _extra_sheet(ws: Sheet, data: dict) -> None:
    ws.very_hidden()
    ws.bare(1, 1, "product")
    ws.bare(1, 2, MARKER)
    ws.bare(2, 1, "version")
    ws.bare(2, 2, FORMAT_VERSION)
    extra = {
        k: v
        for k, v in data.items()
        if k
        not in {
            "id",
            "agency",
            "year",
            "title",
            "phrases",
            "periods",
            "goals",
            "work_plans",
            "needs_review",
            "units",
        }
    }
    options = {k: v for k, v in (data.get("options") or {}).items() if k not in OPTION_KEYS}
    extra.pop("options", None)
    if options:
        extra["options"] = options
    text = dump_plan(extra) if extra else ""
    for i, start in enumerate(range(0, len(text), CHUNK), start=3):
        ws.bare(i, 1, "extra")
        ws.bare(i, 2, text[start : start + CHUNK])  # text, even when it starts with "="


def example_data(year: int = 115) -> dict:
    """An empty plan with one example row, for ``kpi plan new``."""
    return {
        "id": "my_agency_plan",
        "agency": "（機關名稱）",
        "year": year,
        "title": f"（機關名稱） {year} 年度施政計畫",
        "goals": [
            {
                "id": "G1",
                "number": "一",
                "name": "（範例）提升為民服務品質",
                "weight": 15,
                "indicators": [
                    {
                        "id": "G1_1",
                        "number": "一",
                        "name": "（範例）線上申辦案件比率",
                        "weight": 15,
                        "system": 1,
                        "method": "統計數據",
                        "formula": "線上申辦案件數/申辦案件總數*100%",
                        "kind": "ratio",
                        "polarity": "higher",
                        "target": "≥60%",
                        "owner": "（承辦單位）",
                        "inputs": {
                            "numerator": {"label": "線上申辦案件數", "unit": "件"},
                            "denominator": {"label": "申辦案件總數", "unit": "件"},
                        },
                    }
                ],
            }
        ],
        "work_plans": [
            {"name": "（工作計畫）", "items": [{"name": "（重要施政計畫項目）", "content": ["（實施內容）"]}]}
        ],
    }
