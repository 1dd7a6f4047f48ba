"""The archive (``kpi collect --archive``) and the two-year report (``kpi report --archive --compare``)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime
from decimal import Decimal

import pytest
from report_support import COUNTS_107, make_workbook, odt_tables

from workbook.cli import main
from workbook.report.archive import SCHEMA_VERSION, Archive, ArchiveError


@pytest.fixture(scope="module")
def two_years(plan, tmp_path_factory):
    folder = tmp_path_factory.mktemp("archive")
    y106 = make_workbook(
        plan, folder, "106.xlsx", year=106, entries=plan.sample.entries, notes=plan.sample.notes
    )
    y107 = make_workbook(
        plan,
        folder,
        "107.xlsx",
        year=107,
        entries=COUNTS_107,
        notes={"e_tender_rate": "一件採購因系統維護改以紙本領標。"},
    )
    db = folder / "kpi.sqlite"
    for wb in (y106, y107):
        assert (
            main(["collect", str(wb), "-o", str(folder / f"summary-{wb.stem}.xlsx"), "--archive", str(db)])
            == 0
        )
    return folder, db, y106, y107


def count(db, sql):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def test_everything_is_archived_with_its_file(two_years):
    _, db, _, _ = two_years
    assert count(db, "PRAGMA user_version") == SCHEMA_VERSION
    assert count(db, "SELECT COUNT(*) FROM files") == 2
    assert count(db, "SELECT COUNT(*) FROM results") == 5 + 5  # 106 volunteers too: a white light
    assert count(db, "SELECT COUNT(DISTINCT year) FROM results") == 2
    assert count(db, "SELECT COUNT(*) FROM texts WHERE field = 'note'") == 5 + 1
    assert count(db, "SELECT COUNT(*) FROM findings") >= 1  # 106's blank volunteers: a warning
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT r.value, r.rate, r.light, r.unit, f.source, length(f.sha256) FROM results r"
            " JOIN files f ON f.id = r.file_id WHERE r.year = 106 AND r.indicator = 'procurement_pass_rate'"
        ).fetchone()
    assert (Decimal(row[0]), Decimal(row[1])) == (Decimal("89.05"), 100)  # decimal text: exact
    assert row[2:4] == ("green", "臺中市政府秘書處")
    assert row[4].endswith("106.xlsx") and row[5] == 64


def test_collecting_the_same_file_twice_adds_nothing(two_years, tmp_path):
    _folder, db, y106, _ = two_years
    before = count(db, "SELECT COUNT(*) FROM results")
    assert main(["collect", str(y106), "-o", str(tmp_path / "s.xlsx"), "--archive", str(db)]) == 0
    assert count(db, "SELECT COUNT(*) FROM results") == before
    assert count(db, "SELECT COUNT(*) FROM files") == 2


def test_a_newer_version_supersedes_and_keeps_history(plan, two_years, tmp_path):
    _, db, _, _ = two_years
    work = tmp_path / "db.sqlite"
    shutil.copyfile(db, work)
    fixed = dict(COUNTS_107, safety_defects={"count": 50})
    newer = make_workbook(
        plan,
        tmp_path,
        "107-更正.xlsx",
        year=107,
        entries=fixed,
        notes={"e_tender_rate": "一件採購因系統維護改以紙本領標。"},  # the whole return again
        now=datetime(2099, 1, 2, 3, 4, 5),
    )
    assert main(["collect", str(newer), "-o", str(tmp_path / "s.xlsx"), "--archive", str(work)]) == 0
    with sqlite3.connect(work) as conn:
        rows = conn.execute(
            "SELECT c.value, c.replaced, w.source, r.source FROM cells c JOIN files w ON w.id = c.file_id"
            " JOIN files r ON r.id = c.replaced_file_id WHERE c.year = 107 AND c.target = 'safety_defects'"
        ).fetchall()
        statuses = dict(conn.execute("SELECT source, status FROM files WHERE year = 107"))
    # the newer value is current; the one it replaced, and its file, stay on record
    assert [
        (v, old, won.endswith("107-更正.xlsx"), lost.endswith("107.xlsx")) for v, old, won, lost in rows
    ] == [("50", "70", True, True)]
    assert sorted(statuses.values()) == ["duplicate", "ok"]
    with Archive.open(work, create=False) as arc:
        current = arc.results(year=107)["臺中市政府秘書處"]
    assert {r.indicator: r.value for r in current}["safety_defects"] == Decimal(50)
    assert len(current) == 5
    # An older version collected later is history at once: the newest stays current.
    older = make_workbook(
        plan,
        tmp_path,
        "107-舊版.xlsx",
        year=107,
        entries=dict(COUNTS_107, safety_defects={"count": 99}),
        now=datetime(2000, 1, 1),
    )
    assert main(["collect", str(older), "-o", str(tmp_path / "s2.xlsx"), "--archive", str(work)]) == 0
    with Archive.open(work, create=False) as arc:
        current = arc.results(year=107)["臺中市政府秘書處"]
    assert {r.indicator: r.value for r in current}["safety_defects"] == Decimal(50)
    assert count(work, "SELECT COUNT(*) FROM results WHERE year = 107 AND indicator = 'safety_defects'") == 3


def test_two_year_report(two_years, tmp_path):
    _, db, _, _ = two_years
    out = tmp_path / "two-years.odt"
    assert main(["report", "--archive", str(db), "--year", "107", "--compare", "106", "-o", str(out)]) == 0
    header, *rows = odt_tables(out)[0]
    assert header[6:8] == ["106年度實際值", "增減"]
    by_name = {r[1].replace(" (", "("): r for r in rows}
    assert by_name["本府採購專業人員基礎班訓練及格率(15%)"][3:8] == [
        "90%",
        "100%",
        "綠燈",
        "89.05%",
        "+0.95個百分點（進步）",
    ]
    assert by_name["電子領標達成率(10%)"][3:8] == ["90%", "90%", "黃燈", "100%", "-10個百分點（退步）"]
    assert by_name["每年民眾及同仁、巡檢人員反映辦公環境安全缺失件數(15%)"][6:8] == ["63件", "+7件（退步）"]
    assert by_name["每年志工人數成長比例(15%)"][6:8] == ["—", "—"]  # not reported in 106
    assert "一件採購因系統維護改以紙本領標。" in by_name["電子領標達成率(10%)"][-1]


def test_compare_needs_an_archive(two_years, tmp_path, capsys):
    _, _, _, y107 = two_years
    assert main(["report", str(y107), "--compare", "106", "-o", str(tmp_path / "r.odt")]) == 2
    assert "--archive" in capsys.readouterr().err


def test_schema_is_versioned_and_refuses_a_newer_one(tmp_path, capsys):
    db = tmp_path / "future.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(ArchiveError, match="99"), Archive.open(db):
        pass
    assert main(["report", "--archive", str(db), "-o", str(tmp_path / "r.odt")]) == 2
    assert "請更新" in capsys.readouterr().err
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["report", "--archive", str(junk), "-o", str(tmp_path / "r.odt")]) == 2
    assert main(["report", "--archive", str(tmp_path / "missing.sqlite"), "-o", str(tmp_path / "r.odt")]) == 2
    assert not (tmp_path / "missing.sqlite").exists()  # reading never creates an archive


@pytest.fixture(scope="module")
def full_year_archive(plan, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rollover")
    wb = make_workbook(
        plan,
        folder,
        "107-全年度.xlsx",
        year=107,
        period="FY",
        entries=COUNTS_107,
        notes={"safety_defects": "全年度巡檢缺失均已改善完成。"},
    )
    db = folder / "kpi.sqlite"
    assert main(["collect", str(wb), "-o", str(folder / "summary.xlsx"), "--archive", str(db)]) == 0
    return folder, db


def test_rollover_to_108(plan, full_year_archive, capsys):
    from kpi_engine import PlanError, evaluate, load_plan, sample_entries
    from kpi_engine.plan_loader import require_final

    folder, db = full_year_archive
    out = folder / "plan108.yaml"
    assert main(["plan", "rollover", "--to", "108", "--archive", str(db), "-o", str(out)]) == 0
    # kpi plan check fails on exactly the unset targets, and names each one.
    assert main(["plan", "check", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("目標值尚未設定") == len(plan.indicators) == 5
    draft = load_plan(out)  # it loads (templates are made from it) but is not final
    assert [i.path for i in draft.pending] == [
        f"goals[{g}].indicators[{i}].target" for g, i in ((0, 0), (1, 0), (1, 1), (1, 2), (2, 0))
    ]
    with pytest.raises(PlanError) as caught:
        require_final(draft)
    assert caught.value.issues == list(draft.pending)
    # Once the coordinator sets them, the plan is whole.
    text = out.read_text(encoding="utf-8")
    targets = iter(["9%", "84%", "100%", "11%", "≤115"])
    filled = "\n".join(
        line.replace("待設定", next(targets)) if line.strip() == "target: 待設定" else line
        for line in text.splitlines()
    )
    out.write_text(filled, encoding="utf-8")
    assert main(["plan", "check", str(out)]) == 0
    new = load_plan(out)
    assert (new.id, new.year, new.title) == (
        "taichung_secretariat_108",
        108,
        "臺中市政府秘書處 108 年度施政計畫",
    )
    old_targets = {i.id: i.target.printed for i in plan.indicators}
    assert {i.id: i.previous_target.printed for i in new.indicators} == old_targets
    assert new.sample.year == 107 and new.sample.period == "FY" and new.sample.targets == "previous"
    assert new.sample.entries == COUNTS_107
    assert new.sample.notes == {"safety_defects": "全年度巡檢缺失均已改善完成。"}
    assert len(new.work_plans) == len(plan.work_plans) and new.overview == plan.overview
    # Next year's Part 4 comes straight out of it: 107's results against 107's targets.
    ev = evaluate(new, sample_entries(new), targets="previous", year=107)
    r = ev.result("procurement_pass_rate", "全年度")
    assert (r.value, r.target, r.achievement_rate) == (Decimal(90), "83%", 100)


def test_rollover_without_archive_has_no_sample(tmp_path):
    from kpi_engine.plan_loader import UNSET_TARGET

    out = tmp_path / "next.yaml"
    assert main(["plan", "rollover", "--to", "108", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "sample:" not in text and text.count(f"target: {UNSET_TARGET}") == 5
    assert main(["plan", "rollover", "--to", "107", "-o", str(tmp_path / "x.yaml")]) == 2


def test_compare_phrase_in_the_sentence(plan, two_years, tmp_path):
    text = plan.text.replace(
        "  not_met: 未達原訂目標值\n",
        "  not_met: 未達原訂目標值\n  compare: 較{compare_year}年度同期{change}。\n",
    )
    assert "compare:" in text
    mine = tmp_path / "plan.yaml"
    mine.write_text(text, encoding="utf-8")
    _, db, _, _ = two_years
    out = tmp_path / "r.odt"
    args = ["report", "--archive", str(db), "--plan", str(mine), "--year", "107", "--compare", "106"]
    assert main([*args, "-o", str(out)]) == 0
    rows = {r[1].replace(" (", "("): r for r in odt_tables(out)[0][1:]}
    assert rows["本府採購專業人員基礎班訓練及格率(15%)"][-1].endswith(
        "達成率100%。較106年度同期+0.95個百分點（進步）。"
    )
    assert rows["每年志工人數成長比例(15%)"][-1].endswith("達成率100%。")  # nothing to compare with
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("{change}", "{oops}"), encoding="utf-8")
    assert main(["plan", "check", str(bad)]) == 2


def test_a_version_1_archive_is_migrated_and_merged_per_cell(plan, tmp_path):
    """Version 1 kept the newest *file* per indicator: two sections' files lost each other's numbers."""
    from workbook.report.archive import MIGRATIONS

    db = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO plans VALUES (?, ?, ?, ?, '2026-01-01')", (plan.fingerprint, plan.id, 107, plan.text)
    )
    files = [("a" * 64, "採購.xlsx", "2026-01-01 08:00:00"), ("b" * 64, "廳舍.xlsx", "2026-01-02 08:00:00")]
    for n, (sha, source, when) in enumerate(files, start=1):
        conn.execute(
            "INSERT INTO files (id, sha256, source, size, status, plan_id, fingerprint, unit, year, version_time,"
            " collected_at) VALUES (?, ?, ?, 1, 'ok', ?, ?, '臺中市政府秘書處', 107, ?, ?)",
            (n, sha, source, plan.id, plan.fingerprint, when, when),
        )
    counts = {1: {"numerator": "180", "denominator": "200"}, 2: {"numerator": None, "denominator": None}}
    for file_id, inputs in counts.items():
        conn.execute(
            "INSERT INTO results (file_id, plan_id, fingerprint, year, period, unit, indicator, inputs, light,"
            " sentence) VALUES (?, ?, ?, 107, 'H1', '臺中市政府秘書處', 'procurement_pass_rate', ?, 'white', '')",
            (file_id, plan.id, plan.fingerprint, json.dumps(inputs)),
        )
    conn.execute(
        "INSERT INTO results (file_id, plan_id, fingerprint, year, period, unit, indicator, inputs, light, sentence)"
        " VALUES (2, ?, ?, 107, 'H1', '臺中市政府秘書處', 'safety_defects', ?, 'white', '')",
        (plan.id, plan.fingerprint, json.dumps({"count": "70"})),
    )
    conn.execute(
        "INSERT INTO staff_text (file_id, plan_id, year, period, unit, kind, key, text)"
        " VALUES (2, ?, 107, 'H1', '臺中市政府秘書處', 'note', 'safety_defects', '巡檢完成')",
        (plan.id,),
    )
    conn.commit()
    conn.close()
    with Archive.open(db) as arc:
        rows = {r.result.indicator: r for r in arc.collection(year=107).rows}
    assert count(db, "PRAGMA user_version") == SCHEMA_VERSION
    assert rows["procurement_pass_rate"].result.value == Decimal(90)  # the blank never replaced it
    assert rows["safety_defects"].result.inputs == {"count": Decimal(70)}
    assert rows["safety_defects"].note == "巡檢完成"


def test_archive_failures_say_what_happened(plan, two_years, tmp_path, capsys, monkeypatch):
    _, _, y106, _ = two_years
    summary = str(tmp_path / "s.xlsx")
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE meetings (id INTEGER)")
    assert main(["collect", str(y106), "-o", summary, "--archive", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert "另一程式的資料庫" in err and "Traceback" not in err
    assert not (tmp_path / "s.xlsx").exists()  # said before any work
    with sqlite3.connect(foreign) as conn:  # untouched
        assert [n for (n,) in conn.execute("SELECT name FROM sqlite_master")] == ["meetings"]
    empty = tmp_path / "會議紀錄.docx"
    empty.write_bytes(b"")
    assert main(["collect", str(y106), "-o", summary, "--archive", str(empty)]) == 2
    assert empty.read_bytes() == b"" and ".sqlite" in capsys.readouterr().err
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["collect", str(y106), "-o", summary, "--archive", str(junk)]) == 2
    assert "不是 SQLite" in capsys.readouterr().err
    # locked by another collect that does not let go
    import workbook.report.archive as archive

    monkeypatch.setattr(archive, "LOCK_WAIT", 0.2)
    busy = tmp_path / "busy.sqlite"
    assert main(["collect", str(y106), "-o", summary, "--archive", str(busy)]) == 0
    holder = sqlite3.connect(busy, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["collect", str(y106), "-o", summary, "--archive", str(busy)]) == 2
        assert "使用中" in capsys.readouterr().err
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_file_first_archived_without_its_plan_counts_later(plan, two_years, tmp_path, capsys):
    _, _, _, y107 = two_years
    db = tmp_path / "late.sqlite"
    other = tmp_path / "other.yaml"
    other.write_text(plan.text.replace(f"id: {plan.id}", "id: another_plan_107"), encoding="utf-8")
    assert (
        main(
            ["collect", str(y107), "-o", str(tmp_path / "a.xlsx"), "--archive", str(db), "--plan", str(other)]
        )
        == 0
    )
    assert count(db, "SELECT status FROM files") == "unknown_plan"
    assert main(["collect", str(y107), "-o", str(tmp_path / "b.xlsx"), "--archive", str(db)]) == 0
    assert "新增檔案 1" in capsys.readouterr().out
    with Archive.open(db, create=False) as arc:
        assert len(arc.collection(year=107).rows) == 5


def test_compare_without_that_year_warns(two_years, tmp_path, capsys):
    _, db, _, _ = two_years
    out = str(tmp_path / "r.odt")
    assert main(["report", "--archive", str(db), "--year", "107", "--compare", "105", "-o", out]) == 0
    assert "沒有 105 年度的資料" in capsys.readouterr().err


def test_a_read_only_archive_is_reported_from(two_years, tmp_path, monkeypatch):
    import workbook.report.archive as archive

    _, db, _, _ = two_years
    before = db.read_bytes()
    monkeypatch.setattr(
        archive, "_may_write", lambda path: False
    )  # as a read-only file answers (not as root)
    assert main(["report", "--archive", str(db), "--year", "107", "-o", str(tmp_path / "r.odt")]) == 0
    assert db.read_bytes() == before
