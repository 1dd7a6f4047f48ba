"""Build the template workbook staff fill in, with openpyxl.

Result cells hold Excel formulas rendered from the engine's own computation
(:func:`kpi_engine.measures.computation`), so the workbook shows live values in
Excel, Excel for the web and LibreOffice without Python.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from kpi_engine.evaluate import target_for
from kpi_engine.measures import ZH_LABELS
from kpi_engine.narrative import number_text
from kpi_engine.plan import PERCENT_KINDS, Indicator
from workbook.form import layout as L
from workbook.form.formulas import formula_text, indicator_computation
from workbook.form.styles import (
    BODY,
    CENTER,
    HEADER_FILL,
    HEADING,
    LABEL_FILL,
    LEFT,
    RESULT_FILL,
    SMALL,
    TITLE,
    WRAP,
    WRAP_MID,
    input_cell,
    light_rules,
    page_setup,
    row_height,
    style,
)
from workbook.formats.cells import cell_address, column_letters
from workbook.formats.files import save_atomic

STEP_LABELS = {
    "value": "實際值",
    "projection": "全年度推估值",
    "achieved": "達成情形",
    "rate": "達成率（%）",
    "light": "燈號",
    "at_risk": "落後風險",
    "errors": "未通過檢核項數",
}
#: Steps shown in rows of their own below the results, with their row heights.
TEXT_STEPS = (("檢核", "status", 30), ("分析（系統產生）", "sentence", 120))
LIGHT_TEXTS = {
    "green": ZH_LABELS.green,
    "yellow": ZH_LABELS.yellow,
    "red": ZH_LABELS.red,
    "white": ZH_LABELS.white,
}
#: zh-TW install steps of the ribbon add-in; README.md repeats them.
ADDIN_STEPS = (
    "安裝 Python 3.10 以上版本（python.org 下載，安裝時勾選「Add python.exe to PATH」）。",
    "開啟「命令提示字元」，執行 pip install kpi-workbook（或資訊單位提供的安裝檔）。",
    "關閉 Excel 後執行 kpi addin install，系統會將 macros.xlam 放入 Excel 的啟動資料夾（XLSTART）。",
    "重新開啟 Excel，功能區出現「績效指標」索引標籤與「計算」按鈕；如出現安全性警告，請按「啟用內容」。",
    "以電子郵件收到的工作簿會在「受保護的檢視」開啟，請先按「啟用編輯」，再按「計算」。",
    "無法安裝的電腦，可將工作簿寄回彙整窗口，由窗口以 kpi calculate 代為計算。",
)
KIND_TEXT = {"ratio": "比率", "growth": "成長率", "count": "件數（累計）", "milestone": "完成工作項目"}
POLARITY_TEXT = {"higher": "越高越好", "lower": "越低越好"}


def build_template(scope: L.Scope) -> Workbook:
    """Build the workbook for ``scope`` (a plan, optionally one section and period)."""
    if not scope.indicators:
        raise ValueError(f"承辦單位「{scope.owner}」沒有任何指標 / no indicators for owner {scope.owner!r}")
    wb = Workbook()
    wb.remove(wb.active)
    _Builder(wb, scope).build()
    wb.calculation.fullCalcOnLoad = True  # Excel recomputes on open: openpyxl caches no values
    return wb


def write_template(scope: L.Scope, path: str | Path) -> Path:
    """Build the template and save it atomically to ``path``."""
    return save_atomic(build_template(scope), Path(path))


def _decimals_fmt(decimals: int) -> str:
    return "0" + ("." + "0" * decimals if decimals else "")


def _unit_of(ind: Indicator) -> str:
    return "%" if ind.kind in PERCENT_KINDS else ind.inputs[0].unit


class _Builder:
    def __init__(self, wb: Workbook, scope: L.Scope):
        self.wb, self.scope, self.plan = wb, scope, scope.plan

    # -- helpers -------------------------------------------------------------
    def define(self, name: str, ws: Worksheet, row: int, col: int) -> None:
        ref = f"{quote_sheetname(ws.title)}!{cell_address(row, col, absolute=True)}"
        self.wb.defined_names[name] = DefinedName(name, attr_text=ref)

    def sheet(self, title: str, widths: list[int], *, landscape: bool = False) -> Worksheet:
        ws = self.wb.create_sheet(title)
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[column_letters(i)].width = w
        page_setup(ws, landscape=landscape)
        ws.sheet_view.showGridLines = False
        ws.protection.sheet = True
        if self.plan.options.password:
            ws.protection.password = self.plan.options.password
        ws.protection.formatColumns = ws.protection.formatRows = False  # staff may resize rows/columns
        return ws

    def title(self, ws: Worksheet, text: str, width: int, row: int = 1) -> None:
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        style(ws.cell(row, 1, text), font=TITLE, align=CENTER, border=False)
        ws.row_dimensions[row].height = 30

    def header(self, ws: Worksheet, row: int, labels: list[str], col: int = 1) -> None:
        for i, text in enumerate(labels):
            style(ws.cell(row, col + i, text), font=HEADING, fill=HEADER_FILL, align=CENTER)

    def subtitle(self) -> str:
        s = self.scope
        parts = [self.plan.agency, f"{s.year}年度"]
        if s.unit:
            parts.append(f"填報單位：{s.unit}")
        if s.owner:
            parts.append(f"承辦單位：{s.owner}")
        return "　".join(parts)

    # -- sheets --------------------------------------------------------------
    def build(self) -> None:
        self.guide()
        self.kpi_table()
        for ind in self.scope.indicators:
            self.indicator(ind)
        if self.scope.items:
            self.items()
        self.summary()
        self.findings()
        self.meta()
        self.wb.active = 0

    def guide(self) -> None:
        ws = self.sheet(L.SHEET_GUIDE, [4, 90])
        self.title(ws, f"{self.plan.title}　績效指標填報工作簿", 2)
        style(ws.cell(2, 1, self.subtitle()), font=BODY, align=CENTER, border=False)
        ws.merge_cells("A2:B2")
        lines = [
            (
                "一、",
                "請於各指標工作表的淡黃色儲存格填入截至各期別截止日的累計數（整數）。其他儲存格已鎖定，無須修改。",
            ),
            (
                "二、",
                "計算：按 Excel 或 LibreOffice 的「績效指標 → 計算」；或於命令列執行 kpi calculate 檔名。",
            ),
            (
                "三、",
                "各指標的實際值、達成率、燈號、檢核與分析文字隨填報數據即時顯示；按「計算」另做跨期別檢核，並產生「檢核結果」工作表。",
            ),
            (
                "四、",
                "燈號：綠燈 達成率 ≥ {g}%；黃燈 ≥ {y}%；紅燈 未達 {y}%；白燈 尚無資料、資料有誤或本期不評估。".format(
                    g=number_text(self.plan.options.lights.green),
                    y=number_text(self.plan.options.lights.yellow),
                ),
            ),
            ("五、", "累計件數於上半年依日數比例推估全年度數值，推估未達目標時標示「落後風險」。"),
            ("六、", "「補充說明」欄可自行撰寫分析，計算時不會被覆寫，並接在系統產生的分析文字之後。"),
            ("七、", "填妥並計算後存檔，以電子郵件寄回彙整窗口；請勿更改工作表名稱。"),
        ]
        row = 4
        for mark, text in lines:
            style(ws.cell(row, 1, mark), border=False)
            style(ws.cell(row, 2, text), border=False)
            row += 1
        row += 1
        style(ws.cell(row, 1, "安裝「計算」按鈕（Windows，每部電腦只需一次）"), font=HEADING, border=False)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        row += 1
        for n, text in enumerate(ADDIN_STEPS, start=1):
            style(ws.cell(row, 1, f"{n}."), border=False)
            style(ws.cell(row, 2, text), border=False)
            row += 1
        row += 1
        style(ws.cell(row, 1, "狀態"), font=HEADING, border=False)
        status = ws.cell(row, 2, "尚未計算 / not calculated yet")
        style(status, border=False)
        self.define(L.STATUS_NAME, ws, row, 2)
        if not self.scope.unit:
            self.unit_input(ws, row + 2)

    def unit_input(self, ws: Worksheet, row: int) -> None:
        """A 填報單位 cell staff fill in, for a template made without a unit (a list when the plan has one)."""
        style(ws.cell(row, 1, "填報單位"), font=HEADING, border=False)
        cell = ws.cell(row, 2)
        input_cell(cell, fmt="@")
        units = self.plan.units
        if units and sum(len(u) + 1 for u in units) < 255:  # Excel's limit on an inline list
            dv = DataValidation(type="list", formula1='"' + ",".join(units) + '"', allow_blank=True)
            dv.error, dv.errorTitle = "請從清單選擇填報單位 / choose a unit from the list", "填報單位"
            dv.showErrorMessage = True
        else:
            dv = DataValidation(type="textLength", operator="between", formula1="1", formula2="100")
        dv.prompt, dv.promptTitle = "請填入本工作簿的填報單位（例如：秘書處第一科）", "填報單位"
        dv.showInputMessage = True
        ws.add_data_validation(dv)
        dv.add(cell)
        self.define(L.UNIT_NAME, ws, row, 2)

    def kpi_table(self) -> None:
        s = self.scope
        widths = [6, 28, 6, 34, 8, 10, 40, 12]
        ws = self.sheet(L.SHEET_KPI, widths, landscape=True)
        self.title(ws, "關鍵績效指標", 8)
        style(ws.cell(2, 1, self.subtitle()), align=CENTER, border=False)
        ws.merge_cells("A2:H2")
        labels = [
            "策略績效目標",
            "",
            "衡量指標",
            "",
            "評估體制",
            "評估方式",
            "衡量標準",
            f"{s.year}年年度目標值",
        ]
        self.header(ws, 3, labels)
        ws.row_dimensions[3].height = 34
        ws.merge_cells("A3:B3")
        ws.merge_cells("C3:D3")
        row = 4
        for goal in self.plan.goals:
            inds = [i for i in goal.indicators if i in s.indicators]
            if not inds:
                continue
            first = row
            goal_text = f"{goal.name}({number_text(goal.weight)}%)"
            for ind in inds:
                target = target_for(ind, s.targets).shown  # a stage target prints as the stage
                cells = [
                    ind.number,
                    f"{ind.name}({number_text(ind.weight)}%)",
                    ind.system,
                    ind.method,
                    ind.formula,
                    target,
                ]
                for col, v in enumerate(cells, start=3):
                    style(ws.cell(row, col, v), align=CENTER if col in (3, 5, 6, 8) else WRAP_MID)
                ws.row_dimensions[row].height = row_height(
                    [(str(v), widths[col - 1]) for col, v in enumerate(cells, start=3)]
                )
                row += 1
            style(ws.cell(first, 1, goal.number), align=CENTER)
            style(ws.cell(first, 2, goal_text), align=CENTER)
            for r in range(first, row):  # borders on the merged goal cells
                style(ws.cell(r, 1), align=CENTER)
                style(ws.cell(r, 2), align=CENTER)
            goal_height = row_height([(goal_text, widths[1])])
            spread = sum(ws.row_dimensions[r].height for r in range(first, row))
            if goal_height > spread:
                ws.row_dimensions[row - 1].height += goal_height - spread
            if row - 1 > first:
                ws.merge_cells(start_row=first, start_column=1, end_row=row - 1, end_column=1)
                ws.merge_cells(start_row=first, start_column=2, end_row=row - 1, end_column=2)
        notes = ["註：評估體制之數字代號意義如下："] + [
            f"{code}.{meaning}" + ("" if meaning.endswith("。") else "。")
            for code, meaning in sorted(self.plan.evaluation_systems.items())
        ]
        for text in notes:
            row += 1
            style(ws.cell(row, 1, text), font=SMALL, border=False, align=LEFT)
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=8)

    def indicator(self, ind: Indicator) -> None:
        s, plan = self.scope, self.plan
        periods = s.periods
        ncol = 2 + len(periods)
        ws = self.sheet(L.indicator_sheet(plan, ind), [24, 8] + [34] * len(periods))
        goal = plan.goal_of(ind.id)
        self.title(ws, ind.name, ncol)
        target = target_for(ind, s.targets)
        definition = [
            ("策略績效目標", f"{goal.number} {goal.name}({number_text(goal.weight)}%)"),
            ("權重", f"{number_text(ind.weight)}%"),
            ("評估體制", f"{ind.system}（{plan.evaluation_systems.get(ind.system, '')}）"),
            ("評估方式", ind.method),
            ("衡量標準", ind.formula),
            (f"{s.year}年年度目標值", target.shown),
            ("計算方式", f"{KIND_TEXT[ind.kind]}，{POLARITY_TEXT[ind.polarity]}"),
            ("承辦單位", ind.owner),
        ]
        row = 2
        for label, value in definition:
            style(ws.cell(row, 1, label), fill=LABEL_FILL)
            style(ws.cell(row, 2, value))
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=ncol)
            row += 1
        if ind.kind == "milestone":
            stages = "；".join(
                f"{n}.{st.label}{number_text(st.percent)}%" for n, st in enumerate(ind.stages, 1)
            )
            style(ws.cell(row, 1, "階段"), fill=LABEL_FILL)
            style(ws.cell(row, 2, f"0.尚未開始；{stages}"))
            ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=ncol)
            row += 1

        row += 1
        self.header(ws, row, ["填報數據", "單位"] + [f"{p.name}（截至{p.end_text()}）" for p in periods])
        row += 1
        for spec in ind.inputs:
            style(ws.cell(row, 1, spec.label), fill=LABEL_FILL)
            style(ws.cell(row, 2, spec.unit), align=CENTER)
            for col, p in enumerate(periods, start=3):
                input_cell(ws.cell(row, col))
                self.validate(ws, ind, spec.role, row, col)
                self.define(L.input_name(ind, p, spec.role), ws, row, col)
            row += 1

        row += 1
        self.header(ws, row, ["計算結果", "單位"] + [p.name for p in periods])
        row += 1
        comps = {p.id: indicator_computation(s, ind, p) for p in periods}
        style(ws.cell(row, 1, "年度目標值"), fill=LABEL_FILL)
        style(ws.cell(row, 2, ""), align=CENTER)
        for col, _ in enumerate(periods, start=3):
            style(ws.cell(row, col, target.shown), align=CENTER)
        row += 1
        step_names = [n for n in STEP_LABELS if any(n in dict(c.steps) for c in comps.values())]
        for step in step_names:
            unit = {"value": _unit_of(ind), "projection": _unit_of(ind), "rate": "%"}.get(step, "")
            style(ws.cell(row, 1, STEP_LABELS[step]), fill=LABEL_FILL)
            style(ws.cell(row, 2, unit), align=CENTER)
            for col, p in enumerate(periods, start=3):
                steps = dict(comps[p.id].steps)
                cell = ws.cell(row, col)
                if step not in steps:
                    style(cell, align=CENTER)
                    cell.value = "—"
                    continue
                cell.value = formula_text(ind, p, comps[p.id], step)
                fmt = {
                    "value": self.value_fmt(ind),
                    "projection": "#,##0",  # a projected count is a whole number of its unit
                    "rate": self.rate_fmt(ind),
                    "errors": "0",
                }.get(step)
                style(cell, fill=RESULT_FILL, align=CENTER, fmt=fmt)
                self.define(L.result_name(ind, p, step), ws, row, col)
                if step == "light":
                    light_rules(ws, cell.coordinate, LIGHT_TEXTS)
            row += 1
        # 檢核 and 分析 are formulas too: they change the moment an input does.
        # 補充說明 below is staff's own text and is never written.
        for label, step, height in TEXT_STEPS:
            style(ws.cell(row, 1, label), fill=LABEL_FILL)
            style(ws.cell(row, 2, ""))
            for col, p in enumerate(periods, start=3):
                cell = ws.cell(row, col, formula_text(ind, p, comps[p.id], step))
                style(cell, fill=RESULT_FILL, align=CENTER if step == "status" else WRAP)
                self.define(L.step_name(ind, p, step), ws, row, col)
            ws.row_dimensions[row].height = height
            row += 1
        style(ws.cell(row, 1, "補充說明（自行填寫，計算時保留）"), fill=LABEL_FILL)
        style(ws.cell(row, 2, ""))
        for col, p in enumerate(periods, start=3):
            cell = ws.cell(row, col)
            input_cell(cell, fmt="@")
            cell.alignment = WRAP
            self.define(L.notes_name(ind, p), ws, row, col)
        ws.row_dimensions[row].height = 90

    def validate(self, ws: Worksheet, ind: Indicator, role: str, row: int, col: int) -> None:
        spec = ind.input(role)
        if ind.kind == "milestone":
            choices = ",".join(str(n) for n in range(len(ind.stages) + 1))
            dv = DataValidation(type="list", formula1=f'"{choices}"', allow_blank=True)
            dv.prompt = "請選擇已達成的階段編號（0 為尚未開始）"
        else:
            dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
            dv.prompt = f"請輸入{spec.label}（{spec.unit}），為 0 以上的整數。"
        dv.promptTitle = spec.label[:32]
        dv.errorTitle = "輸入錯誤"
        dv.error = "請輸入 0 以上的整數 / enter a whole number ≥ 0"
        dv.showErrorMessage = dv.showInputMessage = True
        dv.errorStyle = "stop"
        ws.add_data_validation(dv)
        dv.add(ws.cell(row, col))

    def items(self) -> None:
        periods = self.scope.periods
        widths = [14, 24, 60] + [10, 30] * len(periods)
        ws = self.sheet(L.SHEET_ITEMS, widths, landscape=True)
        ncol = len(widths)
        self.title(ws, "年度重要施政計畫執行情形", ncol)
        labels = ["工作計畫", "重要施政計畫項目", "實施內容"]
        for p in periods:
            labels += [f"{p.name}執行進度（%）", f"{p.name}執行情形"]
        self.header(ws, 2, labels)
        ws.row_dimensions[2].height = 34
        row = 3
        for w in self.plan.work_plans:
            for item in w.items:
                if item not in self.scope.items:
                    continue
                style(ws.cell(row, 1, w.name))
                style(ws.cell(row, 2, f"{item.number}. {item.name}"))
                content = "\n".join(
                    f"{n}. {c}" if len(item.content) > 1 else c for n, c in enumerate(item.content, 1)
                )
                style(ws.cell(row, 3, content), font=SMALL)
                col = 4
                for p in periods:
                    input_cell(ws.cell(row, col))
                    dv = DataValidation(
                        type="whole", operator="between", formula1="0", formula2="100", allow_blank=True
                    )
                    dv.prompt, dv.promptTitle = "執行進度，0 至 100 的整數（%）", "執行進度"
                    dv.error, dv.errorTitle = "請輸入 0 至 100 的整數 / enter 0–100", "輸入錯誤"
                    dv.showErrorMessage = dv.showInputMessage = True
                    ws.add_data_validation(dv)
                    dv.add(ws.cell(row, col))
                    self.define(L.progress_name(item, p), ws, row, col)
                    input_cell(ws.cell(row, col + 1), fmt="@")
                    ws.cell(row, col + 1).alignment = WRAP
                    self.define(L.progress_text_name(item, p), ws, row, col + 1)
                    col += 2
                ws.row_dimensions[row].height = min(
                    409, row_height([(content, 60 / 0.85), (item.name, 24)], 13)
                )
                row += 1

    def summary(self) -> None:
        s = self.scope
        ws = self.sheet(L.SHEET_SUMMARY, [20, 24, 10, 10, 10, 8, 60], landscape=True)
        self.title(ws, f"{self.plan.agency}　{s.year}年度實施狀況及成果概述", 7)
        labels = [
            "策略績效目標",
            "衡量指標",
            "原訂目標值",
            "實際值",
            "達成率（%）",
            "燈號",
            "績效衡量暨達成情形分析",
        ]
        row = 2
        for p in s.periods:
            start, end = p.dates(s.year)
            heading = f"{s.year}年{start.month}月{start.day}日至{end.month}月{end.day}日止"
            style(ws.cell(row, 1, heading), font=HEADING, border=False, align=LEFT)
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=7)
            ws.row_dimensions[row].height = 22
            self.header(ws, row + 1, labels)
            ws.row_dimensions[row + 1].height = 34
            row += 2
            first_light = row
            for goal in self.plan.goals:
                inds = [i for i in goal.indicators if i in s.indicators]
                if not inds:
                    continue
                goal_text = f"{goal.number} {goal.name}({number_text(goal.weight)}%)"
                first = row
                for ind in inds:
                    self.summary_row(ws, row, goal_text if row == first else None, ind, p)
                    row += 1
                if row - 1 > first:  # one goal cell over its indicators, as the plan prints it
                    ws.merge_cells(start_row=first, start_column=1, end_row=row - 1, end_column=1)
            light_rules(ws, f"F{first_light}:F{row - 1}", LIGHT_TEXTS)
            row += 1

    def summary_row(self, ws: Worksheet, row: int, goal_text: str | None, ind: Indicator, p) -> None:
        target = target_for(ind, self.scope.targets)
        notes = L.notes_name(ind, p)
        values = [
            goal_text,
            f"{ind.name}({number_text(ind.weight)}%)",
            target.shown,
            f"={L.result_name(ind, p, 'value')}",
            f"={L.result_name(ind, p, 'rate')}",
            f"={L.result_name(ind, p, 'light')}",
            f'={L.sentence_name(ind, p)}&IF({notes}="","",CHAR(10)&{notes})',
        ]
        for col, v in enumerate(values, start=1):
            fmt = self.value_fmt(ind) if col == 4 else self.rate_fmt(ind) if col == 5 else None
            style(ws.cell(row, col, v), align=CENTER if col in (3, 4, 5, 6) else WRAP_MID, fmt=fmt)
        ws.row_dimensions[row].height = max(
            75, row_height([(str(values[0] or ""), 20), (str(values[1]), 24)])
        )

    def value_fmt(self, ind: Indicator) -> str:
        """Counts print as whole numbers; percentages with the indicator's decimals."""
        return "#,##0" if ind.kind == "count" else self.rate_fmt(ind)

    def rate_fmt(self, ind: Indicator) -> str:
        """The number format of the indicator's rounded results (its own decimals, else the plan's)."""
        return _decimals_fmt(ind.options_for(self.plan.options).decimals)

    def findings(self) -> None:
        ws = self.sheet(L.SHEET_FINDINGS, [6, 8, 22, 28, 10, 12, 60, 50], landscape=True)
        self.title(ws, "檢核結果", 8)
        self.header(ws, 2, ["序號", "嚴重度", "代碼", "工作表", "儲存格", "期別", "說明", "Message"])
        self.define(L.FINDINGS_NAME, ws, 3, 1)
        for row in range(3, 3 + L.FINDINGS_CAPACITY):  # calculate writes values only: style the rows now
            for col in range(1, 9):
                style(ws.cell(row, col), align=CENTER if col in (1, 2, 5, 6) else WRAP)
        ws.cell(3, 1, "尚未計算 / not calculated yet")

    def meta(self) -> None:
        ws = self.wb.create_sheet(L.SHEET_META)
        ws.sheet_state = "veryHidden"
        s = self.scope
        values = {
            "product": L.PRODUCT,
            "template_version": L.TEMPLATE_VERSION,
            "plan_id": self.plan.id,
            "plan_fingerprint": self.plan.fingerprint,
            "data_year": s.year,
            "targets": s.targets,
            "unit": s.unit,
            "owner": s.owner or "",
            "period": s.period_id or "",
            "input_digest": "",
            "calculated_at": "",
        }
        for row, key in enumerate(L.META_KEYS, start=1):
            ws.cell(row, 1, key)
            cell = ws.cell(row, 2, values[key])
            if isinstance(values[key], str) and values[key].startswith("="):
                cell.data_type = "s"  # a unit named "=…" is text, not a formula
        # What calculate last found (CALC_) and the inputs it checked (SNAP_): the 檢核 formulas
        # compare them with the inputs, so a stale 「無誤」 can never show.
        row = 1
        for ind in s.indicators:
            for p in s.periods:
                self.define(L.calc_name(ind, p), ws, row, L.STATE_COLUMN)
                style(ws.cell(row, L.STATE_COLUMN), border=False)
                for i, spec in enumerate(ind.inputs, start=1):
                    self.define(L.snapshot_name(ind, p, spec.role), ws, row, L.STATE_COLUMN + i)
                    style(ws.cell(row, L.STATE_COLUMN + i), border=False)
                row += 1
        text = self.plan.text
        chunks = [text[i : i + L.PLAN_TEXT_CHUNK] for i in range(0, len(text), L.PLAN_TEXT_CHUNK)]
        for i, chunk in enumerate(chunks, start=len(L.META_KEYS) + 1):
            ws.cell(i, 1, "plan_text")
            ws.cell(i, 2, chunk)
        ws.protection.sheet = True
