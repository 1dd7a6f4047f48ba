"""``kpi collect`` over the coordinator's real inbox (issue 10).

The inbox (``collect_corpus.build_inbox``) is generated once per session: every
format staff send, every email layout, hostile names, versions, sections sharing a
template, templates without a unit, staff text and workbooks re-saved by other
programs.  Each case states the classification it must get; across the inbox
collect never crashes, lists every input, and keeps every number and text from
the right version.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pytest
from collect_corpus import (
    INBOX_YEAR,
    Inbox,
    InboxCase,
    build_inbox,
    cached_zeros,
    relative_label,
    rezip,
)

from kpi_engine import evaluate, load_plan
from kpi_engine.consolidate import COUNTED, STATUSES, Submission
from workbook.collect import Collection, collect, read_submission
from workbook.collect.mail import header_text
from workbook.collect.text import cell_text, terminal_text
from workbook.form import layout as L

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def inbox(tmp_path_factory) -> Inbox:
    return build_inbox(tmp_path_factory.mktemp("inbox") / "收件匣")


@pytest.fixture(scope="session")
def coll(inbox) -> Collection:
    return collect([inbox.root])  # on every core


def _by_label(coll: Collection, inbox: Inbox) -> dict[str, Submission]:
    subs = {relative_label(s.source, inbox.root): s for s in coll.submissions}
    assert len(subs) == len(coll.submissions), "two submissions share a label"
    return subs


def run_kpi(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``kpi ARGS`` from this checkout (never the installed one), as a coordinator runs it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "workbook.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=300,
    )
    out = proc.stdout.decode("utf-8") + proc.stderr.decode("utf-8")
    assert "Traceback" not in out, out[-3000:]
    return proc


# -- defect 2: every input accounted for ---------------------------------------------------------


def test_the_inbox_is_large_and_covers_every_classification(inbox):
    assert len(inbox.cases) >= 60
    statuses = {c.status for c in inbox.cases.values()}
    assert {"ok", "warnings", "errors", "duplicate", "unsupported", "unreadable", "ignored"} <= statuses
    assert all(c.why or c.status == "ignored" for c in inbox.cases.values())


def test_every_file_member_and_attachment_is_listed_as_expected(inbox, coll):
    got = _by_label(coll, inbox)
    assert set(got) == set(inbox.cases), "files listed differ from files sent"
    wrong = {
        label: (
            got[label].status,
            case.status,
            got[label].reason[:200],
            [f.code for f in got[label].findings],
        )
        for label, case in inbox.cases.items()
        if got[label].status != case.status or case.reason not in got[label].reason
    }
    assert not wrong, wrong
    for label, s in got.items():
        assert s.reason or s.status in COUNTED, label  # every file not counted says why
        if s.status == "unsupported":
            assert any(w in s.reason for w in ("另存", "解壓縮", "改寄", "匯出")), (
                s.reason
            )  # what to do, in zh-TW


def test_finding_codes_of_each_case(inbox, coll):
    got = _by_label(coll, inbox)
    for label, case in inbox.cases.items():
        assert case.codes <= {f.code for f in got[label].findings}, label


def test_parallel_and_serial_give_the_same_collection(inbox, coll):
    serial = collect([inbox.root], workers=1)
    assert json.dumps(serial.to_dict(), ensure_ascii=False, sort_keys=True) == json.dumps(
        coll.to_dict(), ensure_ascii=False, sort_keys=True
    )


# -- no number or text lost or taken from the wrong version --------------------------------------


def _counted(inbox: Inbox) -> list[InboxCase]:
    return [c for c in inbox.cases.values() if c.status in COUNTED and c.counts]


def test_every_counted_number_reaches_the_table_from_the_right_file(inbox, coll):
    plan = load_plan()
    rows = {(r.unit, r.result.period, r.result.indicator): r for r in coll.rows}
    by_unit: dict[str, dict] = {}
    for case in _counted(inbox):
        for ind, raw in case.counts["FY"].items():
            by_unit.setdefault(case.unit, {})[ind] = (raw, case.label)
    assert len(by_unit) >= 30
    for unit, typed in by_unit.items():
        expected = evaluate(
            plan, {"FY": {i: raw for i, (raw, _) in typed.items()}}, year=INBOX_YEAR, cells=True
        )
        for r in expected.results:
            row = rows[(unit, "FY", r.indicator)]
            assert row.result.inputs == r.inputs, (unit, r.indicator)
            assert (row.result.value, row.result.light, row.result.sentence) == (r.value, r.light, r.sentence)
            label = typed[r.indicator][1]
            assert label in {relative_label(s, inbox.root) for s in row.source.split(" + ")}, (
                unit,
                row.source,
            )


def test_staff_text_reaches_table_items_csv_and_dataframe(inbox, coll, tmp_path):
    """Defect 9: 補充說明, 執行進度 and 執行情形 are carried through."""
    from workbook.report.summary import write_csv

    table = {(r["unit"], r["indicator_id"]): r for r in coll.table()}
    items = {(r["unit"], r["item_id"]): r for r in coll.item_table()}
    texts = [(c, k, v) for c in _counted(inbox) for k, v in c.texts.items()]
    assert len(texts) >= 10
    for case, (fld, _, target), value in texts:
        if fld == "note":
            assert table[(case.unit, target)]["note"] == value
        else:
            assert items[(case.unit, target)][fld] == value, (case.label, fld)
    df = coll.dataframe()
    assert "note" in df.columns and df["note"].str.contains("本科自行補充說明").sum() == 5
    idf = coll.items_dataframe()
    assert {"progress", "description"} <= set(idf.columns) and len(idf) >= 5
    for lang, description, note, light in (
        ("en", "description", "note", "light"),
        ("zh", "執行情形", "補充說明", "燈號"),
    ):
        folder = tmp_path / lang
        write_csv(coll, folder, lang=lang)
        rows = list(
            csv.DictReader(io.StringIO((folder / "重要施政計畫.csv").read_text(encoding="utf-8-sig")))
        )
        assert any(r[description].startswith("第1項執行情形") for r in rows)
        notes = list(csv.DictReader(io.StringIO((folder / "彙總.csv").read_text(encoding="utf-8-sig"))))
        assert sum("本科自行補充說明" in r[note] for r in notes) == 5
        lights = {r[light] for r in notes}
        assert lights <= (
            {"green", "yellow", "red", "white"} if lang == "en" else {"綠燈", "黃燈", "紅燈", "白燈"}
        )


# -- defect 5: versions ---------------------------------------------------------------------------


def test_the_newest_version_wins_and_the_loser_names_it(inbox, coll):
    got = _by_label(coll, inbox)
    losers = [c for c in inbox.cases.values() if c.winner]
    assert len(losers) == 3  # saved time; email Date; file mtime
    for case in losers:
        loser, winner = got[case.label], got[case.winner]
        assert loser.status == "duplicate"
        assert winner.source in loser.reason and "較新" in loser.reason
        assert not [r for r in coll.rows if loser.source in r.source]
        safety = next(r for r in coll.rows if r.unit == case.unit and r.result.indicator == "safety_defects")
        assert safety.source == winner.source
        assert (
            safety.result.inputs["count"] == inbox.cases[case.winner].counts["FY"]["safety_defects"]["count"]
        )
    # the uncalculated correction beat the calculated original: being calculated decides nothing
    assert got["版本/a_更正_未計算.xlsx"].calculated_at == ""
    assert got["版本/z_舊版_已計算.xlsx"].calculated_at != ""


# -- defect 4: sections and conflicts -------------------------------------------------------------


def test_sections_sharing_one_template_merge_per_input_cell(inbox, coll):
    plan = load_plan()
    sections = [c for c in inbox.cases.values() if c.label.startswith("分工/")]
    unit = sections[0].unit
    rows = [r for r in coll.rows if r.unit == unit]
    assert [r.result.indicator for r in rows] == [i.id for i in plan.indicators]
    for r in rows:
        assert r.result.value is not None, r.result.indicator  # no blank overwrote a number
        assert r.source.endswith(f"{plan.indicator(r.result.indicator).owner}.xlsx")


def test_two_numbers_for_one_input_are_a_conflict_naming_both_files(inbox, coll):
    got = _by_label(coll, inbox)
    a, b = got["衝突/甲.xlsx"], got["衝突/乙.xlsx"]
    for sub in (a, b):
        [f] = [f for f in sub.findings if f.code == "conflict"]
        assert f.severity == "error" and f.indicator == "safety_defects"
        assert a.source in f.message_zh and b.source in f.message_zh
        assert a.source in f.message_en and b.source in f.message_en
    row = next(r for r in coll.rows if r.unit == a.unit and r.result.indicator == "safety_defects")
    assert row.source == b.source  # the newer file's number is used
    # the indicators only one of them filled come from that one
    sources = {
        r.result.indicator: r.source for r in coll.rows if r.unit == a.unit and r.result.value is not None
    }
    assert sources["procurement_pass_rate"] == a.source and sources["e_tender_rate"] == b.source


# -- defect 3: units ------------------------------------------------------------------------------


def test_workbooks_without_a_unit_are_errors_naming_the_file(inbox, coll):
    got = _by_label(coll, inbox)
    for label in ("無單位範本_甲.xlsx", "無單位範本_乙.xlsx"):
        sub = got[label]
        assert sub.status == "errors"  # never a silent duplicate of the other
        [f] = [f for f in sub.findings if f.code == "unit_missing"]
        assert sub.source in f.message_zh and f.sheet == L.SHEET_GUIDE
        assert not [r for r in coll.rows if r.source == sub.source]
    typed = got["無單位範本_已填.xlsx"]
    assert typed.unit == inbox.cases["無單位範本_已填.xlsx"].unit and typed.status == "ok"


def test_a_template_without_unit_has_an_unlocked_unit_cell_validated_against_the_plan(tmp_path):
    from workbook.form.builder import write_template

    text = (load_plan().text + "\nunits: [秘書處第一科, 秘書處第二科]\n").replace("\r", "")
    from kpi_engine import parse_plan

    plan = parse_plan(text, source="units.yaml")
    assert plan.units == ("秘書處第一科", "秘書處第二科")
    path = write_template(L.Scope(plan, period_id="FY"), tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    dn = wb.defined_names[L.UNIT_NAME]
    [(sheet, ref)] = list(dn.destinations)
    cell = wb[sheet][ref.replace("$", "")]
    assert sheet == L.SHEET_GUIDE and cell.protection.locked is False
    [dv] = [dv for dv in wb[sheet].data_validations.dataValidation if ref.replace("$", "") in str(dv.sqref)]
    assert dv.type == "list" and "秘書處第二科" in dv.formula1
    # a unit outside the plan's list is an error; one on it is fine
    for unit, codes in (("秘書處第二科", set()), ("不明單位", {"unit_unknown"})):
        cell.value = unit
        wb.save(tmp_path / "filled.xlsx")
        sub = read_submission("filled.xlsx", (tmp_path / "filled.xlsx").read_bytes(), [plan])
        assert sub.unit == unit
        assert {f.code for f in sub.findings} & {"unit_unknown", "unit_missing"} == codes
    # a template made with --unit has no unit cell (the unit is fixed)
    fixed = write_template(L.Scope(plan, unit="秘書處第一科"), tmp_path / "fixed.xlsx")
    assert L.UNIT_NAME not in openpyxl.load_workbook(fixed).defined_names


# -- defect 1 and 11: text made safe at the outputs -----------------------------------------------


def test_cell_and_terminal_text():
    assert cell_text("約50%\x0b（詳附件）\x07") == "約50%\n（詳附件）\ufffd"
    assert cell_text("a\udcff") == "a\ufffd"
    assert terminal_text("x\u202eslx.exe\x1b[31m") == "x\\u202eslx.exe\\u001b[31m"


def test_header_names_decode_from_every_charset():
    import base64

    b5 = base64.b64encode("秘書處.xlsx".encode("big5")).decode()
    gb = base64.b64encode("简体.xlsx".encode("gb2312")).decode()
    assert header_text(f"=?big5?B?{b5}?=") == "秘書處.xlsx"
    assert header_text(f"=?gb2312?B?{gb}?=") == "简体.xlsx"
    assert header_text("=?x-user-defined?B?YWJj?=") == "abc"
    assert header_text(("utf-8", "", "\xe7\xb8\xbd.xlsx")) == "總.xlsx"


@pytest.fixture(scope="session")
def cli(inbox, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("inbox-out")
    proc = run_kpi(
        "collect", str(inbox.root), "-o", str(out / "summary.xlsx"), "--csv", str(out / "csv"), cwd=out
    )
    return {"proc": proc, "out": out}


def test_cli_lists_every_file_that_is_not_ok_with_its_reason_escaped(inbox, coll, cli):
    proc = cli["proc"]
    assert proc.returncode == 1  # some files have errors
    text = proc.stdout.decode("utf-8")
    assert "\u202e" not in text and "\x1b" not in text and "\x07" not in text
    assert "\\u202e" in text and "\\u001b" in text
    for s in coll.submissions:
        if s.status != "ok":
            assert terminal_text(s.source) in text, s.source
            assert f"[{STATUSES[s.status]}]" in text
    assert "格式不支援" in text and "Strict" in text


def test_summary_holds_control_characters_visibly_and_is_marked(inbox, cli):
    wb = openpyxl.load_workbook(cli["out"] / "summary.xlsx")
    assert wb.sheetnames == ["彙總", "達成情形", "重要施政計畫", "繳交情形", "檢核", "檔案", "圖表"]
    notes = [
        c.value
        for row in wb["彙總"].iter_rows()
        for c in row
        if isinstance(c.value, str) and "詳附件" in c.value
    ]
    assert notes == ["約50%\n（詳附件）\ufffd"]
    part4 = [c.value for row in wb["達成情形"].iter_rows() for c in row if isinstance(c.value, str)]
    assert sum("本科自行補充說明" in v for v in part4) == 5 and "約50%\n（詳附件）\ufffd" in part4
    items = [c.value for row in wb["重要施政計畫"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "第一行\n第二行" in items and any(v.startswith("第1項執行情形") for v in items)
    files = [c.value for c in wb["檔案"]["A"]]
    assert any("\\xff\\xfe\\xfd.xlsx" in str(v) for v in files)  # a name of no encoding, escaped
    assert L.SUMMARY_MARK in wb.defined_names
    raw = (cli["out"] / "csv" / "檔案.csv").read_bytes().decode("utf-8-sig")  # valid UTF-8 throughout
    assert "秘書處.xlsx" in raw  # the Big5 name on disk, recovered


def test_a_previous_summary_in_the_inbox_is_skipped_with_a_note(inbox, cli, tmp_path):
    folder = tmp_path / "再次彙整"
    folder.mkdir()
    (folder / "上次彙總.xlsx").write_bytes((cli["out"] / "summary.xlsx").read_bytes())
    [sub] = collect([folder]).submissions
    assert sub.status == "summary" and "彙總" in sub.reason


# -- defect 8: outputs ----------------------------------------------------------------------------


def test_outputs_never_replace_inputs_links_devices_or_folders(inbox, tmp_path):
    a = inbox.root / "文字說明.xlsx"
    before = a.read_bytes()
    link = tmp_path / "link.xlsx"
    link.symlink_to(tmp_path / "elsewhere.xlsx")
    for output, words in (
        (str(a), "輸入檔"),
        (str(link), "符號連結"),
        (str(tmp_path), "資料夾"),
        ("/dev/null", "不是一般檔案"),
    ):
        proc = run_kpi("collect", str(inbox.root / "文字說明.xlsx"), "-o", output, cwd=tmp_path)
        assert proc.returncode == 2, output
        assert words in proc.stderr.decode("utf-8"), proc.stderr.decode("utf-8")
    assert a.read_bytes() == before
    assert not (tmp_path / "elsewhere.xlsx").exists()


def test_rerunning_collect_into_the_folder_it_reads_replaces_only_its_own_summary(inbox, tmp_path):
    """Issue 23: ``collect mail -o mail/彙總.xlsx`` twice replaces its own summary; never a return."""
    mail = tmp_path / "mail"
    mail.mkdir()
    ret = mail / "文字說明.xlsx"
    ret.write_bytes((inbox.root / "文字說明.xlsx").read_bytes())
    before = ret.read_bytes()
    first = run_kpi("collect", "mail", "-o", "mail/彙總.xlsx", cwd=tmp_path)
    assert first.returncode in (0, 1), first.stderr.decode("utf-8")
    summary = mail / "彙總.xlsx"
    old = summary.read_bytes()
    again = run_kpi("collect", "mail", "-o", "mail/彙總.xlsx", cwd=tmp_path)
    assert again.returncode == first.returncode, again.stderr.decode("utf-8")
    assert summary.read_bytes() != old  # replaced (its 檔案 sheet lists the old one, skipped)
    assert L.SUMMARY_MARK in openpyxl.load_workbook(summary).defined_names
    assert "彙總檔（略過）" in again.stdout.decode("utf-8")
    refused = run_kpi("collect", "mail", "-o", "mail/文字說明.xlsx", cwd=tmp_path)  # a return: an input
    assert refused.returncode == 2 and "輸入檔" in refused.stderr.decode("utf-8")
    assert ret.read_bytes() == before
    assert sorted(p.name for p in mail.iterdir()) == ["彙總.xlsx", "文字說明.xlsx"]  # nothing half-written


def test_a_missing_path_exits_2_and_json_gets_an_error_object(tmp_path):
    proc = run_kpi("collect", str(tmp_path / "沒有這個"), "-o", str(tmp_path / "s.xlsx"), cwd=tmp_path)
    assert proc.returncode == 2 and "沒有這個" in proc.stderr.decode("utf-8")
    proc = run_kpi(
        "collect", str(tmp_path / "沒有這個"), "-o", str(tmp_path / "s.xlsx"), "--json", cwd=tmp_path
    )
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert "沒有這個" in doc["error"]["message"]
    assert not (tmp_path / "s.xlsx").exists()


def test_template_refuses_a_unit_with_control_characters(tmp_path):
    proc = run_kpi("template", "-o", str(tmp_path / "t.xlsx"), "--unit", "a\x07", cwd=tmp_path)
    assert proc.returncode == 2
    assert "控制字元" in proc.stderr.decode("utf-8") and "\\u0007" in proc.stderr.decode("utf-8")
    assert not (tmp_path / "t.xlsx").exists()


# -- defect 10: producers --------------------------------------------------------------------------


def test_cached_zeros_are_tampered_only_when_the_producer_saves_real_results(inbox):
    """XlsxWriter writes 0 for every formula: no proof of editing. Excel or LibreOffice would be."""
    data = (inbox.root / "XlsxWriter重存.xlsx").read_bytes()
    plans = [load_plan()]
    assert read_submission("x.xlsx", data, plans).status == "ok"

    def libreoffice(xml: bytes) -> bytes:
        return xml.replace(
            b"<Application>Microsoft Excel</Application>", b"<Application>LibreOffice/7.4</Application>"
        )

    trusted = read_submission("lo.xlsx", rezip(data, {"docProps/app.xml": libreoffice}), plans)
    assert sum(f.code == "tampered" for f in trusted.findings) >= 15


def test_a_big_staff_sheet_passes_the_guard_and_a_far_corner_does_not(inbox):
    from workbook.formats.files import WorkbookFileError
    from workbook.formats.guard import inspect

    data = (inbox.root / "自行統計2萬列.xlsx").read_bytes()
    assert inspect(data).parts > 0

    def far(xml: bytes) -> bytes:
        return xml.replace(
            b"</sheetData>", b'<row r="30000"><c r="ZZ30000"><v>1</v></c></row></sheetData>', 1
        )

    with pytest.raises(WorkbookFileError, match="範圍過大"):
        inspect(rezip(data, {"xl/worksheets/sheet1.xml": far}))


def test_cached_zeros_helper_really_writes_zeros(inbox):
    import zipfile

    data = cached_zeros((inbox.root / "文字說明.xlsx").read_bytes())
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sum(x.count(b"<v>0</v>") for x in sheets) >= 15


# -- defect 6: memory ---------------------------------------------------------------------------


def test_peak_memory_stays_under_300_mb_on_hostile_inputs(tmp_path):
    """A 1 MB member inflating to 1 GB, 1.5 GB files: streamed with caps, never read whole."""
    script = textwrap.dedent(
        """
        import json, sys, zipfile, os
        folder = sys.argv[1]
        os.makedirs(folder, exist_ok=True)
        with zipfile.ZipFile(os.path.join(folder, "炸彈.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            with z.open("炸彈.xlsx", "w", force_zip64=True) as fh:
                block = bytes(16 * 1024 * 1024)
                for _ in range(64):
                    fh.write(block)
        for name in ("巨大.xlsx", "巨大.eml", "巨大.zip", "巨大.xls"):
            with open(os.path.join(folder, name), "wb") as fh:
                fh.write(b"PK\\x03\\x04" if name.endswith(("xlsx", "zip")) else b"From: x\\r\\n")
                fh.truncate(1536 * 1024 * 1024)  # sparse: 1.5 GB that costs no disk
        from workbook.collect import collect
        def high_water_kb():
            # VmHWM belongs to this process's memory map, new at exec; ru_maxrss is not: Linux
            # carries it over from the parent (a big pytest worker) across fork and exec.
            with open("/proc/self/status") as fh:
                return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:"))
        base = high_water_kb()
        coll = collect([folder], workers=1)
        peak = high_water_kb()
        print(json.dumps({"peak_mb": peak / 1024, "base_mb": base / 1024,
                          "files": {s.source.rsplit("/", 1)[-1]: [s.status, s.reason] for s in coll.submissions}}))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "hostile")], env=env, capture_output=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    doc = json.loads(proc.stdout)
    assert doc["peak_mb"] < 300, doc
    files = doc["files"]
    assert set(files) == {"炸彈.zip › 炸彈.xlsx", "巨大.xlsx", "巨大.eml", "巨大.zip", "巨大.xls"}
    for name, (status, reason) in files.items():
        assert status in ("unreadable", "unsupported"), (name, status, reason)
    assert "過大" in files["炸彈.zip › 炸彈.xlsx"][1] and "過大" in files["巨大.xlsx"][1]


def test_links_in_a_folder_are_listed_not_followed(tmp_path):
    folder = tmp_path / "收件"
    folder.mkdir()
    secret = tmp_path / "elsewhere.xlsx"
    secret.write_bytes(b"PK")
    (folder / "捷徑.xlsx").symlink_to(secret)
    [sub] = collect([folder]).submissions
    assert (sub.status, sub.source) == ("ignored", "收件/捷徑.xlsx")
    assert "符號連結" in sub.reason
