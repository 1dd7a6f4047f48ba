"""What both document writers share: fonts, colours, column widths and fixed wording."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache

from kpi_engine.report_model import Report
from workbook.form.styles import LIGHT_COLOURS

#: What government documents print in; Word and LibreOffice on Windows have it.
DOCUMENT_FONT = "標楷體"
#: Names a Kai font goes by on other machines (AR PL UKai TW: Debian's fonts-arphic-ukai), then
#: the fallbacks fonts-noto-cjk installs.  LibreOffice 7.4 embeds the first face of an OpenType
#: collection (Noto CJK's is JP: ，。 bottom-left), so a TW Kai font comes first: its ，。 are centred.
_KAI_NAMES = ("標楷體", "DFKai-SB", "BiauKai", "TW-Kai", "AR PL UKai TW", "AR PL UKai TC", "cwTeXKai")
_FALLBACKS = ("Noto Serif CJK TC", "Noto Sans CJK TC")

HEADER_FILL = "D9E2F3"
A4_LONG, A4_SHORT = 29.7, 21.0  # cm
MARGIN = 1.5  # cm

BASE_COLUMNS = [
    ("策略績效目標", 4.8),
    ("衡量指標", 4.0),
    ("原訂目標值", 2.0),
    ("實際值", 2.2),
    ("達成率", 1.8),
    ("燈號", 1.5),
]
COMPARE_COLUMNS = [("上年度實際值", 2.0), ("增減", 2.4)]
#: ``kpi report --form``: ``review`` is the 管考 view (實際值, 達成率, 燈號, scores, Part 3);
#: ``plan`` is Part 4 as the plan document prints it and the agency submits it.
FORMS = ("review", "plan")
DEFAULT_FORM = "review"
#: The plan's own four columns (績效衡量暨達成情形分析 takes the rest of the page).
PLAN_COLUMNS = [("策略績效目標", 5.6), ("衡量指標", 5.6), ("原訂目標值", 3.0)]
ANALYSIS = "績效衡量暨達成情形分析"
ITEM_COLUMNS = [("工作計畫", 4.0), ("重要施政計畫項目", 7.7), ("執行進度", 2.0), ("執行情形", 13.0)]
SCORE_COLUMNS = [
    ("策略績效目標", 12.7),
    ("權重", 2.5),
    ("已評估權重", 3.0),
    ("加權得分", 3.0),
    ("得分率", 3.0),
]


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text a document can hold: control characters pasted from Word (\\x0b …) become spaces."""
    return _XML_ILLEGAL.sub(" ", text)


def light_fill(light: str) -> tuple[str, str]:
    """(background, text) colours of a light, the same as the workbook's."""
    return LIGHT_COLOURS.get(light, LIGHT_COLOURS["white"])


def title(report: Report, form: str) -> str:
    """The first line: 「第四部分：上(106)年度實施狀況及成果概述」 in the plan's form."""
    if form == "plan":
        return f"第四部分：{report.heading}"
    return f"{report.agency}　{report.heading}"


def columns(report: Report, form: str = DEFAULT_FORM) -> list[tuple[str, float]]:
    """The Part 4 table's columns and widths (cm); the analysis takes the rest of the page."""
    if form == "plan":
        used = sum(w for _, w in PLAN_COLUMNS)
        return [*PLAN_COLUMNS, (ANALYSIS, round(A4_LONG - 2 * MARGIN - used, 2))]
    cols = list(BASE_COLUMNS)
    if report.compare_year:
        # Two more columns: narrower names so the analysis keeps room to read.
        cols[0], cols[1] = (cols[0][0], 3.8), (cols[1][0], 3.4)
        cols += [(f"{report.compare_year}年度實際值", COMPARE_COLUMNS[0][1]), COMPARE_COLUMNS[1]]
    used = sum(w for _, w in cols)
    return [*cols, (ANALYSIS, round(A4_LONG - 2 * MARGIN - used, 2))]


@lru_cache(maxsize=1)
def installed_fonts() -> frozenset[str]:
    """Font family names fontconfig knows (empty where fc-list is missing, e.g. Windows)."""
    exe = shutil.which("fc-list")
    if exe is None:
        return frozenset()
    try:
        out = subprocess.run([exe, ":", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(name.strip() for line in out.splitlines() for name in line.split(","))


def rendering_font() -> str:
    """The font a PDF made on this machine is set in: a Kai font when installed, else Noto CJK TC."""
    fonts = installed_fonts()
    if not fonts:  # cannot tell (no fontconfig): trust the document font
        return DOCUMENT_FONT
    for name in (*_KAI_NAMES, *_FALLBACKS):
        if name in fonts:
            return name
    return DOCUMENT_FONT


def reported_items(report: Report, n: int) -> list:
    """Part 3 rows of unit ``n``: only the items someone reported progress or a text for.

    Blank rows for every item nobody reported on only lengthen the document.
    """
    return [i for i in report.units[n].items if i.progress is not None or i.description]


def shows_items(report: Report, n: int) -> bool:
    """Whether unit ``n`` has a Part 3 table (some item was reported on)."""
    return bool(reported_items(report, n))


ITEMS_EMPTY = "重要施政計畫執行情形：各填報單位均未填寫執行進度及執行情形。"
ITEMS_EMPTY_ONE = "重要施政計畫執行情形：本期未填寫執行進度及執行情形。"


def overview(report: Report) -> tuple[list[tuple[str, float]], list[list[str]]]:
    """Columns and rows of the units' score overview (several units only): one row per unit."""
    from kpi_engine.narrative import number_text

    goals = report.units[0].goal_scores
    cols = [("填報單位", 5.0)] + [
        (f"目標{g.label.split('　')[0][-1]}（{number_text(g.weight)}）", 2.6) for g in goals
    ]
    cols += [("合計", 2.4), ("已評估權重", 2.6), ("得分率", 2.4)]
    rows = []
    for s in report.units:
        p = s.plan_score
        pct = p.percent
        rows.append(
            [s.unit]
            + [number_text(g.score) for g in s.goal_scores]
            + [
                number_text(p.score),
                f"{number_text(p.assessed_weight)}%",
                "—" if pct is None else f"{number_text(pct)}%",
            ]
        )
    return cols, rows
