"""Reading the plan-authoring workbook back into plan data.

:func:`read_plan_data` reads the sheets :mod:`.authoring` writes (columns found by
their headers, so a coordinator may reorder them) and remembers which cell holds
which plan field; :func:`locate` turns the loader's issues (by field path) into
issues that name the sheet and cell; :func:`load_workbook_plan` does both.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from kpi_engine import Plan, PlanError, parse_plan
from kpi_engine.kinds import KIND_ROLES
from kpi_engine.plan_loader import DEFAULT_PERIODS, PlanIssue, dump_plan
from workbook.errors import os_words
from workbook.formats.cells import column_letters
from workbook.formats.files import WorkbookFileError
from workbook.plan_io.authoring import (
    KIND_LABELS,
    KPI_COLUMNS,
    NO,
    PERIOD_HEADERS,
    PLAN_REVIEW_LABEL,
    PLAN_ROWS,
    POLARITY_LABELS,
    SHEET_EXTRA,
    SHEET_ITEMS,
    SHEET_KPI,
    SHEET_PLAN,
    UNIT_HEADERS,
    UNIT_KEYS,
    YES,
    AuthoringError,
    SheetIssue,
)


class _Reader:
    """Reads one authoring workbook into plan data, remembering which cell holds which field."""

    def __init__(self, wb: Any, source: str):
        self.wb, self.source = wb, source
        self.cells: dict[str, tuple[str, str]] = {}  # dotted plan path → (sheet, cell)
        self.issues: list[SheetIssue] = []

    def where(self, path: str, sheet: str, row: int, col: int) -> None:
        self.cells[path] = (sheet, f"{column_letters(col)}{row}")

    def issue(self, sheet: str, row: int, col: int, zh: str, en: str, code: str = "schema") -> None:
        self.issues.append(SheetIssue(sheet, f"{column_letters(col)}{row}", zh, en, code))

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
        start = labels.get(_norm(UNIT_HEADERS[0]))
        if start is not None:  # 填報單位與催繳信箱: a bare name stays a name, as YAML writes it
            units: list = []
            r = start + 1
            while r <= ws.max_row and any(ws.cell(r, c).value not in (None, "") for c in range(1, 4)):
                given = {k: _text(_cell(ws.cell(r, c).value)) for c, k in enumerate(UNIT_KEYS, start=1)}
                for c, k in enumerate(UNIT_KEYS, start=1):
                    self.where(f"units[{len(units)}].{k}", SHEET_PLAN, r, c)
                self.where(f"units[{len(units)}]", SHEET_PLAN, r, 1)
                given = {k: v for k, v in given.items() if v}
                units.append(given["name"] if set(given) == {"name"} else given)
                r += 1
            if units:
                data["units"] = units

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
        if v.get("common") is not None:
            at("common")
            flag = {YES: True, NO: False}.get(_text(v["common"]))
            if flag is None:
                self.issue(
                    SHEET_KPI, row, cols["common"], "共同性指標須為「是」或「否」", "common must be 是 or 否"
                )
            elif flag:
                ind["common"] = True
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
            w, item, content, owner = (_cell(ws.cell(row, c).value) for c in (1, 2, 3, 4))
            if w is not None:
                # 承辦單位 (column D) on the work plan's row: the section whose template holds it
                plans.append(
                    {"name": _text(w), **({"owner": _text(owner)} if owner is not None else {}), "items": []}
                )
                self.where(f"work_plans[{len(plans) - 1}]", SHEET_ITEMS, row, 1)
                self.where(f"work_plans[{len(plans) - 1}].owner", SHEET_ITEMS, row, 4)
            elif owner is not None:
                self.issue(
                    SHEET_ITEMS,
                    row,
                    4,
                    "承辦單位須寫在工作計畫那一列",
                    "the owner goes on its work plan's row",
                )
            if w is None and item is None and content is None:
                continue
            if w is None and not plans:
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
    from workbook.formats.guard import inspect

    if path.suffix.lower() == ".ods":
        from workbook import libreoffice as lo

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
                f"無法讀取檔案：{os_words(exc)[0]}", f"cannot read the file: {os_words(exc)[1]}", path=path
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
    :class:`~workbook.formats.files.WorkbookFileError` for a file that is not an authoring workbook.
    """
    path = Path(path)
    wb = _open(path)
    if SHEET_KPI not in wb.sheetnames or SHEET_PLAN not in wb.sheetnames:
        from workbook.form.layout import SHEET_META

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
            shorter = re.sub(r"(\.[^.\[\]]+|\[[0-9]+\])$", "", path)
            path = shorter if shorter != path else ""  # a bare key (goals, sample) has no parent
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
        plan = parse_plan(dump_plan(data), source=source)
    except PlanError as exc:
        raise AuthoringError(source, locate(exc.issues, cells)) from None  # type: ignore[arg-type]
    # 待設定 targets named by their cells too (kpi plan check lists them)
    return replace(plan, pending=tuple(locate(list(plan.pending), cells))) if plan.pending else plan


def load_workbook_plan(path: str | Path) -> Plan:
    """A Plan from an authoring workbook; mistakes name their sheet and cell."""
    data, cells = read_plan_data(path)
    return plan_from_data(data, cells, str(path))
