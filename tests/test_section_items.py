"""Per-section templates carry the Part 3 items of their section (issue 21).

A plan names two real sections (公共關係科, 總務科), each owning indicators and work plans
(``work_plans[].owner``).  Each section's template holds its own 重要施政計畫 items and none of
the other's; the two returns, collected, give a report whose Part 3 has every item as its owner
wrote it; the owner survives the plan workbook (YAML → .xlsx → YAML).
"""

from __future__ import annotations

import openpyxl
import pytest
import yaml
from report_support import COUNTS_107, odt_tables

from kpi_engine import load_plan
from kpi_engine.plan_loader import default_plan_path
from workbook.books.file import FileBook
from workbook.cli import main
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.calculate import calculate

PR, GA = "公共關係科", "總務科"  # 公共關係科 owns the volunteers; 總務科 procurement and the building


def _sections_plan(folder) -> object:
    """The seed plan with real sections: indicators and work plans alternate between the two."""
    data = yaml.safe_load(default_plan_path().read_text(encoding="utf-8"))
    for goal in data["goals"]:
        for ind in goal["indicators"]:
            ind["owner"] = PR if ind["id"] == "volunteer_growth" else GA
    for n, w in enumerate(data["work_plans"]):
        w["owner"] = (PR, GA)[n % 2]
    path = folder / "sections.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sections(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sections")
    return load_plan(_sections_plan(folder)), folder


def _owned(plan, owner: str) -> list:
    return [i for n, w in enumerate(plan.work_plans) if (PR, GA)[n % 2] == owner for i in w.items]


def test_each_sections_template_holds_its_own_items(sections, tmp_path):
    plan, _ = sections
    assert {w.owner for w in plan.work_plans} == {PR, GA}
    total = sum(len(w.items) for w in plan.work_plans)
    h1 = plan.period("H1")
    for owner in (PR, GA):
        path = write_template(L.Scope(plan, owner=owner, period_id="H1"), tmp_path / f"{owner}.xlsx")
        wb = openpyxl.load_workbook(path)
        progress = {n for n in wb.defined_names if n.startswith("PROG_")}
        mine = _owned(plan, owner)
        assert 0 < len(mine) < total
        assert progress == {L.progress_name(i, h1) for i in mine}
        assert L.SHEET_ITEMS in wb.sheetnames
        shown = {c.value for row in wb[L.SHEET_ITEMS].iter_rows() for c in row if isinstance(c.value, str)}
        assert {f"{i.number}. {i.name}" for i in mine} <= shown or {i.name for i in mine} <= shown
    # The agency-wide template keeps every item, as before.
    assert len(L.Scope(plan).items) == total


def test_collected_sections_fill_every_part3_item(sections, tmp_path):
    """Both returns collected: Part 3 has all items, each with its owner's progress and text."""
    plan, _ = sections
    h1 = plan.period("H1")
    box = tmp_path / "box"
    box.mkdir()
    wrote = {}
    for owner in (PR, GA):
        scope = L.Scope(plan, owner=owner, period_id="H1", unit=plan.agency, data_year=107)
        path = write_template(scope, box / f"{owner}.xlsx")
        book = FileBook(path)
        fill(book, scope, {"H1": {i.id: COUNTS_107[i.id] for i in scope.indicators}})
        names = book.names()
        for k, item in enumerate(scope.items):
            wrote[item.id] = (f"{10 + k}%", f"{owner}已辦理{item.id}。")
            for name, value in (
                (L.progress_name(item, h1), 10 + k),
                (L.progress_text_name(item, h1), wrote[item.id][1]),
            ):
                sheet, row, col = names[name]
                book.write(sheet, row, col, [[value]])
        calculate(book)
        book.save()
    assert len(wrote) == sum(len(w.items) for w in plan.work_plans)
    out = tmp_path / "report.odt"
    assert main(["report", str(box), "--plan", str(plan.source), "-o", str(out)]) == 0
    part3 = [t for t in odt_tables(out) if t[0][0] == "工作計畫"]
    assert len(part3) == 1  # one unit (the agency), both sections' returns merged
    rows = part3[0][1:]
    by_item = {}
    for item in (i for w in plan.work_plans for i in w.items):
        line = next(
            r for r in rows if r[1] == f"{item.number}. {item.name}" and tuple(r[2:]) == wrote[item.id]
        )
        by_item[item.id] = line
    assert len(rows) == len(by_item) == len(wrote)  # every item once, none blank
    assert all(r[2] and r[3] for r in rows)


def test_work_plan_owner_survives_the_plan_workbook(sections, tmp_path):
    """YAML → plan workbook (承辦單位 in column D of 重要施政計畫) → YAML: the owners stay."""
    plan, _ = sections
    xlsx, back = tmp_path / "plan.xlsx", tmp_path / "back.yaml"
    assert main(["plan", "export", str(plan.source), "-o", str(xlsx)]) == 0
    ws = openpyxl.load_workbook(xlsx)[L.SHEET_ITEMS]
    assert ws.cell(2, 4).value == "承辦單位"
    assert [r[3] for r in ws.iter_rows(min_row=3, values_only=True) if r[0]] == [
        w.owner for w in plan.work_plans
    ]
    assert main(["plan", "export", str(xlsx), "-o", str(back)]) == 0
    again = load_plan(back)
    assert [w.owner for w in again.work_plans] == [w.owner for w in plan.work_plans]
    assert again.fingerprint == plan.fingerprint
    # A plan without owners reads as before: the seed's work plans are their own sections.
    seed = load_plan(None)
    assert {w.owner for w in seed.work_plans} == {""}
    assert [i.id for i in L.Scope(seed, owner="採購管理業務").items] == [
        i.id for w in seed.work_plans if w.name == "採購管理業務" for i in w.items
    ]


def test_a_work_plan_owner_with_no_indicator_is_named(tmp_path, capsys):
    """A misspelt owner (公關科) would leave its items in no section's template: the plan says so."""
    data = yaml.safe_load(default_plan_path().read_text(encoding="utf-8"))
    data["work_plans"][2]["owner"] = "公關科"
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert main(["plan", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "承辦單位「公關科」沒有任何指標" in err and "work_plans[2].owner" in err and "Traceback" not in err


def test_an_owner_off_its_work_plans_row_is_named(sections, tmp_path, capsys):
    plan, _ = sections
    xlsx = tmp_path / "plan.xlsx"
    assert main(["plan", "export", str(plan.source), "-o", str(xlsx)]) == 0
    wb = openpyxl.load_workbook(xlsx)
    ws = wb[L.SHEET_ITEMS]
    row = next(r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value is None)  # a continuation row
    ws.cell(row, 4, GA)
    wb.save(xlsx)
    capsys.readouterr()
    assert main(["plan", "check", str(xlsx)]) == 2
    err = capsys.readouterr().err
    assert "承辦單位須寫在工作計畫那一列" in err and f"D{row}" in err and "Traceback" not in err
    ws.cell(row, 4).value = None
    first = next(r for r in range(3, ws.max_row + 1) if ws.cell(r, 1).value)  # a work plan's own row
    ws.cell(first, 4, "公關科")
    wb.save(xlsx)
    assert main(["plan", "check", str(xlsx)]) == 2
    err = capsys.readouterr().err
    assert "承辦單位「公關科」沒有任何指標" in err and f"{L.SHEET_ITEMS}" in err and f"D{first}" in err
