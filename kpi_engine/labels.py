"""The texts result cells show (綠燈, 達成, 資料有誤, …), in Chinese and in English.

The computation (:mod:`kpi_engine.measures`) writes them into its steps, the analysis
sentence (:mod:`kpi_engine.narrative`) compares against them, and the engine maps
them back to codes; this module is below both, so neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .expr import Value


@dataclass(frozen=True)
class Labels:
    """The texts result cells show; the engine maps them back to codes."""

    green: str = "綠燈"
    yellow: str = "黃燈"
    red: str = "紅燈"
    white: str = "白燈"
    met: str = "達成"
    not_met: str = "未達成"
    yes: str = "是"
    no: str = "否"
    invalid: str = "資料有誤"
    on_schedule: str = "符合進度"  # a running count before year end, projected to meet the target
    behind: str = "進度落後"
    invalid_count: str = "資料有誤 {n} 項"
    unfilled: str = "尚未填寫"
    not_assessed: str = "本期不評估"
    uncalculated: str = "尚未計算"
    changed: str = "數據已變更，請重新計算"
    target_unset: str = "目標值待設定"  # the 達成情形 of a result whose target is still 待設定

    def light_code(self, text: Value) -> str:
        """``綠燈`` → ``green``; anything else → ``white``."""
        return {self.green: "green", self.yellow: "yellow", self.red: "red"}.get(str(text), "white")

    def achieved_code(self, text: Value) -> bool | None:
        """``達成`` → True, ``未達成`` → False; progress words, 資料有誤 and blank → None."""
        return {self.met: True, self.not_met: False}.get(str(text))


ZH_LABELS = Labels()
EN_LABELS = Labels(
    "Green",
    "Yellow",
    "Red",
    "White",
    "Met",
    "Not met",
    "Yes",
    "No",
    "Invalid data",
    "On schedule",
    "Behind schedule",
    "{n} invalid entries",
    "Not filled in",
    "Not assessed this period",
    "Not calculated",
    "Data changed: calculate again",
    "Target not set yet",
)
