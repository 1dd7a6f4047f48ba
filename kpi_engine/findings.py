"""Findings: what the checks report, with stable codes and bilingual messages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .plan import Indicator, Period, PlanItem

Severity = Literal["error", "warning"]

#: Every finding code, its severity, and its zh-TW / English message templates.
#: Codes are stable: tools and staff instructions refer to them.
CATALOGUE: dict[str, tuple[Severity, str, str]] = {
    "missing": ("warning", "{label}尚未填寫", "{label} is not filled in yet"),
    "incomplete": (
        "error",
        "{label}未填寫，本指標無法計算",
        "{label} is empty, so the indicator cannot be computed",
    ),
    "text": ("error", "{label}不是數字：「{raw}」", "{label} is not a number: {raw!r}"),
    "fullwidth_digits": (
        "warning",
        "{label}含全形數字「{raw}」，已視為 {value}",
        "{label} has full-width digits {raw!r}; read as {value}",
    ),
    "thousands_separator": (
        "warning",
        "{label}含千分位符號「{raw}」，已視為 {value}",
        "{label} has thousands separators {raw!r}; read as {value}",
    ),
    "whitespace": (
        "warning",
        "{label}前後有空白「{raw}」，已視為 {value}",
        "{label} has surrounding spaces {raw!r}; read as {value}",
    ),
    "text_number": (
        "warning",
        "{label}存成文字「{raw}」，已視為 {value}",
        "{label} is stored as text {raw!r}; read as {value}",
    ),
    "formula_in_input": (
        "error",
        "{label}請直接輸入數字，不要輸入公式：「{raw}」",
        "{label} holds a formula {raw!r}; type the number itself",
    ),
    "number_as_text": (
        "error",
        "{label}存成文字「{raw}」，Excel 無法計算；請刪除後重新輸入數字",
        "{label} is stored as text {raw!r}, which Excel cannot compute; delete it and type the number",
    ),
    "negative": ("error", "{label}不可為負數：{value}", "{label} cannot be negative: {value}"),
    "non_integer": ("error", "{label}須為整數：{value}", "{label} must be a whole number: {value}"),
    "too_large": ("error", "{label}數值過大：{value}", "{label} is implausibly large: {value}"),
    "boolean": ("error", "{label}不可為是非值：{raw}", "{label} cannot be a TRUE/FALSE value: {raw}"),
    "date": ("error", "{label}不可為日期：{raw}", "{label} cannot be a date: {raw}"),
    "date_serial": (
        "warning",
        "{label}為 {value}，與日期 {date_zh} 的序號相同，且遠大於目標值 {target}；是否誤輸入日期？請確認",
        "{label} is {value}, the serial number of the date {date_en}, far above the target {target}; "
        "was a date typed in? please check",
    ),
    "excel_error": ("error", "{label}為錯誤值 {raw}", "{label} holds the error value {raw}"),
    "numerator_gt_denominator": (
        "error",
        "{label}（{value}）大於{other_label}（{other}）",
        "{label} ({value}) exceeds {other_label} ({other})",
    ),
    "zero_denominator": (
        "error",
        "{label}為 0，比率無法計算",
        "{label} is 0, so the ratio cannot be computed",
    ),
    "half_gt_full": (
        "error",
        "{label}：{period_name}（{value}）大於{other_period}（{other}），累計數不應減少",
        "{label}: {period_name} ({value}) exceeds {other_period} ({other}); a running total cannot fall",
    ),
    "stage_out_of_range": (
        "error",
        "{label}須為 0 至 {other} 的階段編號：{value}",
        "{label} must be a stage number from 0 to {other}: {value}",
    ),
    "rule": ("error", "{message_zh}", "{message_en}"),
    "progress_range": (
        "error",
        "{label}須為 0 至 100 的整數：{value}",
        "{label} must be a whole number from 0 to 100: {value}",
    ),
    "formula_restored": (
        "warning",
        "{sheet}!{cell} 的公式遭覆寫，已還原",
        "the formula in {sheet}!{cell} was overwritten and has been restored",
    ),
    "formula_overwritten": (
        "error",
        "{sheet}!{cell} 的公式遭覆寫，請執行計算以還原",
        "the formula in {sheet}!{cell} was overwritten; run calculate to restore it",
    ),
    "merged_input": (
        "error",
        "{label}所在的儲存格被合併，請取消合併後重新填寫",
        "the cell of {label} is inside merged cells; unmerge it and type the value again",
    ),
    "protection_restored": (
        "warning",
        "工作表「{sheet}」的保護被取消，已重新啟用",
        "sheet protection of {sheet!r} was removed and has been restored",
    ),
    "vba_present": (
        "warning",
        "活頁簿含有巨集（VBA），本系統不會執行；請以不含巨集的 .xlsx 繳交",
        "the workbook contains VBA macros; they are never run, submit a macro-free .xlsx",
    ),
    "no_data": ("warning", "工作簿未填寫任何數據", "the workbook holds no counts"),
    "unusable": ("error", "{message_zh}", "{message_en}"),
    "not_calculated": ("warning", "本工作簿尚未計算", "this workbook has not been calculated yet"),
    "stale": (
        "warning",
        "填報數據於上次計算後已變更，工作簿顯示的結果不是最新，請重新計算",
        "counts changed after the last calculate; the results shown are out of date",
    ),
    "tampered": (
        "error",
        "{sheet}!{cell} 的結果與依填報數據重新計算者不符（結果遭修改）",
        "{sheet}!{cell} differs from the result recomputed from the counts (edited result)",
    ),
    "sheet_recreated": (
        "warning",
        "工作表「{sheet}」被刪除，已依範本重建",
        "sheet {sheet!r} had been deleted and was rebuilt from the template",
    ),
    "sheet_missing": (
        "warning",
        "工作表「{sheet}」被刪除；執行計算時會依範本重建",
        "sheet {sheet!r} has been deleted; calculate rebuilds it from the template",
    ),
    "analysis_replaced": (
        "warning",
        "{sheet}!{cell} 的分析文字與系統產生的不同，已改為系統產生的分析；原文字：「{raw}」。自行撰寫的說明請填在「補充說明」欄",
        "the analysis in {sheet}!{cell} differed from the generated one and was replaced; it read: {raw!r}. "
        "Put your own text in the notes row",
    ),
    "target_restored": (
        "warning",
        "{sheet}!{cell} 顯示的目標值被改為「{raw}」，已還原為計畫的目標值 {value}（目標值由計畫決定，不在工作簿修改）",
        "the target shown in {sheet}!{cell} was changed to {raw!r} and has been restored to the plan's {value}",
    ),
    "target_edited": (
        "warning",
        "{sheet}!{cell} 顯示的目標值被改為「{raw}」，計畫的目標值為 {value}；執行計算時會還原",
        "the target shown in {sheet}!{cell} was changed to {raw!r}; the plan's is {value}, and calculate restores it",
    ),
    "copied_sheet_input": (
        "warning",
        "{label}填在複製的工作表「{sheet}」{cell}（{raw}），系統不會讀取；請填入工作表「{original}」",
        "{label} was typed into the copied sheet {sheet!r} at {cell} ({raw}), which is not read; "
        "type it into sheet {original!r}",
    ),
    "result_mismatch": (
        "error",
        "{sheet}!{cell} 顯示的結果與計算不符，公式可能遭覆寫，請改用原範本",
        "{sheet}!{cell} does not show the computed result; its formula may have been overwritten",
    ),
    "conflict": (
        "error",
        "{label}兩個檔案的數值不同：{file} 為 {value}，{other_file} 為 {other}；採用較新的 {other_file}，請確認",
        "{label} differs between two files: {value} in {file}, {other} in {other_file}; "
        "the newer {other_file} is used, please confirm",
    ),
    "unit_missing": (
        "error",
        "{file} 未填寫填報單位，無法彙整；請在「填表說明」工作表填入填報單位後重新寄回",
        "{file} names no reporting unit, so it cannot be consolidated; fill in 填報單位 on the guide sheet",
    ),
    "unit_unknown": (
        "error",
        "填報單位「{unit}」不在計畫的單位清單中",
        "the reporting unit {unit!r} is not in the plan's list of units",
    ),
}


@dataclass(frozen=True)
class Finding:
    """One problem found in the entered counts."""

    code: str
    severity: Severity
    indicator: str | None
    input: str | None
    period: str | None
    message_zh: str
    message_en: str
    sheet: str | None = None
    cell: str | None = None

    def at(self, sheet: str | None, cell: str | None) -> Finding:
        """The same finding, located at a workbook cell."""
        return replace(self, sheet=sheet, cell=cell)

    def to_dict(self) -> dict:
        """JSON-ready dict with the documented keys."""
        return asdict(self)


def finding(
    code: str,
    *,
    indicator: str | None,
    input: str | None,
    period: str | None,
    severity: Severity | None = None,
    **fields: object,
) -> Finding:
    """Build a finding from the catalogue, filling its message templates."""
    default, zh, en = CATALOGUE[code]
    return Finding(
        code,
        severity or default,
        indicator,
        input,
        period,
        zh.format(**fields),
        en.format(**fields),
    )


def input_finding(
    code: str, owner: Indicator | PlanItem, period: Period, role: str | None, **fields: object
) -> Finding:
    """A finding about input ``role`` of an indicator (or a Part 3 item) in ``period``.

    ``{label}`` in the messages is the input's label from the plan unless ``label`` is
    given (a Part 3 item has no input specs, so its caller names it).
    """
    if "label" not in fields:
        fields["label"] = owner.input(role).label if role else ""
    return finding(code, indicator=owner.id, input=role, period=period.id, **fields)
