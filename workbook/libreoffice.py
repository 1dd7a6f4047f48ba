"""Headless LibreOffice harness: forced recalculation, PDF export, PNG rendering.

openpyxl writes formulas but never computes them, so a workbook produced by it
has no cached values (or, worse, stale ones copied from a template).  This
module runs LibreOffice Calc headless to

* :func:`recalculate` a workbook -- every formula is recomputed by LibreOffice
  and the file is saved again, so ``openpyxl.load_workbook(..., data_only=True)``
  then reads LibreOffice's own results;
* :func:`convert_to_pdf` a workbook (also with forced recalculation);
* :func:`pdf_to_pngs` rasterise a PDF with poppler's ``pdftoppm``.

Every LibreOffice process of the package (these, :func:`workbook.books.uno.office`'s
soffice, :func:`workbook.buttons.oxt.install_oxt`'s unopkg) is started by :func:`start`
or :func:`run` with :func:`office_env`: the system ``python3`` first on PATH, so a
virtual environment's cannot take over LibreOffice's embedded Python.  On POSIX it runs
under a small warden (:data:`_WARDEN`) that kills it, and removes its private folders, if
``kpi`` dies without ending it: LibreOffice never outlives the command that started it.

Forcing recalculation
---------------------
By default LibreOffice *trusts* the cached ``<v>`` values of an OOXML file
written by "Microsoft Excel" (``OOXMLRecalcMode`` = 1, "never recalculate").
Each call therefore starts LibreOffice with a fresh, private user profile
(``-env:UserInstallation=file:///tmp/...``) whose
``user/registrymodifications.xcu`` sets, under
``/org.openoffice.Office.Calc/Formula/Load``, both ``OOXMLRecalcMode`` and
``ODFRecalcMode`` to 0 (``RECALC_ALWAYS``; 1 = never, 2 = ask).  These names
were checked against the schema shipped in LibreOffice's
``share/registry/main.xcd``.  A private profile per call also means parallel
workers never share a profile (a shared profile makes a second ``soffice``
hand its job to the first instance, or fail on the profile lock).

Files are written by :func:`workbook.formats.files.save_atomic`; otherwise only the
standard library is used, and pytest is imported lazily by :func:`require_soffice` /
:func:`require_pdftoppm`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kpi_engine.errors import KpiError
from workbook.formats.files import save_atomic
from workbook.interrupts import deferred_interrupts, no_interrupt

__all__ = [
    "DEFAULT_TIMEOUT",
    "RECALC_XCU",
    "LibreOfficeError",
    "convert_to_pdf",
    "find_pdftoppm",
    "find_soffice",
    "kill",
    "office_env",
    "pdf_to_pngs",
    "recalculate",
    "require_pdftoppm",
    "require_soffice",
    "run",
    "scratch_folder",
    "start",
    "write_profile",
]

#: Default timeout, in seconds, for one LibreOffice / pdftoppm run.
DEFAULT_TIMEOUT: float = 120.0

#: Output format -> (file extension, LibreOffice export filter name).
_SPREADSHEET_FILTERS: dict[str, tuple[str, str]] = {
    "xlsx": ("xlsx", "Calc MS Excel 2007 XML"),
    "ods": ("ods", "calc8"),
    "xlsm": ("xlsm", "Calc MS Excel 2007 VBA XML"),
}
_PDF_FILTER = "calc_pdf_Export"
#: Text documents need Writer's PDF export; Calc's filter cannot export them.
_WRITER_PDF_FILTER = "writer_pdf_Export"
_TEXT_SUFFIXES = (".odt", ".docx", ".doc", ".rtf", ".fodt")

#: ``registrymodifications.xcu`` seeded into every private profile.
#: 0 = RECALC_ALWAYS, 1 = RECALC_NEVER (LibreOffice default), 2 = RECALC_ASK.
RECALC_XCU = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""

_INSTALL_HINT = (
    "LibreOffice (soffice) is not installed; apt-get install libreoffice-calc-nogui libreoffice-writer-nogui"
)
_PDFTOPPM_HINT = "pdftoppm is not installed; apt-get install poppler-utils"
_REQUIRE_ENV = "KPI_REQUIRE_LIBREOFFICE"

# Places soffice lives when it is not on PATH.
_SOFFICE_CANDIDATES: tuple[str, ...] = (
    "/usr/lib/libreoffice/program/soffice",
    "/usr/local/lib/libreoffice/program/soffice",
    "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
)


class LibreOfficeError(KpiError, RuntimeError):
    """An external rendering tool (soffice or pdftoppm) failed or timed out.

    Attributes:
        cmd: The command line that was run (empty if nothing was run).
        returncode: The exit status, or ``None`` on timeout / not started.
        stdout: What the tool printed on stdout.
        stderr: What the tool printed on stderr.
    """

    def __init__(
        self,
        message: str,
        *,
        cmd: Sequence[str] = (),
        returncode: int | None = None,
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        self.cmd: list[str] = list(cmd)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        details = [message]
        if self.cmd:
            details.append(f"command: {subprocess.list2cmdline(self.cmd)}")
        if returncode is not None:
            details.append(f"exit status: {returncode}")
        if stdout.strip():
            details.append(f"stdout: {stdout.strip()}")
        if stderr.strip():
            details.append(f"stderr: {stderr.strip()}")
        super().__init__("\n".join(details), code="libreoffice")

    @classmethod
    def failed(cls, message: str, result: subprocess.CompletedProcess[str]) -> LibreOfficeError | OSError:
        """The error for a run that finished but failed (``result`` from :func:`run`).

        A full disk is said as such (an :class:`OSError`): LibreOffice itself only says it
        could not load or store the document.
        """
        if (full := disk_full_error()) is not None:
            return full
        return cls(
            message, cmd=result.args, returncode=result.returncode, stdout=result.stdout, stderr=result.stderr
        )


#: Below this much free space LibreOffice cannot stage a document or its profile.
MIN_FREE_BYTES = 16 * 1024 * 1024


def disk_full_error(*folders: Path) -> OSError | None:
    """An ENOSPC error naming the first of ``folders`` (and the temporary folder) that is
    (nearly) full, or None: why a LibreOffice run failed when it gives no reason."""
    # $TMPDIR as LibreOffice sees it: Python's gettempdir() silently skips a full one.
    named = [os.environ[k] for k in ("TMPDIR", "TEMP", "TMP") if os.environ.get(k)]
    for folder in (*folders, *map(Path, named), Path(tempfile.gettempdir())):
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            continue
        if free < MIN_FREE_BYTES:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
    return None


# --------------------------------------------------------------------------
# Locating the tools
# --------------------------------------------------------------------------


def find_soffice() -> str | None:
    """Return the path of the LibreOffice executable, or ``None``.

    Looks for ``soffice`` then ``libreoffice`` on ``PATH``, then in a few
    usual install locations.
    """
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for candidate in _SOFFICE_CANDIDATES:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_pdftoppm() -> str | None:
    """Return the path of poppler's ``pdftoppm``, or ``None``."""
    return shutil.which("pdftoppm")


def _require(found: str | None, hint: str) -> str:
    """Return *found*, or skip (or fail, if ``KPI_REQUIRE_LIBREOFFICE=1``) the test."""
    import pytest  # lazy: only test code needs pytest

    if found:
        return found
    if os.environ.get(_REQUIRE_ENV) == "1":
        pytest.fail(f"{hint} ({_REQUIRE_ENV}=1 makes this a failure)", pytrace=False)
    pytest.skip(hint)
    raise AssertionError("unreachable")  # pragma: no cover - pytest.skip raises


def require_soffice() -> str:
    """Pytest helper: path of ``soffice``, or skip the calling test.

    If the environment variable ``KPI_REQUIRE_LIBREOFFICE=1`` is set (e.g. in
    CI images that must have LibreOffice), a missing ``soffice`` fails the test
    instead of skipping it.
    """
    return _require(find_soffice(), _INSTALL_HINT)


def require_pdftoppm() -> str:
    """Pytest helper like :func:`require_soffice`, for poppler's ``pdftoppm``."""
    return _require(find_pdftoppm(), _PDFTOPPM_HINT)


# --------------------------------------------------------------------------
# Running soffice
# --------------------------------------------------------------------------


#: Put first on a LibreOffice process's PATH (POSIX): the folders of the system ``python3``.
SYSTEM_BIN: tuple[str, ...] = ("/usr/bin", "/bin")


def office_env(*, home: str | None = None) -> dict[str, str]:
    """The environment of every LibreOffice process (soffice, unopkg): this one's, except

    * ``PATH`` starts with :data:`SYSTEM_BIN` (POSIX).  LibreOffice's embedded Python takes
      its standard library from the first ``python3`` on PATH: a virtual environment's or a
      pyenv shim's there makes it load another Python's library, so soffice aborts on the
      first macro and ``unopkg add`` fails on the extension's Python script.
    * ``PYTHONHOME`` is dropped, for the same reason.
    * ``HOME`` is ``home`` when given (unopkg run as another user), else kept, or the
      temporary folder when unset (a service account): LibreOffice needs one.
    """
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    if home is not None:
        env["HOME"] = home
    env.setdefault("HOME", tempfile.gettempdir())
    if sys.platform != "win32":
        env["PATH"] = os.pathsep.join([*SYSTEM_BIN, env.get("PATH", "")])
    return env


def write_profile(root: Path) -> str:
    """Seed a private LibreOffice profile in ``root`` (recalculate on load); return its file URL."""
    user = Path(root) / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(RECALC_XCU, encoding="utf-8")
    return Path(root).as_uri()


@contextlib.contextmanager
def scratch_folder(prefix: str, parent: Path | None = None) -> Iterator[Path]:
    """A new temporary folder (in ``parent``, default the temporary folder) for the block,
    removed after it, even when Ctrl-C comes while it is being made."""
    folder = None
    try:
        with deferred_interrupts():
            folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        yield folder
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _private_profile() -> Iterator[Path]:
    """Create a throw-away LibreOffice user profile (:func:`write_profile`); yield its folder.

    The profile is pre-seeded with :data:`RECALC_XCU` and deleted afterwards.
    """
    with scratch_folder("kpi-lo-profile-") as root:
        write_profile(root)
        yield root


#: The warden (POSIX), run by :func:`start` with this Python as the parent of the command
#: (``soffice`` and whatever it starts, in a process group of their own).  It waits for the
#: command to end (its exit status becomes the warden's) or for a word on the pipe ``watch``
#: (``k``: kill it) or its end-of-file (``kpi`` is gone: killed, SIGKILL included, or it forgot
#: the process).  In the last two cases it kills the command's whole group, removes the
#: ``litter`` folders (the private $TMPDIR, the profile) and ends as killed.  The group is the
#: warden's own unreaped child's, so its number can never be another process's meanwhile.
_WARDEN = """\
import os, select, signal, sys
watch, count = int(sys.argv[1]), int(sys.argv[2])
litter, cmd = sys.argv[3 : 3 + count], sys.argv[3 + count :]
ENDS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
class Stop(Exception):
    pass
def stop(*_):
    raise Stop
for s in ENDS:
    signal.signal(s, stop)
child, code = None, -signal.SIGKILL
try:
    try:
        child = os.posix_spawnp(cmd[0], cmd, os.environ, setpgroup=0)
    except OSError as exc:
        sys.stderr.write(f"{cmd[0]}: {exc.strerror}\\n")
        sys.exit(127)
    try:
        waits = [os.pidfd_open(child)]
    except (AttributeError, OSError):  # no pidfd (macOS, Linux before 5.3): look every 0.2 s
        waits = []
    while True:
        if watch in select.select([watch, *waits], [], [], None if waits else 0.2)[0]:
            raise Stop
        if os.waitid(os.P_PID, child, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            break
    signal.pthread_sigmask(signal.SIG_BLOCK, ENDS)  # it ended by itself: nothing to stop now
    try:
        os.killpg(child, signal.SIGKILL)  # whatever it left running in its group
    except OSError:
        pass
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
except Stop:
    signal.pthread_sigmask(signal.SIG_BLOCK, ENDS)
    if child is not None:
        try:
            os.killpg(child, signal.SIGKILL)
            os.waitpid(child, 0)
        except OSError:
            pass
    import shutil
    for folder in litter:
        shutil.rmtree(folder, ignore_errors=True)
if code < 0:  # end as the command ended: killed by that signal
    try:
        signal.signal(-code, signal.SIG_DFL)
    except (OSError, ValueError):
        pass
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [-code])
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


@dataclass
class _Lease:
    """What :func:`start` keeps for a process until :func:`release`: its private $TMPDIR and the
    pipe to its warden (closed with this object, whatever ends it: the warden then kills)."""

    folder: str
    watch: io.FileIO | None = None

    def stop(self) -> bool:
        """Ask the warden to kill the command's group; False when there is no warden to ask."""
        if self.watch is None:
            return False
        with contextlib.suppress(OSError, ValueError):
            self.watch.write(b"k")
            self.watch.flush()
            return True
        return False

    def end(self) -> None:
        """Close the pipe and remove the private $TMPDIR."""
        if self.watch is not None:
            with contextlib.suppress(OSError):
                self.watch.close()
        shutil.rmtree(self.folder, ignore_errors=True)


#: What :func:`start` keeps of each process it started and :func:`release` has not released.
_LEASES: weakref.WeakKeyDictionary[subprocess.Popen, _Lease] = weakref.WeakKeyDictionary()


def _forget_pipes_in_child() -> None:
    """In a forked child (a ``fork`` process pool): close the pipes to the wardens, so the
    parent's death is still their end-of-file."""
    for lease in list(_LEASES.values()):
        if lease.watch is not None:
            with contextlib.suppress(OSError):
                lease.watch.close()
            lease.watch = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pipes_in_child)


def _warden_command(cmd: Sequence[str], watch: int, litter: Sequence[str]) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", _WARDEN, str(watch), str(len(litter)), *litter, *cmd]


def start(
    cmd: Sequence[str], *, owner: str | None = None, litter: Sequence[str | Path] = (), **popen_args
) -> subprocess.Popen:
    """Start a LibreOffice process (or any helper tool) the one way: :func:`office_env`, no
    stdin, and a process group of its own (POSIX), so :func:`kill` ends everything it spawned.

    ``soffice`` is a launcher (shell script + oosplash) that spawns ``soffice.bin``; killing
    only the direct child would leave the real office process running.

    On POSIX the command runs under a warden (:data:`_WARDEN`, the returned process: its exit
    status is the command's): when this process dies without :func:`kill` or :func:`release`
    (SIGKILL, a crash), the warden kills the command's group and removes the private $TMPDIR
    and the ``litter`` folders (a profile, a work folder), so LibreOffice never outlives ``kpi``.
    """
    env = dict(popen_args.pop("env", None) or office_env())
    lease: _Lease | None = None
    process: subprocess.Popen | None = None
    try:
        # A Ctrl-C while the folder is made and the process started comes once both are
        # recorded here, so the clean-up below (or the caller's) knows them.
        with deferred_interrupts():
            # A temporary folder of its own, removed by :func:`release`: LibreOffice leaves its
            # ``lu*.tmp`` files behind when it is killed (Ctrl-C, a timeout).
            lease = _Lease(tempfile.mkdtemp(prefix="kpi-lo-tmp-"))
            process = _spawn(cmd, lease, env, owner=owner, litter=litter, popen_args=popen_args)
            _LEASES[process] = lease
    except BaseException:
        if process is not None:
            kill(process)
        elif lease is not None:
            lease.end()
        raise
    return process


def _spawn(
    cmd: Sequence[str],
    lease: _Lease,
    env: dict[str, str],
    *,
    owner: str | None,
    litter: Sequence[str | Path],
    popen_args: dict,
) -> subprocess.Popen:
    """:func:`start`'s Popen: ``cmd`` under its warden (POSIX), with ``lease``'s $TMPDIR."""
    if owner is not None:  # the command runs as that user (unopkg as nobody in tests)
        shutil.chown(lease.folder, owner)
    env = {**env, "TMPDIR": lease.folder, "TMP": lease.folder, "TEMP": lease.folder}
    argv, watch = list(cmd), None
    try:
        if sys.platform != "win32" and sys.executable:
            # as Popen would: a command that cannot start is an OSError here, not the warden's
            if shutil.which(argv[0], path=env.get("PATH")) is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), argv[0])
            watch, write_end = os.pipe()  # both ends close-on-exec: no other child holds them
            lease.watch = open(write_end, "wb", buffering=0)  # noqa: SIM115 - closed by _Lease.end
            argv = _warden_command(argv, watch, [lease.folder, *map(str, litter)])
            popen_args = {**popen_args, "pass_fds": (*popen_args.get("pass_fds", ()), watch)}
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            start_new_session=sys.platform != "win32",
            env=env,
            **popen_args,
        )
    finally:
        if watch is not None:
            os.close(watch)


def release(process: subprocess.Popen) -> None:
    """Let go of a process from :func:`start` that has ended: its warden pipe, its private $TMPDIR."""
    lease = _LEASES.pop(process, None)
    if lease is not None:
        lease.end()


def kill(process: subprocess.Popen) -> None:
    """Kill a process from :func:`start` and everything it started; wait for it.

    A second Ctrl-C cannot cut this short (:func:`workbook.interrupts.no_interrupt`).
    """
    with no_interrupt():
        lease = _LEASES.get(process)
        if process.poll() is None and not (lease is not None and lease.stop()):
            with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
                if sys.platform == "win32":
                    process.kill()
                else:
                    os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            process.wait(timeout=10)
        release(process)


def run(
    cmd: Sequence[str],
    *,
    timeout: float,
    what: str,
    env: dict[str, str] | None = None,
    owner: str | None = None,
    litter: Sequence[str | Path] = (),
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` to the end (:func:`start`, ``litter`` removed if ``kpi`` dies meanwhile), its
    output as text; the whole group killed on timeout or Ctrl-C.  Raises
    :class:`LibreOfficeError` when it cannot start or times out."""
    try:
        proc = start(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=env if env is not None else office_env(),
            owner=owner,
            litter=litter,
        )
    except OSError as exc:
        raise LibreOfficeError(f"{what}: could not start: {exc}", cmd=cmd) from exc
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(proc)
        stdout, stderr = proc.communicate()
        raise LibreOfficeError(
            f"{what}: timed out after {timeout:g} s", cmd=cmd, stdout=stdout, stderr=stderr
        ) from None
    except BaseException:  # e.g. KeyboardInterrupt: do not leave soffice behind
        kill(proc)
        raise
    release(proc)
    return subprocess.CompletedProcess(list(cmd), proc.returncode, stdout, stderr)


def soffice_command(soffice: str, profile_url: str, *args: str) -> list[str]:
    """A headless, windowless ``soffice`` command line with the profile at ``profile_url``, then ``args``."""
    return [
        soffice,
        f"-env:UserInstallation={profile_url}",
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        *args,
    ]


def _convert(
    src: Path,
    dst: Path,
    *,
    ext: str,
    filter_name: str,
    timeout: float,
    soffice: str | None,
) -> Path:
    """Convert *src* with ``soffice --convert-to`` and atomically move it to *dst*.

    *src* is first copied into a private work directory (created next to
    *dst* so that the final move, :func:`~workbook.formats.files.save_atomic`, stays on one file system),
    so LibreOffice's ``.~lock`` files never appear beside the caller's file
    and two workers may convert the same source concurrently.
    """
    src = Path(src).absolute()
    dst = Path(dst).absolute()
    if not src.is_file():
        raise FileNotFoundError(f"no such workbook: {src}")
    exe = soffice or find_soffice()
    if exe is None:
        raise LibreOfficeError(_INSTALL_HINT)
    dst.parent.mkdir(parents=True, exist_ok=True)

    with scratch_folder(".kpi-lo-", dst.parent) as work:
        indir = work / "in"
        outdir = work / "out"
        indir.mkdir()
        outdir.mkdir()
        # Keep the suffix: LibreOffice picks the import filter from it.
        local_src = indir / f"input{src.suffix.lower() or '.xlsx'}"
        shutil.copyfile(src, local_src)
        produced = outdir / f"{local_src.stem}.{ext}"

        with _private_profile() as profile:
            cmd = soffice_command(
                exe,
                profile.as_uri(),
                "--convert-to",
                f"{ext}:{filter_name}",
                "--outdir",
                str(outdir),
                str(local_src),
            )
            what = f"LibreOffice conversion of {src}"
            result = run(cmd, timeout=timeout, what=what, litter=(profile, work))

        # soffice exits 0 even when it could not load or export the document,
        # so the produced file is the real success criterion.
        if result.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
            raise LibreOfficeError.failed(f"LibreOffice failed to convert {src} to {ext}", result)
        save_atomic(produced, dst)
    return dst


def recalculate(
    src: Path,
    dst: Path,
    *,
    fmt: str = "xlsx",
    timeout: float = DEFAULT_TIMEOUT,
    soffice: str | None = None,
) -> Path:
    """Recalculate every formula of *src* with LibreOffice and save to *dst*.

    LibreOffice is started headless with a fresh private profile that forces
    a full recalculation on load (``OOXMLRecalcMode`` = ``ODFRecalcMode`` = 0),
    so the cached values in *dst* are LibreOffice's own results, whatever
    (missing or stale) values *src* carried.  *dst* is written atomically
    (:func:`workbook.formats.files.save_atomic`); *src* and
    *dst* may be the same path.

    Args:
        src: Input workbook (``.xlsx``, ``.ods``, ...).
        dst: Output path.
        fmt: ``"xlsx"`` ("Calc MS Excel 2007 XML" filter) or ``"ods"``.
        timeout: Seconds before LibreOffice is killed.
        soffice: Explicit executable; default :func:`find_soffice`.

    Returns:
        *dst* as a :class:`~pathlib.Path`.

    Raises:
        ValueError: Unknown *fmt*.
        FileNotFoundError: *src* does not exist.
        LibreOfficeError: LibreOffice is missing, failed or timed out.
    """
    try:
        ext, filter_name = _SPREADSHEET_FILTERS[fmt]
    except KeyError:
        known = ", ".join(sorted(_SPREADSHEET_FILTERS))
        raise ValueError(f"unsupported format {fmt!r}; expected one of: {known}") from None
    return _convert(Path(src), Path(dst), ext=ext, filter_name=filter_name, timeout=timeout, soffice=soffice)


def convert_to_pdf(
    src: Path,
    dst: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    soffice: str | None = None,
) -> Path:
    """Render workbook *src* to PDF *dst* (``calc_pdf_Export``), recalculating first.

    A text document (``.odt``, ``.docx``) is exported with ``writer_pdf_Export``.

    Uses the same private, recalc-forcing profile as :func:`recalculate`, so
    the PDF shows freshly computed values.  *dst* is written atomically.

    Raises:
        FileNotFoundError: *src* does not exist.
        LibreOfficeError: LibreOffice is missing, failed or timed out.
    """
    text = Path(src).suffix.lower() in _TEXT_SUFFIXES
    return _convert(
        Path(src),
        Path(dst),
        ext="pdf",
        filter_name=_WRITER_PDF_FILTER if text else _PDF_FILTER,
        timeout=timeout,
        soffice=soffice,
    )


def _page_number(path: Path) -> int:
    """Page number of a ``pdftoppm`` output file named ``<prefix>-<n>.png``."""
    return int(path.stem.rsplit("-", 1)[1])


def pdf_to_pngs(
    pdf: Path,
    out_prefix: Path,
    dpi: int = 80,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Path]:
    """Rasterise every page of *pdf* with ``pdftoppm -png``.

    Pages are written as ``<out_prefix>-<n>.png`` (pdftoppm zero-pads ``n``
    when the document has 10 or more pages).  Rendering happens in a private
    directory, so the returned list holds exactly this call's pages, in page
    order, never leftovers of an earlier run.

    Raises:
        FileNotFoundError: *pdf* does not exist.
        LibreOfficeError: ``pdftoppm`` is missing, failed, timed out or
            produced no page.
    """
    pdf = Path(pdf).absolute()
    out_prefix = Path(out_prefix).absolute()
    if not pdf.is_file():
        raise FileNotFoundError(f"no such PDF: {pdf}")
    exe = find_pdftoppm()
    if exe is None:
        raise LibreOfficeError(_PDFTOPPM_HINT)
    out_dir = out_prefix.parent
    out_dir.mkdir(parents=True, exist_ok=True)

    with scratch_folder(".kpi-ppm-", out_dir) as work:
        cmd = [exe, "-png", "-r", str(int(dpi)), str(pdf), str(work / "page")]
        result = run(cmd, timeout=timeout, what=f"pdftoppm of {pdf}")
        pages = sorted(work.glob("page-*.png"), key=_page_number)
        if result.returncode != 0 or not pages:
            raise LibreOfficeError.failed(f"pdftoppm failed to render {pdf}", result)
        outputs: list[Path] = []
        for page in pages:
            target = out_dir / f"{out_prefix.name}-{page.name.removeprefix('page-')}"
            outputs.append(save_atomic(page, target))
    return outputs
