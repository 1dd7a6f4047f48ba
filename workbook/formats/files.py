"""Reading and writing workbook files safely.

A file is never half-written: we save to a temporary file in the same folder and
then replace the target in one step.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

from kpi_engine.errors import KpiError
from workbook.errors import os_words

if TYPE_CHECKING:
    from openpyxl import Workbook


class WorkbookFileError(KpiError):
    """A workbook file that cannot be read or written; messages in zh-TW and English."""

    code = "file_unusable"

    def __init__(
        self,
        message_zh: str,
        message_en: str | None = None,
        *,
        path: str | Path | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message_zh, message_en, code=code, path=path, sheet=sheet, cell=cell)


class DamagedFileError(WorkbookFileError):
    """A workbook whose contents are damaged (as opposed to a sound file that is not ours)."""

    code = "file_damaged"


class UnsupportedFormatError(WorkbookFileError):
    """A sound file of a format we do not read (Strict Open XML, flat ODF, …), named for what it is."""

    code = "file_unsupported"


#: Bytes of a target's name kept in its temporary file's name; NAME_MAX is 255 bytes on
#: Linux and macOS, and an 80-character zh-TW name alone is 240 bytes in UTF-8.
TEMP_STEM_BYTES = 64


def temp_prefix(path: Path) -> str:
    """A temporary file's name prefix for ``path``: hidden, short whatever the target's length."""
    raw = os.fsencode(path.stem)[:TEMP_STEM_BYTES]
    for cut in range(4):  # a cut inside a UTF-8 character: drop its first bytes too
        with contextlib.suppress(UnicodeDecodeError):
            return f".{raw[: len(raw) - cut].decode('utf-8')}-"
    # Not UTF-8 at all (a Big5 name from a Windows share or a zip): the bytes as they are.
    return f".{os.fsdecode(raw)}-"


@dataclass(frozen=True)
class FileState:
    """What a file on disk looked like when we read it, to notice a change before replacing it."""

    exists: bool
    size: int = -1
    mtime_ns: int = -1
    sha256: str = ""
    inode: tuple[int, int] = (-1, -1)

    @classmethod
    def _from(cls, st: os.stat_result, data: bytes) -> FileState:
        return cls(True, st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest(), (st.st_dev, st.st_ino))

    @classmethod
    def of(cls, path: Path, data: bytes | None = None) -> FileState:
        """The state of ``path`` now (``data``: its bytes, when already read and unchanged since)."""
        if data is None:
            try:
                return cls.read(path)[1]
            except FileNotFoundError:
                return cls(False)
            except OSError:
                return cls(True)  # unreadable: the save itself will report why
        try:
            return cls._from(path.stat(), data)
        except FileNotFoundError:
            return cls(False)
        except OSError:
            return cls(True)

    @classmethod
    def read(cls, path: Path) -> tuple[bytes, FileState]:
        """Read ``path`` and its state from one open descriptor.

        The stat and the bytes come from the same file even if another program
        saves over ``path`` meanwhile (a save is a new file renamed over the old
        one), so that save is always seen as a change.  Raises :class:`OSError`.
        """
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
        return data, cls._from(st, data)

    def changed(self, path: Path) -> bool:
        """Has ``path`` changed since this state was taken?"""
        try:
            st = path.stat()
        except FileNotFoundError:
            return self.exists
        except OSError:
            return False
        if not self.exists:
            return True
        if (st.st_size, st.st_mtime_ns, (st.st_dev, st.st_ino)) == (self.size, self.mtime_ns, self.inode):
            return False
        return FileState.of(path).sha256 != self.sha256


#: The largest workbook any command reads (collect's cap per file too): a form of a
#: thousand indicators is a few MB, and reading a 1.5 GB file would need that much memory.
MAX_WORKBOOK_BYTES = 50 * 1024 * 1024


def read_with_state(path: Path) -> tuple[bytes, FileState]:
    """A workbook file's bytes and their :class:`FileState`; a clear error when unreadable or too large."""
    try:
        size = os.stat(path).st_size
        if size > MAX_WORKBOOK_BYTES and Path(path).is_file():
            raise WorkbookFileError(
                f"檔案過大（{size / 1048576:,.0f} MB），超過填報工作簿上限 {MAX_WORKBOOK_BYTES // 1048576} MB，拒絕開啟",
                f"the file is too large ({size / 1048576:,.0f} MB; a KPI workbook is at most "
                f"{MAX_WORKBOOK_BYTES // 1048576} MB)",
                path=path,
            )
        return FileState.read(path)
    except OSError as exc:
        zh, en = os_words(exc)
        raise WorkbookFileError(f"無法讀取檔案：{zh}", f"cannot read the file: {en}", path=path) from exc


def changed_on_disk_error(path: Path) -> WorkbookFileError:
    """The refusal to replace a file someone saved while we were working on it."""
    return WorkbookFileError(
        "計算期間檔案已被其他程式修改（例如在 Excel 中存檔），為免覆蓋該次修改，計算結果未寫入；請關閉檔案後重新計算",
        "the file changed on disk while it was being calculated (saved from Excel or another program); "
        "the results were not written so that change is kept — close the file and calculate again",
        path=path,
    )


Content = Union["Workbook", bytes, Path, Callable[[str], None]]


def save_atomic(wb: Content, path: Path, *, unchanged_since: FileState | None = None) -> Path:
    """Save ``wb`` to ``path`` via a temporary file and :func:`os.replace`: the one atomic save.

    ``wb`` is an openpyxl workbook, the file's bytes (text: encode it, or stream it through
    :func:`atomic_text`), a finished file to move into place (a :class:`~pathlib.Path`, e.g.
    what LibreOffice produced in a work folder), or a function that writes the file at the
    path it is given.  On any
    failure the previous file at ``path`` is untouched and the temporary file is removed.
    With ``unchanged_since``, a file that changed on disk since that state is not replaced
    (:func:`changed_on_disk_error`).
    """
    path = Path(path)
    with _staged(path, unchanged_since) as tmp:
        write_content(wb, tmp)
    return path


@contextlib.contextmanager
def atomic_text(path: Path, *, unchanged_since: FileState | None = None, **open_args) -> Iterator:
    """Open a text file for writing that appears at ``path`` only once fully written.

    The text variant of :func:`save_atomic`, with the same checks, for writers that stream
    (``csv.writer``); ``open_args`` go to :func:`open` (``encoding``, ``newline``).
    """
    path = Path(path)
    with _staged(path, unchanged_since) as tmp, open(tmp, "w", **open_args) as fh:
        yield fh


@contextlib.contextmanager
def _staged(path: Path, unchanged_since: FileState | None) -> Iterator[str]:
    """A temporary file beside ``path`` for the block to write; then synced and renamed over ``path``.

    Refuses a target that is open or read-only first (:func:`check_writable`).  On any
    failure, Ctrl-C included, the temporary file is removed and ``path`` is untouched; an
    :class:`OSError` becomes a :class:`WorkbookFileError` saying why (a full disk, a name
    too long).
    """
    check_writable(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent or ".")
        os.close(fd)
        yield tmp
        # mkstemp makes the file private (0600); give it the mode the target had, or the umask's
        # (after the block: a writer may have replaced the file it was given).
        os.chmod(tmp, _mode_for(path))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if unchanged_since is not None and unchanged_since.changed(path):
            raise changed_on_disk_error(path)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if not isinstance(exc, OSError) and "ENOSPC" in str(exc):
            # openpyxl stages sheets in the temporary folder through lxml, which reports a
            # full disk as SerialisationError("IO_ENOSPC"), not as an OSError.
            exc = OSError(errno.ENOSPC, f"No space left on device (temporary folder {tempfile.gettempdir()})")
        if isinstance(exc, OSError):
            full = exc.errno == errno.ENOSPC
            name_too_long = exc.errno == errno.ENAMETOOLONG
            raise WorkbookFileError(
                "磁碟空間不足，無法儲存（原檔未變更）"
                if full
                else "檔名過長，無法儲存；請縮短檔名"
                if name_too_long
                else f"無法儲存檔案（原檔未變更）：{os_words(exc)[0]}（{exc.strerror or exc}）",
                f"cannot save (the original is unchanged): {os_words(exc)[1]} ({exc.strerror or exc})",
                path=path,
            ) from exc
        raise


def write_content(content: Content, filename: str) -> None:
    """Write a workbook's content (see :func:`save_atomic`) to ``filename``."""
    if isinstance(content, bytes):
        with open(filename, "wb") as fh:
            fh.write(content)
    elif isinstance(content, Path):
        try:
            os.replace(content, filename)  # the same file system: a rename, no copy
        except OSError:
            shutil.copyfile(content, filename)
    elif callable(content):
        content(filename)
    else:
        # Zipped in memory first: a zip left open by a failed write to disk (a full disk)
        # would fail again when collected, printing "Exception ignored … Traceback".
        buffer = io.BytesIO()
        content.save(buffer)
        with open(filename, "wb") as fh:
            fh.write(buffer.getbuffer())


@contextlib.contextmanager
def target_lock(path: Path) -> Iterator[None]:
    """Hold an advisory lock on ``path`` (when it exists) so two calculates never race on it.

    The lock is advisory: it stops another ``kpi`` or button run, not Excel; a save
    from Excel meanwhile is caught by :class:`FileState` instead.
    """
    try:
        import fcntl
    except ImportError:  # Windows: Excel's own sharing lock and FileState do the job
        yield
        return
    try:
        fh = open(path, "rb")  # noqa: SIM115 - held for the block
    except OSError:
        yield  # not there yet (a new -o file) or unreadable: the save reports it
        return
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise WorkbookFileError(
                "另一個計算正在處理此檔案，請稍候再試",
                "another calculate is working on this file; try again when it has finished",
                path=path,
            ) from exc
        yield
    finally:
        fh.close()


def check_output_target(path: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Refuse an output path that must never be replaced; return it as a Path.

    An output never replaces an input, nor anything that is not a regular file:
    a symlink (it would redirect the write), a directory, or a device such as
    ``/dev/null`` (which ``os.replace`` would swap for a regular file when run as root).
    """
    path = Path(path)
    if path.is_symlink():
        raise WorkbookFileError(
            "輸出檔為捷徑（符號連結），為避免覆寫其他檔案，請指定一般檔案路徑",
            "the output is a symbolic link; give the path of a regular file",
            path=path,
        )
    if path.is_dir():
        raise WorkbookFileError(
            "輸出路徑是資料夾，請指定檔案名稱", "the output is a directory; give a file name", path=path
        )
    if path.exists() and not path.is_file():
        raise WorkbookFileError(
            "輸出路徑不是一般檔案（例如裝置），不會覆寫",
            "the output is not a regular file (a device or pipe); it will not be replaced",
            path=path,
        )
    if path.exists():
        for source in inputs:
            with contextlib.suppress(OSError):
                if os.path.samefile(source, path):
                    raise WorkbookFileError(
                        "輸出檔與輸入檔相同，為避免覆蓋收到的檔案，請另取檔名",
                        "the output is one of the inputs; choose another name so no input is overwritten",
                        path=path,
                    )
    return path


def refuse_existing(path: Path, *, force: bool, holds: tuple[str, str]) -> None:
    """Refuse to replace a file that exists unless ``--force`` was given, naming it.

    Every command whose output someone edits afterwards (a template staff fill in, a plan
    the coordinator edits) asks this before any work; ``holds`` says what the file may
    hold, in zh-TW and English.
    """
    if path.exists() and not force:
        raise WorkbookFileError(
            f"檔案已存在，為免覆蓋{holds[0]}，未寫入；請另取檔名，或加上 --force 覆寫",
            f"the file already exists and was not overwritten ({holds[1]}); choose another name or add --force",
            path=path,
        )


def check_writable(path: Path) -> None:
    """Refuse to replace a read-only file, or one that Excel or LibreOffice has open."""
    for lock in (path.with_name("~$" + path.name), path.with_name(f".~lock.{path.name}#")):
        if lock.exists():
            raise WorkbookFileError(
                "檔案正由 Excel 或其他程式開啟中，請先關閉後再試",
                "the file is open in Excel or another program (a lock file exists); close it and try again",
                path=path,
            )
    if path.exists() and not path.stat().st_mode & 0o222:
        raise WorkbookFileError(
            "檔案為唯讀，無法寫入；請取消唯讀或以 -o 另存新檔",
            "the file is read-only; clear the read-only flag or save elsewhere with -o",
            path=path,
        )


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
