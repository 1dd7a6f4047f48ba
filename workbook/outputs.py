"""One decision per output: which writer a file name asks for, made before any work.

Every command that writes asks :func:`output_format` first.  An extension no
writer exists for is refused with a :class:`~kpi_engine.errors.KpiError` (exit 2,
zh-TW then English, naming the extensions there are), so nothing is computed and
nothing is written under a name that lies about its content (an Excel file called
``t.csv``, YAML called ``計畫設定108.xlsx``).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from kpi_engine.errors import KpiError
from workbook.errors import SAVING, os_error
from workbook.formats.files import check_output_target

#: Output kind → {extension: format}; the writer is chosen by the format.
WRITERS: dict[str, dict[str, str]] = {
    "template": {".xlsx": "xlsx", ".ods": "ods"},
    "summary": {".xlsx": "xlsx", ".ods": "ods"},
    "report": {".odt": "odt", ".docx": "docx", ".pdf": "pdf"},
    "plan": {".xlsx": "xlsx", ".ods": "ods", ".yaml": "yaml", ".yml": "yaml"},
    # calculate writes the format it read: the output's extension is the input's
    "calculate": {".xlsx": "xlsx", ".xlsm": "xlsx", ".ods": "ods"},
}

#: Outputs that are folders (the command writes several files into them).
FOLDERS: dict[str, str] = {"csv": "--csv", "demo": "DIR", "addin": "-o"}

#: What each kind writes, for the messages (zh-TW, English).
NAMES: dict[str, tuple[str, str]] = {
    "template": ("填報工作簿", "the template"),
    "summary": ("彙總工作簿", "the summary workbook"),
    "report": ("報告檔", "the report"),
    "plan": ("計畫檔", "the plan file"),
    "calculate": ("計算後的工作簿", "the calculated workbook"),
}


def _zh_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "、".join(items[:-1]) + " 或 " + items[-1]


def _en_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def output_format(kind: str, path: str | Path | None, *, source: str | Path | None = None) -> str:
    """The format ``path`` asks ``kind`` to write (``"xlsx"``, ``"ods"``, ``"pdf"``, ``"yaml"``…).

    ``kind`` is a key of :data:`WRITERS` or :data:`FOLDERS` (a folder gives ``"folder"``;
    for ``"csv"``, ``"csv"``).  For ``"calculate"`` give ``source``, the workbook read:
    its output has the same extension, and ``path`` ``None`` (write back) gives its format.
    The folder the output goes in must exist (a folder output: its nearest existing
    parent) and be writable, so an unwritable target is refused before any work too.
    Raises :class:`KpiError` (code ``output_extension``, ``output_not_folder``, or an
    OS code of :data:`workbook.errors.CATALOGUE`).
    """
    if kind in FOLDERS:
        folder = Path(path if path is not None else ".")
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise KpiError(
                f"{FOLDERS[kind]} 須為資料夾；此路徑已存在且不是資料夾（是檔案或捷徑），請指定資料夾",
                f"{FOLDERS[kind]} must be a folder; this path exists and is not a folder (a file or a link)",
                code="output_not_folder",
                path=folder,
            )
        parent = folder.absolute()
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent  # the folder is made with its parents
        _writable(parent)
        return "csv" if kind == "csv" else "folder"
    if kind not in WRITERS:
        raise ValueError(f"unknown output kind {kind!r}")
    writers = WRITERS[kind]
    if kind == "calculate":
        if source is None:
            raise ValueError("output_format('calculate', …) needs the source workbook")
        wanted = Path(source).suffix.lower()
        if path is None:  # written back beside itself
            _writable(Path(source).absolute().parent)
            return writers.get(wanted, "xlsx")
        writers = {wanted: writers.get(wanted, "xlsx")}
    elif path is None:
        raise ValueError(f"output_format({kind!r}, None): no output to decide")
    check_output_target(path)  # a folder, a link or a device is said as such, before its extension
    suffix = Path(path).suffix.lower()
    if suffix in writers:
        _writable(Path(path).absolute().parent)
        return writers[suffix]
    exts = sorted(writers, key=list(writers).index)
    name_zh, name_en = NAMES[kind]
    got = f"無法寫成 {suffix} 檔" if suffix else "檔名沒有副檔名"
    got_en = f"there is no writer for {suffix}" if suffix else "the name has no extension"
    if kind == "calculate":
        zh = f"{name_zh}以原檔格式儲存，-o 的副檔名須與原檔相同（{_zh_list(exts)}）；{got}"
        en = (
            f"{name_en} keeps its input's format, so -o must end in {_en_list(exts)} like the input; {got_en}"
        )
    else:
        zh = f"{name_zh}須為 {_zh_list(exts)}；{got}"
        en = f"{name_en} must be {_en_list(exts)}; {got_en}"
    raise KpiError(zh, en, code="output_extension", path=path)


#: The first bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"
#: Names a new archive may have (an existing SQLite file may have any).
ARCHIVE_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".db3")


def archive_target(path: str | Path) -> Path:
    """Refuse, before any work, an archive that could not be written (``--archive``).

    The archive is updated in place (created when missing).  The folder must exist and be
    writable; an existing archive must be a writable regular SQLite file; a new (or empty)
    one must be named .sqlite, .sqlite3, .db or .db3, so an empty 會議紀錄.docx never becomes
    a database.  A collect must not read a whole inbox and write its summary, only to fail at the end.
    """
    path = Path(path)
    if path.exists():
        if not path.is_file():
            raise KpiError(
                "彙整資料庫須為一般檔案（不是資料夾或裝置）",
                "the archive must be a regular file (not a folder or a device)",
                code="output_not_file",
                path=path,
            )
        if not os.access(path, os.W_OK):
            raise os_error(PermissionError(errno.EACCES, os.strerror(errno.EACCES)), path, SAVING)
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head and head != SQLITE_MAGIC:  # never turn someone's file into a database
            raise KpiError(
                "這個檔案不是 SQLite 彙整資料庫，不會寫入",
                "this file is not an SQLite archive; it is left alone",
                code="archive",
                path=path,
            )
    if (not path.exists() or not path.stat().st_size) and path.suffix.lower() not in ARCHIVE_SUFFIXES:
        raise KpiError(
            f"新的彙整資料庫檔名須為 {_zh_list(list(ARCHIVE_SUFFIXES))}（例如 kpi.sqlite）",
            f"a new archive must be named {_en_list(list(ARCHIVE_SUFFIXES))} (e.g. kpi.sqlite)",
            code="output_extension",
            path=path,
        )
    _writable(path.absolute().parent)
    return path


def _writable(folder: Path) -> None:
    """Refuse a folder a file cannot be created in (missing, read-only, no permission)."""
    if not folder.is_dir():
        code = errno.ENOENT if not folder.exists() else errno.ENOTDIR
        raise os_error(OSError(code, os.strerror(code)), folder, SAVING)
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # no statvfs (Windows): the write itself will say
        read_only = False
    if read_only:
        raise os_error(OSError(errno.EROFS, os.strerror(errno.EROFS)), folder, SAVING)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise os_error(PermissionError(errno.EACCES, os.strerror(errno.EACCES)), folder, SAVING)
