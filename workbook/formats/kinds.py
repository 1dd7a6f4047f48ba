"""What a file is, named once: the formats staff send that are not a form we read.

``kpi check``, ``kpi calculate`` and ``kpi collect`` all name a file the same way
from here: a Strict Open XML workbook, a flat ODF (``.fods``) spreadsheet or an
OpenDocument text is called what it is and told how to save it, whichever command
meets it.
"""

from __future__ import annotations

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
ODF_NOT_SPREADSHEET = (
    "不是試算表：這是 ODF 文字文件或簡報（.odt／.odp），不是填報工作簿",
    "not a spreadsheet: an ODF text document or presentation (.odt/.odp), not a KPI workbook",
)

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
        return ODF_NOT_SPREADSHEET
    return None
