"""What a file is, named once: the formats staff send that are not a form we read.

``kpi check``, ``kpi calculate`` and ``kpi collect`` all name a file the same way
from here: a Strict Open XML workbook, a flat ODF (``.fods``) spreadsheet or an
OpenDocument text is called what it is and told how to save it, whichever command
meets it.
"""

from __future__ import annotations

import os
import re

#: The namespace a Strict Open XML workbook part uses (``xl/workbook.xml``).
STRICT_NAMESPACE = b"purl.oclc.org/ooxml/spreadsheetml"

STRICT_OOXML = (
    "格式不支援：這是「Strict Open XML 試算表」格式，請在 Excel 以「另存新檔」選擇「Excel 活頁簿 (*.xlsx)」後寄回",
    "unsupported format: Strict Open XML; save it as an ordinary Excel Workbook (.xlsx)",
)
FLAT_ODF = (
    "格式不支援：這是 LibreOffice 單一 XML 格式（.fods，扁平 ODF），請以 LibreOffice「另存新檔」選擇"
    "「ODF 試算表 (.ods)」後寄回",
    "unsupported format: flat XML ODF spreadsheet (.fods); save it as an ODF Spreadsheet (.ods) in LibreOffice",
)
#: The OpenDocument kinds that are no spreadsheet (a mimetype's last word): what to call them.
ODF_DOCUMENTS: dict[str, tuple[str, str]] = {
    "text": ("ODF 文字文件（.odt）", "an ODF text document (.odt)"),
    "presentation": ("ODF 簡報（.odp）", "an ODF presentation (.odp)"),
    "graphics": ("ODF 繪圖（.odg）", "an ODF drawing (.odg)"),
}
ODF_NOT_SPREADSHEET = (
    "不是試算表：這是 ODF 文字文件或簡報（.odt／.odp），不是填報工作簿",
    "not a spreadsheet: an ODF text document or presentation (.odt/.odp), not a KPI workbook",
)


def odf_document(kind: str) -> tuple[str, str]:
    """(zh-TW, English) for an OpenDocument of ``kind`` (``text``, ``presentation``…) that is no spreadsheet."""
    if kind not in ODF_DOCUMENTS:
        return ODF_NOT_SPREADSHEET
    zh, en = ODF_DOCUMENTS[kind]
    return f"不是試算表：這是 {zh}，不是填報工作簿", f"not a spreadsheet: {en}, not a KPI workbook"


def _unsupported(zh: str, en: str) -> tuple[str, str]:
    return f"格式不支援：{zh}", f"unsupported format: {en}"


#: Formats staff send that no command reads, by the suffix Windows shows: what they are and
#: what to do (zh-TW, English).  ``kpi collect`` lists such a file as 格式不支援 with these
#: words; ``kpi check`` and ``kpi calculate`` refuse it with the same words.
UNSUPPORTED: dict[str, tuple[str, str]] = {
    ".xls": _unsupported(
        "舊版 Excel 97-2003 (.xls) 格式，請以 Excel 開啟後另存為 .xlsx 再寄回",
        "legacy Excel 97-2003 (.xls); save it as .xlsx",
    ),
    ".xlsb": _unsupported(
        "Excel 二進位活頁簿 (.xlsb) 格式，請另存為 .xlsx 再寄回",
        "Excel binary workbook (.xlsb); save it as .xlsx",
    ),
    ".csv": _unsupported(
        "CSV 純文字檔不含範本內容，請改寄填妥的 .xlsx 工作簿",
        "a CSV holds no template; send the filled .xlsx",
    ),
    ".numbers": _unsupported(
        "Apple Numbers 格式，請匯出為 .xlsx 再寄回", "Apple Numbers; export it as .xlsx"
    ),
    ".fods": FLAT_ODF,
    ".7z": _unsupported(
        "7-Zip (.7z) 壓縮檔不支援，請解壓縮後直接附上 .xlsx，或改用 .zip 壓縮",
        "7-Zip archives are not read; attach the .xlsx itself or use .zip",
    ),
    ".rar": _unsupported(
        "RAR 壓縮檔不支援，請解壓縮後直接附上 .xlsx，或改用 .zip 壓縮",
        "RAR archives are not read; attach the .xlsx itself or use .zip",
    ),
    ".tar": _unsupported("tar 壓縮檔不支援，請改用 .zip 壓縮", "tar archives are not read; use .zip"),
    ".gz": _unsupported("gzip 壓縮檔不支援，請改用 .zip 壓縮", "gzip archives are not read; use .zip"),
    ".p7m": _unsupported(
        "加密或簽章的郵件內容無法讀取，請以一般郵件重寄",
        "an encrypted or signed mail part cannot be read; send a plain email",
    ),
}
#: Documents that are no spreadsheet at all, by suffix: collect lists them as skipped (略過)
#: with these words, check and calculate refuse them with the same words.
NOT_SPREADSHEETS: dict[str, tuple[str, str]] = {
    suffix: odf_document(kind)
    for suffix, kind in (
        (".odt", "text"),
        (".fodt", "text"),
        (".odp", "presentation"),
        (".fodp", "presentation"),
        (".odg", "graphics"),
        (".fodg", "graphics"),
    )
}
#: Of those, the formats that are zip packages themselves: their "PK" is no sign of a workbook.
#: (An .xlsx renamed .csv or .xls is a zip too: there the bytes decide, and it is read.)
ZIP_FORMATS = (".xlsb", ".numbers", ".odt", ".odp", ".odg")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def clean_suffix(name: str) -> str:
    """The suffix Windows would see, in lower case: trailing spaces and dots do not count."""
    return os.path.splitext(name.rstrip(" .").lower())[1]


def named_by_suffix(suffix: str, head: bytes) -> tuple[str, str] | None:
    """(zh-TW, English) naming a file we do not read by its suffix (lower case, as Windows sees it),
    unless its first bytes show a zip package where that format is none (the bytes decide then)."""
    words = UNSUPPORTED.get(suffix) or NOT_SPREADSHEETS.get(suffix)
    if words is None:
        return None
    if head.startswith(b"PK") and suffix not in ZIP_FORMATS:
        return None
    if head.startswith(_OLE) and suffix != ".xls":
        return None  # an encrypted workbook (an OLE file) named .csv: the guard says what it is
    return words


#: A flat ODF document: one XML file whose root is office:document with its mimetype.
_FLAT_ODF = re.compile(
    rb"<office:document\b[^>]*office:mimetype=\"application/vnd\.oasis\.opendocument\.(\w+)"
)


def is_strict_ooxml(workbook_part: bytes) -> bool:
    """Is this ``xl/workbook.xml`` (its first bytes suffice) a Strict Open XML one?"""
    return STRICT_NAMESPACE in workbook_part[:4096]


def flat_odf_kind(head: bytes) -> str | None:
    """``spreadsheet``, ``text``… when ``head`` (a file's first few KB) is a flat ODF document."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"<"):
        return None
    m = _FLAT_ODF.search(head[:8192])
    return m.group(1).decode("ascii") if m else None


def named_kind(head: bytes) -> tuple[str, str] | None:
    """(zh-TW, English) naming a file we do not read, from its first bytes; None otherwise."""
    kind = flat_odf_kind(head)
    if kind == "spreadsheet":
        return FLAT_ODF
    if kind is not None:
        return odf_document(kind)
    return None


def named_file(name: str | None, head: bytes) -> tuple[str, str] | None:
    """(zh-TW, English) naming a file we do not read, from its name and first bytes (8 KB
    suffice); None for anything that may be a workbook.  The one test every command makes."""
    return named_kind(head) or (named_by_suffix(clean_suffix(name), head) if name else None)
