"""Summary workbooks (``kpi collect -o SUMMARY.xlsx``) as report input.

A summary's 彙總 sheet keeps each unit's submitted counts.  As collect does with
workbooks, nothing computed in it is trusted: the counts are evaluated again with
the plan, and the report is built from that.  Columns are found by their header,
so a summary with more columns (staff text, for instance) reads the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kpi_engine import Plan, evaluate
from kpi_engine.report_model import UnitData
from workbook.formats.files import WorkbookFileError
from workbook.report.errors import ReportError

SHEET = "彙總"
NEEDED = ("年度", "填報單位", "期別", "衡量指標", "數值1")
NOTES = ("補充說明",)


def is_summary(path: Path) -> bool:
    """A summary workbook: an .xlsx with a 彙總 and a 檔案 sheet and no template metadata."""
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return False
    try:
        from python_calamine import CalamineWorkbook

        names = CalamineWorkbook.from_path(str(path)).sheet_names
    except Exception:  # not a workbook we can open: collect will say why
        return False
    return SHEET in names and "檔案" in names and "_kpi" not in names


def read_summary(path: Path, plan: Plan) -> dict[tuple[int, str], dict[str, UnitData]]:
    """(year, period id) → unit → results recomputed from the summary's counts."""
    from python_calamine import CalamineWorkbook

    from workbook.formats.guard import inspect

    data = path.read_bytes()
    inspect(data, str(path))  # the same guard as every submitted file
    try:
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python()
    except Exception as exc:
        raise WorkbookFileError(
            "無法讀取彙總工作表", f"cannot read the summary sheet: {exc}", path=path
        ) from exc
    header_at = next((i for i, r in enumerate(rows[:5]) if "衡量指標" in r), None)
    if header_at is None or any(h not in rows[header_at] for h in NEEDED):
        raise ReportError(
            f"{path.name}：彙總工作表缺少欄位 {'、'.join(NEEDED)} / the summary sheet lacks its columns"
        )
    col = {str(h): i for i, h in enumerate(rows[header_at])}
    by_name = {i.name: i for i in plan.indicators}
    entries: dict[tuple[int, str], dict[str, dict]] = {}
    notes: dict[tuple[int, str, str], dict[str, str]] = {}
    for r in rows[header_at + 1 :]:
        ind = by_name.get(str(r[col["衡量指標"]]))
        if ind is None or r[col["年度"]] in ("", None):
            continue
        year, unit = int(r[col["年度"]]), str(r[col["填報單位"]])
        period = plan.period(str(r[col["期別"]])).id
        values = {}
        for n, spec in enumerate(ind.inputs, start=1):
            v = r[col[f"數值{n}"]] if f"數值{n}" in col else None
            values[spec.role] = None if v == "" else v
        entries.setdefault((year, unit), {}).setdefault(period, {})[ind.id] = values
        for name in NOTES:
            if name in col and str(r[col[name]] or "").strip():
                notes.setdefault((year, unit, period), {})[ind.id] = str(r[col[name]]).strip()
    out: dict[tuple[int, str], dict[str, UnitData]] = {}
    for (year, unit), by_period in entries.items():
        targets = "previous" if year == plan.year - 1 else "current"
        ev = evaluate(plan, by_period, targets=targets, year=year)
        for r in ev.results:
            slot = out.setdefault((year, r.period), {}).setdefault(unit, UnitData())
            slot.results.append(r)
            slot.notes.update(notes.get((year, unit, r.period), {}))
    return out


def split_paths(paths: Iterable[str]) -> tuple[list[str], list[Path]]:
    """(workbook paths for collect, summary workbooks)."""
    workbooks: list[str] = []
    summaries: list[Path] = []
    for p in paths:
        if is_summary(Path(p)):
            summaries.append(Path(p))
        else:
            workbooks.append(p)
    return workbooks, summaries
