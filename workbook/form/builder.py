"""Build the template workbook staff fill in, written by XlsxWriter.

Result cells hold Excel formulas rendered from the engine's own computation
(:func:`kpi_engine.measures.computation`), so the workbook shows live values in
Excel, Excel for the web and LibreOffice without Python.

The builder speaks to :mod:`workbook.form.sheet`: a new template goes through the XlsxWriter
backend; a 填表說明 or 檢核結果 sheet rebuilt inside a workbook being repaired goes through
the openpyxl one (``FileBook.rebuild_sheets`` passes its openpyxl workbook to :class:`_Builder`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kpi_engine.evaluate import target_for
from kpi_engine.expr import to_excel
from kpi_engine.kinds import input_error_expr, kind_of, kind_text
from kpi_engine.measures import ZH_LABELS
from kpi_engine.narrative import number_text
from kpi_engine.plan import PERCENT_KINDS, Indicator
from kpi_engine.plan_loader import plan_copy
from workbook.form import layout as L
from workbook.form.formulas import formula_text, indicator_computation
from workbook.form.sheet import Book, Sheet, Validation
from workbook.form.sheet_openpyxl import OpenpyxlBook
from workbook.form.sheet_xlsx import XlsxBook
from workbook.form.styles import (
    CENTER,
    HEADER_FILL,
    HEADING,
    INPUT,
    INPUT_TEXT,
    LABEL_FILL,
    LEFT,
    RESULT_FILL,
    SMALL,
    TITLE,
    WRAP,
    WRAP_MID,
    error_rule,
    light_rules,
    row_height,
)
from workbook.formats.cells import cell_address
from workbook.formats.files import save_atomic

if TYPE_CHECKING:
    from openpyxl import Workbook

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
TEXT_STEPS = (("檢核", "status", 30), ("分析（系統產生）", "sentence", 60))
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
#: What the status line and the findings table say before the first calculate.
NOT_CALCULATED = "尚未計算 / not calculated yet"
#: Columns from calculate's last state column (CALC_/SNAP_) to its report in ``_kpi``.
STATE_REPORT_GAP = 2


def report_formula(record: tuple[int, int], row: int, col: int) -> str:
    """A visible cell showing cell (row, col) of calculate's report, whose first cell in ``_kpi``
    is ``record`` (row, col): ``=_kpi!$M$2&""``.

    ``&""`` keeps an empty report cell blank (a bare reference shows 0).  One shape for every
    such cell, so a file writer can give it its cached value (``books/ods_write``).
    """
    at = cell_address(record[0] + row - 1, record[1] + col - 1, absolute=True)
    return f'={L.SHEET_META}!{at}&""'  # unquoted, as LibreOffice writes it back (a name needs none)


POLARITY_TEXT = {"higher": "越高越好", "lower": "越低越好"}
#: Characters of 補充說明 the printed rows leave room for (a normal note runs to about 200).
NOTE_ROOM = 200
#: Column widths (characters) of the indicator sheets' period columns and of 達成情形's analysis.
PERIOD_WIDTH, ANALYSIS_WIDTH = 34, 76


def longest_sentences(scope: L.Scope) -> dict[tuple[str, str], str]:
    """(indicator, period) → the engine's sentence for six-digit counts: about the longest it writes.

    Printed rows are as tall as this sentence plus :data:`NOTE_ROOM` characters of notes: a
    row's height is fixed when the workbook is made, and a formula's text is unknown then.
    """
    from kpi_engine import evaluate

    def count(ind: Indicator, role: str) -> int:
        return len(ind.stages) if kind_of(ind).staged else (876543 if role == ind.inputs[0].role else 987654)

    entries = {
        p.id: {i.id: {spec.role: count(i, spec.role) for spec in i.inputs} for i in scope.indicators}
        for p in scope.periods
    }
    try:
        ev = evaluate(scope.plan, entries, targets=scope.targets, year=scope.year)  # type: ignore[arg-type]
    except Exception:  # a plan the sample cannot evaluate: room for a long sentence instead
        return {}
    return {(r.indicator, r.period): r.sentence for r in ev.results}


def template_bytes(scope: L.Scope) -> bytes:
    """The .xlsx of the workbook for ``scope`` (a plan, optionally one section and period)."""
    if not scope.indicators:
        raise ValueError(f"承辦單位「{scope.owner}」沒有任何指標 / no indicators for owner {scope.owner!r}")
    book = XlsxBook()
    _Builder(book, scope).build()
    return book.close()


def write_template(scope: L.Scope, path: str | Path) -> Path:
    """Build the template and save it atomically to ``path``."""
    return save_atomic(template_bytes(scope), Path(path))


def _decimals_fmt(decimals: int) -> str:
    return "0" + ("." + "0" * decimals if decimals else "")


def _unit_of(ind: Indicator) -> str:
    return "%" if ind.kind in PERCENT_KINDS else ind.inputs[0].unit


def invalid_rule(ws: Sheet, ref: str) -> None:
    """「資料有誤 …」 in its own red, never the green of 「無誤」."""
    mark = ZH_LABELS.invalid
    ws.conditional(ref, error_rule(f'LEFT({ref},{len(mark)})="{mark}"'))


def light_rules_on(ws: Sheet, ref: str) -> None:
    """Colour the light cells of ``ref`` by their text."""
    for rule in light_rules(LIGHT_TEXTS):
        ws.conditional(ref, rule)


def input_rule_text(ind: Indicator, role: str) -> str:
    """The rules of one input in words, as :func:`kpi_engine.kinds.input_error_expr` checks them."""
    kind = kind_of(ind)
    rules = ["0 以上的整數，直接輸入數字（不用公式）"]
    if role == kind.divisor:
        rules.append("不得為 0")
    if kind.part_of_whole and ind.numerator_in_denominator and role == kind.roles[0]:
        rules.append(f"不得大於「{ind.input(kind.roles[1]).label}」")
    return "；".join(rules)


class _Builder:
    """Writes the template's sheets into ``book`` (an openpyxl workbook: the openpyxl backend)."""

    def __init__(self, book: Book | Workbook, scope: L.Scope):
        self.book: Book = book if isinstance(book, Book) else OpenpyxlBook(book)
        self.scope, self.plan = scope, scope.plan
        self.members = frozenset(scope.indicators)  # asked per goal: scope.indicators is rebuilt per call
        # calculate's report in _kpi: right of its state (CALC_ and SNAP_ per input), row 1.
        widest = max(len(ind.inputs) for ind in scope.indicators)
        self.record = (1, L.STATE_COLUMN + widest + STATE_REPORT_GAP)
        self.sentences = longest_sentences(scope)

    def sentence_room(self, ind: Indicator) -> str:
        """A stand-in text as long as the longest sentence of ``ind`` (for row heights)."""
        longest = max((len(self.sentences.get((ind.id, p.id), "")) for p in self.scope.periods), default=0)
        return "字" * (longest or 120)

    # -- helpers -------------------------------------------------------------
    def define(self, name: str, ws: Sheet, row: int, col: int) -> None:
        self.book.define(name, ws, row, col)

    def sheet(self, title: str, widths: list[int], *, landscape: bool = False, fit_height: int = 0) -> Sheet:
        ws = self.book.sheet(title)
        for i, w in enumerate(widths, start=1):
            ws.width(i, w)
        ws.page(landscape=landscape, fit_height=fit_height)
        ws.no_gridlines()
        ws.protect(self.plan.options.password)
        return ws

    def title(self, ws: Sheet, text: str, width: int, row: int = 1) -> None:
        ws.merge(row, 1, row, width, text, font=TITLE, align=CENTER, border=False)
        ws.height(row, 30)

    def header(self, ws: Sheet, row: int, labels: list[str], col: int = 1) -> None:
        for i, text in enumerate(labels):
            ws.put(row, col + i, text, font=HEADING, fill=HEADER_FILL, align=CENTER)

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

    def guide(self) -> None:
        ws = self.sheet(L.SHEET_GUIDE, [4, 90])
        self.title(ws, f"{self.plan.title}　績效指標填報工作簿", 2)
        ws.merge(2, 1, 2, 2, self.subtitle(), align=CENTER, border=False)
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
            ws.put(row, 1, mark, border=False)
            ws.put(row, 2, text, border=False)
            row += 1
        row += 1
        ws.merge(row, 1, row, 2, "安裝「計算」按鈕（Windows，每部電腦只需一次）", font=HEADING, border=False)
        row += 1
        for n, text in enumerate(ADDIN_STEPS, start=1):
            ws.put(row, 1, f"{n}.", border=False)
            ws.put(row, 2, text, border=False)
            row += 1
        row += 1
        ws.put(row, 1, "狀態", font=HEADING, border=False)
        ws.formula(row, 2, report_formula(self.record, 1, 1), border=False)  # what calculate recorded in _kpi
        self.define(L.STATUS_NAME, ws, row, 2)
        if not self.scope.unit:
            self.unit_input(ws, row + 2)

    def unit_input(self, ws: Sheet, row: int) -> None:
        """A 填報單位 cell staff fill in, for a template made without a unit (a list when the plan has one)."""
        ws.put(row, 1, "填報單位", font=HEADING, border=False)
        ws.put(row, 2, None, INPUT._replace(fmt="@"))
        units = self.plan.units
        prompt = {"prompt": "請填入本工作簿的填報單位（例如：秘書處第一科）", "prompt_title": "填報單位"}
        if units and sum(len(u) + 1 for u in units) < 255:  # Excel's limit on an inline list
            error = {"error": "請從清單選擇填報單位 / choose a unit from the list", "error_title": "填報單位"}
            rule = Validation("list", tuple(units), **prompt, **error)
        else:
            rule = Validation("textLength", low=1, high=100, allow_blank=False, show_error=False, **prompt)
        ws.validate(cell_address(row, 2), rule)
        self.define(L.UNIT_NAME, ws, row, 2)

    def kpi_table(self) -> None:
        s = self.scope
        widths = [6, 28, 6, 34, 8, 10, 40, 12]
        ws = self.sheet(L.SHEET_KPI, widths, landscape=True)
        self.title(ws, "關鍵績效指標", 8)
        ws.merge(2, 1, 2, 8, self.subtitle(), align=CENTER, border=False)
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
        ws.merge(3, 1, 3, 2, labels[0], font=HEADING, fill=HEADER_FILL, align=CENTER)
        ws.merge(3, 3, 3, 4, labels[2], font=HEADING, fill=HEADER_FILL, align=CENTER)
        ws.height(3, 34)
        row = 4
        for goal in self.plan.goals:
            inds = [i for i in goal.indicators if i in self.members]
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
                    ws.put(row, col, v, align=CENTER if col in (3, 5, 6, 8) else WRAP_MID)
                ws.height(
                    row, row_height([(str(v), widths[col - 1]) for col, v in enumerate(cells, start=3)])
                )
                row += 1
            goal_height = row_height([(goal_text, widths[1])])
            spread = sum(ws.heights[r] for r in range(first, row))
            if goal_height > spread:
                ws.height(row - 1, ws.heights[row - 1] + goal_height - spread)
            # One goal cell over its indicators (bordered all round), as the plan prints it.
            ws.merge(first, 1, row - 1, 1, goal.number, align=CENTER)
            ws.merge(first, 2, row - 1, 2, goal_text, align=CENTER)
        notes = ["註：評估體制之數字代號意義如下："] + [
            f"{code}.{meaning}" + ("" if meaning.endswith("。") else "。")
            for code, meaning in sorted(self.plan.evaluation_systems.items())
        ]
        for text in notes:
            row += 1
            ws.merge(row, 1, row, 8, text, font=SMALL, border=False, align=LEFT)

    def indicator(self, ind: Indicator) -> None:
        s, plan = self.scope, self.plan
        periods = s.periods
        ncol = 2 + len(periods)
        # fit_height 1: one indicator, one page: its notes never print apart from it
        ws = self.sheet(L.indicator_sheet(plan, ind), [24, 8] + [PERIOD_WIDTH] * len(periods), fit_height=1)
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
            ("計算方式", f"{kind_text(ind)}，{POLARITY_TEXT[ind.polarity]}"),
            ("承辦單位", ind.owner),
        ]
        if kind_of(ind).staged:
            stages = "；".join(
                f"{n}.{st.label}{number_text(st.percent)}%" for n, st in enumerate(ind.stages, 1)
            )
            definition.append(("階段", f"0.尚未開始；{stages}"))
        row = 2
        merged = 8 + PERIOD_WIDTH * len(periods)  # the value spans 單位 and the period columns
        for label, value in definition:
            ws.put(row, 1, label, fill=LABEL_FILL)
            ws.merge(row, 2, row, ncol, value)
            # A merged cell never grows by itself: its height from its text (a long goal name).
            ws.height(row, row_height([(str(value), merged), (label, 24)]))
            row += 1

        row += 1
        self.header(ws, row, ["填報數據", "單位"] + [f"{p.name}（截至{p.end_text()}）" for p in periods])
        row += 1
        input_rows: dict[str, int] = {}
        for spec in ind.inputs:
            ws.put(row, 1, spec.label, fill=LABEL_FILL)
            ws.put(row, 2, spec.unit, align=CENTER)
            for col, p in enumerate(periods, start=3):
                ws.put(row, col, None, INPUT)
                self.validate(ws, ind, spec.role, row, col)
                self.define(L.input_name(ind, p, spec.role), ws, row, col)
            input_rows[spec.role] = row
            row += 1
        self.error_rules(ws, ind, input_rows, len(periods))

        row += 1
        self.header(ws, row, ["計算結果", "單位"] + [p.name for p in periods])
        row += 1
        comps = {p.id: indicator_computation(s, ind, p) for p in periods}
        # No target row here: a text such as 「100%」 in a column of input cells is what
        # LibreOffice's AutoInput completes a typed 10 to (stored as 1). The definition shows it.
        step_names = [n for n in STEP_LABELS if any(n in dict(c.steps) for c in comps.values())]
        for step in step_names:
            unit = {"value": _unit_of(ind), "projection": _unit_of(ind), "rate": "%"}.get(step, "")
            ws.put(row, 1, STEP_LABELS[step], fill=LABEL_FILL)
            ws.put(row, 2, unit, align=CENTER)
            for col, p in enumerate(periods, start=3):
                if step not in dict(comps[p.id].steps):
                    ws.put(row, col, "—", align=CENTER)
                    continue
                fmt = {
                    "value": self.value_fmt(ind),
                    "projection": "#,##0",  # a projected count is a whole number of its unit
                    "rate": self.rate_fmt(ind),
                    "errors": "0",
                }.get(step)
                ws.formula(
                    row, col, formula_text(ind, p, comps[p.id], step), fill=RESULT_FILL, align=CENTER, fmt=fmt
                )
                self.define(L.result_name(ind, p, step), ws, row, col)
                if step == "light":
                    light_rules_on(ws, cell_address(row, col))
                if step == "achieved":
                    invalid_rule(ws, cell_address(row, col))
            row += 1
        # 檢核 and 分析 are formulas too: they change the moment an input does.
        # 補充說明 below is staff's own text and is never written.
        for label, step, height in TEXT_STEPS:
            ws.put(row, 1, label, fill=LABEL_FILL)
            ws.put(row, 2, None)
            for col, p in enumerate(periods, start=3):
                align = CENTER if step == "status" else WRAP
                ws.formula(row, col, formula_text(ind, p, comps[p.id], step), fill=RESULT_FILL, align=align)
                self.define(L.step_name(ind, p, step), ws, row, col)
                if step == "status":
                    invalid_rule(ws, cell_address(row, col))
            if step == "sentence":  # as tall as the longest sentence, so it prints whole
                height = max(height, row_height([(self.sentence_room(ind), PERIOD_WIDTH)]))
            ws.height(row, height)
            row += 1
        ws.put(row, 1, "補充說明（自行填寫，計算時保留）", fill=LABEL_FILL)
        ws.put(row, 2, None)
        for col, p in enumerate(periods, start=3):
            ws.put(row, col, None, INPUT_TEXT)
            self.define(L.notes_name(ind, p), ws, row, col)
        ws.height(row, row_height([("字" * NOTE_ROOM, PERIOD_WIDTH)]))

    def error_rules(self, ws: Sheet, ind: Indicator, rows: dict[str, int], periods: int) -> None:
        """Each input cell turns red while its own check (the engine's, as a formula) fails."""
        for col in range(3, 3 + periods):
            where = {role: cell_address(r, col, absolute=True) for role, r in rows.items()}
            for role, r in rows.items():
                check = to_excel(input_error_expr(ind, role), where.__getitem__)
                ws.conditional(cell_address(r, col), error_rule(f"({check})>0"))

    def validate(self, ws: Sheet, ind: Indicator, role: str, row: int, col: int) -> None:
        spec = ind.input(role)
        red = "儲存格變紅色表示本格不符上述規則，請修正。"
        words = {
            "prompt_title": spec.label[:32],
            "error_title": "輸入錯誤",
            "error": "請輸入 0 以上的整數 / enter a whole number ≥ 0",
            "stop": True,
        }
        if kind_of(ind).staged:
            choices = tuple(str(n) for n in range(len(ind.stages) + 1))
            prompt = f"請選擇已達成的階段編號（0 為尚未開始，最大 {len(ind.stages)}）。{red}"
            rule = Validation("list", choices, prompt=prompt, **words)
        else:
            prompt = f"請輸入{spec.label}（{spec.unit}）：{input_rule_text(ind, role)}。{red}"
            rule = Validation("whole", operator="greaterThanOrEqual", low=0, prompt=prompt, **words)
        ws.validate(cell_address(row, col), rule)

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
        ws.height(2, 34)
        progress = Validation(
            "whole",
            low=0,
            high=100,
            prompt="執行進度，0 至 100 的整數（%）",
            prompt_title="執行進度",
            error="請輸入 0 至 100 的整數 / enter 0–100",
            error_title="輸入錯誤",
        )
        row = 3
        for w in self.plan.work_plans:
            for item in w.items:
                if item not in self.scope.items:
                    continue
                ws.put(row, 1, w.name)
                ws.put(row, 2, f"{item.number}. {item.name}")
                content = "\n".join(
                    f"{n}. {c}" if len(item.content) > 1 else c for n, c in enumerate(item.content, 1)
                )
                ws.put(row, 3, content, font=SMALL)
                col = 4
                for p in periods:
                    ws.put(row, col, None, INPUT)
                    ws.validate(cell_address(row, col), progress)
                    self.define(L.progress_name(item, p), ws, row, col)
                    ws.put(row, col + 1, None, INPUT_TEXT)
                    self.define(L.progress_text_name(item, p), ws, row, col + 1)
                    col += 2
                ws.height(row, min(409, row_height([(content, 60 / 0.85), (item.name, 24)], 13)))
                row += 1

    def summary(self) -> None:
        s = self.scope
        ws = self.sheet(L.SHEET_SUMMARY, [16, 20, 9, 9, 9, 6, ANALYSIS_WIDTH], landscape=True)
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
        page, used = ws.page_rows_points(), 30.0  # the title row
        for p in s.periods:
            start, end = p.dates(s.year)
            heading = f"{s.year}年{start.month}月{start.day}日至{end.month}月{end.day}日止"
            ws.merge(row, 1, row, 7, heading, font=HEADING, border=False, align=LEFT)
            ws.height(row, 22)
            self.header(ws, row + 1, labels)
            ws.height(row + 1, 34)
            row += 2
            used += 22 + 34
            first_light = row
            for goal in self.plan.goals:
                inds = [i for i in goal.indicators if i in self.members]
                if not inds:
                    continue
                goal_text = f"{goal.number} {goal.name}({number_text(goal.weight)}%)"
                first = row
                for ind in inds:
                    self.summary_row(ws, row, goal_text if row == first else "", ind, p)
                    row += 1
                # One goal cell over its indicators, as the plan prints it.
                ws.merge(first, 1, row - 1, 1, goal_text, align=WRAP_MID)
                # A goal's rows print on one page: break before a goal that would cross one.
                block = sum(ws.heights.get(r) or 15 for r in range(first, row))
                if used + block > page and used > 60:
                    ws.row_break(first - 1)
                    used = 0.0
                used += block
            light_rules_on(ws, f"F{first_light}:F{row - 1}")
            row += 1

    def summary_row(self, ws: Sheet, row: int, goal_text: str, ind: Indicator, p) -> None:
        """One indicator's row of 達成情形; ``goal_text`` (on a goal's first row) only sets its height:
        the goal cell is merged over the goal's rows by :meth:`summary`."""
        target = target_for(ind, self.scope.targets)
        notes = L.notes_name(ind, p)
        values = [
            f"{ind.name}({number_text(ind.weight)}%)",
            target.shown,
            f"={L.result_name(ind, p, 'value')}",
            f"={L.result_name(ind, p, 'rate')}",
            f"={L.result_name(ind, p, 'light')}",
            f'={L.sentence_name(ind, p)}&IF({notes}="","",CHAR(10)&{notes})',
        ]
        ws.put(row, 2, values[0], align=WRAP_MID)
        ws.put(row, 3, values[1], align=CENTER)
        for col, v in enumerate(values[2:], start=4):
            fmt = self.value_fmt(ind) if col == 4 else self.rate_fmt(ind) if col == 5 else None
            ws.formula(row, col, v, align=CENTER if col < 7 else WRAP_MID, fmt=fmt)
        analysis = self.sentence_room(ind) + "\n" + "字" * NOTE_ROOM  # the sentence, then staff's notes
        ws.height(
            row, min(409, row_height([(goal_text, 16), (str(values[0]), 20), (analysis, ANALYSIS_WIDTH)]))
        )

    def value_fmt(self, ind: Indicator) -> str:
        """Counts print as whole numbers; percentages with the indicator's decimals."""
        return "#,##0" if kind_of(ind).whole_value else self.rate_fmt(ind)

    def rate_fmt(self, ind: Indicator) -> str:
        """The number format of the indicator's rounded results (its own decimals, else the plan's)."""
        return _decimals_fmt(ind.options_for(self.plan.options).decimals)

    def findings(self) -> None:
        # Every cell shows calculate's report in _kpi by formula: calculate never writes here,
        # so no client lifts this sheet's protection (issue 22).  zh-TW first; the code is hidden.
        widths = [6, 8, 60, 24, 10, 12, 50, 22]
        ncol = len(L.REPORT_COLUMNS)
        ws = self.sheet(L.SHEET_FINDINGS, widths[: ncol - 1], landscape=True)
        ws.width(ncol, widths[ncol - 1], hidden=True)
        self.title(ws, "檢核結果", ncol)
        self.header(ws, 2, list(L.REPORT_COLUMNS))
        self.define(L.FINDINGS_NAME, ws, 3, 1)
        for i in range(L.FINDINGS_CAPACITY):
            for col in range(1, ncol + 1):
                align = CENTER if col in (1, 2, 5, 6) else WRAP
                ws.formula(3 + i, col, report_formula(self.record, 2 + i, col), align=align)

    def meta(self) -> None:
        ws = self.book.sheet(L.SHEET_META)
        ws.very_hidden()
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
            ws.bare(row, 1, key)
            ws.bare(row, 2, values[key])  # text stays text: a unit named "=…" is no formula
        # What calculate last found (CALC_) and the inputs it checked (SNAP_): the 檢核 formulas
        # compare them with the inputs, so a stale 「無誤」 can never show.
        row = 1
        for ind in s.indicators:
            for p in s.periods:
                self.define(L.calc_name(ind, p), ws, row, L.STATE_COLUMN)
                ws.put(row, L.STATE_COLUMN, None, border=False)
                for i, spec in enumerate(ind.inputs, start=1):
                    self.define(L.snapshot_name(ind, p, spec.role), ws, row, L.STATE_COLUMN + i)
                    ws.put(row, L.STATE_COLUMN + i, None, border=False)
                row += 1
        # calculate's report (status line, then the findings rows), shown by the visible sheets.
        top, first = self.record
        self.define(L.RECORD_NAME, ws, top, first)
        ws.put(top, first, NOT_CALCULATED, border=False)
        ws.bare(top + 1, first + L.REPORT_COLUMNS.index("說明"), NOT_CALCULATED)
        # The plan as written, then its JSON copy (calculate reads the copy without PyYAML).
        text, copy = self.plan.text, plan_copy(self.plan) or ""
        rows = [
            ("plan_text", text[i : i + L.PLAN_TEXT_CHUNK]) for i in range(0, len(text), L.PLAN_TEXT_CHUNK)
        ]
        rows += [
            ("plan_copy", copy[i : i + L.PLAN_TEXT_CHUNK]) for i in range(0, len(copy), L.PLAN_TEXT_CHUNK)
        ]
        for i, (key, chunk) in enumerate(rows, start=len(L.META_KEYS) + 1):
            ws.bare(i, 1, key)
            ws.bare(i, 2, chunk)
        # Unprotected (issue 22): the only sheet calculate writes, so no client lifts protection.
