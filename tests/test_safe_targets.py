"""Safe targets and a CLI that never surprises (issue 11, parts 3 and 4).

Outputs never replace inputs or non-regular files, temporary names fit any file
system, a file saved by someone else during a calculate is never overwritten, and
the ``kpi`` command answers every mistake in zh-TW then English (JSON with --json),
never with a traceback.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from cli_support import kpi, kpi_executable
from helpers_workbook import build_filled
from openpyxl import load_workbook

import workbook.form.calculate
from kpi_engine import load_plan
from workbook.books.file import FileBook
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.calculate import calculate
from workbook.formats.files import TEMP_STEM_BYTES, WorkbookFileError, temp_prefix

NOTE = "NOTE_failed_tender_rate_H1"


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """The seed counts typed into the 106 上半年 template, not yet calculated."""
    plan = load_plan()
    scope = L.Scope(plan, unit=plan.agency, period_id="H1", data_year=106)
    path, _ = build_filled(scope, {"H1": plan.sample.entries}, tmp_path_factory.mktemp("f") / "filled.xlsx")
    return path


def _note(path: Path) -> str | None:
    wb = load_workbook(path)
    ((sheet, ref),) = list(wb.defined_names[NOTE].destinations)
    return wb[sheet][ref.replace("$", "")].value


def _copy(src: Path, folder: Path, name: str = "a.xlsx") -> Path:
    dst = folder / name
    shutil.copyfile(src, dst)
    return dst


# -- outputs that must never be replaced ------------------------------------------------------


def test_output_to_dev_null_is_refused(filled, tmp_path):
    src = _copy(filled, tmp_path)
    proc = kpi("calculate", "a.xlsx", "-o", "/dev/null", cwd=tmp_path)
    assert proc.returncode == 2
    assert "不是一般檔案" in proc.stderr and "not a regular file" in proc.stderr
    assert Path("/dev/null").is_char_device()
    assert src.read_bytes() == filled.read_bytes()


def test_output_through_a_symlink_is_refused(filled, tmp_path):
    src = _copy(filled, tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "out.xlsx").symlink_to(victim)
    proc = kpi("calculate", "a.xlsx", "-o", "out.xlsx", cwd=tmp_path)
    assert proc.returncode == 2 and "符號連結" in proc.stderr
    assert victim.read_text() == "keep me" and (tmp_path / "out.xlsx").is_symlink()
    assert src.read_bytes() == filled.read_bytes()


def test_output_that_is_a_directory_or_the_input_is_refused(filled, tmp_path):
    _copy(filled, tmp_path)
    (tmp_path / "folder.xlsx").mkdir()
    proc = kpi("calculate", "a.xlsx", "-o", "folder.xlsx", cwd=tmp_path)
    assert proc.returncode == 2 and "資料夾" in proc.stderr
    os.link(tmp_path / "a.xlsx", tmp_path / "same.xlsx")  # another name for the input
    proc = kpi("calculate", "a.xlsx", "-o", "same.xlsx", cwd=tmp_path)
    assert proc.returncode == 2 and "輸出檔與輸入檔相同" in proc.stderr
    assert (tmp_path / "a.xlsx").read_bytes() == filled.read_bytes()


def test_calculate_in_place_through_a_symlink_keeps_the_link(filled, tmp_path):
    real = _copy(filled, tmp_path, "real.xlsx")
    (tmp_path / "link.xlsx").symlink_to(real)
    proc = kpi("calculate", "link.xlsx", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "link.xlsx").is_symlink()
    assert real.read_bytes() != filled.read_bytes()  # the file it points at got the results


def test_template_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "填報.xlsx"
    target.write_bytes(b"staff's filled workbook")
    proc = kpi("template", "-o", "填報.xlsx", cwd=tmp_path)
    assert proc.returncode == 2 and "--force" in proc.stderr and "already exists" in proc.stderr
    assert target.read_bytes() == b"staff's filled workbook"
    proc = kpi("template", "-o", "填報.xlsx", "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert load_workbook(target).sheetnames[0] == L.SHEET_GUIDE
    proc = kpi("template", "-o", "/dev/null", "--force", cwd=tmp_path)
    assert proc.returncode == 2 and Path("/dev/null").is_char_device()


def test_temporary_names_fit_whatever_the_target_length(filled, tmp_path):
    name = "臺中市政府秘書處" * 10 + ".xlsx"  # 80 zh-TW characters: 240 bytes of UTF-8
    assert len(name.encode()) <= 255
    path = _copy(filled, tmp_path, name)
    assert len(temp_prefix(path).encode()) <= TEMP_STEM_BYTES + 2
    book = FileBook(path)
    calculate(book)
    book.save()
    assert {p.name for p in tmp_path.iterdir()} == {name}
    assert _note(path) is None and FileBook(path).grid(L.SHEET_META)  # a readable workbook


# -- never overwrite a save made meanwhile --------------------------------------------------------


def test_a_save_made_during_calculate_is_kept(filled, tmp_path, monkeypatch):
    path = _copy(filled, tmp_path)
    clerk = tmp_path / "clerk.xlsx"
    book = FileBook(filled)
    names = book.names()
    sheet, row, col = names[NOTE]
    book.write(sheet, row, col, [["承辦人剛剛存檔"]])
    book.save(clerk)
    real = workbook.form.calculate.calculate

    def slow(book, **kwargs):
        outcome = real(book, **kwargs)
        shutil.copyfile(clerk, path)  # Excel saves while we compute
        return outcome

    monkeypatch.setattr(workbook.form.calculate, "calculate", slow)
    from workbook.cli import main

    assert main(["calculate", str(path)]) == 2
    assert path.read_bytes() == clerk.read_bytes()
    assert _note(path) == "承辦人剛剛存檔"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _clerk_copy(filled: Path, folder: Path, note: str) -> Path:
    clerk = folder / "clerk.xlsx"
    book = FileBook(filled)
    sheet, row, col = book.names()[NOTE]
    book.write(sheet, row, col, [[note]])
    book.save(clerk)
    return clerk


def _replace_with(clerk: Path, path: Path) -> None:
    """Save as Excel and LibreOffice do: a new file renamed over the old one."""
    tmp = path.with_name(".clerk-" + path.name)
    shutil.copyfile(clerk, tmp)
    os.replace(tmp, path)


def test_a_save_landing_while_the_file_is_being_read_is_kept(filled, tmp_path, monkeypatch):
    """The state is taken from the bytes read, not from the path a moment later.

    CI caught this in the ten-race test: a save that landed while the package guard
    inspected the bytes gave the new file's size and time to the old file's hash,
    so the save looked unchanged and was overwritten.
    """
    import workbook.formats.guard

    path = _copy(filled, tmp_path)
    clerk = _clerk_copy(filled, tmp_path, "讀檔時存檔")
    real = workbook.formats.guard.inspect

    def inspect_while_the_clerk_saves(data, name):
        _replace_with(clerk, path)
        return real(data, name)

    monkeypatch.setattr(workbook.formats.guard, "inspect", inspect_while_the_clerk_saves)
    from workbook.cli import main

    assert main(["calculate", str(path)]) == 2
    assert path.read_bytes() == clerk.read_bytes()


def test_the_libreoffice_engine_keeps_a_save_made_while_it_ran(filled, tmp_path, monkeypatch, capsys):
    import workbook.books.uno_engine as engine

    path = _copy(filled, tmp_path)
    clerk = _clerk_copy(filled, tmp_path, "LibreOffice 計算時存檔")
    real = engine.calculate_file_book

    def save_meanwhile(book, *args, **kwargs):
        outcome = real(book, *args, **kwargs)
        _replace_with(clerk, path)
        return outcome

    monkeypatch.setattr(engine, "calculate_file_book", save_meanwhile)
    from workbook.cli import main

    assert main(["calculate", str(path), "--engine", "libreoffice"]) == 2
    assert "計算期間檔案已被其他程式修改" in capsys.readouterr().err
    assert path.read_bytes() == clerk.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_concurrent_saves_are_never_overwritten(filled, tmp_path):
    """Ten races between kpi calculate and a clerk's save: the clerk's note always survives."""
    outcomes = []
    for attempt in range(10):
        path = _copy(filled, tmp_path, f"race{attempt}.xlsx")
        clerk = tmp_path / f"clerk{attempt}.xlsx"
        book = FileBook(filled)
        sheet, row, col = book.names()[NOTE]
        book.write(sheet, row, col, [[f"第 {attempt} 次存檔"]])
        book.save(clerk)
        delay = 0.15 * attempt

        def save_later(path=path, clerk=clerk, delay=delay):
            time.sleep(delay)
            _replace_with(clerk, path)

        saver = threading.Thread(target=save_later)
        saver.start()
        proc = kpi("calculate", path.name, cwd=tmp_path)
        saver.join()
        assert _note(path) == f"第 {attempt} 次存檔", (attempt, proc.returncode, proc.stderr)
        outcomes.append(proc.returncode)
        if proc.returncode == 2:
            assert "計算期間檔案已被其他程式修改" in proc.stderr
    assert set(outcomes) <= {0, 2}


def test_a_second_calculate_is_refused_while_one_runs(filled, tmp_path):
    path = _copy(filled, tmp_path)
    with open(path, "rb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        proc = kpi("calculate", "a.xlsx", cwd=tmp_path)
    assert proc.returncode == 2 and "另一個計算正在處理此檔案" in proc.stderr
    assert path.read_bytes() == filled.read_bytes()


# -- the CLI -----------------------------------------------------------------------------------------


def test_a_closed_pipe_is_not_a_traceback(tmp_path):
    proc = subprocess.Popen(
        [kpi_executable(), "plan", "check"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    proc.stdout.close()  # `| true`: the reader is gone before kpi writes
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_demo_into_an_existing_file(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    proc = kpi("demo", "notes.txt", cwd=tmp_path)
    assert proc.returncode == 2 and "不是資料夾" in proc.stderr and "not a folder" in proc.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_help_and_errors_are_zh_tw_first(tmp_path):
    proc = kpi("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("用法 / usage: kpi")
    assert (
        "選項 / options" in proc.stdout and "顯示說明後結束 / show this help message and exit" in proc.stdout
    )
    proc = kpi("calculate", cwd=tmp_path)
    assert proc.returncode == 2
    assert "錯誤 / error: 缺少必要的參數：file / the following arguments are required: file" in proc.stderr
    proc = kpi("compute", "--entries", "x.yaml", "--targets", "later", cwd=tmp_path)
    assert "參數 --targets 的值 'later' 無效，可選：'current', 'previous'" in proc.stderr


def test_an_invalid_period_lists_the_choices(tmp_path):
    proc = kpi("template", "-o", "a.xlsx", "--period", "第三季", cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        "可選：上半年（H1）、全年度（FY）" in proc.stderr
        and "choose from: 上半年 (H1), 全年度 (FY)" in proc.stderr
    )
    assert not (tmp_path / "a.xlsx").exists()


def test_a_file_name_starting_with_a_dash(filled, tmp_path):
    _copy(filled, tmp_path, "-上半年.xlsx")
    proc = kpi("calculate", "-上半年.xlsx", cwd=tmp_path)
    assert proc.returncode == 2 and "請放在 -- 之後" in proc.stderr and "put it after --" in proc.stderr
    proc = kpi("calculate", "--", "-上半年.xlsx", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "已儲存 / saved: -上半年.xlsx" in proc.stdout


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["calculate", "missing.xlsx", "--json"], "無法讀取檔案"),
        (["check", "notes.xlsx", "--json"], "不是 Excel 活頁簿"),
        (["plan", "check", "missing.yaml", "--json"], "無法讀取檔案"),
        (["calculate", "--json"], "缺少必要的參數"),
    ],
)
def test_json_is_always_json(tmp_path, argv, fragment):
    (tmp_path / "notes.xlsx").write_text("a,b\n1,2\n")
    proc = kpi(*argv, cwd=tmp_path)
    assert proc.returncode == 2
    out = json.loads(proc.stdout)  # plan check has its own shape ("issues"); the rest an "error" object
    assert out["ok"] is False and fragment in json.dumps(
        out.get("error") or out["issues"], ensure_ascii=False
    )


def test_calculate_says_where_it_saved(filled, tmp_path):
    _copy(filled, tmp_path)
    proc = kpi("calculate", "a.xlsx", "-o", "已計算.xlsx", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("已儲存 / saved: 已計算.xlsx")
    proc = kpi("calculate", "a.xlsx", "--json", cwd=tmp_path)
    assert json.loads(proc.stdout)["saved"] == "a.xlsx"


def test_save_notes_when_no_patch_is_possible(filled, tmp_path):
    """The only full rewrite warns that foreign content may need checking."""
    path = _copy(filled, tmp_path)
    book = FileBook(path)
    calculate(book)
    book.rebuilt.append(L.SHEET_FINDINGS)
    book.save()
    ((zh, en),) = book.save_notes
    assert "可能遺失" in zh and "may be lost" in en


def test_workbook_file_error_names_the_file(tmp_path):
    with pytest.raises(WorkbookFileError) as err:
        FileBook(tmp_path / "none.xlsx")
    assert err.value.path and err.value.path.endswith("none.xlsx")


def test_template_written_then_calculated_says_saved(tmp_path):
    write_template(L.Scope(load_plan(), period_id="H1"), tmp_path / "t.xlsx")
    proc = kpi("calculate", "t.xlsx", cwd=tmp_path)
    assert "已儲存 / saved: t.xlsx" in proc.stdout
