"""Repairing, not refusing: what calculate does about staff's edits to the form itself.

* a deleted product sheet (填表說明, 檢核結果) is rebuilt from the template;
* an edited value in the metadata sheet is a clear error naming its cell;
* text typed into the 分析 cell is reported (with the text) before it is replaced;
* an edited displayed target is reported and restored;
* counts typed into a copy of an indicator sheet are reported (they are not read).

Each check returns located findings; the restoring ones also return the cells to
write, which calculate writes together with its results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kpi_engine import Evaluation, Finding
from kpi_engine.evaluate import target_for
from kpi_engine.findings import finding
from workbook.form import layout as L
from workbook.form.book import Book, at, cell_address
from workbook.formats.files import WorkbookFileError

Cell = tuple[str, int, int]

#: Product sheets calculate can rebuild, and the defined names each one holds.
REBUILDABLE = {L.SHEET_GUIDE: (L.STATUS_NAME,), L.SHEET_FINDINGS: (L.FINDINGS_NAME,)}
#: Characters of staff's text quoted in a finding (the whole text goes to the findings sheet).
QUOTE_CHARS = 500


@dataclass(frozen=True)
class Reading:
    """What a calculate reads through: the book, the plan's scope, and where its defined names are.

    ``where`` maps each defined name to its cell; when it also has an ``extent`` (sheet →
    farthest row and column needed), :meth:`grid` reads a sheet only that far.
    """

    book: Book
    scope: L.Scope
    where: dict[str, Cell]

    def grid(self, sheet: str) -> Any:
        """The values of ``sheet`` (as far as ``where`` needs it, when it says)."""
        extent = getattr(self.where, "extent", {})
        return self.book.grid(sheet, *extent[sheet]) if sheet in extent else self.book.grid(sheet)


def _meta_address(book: Book, key: str) -> str | None:
    for row, line in enumerate(book.grid(L.SHEET_META), start=1):
        if line and line[0] == key:
            return cell_address(row, 2)
    return None


def _meta_error(book: Book, key: str, value: Any, zh_hint: str, en_hint: str) -> WorkbookFileError:
    return WorkbookFileError(
        f"系統資料 {key} 的值「{value}」已被修改，無法判讀（{zh_hint}）；請以原範本重新填寫，或請彙整窗口協助",
        f"the metadata value {key} = {value!r} was edited and cannot be read ({en_hint}); "
        "use the original template or ask the coordinator",
        sheet=L.SHEET_META,
        cell=_meta_address(book, key),
    )


def data_year(book: Book, meta: dict[str, Any], plan_year: int) -> int:
    """The metadata's ROC year of the counts; an edited one is a clear error."""
    raw = meta.get("data_year")
    if raw in (None, ""):
        return plan_year
    year: int | None = None
    if isinstance(raw, bool):
        year = None
    elif isinstance(raw, int):
        year = raw
    elif isinstance(raw, float) and raw.is_integer():
        year = int(raw)
    elif isinstance(raw, str) and raw.strip().isdigit() and raw.strip().isascii():
        year = int(raw.strip())
    if year not in (plan_year, plan_year - 1):
        raise _meta_error(
            book,
            "data_year",
            raw,
            f"須為民國年數字 {plan_year} 或 {plan_year - 1}",
            f"it must be the ROC year {plan_year} or {plan_year - 1}",
        )
    return year  # type: ignore[return-value]


def check_calculated_at(book: Book, meta: dict[str, Any]) -> None:
    """The last calculate's time stamp must be what calculate wrote (ISO, a space before the time)."""
    raw = meta.get("calculated_at")
    if raw in (None, "") or isinstance(raw, datetime):  # a reader may hand back a typed date
        return
    try:
        datetime.fromisoformat(str(raw))
    except ValueError:
        raise _meta_error(
            book, "calculated_at", raw, "須為系統寫入的時間格式", "it must be the time stamp calculate wrote"
        ) from None


# -- deleted product sheets ----------------------------------------------------------------------


def missing_sheets(book: Book, names: dict[str, Cell]) -> list[str]:
    """Rebuildable product sheets that were deleted (or whose names no longer point into them)."""
    present = set(book.sheet_names())
    return [
        sheet
        for sheet, held in REBUILDABLE.items()
        if sheet not in present or any(n not in names or names[n][0] != sheet for n in held)
    ]


def sheet_findings(sheets: list[str], code: str) -> list[Finding]:
    """``sheet_recreated`` or ``sheet_missing`` for each sheet."""
    return [
        finding(code, indicator=None, input=None, period=None, sheet=s).at(
            s if code == "sheet_recreated" else None, None
        )
        for s in sheets
    ]


# -- the 分析 cell ---------------------------------------------------------------------------------


def analysis_findings(read: Reading, ev: Evaluation, state: str) -> list[Finding]:
    """Staff's text in the generated-analysis cells, reported before calculate replaces it.

    Before the first calculate the cell is empty; while the counts are unchanged it
    holds exactly the generated sentence.  After the counts changed (``stale``) the old
    sentence is unknown, so text that starts like the generated sentence is taken to be
    the old sentence; anything else is staff's.
    """
    scope, where = read.scope, read.where
    out = []
    for r in ev.results:
        ind, p = scope.plan.indicator(r.indicator), scope.plan.period(r.period)
        sheet, row, col = where[L.sentence_name(ind, p)]
        held = read.book.formulas(sheet, *where.extent[sheet]) if hasattr(where, "extent") else None
        if held is None:
            # A client that shows values only (Excel, LibreOffice) cannot tell staff's text from the
            # live sentence formula's result; an overwritten formula is found by value there.
            continue
        shown = at(held, row, col)
        if shown in (None, "") or shown == r.sentence:
            continue
        if isinstance(shown, str) and shown.startswith("="):
            continue  # the live sentence formula itself; an edited one is restored by _check_results
        text = str(shown)
        if state == "stale" and text[:8] == r.sentence[:8]:
            continue
        quoted = text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…"
        f = finding(
            "analysis_replaced",
            indicator=r.indicator,
            input="sentence",
            period=r.period,
            sheet=sheet,
            cell=cell_address(row, col),
            raw=quoted,
        )
        out.append(f.at(sheet, cell_address(row, col)))
    return out


# -- displayed targets -----------------------------------------------------------------------------


TARGET_LABEL = "年度目標值"


def target_repairs(read: Reading, *, write: bool = True) -> tuple[list[Finding], dict[Cell, Any]]:
    """Edited target texts on the indicator sheets: findings, and the cells to restore.

    The template shows each target twice as text: in the definition (label
    「{year}年年度目標值」, column B) and above the results (label 「年度目標值」, one
    per period column).  The formulas never read them, so an edit changes nothing
    computed but misleads every reader of the printout.  A cell is judged only where
    its label is the template's, so a changed layout is never "repaired".
    """
    scope, where = read.scope, read.where
    findings: list[Finding] = []
    cells: dict[Cell, Any] = {}
    year_label = f"{scope.year}年{TARGET_LABEL}"
    for ind in scope.indicators:
        printed = target_for(ind, scope.targets).shown  # as the template prints it: 第3階段（完成發包）
        spots: list[Cell] = []
        for p in scope.periods:
            sentence_sheet = where[L.sentence_name(ind, p)][0]
            rows = [
                where[n]
                for n in _result_names(scope)[ind.id, p.id]
                if n in where and where[n][0] == sentence_sheet
            ]
            if not rows:
                continue
            sheet, first, col = min(rows, key=lambda c: c[1])
            grid = read.grid(sheet)
            if at(grid, first - 1, 1) == TARGET_LABEL:
                spots.append((sheet, first - 1, col))
            spots += [(sheet, row, 2) for row in range(1, first) if at(grid, row, 1) == year_label]
        for sheet, row, col in dict.fromkeys(spots):
            shown = at(read.grid(sheet), row, col)
            if _same_target(shown, printed):
                continue
            cells[(sheet, row, col)] = printed
            f = finding(
                "target_restored" if write else "target_edited",
                indicator=ind.id,
                input="target",
                period=None,
                sheet=sheet,
                cell=cell_address(row, col),
                raw="" if shown is None else str(shown),
                value=printed,
            )
            findings.append(f.at(sheet, cell_address(row, col)))
    return findings, cells


@L.per_form
def _result_names(scope: L.Scope) -> dict[tuple[str, str], list[str]]:
    """(indicator id, period id) → the defined names of its ``OUT_`` result cells (once per form)."""
    from workbook.form.formulas import indicator_computation

    out = {}
    for ind in scope.indicators:
        for p in scope.periods:
            prefix = L.result_name(ind, p, "")
            names = (L.step_name(ind, p, step) for step, _ in indicator_computation(scope, ind, p).steps)
            out[ind.id, p.id] = [n for n in names if n.startswith(prefix)]
    return out


def _same_target(shown: Any, printed: str) -> bool:
    if shown is None:
        return False
    if str(shown).strip() == printed:
        return True
    try:  # a number typed over a plain-number target ("70" → 70) is the same target
        return Decimal(str(shown)) == Decimal(printed)
    except Exception:
        return False


# -- copies of indicator sheets --------------------------------------------------------------------


def copied_sheet_findings(
    read: Reading, inputs: dict, raw: dict[str, Any], product: set[str]
) -> list[Finding]:
    """Counts typed into a copy of an indicator sheet (Excel's 移動或複製 → 建立複本).

    A copy carries the indicator's title in A1 but none of the defined names, so
    nothing reads it.  Every input position of the copy that holds a value other
    than the original's is reported at the copy's cell.
    """
    scope, where = read.scope, read.where
    titles = {}
    for ind in scope.indicators:
        titles.setdefault(ind.name, ind)
    out = []
    for sheet in read.book.sheet_names():
        if sheet in product or sheet == L.SHEET_META:
            continue
        try:
            grid = read.grid(sheet)
        except (KeyError, ValueError):  # an adapter that was not sent this sheet's values
            continue
        ind = titles.get(str(at(grid, 1, 1) or "").strip())
        if ind is None:
            continue
        for name, (i, p, role) in inputs.items():
            if i.id != ind.id:
                continue
            original, row, col = where[name]
            value = at(grid, row, col)
            if value in (None, "") or value == raw.get(name):
                continue
            f = finding(
                "copied_sheet_input",
                indicator=ind.id,
                input=role,
                period=p.id,
                label=ind.input(role).label,
                sheet=sheet,
                cell=cell_address(row, col),
                raw=value,
                original=original,
            )
            out.append(f.at(sheet, cell_address(row, col)))
    return out
