"""Reading and writing workbook files safely.

A file is never half-written: we save to a temporary file in the same folder and
then replace the target in one step.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook


class WorkbookFileError(Exception):
    """A workbook file that cannot be read or written; messages in zh-TW and English."""

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        *,
        path: str | Path | None = None,
        sheet: str | None = None,
        cell: str | None = None,
    ):
        self.message_zh, self.message_en = message_zh, message_en
        self.path = str(path) if path is not None else None
        self.sheet, self.cell = sheet, cell
        where = " ".join(x for x in (self.path, f"[{sheet}]" if sheet else None, cell) if x)
        super().__init__(f"{where}: {message_zh} / {message_en}" if where else f"{message_zh} / {message_en}")


class DamagedFileError(WorkbookFileError):
    """A workbook whose contents are damaged (as opposed to a sound file that is not ours)."""


def save_atomic(wb: Workbook, path: Path) -> Path:
    """Save ``wb`` to ``path`` via a temporary file and :func:`os.replace`.

    On any failure the previous file at ``path`` is untouched and the temporary
    file is removed.
    """
    path = Path(path)
    check_writable(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx.tmp", dir=path.parent or ".")
        os.close(fd)
        # mkstemp makes the file private (0600); give it the mode the target had, or the umask's.
        os.chmod(tmp, _mode_for(path))
        wb.save(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            full = exc.errno == errno.ENOSPC
            raise WorkbookFileError(
                "磁碟空間不足，無法儲存（原檔未變更）"
                if full
                else f"無法儲存檔案（原檔未變更）：{exc.strerror or exc}",
                f"cannot save (the original is unchanged): {exc}",
                path=path,
            ) from exc
        raise
    return path


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


@contextlib.contextmanager
def atomic_text(path: Path, **open_args) -> Iterator:
    """Open a text file for writing that appears at ``path`` only once fully written."""
    path = Path(path)
    check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:
        raise WorkbookFileError(
            f"無法寫入檔案：{exc.strerror or exc}", f"cannot write the file: {exc}", path=path
        ) from exc
    os.close(fd)
    try:
        os.chmod(tmp, _mode_for(path))
        with open(tmp, "w", **open_args) as fh:
            yield fh
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
