"""What the command line promises, checked on real files (issue 18).

* **One error root**: every project error is a ``KpiError``; ``kpi`` prints it zh-TW,
  then English, naming the file, and exits 2 — as it does for anything the operating
  system refuses (no permission, a full disk, a missing file).  Ctrl-C says 「已中止」 and
  exits 130, leaving no output and no temporary file.  Never a traceback.
* **One output decision**: a name whose extension no writer exists for is refused
  before any work, naming the extensions there are, and nothing is written.
* **One plan loader**: every command takes ``--plan`` as YAML, .xlsx or .ods.

The unwritable folder is real although the tests run as root: ``kpi`` runs as root
*without capabilities* (``setpriv --bounding-set=-all``), so a folder of mode 0555
stops it as it stops staff.  The full disk is a small tmpfs, filled, in a private
mount namespace (``unshare --user --map-root-user --mount``).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from cli_support import REPO, kpi, survivors

from kpi_engine.errors import KpiError
from kpi_engine.plan_loader import default_plan_path

ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
ODT_MIME = "application/vnd.oasis.opendocument.text"

ENTRIES = """\
targets: previous
year: 106
entries:
  上半年:
    procurement_pass_rate: {numerator: 187, denominator: 210}
    e_tender_rate: {numerator: 10, denominator: 10}
    failed_tender_rate: {numerator: 48, denominator: 643}
    safety_defects: {count: 63}
"""


def run(
    *args: str, cwd: Path, prefix: tuple[str, ...] = (), timeout: int = 300
) -> subprocess.CompletedProcess:
    """``kpi ARGS`` from this checkout (``python -m workbook.cli``), optionally under ``prefix``."""
    return kpi(*args, cwd=cwd, prefix=prefix, timeout=timeout, checkout=True)


def listing(folder: Path) -> list[str]:
    """Everything under ``folder`` (hidden temporary files included), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def zip_mimetype(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("mimetype").decode("ascii")


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """The demo's calculated workbook (the embedded plan's 106 上半年 sample)."""
    from workbook.demo import run_demo

    _, _, filled = run_demo(tmp_path_factory.mktemp("demo"))
    return filled


@pytest.fixture(scope="module")
def plans(tmp_path_factory) -> dict[str, Path]:
    """The embedded plan as YAML, as an authoring .xlsx and as an authoring .ods."""
    from workbook import libreoffice as lo

    folder = tmp_path_factory.mktemp("plans")
    yaml_plan = folder / "計畫.yaml"
    shutil.copyfile(default_plan_path(), yaml_plan)
    out = {"yaml": yaml_plan}
    for ext in ("xlsx", "ods"):
        if ext == "ods":
            lo.require_soffice()
        target = folder / f"計畫設定.{ext}"
        proc = run("plan", "export", "--plan", str(yaml_plan), "-o", str(target), cwd=folder)
        assert proc.returncode == 0, proc.stderr
        out[ext] = target
    assert zip_mimetype(out["ods"]) == ODS_MIME
    return out


# ---------------------------------------------------------------------------
# one error root
# ---------------------------------------------------------------------------


def test_every_project_error_is_a_kpi_error():
    from kpi_engine import EntriesError, PlanError
    from kpi_engine.expr import ExprError
    from workbook import cli, cliparse
    from workbook.buttons.addin import AddinError
    from workbook.buttons.oxt import OxtError
    from workbook.formats.files import DamagedFileError, WorkbookFileError
    from workbook.formats.ods_patch import OdsPatchError
    from workbook.formats.xlsx_patch import PatchError
    from workbook.libreoffice import LibreOfficeError
    from workbook.plan_io.authoring import AuthoringError
    from workbook.plan_io.commands import PlanUsageError
    from workbook.plan_io.doctables import DocumentError
    from workbook.report.archive import ArchiveError
    from workbook.report.errors import ReportError

    for cls in (
        PlanError,
        EntriesError,
        ExprError,
        WorkbookFileError,
        DamagedFileError,
        DocumentError,
        ReportError,
        ArchiveError,
        PatchError,
        OdsPatchError,
        OxtError,
        AddinError,
        LibreOfficeError,
        AuthoringError,
        PlanUsageError,
        cli.UsageError,
        cliparse.ArgumentUsageError,
    ):
        assert issubclass(cls, KpiError), cls
    # the classes that were ValueError / RuntimeError still are
    assert issubclass(PlanError, ValueError) and issubclass(LibreOfficeError, RuntimeError)


def test_a_kpi_error_says_where_then_zh_then_en():
    from workbook.formats.files import WorkbookFileError

    exc = WorkbookFileError("壞了", "broken", path="a.xlsx", sheet="S", cell="B2")
    assert str(exc) == "a.xlsx [S] B2: 壞了 / broken"
    assert (exc.code, exc.message_zh, exc.message_en, exc.path) == (
        "file_unusable",
        "壞了",
        "broken",
        "a.xlsx",
    )
    one = KpiError("找不到 / not found: x")  # the older one-text form keeps its text
    assert str(one) == "找不到 / not found: x"
    assert (one.message_zh, one.message_en) == ("找不到", "not found: x")
    from workbook.cliparse import ArgumentUsageError

    usage = ArgumentUsageError("unrecognized arguments: --x", "usage: kpi", "kpi")
    assert usage.message_zh == "無法辨識的參數：--x" and usage.usage == "usage: kpi"


def test_the_os_catalogue():
    from workbook.errors import CATALOGUE, os_error

    cases = {
        errno.EACCES: ("permission_denied", "沒有權限", "permission denied"),
        errno.ENOENT: ("no_such_file", "找不到", "no such file"),
        errno.ENOSPC: ("disk_full", "磁碟空間不足", "disk is full"),
        errno.ENOTDIR: ("not_a_directory", "不是資料夾", "not a folder"),
        errno.EISDIR: ("is_a_directory", "這是資料夾", "is a folder"),
        errno.EROFS: ("read_only_filesystem", "唯讀", "read-only"),
    }
    for number, (code, zh, en) in cases.items():
        assert code in CATALOGUE
        exc = os_error(OSError(number, os.strerror(number), "/x/報告.odt"))
        assert (exc.code, exc.path) == (code, "/x/報告.odt")
        assert zh in exc.message_zh and en in exc.message_en
        assert str(exc).startswith("/x/報告.odt: ")


@pytest.mark.parametrize(
    ("raised", "words"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "/srv/共用/t.xlsx"),
            ("沒有權限", "permission denied"),
        ),
        (OSError(errno.ENOSPC, "No space left on device", "/srv/t.xlsx"), ("磁碟空間不足", "disk is full")),
        (
            NotADirectoryError(errno.ENOTDIR, "Not a directory", "/srv/a.txt/t.xlsx"),
            ("不是資料夾", "not a folder"),
        ),
        (
            FileNotFoundError(errno.ENOENT, "No such file or directory", "/srv/無.xlsx"),
            ("找不到", "no such file"),
        ),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/srv"), ("這是資料夾", "is a folder")),
        (OSError(errno.EROFS, "Read-only file system", "/srv/t.xlsx"), ("唯讀", "read-only")),
    ],
)
def test_any_os_error_anywhere_is_a_message_and_exit_2(monkeypatch, capsys, tmp_path, raised, words):
    """The one handler in ``main()``: an OSError from deep inside a command (not pre-checked)."""
    from workbook import cli

    def deep(args):
        raise raised

    monkeypatch.setattr(cli, "cmd_template", deep)
    assert cli.main(["template", "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err
    assert raised.filename in err and words[0] in err and words[1] in err
    assert err.index(words[0]) < err.index(words[1])  # zh-TW first


def test_json_gets_the_os_error_too(monkeypatch, capsys):
    from workbook import cli

    def deep(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/t.xlsx")

    monkeypatch.setattr(cli, "cmd_compute", deep)
    assert cli.main(["compute", "--entries", "e.yaml", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["error"]["code"] == "permission_denied"
    assert out["error"]["path"] == "/srv/t.xlsx" and "沒有權限" in out["error"]["message_zh"]


def test_keyboard_interrupt_anywhere_is_130(monkeypatch, capsys):
    from workbook import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_compute", interrupted)
    assert cli.main(["compute", "--entries", "e.yaml", "--json"]) == 130
    captured = capsys.readouterr()
    assert "已中止 / aborted" in captured.err
    assert json.loads(captured.out)["error"]["code"] == "interrupted"


# ---------------------------------------------------------------------------
# one output decision
# ---------------------------------------------------------------------------

REFUSED = [
    (("template", "-o", "t.csv"), ".xlsx 或 .ods", ".xlsx or .ods"),
    (("template", "-o", "t.pdf"), ".xlsx 或 .ods", ".xlsx or .ods"),
    (("template", "-o", "t.xls"), ".xlsx 或 .ods", ".xlsx or .ods"),
    (("template", "-o", "t"), ".xlsx 或 .ods", ".xlsx or .ods"),
    (("collect", "in", "-o", "s.csv"), ".xlsx 或 .ods", ".xlsx or .ods"),
    (("collect", "in", "-o", "s.pdf", "--json"), ".xlsx 或 .ods", ".xlsx or .ods"),
    (("report", "in", "-o", "r.txt"), ".odt、.docx 或 .pdf", ".odt, .docx or .pdf"),
    (("report", "in", "-o", "r.xlsx"), ".odt、.docx 或 .pdf", ".odt, .docx or .pdf"),
    (("plan", "export", "-o", "p.txt"), ".xlsx、.ods、.yaml 或 .yml", ".xlsx, .ods, .yaml or .yml"),
    (("plan", "new", "-o", "p.csv"), ".xlsx、.ods、.yaml 或 .yml", ".xlsx, .ods, .yaml or .yml"),
    (
        ("plan", "import", "in/p.yaml", "-o", "p.json"),
        ".xlsx、.ods、.yaml 或 .yml",
        ".xlsx, .ods, .yaml or .yml",
    ),
    (("plan", "rollover", "--to", "108", "-o", "計畫108.txt"), ".xlsx、.ods、.yaml 或 .yml", ".xlsx, .ods"),
]


@pytest.mark.parametrize(("args", "zh", "en"), REFUSED, ids=[" ".join(a[0]) for a in REFUSED])
def test_an_extension_without_a_writer_is_refused_and_nothing_written(tmp_path, args, zh, en):
    (tmp_path / "in").mkdir()
    shutil.copyfile(default_plan_path(), tmp_path / "in" / "p.yaml")
    before = listing(tmp_path)
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert zh in proc.stderr and en in proc.stderr, proc.stderr
    assert listing(tmp_path) == before
    if "--json" in args:
        assert json.loads(proc.stdout)["error"]["code"] == "output_extension"


def test_calculate_keeps_its_input_format(tmp_path):
    """``output_format("calculate", OUT, source=IN)``: what ``kpi calculate -o`` asks before any work."""
    from workbook.outputs import output_format

    assert output_format("calculate", None, source=tmp_path / "A.xlsx") == "xlsx"
    assert output_format("calculate", None, source=tmp_path / "A.ods") == "ods"
    assert output_format("calculate", tmp_path / "B.xlsx", source=tmp_path / "A.xlsx") == "xlsx"
    assert output_format("calculate", tmp_path / "B.ods", source=tmp_path / "A.ods") == "ods"
    for out, source in (("A.ods", "A.xlsx"), ("A.xlsx", "A.ods"), ("A.csv", "A.xlsx")):
        with pytest.raises(KpiError) as err:
            output_format("calculate", tmp_path / out, source=tmp_path / source)
        wanted = Path(source).suffix
        assert err.value.code == "output_extension" and wanted in err.value.message_zh
        assert wanted in err.value.message_en
    assert not list(tmp_path.iterdir())


def test_template_ods_is_really_odf_and_xlsx_really_ooxml(tmp_path):
    from workbook import libreoffice as lo

    proc = run("template", "-o", "t.xlsx", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        assert "xl/workbook.xml" in z.namelist() and "[Content_Types].xml" in z.namelist()
    lo.require_soffice()
    proc = run("template", "-o", "t.ods", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert zip_mimetype(tmp_path / "t.ods") == ODS_MIME
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.ods", "t.xlsx"]  # no staging folder left


@pytest.mark.parametrize("ext", ["xlsx", "ods"])
def test_rollover_writes_the_plan_workbook_its_name_asks_for(tmp_path, ext):
    from workbook.plan_io.reading import read_plan_data

    if ext == "ods":
        from workbook import libreoffice as lo

        lo.require_soffice()
    out = tmp_path / f"計畫設定108.{ext}"
    proc = run("plan", "rollover", "--to", "108", "-o", out.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert zipfile.is_zipfile(out) and not out.read_bytes().startswith(b"#")  # not YAML text
    if ext == "ods":
        assert zip_mimetype(out) == ODS_MIME
    else:
        data, _ = read_plan_data(out)
        assert data["year"] == 108
    check = run("plan", "check", out.name, cwd=tmp_path)  # targets still to set: named by cell
    assert check.returncode == 2 and "target_unset" in check.stderr and "關鍵績效指標" in check.stderr


# ---------------------------------------------------------------------------
# one plan loader, one CLI style
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["yaml", "xlsx", "ods"])
def test_every_command_takes_plan_as_yaml_xlsx_or_ods(plans, filled, tmp_path, kind):
    plan = str(plans[kind])
    (tmp_path / "e.yaml").write_text(ENTRIES, encoding="utf-8")

    proc = run("template", "--plan", plan, "-o", "t.xlsx", "--year", "106", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert zipfile.is_zipfile(tmp_path / "t.xlsx")

    proc = run("compute", "--plan", plan, "--entries", "e.yaml", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    rate = next(i for i in out["indicators"] if i["indicator"] == "procurement_pass_rate")
    assert rate["value"] == 89.05

    proc = run("collect", "--plan", plan, str(filled), "-o", "s.xlsx", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    assert zipfile.is_zipfile(tmp_path / "s.xlsx") and "rows: 5" in proc.stdout

    proc = run("report", "--plan", plan, str(filled), "-o", "r.odt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert zip_mimetype(tmp_path / "r.odt") == ODT_MIME


def test_plan_commands_take_plan_as_an_option_too(plans, tmp_path):
    plan = str(plans["xlsx"])
    assert run("plan", "check", "--plan", plan, cwd=tmp_path).returncode == 0
    proc = run("plan", "export", "--plan", plan, "-o", "p.yaml", cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "p.yaml").read_text(encoding="utf-8").startswith("#")
    proc = run("plan", "rollover", "--plan", plan, "--to", "108", "-o", "n.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the positional form stays an alias; two different plans are refused
    assert run("plan", "check", plan, "--plan", plan, cwd=tmp_path).returncode == 0
    proc = run("template", plan, "--plan", "p.yaml", "-o", "t.xlsx", cwd=tmp_path)
    assert proc.returncode == 2 and "計畫檔只能指定一個" in proc.stderr and "give one plan" in proc.stderr
    assert not (tmp_path / "t.xlsx").exists()


# ---------------------------------------------------------------------------
# no tracebacks: missing files, an unwritable folder, a full disk, Ctrl-C
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("check", "沒有這個.xlsx"), "沒有這個.xlsx"),
        (("calculate", "沒有這個.xlsx"), "沒有這個.xlsx"),
        (("template", "--plan", "沒有這個.xlsx", "-o", "t.xlsx"), "沒有這個.xlsx"),
        (("template", "--plan", "沒有這個.ods", "-o", "t.xlsx"), "沒有這個.ods"),
        (("template", "-o", "沒有這個資料夾/t.xlsx"), "沒有這個資料夾"),
        (("template", "-o", "a.txt/t.xlsx"), "a.txt"),
        (("compute", "--entries", "沒有這個.yaml"), "沒有這個.yaml"),
        (("collect", "沒有這個", "-o", "s.xlsx"), "沒有這個"),
        (("report", "沒有這個.xlsx", "-o", "r.odt"), "沒有這個.xlsx"),
        (("report", "--archive", "沒有這個.sqlite", "-o", "r.odt"), "沒有這個.sqlite"),
        (("plan", "import", "沒有這個.docx", "-o", "p.yaml"), "沒有這個.docx"),
    ],
)
def test_a_missing_file_is_named_and_exit_2(tmp_path, args, named):
    (tmp_path / "a.txt").write_text("not a folder")
    before = listing(tmp_path)
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2 and named in proc.stderr, proc.stderr
    assert listing(tmp_path) == before


def _capless(tmp_path: Path) -> tuple[str, ...]:
    """A prefix running a command as root without capabilities, or skip when there is none."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    prefix = (setpriv, "--bounding-set=-all", "--inh-caps=-all")
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0o555)
    tried = subprocess.run([*prefix, "touch", str(probe / "x")], capture_output=True)
    probe.chmod(0o755)
    shutil.rmtree(probe)
    if tried.returncode == 0:
        pytest.skip("a folder of mode 0555 stays writable under setpriv here (capabilities kept)")
    return prefix


@pytest.mark.parametrize(
    "args",
    [
        ("template", "-o", "ro/t.xlsx"),
        ("template", "-o", "ro/t.ods"),
        ("report", "{filled}", "-o", "ro/r.pdf"),
        ("report", "{filled}", "-o", "ro/r.odt"),
        ("demo", "ro/demo"),
        ("addin", "build", "-o", "ro/addin"),
        ("addin", "build", "--libreoffice", "-o", "ro/addin"),
        ("collect", "{filled}", "-o", "s.xlsx", "--csv", "ro/csv"),
        ("collect", "{filled}", "-o", "ro/s.ods"),
        ("plan", "export", "-o", "ro/p.yaml"),
        ("plan", "rollover", "--to", "108", "-o", "ro/p.xlsx"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_an_unwritable_folder_is_a_message_and_exit_2(filled, tmp_path, args):
    prefix = _capless(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        argv = [a.format(filled=filled) for a in args]
        proc = run(*argv, cwd=tmp_path, prefix=prefix)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "沒有權限" in proc.stderr and "permission denied" in proc.stderr, proc.stderr
        assert str(ro) in proc.stderr or "ro/" in proc.stderr
        assert not list(ro.iterdir())
        assert not (tmp_path / "s.xlsx").exists()  # refused before any work
    finally:
        ro.chmod(0o755)


def assert_disk_full(proc: subprocess.CompletedProcess) -> None:
    """Exit 2 with the full-disk words in zh-TW and English, and no traceback."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "磁碟空間不足" in proc.stderr and ("No space left" in proc.stderr or "disk is full" in proc.stderr)
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr


def _full_disk(tmp_path: Path) -> tuple[str, ...]:
    """A prefix running a command with ``tmp_path/full`` a full tmpfs, or skip when not permitted."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed")
    full = tmp_path / "full"
    full.mkdir()
    script = (
        'mount -t tmpfs -o size=64k,mode=0777 tmpfs "$FULL" || exit 97; '
        'dd if=/dev/zero of="$FULL/filler" bs=4k >/dev/null 2>&1; '
        '"$@"; code=$?; echo "--listing--"; ls -A "$FULL"; exit $code'
    )
    prefix = (
        unshare,
        "--user",
        "--map-root-user",
        "--mount",
        "env",
        f"FULL={full}",
        "sh",
        "-c",
        script,
        "sh",
    )
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True)
    if probe.returncode == 97 or probe.returncode != 0:
        pytest.skip(f"cannot mount a private tmpfs here: {probe.stderr.strip()[:200]}")
    return prefix


@pytest.mark.parametrize(
    "args",
    [
        ("template", "-o", "full/t.xlsx"),
        ("template", "-o", "full/t.ods"),
        ("collect", "{filled}", "-o", "full/s.xlsx"),
        ("collect", "{filled}", "-o", "s.xlsx", "--csv", "full/csv"),
        ("report", "{filled}", "-o", "full/r.odt"),
        ("report", "{filled}", "-o", "full/r.pdf"),
        ("plan", "export", "-o", "full/p.yaml"),
        ("plan", "rollover", "--to", "108", "-o", "full/p.xlsx"),
        ("addin", "build", "-o", "full"),
    ],
    ids=lambda a: " ".join(a[:2]) + " " + a[-1],
)
def test_a_full_disk_is_a_message_and_exit_2(filled, tmp_path, args):
    prefix = _full_disk(tmp_path)
    if args[-1].endswith((".ods", ".pdf")):
        from workbook import libreoffice as lo

        lo.require_soffice()
    argv = [a.format(filled=filled) for a in args]
    proc = run(*argv, cwd=tmp_path, prefix=prefix)
    assert_disk_full(proc)
    left = proc.stdout.split("--listing--", 1)[1].split()
    assert left in (["filler"], ["csv", "filler"]), left  # no output, no temporary file


@pytest.mark.parametrize(
    "args",
    [
        ("template", "-o", "t.xlsx"),
        ("template", "-o", "t.ods"),
        ("report", "{filled}", "-o", "r.pdf"),
        ("calculate", "{filled}", "-o", "c.xlsx"),
    ],
    ids=lambda a: " ".join(a[:2]) + " " + a[-1],
)
def test_a_full_temporary_folder_is_a_message_and_exit_2(filled, tmp_path, args):
    """openpyxl and LibreOffice stage their work in $TMPDIR: a full one is a full disk, not a traceback."""
    prefix = (*_full_disk(tmp_path), "env", f"TMPDIR={tmp_path / 'full'}")
    if args[-1].endswith((".ods", ".pdf")):
        from workbook import libreoffice as lo

        lo.require_soffice()
    argv = [a.format(filled=filled) for a in args]
    proc = run(*argv, cwd=tmp_path, prefix=prefix)
    if proc.returncode == 0:  # it needed no temporary file: the output is whole
        assert "Traceback" not in proc.stderr and (tmp_path / args[-1]).stat().st_size > 0
        return
    assert_disk_full(proc)
    assert not (tmp_path / args[-1]).exists()


def _workers_started(pid: int) -> bool:
    found = glob.glob(f"/proc/{pid}/task/*/children")
    return any(Path(f).read_text().split() for f in found)


@pytest.mark.parametrize("mode", ["terminal", "parent-only", "twice"])
def test_ctrl_c_during_collect_is_130_and_leaves_nothing(filled, tmp_path, mode):
    inbox = tmp_path / "收件匣"
    inbox.mkdir()
    for i in range(3000):  # enough that the collect is still reading when the signal comes
        os.link(filled, inbox / f"{i:04d}.xlsx")
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workbook.cli",
            "collect",
            str(inbox),
            "-o",
            "out/彙總.xlsx",
            "--csv",
            "out/csv",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 60
        while not _workers_started(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not glob.glob(f"/proc/{proc.pid}/task/*/children"):
            time.sleep(3)  # no /proc children list: give it time to start reading
        time.sleep(0.3)
        assert proc.poll() is None, "collect finished before the interrupt"
        if mode == "parent-only":
            os.kill(proc.pid, signal.SIGINT)
        else:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: workers too
        if mode == "twice":  # an impatient second Ctrl-C while the pool shuts down (it hung kpi)
            time.sleep(0.05)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr[-2000:]
    assert "已中止" in stderr and "aborted" in stderr
    assert "Traceback" not in stdout + stderr and "Exception ignored" not in stderr, stderr[-3000:]
    assert listing(out) == []  # no summary, no CSV folder, no temporary file
    assert len(listing(inbox)) == 3000


@pytest.mark.parametrize("where", ["folder-missing", "a-folder"])
def test_an_archive_that_cannot_be_written_is_refused_before_any_work(filled, tmp_path, capsys, where):
    from workbook.cli import main

    archive = tmp_path / ("沒有這個資料夾/kpi.sqlite" if where == "folder-missing" else "kpi.sqlite")
    if where == "a-folder":
        archive.mkdir()
    summary = tmp_path / "彙總.xlsx"
    code = main(["collect", str(filled), "-o", str(summary), "--archive", str(archive)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert ("找不到檔案或資料夾" in err) if where == "folder-missing" else ("須為一般檔案" in err), err
    assert "Traceback" not in err
    assert not summary.exists()  # refused before the summary was written, not after


@pytest.mark.parametrize(
    "args",
    [
        ["calculate", "沒有.xlsx"],
        ["check", "沒有.xlsx"],
        ["collect", "沒有.xlsx", "-o", "s.xlsx"],
        ["report", "沒有.xlsx", "-o", "r.odt"],
        ["plan", "import", "沒有.docx", "-o", "p.yaml"],
        ["template", "--plan", "沒有.yaml", "-o", "t.xlsx"],
        ["template", "--plan", "沒有.ods", "-o", "t.xlsx"],
    ],
    ids=["calculate", "check", "collect", "report", "plan-import", "yaml-plan", "ods-plan"],
)
def test_a_missing_input_is_said_one_way_by_every_command(tmp_path, monkeypatch, capsys, args):
    from workbook.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "沒有." in err and "無法讀取檔案：找不到檔案或資料夾" in err, err
    assert "cannot read the file: no such file or folder" in err and "Errno" not in err, err
    assert listing(tmp_path) == []  # nothing written


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    """A template to calculate (.xlsx templates need no LibreOffice; calculating in it does)."""
    folder = tmp_path_factory.mktemp("blank")
    assert run("template", "-o", "t.xlsx", cwd=folder).returncode == 0
    return folder / "t.xlsx"


def _calculate_in_libreoffice(blank: Path, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """``kpi calculate t.xlsx -o out.xlsx --engine libreoffice`` in its own process group, with
    $TMPDIR a folder of its own; returned once LibreOffice has written into it (it works)."""
    from workbook import libreoffice as lo

    lo.require_soffice()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    shutil.copyfile(blank, tmp_path / "t.xlsx")
    env = dict(os.environ, PYTHONPATH=str(REPO), TMPDIR=str(tmp))
    args = ["calculate", "t.xlsx", "-o", "out.xlsx", "--engine", "libreoffice"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbook.cli", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:  # LibreOffice's lu*.tmp files
        # (os.walk, not rglob: it skips a folder LibreOffice removes while it is being listed)
        if any(n.startswith("lu") for _, dirs, files in os.walk(tmp) for n in dirs + files):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the workbook was calculated before LibreOffice could be interrupted"
    return proc, tmp


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_while_libreoffice_works_leaves_no_temporary_file(blank, tmp_path, how):
    """Ctrl-C (SIGINT to the process group), or SIGTERM (a service or a GUI stopping ``kpi``), while
    LibreOffice works: 「已中止」, 130 (143 for SIGTERM), and LibreOffice is killed (no process
    of the run left), its ``lu*.tmp`` files gone with its private $TMPDIR.  SIGTERM used to end
    Python on the spot: LibreOffice ran on, its profile and files stayed."""
    proc, tmp = _calculate_in_libreoffice(blank, tmp_path)
    try:
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        left = survivors(tmp)
    assert left == [], left  # no soffice, soffice.bin, oosplash of this run
    assert proc.returncode == (130 if how == "ctrl-c" else 128 + signal.SIGTERM), err
    assert "已中止" in err and "aborted" in err and "Traceback" not in err, err
    assert listing(tmp) == [], listing(tmp)
    assert listing(tmp_path) == ["t.xlsx", "tmp"], listing(tmp_path)


def test_libreoffice_does_not_outlive_a_killed_kpi(blank, tmp_path):
    """``kpi`` killed outright (SIGKILL: no clean-up can run in it; a test runner's time-out, the
    OOM killer) while LibreOffice works: LibreOffice dies with it within seconds, its private
    profile and $TMPDIR and the copy it worked on are removed, nothing is written.  It used to
    run on for ever (seen alive 25 minutes after an interrupted test run)."""
    proc, tmp = _calculate_in_libreoffice(blank, tmp_path)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        left = survivors(tmp)
    assert left == [], left
    assert listing(tmp) == [], listing(tmp)
    assert listing(tmp_path) == ["t.xlsx", "tmp"], listing(tmp_path)


# -- issue 23: plan outputs are replaced only with --force, a sane ROC year -----------------------


@pytest.mark.parametrize(
    "args",
    [("plan", "import", "p.yaml", "-o", "out.yaml"), ("plan", "rollover", "--to", "108", "-o", "out.yaml")],
    ids=lambda a: a[1],
)
def test_plan_import_and_rollover_refuse_an_edited_file_without_force(tmp_path, args):
    """As ``kpi template`` does: an existing output is named and kept; --force replaces it."""
    shutil.copy(default_plan_path(), tmp_path / "p.yaml")
    edited = "# 承辦人修改過的計畫\n"
    (tmp_path / "out.yaml").write_text(edited, encoding="utf-8")
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("錯誤 / error: out.yaml: 檔案已存在") and "--force" in proc.stderr, (
        proc.stderr
    )
    assert "already exists" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "out.yaml").read_text(encoding="utf-8") == edited
    assert listing(tmp_path) == ["out.yaml", "p.yaml"]  # nothing else written
    forced = run(*args, "--force", cwd=tmp_path)
    assert forced.returncode in (0, 1), forced.stderr  # 1: the rolled-over targets are still to set
    assert (tmp_path / "out.yaml").read_text(encoding="utf-8") != edited
    assert listing(tmp_path) == ["out.yaml", "p.yaml"]


@pytest.mark.parametrize("year", ["99999", "201", "107", "0"])
def test_rollover_refuses_a_year_no_next_plan_has(tmp_path, year):
    proc = run("plan", "rollover", "--to", year, "-o", "next.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("錯誤 / error: --to") and "Traceback" not in proc.stderr, proc.stderr
    assert ("民國年度" in proc.stderr and "ROC year" in proc.stderr) or "須晚於計畫年度 107" in proc.stderr
    assert listing(tmp_path) == []
