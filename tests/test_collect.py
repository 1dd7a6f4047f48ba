"""``kpi collect`` over a realistic pile of returned workbooks.

The corpus (``collect_corpus.py``) is made once per module: about fifty files
built from the real template, filled, calculated and saved with openpyxl, then
spoiled the ways real returns are.  Every classification, finding, number and
output file of the consolidation is checked against what was typed, recomputed
with the engine on its own.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from collect_corpus import (
    FORMULA_UNIT,
    SPLIT_UNIT,
    Corpus,
    Expect,
    build_corpus,
    make_workbook,
    relative_label,
    unit_counts,
)

from kpi_engine import evaluate
from kpi_engine.consolidate import COUNTED, STATUSES
from workbook import libreoffice as lo
from workbook.books.calamine import CalamineBook
from workbook.collect import Collection, collect
from workbook.form import layout as L
from workbook.report.summary import write_summary

SUMMARY_SHEETS = ["彙總", "達成情形", "重要施政計畫", "繳交情形", "檢核", "檔案", "圖表"]

# -- watching for writes ------------------------------------------------------------------
#
# An audit hook sees every file Python opens (built-in open, os.open, zipfile, tempfile).
# It cannot be removed once added, so it is inert unless a list is set.

_opened_for_writing: list[str] | None = None
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple) -> None:
    if _opened_for_writing is None or event != "open":
        return
    path, mode, flags = args
    if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & _WRITE_FLAGS
    ):
        _opened_for_writing.append(str(path))


_hooked = False


def _watch_writes() -> None:
    """Install the audit hook once, after the corpus is built (it slows openpyxl a little)."""
    global _hooked
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder`` (but the watch's own spare temp folder)."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.relative_to(folder).parts[0] != "spare-tmp"
    }


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("collect")


@pytest.fixture(scope="module")
def corpus(base) -> Corpus:
    return build_corpus(base / "收件")


@pytest.fixture(scope="module")
def watched(corpus, base) -> dict[str, Any]:
    """collect with the embedded plan only, watched for any file written anywhere."""
    global _opened_for_writing
    _watch_writes()
    spare_tmp = base / "spare-tmp"
    spare_tmp.mkdir()
    before = _snapshot(base)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", str(spare_tmp))
        _opened_for_writing = []
        try:
            coll = collect([corpus.root])
            writes = list(_opened_for_writing)
            probe = spare_tmp / "probe.txt"
            probe.write_text("x")  # the watch itself works
            assert _opened_for_writing[len(writes) :] == [str(probe)]
            probe.unlink()
        finally:
            _opened_for_writing = None
    return {
        "coll": coll,
        "writes": writes,
        "before": before,
        "after": _snapshot(base),
        "spare_tmp": sorted(spare_tmp.iterdir()),
    }


@pytest.fixture(scope="module")
def coll(watched) -> Collection:
    return watched["coll"]


@pytest.fixture(scope="module")
def coll_all(corpus) -> Collection:
    """collect with both the embedded plan and the other agency's plan."""
    return collect([corpus.root], [corpus.plans["default"], corpus.plans["custom"]])


@pytest.fixture(scope="module")
def cli_run(corpus, base) -> dict[str, Any]:
    """``kpi collect ROOT -o summary.xlsx --csv DIR --json --plan A --plan B`` as a coordinator runs it."""
    out = base / "out"
    out.mkdir()
    kpi = shutil.which("kpi") or shutil.which("kpi", path=str(Path(sys.executable).parent))
    assert kpi, "the kpi console script is not installed: pip install -e ."
    proc = subprocess.run(
        [
            kpi,
            "collect",
            str(corpus.root),
            "-o",
            str(out / "summary.xlsx"),
            "--csv",
            str(out / "csv"),
            "--json",
            "--plan",
            str(corpus.plan_paths["default"]),
            "--plan",
            str(corpus.plan_paths["custom"]),
        ],
        cwd=out,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    return {"proc": proc, "out": out}


def _by_label(coll: Collection, root: Path) -> dict[str, Any]:
    subs = {relative_label(s.source, root): s for s in coll.submissions}
    assert len(subs) == len(coll.submissions), "two submissions share a label"
    return subs


# -- classification -----------------------------------------------------------------------


def test_corpus_is_realistic_in_size(corpus):
    files = [p for p in corpus.root.rglob("*") if p.is_file()]
    assert len(files) - len(corpus.ignored) >= 45
    assert len(corpus.expects) >= 50
    units = {e.unit for e in corpus.expects.values() if e.unit.startswith("秘書處")}
    assert len(units) >= 8
    assert {e.period for e in corpus.expects.values() if e.plan == "default"} >= {"H1", "FY", None}


def test_every_file_is_classified_as_expected(corpus, coll):
    got = _by_label(coll, corpus.root)
    assert set(got) == set(corpus.expects), "files read differ from files sent"
    wrong = {
        label: (got[label].status, e.status, got[label].reason)
        for label, e in corpus.expects.items()
        if got[label].status != e.status
    }
    assert not wrong, wrong


def test_other_files_are_listed_not_read(corpus, coll):
    got = _by_label(coll, corpus.root)
    assert not set(got) & set(corpus.ignored)  # lock files and Thumbs.db: left by systems
    texts = [label for label in got if label.endswith("說明.txt")]
    assert len(texts) == 3  # in the folder, inside the archive and attached to the .msg
    for label in texts:
        assert (got[label].status, got[label].sha256, got[label].results) == ("ignored", "", [])
        assert "略過" in got[label].reason


def test_finding_codes_and_where_they_are(corpus, coll):
    got = _by_label(coll, corpus.root)
    for label, e in corpus.expects.items():
        findings = got[label].findings
        assert {f.code for f in findings} == e.codes, label
        located = {(f.code, f.sheet, f.cell) for f in findings}
        for want in e.located:
            assert want in located, (label, want, sorted(located, key=str))


def test_unusable_files_say_why(corpus, coll):
    for label, s in _by_label(coll, corpus.root).items():
        if s.status not in COUNTED and s.status != "duplicate":
            assert s.reason, label
            assert not s.results, label
        if s.status in ("unreadable",):
            assert not s.plan_id


def test_tampered_results_are_found_at_the_edited_cell(corpus, coll):
    got = _by_label(coll, corpus.root)
    sentence = got["107全年度_秘書處公關科.xlsx"]
    result = got["107全年度_秘書處國際科.xlsx"]
    for sub, name in (
        (sentence, "TXT_procurement_pass_rate_FY"),
        (result, "OUT_failed_tender_rate_FY_value"),
    ):
        assert sub.status == "errors"
        [f] = [f for f in sub.findings if f.code == "tampered"]
        assert f.severity == "error"
        sheet, cell = _address(corpus.root / relative_label(sub.source, corpus.root), name)
        assert (f.sheet, f.cell) == (sheet, cell)
        assert f.sheet.startswith("二-")  # the indicator's own sheet


def _address(path: Path, name: str) -> tuple[str, str]:
    from workbook.form.book import cell_address

    sheet, row, col = CalamineBook(path.read_bytes()).names()[name]
    return sheet, cell_address(row, col)


def test_stale_and_never_calculated_are_warnings_on_the_status_line(corpus, coll):
    got = _by_label(coll, corpus.root)
    for label, code in (
        ("107全年度_秘書處採購科.xlsx", "stale"),
        ("107全年度_秘書處第三科.xlsx", "not_calculated"),
    ):
        sub = got[label]
        assert sub.status == "warnings"
        [f] = sub.findings
        assert (f.code, f.severity) == (code, "warning")
        assert (f.sheet, f.cell) == _address(corpus.root / label, L.STATUS_NAME)
    # a stale file still counts, with the counts it holds now (not those last calculated)
    stale = got["107全年度_秘書處採購科.xlsx"]
    count = next(r for r in stale.results if r.indicator == "safety_defects").inputs["count"]
    assert count == unit_counts("秘書處採購科", 107)["FY"]["safety_defects"]["count"] + 5


def test_duplicates_name_the_later_calculated_winner(corpus, coll):
    got = _by_label(coll, corpus.root)
    dupes = [e for e in corpus.expects.values() if e.winner]
    assert len(dupes) == 2
    for e in dupes:
        loser, winner = got[e.label], got[e.winner]
        assert loser.status == "duplicate"
        assert winner.status in COUNTED
        assert winner.source in loser.reason
        assert winner.calculated_at > loser.calculated_at
        assert not [r for r in coll.rows if r.source == loser.source]
        assert [r for r in coll.rows if r.source == winner.source]
    # "(1)" is read first and still wins: the calculation time decides, not the order
    order = [relative_label(s.source, corpus.root) for s in coll.submissions]
    assert order.index("107上半年_秘書處第二科(1).xlsx") < order.index("107上半年_秘書處第二科.xlsx")


def test_another_plan_counts_only_when_its_plan_is_given(corpus, coll, coll_all):
    label = "其他計畫_秘書處第一科.xlsx"
    assert _by_label(coll, corpus.root)[label].status == "unknown_plan"
    got = _by_label(coll_all, corpus.root)
    assert got[label].status == "ok"
    for other, e in corpus.expects.items():
        if other != label:
            assert got[other].status == e.status, other
    assert {r.plan_id for r in coll_all.rows} == {"taichung_secretariat_107", "other_agency_107"}


# -- numbers ------------------------------------------------------------------------------


def _expected(corpus: Corpus, expects: list[Expect]) -> dict[tuple, Any]:
    """Every result recomputed by the engine from what was typed: key → IndicatorResult."""
    out: dict[tuple, Any] = {}
    for e in expects:
        plan = corpus.plans[e.plan]
        scope = L.Scope(plan, owner=e.owner, period_id=e.period, unit=e.unit, data_year=e.year)
        entries = {
            p.id: {
                ind.id: {s.role: e.entries.get(p.id, {}).get(ind.id, {}).get(s.role) for s in ind.inputs}
                for ind in scope.indicators
            }
            for p in scope.periods
        }
        typed = {
            p
            for p, inds in e.entries.items()
            if any(v not in (None, "") for raw in inds.values() for v in raw.values())
        }
        # cells=True: the values as the workbook's formulas see them (text is no number)
        ev = evaluate(plan, entries, targets=scope.targets, year=scope.year, cells=True)
        for r in ev.results:
            if r.period in typed:
                key = (plan.id, e.unit, e.year, plan.period(r.period).name, r.indicator)
                assert key not in out, f"the corpus itself reports {key} twice"
                out[key] = (r, e.label)
    return out


def _same_number(shown: Any, engine: Decimal | None) -> bool:
    if engine is None:
        return shown is None
    return shown is not None and not isinstance(shown, bool) and Decimal(str(shown)) == engine


def _check_table(corpus: Corpus, coll: Collection, expects: list[Expect]) -> None:
    expected = _expected(corpus, [e for e in expects if e.status != "duplicate"])
    table = {(r["plan"], r["unit"], r["year"], r["period"], r["indicator_id"]): r for r in coll.table()}
    assert len(table) == len(coll.table()), "two rows for one unit × indicator × period"
    assert set(table) == set(expected)
    bad = []
    for key, (r, label) in expected.items():
        rec = table[key]
        assert relative_label(rec["file"], corpus.root) == label, key
        checks = {
            "value": _same_number(rec["value"], r.value),
            "achievement_rate": _same_number(rec["achievement_rate"], r.achievement_rate),
            "projection": _same_number(rec["projection"], r.projection),
            "light": rec["light"] == r.light,
            "at_risk": rec["at_risk"] == r.at_risk,
            "achieved": rec["achieved"] == r.achieved,
            "target": rec["target"] == r.target,
            "sentence": rec["sentence"] == r.sentence,
        }
        bad += [
            (key, k, rec[k], getattr(r, k if k != "value" else "value")) for k, ok in checks.items() if not ok
        ]
    assert not bad, bad[:10]


def test_summary_numbers_equal_the_engine(corpus, coll):
    counted = [e for e in corpus.expects.values() if e.status in COUNTED | {"duplicate"}]
    _check_table(corpus, coll, counted)
    # the test really covers each kind of outcome
    lights = {r.result.light for r in coll.rows}
    assert {"green", "yellow", "red", "white"} <= lights, lights
    assert any(r.result.at_risk for r in coll.rows)


def test_summary_numbers_with_both_plans(corpus, coll_all):
    counted = []
    for e in corpus.expects.values():
        status = e.status_all_plans or e.status
        if status in COUNTED | {"duplicate"}:
            counted.append(e)
    _check_table(corpus, coll_all, counted)


def test_the_unit_split_across_sections_has_every_indicator(corpus, coll):
    plan = corpus.plans["default"]
    rows = [r for r in coll.rows if r.unit == SPLIT_UNIT and r.year == 107 and r.result.period == "FY"]
    assert [r.result.indicator for r in rows] == [i.id for i in plan.indicators]
    for r in rows:
        assert r.owner == plan.indicator(r.result.indicator).owner
        assert r.source.endswith(f"_{r.owner}.xlsx")
    records = [
        rec
        for rec in coll.table()
        if rec["unit"] == SPLIT_UNIT and rec["year"] == 107 and rec["period"] == "全年度"
    ]
    assert len(records) == len(plan.indicators) == 5


def test_dataframe_has_one_row_per_unit_indicator_period(corpus, coll):
    df = coll.dataframe()
    assert len(df) == len(coll.rows) > 200
    assert not df.duplicated(["plan", "year", "unit", "indicator_id", "period"]).any()
    assert {"unit", "period", "indicator", "value", "achievement_rate", "light", "at_risk", "file"} <= set(
        df.columns
    )
    per_unit = df[df["year"] == 107].groupby(["unit", "period"]).size()
    assert per_unit.max() == 5


def test_nothing_is_written_while_collecting(watched):
    assert watched["writes"] == []
    assert watched["spare_tmp"] == []
    assert watched["before"] == watched["after"]


def test_collection_to_dict_is_json(corpus, coll):
    doc = json.loads(json.dumps(coll.to_dict(), ensure_ascii=False))
    assert len(doc["files"]) == len(corpus.expects)
    assert len(doc["rows"]) == len(coll.rows)
    assert len(doc["findings"]) == len(coll.findings)


# -- the command, the CSV files and the summary workbook ------------------------------------


def test_cli_collect_exits_1_and_prints_json(corpus, coll_all, cli_run):
    proc = cli_run["proc"]
    assert proc.returncode == 1, proc.stderr  # some files have errors
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    statuses = {relative_label(f["source"], corpus.root): f["status"] for f in doc["files"]}
    assert statuses == {label: e.status_all_plans or e.status for label, e in corpus.expects.items()}
    assert len(doc["rows"]) == len(coll_all.rows)
    assert (cli_run["out"] / "summary.xlsx").is_file()


def test_csv_files_have_a_bom_and_no_live_formulas(cli_run, coll_all):
    folder = cli_run["out"] / "csv"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["彙總.csv", "重要施政計畫.csv", "檢核.csv", "檔案.csv", "繳交情形.csv"]
    )
    for path in folder.iterdir():
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), path.name
        for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))):
            for value in row:
                assert not value.startswith(("=", "+", "@")), (path.name, value)
    rows = list(csv.DictReader(io.StringIO((folder / "彙總.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(coll_all.rows)
    assert "'" + FORMULA_UNIT in {r["填報單位"] for r in rows}  # zh-TW headers by default
    assert {r["燈號"] for r in rows} <= {"綠燈", "黃燈", "紅燈", "白燈"}
    assert {r["落後風險"] for r in rows} <= {"是", "否", ""}
    files = list(csv.DictReader(io.StringIO((folder / "檔案.csv").read_text(encoding="utf-8-sig"))))
    assert len(files) == len(coll_all.submissions) and all(f["狀態"] for f in files)


@pytest.fixture(scope="module")
def summary_book(cli_run) -> openpyxl.Workbook:
    return openpyxl.load_workbook(cli_run["out"] / "summary.xlsx")


def test_summary_workbook_sheets_rows_and_chart(summary_book, coll_all, cli_run):
    wb = summary_book
    assert wb.sheetnames == SUMMARY_SHEETS
    assert wb["彙總"].max_row == len(coll_all.rows) + 2
    assert wb["達成情形"].max_row == len(coll_all.rows) + 2
    assert wb["檔案"].max_row == len(coll_all.submissions) + 2
    assert wb["檢核"].max_row == len(coll_all.findings) + 2
    # Per plan, year and period: one chart per indicator with a 達成率 (units against 100%),
    # and one of the units' weighted scores by goal.
    groups: dict = {}
    for r in coll_all.rows:
        g = groups.setdefault((r.plan_id, r.year, r.result.period), set())
        if r.result.achievement_rate is not None:
            g.add(r.result.indicator)
    assert len(wb["圖表"]._charts) == sum(len(inds) + 1 for inds in groups.values())
    with zipfile.ZipFile(cli_run["out"] / "summary.xlsx") as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
    ws = wb["彙總"]
    col = next(c.column for c in ws[2] if c.value == "燈號")
    lights = {ws.cell(r, col).value for r in range(3, ws.max_row + 1)}
    assert lights == {"綠燈", "黃燈", "紅燈", "白燈"}


def test_summary_charts_colour_each_unit_by_its_light(cli_run, coll_all):
    """Issue 24/25: the bars of a 達成率 chart are coloured unit by unit with the lights, though
    XlsxWriter is given one point per colour (the series then names, per bar, the one of its
    colour); the charts refer to the 圖表 sheet's cells and hold no cached copy of them."""
    import re

    from workbook.form.styles import LIGHT_COLOURS

    colour_of = {fill: code for code, (fill, _) in LIGHT_COLOURS.items()}
    wb = openpyxl.load_workbook(cli_run["out"] / "summary.xlsx")
    ws = wb["圖表"]
    rows = {(r.unit, r.result.indicator, r.year, r.result.period): r.result for r in coll_all.rows}
    names = {i.name: i.id for p in coll_all.plans for i in p.indicators}
    checked = 0
    with zipfile.ZipFile(cli_run["out"] / "summary.xlsx") as z:
        for name in sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)):
            xml = z.read(name).decode("utf-8")
            assert "<c:pt " not in xml  # caches empty: drawn from the cells, never from a stale copy
            bars = re.search(r"<c:barChart>.*?</c:barChart>", xml, re.S).group(0)
            points = re.findall(r"<c:dPt><c:idx val=\"(\d+)\"/>.*?<a:srgbClr val=\"(\w+)\"", bars, re.S)
            if not points:
                continue  # the stacked scores by goal: one colour per goal
            ref = re.search(r"<c:val><c:numRef><c:f>'?圖表'?!\$(\w+)\$(\d+)(?::\$\w+\$(\d+))?</c:f>", bars)
            col, first = ref.group(1), int(ref.group(2))
            last = int(ref.group(3) or first)  # one unit: a one-cell reference
            header = ws[f"{col}{first - 1}"].value
            caption = next(
                ws.cell(r, 1).value
                for r in range(first - 2, 0, -1)
                if isinstance(ws.cell(r, 1).value, str) and "年度" in ws.cell(r, 1).value
            )
            year, period_name = int(caption.split("年度")[0]), caption.split(" ")[1].split("：")[0]
            plan = next(p for p in coll_all.plans if names.get(header) in {i.id for i in p.indicators})
            period = next(x.id for x in plan.periods if x.name == period_name)
            assert len(points) == last - first + 1  # one coloured bar per unit
            for idx, colour in points:
                unit = ws[f"A{first + int(idx)}"].value
                result = rows.get((unit, names[header], year, period))
                assert colour_of[colour] == (result.light if result else "white"), (name, unit)
                checked += 1
    assert checked >= 10


def test_summary_holds_no_formula_and_keeps_its_column_widths(cli_run):
    """Every summary cell is a value (no formula, so no cached result that could lie), and the
    columns are as wide as the file said before XlsxWriter (which pads what it is given)."""
    import re

    from workbook.report.summary import SUMMARY_COLUMNS

    with zipfile.ZipFile(cli_run["out"] / "summary.xlsx") as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) == len(SUMMARY_SHEETS)
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
        cols = re.findall(
            rb'<col min="(\d+)" max="(\d+)" width="([\d.]+)"', z.read("xl/worksheets/sheet1.xml")
        )
    widths = [float(w) for low, high, w in cols for _ in range(int(low), int(high) + 1)]
    assert widths == [w for _, w, _ in SUMMARY_COLUMNS]


def test_summary_workbook_keeps_formula_like_text_as_text(summary_book):
    cells = [
        c for ws in summary_book.worksheets for row in ws.iter_rows() for c in row if c.value == FORMULA_UNIT
    ]
    assert len(cells) >= 3  # 彙總, 達成情形 and 檔案
    assert {c.data_type for c in cells} == {"s"}  # text, not a live =HYPERLINK formula


def test_summary_renders_in_libreoffice(cli_run):
    soffice = lo.require_soffice()
    out = cli_run["out"]
    pdf = lo.convert_to_pdf(out / "summary.xlsx", out / "summary.pdf", soffice=soffice)
    assert pdf.stat().st_size > 10_000
    lo.require_pdftoppm()
    pages = lo.pdf_to_pngs(pdf, out / "summary", dpi=40)
    assert len(pages) >= 5
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        for heading in ("績效指標填報彙總", "實施狀況及成果概述", "檢核結果", "收件檔案"):
            assert heading in text


# -- bugs found while writing these tests (fixed in a2f18bb), kept as regressions -----------


def test_template_keeps_a_formula_like_unit_as_text(plan, tmp_path):
    from workbook.form.builder import write_template
    from workbook.form.calculate import read_meta

    path = write_template(L.Scope(plan, unit=FORMULA_UNIT, period_id="H1"), tmp_path / "t.xlsx")
    assert read_meta(CalamineBook(path.read_bytes()))["unit"] == FORMULA_UNIT


def test_an_h1_workbook_and_a_later_full_year_workbook_give_one_h1_row(plan, tmp_path):
    """Rows are resolved per unit × indicator × period: the later calculation wins each."""
    counts = unit_counts("秘書處第一科", 107)
    h1 = L.Scope(plan, period_id="H1", unit="秘書處第一科")
    full = L.Scope(plan, unit="秘書處第一科")
    make_workbook(tmp_path / "a_h1.xlsx", h1, {"H1": counts["H1"]}, calculated_at=datetime(2018, 7, 3, 9, 0))
    make_workbook(tmp_path / "b_full.xlsx", full, counts, calculated_at=datetime(2019, 1, 8, 9, 0))
    c = collect([tmp_path])
    keys = [(r.unit, r.result.indicator, r.result.period) for r in c.rows]
    assert len(keys) == len(set(keys)) == 10, "unit × indicator × period reported twice"
    assert {Path(r.source).name for r in c.rows} == {"b_full.xlsx"}
    first, second = c.submissions
    assert (first.status, second.status) == ("duplicate", "ok")
    assert second.source in first.reason


def test_a_later_h1_workbook_wins_only_its_own_rows(plan, tmp_path):
    counts = unit_counts("秘書處第一科", 107)
    corrected = {"H1": {**counts["H1"], "safety_defects": {"count": 12}}}
    full = L.Scope(plan, unit="秘書處第一科")
    h1 = L.Scope(plan, period_id="H1", unit="秘書處第一科")
    make_workbook(tmp_path / "a_full.xlsx", full, counts, calculated_at=datetime(2019, 1, 8, 9, 0))
    make_workbook(tmp_path / "b_h1.xlsx", h1, corrected, calculated_at=datetime(2019, 1, 9, 9, 0))
    c = collect([tmp_path])
    sources = {(r.result.period, Path(r.source).name) for r in c.rows}
    assert sources == {("H1", "b_h1.xlsx"), ("FY", "a_full.xlsx")}
    assert [s.status for s in c.submissions] == ["ok", "ok"]
    safety = next(r for r in c.rows if r.result.indicator == "safety_defects" and r.result.period == "H1")
    assert safety.result.inputs["count"] == 12


def test_a_libreoffice_saved_return_is_not_taken_for_tampered(plan, tmp_path):
    """Excel and LibreOffice save computed values; every one must match the engine."""
    soffice = lo.require_soffice()
    counts = unit_counts("秘書處第一科", 107)
    scope = L.Scope(plan, unit="秘書處第一科")
    src = tmp_path / "src" / "full.xlsx"
    src.parent.mkdir()
    make_workbook(src, scope, counts, calculated_at=datetime(2019, 1, 8, 9, 0))
    lo.recalculate(src, tmp_path / "saved" / "full.xlsx", soffice=soffice)
    c = collect([tmp_path / "saved"])
    [sub] = c.submissions
    assert (sub.status, sub.findings) == ("ok", [])
    ev = evaluate(plan, counts, year=107)
    assert [(r.indicator, r.period, r.value, r.light) for r in sub.results] == [
        (r.indicator, r.period, r.value, r.light) for r in ev.results
    ]


def test_status_labels_cover_every_status(corpus):
    # formats collect does not read, and earlier summaries, are the inbox corpus's (test_collect_inbox)
    assert {e.status for e in corpus.expects.values()} | {"unsupported", "summary"} == set(STATUSES)


def test_write_summary_in_process(coll, tmp_path):
    path = write_summary(coll, tmp_path / "s.xlsx")
    assert openpyxl.load_workbook(path).sheetnames == SUMMARY_SHEETS


def test_defined_names_are_read_from_the_bytes_as_openpyxl_reads_them(tmp_path) -> None:
    """collect reads workbook.xml's names with a pattern: odd sheet names (an apostrophe,
    an ampersand written as an entity, CJK, spaces) land on the same cells as openpyxl says;
    sheet-scoped names and ranges are not single cells and are left out."""
    from openpyxl.workbook.defined_name import DefinedName

    from workbook.books.calamine import _defined_names
    from workbook.form.book import parse_address

    wb = openpyxl.Workbook()
    wb.active.title = "plain"
    for title in ("O'Brien", "A & B", "二-1 指標", "x'' y"):
        wb.create_sheet(title)
    refs = {
        "P1": "plain!$C$3",
        "Q1": "'O''Brien'!$A$1",
        "AMP": "'A & B'!B2",
        "CJK": "'二-1 指標'!$AB$1048",
        "DQ": "'x'''' y'!$D$4",
        "RANGE": "plain!$A$1:$B$2",
    }
    for name, ref in refs.items():
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
    wb["plain"].defined_names["LOCAL"] = DefinedName("LOCAL", attr_text="plain!$A$1")
    path = tmp_path / "names.xlsx"
    wb.save(path)
    expected = {}
    for name, dn in openpyxl.load_workbook(path).defined_names.items():
        ((sheet, address),) = list(dn.destinations)
        if ":" not in address:  # openpyxl leaves a quoted name's doubled apostrophes doubled
            expected[name] = (sheet.replace("''", "'"), *parse_address(address))
    got = _defined_names(path.read_bytes())
    assert got == expected and set(got) == {"P1", "Q1", "AMP", "CJK", "DQ"}
    assert got["AMP"] == ("A & B", 2, 2) and got["DQ"] == ("x'' y", 4, 4)


def test_the_guards_quick_read_gives_zipfiles_bytes_and_leaves_every_refusal_to_zipfile(tmp_path) -> None:
    """The guard inflates a small, plain part straight from the bytes (:func:`guard._inflated`):
    the very bytes zipfile reads; a part whose CRC, size, local name or stream is wrong is left to
    zipfile, so the refusal is the one it always was."""
    from workbook.formats import guard
    from workbook.formats.files import WorkbookFileError

    wb = openpyxl.Workbook()
    wb.active["A1"] = "x" * 5000
    wb.create_sheet("二")["B2"] = 3
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
        assert all(guard._inflated(data, i) == z.read(i) for i in infos)
        sheet = next(i for i in infos if i.filename == "xl/worksheets/sheet1.xml")
    # The same part with a wrong CRC in both headers: the quick read declines, zipfile refuses.
    bad = bytearray(data)
    crc = sheet.CRC.to_bytes(4, "little")
    wrong = ((sheet.CRC + 1) % 2**32).to_bytes(4, "little")
    bad[sheet.header_offset + 14 : sheet.header_offset + 18] = wrong
    entry = data.find(sheet.filename.encode(), data.find(b"PK\x01\x02")) - 46  # its central directory entry
    assert data[entry : entry + 4] == b"PK\x01\x02" and bad[entry + 16 : entry + 20] == crc
    bad[entry + 16 : entry + 20] = wrong
    bad = bytes(bad)
    with zipfile.ZipFile(io.BytesIO(bad)) as z:
        assert guard._inflated(bad, z.getinfo(sheet.filename)) is None
    with pytest.raises(WorkbookFileError) as refused:
        guard.inspect(bad, "bad.xlsx")
    assert "損毀" in refused.value.message_zh and "BadZipFile" in refused.value.message_en


def test_formula_cells_in_one_pass_equal_the_element_scan() -> None:
    """A sheet whose every formula directly follows its cell's start tag is read in one regex pass;
    any other shape (a formula after the value, after a self-closed cell, a comment naming <f>)
    goes to the element scan; both give the same cells and texts."""
    import workbook.formats.formula_cells as fc

    head = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
    )
    plain = (
        b'<c r="A1" s="2"><f>SUM(B1:B3)&amp;"&gt;"</f><v>1</v></c><c s="1" r="B2"><f t="shared" si="0"/></c>'
    )
    odd = [
        b'<c r="A1"><v>1</v><f>1+1</f></c><c r="B1"><f>2</f></c>',
        b'<c r="A1"/><f>1</f><c r="B2"><f>3</f></c>',
        b'<!-- <f> --><c r="C3"><f>SUM(A1)</f></c>',
    ]

    def sheet(body: bytes) -> bytes:
        return head + body + b"</row></sheetData></worksheet>"

    assert fc._first_children(sheet(plain)) == {(1, 1): '=SUM(B1:B3)&">"', (2, 2): "="}
    assert fc._formula_cells(sheet(plain)) == fc._first_children(sheet(plain))
    for body in odd:
        assert fc._first_children(sheet(body)) is None
    assert fc._formula_cells(sheet(odd[0])) == {(1, 1): "=1+1", (1, 2): "=2"}
    assert fc._formula_cells(sheet(odd[1])) == {(2, 2): "=3"}
    assert fc._formula_cells(sheet(odd[2])) == {(3, 3): "=SUM(A1)"}
