"""The plan-authoring workbook: a plan as sheets a coordinator (研考) recognises.

Sheets: 計畫 (agency, year, options, phrases, periods), 關鍵績效指標 (the plan's
Part 2 columns plus what the engine needs, with drop-downs), 重要施政計畫 (Part 3),
填表說明, and a very hidden ``_plan`` sheet that carries the parts of a plan no
coordinator edits in cells (Part 1 text, rules, sample data) as YAML.

:func:`plan_workbook` writes plan data (the dict a YAML plan file holds) into a
workbook; :func:`read_plan_data` reads it back.  Data → workbook → data keeps the
plan's fingerprint (defaults spelled out in cells are dropped by
:func:`kpi_engine.plan_loader.canonical`).  Every mistake is reported with its sheet
and cell, in zh-TW and English, with the same codes ``kpi plan check`` uses.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from kpi_engine import Plan, PlanError, parse_plan
from kpi_engine.plan import KIND_ROLES, Phrases
from kpi_engine.plan_loader import DEFAULT_PERIODS, PlanIssue, dump_plan

from ..files import WorkbookFileError, save_atomic
from ..styles import (
    BODY,
    CENTER,
    HEADER_FILL,
    HEADING,
    LABEL_FILL,
    LEFT,
    SMALL,
    TITLE,
    WRAP,
    WRAP_MID,
    page_setup,
    row_height,
    style,
)

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

KIND_LABELS = {"ratio": "比率", "growth": "成長率", "count": "件數", "milestone": "完成工作項目"}
POLARITY_LABELS = {"higher": "越高越好", "lower": "越低越好"}
YES, NO = "是", "否"
REVIEW_FILL = PatternFill("solid", fgColor="F8CBAD")  # marked for the coordinator
ROLE_TEXT = {
    "ratio": ("分子", "分母"),
    "growth": ("今年數", "去年數"),
    "count": ("件數",),
    "milestone": ("已達成階段",),
}

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
}
PLAN_REVIEW_LABEL = "待確認"
PERIOD_HEADERS = ("期別代碼", "期別名稱", "起日（月-日）", "迄日（月-日）")
OPTION_KEYS = {"decimals", "cap", "lights", "password"}


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
    Column("sentence", "分析句型", 36),
    Column("goal_id", "目標代碼", 8),
    Column("id", "指標代碼", 16),
    Column("extra", "其他設定（YAML）", 12),
)
_KPI_KEYS = {c.key: i for i, c in enumerate(KPI_COLUMNS, start=1)}
#: Indicator keys the sheet has columns for; any other key travels in the 其他設定 column.
_MAPPED_INDICATOR_KEYS = {
    "id",
    "number",
    "name",
    "weight",
    "system",
    "method",
    "formula",
    "kind",
    "polarity",
    "target",
    "previous_target",
    "decimals",
    "owner",
    "inputs",
    "stages",
    "assessed_in",
    "sentence",
    "needs_review",
}
ITEM_HEADERS = ("工作計畫", "重要施政計畫項目", "實施內容")


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


def plan_workbook(data: dict) -> Workbook:
    """The authoring workbook of plan ``data`` (a plan file's mapping)."""
    wb = Workbook()
    wb.remove(wb.active)
    marked = _marked_fields(data)
    _plan_sheet(wb, data, marked)
    _kpi_sheet(wb, data)
    _items_sheet(wb, data)
    _guide_sheet(wb, data)
    _extra_sheet(wb, data)
    wb.active = 1  # the KPI table is what a coordinator works on
    return wb


def write_plan_workbook(data: dict, path: str | Path) -> Path:
    """Write the authoring workbook of ``data`` to ``path`` (.xlsx, or .ods through LibreOffice)."""
    path = Path(path)
    wb = plan_workbook(data)
    if path.suffix.lower() != ".ods":
        return save_atomic(wb, path)
    from .. import libreoffice as lo

    with tempfile.TemporaryDirectory(prefix="kpi-plan-") as tmp:
        xlsx = save_atomic(wb, Path(tmp) / "plan.xlsx")
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


def _header(ws: Worksheet, row: int, labels: list[str] | tuple[str, ...]) -> None:
    for col, text in enumerate(labels, start=1):
        style(ws.cell(row, col, text), font=HEADING, fill=HEADER_FILL, align=CENTER)


def _plan_sheet(wb: Workbook, data: dict, marked: set[tuple]) -> None:
    ws = wb.create_sheet(SHEET_PLAN)
    page_setup(ws)
    for col, width in zip("ABC", (24, 50, 50), strict=True):
        ws.column_dimensions[col].width = width
    style(ws.cell(1, 1, "計畫基本資料"), font=TITLE, border=False, align=LEFT)
    ws.row_dimensions[1].height = 26
    _header(ws, 2, ["項目", "內容", "說明"])
    defaults = _defaults()
    row = 3
    for label, path, kind in PLAN_ROWS:
        value = _get(data, path)
        if value is None:
            value = defaults.get(path)
        style(ws.cell(row, 1, label), fill=LABEL_FILL)
        cell = ws.cell(row, 2, value)
        style(cell, align=WRAP)
        if kind in ("text", "password"):
            cell.number_format = "@"
        if ("plan", path[-1]) in marked:
            cell.fill = REVIEW_FILL
        style(ws.cell(row, 3, PLAN_NOTES.get(label, "")), font=SMALL)
        ws.row_dimensions[row].height = row_height([(str(value or ""), 50), (PLAN_NOTES.get(label, ""), 60)])
        row += 1
    style(ws.cell(row, 1, PLAN_REVIEW_LABEL), fill=LABEL_FILL)
    review = _review_text(data.get("needs_review"))
    style(ws.cell(row, 2, review or None), fill=REVIEW_FILL if review else None)
    style(ws.cell(row, 3, "匯入時未能判讀、須確認的項目；確認或修正後請刪除該行"), font=SMALL)
    row += 2
    style(ws.cell(row, 1, "填報期別"), font=HEADING, border=False)
    row += 1
    _header(ws, row, PERIOD_HEADERS)
    ws.column_dimensions["D"].width = 16
    for p in data.get("periods") or DEFAULT_PERIODS:
        row += 1
        for col, key in enumerate(("id", "name", "start", "end"), start=1):
            cell = ws.cell(row, col, str(p[key]))
            style(cell, align=CENTER)
            cell.number_format = "@"  # 06-30 stays text; Excel would make it a date


def _kpi_sheet(wb: Workbook, data: dict) -> None:
    ws = wb.create_sheet(SHEET_KPI)
    page_setup(ws, landscape=True)
    ws.page_setup.paperSize = ws.PAPERSIZE_A3
    year = data.get("year", "")
    for i, c in enumerate(KPI_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = c.width
    style(ws.cell(1, 1, f"第二部分：關鍵績效指標（{year}年度）"), font=TITLE, border=False, align=LEFT)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)
    ws.row_dimensions[1].height = 26
    headers = [f"{year}年年度目標值" if c.key == "target" and year else c.header for c in KPI_COLUMNS]
    _header(ws, 2, headers)
    ws.row_dimensions[2].height = 34
    ws.freeze_panes = "F3"
    ws.column_dimensions[get_column_letter(_KPI_KEYS["extra"])].hidden = True
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
                cell = ws.cell(row, col, values.get(key))
                style(cell, align=CENTER if key in _CENTERED else WRAP_MID)
                if key in _TEXT_KEYS:
                    cell.number_format = "@"
                if _field_of(key) in marked or (key == "review" and marked):
                    cell.fill = REVIEW_FILL
            ws.row_dimensions[row].height = row_height(
                [(str(values.get(c.key) or ""), c.width) for c in KPI_COLUMNS if c.key != "extra"]
            )
            row += 1
    _validations(ws, 3, max(row, 4) + SPARE_ROWS)


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
    values: dict[str, Any] = {
        key: ind.get(key)
        for key in (
            "number",
            "name",
            "weight",
            "system",
            "method",
            "formula",
            "target",
            "previous_target",
            "decimals",
            "owner",
            "sentence",
            "id",
        )
    }
    values["kind"] = KIND_LABELS.get(kind, kind)
    values["polarity"] = POLARITY_LABELS.get(ind.get("polarity"), ind.get("polarity"))
    for n, role in enumerate(roles[:2], start=1):
        spec = (ind.get("inputs") or {}).get(role) or {}
        values[f"in{n}_label"] = spec.get("label")
        values[f"in{n}_unit"] = spec.get("unit")
        values[f"in{n}_cumulative"] = YES if spec.get("cumulative", True) else NO
    values["stages"] = _stages_text(ind.get("stages")) or None
    values["assessed_in"] = "、".join(periods.get(p, p) for p in ind.get("assessed_in") or []) or None
    values["review"] = _review_text(ind.get("needs_review")) or None
    extra = {k: v for k, v in ind.items() if k not in _MAPPED_INDICATOR_KEYS}
    values["extra"] = dump_plan(extra) if extra else None
    return values


def _validations(ws: Worksheet, first: int, last: int) -> None:
    def add(key: str, choices: list[str], prompt: str) -> None:
        dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
        dv.prompt, dv.promptTitle = prompt, KPI_COLUMNS[_KPI_KEYS[key] - 1].header
        dv.error, dv.errorTitle = "請由清單選擇 / choose from the list", "輸入錯誤"
        dv.showErrorMessage = dv.showInputMessage = True
        ws.add_data_validation(dv)
        letter = get_column_letter(_KPI_KEYS[key])
        dv.add(f"{letter}{first}:{letter}{last}")

    add(
        "kind",
        list(KIND_LABELS.values()),
        "比率 A/B×100%；成長率 (今年-去年)/去年×100%；件數；完成工作項目（階段）",
    )
    add("polarity", list(POLARITY_LABELS.values()), "空白時依目標值的 ≤、≥、以上、以下 判斷")
    add("in1_cumulative", [YES, NO], "是否為累計數（上半年不得大於全年度）")
    add("in2_cumulative", [YES, NO], "是否為累計數（上半年不得大於全年度）")


def _items_sheet(wb: Workbook, data: dict) -> None:
    ws = wb.create_sheet(SHEET_ITEMS)
    page_setup(ws, landscape=True)
    for col, width in zip("ABC", (18, 36, 90), strict=True):
        ws.column_dimensions[col].width = width
    style(ws.cell(1, 1, "第三部分：年度重要施政計畫"), font=TITLE, border=False, align=LEFT)
    ws.row_dimensions[1].height = 26
    _header(ws, 2, ITEM_HEADERS)
    row = 3
    for w in data.get("work_plans") or []:
        first_of_plan = True
        items = w.get("items") or []
        if not items:
            style(ws.cell(row, 1, w["name"]))
            row += 1
        for item in items:
            content = item.get("content") or [None]
            for k, text in enumerate(content):
                style(ws.cell(row, 1, w["name"] if first_of_plan else None))
                style(ws.cell(row, 2, item["name"] if k == 0 else None))
                style(ws.cell(row, 3, text), font=BODY)
                ws.row_dimensions[row].height = row_height(
                    [(text or "", 90), (item["name"] if k == 0 else "", 36)]
                )
                first_of_plan = False
                row += 1


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
    ("其他", "第一部分文字、檢核規則與範例資料保存在隱藏工作表，不需修改。"),
)


def _guide_sheet(wb: Workbook, data: dict) -> None:
    ws = wb.create_sheet(SHEET_GUIDE)
    page_setup(ws)
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 100
    style(ws.cell(1, 1, "填表說明"), font=TITLE, border=False, align=LEFT)
    ws.row_dimensions[1].height = 26
    for row, (label, text) in enumerate(GUIDE_LINES, start=3):
        style(ws.cell(row, 1, label), fill=LABEL_FILL, font=HEADING)
        style(ws.cell(row, 2, text))
        ws.row_dimensions[row].height = row_height([(text, 100)])


def _extra_sheet(wb: Workbook, data: dict) -> None:
    ws = wb.create_sheet(SHEET_EXTRA)
    ws.sheet_state = "veryHidden"
    ws.cell(1, 1, "product")
    ws.cell(1, 2, MARKER)
    ws.cell(2, 1, "version")
    ws.cell(2, 2, FORMAT_VERSION)
    extra = {
        k: v
        for k, v in data.items()
        if k
        not in {"id", "agency", "year", "title", "phrases", "periods", "goals", "work_plans", "needs_review"}
    }
    options = {k: v for k, v in (data.get("options") or {}).items() if k not in OPTION_KEYS}
    extra.pop("options", None)
    if options:
        extra["options"] = options
    text = dump_plan(extra) if extra else ""
    for i, start in enumerate(range(0, len(text), CHUNK), start=3):
        ws.cell(i, 1, "extra")
        cell = ws.cell(i, 2, text[start : start + CHUNK])
        cell.data_type = "s"


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------


class _Reader:
    """Reads one authoring workbook into plan data, remembering which cell holds which field."""

    def __init__(self, wb: Any, source: str):
        self.wb, self.source = wb, source
        self.cells: dict[str, tuple[str, str]] = {}  # dotted plan path → (sheet, cell)
        self.issues: list[SheetIssue] = []

    def where(self, path: str, sheet: str, row: int, col: int) -> None:
        self.cells[path] = (sheet, f"{get_column_letter(col)}{row}")

    def issue(self, sheet: str, row: int, col: int, zh: str, en: str, code: str = "schema") -> None:
        self.issues.append(SheetIssue(sheet, f"{get_column_letter(col)}{row}", zh, en, code))

    def sheet(self, name: str) -> Worksheet | None:
        if name not in self.wb.sheetnames:
            self.issues.append(
                SheetIssue(name, "", f"缺少工作表「{name}」", f"the sheet {name!r} is missing", "schema")
            )
            return None
        return self.wb[name]

    # -- 計畫 --------------------------------------------------------------
    def plan_sheet(self, data: dict) -> None:
        ws = self.sheet(SHEET_PLAN)
        if ws is None:
            return
        labels = {_norm(ws.cell(r, 1).value): r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
        for label, path, kind in PLAN_ROWS:
            row = labels.get(_norm(label))
            if row is None:
                if path[0] not in ("options", "phrases"):
                    self.issues.append(
                        SheetIssue(
                            SHEET_PLAN, "A", f"缺少「{label}」列", f"the row {label!r} is missing", "schema"
                        )
                    )
                continue
            value = _cell(ws.cell(row, 2).value)
            self.where(".".join(path), SHEET_PLAN, row, 2)
            if value is None:
                if kind == "password" and path[-1] == "password":
                    _set(data, path, None)
                continue
            if kind == "int" or kind == "number":
                number = self.number(value, SHEET_PLAN, row, 2, whole=kind == "int")
                if number is None:
                    continue
                value = number
            elif kind in ("text", "password"):
                value = _text(value)
            _set(data, path, value)
        row = labels.get(_norm(PLAN_REVIEW_LABEL))
        if row is not None:
            marks = _marks(ws.cell(row, 2).value)
            if marks:
                data["needs_review"] = marks
                self.where("needs_review", SHEET_PLAN, row, 2)
        start = labels.get(_norm(PERIOD_HEADERS[0]))
        if start is not None:
            periods = []
            r = start + 1
            while r <= ws.max_row and any(ws.cell(r, c).value not in (None, "") for c in range(1, 5)):
                p = {}
                for col, key in enumerate(("id", "name", "start", "end"), start=1):
                    v = _cell(ws.cell(r, col).value)
                    p[key] = _monthday(v) if key in ("start", "end") else _text(v)
                    self.where(f"periods[{len(periods)}].{key}", SHEET_PLAN, r, col)
                self.where(f"periods[{len(periods)}]", SHEET_PLAN, r, 1)
                periods.append(p)
                r += 1
            if periods:
                data["periods"] = periods

    def number(
        self, value: Any, sheet: str, row: int, col: int, *, whole: bool = False
    ) -> int | float | None:
        if isinstance(value, bool):
            value = None
        elif isinstance(value, str):
            text = value.strip().rstrip("%％").strip()
            try:
                value = float(text) if text else None
            except ValueError:
                value = None
        if not isinstance(value, (int, float)) or (whole and not float(value).is_integer()):
            want = "整數" if whole else "數字"
            self.issue(sheet, row, col, f"須為{want}", f"must be a {'whole number' if whole else 'number'}")
            return None
        return int(value) if float(value).is_integer() else float(value)

    # -- 關鍵績效指標 --------------------------------------------------------
    def kpi_sheet(self, data: dict) -> None:
        ws = self.sheet(SHEET_KPI)
        if ws is None:
            return
        cols = self.kpi_columns(ws)
        if cols is None:
            return
        periods = {p["name"]: p["id"] for p in data.get("periods") or DEFAULT_PERIODS}
        goals: list[dict] = []
        for row in range(3, ws.max_row + 1):
            v = {key: _cell(ws.cell(row, col).value) for key, col in cols.items()}
            if all(x is None for x in v.values()):
                continue
            new_goal = v.get("goal_name") is not None or v.get("goal_id") is not None
            if new_goal:
                goal: dict[str, Any] = {"id": _text(v.get("goal_id")) or f"G{len(goals) + 1}"}
                if v.get("goal_number") is not None:
                    goal["number"] = _text(v["goal_number"])
                goal["name"] = _text(v.get("goal_name"))
                gw = v.get("goal_weight")
                goal["weight"] = (
                    self.number(gw, SHEET_KPI, row, cols["goal_weight"]) if gw is not None else None
                )
                goal["indicators"] = []
                gpath = f"goals[{len(goals)}]"
                self.where(gpath, SHEET_KPI, row, cols["goal_name"])
                for key, field in (("goal_name", "name"), ("goal_weight", "weight"), ("goal_id", "id")):
                    if key in cols:
                        self.where(f"{gpath}.{field}", SHEET_KPI, row, cols[key])
                goals.append(goal)
            elif not goals:
                self.issue(
                    SHEET_KPI,
                    row,
                    cols["goal_name"],
                    "第一列指標須填寫策略績效目標",
                    "the first indicator row needs its strategic goal",
                )
                continue
            goal = goals[-1]
            path = f"goals[{len(goals) - 1}].indicators[{len(goal['indicators'])}]"
            goal["indicators"].append(self.indicator(v, cols, row, path, periods, len(goals), goal))
        for goal in goals:
            if goal["weight"] is None:  # not written: let the loader compare it with the indicators
                goal.pop("weight")
        data["goals"] = goals

    def kpi_columns(self, ws: Worksheet) -> dict[str, int] | None:
        by_header = {_norm(c.header): c.key for c in KPI_COLUMNS}
        cols: dict[str, int] = {}
        for col in range(1, ws.max_column + 1):
            text = _norm(ws.cell(2, col).value)
            key = by_header.get(text)
            if key is None and text.endswith("年度目標值") and not text.startswith("上年度"):
                key = "target"
            if key:
                cols[key] = col
        missing = [c.header for c in KPI_COLUMNS if c.key not in cols and c.key in _REQUIRED_COLUMNS]
        if missing:
            self.issues.append(
                SheetIssue(
                    SHEET_KPI,
                    "2",
                    f"第 2 列缺少欄位：{'、'.join(missing)}",
                    f"row 2 lacks the columns: {', '.join(missing)}",
                    "schema",
                )
            )
            return None
        return cols

    def indicator(
        self,
        v: dict,
        cols: dict[str, int],
        row: int,
        path: str,
        periods: dict[str, str],
        goal_no: int,
        goal: dict,
    ) -> dict:
        def at(key: str, field: str | None = None) -> None:
            if key in cols:
                self.where(f"{path}.{field or key}", SHEET_KPI, row, cols[key])

        self.where(path, SHEET_KPI, row, cols["name"])
        ind: dict[str, Any] = {"id": _text(v.get("id")) or f"{goal['id']}_{len(goal['indicators']) + 1}"}
        at("id")
        if v.get("number") is not None:
            ind["number"] = _text(v["number"])
        for key in ("name", "method", "formula", "owner"):
            ind[key] = _text(v.get(key))
            at(key)
        for key in ("weight", "system"):
            at(key)
            if v.get(key) is not None:
                ind[key] = self.number(v[key], SHEET_KPI, row, cols[key], whole=key == "system")
        kind = self.choice(v.get("kind"), KIND_LABELS, row, cols.get("kind"))
        at("kind")
        if kind:
            ind["kind"] = kind
        polarity = self.choice(v.get("polarity"), POLARITY_LABELS, row, cols.get("polarity"))
        at("polarity")
        if polarity:
            ind["polarity"] = polarity
        for key in ("target", "previous_target"):
            at(key)
            if v.get(key) is not None:
                value = v[key]
                ind[key] = value if isinstance(value, (int, float)) else _text(value)
        if v.get("decimals") is not None:
            at("decimals")
            ind["decimals"] = self.number(v["decimals"], SHEET_KPI, row, cols["decimals"], whole=True)
        roles = KIND_ROLES.get(kind or "", ())
        inputs: dict[str, dict] = {}
        for n, role in enumerate(roles, start=1):
            spec: dict[str, Any] = {}
            label, unit, cum = (v.get(f"in{n}_{x}") for x in ("label", "unit", "cumulative"))
            if label is not None:
                spec["label"] = _text(label)
            if unit is not None:
                spec["unit"] = _text(unit)
            if cum is not None:
                flag = {YES: True, NO: False, "true": True, "false": False}.get(_text(cum).lower())
                if flag is None and f"in{n}_cumulative" in cols:
                    self.issue(
                        SHEET_KPI,
                        row,
                        cols[f"in{n}_cumulative"],
                        "累計須為「是」或「否」",
                        "cumulative must be 是 or 否",
                    )
                elif flag is not None:
                    spec["cumulative"] = flag
            inputs[role] = spec
            for x, field in (("label", "label"), ("unit", "unit"), ("cumulative", "cumulative")):
                if f"in{n}_{x}" in cols:
                    self.where(f"{path}.inputs.{role}.{field}", SHEET_KPI, row, cols[f"in{n}_{x}"])
            if f"in{n}_label" in cols:
                self.where(f"{path}.inputs.{role}", SHEET_KPI, row, cols[f"in{n}_label"])
        if "in1_label" in cols:
            self.where(f"{path}.inputs", SHEET_KPI, row, cols["in1_label"])
        ind["inputs"] = inputs
        if v.get("stages") is not None:
            at("stages")
            ind["stages"] = self.stages(_text(v["stages"]), row, cols["stages"], path)
        if v.get("assessed_in") is not None:
            at("assessed_in")
            names = [x for x in re.split(r"[、,，;；\s]+", _text(v["assessed_in"])) if x]
            ind["assessed_in"] = [periods.get(x, x) for x in names]
        if v.get("sentence") is not None:
            at("sentence")
            ind["sentence"] = _text(v["sentence"])
        marks = _marks(v.get("review"))
        if marks:
            ind["needs_review"] = marks
            at("review", "needs_review")
        if v.get("extra") is not None:
            try:
                extra = yaml.safe_load(_text(v["extra"]))
            except yaml.YAMLError:
                extra = None
            if not isinstance(extra, dict):
                self.issue(
                    SHEET_KPI,
                    row,
                    cols["extra"],
                    "其他設定無法讀取",
                    "the extra settings are not a YAML mapping",
                )
            else:
                for key, value in extra.items():
                    ind.setdefault(key, value)
        return {k: x for k, x in ind.items() if x is not None or k in ("name",)}

    def choice(self, value: Any, labels: dict[str, str], row: int, col: int | None) -> str | None:
        if value is None:
            return None
        text = _text(value)
        for code, label in labels.items():
            if text in (code, label):
                return code
        if col is not None:
            self.issue(
                SHEET_KPI,
                row,
                col,
                f"「{text}」不在清單中（{'、'.join(labels.values())}）",
                f"{text!r} is not one of {', '.join(labels)}",
            )
        return None

    def stages(self, text: str, row: int, col: int, path: str) -> list[dict]:
        out = []
        for part in (p.strip() for p in re.split(r"[\n；;]+", text)):
            if not part:
                continue
            m = _STAGE_LINE.match(part)
            if not m:
                self.issue(
                    SHEET_KPI,
                    row,
                    col,
                    f"階段格式不正確：「{part}」（例：1.完成規劃 25%）",
                    f"not a stage: {part!r} (e.g. 1.完成規劃 25%)",
                    "stages",
                )
                continue
            percent = float(m.group(2))
            out.append(
                {"label": m.group(1).strip(), "percent": int(percent) if percent.is_integer() else percent}
            )
        return out

    # -- 重要施政計畫 --------------------------------------------------------
    def items_sheet(self, data: dict) -> None:
        if SHEET_ITEMS not in self.wb.sheetnames:
            return
        ws = self.wb[SHEET_ITEMS]
        plans: list[dict] = []
        for row in range(3, ws.max_row + 1):
            w, item, content = (_cell(ws.cell(row, c).value) for c in (1, 2, 3))
            if w is None and item is None and content is None:
                continue
            if w is not None:
                plans.append({"name": _text(w), "items": []})
                self.where(f"work_plans[{len(plans) - 1}]", SHEET_ITEMS, row, 1)
            elif not plans:
                self.issue(SHEET_ITEMS, row, 1, "第一列須填寫工作計畫", "the first row needs its work plan")
                continue
            items = plans[-1]["items"]
            if item is not None:
                items.append({"name": _text(item), "content": []})
                self.where(f"work_plans[{len(plans) - 1}].items[{len(items) - 1}]", SHEET_ITEMS, row, 2)
            elif content is not None and not items:
                self.issue(
                    SHEET_ITEMS, row, 2, "實施內容須屬於某一重要施政計畫項目", "content needs its item"
                )
                continue
            if content is not None:
                items[-1]["content"].append(_text(content))
        if plans:
            data["work_plans"] = plans

    # -- hidden extras ---------------------------------------------------------
    def extra_sheet(self, data: dict) -> None:
        if SHEET_EXTRA not in self.wb.sheetnames:
            return
        ws = self.wb[SHEET_EXTRA]
        text = "".join(
            str(ws.cell(r, 2).value or "") for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "extra"
        )
        if not text:
            return
        try:
            extra = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            extra = None
        if not isinstance(extra, dict):
            self.issues.append(
                SheetIssue(SHEET_EXTRA, "B3", "隱藏設定已損毀", "the hidden settings are damaged")
            )
            return
        for key, value in extra.items():
            if key == "options" and isinstance(value, dict):
                data.setdefault("options", {}).update(value)
            else:
                data.setdefault(key, value)


_STAGE_LINE = re.compile(
    r"^(?:第?\s*[0-9]+\s*(?:階段)?\s*[.、．:：]?\s*)?(.+?)\s*[（(]?\s*([0-9]+(?:\.[0-9]+)?)\s*[%％]\s*[)）]?$"
)
_REQUIRED_COLUMNS = {"goal_name", "name", "weight", "system", "method", "formula", "target", "kind", "owner"}


def _norm(value: Any) -> str:
    return re.sub(r"\s+", "", str(value or "")).replace("(", "（").replace(")", "）")


def _cell(value: Any) -> Any:
    """A cell's value; blank text is no value."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _monthday(value: Any) -> str:
    if isinstance(value, (datetime, date)):  # Excel made 06-30 a date
        return f"{value.month:02d}-{value.day:02d}"
    return _text(value)


def _set(data: dict, path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


_MARK_LINE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\[\]]*)\s*[:：]\s*(.*?)(?:\s+/\s+(.*))?\s*$")


def _marks(value: Any) -> list[dict]:
    """待確認 text back to ``needs_review`` marks, one a line."""
    out = []
    for line in _text(value).splitlines():
        if not line.strip():
            continue
        m = _MARK_LINE.match(line)
        if m:
            out.append({"field": m.group(1), "note_zh": m.group(2), "note_en": m.group(3) or m.group(2)})
        else:
            out.append({"field": "needs_review", "note_zh": line.strip(), "note_en": line.strip()})
    return out


def _open(path: Path) -> Any:
    """Open an authoring workbook (.xlsx, or .ods through LibreOffice) with openpyxl."""
    from ..guard import inspect

    if path.suffix.lower() == ".ods":
        from .. import libreoffice as lo

        with tempfile.TemporaryDirectory(prefix="kpi-plan-") as tmp:
            try:
                converted = lo.recalculate(path, Path(tmp) / "plan.xlsx", fmt="xlsx")
            except (lo.LibreOfficeError, FileNotFoundError) as exc:
                raise WorkbookFileError(
                    "無法以 LibreOffice 讀取 .ods，請另存為 .xlsx",
                    f"cannot read .ods through LibreOffice: {exc}",
                    path=path,
                ) from exc
            data = converted.read_bytes()
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise WorkbookFileError(
                f"無法讀取檔案：{exc.strerror or exc}", f"cannot read the file: {exc}", path=path
            ) from exc
    inspect(data, str(path))
    try:
        return load_workbook(io.BytesIO(data), rich_text=False)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise WorkbookFileError(
            "無法開啟活頁簿，檔案可能已損毀",
            f"cannot open the workbook ({type(exc).__name__}: {exc})",
            path=path,
        ) from exc


def read_plan_data(path: str | Path) -> tuple[dict, dict[str, tuple[str, str]]]:
    """Plan data from an authoring workbook, and where each field was (dotted path → sheet, cell).

    Raises :class:`AuthoringError` for cells that cannot be read at all, and
    :class:`~workbook.files.WorkbookFileError` for a file that is not an authoring workbook.
    """
    path = Path(path)
    wb = _open(path)
    if SHEET_KPI not in wb.sheetnames or SHEET_PLAN not in wb.sheetnames:
        from ..layout import SHEET_META

        hint = "這是填報工作簿，不是計畫設定活頁簿" if SHEET_META in wb.sheetnames else "不是計畫設定活頁簿"
        raise WorkbookFileError(
            f"{hint}（缺少「計畫」或「關鍵績效指標」工作表）；可用 kpi plan new 產生空白的計畫設定活頁簿",
            "not a plan-authoring workbook (no 計畫 or 關鍵績效指標 sheet); kpi plan new writes an empty one",
            path=path,
        )
    reader = _Reader(wb, str(path))
    data: dict[str, Any] = {}
    reader.plan_sheet(data)
    reader.kpi_sheet(data)
    reader.items_sheet(data)
    reader.extra_sheet(data)
    if reader.issues:
        raise AuthoringError(str(path), reader.issues)  # type: ignore[arg-type]
    ordered = {k: data[k] for k in _KEY_ORDER if k in data}
    ordered.update({k: v for k, v in data.items() if k not in ordered})
    return ordered, reader.cells


_KEY_ORDER = ("id", "agency", "year", "title", "needs_review", "periods", "options", "phrases", "goals")


def locate(issues: list[PlanIssue], cells: dict[str, tuple[str, str]]) -> list[SheetIssue]:
    """Plan issues (by field path) as sheet-and-cell issues, through the longest known prefix."""
    out = []
    for issue in issues:
        path = issue.path
        found = None
        while path:
            if path in cells:
                found = cells[path]
                break
            path = re.sub(r"(\.[^.\[\]]+|\[[0-9]+\])$", "", path)
        sheet, cell = found or (SHEET_KPI if issue.path.startswith("goals") else SHEET_PLAN, "")
        zh, en = issue.message_zh, issue.message_en
        if issue.code == "needs_review":  # in a workbook the mark is a line of the 待確認 cell
            owner = re.match(r"^(goals\[[0-9]+\]\.indicators\[[0-9]+\])", issue.path)
            review = cells.get(f"{owner.group(1)}.needs_review" if owner else "needs_review")
            if review:
                zh += f"（「待確認」在 {review[1]}）"
                en += f" (the 待確認 note is in {review[1]})"
        out.append(SheetIssue(sheet, cell, zh, en, issue.code, issue.path))
    return out


def plan_from_data(data: dict, cells: dict[str, tuple[str, str]], source: str) -> Plan:
    """Validate workbook plan data; issues name the workbook's sheet and cell."""
    try:
        return parse_plan(dump_plan(data), source=source)
    except PlanError as exc:
        raise AuthoringError(source, locate(exc.issues, cells)) from None  # type: ignore[arg-type]


def load_workbook_plan(path: str | Path) -> Plan:
    """A Plan from an authoring workbook; mistakes name their sheet and cell."""
    data, cells = read_plan_data(path)
    return plan_from_data(data, cells, str(path))


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
