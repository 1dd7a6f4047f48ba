"""Plans without YAML: the plan-authoring workbook and import from the plan document.

* :mod:`.authoring` writes a plan as a workbook a coordinator recognises (計畫,
  關鍵績效指標, 重要施政計畫, 填表說明) and reads it back;
* :mod:`.docimport` reads the 施政計畫 document (.docx, .odt) and finds its Part 2
  table by the headers;
* :func:`load_any` loads a plan from YAML or from an authoring workbook, so every
  command that takes PLAN accepts either.  ``kpi_engine.load_plan`` stays free of
  spreadsheet imports; the dispatch lives here.
"""

from __future__ import annotations

from pathlib import Path

from kpi_engine import Plan, load_plan

#: Suffixes read as an authoring workbook rather than a YAML plan.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")
#: Suffixes read as the agency's plan document.
DOCUMENT_SUFFIXES = (".docx", ".odt")


def load_any(path: str | Path | None) -> Plan:
    """A plan from a YAML file, an authoring workbook (.xlsx/.ods), or the embedded default."""
    if path is not None and not Path(path).is_file():  # said alike for every plan form
        import errno
        import os

        from workbook.errors import os_error

        code = errno.EISDIR if Path(path).is_dir() else errno.ENOENT
        raise os_error(OSError(code, os.strerror(code)), path, ("無法讀取檔案", "cannot read the file"))
    if path is not None and Path(path).suffix.lower() in WORKBOOK_SUFFIXES:
        from workbook.plan_io.reading import load_workbook_plan

        return load_workbook_plan(Path(path))
    return load_plan(path)
