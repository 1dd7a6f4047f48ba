"""The coordinator's summary workbook and CSV exports of a :class:`~workbook.collect.Collection`."""

from __future__ import annotations

import csv
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from kpi_engine.consolidate import STATUSES
from workbook.collect import Collection
from workbook.collect.text import cell_text
from workbook.form import layout as L
from workbook.form.styles import row_height
from workbook.formats.cells import column_letters
from workbook.formats.files import atomic_text, save_atomic
from workbook.report.summary_charts import add_charts
from workbook.report.summary_rows import TableRows
from workbook.report.summary_style import Formats, light_rules, page_setup, set_height, set_width

LIGHT_TEXT = {"green": "綠燈", "yellow": "黃燈", "red": "紅燈", "white": "白燈"}
YES_NO = {True: "是", False: "否", None: ""}
ACHIEVED = {True: "達成", False: "未達成", None: ""}

SUMMARY_COLUMNS = [
    ("年度", 6, "year"),
    ("填報單位", 16, "unit"),
    ("承辦單位", 14, "owner"),
    ("期別", 8, "period"),
    ("策略績效目標", 24, "goal"),
    ("衡量指標", 28, "indicator"),
    ("填報數據1", 16, "input1_label"),
    ("數值1", 9, "input1"),
    ("填報數據2", 16, "input2_label"),
    ("數值2", 9, "input2"),
    ("實際值", 9, "value"),
    ("目標值", 9, "target"),
    ("達成情形", 9, "achieved"),
    ("達成率（%）", 10, "achievement_rate"),
    ("燈號", 8, "light"),
    ("落後風險", 9, "at_risk"),
    ("補充說明", 40, "note"),
    ("檔案", 34, "file"),
]


def _table_sheet(
    wb: Workbook,
    fmt: Formats,
    title: str,
    heading: str,
    columns: list[tuple[str, int]],
    rows: Iterable[list[Any]],
) -> tuple[Worksheet, int]:
    """One titled table, its rows streamed in order (``constant_memory``); the sheet and its row count."""
    ws = wb.add_worksheet(title)
    for i, (_, width) in enumerate(columns):
        set_width(ws, i, i, width)
    page_setup(ws)
    set_height(ws, 0, 28)
    ws.merge_range(0, 0, 0, len(columns) - 1, heading, fmt.title)
    set_height(ws, 1, row_height([(label, w) for label, w in columns]))
    for col, (label, _) in enumerate(columns):
        ws.write_string(1, col, label, fmt.header)
    body = TableRows(ws, fmt.wrap, [w for _, w in columns])
    r = 1
    for r, line in enumerate(rows, start=2):
        body.write(r, line)  # text is written as text: an "=…" is never a live formula
    count = r - 1
    ws.freeze_panes(2, 0)
    ws.repeat_rows(1)  # the header on every printed page
    if count:
        ws.autofilter(1, 0, count + 1, len(columns) - 1)
    return ws, count


def _summary_lines(coll: Collection) -> Iterator[list[Any]]:
    for rec in coll.records():
        line = []
        for _, _, key in SUMMARY_COLUMNS:
            v = rec.get(key)
            if key == "light":
                v = LIGHT_TEXT[v]
            elif key == "achieved":
                v = ACHIEVED[v] or rec.get("achieved_text", "")
            elif key == "at_risk":
                v = YES_NO[v]
            line.append(v)
        yield line


def _part4_lines(coll: Collection) -> Iterator[list[Any]]:
    for rec in coll.records():
        yield [
            rec["year"],
            rec["unit"],
            rec["period"],
            rec["goal"],
            rec["indicator"],
            rec["target"],
            rec["value"],
            rec["achievement_rate"],
            LIGHT_TEXT[rec["light"]],
            rec["sentence"],
            rec["note"],
        ]


def build_summary(coll: Collection, path: str | Path) -> Path:
    """Write the summary workbook at ``path``: 彙總, 達成情形, 重要施政計畫, 繳交情形, 檢核, 檔案, 圖表.

    XlsxWriter in ``constant_memory`` mode: each row goes to a temporary file as it is
    written, so memory does not grow with the returns (issue 25).  Those files live in a
    folder of our own, removed whatever happens (Ctrl-C included).  Every value is a plain
    value; the summary holds no formula, so no cached result can disagree with one.
    """
    with tempfile.TemporaryDirectory(prefix="kpi-summary-") as tmp:
        options = {"constant_memory": True, "tmpdir": tmp}
        # Text is text: a unit named "=…" or "http…" stays what was typed.
        options |= {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
        wb = xlsxwriter.Workbook(str(path), options)
        _sheets(wb, coll)
        try:
            wb.close()
        except FileCreateError as exc:  # the OS's refusal, said in words by save_atomic
            raise exc.__context__ if isinstance(exc.__context__, OSError) else OSError(str(exc)) from exc
    return Path(path)


def _sheets(wb: Workbook, coll: Collection) -> None:
    """Every sheet of the summary, each streamed top to bottom, then the 圖表 sheet and the mark."""
    fmt = Formats(wb)
    ws, n = _table_sheet(
        wb, fmt, "彙總", "績效指標填報彙總", [(c, w) for c, w, _ in SUMMARY_COLUMNS], _summary_lines(coll)
    )
    light = [k for _, _, k in SUMMARY_COLUMNS].index("light")
    if n:
        light_rules(ws, _column_range(light, n), LIGHT_TEXT, fmt)
    ws, n = _table_sheet(
        wb,
        fmt,
        "達成情形",
        "實施狀況及成果概述",
        [
            ("年度", 6),
            ("填報單位", 14),
            ("期別", 8),
            ("策略績效目標", 22),
            ("衡量指標", 26),
            ("原訂目標值", 10),
            ("實際值", 9),
            ("達成率（%）", 10),
            ("燈號", 8),
            ("績效衡量暨達成情形分析", 60),
            ("補充說明", 50),
        ],
        _part4_lines(coll),
    )
    if n:
        light_rules(ws, _column_range(8, n), LIGHT_TEXT, fmt)
    _table_sheet(
        wb,
        fmt,
        L.SHEET_ITEMS,
        "年度重要施政計畫執行情形",
        [
            ("年度", 6),
            ("填報單位", 14),
            ("期別", 8),
            ("工作計畫", 16),
            ("重要施政計畫項目", 26),
            ("執行進度（%）", 10),
            ("執行情形", 60),
            ("檔案", 30),
        ],
        (
            [
                r["year"],
                r["unit"],
                r["period"],
                r["work_plan"],
                r["item"],
                r["progress"],
                r["description"],
                r["file"],
            ]
            for r in coll.item_table()
        ),
    )
    _table_sheet(
        wb,
        fmt,
        RETURNS_SHEET,
        "應繳情形（已繳、部分、未繳、逾期）",
        [
            ("年度", 6),
            ("期別", 8),
            ("填報單位", 16),
            ("承辦單位", 14),
            ("繳交情形", 9),
            ("應填指標", 40),
            ("尚未填寫", 40),
            ("權重（%）", 9),
            ("檔案", 34),
        ],
        (
            [
                r["year"],
                r["period"],
                r["unit"],
                r["owner"],
                r["status_zh"],
                "、".join(r["indicators"]),
                "、".join(r["blank"]),
                r["weight"],
                " + ".join(r["files"]),
            ]
            for r in coll.return_records()
        ),
    )
    severity = {"error": "錯誤", "warning": "警告"}
    _table_sheet(
        wb,
        fmt,
        "檢核",
        "檢核結果",
        [
            ("檔案", 34),
            ("檔案分類", 12),
            ("嚴重度", 7),
            ("代碼", 18),
            ("工作表", 22),
            ("儲存格", 7),
            ("期別", 7),
            ("說明", 44),
            ("Message", 44),
        ],
        (
            [
                s.source,
                STATUSES[s.status],
                severity[f.severity],
                f.code,
                f.sheet or "",
                f.cell or "",
                period_name(coll, s, f.period),
                f.message_zh,
                f.message_en,
            ]
            for s, f in coll.findings
        ),
    )
    _table_sheet(
        wb,
        fmt,
        "檔案",
        "收件檔案",
        [
            ("檔案", 40),
            ("分類", 14),
            ("說明", 44),
            ("填報單位", 14),
            ("承辦單位", 14),
            ("存檔時間（UTC）", 18),
            ("郵件日期（寄件者時區）", 24),
            ("計算時間", 18),
            ("SHA-256", 34),
        ],
        (
            [
                s.source,
                STATUSES[s.status],
                s.reason,
                s.unit,
                s.owner,
                s.saved_at,
                s.sent_shown or s.sent_at,
                s.calculated_at,
                s.sha256,
            ]
            for s in coll.submissions
        ),
    )
    add_charts(wb, fmt, coll)  # workbook/report/summary_charts.py
    # A later collect over a folder holding this file recognises it and skips it.
    wb.define_name(L.SUMMARY_MARK, "='檔案'!$A$1")


def _column_range(col: int, rows: int) -> str:
    """The body of one column of a table (rows 3 … rows + 2), in A1 notation."""
    letter = column_letters(col + 1)
    return f"{letter}3:{letter}{rows + 2}"


def period_name(coll: Collection, sub, period_id: str | None) -> str:
    """The period's name (上半年) in the submission's plan, or its id."""
    plan = next((p for p in coll.plans if p.id == sub.plan_id), None)
    if plan is None or not period_id:
        return period_id or ""
    try:
        return plan.period(period_id).name
    except KeyError:
        return period_id


def write_summary(coll: Collection, path: str | Path) -> Path:
    """Write the summary workbook atomically (a temporary file beside ``path``, then renamed)."""
    return save_atomic(lambda tmp: build_summary(coll, tmp), Path(path))


def neutralise(value: Any) -> Any:
    """Stop a text cell from being read as a formula when the CSV is opened in Excel;
    control characters and lone surrogates are made visible, as in the workbook."""
    value = cell_text(value)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


#: The CSV files ``write_csv`` writes.
CSV_NAMES = ("彙總.csv", "重要施政計畫.csv", "檢核.csv", "檔案.csv", "繳交情形.csv")
#: The summary's sheet of expected returns (已繳, 部分, 未繳, 逾期).
RETURNS_SHEET = "繳交情形"
#: Headers of a table with no rows (so the file still says what it would hold).
EMPTY_HEADERS = {
    "重要施政計畫.csv": (
        "plan",
        "year",
        "unit",
        "period",
        "work_plan",
        "item_id",
        "item",
        "progress",
        "description",
        "file",
    ),
}


#: zh-TW column headers of the CSV files (``--csv-lang zh``, the default); English keys otherwise.
CSV_HEADERS_ZH = {
    "plan": "計畫代碼",
    "year": "年度",
    "unit": "填報單位",
    "owner": "承辦單位",
    "period": "期別",
    "goal": "策略績效目標",
    "indicator_id": "指標代碼",
    "indicator": "衡量指標",
    "value": "實際值",
    "target": "目標值",
    "achieved": "是否達成",
    "achieved_text": "達成情形",
    "achievement_rate": "達成率（%）",
    "light": "燈號",
    "at_risk": "落後風險",
    "projection": "推估全年度值",
    "sentence": "績效衡量暨達成情形分析",
    "note": "補充說明",
    "file": "檔案",
    "work_plan": "工作計畫",
    "item_id": "項目代碼",
    "item": "重要施政計畫",
    "progress": "執行進度（%）",
    "description": "執行情形",
    "code": "檢核代碼",
    "severity": "等級",
    "input": "填報欄位",
    "sheet": "工作表",
    "cell": "儲存格",
    "message_zh": "說明",
    "message_en": "說明（英文）",
    "status": "狀態代碼",
    "status_zh": "狀態",
    "reason": "原因",
    "saved_at": "存檔時間",
    "sent_at": "郵件日期",
    "calculated_at": "計算時間",
    "sha256": "SHA-256",
    "indicators": "應填指標",
    "blank": "尚未填寫",
    "weight": "權重（%）",
    "files": "檔案",
}
#: zh-TW forms of coded values, by column.
CSV_VALUES_ZH: dict[str, dict[Any, str]] = {
    "light": LIGHT_TEXT,
    "achieved": ACHIEVED,
    "at_risk": YES_NO,
    "severity": {"error": "錯誤", "warning": "警告"},
}
_NUMBERED = re.compile(r"^input(\d+)(_label)?$")


def csv_header(key: str, lang: str) -> str:
    """A CSV column's header: zh-TW (``input2_label`` → 填報數據2) or the English key."""
    if lang == "en":
        return key
    numbered = _NUMBERED.match(key)
    if numbered:
        return f"{'填報數據' if numbered.group(2) else '數值'}{numbered.group(1)}"
    return CSV_HEADERS_ZH.get(key, key)


def _csv_value(key: str, value: Any, lang: str) -> Any:
    if lang == "zh" and key in CSV_VALUES_ZH:
        try:
            return CSV_VALUES_ZH[key].get(value, value)
        except TypeError:  # an unhashable value passes through unchanged
            return value
    return value


def write_csv(coll: Collection, folder: str | Path, lang: str = "zh") -> list[Path]:
    """Write 彙總.csv, 重要施政計畫.csv, 檢核.csv and 檔案.csv as UTF-8 with BOM (Excel reads Chinese).

    ``lang="zh"`` (the default) gives zh-TW headers and values (綠燈, 達成, 是, 錯誤);
    ``lang="en"`` keeps the English keys and codes, for scripts.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be zh or en: {lang!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "彙總.csv": coll.table(),
        "重要施政計畫.csv": coll.item_table(),
        "檢核.csv": [{"file": s.source, **f.to_dict()} for s, f in coll.findings],
        "檔案.csv": [
            {
                "file": s.source,
                "status": s.status,
                "status_zh": STATUSES[s.status],
                "reason": s.reason,
                "unit": s.unit,
                "owner": s.owner,
                "saved_at": s.saved_at,
                "sent_at": s.sent_shown or s.sent_at,
                "calculated_at": s.calculated_at,
                "sha256": s.sha256,
            }
            for s in coll.submissions
        ],
        "繳交情形.csv": [
            {
                **r,
                "indicators": "、".join(r["indicators"]),
                "blank": "、".join(r["blank"]),
                "files": " + ".join(r["files"]),
            }
            for r in coll.return_records()
        ],
    }
    out = []
    for name, records in tables.items():
        fields = list(dict.fromkeys(k for rec in records for k in rec)) or list(
            EMPTY_HEADERS.get(name, ("file",))
        )
        with atomic_text(folder / name, encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([csv_header(k, lang) for k in fields])
            for rec in records:
                writer.writerow([neutralise(_csv_value(k, rec.get(k), lang)) for k in fields])
        out.append(folder / name)
    return out
