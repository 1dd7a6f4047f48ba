"""Printing a calculated workbook through LibreOffice cuts no text.

The way a coordinator checks a printout: print to PDF with LibreOffice, extract the text
(pdftotext, in drawing order so a cell's wrapped lines follow each other), and look for
every goal name, indicator name, stage, generated sentence and note, whole.  A row too
short for its text prints only the lines that fit, so a clipped sentence is missing here.
Done for the seed (the demo's calculated workbook) and for a plan with long texts and a
191-character note.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from helpers_workbook import build_filled
from plan_factory import indicator, plan_yaml

from kpi_engine import evaluate, parse_plan
from kpi_engine.plan_loader import dump_plan
from workbook import libreoffice as lo
from workbook.demo import run_demo
from workbook.form import layout as L

LONG_NOTE = (
    "本年度辦理採購專業人員訓練，除依原訂計畫開設基礎班及進階班外，另因應各機關需求加開專班，"
    "並邀請具實務經驗之講師授課，課程內容涵蓋政府採購法規、招標文件製作、履約管理及爭議處理等，"
    "學員結訓後均參加及格測驗，及格人數逐年提升，未及格者另安排補訓，以確保採購人員具備專業知能，"
    "提升本府整體採購效能與品質，並持續追蹤辦理成效，另規劃於下半年度辦理線上課程及案例研討會，"
    "擴大參訓對象至各區公所採購承辦人員。"
)


def printed_text(xlsx: Path, tmp: Path) -> str:
    """The workbook printed by LibreOffice, as text without any whitespace."""
    lo.require_soffice()
    pdf = lo.convert_to_pdf(xlsx, tmp / f"{xlsx.stem}.pdf")
    raw = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True)
    return "".join(raw.stdout.split())


def squeeze(text: str) -> str:
    return "".join(text.split())


def test_the_seed_prints_every_sentence_and_note_whole(plan, tmp_path):
    _, _, filled = run_demo(tmp_path / "demo")
    text = printed_text(filled, tmp_path)
    sample = plan.sample
    ev = evaluate(plan, {sample.period: sample.entries}, targets=sample.targets, year=sample.year)
    for goal in plan.goals:
        assert squeeze(goal.name) in text, goal.name
    for ind in plan.indicators:
        assert squeeze(ind.name) in text, ind.name
        assert squeeze(ev.result(ind.id, sample.period).sentence) in text, ind.id
        assert squeeze(sample.notes[ind.id]) in text, ind.id


@pytest.fixture(scope="module")
def long_plan():
    stages = [
        {"label": "完成跨局處協調會議並確認整體規劃設計內容及經費需求", "percent": 25},
        {"label": "完成公開招標程序並與得標廠商簽訂契約及工作計畫書", "percent": 50},
        {"label": "完成主體工程施作及機電設備安裝並辦理階段性查驗", "percent": 75},
        {"label": "完成驗收結算及移交使用單位並辦理教育訓練與成果發表", "percent": 100},
    ]
    data = yaml.safe_load(
        plan_yaml(
            indicator("r1", "ratio", "85%", weight=50),
            indicator("m1", "milestone", "第4階段", weight=50, stages=stages),
        )
    )
    goal = data["goals"][0]
    goal["name"] = (
        "提供洽公市民及同仁安全的辦公環境，確保辦公人員洽公環境安全無虞並持續提升為民服務品質與效能"
    )
    goal["indicators"][0]["name"] = "本府採購專業人員基礎班及進階班訓練及格率暨取得採購專業人員資格證書比率"
    goal["indicators"][1]["name"] = "市政大樓公共安全設施暨無障礙環境整體改善工程執行進度"
    return parse_plan(dump_plan(data), source="long.yaml")


def test_long_texts_print_whole(long_plan, tmp_path):
    scope = L.Scope(long_plan, unit="測試機關", period_id="H1")
    entries = {"H1": {"r1": {"numerator": 187, "denominator": 210}, "m1": {"stage": 2}}}
    notes = {L.notes_name(ind, long_plan.periods[0]): LONG_NOTE for ind in long_plan.indicators}
    assert len(LONG_NOTE) >= 191
    path, _ = build_filled(scope, entries, tmp_path / "long.xlsx", notes=notes, run_calculate=True)
    text = printed_text(path, tmp_path)
    ev = evaluate(long_plan, entries)
    assert squeeze(long_plan.goals[0].name) in text
    for ind in long_plan.indicators:
        assert squeeze(ind.name) in text, ind.name
        assert squeeze(ev.result(ind.id, "H1").sentence) in text, ind.id
    for stage in long_plan.indicator("m1").stages:
        assert squeeze(stage.label) in text, stage.label
    assert text.count(squeeze(LONG_NOTE)) == 4  # on each indicator sheet and on 達成情形


def test_the_plan_workbook_prints_readable(plan, tmp_path):
    """The wide KPI table of ``kpi plan export`` prints at 70 % across pages, ids and names
    repeated, instead of about 30 % on one page width."""
    import openpyxl

    from workbook.cli import main

    path = tmp_path / "計畫設定.xlsx"
    assert main(["plan", "export", "-o", str(path)]) == 0
    ws = openpyxl.load_workbook(path)["關鍵績效指標"]
    assert not ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.scale) >= 70
    assert ws.print_title_cols and ws.print_title_rows
    text = printed_text(path, tmp_path)
    for ind in plan.indicators:
        assert squeeze(ind.formula) in text and squeeze(ind.name) in text, ind.id
