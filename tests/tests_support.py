"""Drive the Excel button without Excel: file → VBA payload → xlwings remote engine → file.

:func:`payload_from_file` builds exactly the JSON that xlwings' VBA client
(``Remote.bas`` ``RunServerPython``) sends for a workbook.  Formula cells must carry
what Excel would show, so values are read from a LibreOffice-recalculated copy.
:func:`apply_actions` writes the returned actions (``book.json()``) back onto a file,
as the VBA client's ``setValues``/``alert`` subs would.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

import xlwings as xw
from openpyxl import load_workbook

from workbook.libreoffice import recalculate

VBA_ERRORS = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"}


def _json_value(v: Any) -> Any:
    """A cell value as the VBA client's ConvertToJson sends it."""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%dT00:00:00.000Z")
    if isinstance(v, float) and v.is_integer():
        return int(v)  # CStr(1#) is "1"
    return v


def payload_from_file(path: Path, *, recalculated: Path | None = None, active_sheet_index: int = 0) -> dict:
    """The VBA client's payload for the workbook at ``path``.

    ``recalculated`` is a LibreOffice-recalculated copy; made here when not given.
    """
    tmp = None
    if recalculated is None:
        tmp = Path(tempfile.mkdtemp())
        recalculated = recalculate(path, tmp / "recalculated.xlsx")
    try:
        wb = load_workbook(recalculated, data_only=True)
        sheets = []
        for ws in wb.worksheets:  # wb.Worksheets: hidden and very hidden sheets too
            rows = [
                [_json_value(c) for c in row] for row in ws.iter_rows(min_row=1, min_col=1, values_only=True)
            ]
            while rows and all(c is None for c in rows[-1]):
                rows.pop()
            sheets.append({"name": ws.title, "pictures": [], "tables": [], "values": rows or [[]]})
        index = {ws.title: i for i, ws in enumerate(wb.worksheets)}
        names = []
        for name, dn in load_workbook(path).defined_names.items():
            dests = list(dn.destinations)
            if len(dests) != 1 or dests[0][0] not in index:
                continue  # VBA sends only names whose RefersToRange resolves
            sheet, address = dests[0]
            names.append(
                {
                    "name": name,
                    "sheet_index": index[sheet],
                    "address": address.replace("$", ""),
                    "book_scope": True,
                    "scope_sheet_name": None,
                    "scope_sheet_index": None,
                }
            )
        return {
            "client": "VBA",
            "version": xw.__version__,
            "book": {"name": path.name, "active_sheet_index": active_sheet_index, "selection": "A1"},
            "names": names,
            "sheets": sheets,
        }
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


class ProtectedSheetError(Exception):
    """What the VBA client's ``setValues`` meets on a locked cell of a protected sheet (Excel's 1004)."""


def apply_actions(path: Path, actions: list[dict], out: Path) -> list[str]:
    """Apply ``setValues`` actions to a copy of ``path`` saved as ``out``; return alert texts.

    Any other action fails: the button may only write values and show messages.  As in
    Excel, a ``setValues`` touching a locked cell of a protected sheet is refused
    (:class:`ProtectedSheetError`), and the actions before it stay applied: the VBA
    client runs them one by one, so a refusal half-way leaves a half-written workbook.
    """
    wb = load_workbook(path)
    alerts = []
    for action in actions:
        if action["func"] == "alert":
            alerts.append(action["args"][0])
            continue
        assert action["func"] == "setValues", f"unexpected action {action['func']}"
        ws = wb.worksheets[action["sheet_position"]]
        if ws.protection.sheet:
            for i, line in enumerate(action["values"]):
                for j, _ in enumerate(line):
                    cell = ws.cell(action["start_row"] + 1 + i, action["start_column"] + 1 + j)
                    if getattr(cell.protection, "locked", True):
                        wb.save(out)
                        raise ProtectedSheetError(
                            f"{ws.title}!{cell.coordinate}: The cell or chart you're trying to change is on a "
                            "protected sheet."
                        )
        for i, line in enumerate(action["values"]):
            for j, v in enumerate(line):
                cell = ws.cell(action["start_row"] + 1 + i, action["start_column"] + 1 + j)
                cell.value = None if v == "" else v  # the VBA client writes "" as an empty cell
    wb.save(out)
    return alerts
