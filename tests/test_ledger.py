"""Issue 19: one collection that the summary, the report, the archive and rollover all read.

The inbox is the coordinator's: three sections fill their parts of one template
(採購 as .xlsx and again as a correction forwarded by email, 廳舍 as a LibreOffice
.ods with a note), and the third section (公共關係業務) never returns.  Every output
must say the same numbers, notes, 未繳 list and scores.
"""

from __future__ import annotations

import email.message
import email.policy
import json
import multiprocessing
import sqlite3
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import yaml
from report_support import COUNTS_107, make_workbook, odt_tables

from kpi_engine import load_plan, parse_plan
from workbook.cli import main
from workbook.report.archive import SCHEMA_VERSION, Archive

PROCUREMENT = {k: COUNTS_107[k] for k in ("procurement_pass_rate", "e_tender_rate", "failed_tender_rate")}
CORRECTED = dict(PROCUREMENT, failed_tender_rate={"numerator": 60, "denominator": 640})
SAFETY_NOTE = "全年度巡檢缺失均已改善完成。"  # typed in LibreOffice, returned as .ods
E_TENDER_NOTE = "一件採購因系統維護改以紙本領標。"


def _forwarded(inner_attachment: bytes, name: str) -> bytes:
    """A section's email with the workbook, forwarded by a colleague (message/rfc822 inside)."""
    inner = email.message.EmailMessage()
    inner["From"], inner["To"], inner["Subject"] = "buy@example.gov.tw", "kpi@example.gov.tw", "更正"
    inner["Date"] = "Tue, 06 Jan 2026 09:12:00 +0800"
    inner.set_content("更正如附件")
    inner.add_attachment(inner_attachment, maintype="application", subtype="octet-stream", filename=name)
    outer = email.message.EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = "boss@example.gov.tw", "kpi@example.gov.tw", "Fwd: 更正"
    outer["Date"] = "Tue, 06 Jan 2026 10:00:00 +0800"
    outer.set_content("轉寄")
    outer.add_attachment(inner)
    return bytes(outer)


@pytest.fixture(scope="module")
def inbox(plan, tmp_path_factory):
    from workbook.libreoffice import recalculate

    root = tmp_path_factory.mktemp("ledger")
    box = root / "inbox"
    box.mkdir()
    make_workbook(
        plan,
        box,
        "採購.xlsx",
        year=107,
        period="FY",
        entries=PROCUREMENT,
        notes={"e_tender_rate": E_TENDER_NOTE},
        now=datetime(2026, 1, 5, 8, 0, 0),
    )
    work = root / "work"
    work.mkdir()
    fixed = make_workbook(
        plan,
        work,
        "採購-更正.xlsx",
        year=107,
        period="FY",
        entries=CORRECTED,
        notes={"e_tender_rate": E_TENDER_NOTE},  # the whole section again, one number corrected
        now=datetime(2026, 1, 6, 1, 0, 0),
    )
    (box / "轉寄-更正.eml").write_bytes(_forwarded(fixed.read_bytes(), "採購-更正.xlsx"))
    safety = make_workbook(
        plan,
        work,
        "廳舍.xlsx",
        year=107,
        period="FY",
        entries={"safety_defects": COUNTS_107["safety_defects"]},
        notes={"safety_defects": SAFETY_NOTE},
    )
    recalculate(safety, box / "廳舍.ods", fmt="ods")  # saved by LibreOffice: its time is in meta.xml
    db = root / "kpi.sqlite"
    out = root / "out"
    out.mkdir()
    return root, box, db, out


@pytest.fixture(scope="module")
def collected(inbox):
    _, box, db, out = inbox
    args = [
        "collect",
        str(box),
        "-o",
        str(out / "彙總.xlsx"),
        "--archive",
        str(db),
        "--remind",
        str(out / "催繳"),
    ]
    assert main(args) == 0


def _json(inbox, tmp_path) -> dict:
    _, box, _, _ = inbox
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["collect", str(box), "-o", str(tmp_path / "s.xlsx"), "--json"]) == 0
    return json.loads(buf.getvalue())


def test_one_collection_with_provenance_and_the_missing_section(inbox, collected, tmp_path):
    data = _json(inbox, tmp_path)
    files = {Path(f["source"]).name.split(" › ")[-1]: f for f in data["files"]}
    assert files["廳舍.ods"]["status"] in ("ok", "warnings") and files["廳舍.ods"]["saved_at"]  # meta.xml
    assert any("採購.xlsx" in f["source"] and f["status"] == "duplicate" for f in data["files"])
    # the forwarded email's Date as the sender wrote it (not 01:12 UTC)
    sent = [f["sent_shown"] for f in data["files"] if f["sent_shown"]]
    assert sent == ["2026-01-06 09:12:00 +0800"]
    cell = next(
        c
        for c in data["cells"]
        if (c["target"], c["input"]) == ("failed_tender_rate", "numerator") and c["field"] == "in"
    )
    assert (cell["value"], cell["replaced"]) == (60, 64)
    assert cell["file"].endswith("採購-更正.xlsx") and cell["replaced_file"].endswith("採購.xlsx")
    notes = {r["indicator_id"]: r["note"] for r in data["rows"]}
    assert notes["safety_defects"] == SAFETY_NOTE and notes["e_tender_rate"] == E_TENDER_NOTE
    returns = {r["owner"]: r["status"] for r in data["returns"]}
    assert returns == {"公共關係業務": "missing", "採購管理業務": "returned", "廳舍管理業務": "returned"}


def test_summary_has_the_returns_sheet_and_the_ods_note(inbox, collected):
    _, _, _, out = inbox
    wb = openpyxl.load_workbook(out / "彙總.xlsx")
    rows = [[c for c in r] for r in wb["繳交情形"].iter_rows(values_only=True)]
    missing = [r for r in rows if "未繳" in r]
    assert len(missing) == 1 and "公共關係業務" in missing[0] and "每年志工人數成長比例" in missing[0][5]
    notes = [v for r in wb["彙總"].iter_rows(values_only=True) for v in r if v == SAFETY_NOTE]
    assert notes == [SAFETY_NOTE]


def test_reminder_for_the_missing_section(inbox, collected):
    _, _, _, out = inbox
    (eml,) = sorted((out / "催繳").iterdir())
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    body = msg.get_body(("plain",)).get_content()
    assert "公共關係業務" in body and "每年志工人數成長比例" in body
    (att,) = list(msg.iter_attachments())
    assert att.get_filename().endswith("公共關係業務.xlsx")


def test_report_from_the_inbox_equals_the_report_from_the_archive(inbox, collected, capsys):
    _, box, db, out = inbox
    assert main(["report", str(box), "-o", str(out / "inbox.odt")]) == 0
    from_inbox = capsys.readouterr().out
    assert (
        main(
            [
                "report",
                "--archive",
                str(db),
                "--year",
                "107",
                "--period",
                "全年度",
                "-o",
                str(out / "arc.odt"),
            ]
        )
        == 0
    )
    from_archive = capsys.readouterr().out
    tables = odt_tables(out / "inbox.odt")
    assert tables == odt_tables(out / "arc.odt")
    assert from_inbox.replace("inbox.odt", "") == from_archive.replace("arc.odt", "")
    rows = {r[1].replace(" (", "("): r for r in tables[0][1:]}
    volunteer = rows["每年志工人數成長比例(15%)"]
    assert volunteer[3] == "—" and "未填報" in volunteer[-1] and "15%" in volunteer[-1]
    assert rows["流廢標下降率(15%)"][3] == "9.38%"  # 60/640: the forwarded correction won
    assert SAFETY_NOTE in rows["每年民眾及同仁、巡檢人員反映辦公環境安全缺失件數(15%)"][-1]
    assert "未填報" in from_inbox and "權重 15%" in from_inbox
    assert "加權得分" in from_inbox


def test_rollover_samples_are_the_collection(plan, inbox, collected, tmp_path, capsys):
    _, _, db, _ = inbox
    out = tmp_path / "108.yaml"
    assert main(["plan", "rollover", "--to", "108", "--archive", str(db), "-o", str(out)]) == 0
    assert "實績 4 項" in capsys.readouterr().out
    sample = yaml.safe_load(out.read_text(encoding="utf-8"))["sample"]
    assert sample["entries"]["failed_tender_rate"] == {"numerator": 60, "denominator": 640}
    assert sample["entries"]["safety_defects"] == {"count": 70}
    assert sample["entries"]["volunteer_growth"] == {"current": None, "previous": None}
    assert sample["notes"] == {"e_tender_rate": E_TENDER_NOTE, "safety_defects": SAFETY_NOTE}


def test_the_archive_stores_the_ledger(inbox, collected):
    _, _, db, _ = inbox
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        value, replaced, won, lost = conn.execute(
            "SELECT c.value, c.replaced, w.source, r.source FROM cells c JOIN files w ON w.id = c.file_id"
            " JOIN files r ON r.id = c.replaced_file_id WHERE c.target = 'failed_tender_rate' AND c.role = 'numerator'"
        ).fetchone()
        assert (
            (value, replaced) == ("60", "64")
            and won.endswith("採購-更正.xlsx")
            and lost.endswith("採購.xlsx")
        )
        assert conn.execute("SELECT value FROM texts WHERE target = 'safety_defects'").fetchone() == (
            SAFETY_NOTE,
        )


def _collect_into(args: tuple[str, str, str]) -> int:
    box, summary, db = args
    return main(["collect", box, "-o", summary, "--archive", db, "--json"])


def test_two_processes_collecting_into_one_archive_lose_nothing(plan, tmp_path):
    boxes = []
    for n, unit in enumerate(("北區", "南區")):
        box = tmp_path / f"box{n}"
        box.mkdir()
        for k in range(3):
            make_workbook(
                plan, box, f"{unit}{k}.xlsx", year=107, unit=f"{unit}{k}", period="FY", entries=COUNTS_107
            )
        boxes.append(box)
    db = tmp_path / "shared.sqlite"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        codes = pool.map(
            _collect_into, [(str(b), str(tmp_path / f"s{n}.xlsx"), str(db)) for n, b in enumerate(boxes)]
        )
    assert codes == [0, 0]
    with Archive.open(db, create=False) as arc:
        units = {r.unit for r in arc.collection().rows}
    assert units == {f"{u}{k}" for u in ("北區", "南區") for k in range(3)}


def _agency_plan(plan, agency: str, plan_id: str) -> str:
    text = plan.text.replace(f"agency: {plan.agency}", f"agency: {agency}")
    return text.replace(f"id: {plan.id}", f"id: {plan_id}")


def test_two_agencies_of_one_year_are_never_mixed(plan, tmp_path, capsys):
    plans = {}
    for agency in ("臺中市政府教育局", "臺中市政府衛生局"):
        pid = f"plan_{__import__('hashlib').sha256(agency.encode()).hexdigest()[:8]}_107"
        path = tmp_path / f"{agency}.yaml"
        path.write_text(_agency_plan(plan, agency, pid), encoding="utf-8")
        plans[agency] = parse_plan(path.read_text(encoding="utf-8"), source=str(path))
    box = tmp_path / "box"
    box.mkdir()
    make_workbook(plans["臺中市政府教育局"], box, "教育局.xlsx", year=107, entries=COUNTS_107)
    make_workbook(
        plans["臺中市政府衛生局"],
        box,
        "衛生局.xlsx",
        year=107,
        entries=dict(COUNTS_107, safety_defects={"count": 5}),
    )
    edu, health = (str(tmp_path / f"{a}.yaml") for a in plans)
    # Only 教育局's plan given: 衛生局's return is another agency's, never merged, never "outdated".
    assert main(["collect", str(box), "-o", str(tmp_path / "s.xlsx"), "--plan", edu]) == 0
    said = capsys.readouterr().out
    assert "衛生局" in said and "範本版本" not in said
    # Both given: two groups, and the report names each agency instead of mixing them.
    assert main(["report", str(box), "--plan", edu, "--plan", health, "-o", str(tmp_path / "r.odt")]) == 2
    err = capsys.readouterr().err
    assert "臺中市政府教育局" in err and "臺中市政府衛生局" in err and "Traceback" not in err
    assert main(["report", str(box), "--plan", health, "-o", str(tmp_path / "h.odt")]) == 0
    rows = {r[1].replace(" (", "("): r for r in odt_tables(tmp_path / "h.odt")[0][1:]}
    assert rows["每年民眾及同仁、巡檢人員反映辦公環境安全缺失件數(15%)"][3] == "5件"
    # The old imported ids (plan_107 for every agency): refused with both files named.
    clash = tmp_path / "clash.yaml"
    clash.write_text(_agency_plan(plan, "臺中市政府衛生局", plans["臺中市政府教育局"].id), encoding="utf-8")
    assert (
        main(["collect", str(box), "-o", str(tmp_path / "c.xlsx"), "--plan", edu, "--plan", str(clash)]) == 2
    )
    err = capsys.readouterr().err
    assert "clash.yaml" in err and "教育局.yaml" in err and "Traceback" not in err


def test_imported_plan_ids_come_from_the_agency(seed_text, tmp_path):
    from plan_documents import second_blocks, seed_blocks, write_docx

    from workbook.plan_io.docimport import import_document

    seed = import_document(write_docx(seed_blocks(seed_text, load_plan()), tmp_path / "seed.docx"))
    other = import_document(write_docx(second_blocks(), tmp_path / "second.docx"))
    assert seed["agency"] != other["agency"]
    assert seed["id"].startswith("plan_") and seed["id"].endswith(f"_{seed['year']}")
    assert seed["id"] != other["id"] and seed["id"] != f"plan_{seed['year']}"


def test_rollover_writes_what_its_extension_names_and_export_takes_unset_targets(tmp_path, capsys):
    import zipfile

    for suffix, part in ((".xlsx", "xl/workbook.xml"), (".ods", "content.xml")):
        out = tmp_path / f"計畫設定108{suffix}"
        assert main(["plan", "rollover", "--to", "108", "-o", str(out)]) == 0
        assert part in zipfile.ZipFile(out).namelist()
    back = tmp_path / "back.yaml"
    assert main(["plan", "export", str(tmp_path / "計畫設定108.xlsx"), "-o", str(back)]) == 0
    assert "目標值待設定 5 項" in capsys.readouterr().out
    data = yaml.safe_load(back.read_text(encoding="utf-8"))
    assert data["year"] == 108 and {i["target"] for g in data["goals"] for i in g["indicators"]} == {"待設定"}


def test_a_half_year_archive_gives_a_sample_marked_pending(plan, tmp_path, capsys):
    wb = make_workbook(plan, tmp_path, "107-上半年.xlsx", year=107, entries=COUNTS_107)
    db = tmp_path / "h1.sqlite"
    assert main(["collect", str(wb), "-o", str(tmp_path / "s.xlsx"), "--archive", str(db)]) == 0
    capsys.readouterr()
    out = tmp_path / "108.yaml"
    assert main(["plan", "rollover", "--to", "108", "--archive", str(db), "-o", str(out)]) == 0
    said = capsys.readouterr()
    assert "待補" in said.err and "上半年" in said.err and "待補" in said.out
    text = out.read_text(encoding="utf-8")
    sample = yaml.safe_load(text)["sample"]
    assert sample["period"] == "FY" and all(v is None for e in sample["entries"].values() for v in e.values())
    marked = [line for line in text.splitlines() if line.endswith(": null  # 待補")]
    assert len(marked) == sum(len(i.inputs) for i in plan.indicators)


def test_samples_are_checked_like_entries(plan, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    text = plan.text.replace("e_tender_rate: {numerator: 10,", "e_tender_rate: {numerator: 11,")
    assert text != plan.text
    bad.write_text(text, encoding="utf-8")
    assert main(["plan", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "sample e_tender_rate" in out and "plan OK" not in out
    assert main(["plan", "check"]) == 0  # the seed's blank volunteer counts are a warning, not an error


def test_returns_past_the_due_date_are_overdue(inbox, collected, tmp_path, capsys):
    _, box, _, _ = inbox
    assert main(["collect", str(box), "-o", str(tmp_path / "s.xlsx"), "--due", "115-01-01"]) == 0
    assert "[逾期] 臺中市政府秘書處 公共關係業務" in capsys.readouterr().out
    assert main(["collect", str(box), "-o", str(tmp_path / "s.xlsx"), "--due", "明天"]) == 2


def test_a_later_libreoffice_ods_correction_wins_by_its_saved_time(plan, tmp_path):
    from workbook.collect import collect
    from workbook.libreoffice import recalculate

    box = tmp_path / "box"
    box.mkdir()
    counts = dict(COUNTS_107, failed_tender_rate={"numerator": 48, "denominator": 640})
    make_workbook(plan, box, "原始.xlsx", year=107, entries=counts, now=datetime(2020, 1, 1, 9, 0, 0))
    fixed = dict(COUNTS_107, failed_tender_rate={"numerator": 50, "denominator": 640})
    recalculate(
        make_workbook(plan, tmp_path, "更正.xlsx", year=107, entries=fixed), box / "更正.ods", fmt="ods"
    )
    coll = collect([box], workers=1)
    (row,) = [r for r in coll.rows if r.result.indicator == "failed_tender_rate"]
    assert row.result.inputs["numerator"] == 50 and row.source.endswith("更正.ods")
    status = {Path(s.source).name: s.status for s in coll.submissions}
    assert status == {"原始.xlsx": "duplicate", "更正.ods": "ok"}


def test_the_same_file_three_times_counts_once_and_names_the_first(plan, tmp_path):
    from workbook.collect import collect

    wb = make_workbook(plan, tmp_path, "a.xlsx", year=107, entries=COUNTS_107)
    box = tmp_path / "box"
    box.mkdir()
    for name in ("1.xlsx", "2.xlsx", "3.xlsx"):
        (box / name).write_bytes(wb.read_bytes())
    coll = collect([box], workers=1)
    reasons = sorted(s.reason for s in coll.submissions if s.status == "duplicate")
    assert len(reasons) == 2 and all("1.xlsx" in r and "內容相同" in r for r in reasons)


def test_progress_is_a_line_per_hundred_files_off_a_terminal(capsys):
    from workbook.collect import rich_progress

    items = [(f"f{n}.xlsx", None) for n in range(250)]
    assert list(rich_progress(iter(items))) == items
    err = capsys.readouterr().err
    assert err.splitlines() == ["已讀取 100 個檔案 / 100 files read", "已讀取 200 個檔案 / 200 files read"]


def test_the_terminal_shows_the_error_that_made_a_file_errors(capsys):
    from kpi_engine.consolidate import Submission
    from kpi_engine.findings import Finding
    from workbook.collect import Collection
    from workbook.report.terminal import print_collection

    sub = Submission("a.xlsx", "0" * 64, 1, "errors")
    warn = [Finding("missing", "warning", None, None, None, f"警告{n}", "w") for n in range(3)]
    sub.findings = [*warn, Finding("conflict", "error", None, None, None, "兩個檔案的數值不同", "e")]
    print_collection(Collection([load_plan()], [sub], plans_named=False), "s.xlsx")
    out = capsys.readouterr().out
    assert "兩個檔案的數值不同" in out.split("a.xlsx", 1)[1].splitlines()[1]


# ---------------------------------------------------------------------------
# next year's plan with its targets 待設定; the plan's units with their contacts
# ---------------------------------------------------------------------------


def test_a_rolled_over_plan_with_unset_targets_goes_template_to_report(tmp_path, capsys):
    """Mid-year drafting: rollover → template → fill → calculate → collect → report, no made-up rate."""
    nxt = tmp_path / "108.yaml"
    assert main(["plan", "rollover", "--to", "108", "-o", str(nxt)]) == 0
    assert main(["plan", "check", str(nxt)]) == 2  # the plan is not final: plan check lists the targets
    assert capsys.readouterr().err.count("target_unset") == 5
    plan = load_plan(nxt)
    assert all(i.target.unset for i in plan.indicators) and len(plan.pending) == 5
    assert main(["template", "--plan", str(nxt), "-o", str(tmp_path / "t.xlsx")]) == 0
    kpi = openpyxl.load_workbook(tmp_path / "t.xlsx")["關鍵績效指標"]
    shown = [c.value for row in kpi.iter_rows() for c in row if c.value == "目標值待設定"]
    assert len(shown) == 5  # where the target is
    box = tmp_path / "box"
    box.mkdir()
    wb = make_workbook(plan, box, "108上半年.xlsx", year=108, period="H1", entries=COUNTS_107)
    capsys.readouterr()
    assert main(["calculate", str(wb), "-o", str(tmp_path / "calc.xlsx"), "--json"]) == 0
    calculated = [r for r in json.loads(capsys.readouterr().out)["indicators"] if r["period"] == "H1"]
    assert len(calculated) == 5 and {r["achievement_rate"] for r in calculated} == {None}
    assert all("目標值待設定" in r["sentence"] for r in calculated)
    from python_calamine import CalamineWorkbook

    shown = CalamineWorkbook.from_path(tmp_path / "calc.xlsx")
    cells = [v for s in shown.sheet_names for row in shown.get_sheet_by_name(s).to_python() for v in row]
    assert cells.count("目標值待設定") >= 5 + 5  # the targets, and each H1 達成情形 the calculation wrote
    assert main(["collect", str(box), "--plan", str(nxt), "-o", str(tmp_path / "s.xlsx"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert len(rows) == 5
    for r in rows:
        assert r["target"] == "待設定" and r["achieved_text"] == "目標值待設定" and r["achieved"] is None
        assert r["achievement_rate"] is None and r["light"] == "white"
        assert "目標值待設定，未評估達成情形" in r["sentence"] and "達成率" not in r["sentence"]
    volunteers = next(r for r in rows if r["indicator_id"] == "volunteer_growth")
    assert volunteers["value"] == 8  # the value is computed: (108-100)/100
    out = tmp_path / "r.odt"
    assert (
        main(["report", str(box), "--plan", str(nxt), "--year", "108", "--period", "H1", "-o", str(out)]) == 0
    )
    assert "目標值待設定 5 項，不計分" in capsys.readouterr().out
    table = odt_tables(out)[0]
    body = [r for r in table if r and r[1] and "(" in r[1]]
    assert len(body) == 5 and {r[2] for r in body} == {"待設定"} and {r[4] for r in body} == {"—"}
    assert all(r[5] == "白燈" for r in body)


def _contact_plan(plan, tmp_path) -> Path:
    data = yaml.safe_load(plan.text)
    data["units"] = [
        {"name": plan.agency, "contact": "王小明", "email": "kpi-sec@taichung.gov.tw"},
        "人事室",  # listed without an address; never sends anything
    ]
    path = tmp_path / "units.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_plan_units_with_contacts_round_trip_yaml_and_workbook(plan, tmp_path, capsys):
    from workbook.plan_io.reading import read_plan_data

    src = _contact_plan(plan, tmp_path)
    assert main(["plan", "export", str(src), "-o", str(tmp_path / "p.xlsx")]) == 0
    sheet = openpyxl.load_workbook(tmp_path / "p.xlsx")["計畫"]
    seen = [[c.value for c in row] for row in sheet.iter_rows()]
    assert [plan.agency, "kpi-sec@taichung.gov.tw", "王小明"] in [r[:3] for r in seen]  # visible, editable
    data, cells = read_plan_data(tmp_path / "p.xlsx")
    assert data["units"] == yaml.safe_load(src.read_text(encoding="utf-8"))["units"]
    sheet_name, cell = cells["units[0].email"]  # a wrong address is named by its cell
    assert sheet_name == "計畫" and sheet[cell].value == "kpi-sec@taichung.gov.tw"
    assert main(["plan", "export", str(tmp_path / "p.xlsx"), "-o", str(tmp_path / "back.yaml")]) == 0
    back = load_plan(tmp_path / "back.yaml")
    assert back.fingerprint == load_plan(src).fingerprint
    assert back.contact(plan.agency).email == "kpi-sec@taichung.gov.tw" and back.contact("人事室").email == ""
    bad = yaml.safe_load(src.read_text(encoding="utf-8"))
    bad["units"][0]["email"] = "not an address"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    assert main(["plan", "check", str(tmp_path / "bad.yaml")]) == 2
    assert "units" in capsys.readouterr().err


def test_reminders_go_to_the_plans_addresses_and_a_unit_never_seen_is_owed(plan, tmp_path, capsys):
    src = _contact_plan(plan, tmp_path)
    given = load_plan(src)
    box = tmp_path / "box"
    box.mkdir()
    make_workbook(given, box, "採購.xlsx", year=107, period="FY", unit=plan.agency, entries=PROCUREMENT)
    out = tmp_path / "催繳"
    args = ["collect", str(box), "--plan", str(src), "-o", str(tmp_path / "s.xlsx"), "--remind", str(out)]
    assert main([*args, "--json"]) == 0
    said = capsys.readouterr()
    returns = json.loads(said.out)["returns"]
    staff = [r for r in returns if r["unit"] == "人事室"]  # no template of it was ever seen
    assert staff and {r["status"] for r in staff} == {"missing"} and len(staff) == len(plan.owners)
    assert "人事室" in said.err and "email" in said.err and plan.agency + "：" not in said.err
    mails = {
        p.name.split("_")[0]: email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in out.iterdir()
    }
    assert set(mails) == {plan.agency, "人事室"}
    assert mails[plan.agency]["To"].addresses[0].addr_spec == "kpi-sec@taichung.gov.tw"
    assert mails[plan.agency]["To"].addresses[0].display_name == "王小明"
    assert "王小明 您好" in mails[plan.agency].get_body(("plain",)).get_content()
    assert mails["人事室"]["To"] is None


def _typed_formula(plan, tmp_path) -> Path:
    """A return whose 本年度 count of volunteers is typed as =1+1 (openpyxl writes the formula)."""
    wb_path = make_workbook(plan, tmp_path, "志工.xlsx", year=107, period="FY", entries=COUNTS_107)
    wb = openpyxl.load_workbook(wb_path)
    sheet, ref = next(iter(wb.defined_names["IN_volunteer_growth_FY_current"].destinations))
    wb[sheet][ref.replace("$", "")] = "=1+1"
    wb.save(wb_path)
    return wb_path


def _formula_findings(findings) -> set[tuple]:
    return {
        (f["code"], f["indicator"], f["input"], f["sheet"], f["cell"])
        for f in findings
        if f["code"] == "formula_in_input"
    }


@pytest.mark.parametrize("saved_by", ["libreoffice-xlsx", "libreoffice-ods"])
def test_a_formula_typed_into_a_count_is_found_by_collect_as_by_calculate(plan, tmp_path, capsys, saved_by):
    """calamine reads =1+1 as 2: collect asks the file which inputs hold formulas, as calculate does."""
    from workbook.libreoffice import recalculate

    (tmp_path / "src").mkdir()
    typed = _typed_formula(plan, tmp_path / "src")
    box = tmp_path / "box"
    box.mkdir()
    fmt = saved_by.split("-")[1]
    returned = recalculate(typed, box / f"志工.{fmt}", fmt=fmt)  # saved with its value: 2
    capsys.readouterr()
    assert main(["check", str(returned), "--json"]) == 1
    by_calculate = _formula_findings(json.loads(capsys.readouterr().out)["findings"])
    assert len(by_calculate) == 1
    assert main(["collect", str(box), "-o", str(tmp_path / "s.xlsx"), "--json"]) == 1  # a file with errors
    data = json.loads(capsys.readouterr().out)
    (sub,) = data["files"]
    assert sub["status"] == "errors"
    assert _formula_findings(data["findings"]) == by_calculate  # the same finding, same cell
    volunteers = next(r for r in data["rows"] if r["indicator_id"] == "volunteer_growth")
    assert volunteers["value"] is None and volunteers["light"] == "white"  # not computed from the 2
