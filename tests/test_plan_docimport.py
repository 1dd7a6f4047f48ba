"""Import from the plan document (.docx, .odt): the seed's Part 2 gives the embedded plan's fields.

The documents are typed by the tests (tests/plan_documents.py) with python-docx and
odfpy, with real merged cells.  The seed's Part 2 and Part 4 come from the seed text;
the imported plan is compared with the embedded plan field by field.  A second,
differently shaped document checks what is inferred and what is marked for review.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal

import openpyxl
import pytest
import yaml
from cli_support import REPO
from plan_documents import LEFT, SECOND_PART2, UP, second_blocks, seed_blocks, write_docx, write_odt

from kpi_engine import PlanError, load_plan, parse_plan
from kpi_engine.plan_loader import dump_plan
from workbook.plan_io.docimport import DocumentError, import_document, infer_measure

WRITERS = {"docx": write_docx, "odt": lambda blocks, path: write_odt(blocks, path, header_rows=2)}


def run_kpi(*args: str) -> subprocess.CompletedProcess:
    """``kpi ARGS`` from this checkout."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "workbook.cli", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    return proc


def _without_marks(data: dict) -> dict:
    data = yaml.safe_load(dump_plan(data))
    data.pop("needs_review", None)
    for goal in data["goals"]:
        for ind in goal["indicators"]:
            ind.pop("needs_review", None)
    return data


@pytest.fixture(scope="module", params=sorted(WRITERS))
def seed_import(request, tmp_path_factory, seed_text):
    embedded = load_plan()
    path = tmp_path_factory.mktemp("doc") / f"施政計畫.{request.param}"
    WRITERS[request.param](seed_blocks(seed_text, embedded), path)
    data = import_document(path)
    return path, data, parse_plan(dump_plan(_without_marks(data)), source=str(path)), embedded


def test_seed_part2_field_by_field(seed_import):
    _, _, imported, embedded = seed_import
    assert (imported.agency, imported.year) == (embedded.agency, embedded.year)
    assert [(g.number, g.name, g.weight) for g in imported.goals] == [
        (g.number, g.name, g.weight) for g in embedded.goals
    ]

    def fields(i):
        return (
            i.goal_id,
            i.number,
            i.name,
            i.weight,
            i.system,
            i.method,
            i.formula,
            i.target.printed,
            i.previous_target.printed if i.previous_target else None,
        )

    got = [fields(i) for i in imported.indicators]
    want = [fields(i) for i in embedded.indicators]
    assert got == want


def test_seed_inferred_measures(seed_import):
    """Kinds, inputs, units, polarity and owners inferred from the document equal the embedded plan's."""
    _, _, imported, embedded = seed_import
    for got, want in zip(imported.indicators, embedded.indicators, strict=True):
        assert (got.kind, got.polarity, got.inputs, got.owner) == (
            want.kind,
            want.polarity,
            want.inputs,
            want.owner,
        )


def test_seed_marks_only_what_was_guessed(seed_import):
    _, data, _, _ = seed_import
    marks = {
        (ind["name"], m["field"])
        for g in data["goals"]
        for ind in g["indicators"]
        for m in ind.get("needs_review", [])
    }
    owners = {m for m in marks if m[1] == "owner"}
    assert len(owners) == 5  # Part 2 names no 承辦單位: each is proposed from Part 3, and marked
    # No comparator in the target: the polarity is marked (流廢標「下降」率 provisionally lower); a
    # higher-is-better guess would be a silent one.
    assert marks - owners == {
        ("流廢標下降率", "polarity"),
        ("本府採購專業人員基礎班訓練及格率", "polarity"),
        ("電子領標達成率", "polarity"),
        ("每年志工人數成長比例", "polarity"),
    }
    assert "needs_review" not in data  # agency and year read from the title


def test_seed_part3_and_part4(seed_import):
    _, _data, imported, embedded = seed_import
    assert imported.work_plans == embedded.work_plans
    ids = {i.id: e.id for i, e in zip(imported.indicators, embedded.indicators, strict=True)}
    sample = imported.sample
    assert (sample.year, sample.period, sample.targets) == (106, "H1", "previous")
    assert {ids[k]: v for k, v in sample.entries.items()} == embedded.sample.entries


def test_marked_plan_is_refused_with_the_marks(seed_import, tmp_path):
    path, data, _, _ = seed_import
    with pytest.raises(PlanError) as exc:
        parse_plan(dump_plan(data), source="imported.yaml")
    assert [i.code for i in exc.value.issues] == ["needs_review"] * 9
    out = tmp_path / "plan.yaml"
    r = run_kpi("plan", "import", str(path), "-o", str(out))
    assert r.returncode == 1 and "待確認 9 項" in r.stdout
    r = run_kpi("plan", "check", str(out))
    assert r.returncode == 2 and r.stderr.count("[needs_review]") == 9
    assert "goals[1].indicators[2].polarity: [needs_review]" in r.stderr  # 流廢標下降率, with its line


def test_second_document_differently_shaped(tmp_path):
    """Other column order, weights only in names, no numbers columns, a milestone, merged 評估方式."""
    path = write_odt(second_blocks(), tmp_path / "環保局.odt", header_rows=1)
    data = import_document(path)
    assert (data["agency"], data["year"]) == ("新竹縣政府環境保護局", 112)
    goals = [(g["number"], g["name"], g["weight"]) for g in data["goals"]]
    assert goals == [("一", "推動資源循環，減少廢棄物", 35), ("二", "守護空氣品質，提升環境服務", 25)]
    inds = {i["name"]: i for g in data["goals"] for i in g["indicators"]}
    assert list(inds) == [
        "資源回收率",
        "焚化底渣再利用設施工程進度",
        "空氣品質不良日數",
        "環保志工人數成長率",
        "陳情案件平均處理天數",
    ]
    assert [i["weight"] for i in inds.values()] == [20, 15, 10, 10, 5]
    assert [i["system"] for i in inds.values()] == [1, 1, 1, 2, 1]
    assert {i["method"] for i in inds.values()} == {"統計數據"}  # merged down the column
    assert [i["target"] for i in inds.values()] == ["≥58%", "第3階段", "12日以下", "不低於5%", "≤5天"]
    m = inds["焚化底渣再利用設施工程進度"]
    assert m["kind"] == "milestone" and [s["percent"] for s in m["stages"]] == [25, 50, 80, 100]
    assert inds["空氣品質不良日數"]["inputs"] == {
        "count": {"label": "空氣品質指標AQI大於100之日數", "unit": "日"}
    }
    assert inds["環保志工人數成長率"]["inputs"]["current"]["label"] == "今年環保志工人數"

    def marked(name):
        return sorted(m["field"] for m in inds[name].get("needs_review", []) if m["field"] != "owner")

    assert marked("資源回收率") == ["inputs", "inputs"]  # 回收量, 產生量: no unit can be read
    for name in (
        "焚化底渣再利用設施工程進度",
        "空氣品質不良日數",
        "環保志工人數成長率",
        "陳情案件平均處理天數",
    ):
        assert marked(name) == []
    assert inds["陳情案件平均處理天數"]["kind"] == "average"  # total ÷ cases, lower by its ≤
    assert inds["陳情案件平均處理天數"]["inputs"] == {
        "total": {"label": "陳情案件處理總天數", "unit": "天"},
        "cases": {"label": "陳情案件數", "unit": "件"},
    }
    # the loader reads the milestone target as the stage's percent, and Part 2 prints it as the stage
    fixed = _without_marks(data)
    plan = parse_plan(dump_plan(fixed))
    target = next(i for i in plan.indicators if i.kind == "milestone").target
    assert (target.value, target.shown) == (Decimal(80), "第3階段（完成主體工程）")


def test_coordinator_path_document_to_template(tmp_path):
    """施政計畫.odt → 計畫設定.xlsx → fix the marked cells → 範本.xlsx, without YAML."""
    doc = write_odt(second_blocks(), tmp_path / "施政計畫.odt", header_rows=1)
    book = tmp_path / "計畫設定.xlsx"
    r = run_kpi("plan", "import", str(doc), "-o", str(book))
    assert r.returncode == 1 and "計畫設定.xlsx" in r.stdout
    r = run_kpi("template", str(book), "-o", str(tmp_path / "x.xlsx"))
    assert r.returncode == 2 and "needs_review" in r.stderr and "關鍵績效指標" in r.stderr
    assert "「待確認」在 P3" in r.stderr  # where to delete the note
    wb = openpyxl.load_workbook(book)
    ws = wb["關鍵績效指標"]
    cols = {ws.cell(2, c).value: c for c in range(1, ws.max_column + 1)}
    fill = ws.cell(3, cols["待確認"]).fill.fgColor.rgb
    assert fill.endswith("F8CBAD")  # marked rows stand out
    for row in range(3, 8):
        ws.cell(row, cols["待確認"]).value = None
        ws.cell(row, cols["承辦單位"]).value = "綜合計畫科"
        if ws.cell(row, cols["衡量指標"]).value == "資源回收率":
            ws.cell(row, cols["單位一"]).value = ws.cell(row, cols["單位二"]).value = "公噸"
        if ws.cell(row, cols["衡量指標"]).value == "陳情案件平均處理天數":
            ws.cell(row, cols["目標值" if "目標值" in cols else "112年年度目標值"]).value = "≤5天"
            ws.cell(row, cols["填報數據一"]).value = "陳情案件平均處理天數"
            ws.cell(row, cols["單位一"]).value = "天"
            ws.cell(row, cols["方向"]).value = "越低越好"
    wb.save(book)
    template = tmp_path / "範本.xlsx"
    r = run_kpi("template", str(book), "-o", str(template))
    assert r.returncode == 0, r.stderr
    sheets = openpyxl.load_workbook(template).sheetnames
    assert "關鍵績效指標" in sheets and any("焚化底渣" in s for s in sheets)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_no_part2_table(fmt, tmp_path):
    path = WRITERS[fmt](
        [
            "某機關 110 年度施政計畫",
            [["工作計畫", "重要施政計畫項目", "實施內容"], ["一、總務", "1. 採購", "辦理採購"]],
        ],
        tmp_path / f"x.{fmt}",
    )
    with pytest.raises(DocumentError) as exc:
        import_document(path)
    assert "找不到第二部分" in str(exc.value) and "no Part 2 KPI table" in str(exc.value)
    r = run_kpi("plan", "import", str(path), "-o", str(tmp_path / "p.yaml"))
    assert r.returncode == 2 and "找不到第二部分" in r.stderr and not (tmp_path / "p.yaml").exists()


def _second_with(change) -> list:
    rows = [list(r) for r in SECOND_PART2]
    change(rows)
    return ["新竹縣政府環境保護局 112 年度施政計畫", rows]


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda rows: rows[3].__setitem__(1, UP), "「衡量指標／關鍵績效指標」儲存格與上一列合併"),
        (lambda rows: rows[2].__setitem__(3, LEFT), "「年度目標值」欄與左側欄位合併"),
        (lambda rows: rows[1].__setitem__(0, UP), "第一項指標沒有策略績效目標"),
    ],
    ids=["indicator-merged-down", "target-merged-left", "first-goal-merged-into-header"],
)
def test_odd_merges(fmt, change, words, tmp_path):
    path = WRITERS[fmt](_second_with(change), tmp_path / f"x.{fmt}")
    with pytest.raises(DocumentError) as exc:
        import_document(path)
    assert words in str(exc.value) and "table 1" in str(exc.value)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_empty_target_is_marked(fmt, tmp_path):
    path = WRITERS[fmt](_second_with(lambda rows: rows[3].__setitem__(3, "")), tmp_path / f"x.{fmt}")
    data = import_document(path)
    ind = data["goals"][1]["indicators"][0]
    assert {"field": "target", "note_zh": "年度目標值空白", "note_en": "the target is empty"} in ind[
        "needs_review"
    ]


def test_not_a_document(tmp_path):
    bad = tmp_path / "x.docx"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DocumentError):
        import_document(bad)
    legacy = tmp_path / "y.docx"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(DocumentError) as exc:
        import_document(legacy)
    assert ".doc" in str(exc.value)


@pytest.mark.parametrize(
    ("formula", "kind", "labels"),
    [
        ("A/B*100%", "ratio", {"numerator": "A", "denominator": "B"}),
        (
            "取得證照人數／受訓總人數×100％",
            "ratio",
            {"numerator": "取得證照人數", "denominator": "受訓總人數"},
        ),
        (
            "(今年志工總人數-去年志工總人數)/去年志工總人數*100%",
            "growth",
            {"current": "今年志工總人數", "previous": "去年志工總人數"},
        ),
        ("每年有關反映公共安全之缺失件數", "count", {"count": "反映公共安全之缺失件數"}),
        ("(A-B)/C*100%", None, {}),
        ("陳情案件處理總天數/陳情案件數", "average", {"total": "陳情案件處理總天數", "cases": "陳情案件數"}),
        ("平均處理天數＝總處理天數÷結案件數", "average", {"total": "總處理天數", "cases": "結案件數"}),
        ("辦理情形", None, {}),
    ],
)
def test_infer_measure(formula, kind, labels):
    got_kind, got_labels, _ = infer_measure(formula)
    assert (got_kind, got_labels) == (kind, labels)


@pytest.mark.parametrize(
    ("formula", "percents"),
    [
        # 臺中市經發局 103: stages one a line, percents without parentheses
        (
            "1.完成委託專業技術服務25%\n2.完成工程招標50%\n3.工程完工75%\n4.完成攤商搬遷、市場啟用100%",
            [25, 50, 75, 100],
        ),
        # a label with a percent of its own: the parenthesised one is the stage's
        (
            "1.完成專業規劃委託服務(25%)\n2.完成土地規劃(50%)\n3.第一期工程進度達50%(80%)\n4.第一期拍賣市場營運(100%)",
            [25, 50, 80, 100],
        ),
    ],
)
def test_stages_as_plans_print_them(formula, percents):
    kind, _, stages = infer_measure(formula)
    assert kind == "milestone" and [s["percent"] for s in stages] == percents
    assert stages[2]["label"] in ("工程完工", "第一期工程進度達50%")


def test_a_unit_note_after_the_formula():
    """臺中市經發局 103: 「補助辦展數/計畫補助辦展數*100%(單位:場數)」 is a ratio."""
    assert infer_measure("補助辦展數/計畫補助辦展數*100%(單位:場數)")[:2] == (
        "ratio",
        {"numerator": "補助辦展數", "denominator": "計畫補助辦展數"},
    )


def test_document_with_a_dtd_is_refused(tmp_path):
    import zipfile

    good = write_docx(second_blocks(), tmp_path / "good.docx")
    bad = tmp_path / "dtd.docx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE w [<!ENTITY a "aaaa">]>', 1)
            dst.writestr(info, data)
    with pytest.raises(DocumentError) as exc:
        import_document(bad)
    assert "DTD" in str(exc.value)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_part2_inside_a_layout_table_or_a_content_control(fmt, tmp_path):
    """A Part 2 table inside a one-cell layout table, or (Word) inside a content control (w:sdt),
    used to give 「找不到第二部分」."""
    from plan_documents import Layout, in_content_control

    blocks = ["新竹縣政府環境保護局 112 年度施政計畫", Layout(SECOND_PART2, "第二部分：關鍵績效指標")]
    path = WRITERS[fmt](blocks, tmp_path / f"layout.{fmt}")
    names = [i["name"] for g in import_document(path)["goals"] for i in g["indicators"]]
    assert len(names) == 5 and names[0] == "資源回收率"
    if fmt == "docx":
        plain = write_docx(_second_with(lambda rows: None), tmp_path / "sdt.docx")
        in_content_control(plain)
        assert [i["name"] for g in import_document(plain)["goals"] for i in g["indicators"]] == names


def test_a_tracked_deletion_of_a_goals_first_row_keeps_its_goal(tmp_path):
    """Word's Track Changes deleted the first indicator row of goal 二: its other indicators stay
    under goal 二 (they used to move under goal 一, with only a weight error to show it)."""
    from plan_documents import delete_row_tracked

    rows = [list(r) for r in SECOND_PART2]
    rows[3][0] = "二、守護空氣品質，提升環境服務(15%)"  # the author fixed the goal's weight as well
    path = write_docx(["新竹縣政府環境保護局 112 年度施政計畫", rows], tmp_path / "tracked.docx")
    delete_row_tracked(path, 3)
    data = import_document(path)
    assert [(g["name"], [i["name"] for i in g["indicators"]]) for g in data["goals"]] == [
        ("推動資源循環，減少廢棄物", ["資源回收率", "焚化底渣再利用設施工程進度"]),
        ("守護空氣品質，提升環境服務", ["環保志工人數成長率", "陳情案件平均處理天數"]),
    ]
    assert data["goals"][1]["weight"] == 15


def test_a_division_with_a_percent_target_is_a_marked_ratio(tmp_path):
    rows = [list(r) for r in SECOND_PART2]
    rows[1][2] = "資源回收量/垃圾產生量"  # ×100% left out, target ≥58%
    data = import_document(write_docx(["新竹縣政府環境保護局 112 年度施政計畫", rows], tmp_path / "x.docx"))
    ind = data["goals"][0]["indicators"][0]
    assert ind["kind"] == "ratio" and "kind" in {m["field"] for m in ind["needs_review"]}
