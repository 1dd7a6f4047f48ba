"""Broken and hostile input: clear errors, nothing lost (the corpus of tests/hostile_corpus.py).

For every case of the corpus:

1. ``kpi check`` and ``kpi calculate`` exit as recorded, with a zh-TW and English
   message naming the file (and the sheet and cell when there is one), and never a
   traceback;
2. the Excel button (``macros.calculate`` on the Excel double, tests/excel_double.py) shows one
   alert, never a traceback, and writes nothing into an input cell;
3. ``kpi calculate`` leaves every input cell (IN_/NOTE_/PROG_/DESC_) as it was — value
   and data type — and a refused file byte for byte as it was;
4. a failed save leaves the original intact and no partial file behind;
5. ``kpi collect`` classifies every file, with a reason, and never stops;
6. ``kpi check`` stays within 5 s of CPU and 300 MB of memory (measured per child with
   ``os.wait4``, the per-process form of ``getrusage(RUSAGE_CHILDREN)``, so the runs can
   go two or three at a time; ``RLIMIT_AS`` of 1.5 GB is the safety net).

The corpus is built once per module.  Every ``kpi check`` runs as its own process
(measured), two at a time; meanwhile every ``kpi calculate`` runs ``workbook.cli.main``
in this process on a copy of its case folder (an exception escaping it is recorded as
the traceback the console script would print).  Each test reads its own run.  Known
bugs are strict xfails whose reasons name the file and the cause (see ``hostile_corpus``).
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from collect_corpus import odf_document
from hostile_corpus import (
    CALAMINE_LAZY_ERRORS,
    CASES,
    Case,
    Corpus,
    build_corpus,
    read_back,
)

from kpi_engine import load_plan
from kpi_engine.consolidate import COUNTED, STATUSES

CPU_LIMIT_S = 5.0
RSS_LIMIT_MB = 300
AS_LIMIT = 1536 * 1024 * 1024
PARALLEL = 2
TIMEOUT_S = 120
#: The spawner's own peak: the most any measured run can have inherited (see run_batch).
SPAWNER_RSS_MB = 0.0
MAX_MESSAGE = 20_000  # characters: a clear message is short
NOW = datetime(2018, 7, 11, 14, 5)

FINDING = re.compile(r"^  (error|warning) (\w+)(?: \[([^\]]*)\])?: (.*)$", re.M)
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def _kpi() -> str:
    beside = Path(sys.executable).parent / "kpi"
    return str(beside) if beside.exists() else "kpi"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["COLUMNS"] = "1000"  # rich folds long finding lines at the terminal width
    return env


@dataclass
class Run:
    """One finished ``kpi`` process."""

    code: int
    out: str
    err: str
    cpu: float  # user + system seconds
    rss_mb: float  # peak resident set size
    folder: Path
    path: Path

    @property
    def text(self) -> str:
        return self.out + self.err


def run_batch(
    jobs: list[tuple[str, list[str], Path, Path]], idle: list[Callable[[], None]] = ()
) -> dict[str, Run]:
    """Run ``(key, argv, cwd, workbook)`` jobs, PARALLEL at a time, each measured on its own.

    The jobs are started by ``rusage_spawner.py``, a small process of its own, so that
    each one's peak memory (``ru_maxrss``) is its own and not this worker's high-water
    mark, which Linux passes on to every child.  Meanwhile this process works through
    ``idle`` (in-process work).
    """
    global SPAWNER_RSS_MB
    spec = {
        "jobs": [[key, argv, str(cwd)] for key, argv, cwd, _ in jobs],
        "env": _env(),
        "parallel": PARALLEL,
        "as_limit": AS_LIMIT,
        "timeout": TIMEOUT_S,
    }
    spawner = subprocess.Popen(
        [sys.executable, "-I", str(Path(__file__).with_name("rusage_spawner.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_env(),
    )
    assert spawner.stdin is not None and spawner.stdout is not None
    spawner.stdin.write(json.dumps(spec).encode())
    spawner.stdin.close()
    for work in idle:
        work()
    measured = json.loads(spawner.stdout.read())
    spawner.wait()
    SPAWNER_RSS_MB = max(SPAWNER_RSS_MB, measured.pop("_self_rss_mb"))
    return {
        key: Run(m["code"], m["out"], m["err"], m["cpu"], m["rss_mb"], cwd, path)
        for (key, _, cwd, path), m in ((job, measured[job[0]]) for job in jobs)
    }


def kpi_in_process(argv: list[str], folder: Path) -> tuple[int, str, str]:
    """``kpi ARGV`` in this process, in ``folder``: what the console script does, minus the interpreter.

    An exception escaping ``cli.main`` is what the console script would print as a
    traceback (and exit 1), so it is recorded that way.
    """
    import contextlib
    import io
    import traceback

    from workbook import cli

    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "1000"
    try:
        os.chdir(folder)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except Exception:
                err.write(traceback.format_exc())
                code = 1
    finally:
        os.chdir(here)
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns
    return code, out.getvalue(), err.getvalue()


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def originals(corpus) -> dict[str, bytes]:
    return {cid: path.read_bytes() for cid, path in corpus.paths.items()}


@pytest.fixture(scope="module")
def runs(corpus, originals) -> dict[str, Run]:
    """Every ``kpi check`` as its own measured process (in the corpus folder), and meanwhile
    every ``kpi calculate`` in this process (on a copy of the case folder)."""
    import shutil

    kpi = _kpi()
    jobs, calculations = [], []
    done: dict[str, Run] = {}
    for c in CASES:
        path = corpus.paths[c.id]
        jobs.append((f"check:{c.id}", [kpi, "check", path.name], path.parent, path))
        if c.setup.startswith("enospc"):
            continue  # a failing disk is simulated in the test itself, see test_calculate
        folder = corpus.root / "calculate" / c.id
        shutil.copytree(path.parent, folder)

        def calculate(c=c, folder=folder, name=path.name):
            code, out, err = kpi_in_process(["calculate", name], folder)
            done[f"calculate:{c.id}"] = Run(code, out, err, 0.0, 0.0, folder, folder / name)

        calculations.append(calculate)
    done.update(run_batch(jobs, calculations))
    return done


def params(guarantee: str, keep=lambda c: True) -> list:
    """The corpus as pytest parameters, with the case's strict xfail for ``guarantee``."""
    out = []
    for c in CASES:
        if not keep(c):
            continue
        marks = [pytest.mark.xfail(strict=True, reason=c.xfail[guarantee])] if guarantee in c.xfail else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


# -- helpers ------------------------------------------------------------------------------


def _findings(out: str) -> list[tuple[str, str, str | None, str]]:
    """(severity, code, where, message) of every finding line ``kpi`` printed."""
    return [(m.group(1), m.group(2), m.group(3), m.group(4)) for m in FINDING.finditer(out)]


def _bilingual(message: str) -> bool:
    zh, sep, en = message.partition(" / ")
    return bool(sep and CJK.search(zh) and ENGLISH.search(en))


def assert_outcome(run: Run, expect, what: str) -> None:
    """Exit code, findings or message, and no traceback."""
    assert "Traceback" not in run.text, run.text[-2000:]
    assert run.code == expect.exit, f"{what}: exit {run.code}\n{run.text[-1500:]}"
    assert len(run.err) < MAX_MESSAGE, f"{len(run.err)} characters on stderr"
    if expect.exit == 2:
        assert run.err.startswith("錯誤 / error: "), run.err[:2000]
        for fragment in expect.text:
            assert fragment in run.err, (fragment, run.err)
        assert CJK.search(run.err) and ENGLISH.search(run.err.split(" / ", 1)[-1])
        return
    found = _findings(run.out)
    assert {code for _, code, _, _ in found} == set(expect.codes), found
    for severity, code, _, message in found:
        assert _bilingual(message), (code, message)
        assert (severity == "error") == (code in ERROR_CODES), (code, severity)
    if expect.where:
        sheet, cell = expect.where
        assert any(where == f"{sheet}!{cell}" for _, _, where, _ in found), found


def _error_codes() -> set[str]:
    from kpi_engine.findings import CATALOGUE

    return {code for code, (severity, _, _) in CATALOGUE.items() if severity == "error"}


ERROR_CODES = _error_codes()


@functools.cache
def _read_back(path: Path):
    """read_back of a corpus file (never changes), once."""
    return read_back(path)


def _listing(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}


# -- 1, 3, 4, 6: kpi check and kpi calculate ----------------------------------------------------


@pytest.mark.parametrize("case", params("check"))
def test_check(case: Case, runs, originals):
    run = runs[f"check:{case.id}"]
    assert_outcome(run, case.check, "kpi check")
    assert run.path.read_bytes() == originals[case.id]  # check never writes


@pytest.mark.parametrize("case", params("bounded"))
def test_check_is_bounded(case: Case, runs):
    run = runs[f"check:{case.id}"]
    assert run.cpu < CPU_LIMIT_S, f"{run.cpu:.2f} s of CPU"
    assert SPAWNER_RSS_MB < 50  # so the reading below is the run's own
    assert run.rss_mb < RSS_LIMIT_MB, f"{run.rss_mb:.0f} MB resident"


@pytest.mark.parametrize("case", params("calculate"))
def test_calculate(case: Case, runs, corpus, originals, tmp_path, monkeypatch):
    if case.setup.startswith("enospc"):
        run = _calculate_on_a_full_disk(case, corpus, tmp_path, monkeypatch)
    else:
        run = runs[f"calculate:{case.id}"]
    assert_outcome(run, case.calculate, "kpi calculate")
    expected_files = _listing(corpus.paths[case.id].parent)
    assert _listing(run.folder) == expected_files  # nothing left behind, modes kept
    if case.calculate.exit == 2:
        assert run.path.read_bytes() == originals[case.id]
        return
    after, before = read_back(run.path), _read_back(corpus.paths[case.id])
    assert after.inputs == before.inputs  # every input cell: value and data type
    if case.same_results_as_base:
        assert after.sentences == _read_back(corpus.base).sentences
    assert after.results_without_formula == []  # overwritten formulas are restored
    assert after.unprotected == []  # removed protection is restored
    assert after.meta_state == "veryHidden"


def _calculate_on_a_full_disk(case: Case, corpus, tmp_path, monkeypatch) -> Run:
    """``kpi calculate`` in-process while the disk fills up (save) or the final rename fails."""
    import shutil

    import workbook.formats.files

    folder = tmp_path / case.id
    shutil.copytree(corpus.paths[case.id].parent, folder)
    path = folder / case.filename
    partial = []

    def full_disk_save(content, filename):
        with open(filename, "wb") as fh:  # half a file, then the disk is full
            fh.write(b"PK\x03\x04" + b"\0" * 4096)
        partial.append(Path(filename))
        raise OSError(errno.ENOSPC, "No space left on device", str(filename))

    def full_disk_replace(src, dst, **kwargs):
        partial.append(Path(src))
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    if case.setup == "enospc_save":
        monkeypatch.setattr(workbook.formats.files, "write_content", full_disk_save)
    else:
        monkeypatch.setattr(os, "replace", full_disk_replace)
    code, out, err = kpi_in_process(["calculate", path.name], folder)
    monkeypatch.undo()
    assert partial and partial[0].parent == folder  # the temporary file was next to the target
    return Run(code, out, err, 0.0, 0.0, folder, path)


@pytest.mark.parametrize("case", params("names_file", keep=lambda c: 2 in (c.check.exit, c.calculate.exit)))
def test_refusals_name_the_file_sheet_and_cell(case: Case, runs, corpus, tmp_path, monkeypatch):
    for command, expect in (("check", case.check), ("calculate", case.calculate)):
        if expect.exit != 2:
            continue
        if command == "calculate" and case.setup.startswith("enospc"):
            run = _calculate_on_a_full_disk(case, corpus, tmp_path / "again", monkeypatch)
        else:
            run = runs[f"{command}:{case.id}"]
        assert case.filename in run.err, (command, run.err)
        if expect.where:
            sheet, cell = expect.where
            assert sheet in run.err and cell in run.err, (command, run.err)


def test_sheet_level_findings_name_the_sheet_without_a_cell(runs):
    found = _findings(runs["calculate:wb_protection_removed"].out)
    assert found and all(where and not where.endswith("!None") for _, _, where, _ in found), found


# -- 2: the Excel button ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_view(corpus, tmp_path_factory):
    from hostile_corpus import excel_view

    return excel_view(corpus.base, tmp_path_factory.mktemp("view") / "base.xlsx")


def _excel(case: Case, corpus, base_view, tmp_path):
    """The workbook as desktop Excel would show it to the button (the Excel double)."""
    from excel_double import Book
    from hostile_corpus import excel_view
    from openpyxl import Workbook

    path = corpus.paths[case.id]
    if case.button_source == "unopenable":  # Excel shows an empty workbook in its place
        empty = tmp_path / "empty.xlsx"
        Workbook().save(empty)
        return Book(empty, empty, name=case.filename)
    if case.button_source == "base":
        return Book(corpus.base, base_view, name=case.filename)
    if case.button_source == "self":
        return Book(path, path)
    return Book(path, excel_view(path, tmp_path / f"view{path.suffix}", case.excel_shows))


def _press(book) -> str:
    import macros

    return macros.calculate(book, now=NOW)


def test_button_on_a_calculated_workbook(corpus, base_view):
    from excel_double import Book

    message = _press(Book(corpus.base, base_view))
    assert message.startswith("計算完成"), message


@pytest.mark.parametrize("case", params("button"))
def test_button(case: Case, corpus, base_view, tmp_path):
    import macros
    from workbook.books.excel import SCRATCH_COLUMN, LiveBook

    book = _excel(case, corpus, base_view, tmp_path)
    inputs = {
        cell for n, cell in LiveBook(book).names().items() if n.startswith(("IN_", "NOTE_", "PROG_", "DESC_"))
    }
    message = _press(book)

    assert book.app.alerts == [(message, macros.TITLE)]
    assert len(message) < 2_000, f"{len(message)} characters in a message box"
    assert "Traceback" not in message and "未預期的錯誤" not in message, message
    written = {
        (sheet, r, c)
        for sheet, r0, c0, rows, cols in book.writes
        for r in range(r0, r0 + rows)
        for c in range(c0, c0 + cols)
    }
    assert not written & inputs

    expect = case.button_expect
    if expect.startswith("refused:"):
        # nothing written (but the name list Excel pastes into _kpi and clears: LiveBook.names)
        assert [w for w in book.writes if w[2] != SCRATCH_COLUMN] == []
        zh, _, rest = message.partition("\n\n（")
        assert zh.startswith("無法計算：") and expect.split(":", 1)[1] in zh, message
        assert ENGLISH.search(rest), message
    elif expect == "errors":
        assert re.match(r"有 [1-9]\d* 項需要修正（紅色儲存格）：請依「檢核結果」工作表修正", message), message
        assert book.app.modes == ["critical"]  # the warning icon
    else:
        assert re.fullmatch(
            r"計算完成，(無誤：|無錯誤；有 \d+ 項提醒（見「檢核結果」）。\n)請存檔後寄回.*", message
        ), message


# -- 5: kpi collect -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", params("collect"))
def test_collect_classifies(case: Case, corpus):
    from workbook.collect import read_submission

    path = corpus.paths[case.id]
    sub = read_submission(str(path), path.read_bytes(), [load_plan()])
    assert sub.status == case.collect, (sub.status, sub.reason, [f.code for f in sub.findings])
    assert case.collect_text in sub.reason
    if sub.status in COUNTED:
        assert sub.status == "ok" or sub.findings
        assert all(_bilingual(f"{f.message_zh} / {f.message_en}") for f in sub.findings)
    else:
        assert _bilingual(sub.reason), sub.reason


def _collect(corpus: Corpus, tmp: Path, paths: list[Path]) -> tuple[Run, dict]:
    argv = [_kpi(), "collect", *map(str, paths), "-o", str(tmp / "summary.xlsx"), "--json"]
    run = run_batch([("collect", argv, tmp, tmp / "summary.xlsx")])["collect"]
    try:
        report = json.loads(run.out)
    except json.JSONDecodeError:
        report = {}
    return run, report


def _submission(path: Path) -> bool:
    """A file collect must list: any, but an Office lock file (``~$name.xlsx``, ``.~lock.name#``)."""
    from workbook.collect.item import is_system

    return path.is_file() and not is_system(path.name)


def _shown(path: Path) -> str:
    """A file's name as collect lists it (a Big5 name decoded)."""
    from workbook.collect.text import path_text

    return path_text(path.name)


def _assert_every_file_classified(run: Run, report: dict, expected: set[str]) -> None:
    assert "Traceback" not in run.text, run.text[-2000:]
    assert run.code in (0, 1), run.text[-1500:]
    files = {Path(f["source"].split(" › ")[0]).name: f for f in report["files"]}
    assert set(files) == expected
    with_findings = {Path(f["file"]).name for f in report["findings"]}
    for name, f in files.items():
        assert f["status"] in STATUSES, f
        assert f["reason"] or f["status"] == "ok" or name in with_findings, f


COLLECT_STOPPERS = sorted(c.id for c in CASES if CALAMINE_LAZY_ERRORS in c.xfail.get("collect", ""))


def test_collect_never_stops_on_the_rest_of_the_corpus(corpus, tmp_path):
    """One ``kpi collect`` over every case folder except those of known collect bugs."""
    folders = [corpus.cases / cid for cid in sorted(corpus.paths) if cid not in COLLECT_STOPPERS]
    run, report = _collect(corpus, tmp_path, folders)
    expected = {_shown(p) for f in folders for p in f.iterdir() if _submission(p)}
    _assert_every_file_classified(run, report, expected)
    assert (tmp_path / "summary.xlsx").exists()


def test_collect_never_stops_on_the_whole_corpus(corpus, tmp_path):
    run, report = _collect(corpus, tmp_path, [corpus.cases])
    expected = {_shown(p) for p in corpus.cases.rglob("*") if _submission(p)}
    _assert_every_file_classified(run, report, expected)
    assert SPAWNER_RSS_MB < 50
    assert run.rss_mb < RSS_LIMIT_MB, f"{run.rss_mb:.0f} MB resident"  # the .ods filled down: 362 MB before


def test_collect_skips_office_lock_files(corpus):
    """Excel's ~$name.xlsx beside an open workbook is no submission."""
    from workbook.collect import collect

    folder = corpus.cases / "file_locked_by_excel"
    coll = collect([folder])
    assert [Path(s.source).name for s in coll.submissions] == ["填報-file_locked_by_excel.xlsx"]


# -- the corpus itself ------------------------------------------------------------------------------


def test_corpus_is_large_and_covers_every_level(corpus):
    from hostile_corpus import encryption_method

    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.level for c in CASES} == {"cell", "workbook", "file"}
    assert all(corpus.paths[c.id].exists() for c in CASES)
    assert (
        encryption_method().startswith("msoffcrypto") or corpus.paths["file_encrypted"].stat().st_size < 2048
    )


def test_zip_bombs_are_small_on_disk(corpus):
    for cid in ("file_zip_bomb_size", "file_zip_bomb_lying_size", "file_zip_bomb_ratio"):
        assert corpus.paths[cid].stat().st_size < 2 * 1024 * 1024, cid


# -- issue 23: round 3 ------------------------------------------------------------------------------

ROUND_3 = [
    "cell_date_serial_in_count",
    "file_strict_ooxml",
    "file_flat_odf",
    "file_csv",
    "file_xlsb",
    "file_sparse_huge",
    "file_ods_filled_down",
    "file_big5_name",
]


def test_calculate_is_bounded_on_round_3(corpus, tmp_path):
    """``kpi calculate`` of each round-3 case as its own measured process (check is measured above)."""
    import shutil

    jobs = []
    for cid in ROUND_3:
        path = corpus.paths[cid]
        folder = tmp_path / cid
        shutil.copytree(path.parent, folder)
        jobs.append((cid, [_kpi(), "calculate", path.name], folder, folder / path.name))
    runs = run_batch(jobs)
    assert SPAWNER_RSS_MB < 50
    for cid, run in runs.items():
        from hostile_corpus import case

        assert "Traceback" not in run.text, (cid, run.text[-2000:])
        assert run.code == case(cid).calculate.exit, (cid, run.text[-1500:])
        assert run.rss_mb < RSS_LIMIT_MB, f"{cid}: {run.rss_mb:.0f} MB resident"
        assert run.cpu < 3 * CPU_LIMIT_S, f"{cid}: {run.cpu:.2f} s of CPU"


#: Files staff send that no command reads: name → bytes.  Every command names them alike.
NAMED_FILES = {
    "匯出.csv": "指標,分子\n流廢標下降率,48\n".encode(),
    "文字.xls": "指標\t分子\n".encode(),
    "舊檔.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
    "二進位.xlsb": b"PK\x03\x04" + bytes(60),
    "蘋果.numbers": b"PK\x03\x04" + bytes(60),
    "公文.odt": odf_document("text"),
    "簡報.odp": odf_document("presentation"),
    "平面.fods": b'<?xml version="1.0"?><office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
    b'office:1.0" office:mimetype="application/vnd.oasis.opendocument.spreadsheet"/>',
}


def test_every_command_names_a_file_it_does_not_read_in_the_same_words(tmp_path):
    """Issue 23: check and calculate say what collect says of an .xls, .xlsb, .numbers, .csv, .odt,
    .odp or .fods (formats/kinds.py): exit 2, the file named, nothing written, memory bounded."""
    from workbook.collect import iter_items
    from workbook.formats.kinds import NOT_SPREADSHEETS, UNSUPPORTED

    folder = tmp_path / "inbox"
    folder.mkdir()
    for name, data in NAMED_FILES.items():
        (folder / name).write_bytes(data)
    listed = {item.label.rsplit("/", 1)[-1]: item for item in iter_items([folder])}
    runs = run_batch([(name, [_kpi(), "check", name], folder, folder / name) for name in NAMED_FILES])
    assert SPAWNER_RSS_MB < 50
    for name, data in NAMED_FILES.items():
        suffix = Path(name).suffix
        zh, en = UNSUPPORTED.get(suffix) or NOT_SPREADSHEETS[suffix]
        item = listed[name]
        assert item.data is None and zh in item.reason and en in item.reason, (name, item)
        assert item.status == ("ignored" if suffix in NOT_SPREADSHEETS else "unsupported"), (name, item)
        check = runs[name]
        code, _, err = kpi_in_process(["calculate", name], folder)
        for command, (got, text) in {"check": (check.code, check.err), "calculate": (code, err)}.items():
            assert got == 2 and "Traceback" not in text, (command, name, text)
            assert text.startswith("錯誤 / error: ") and name in text, (command, text)
            assert f"{zh} / {en}" in text, (command, name, text)
        assert check.rss_mb < RSS_LIMIT_MB and check.cpu < CPU_LIMIT_S, (name, check.rss_mb, check.cpu)
        assert (folder / name).read_bytes() == data
    assert sorted(p.name for p in folder.iterdir()) == sorted(NAMED_FILES)  # nothing written


@pytest.fixture(scope="module")
def indented_ods(corpus, tmp_path_factory) -> Path:
    from hostile_corpus import indented, ods_content_edit, ods_of

    folder = tmp_path_factory.mktemp("indented")
    path = folder / "填報-縮排.ods"
    path.write_bytes(ods_content_edit(ods_of(corpus.base), indented))
    return path


def test_an_indented_content_xml_loses_nothing_once_compacted(corpus, indented_ods):
    """What python-calamine cannot read (whitespace between a pretty-printed content.xml's table
    elements), compacted, reads exactly as LibreOffice's own file."""
    import io

    from hostile_corpus import ods_of
    from python_calamine import CalamineError, CalamineWorkbook

    from workbook.formats.guard import without_indentation

    data = indented_ods.read_bytes()
    with pytest.raises(CalamineError):  # the cause: calamine, not the file (LibreOffice opens it)
        CalamineWorkbook.from_filelike(io.BytesIO(data))
    compact = without_indentation(data)
    assert compact is not None and without_indentation(ods_of(corpus.base)) is None
    ours, theirs = (CalamineWorkbook.from_filelike(io.BytesIO(b)) for b in (compact, ods_of(corpus.base)))
    assert ours.sheet_names == theirs.sheet_names
    for sheet in ours.sheet_names:
        assert ours.get_sheet_by_name(sheet).to_python() == theirs.get_sheet_by_name(sheet).to_python(), sheet


def test_an_indented_content_xml_is_read_like_libreoffice_reads_it(corpus, indented_ods, tmp_path):
    """python-calamine refuses whitespace between table elements ('Cannot detect file format');
    books/ods.py retries without the indentation, so check and calculate read it as LibreOffice does."""
    copy = tmp_path / indented_ods.name
    shutil.copyfile(indented_ods, copy)
    runs = run_batch(
        [
            ("check", [_kpi(), "check", indented_ods.name], indented_ods.parent, indented_ods),
            ("calculate", [_kpi(), "calculate", copy.name, "-o", "out.ods"], tmp_path, copy),
        ]
    )
    for run in runs.values():
        assert run.rss_mb < RSS_LIMIT_MB
        assert "Traceback" not in run.text and run.code == 0, run.text[-1500:]
    assert (tmp_path / "out.ods").stat().st_size > 0


def test_a_report_over_240_units_stays_bounded(tmp_path):
    """Round 3: `kpi report` over 240 units peaked at 493 MB (a by-unit chart of 240 bars per
    panel, a bitmap tens of thousands of pixels high). By-unit charts stop at 40 units."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    try:
        from bench.collect import generate
    finally:
        sys.path.pop(0)
    inbox = tmp_path / "inbox"
    generate(inbox, 240)
    run = run_batch([("report", [_kpi(), "report", str(inbox), "-o", "r.odt"], tmp_path, inbox)])["report"]
    assert "Traceback" not in run.text and run.code == 0, run.text[-1500:]
    assert run.rss_mb < RSS_LIMIT_MB, run.rss_mb
    assert (tmp_path / "r.odt").stat().st_size > 0
