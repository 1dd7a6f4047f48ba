"""What the operating system refused, said in zh-TW and English.

The command line turns any :class:`OSError` that reaches it into a
:class:`~kpi_engine.errors.KpiError` from this catalogue (modelled on
``kpi_engine.findings.CATALOGUE``): a stable code, and zh-TW / English templates
that name no path themselves (the error's ``where`` does).
"""

from __future__ import annotations

import errno
from pathlib import Path

from kpi_engine.errors import KpiError

#: Every OS-level error code the CLI translates, and its zh-TW / English templates.
CATALOGUE: dict[str, tuple[str, str]] = {
    "permission_denied": (
        "沒有權限讀取或寫入此檔案或資料夾；請確認權限，或改存到其他資料夾",
        "permission denied; check the permissions or choose another folder",
    ),
    "no_such_file": (
        "找不到檔案或資料夾；請確認名稱與路徑",
        "no such file or folder; check the name and the path",
    ),
    "disk_full": (
        "磁碟空間不足，無法寫入；請清出空間後再試",
        "the disk is full; free some space and try again",
    ),
    "not_a_directory": (
        "路徑中有一段不是資料夾（而是檔案）；請確認路徑",
        "a part of the path is a file, not a folder; check the path",
    ),
    "is_a_directory": (
        "這是資料夾，不是檔案；請指定檔案名稱",
        "this is a folder, not a file; give a file name",
    ),
    "read_only_filesystem": (
        "此磁碟或資料夾為唯讀，無法寫入；請改存到其他位置",
        "the disk or folder is read-only; save somewhere else",
    ),
    "name_too_long": ("檔名過長；請縮短檔名", "the file name is too long; shorten it"),
    "os_error": ("系統無法完成此操作：{reason}", "the system could not do this: {reason}"),
}

#: errno → catalogue code.
_ERRNO = {
    errno.EACCES: "permission_denied",
    errno.EPERM: "permission_denied",
    errno.ENOENT: "no_such_file",
    errno.ENOSPC: "disk_full",
    errno.EDQUOT: "disk_full",
    errno.ENOTDIR: "not_a_directory",
    errno.EISDIR: "is_a_directory",
    errno.EROFS: "read_only_filesystem",
    errno.ENAMETOOLONG: "name_too_long",
}


#: What was being done, to put before the catalogue's message (zh-TW, English).
SAVING = ("無法儲存檔案", "cannot save")


def os_words(exc: OSError) -> tuple[str, str]:
    """What the OS refused, in the catalogue's zh-TW and English words (no path, no errno)."""
    code = _ERRNO.get(exc.errno or 0, "os_error")
    reason = exc.strerror or type(exc).__name__
    zh, en = (template.format(reason=reason) for template in CATALOGUE[code])
    return zh, en


def os_error(exc: OSError, path: str | Path | None = None, doing: tuple[str, str] | None = None) -> KpiError:
    """The :class:`KpiError` for ``exc``: its catalogue message, naming the path it is about.

    ``doing`` (e.g. :data:`SAVING`) says what failed, before the catalogue's words.
    """
    code = _ERRNO.get(exc.errno or 0, "os_error")
    zh, en = os_words(exc)
    if doing:
        zh, en = f"{doing[0]}：{zh}", f"{doing[1]}: {en}"
    where = path if path is not None else exc.filename
    if exc.filename2 is not None and path is None:
        where = f"{exc.filename} → {exc.filename2}"
    return KpiError(zh, en, code=code, path=where)
