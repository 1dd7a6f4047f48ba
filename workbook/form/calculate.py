"""Calculate a filled workbook: read inputs by name, run the engine, write results.

The same :func:`calculate` serves every :class:`~workbook.form.book.Book`: a file
(``kpi calculate``/``check``, through :func:`workbook.books.open.calculate_path`), both
buttons (live Excel, LibreOffice) and ``kpi collect``.  What a medium can do beyond the
common methods it declares as ability flags, which are read here; nothing is probed
with ``getattr``.  It never writes an input cell, nor any
cell staff see: it records its findings, the status line and the inputs it checked in the
system sheet ``_kpi`` (unprotected, very hidden), which the visible sheets show by formula
(issue 22).  Only a repair of the form itself writes a visible cell.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from kpi_engine import Evaluation, Finding, Plan, PlanError, evaluate, parse_plan
from kpi_engine.checks import FORMULA_BLIND, as_cell_number, parse_count
from kpi_engine.evaluate import State
from kpi_engine.findings import finding
from kpi_engine.measures import CALC_REF, HELD_MARK, SNAP_PREFIX, ZH_LABELS
from workbook.form import layout as L
from workbook.form import repairs
from workbook.form.book import Book, at, cell_address
from workbook.form.formulas import indicator_computation, result_formulas
from workbook.formats.files import WorkbookFileError

Cell = tuple[str, int, int]  # (sheet, row, col)


@dataclass
class Outcome:
    """What a calculation found and did."""

    scope: L.Scope
    evaluation: Evaluation
    findings: list[Finding]
    restored: list[str] = field(default_factory=list)  # defined names whose formula was put back
    blocks: list[tuple[str, int, int, list[list[Any]]]] = field(default_factory=list)
    state: str = ""  # never | current | stale: the inputs against the last calculate
    repairs: dict[Cell, Any] = field(default_factory=dict)  # edited form cells to restore (targets)
    #: Where :func:`workbook.books.open.calculate_path` stored the workbook (None: nothing written).
    saved: Path | None = None
    #: (zh-TW, English) notes about that save (a whole rewrite that staff's additions may not survive).
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        """True when any finding has severity error."""
        return any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict:
        """JSON-ready: the evaluation's shape with located findings and restored formulas."""
        out = self.evaluation.to_dict()
        out["findings"] = [f.to_dict() for f in self.findings]
        out["restored_formulas"] = self.restored
        out["workbook"] = {
            "unit": self.scope.unit,
            "owner": self.scope.owner,
            "period": self.scope.period_id,
            "year": self.scope.year,
        }
        return out


def read_meta(book: Book) -> dict[str, Any]:
    """The very hidden metadata sheet as a dict (``plan_text`` and ``plan_copy`` joined)."""
    if L.SHEET_META not in book.sheet_names():
        raise WorkbookFileError(
            "這不是本系統產生的填報工作簿（找不到系統資料）",
            "not a KPI Workbook template (its metadata sheet is missing)",
            sheet=L.SHEET_META,
        )
    meta: dict[str, Any] = {}
    chunks: dict[str, list[str]] = {"plan_text": [], "plan_copy": []}
    for line in book.grid(L.SHEET_META):
        if not line or line[0] is None:
            continue
        key = str(line[0])
        value = line[1] if len(line) > 1 else None
        if key in chunks:
            chunks[key].append(str(value or ""))
        else:
            meta[key] = value
    meta.update((key, "".join(parts)) for key, parts in chunks.items())
    if meta.get("product") != L.PRODUCT:
        raise WorkbookFileError(
            "這不是本系統產生的填報工作簿", "not a KPI Workbook template", sheet=L.SHEET_META
        )
    return meta


def check_version(meta: dict[str, Any]) -> None:
    """Refuse a workbook made by another template version: its layout may differ."""
    version = str(meta.get("template_version"))
    if version != L.TEMPLATE_VERSION:
        raise WorkbookFileError(
            f"範本版本 {version} 與目前版本 {L.TEMPLATE_VERSION} 不同，請下載新範本後重新填寫",
            f"template version {version} differs from the current {L.TEMPLATE_VERSION}; use the new template",
            sheet=L.SHEET_META,
        )


def resolve_scope(book: Book, plans: Iterable[Plan] = ()) -> tuple[L.Scope, dict[str, Any]]:
    """Find the workbook's plan (a given one with its fingerprint, else the one it carries)."""
    meta = read_meta(book)
    check_version(meta)
    fingerprint = str(meta.get("plan_fingerprint") or "")
    plan = next((p for p in plans if p.fingerprint == fingerprint), None)
    if plan is None:
        try:
            plan = parse_plan(
                meta["plan_text"], source="(workbook)", fingerprint=fingerprint, copy=meta["plan_copy"]
            )
        except PlanError as exc:
            raise WorkbookFileError(
                "工作簿內的計畫資料無法讀取",
                f"the plan stored in the workbook is unreadable: {exc}",
                sheet=L.SHEET_META,
            ) from exc
        if plan.fingerprint != fingerprint:
            raise WorkbookFileError(
                "工作簿內的計畫資料與指紋不符（可能遭修改），請重新下載範本",
                "the plan stored in the workbook does not match its fingerprint; download the template again",
                sheet=L.SHEET_META,
            )
    year = repairs.data_year(book, meta, plan.year)
    repairs.check_calculated_at(book, meta)
    scope = L.Scope(
        plan,
        owner=str(meta.get("owner") or "") or None,
        period_id=str(meta.get("period") or "") or None,
        unit=str(meta.get("unit") or ""),
        data_year=year,
    )
    return scope, meta


def _locate(names: dict[str, Cell], wanted: list[str], sheets: list[str]) -> Located:
    """Where each required name points; refuse missing, dangling or colliding names."""
    present = set(sheets)
    missing = [n for n in wanted if n not in names or names[n][0] not in present]
    if missing:
        shown = "、".join(missing[:5]) + (f" 等 {len(missing)} 個" if len(missing) > 5 else "")
        raise WorkbookFileError(
            f"找不到必要的儲存格名稱：{shown}。工作表可能被刪除、更名或名稱被修改，請以原範本重新填寫",
            f"required defined names are missing: {', '.join(missing[:5])}"
            f"{f' and {len(missing) - 5} more' if len(missing) > 5 else ''}; a sheet or name was deleted or renamed",
        )
    seen: dict[Cell, str] = {}
    for n in wanted:
        other = seen.setdefault(names[n], n)
        if other != n:
            sheet, row, col = names[n]
            raise WorkbookFileError(
                f"儲存格名稱 {n} 與 {other} 指向同一儲存格，名稱可能被修改，請以原範本重新填寫",
                f"defined names {n} and {other} point at the same cell; a name was redirected",
                sheet=sheet,
                cell=cell_address(row, col),
            )
    return Located({n: names[n] for n in wanted})


def _digest(raw: dict[str, Any]) -> str:
    def canonical(v: Any) -> str:
        # The same entry reads differently by reader: Excel (COM) gives 187.0 where files give 187,
        # and python-calamine gives date(…) where openpyxl gives a midnight datetime(…).
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        elif isinstance(v, datetime) and v.time() == time():
            v = v.date()
        return repr(v)

    blob = json.dumps({k: canonical(v) for k, v in sorted(raw.items())}, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _roc_stamp(iso: str) -> str:
    t = datetime.fromisoformat(str(iso))
    return f"{t.year - 1911}年{t.month}月{t.day}日 {t:%H:%M}"


def _same(shown: Any, expected: Any) -> bool:
    """Does a computed cell show what the engine computed?"""
    if expected in ("", None):
        return shown in ("", None)
    if isinstance(expected, Decimal):
        try:
            return abs(Decimal(str(shown)) - expected) < Decimal("1e-9")
        except Exception:
            return False
    return str(shown) == str(expected)


def _normal_formula(text: Any) -> str:
    # _xlfn. is how a file stores a function newer than Excel 2007 (ISFORMULA); clients show it bare.
    return str(text or "").replace(" ", "").replace("$", "").upper().replace("_XLFN.", "")


def calculate(
    book: Book, *, plans: Iterable[Plan] = (), write: bool = True, now: datetime | None = None
) -> Outcome:
    """Check and calculate ``book``; write results into it unless ``write`` is False.

    Raises :class:`WorkbookFileError` when the workbook cannot be used at all.
    """
    scope, meta = resolve_scope(book, plans)
    names = book.names()
    gone = repairs.missing_sheets(book, names)
    lost: set[str] = set()  # names of deleted sheets: not read, not written
    if gone and write and book.can_rebuild_sheets:
        book.rebuild_sheets(scope, gone)  # the file is then saved whole, with a note that says so
        names = book.names()
        sheet_notes = repairs.sheet_findings(gone, "sheet_recreated")
    else:
        sheet_notes = repairs.sheet_findings(gone, "sheet_missing")
        lost = {n for sheet in gone for n in repairs.REBUILDABLE[sheet]}
    workbook_names = [n for n in (L.FINDINGS_NAME, L.STATUS_NAME) if n not in lost] + [L.RECORD_NAME]
    form = _form(scope)
    inputs, progress, formulas, state_names = form.inputs, form.progress, form.formulas, form.state_names
    where = _locate(names, [*form.wanted, *workbook_names], book.sheet_names())

    raw = {name: _input(book, where, name) for name in form.typed}
    entries: dict[str, dict[str, dict[str, Any]]] = {}
    for name, (ind, p, role) in inputs.items():
        entries.setdefault(p.id, {}).setdefault(ind.id, {})[role] = raw[name]
    state = _read_state(book, where, state_names)
    ev = evaluate(scope.plan, entries, targets=scope.targets, year=scope.year, cells=True, state=state)  # type: ignore[arg-type]

    located: list[Finding] = []
    by_key = form.by_key
    for f in ev.findings:
        name = by_key.get((f.indicator, f.period, f.input))  # type: ignore[arg-type]
        sheet, row, col = where[name] if name else (None, 0, 0)
        located.append(f.at(sheet, cell_address(row, col) if sheet else None))
    located += _progress_findings(progress, raw, where)
    located += _layout_findings(book, scope, inputs, where, restore=write)
    located += sheet_notes

    read = repairs.Reading(book, scope, where)
    digest = _digest(raw)
    recorded = str(meta.get("input_digest") or "")
    state = "never" if not recorded else ("current" if recorded == digest else "stale")
    product = set(product_sheets(scope, book))
    located += repairs.copied_sheet_findings(read, inputs, raw, product)
    target_notes, target_cells = repairs.target_repairs(read, write=write)
    located += target_notes
    if write:
        located += repairs.analysis_findings(read, ev, state)

    outcome = Outcome(scope, ev, located)
    outcome.repairs = target_cells
    outcome.state = state
    _check_results(read, ev, formulas, outcome, write=write, state=state)
    if write:
        recorded = _write_results(book, scope, ev, outcome, where, meta, digest, now, entries, state_names)
        # The evaluation now describes the workbook as written: its 檢核 cells show what was found.
        outcome.evaluation = evaluate(
            scope.plan,
            entries,
            targets=scope.targets,
            year=scope.year,
            cells=True,
            state=recorded,  # type: ignore[arg-type]
        )
    elif L.STATUS_NAME in where:
        _check_submitted(book, scope, ev, where, outcome, state)
    return outcome


def calculate_file_book(
    book: Book,
    path: str | Path,
    *,
    plans: Iterable[Plan] = (),
    write: bool = True,
    now: datetime | None = None,
) -> Outcome:
    """:func:`calculate` on a book read from ``path``: an error names the file."""
    try:
        return calculate(book, plans=plans, write=write, now=now)
    except WorkbookFileError as exc:
        if exc.path is not None:
            raise
        raise WorkbookFileError(
            exc.message_zh, exc.message_en, path=path, sheet=exc.sheet, cell=exc.cell
        ) from exc


@dataclass(frozen=True)
class _Form:
    """The defined names calculate reads on one form (:func:`_form`)."""

    inputs: dict[str, tuple[Any, Any, str]]  # count input → (indicator, period, role)
    progress: list[tuple[Any, Any, str]]  # (Part 3 item, period, its 執行進度 name)
    formulas: dict[str, str]  # result cell → its formula
    state_names: dict[str, tuple[str, str, str]]  # calculate's record in _kpi
    typed: list[str]  # every cell staff type into: counts, notes, 執行進度 and 執行情形
    wanted: list[str]  # every name calculate reads (the workbook's own names aside)
    by_key: dict[tuple[str, str, str], str]  # (indicator id, period id, role) → count input


@L.per_form
def _form(scope: L.Scope) -> _Form:
    """The names of ``scope``'s form, built once per form (each return of a template has them)."""
    inputs = {name: (ind, p, role) for ind, p, role, name in scope.input_names()}
    text_inputs = [L.notes_name(i, p) for i in scope.indicators for p in scope.periods]
    progress = [(item, p, L.progress_name(item, p)) for item in scope.items for p in scope.periods]
    text_inputs += [L.progress_text_name(item, p) for item in scope.items for p in scope.periods]
    formulas = result_formulas(scope)
    state_names = _state_names(scope)
    typed = [*inputs, *text_inputs, *(n for _, _, n in progress)]
    return _Form(
        inputs,
        progress,
        formulas,
        state_names,
        typed,
        [*typed, *formulas, *state_names],
        {(ind.id, p.id, role): name for name, (ind, p, role) in inputs.items()},
    )


def _state_names(scope: L.Scope) -> dict[str, tuple[str, str, str]]:
    """Defined name → (indicator id, period id, state key) of calculate's record in ``_kpi``."""
    out: dict[str, tuple[str, str, str]] = {}
    for ind in scope.indicators:
        for p in scope.periods:
            out[L.calc_name(ind, p)] = (ind.id, p.id, CALC_REF)
            for spec in ind.inputs:
                out[L.snapshot_name(ind, p, spec.role)] = (ind.id, p.id, SNAP_PREFIX + spec.role)
    return out


def _read_state(book: Book, where: Located, state_names: dict[str, tuple[str, str, str]]) -> State:
    state: dict[tuple[str, str], dict[str, object]] = {}
    for name, (ind_id, period_id, key) in state_names.items():
        state.setdefault((ind_id, period_id), {})[key] = _cell(book, where, name)
    return state


def _layout_findings(
    book: Book, scope: L.Scope, inputs: dict, where: Located, *, restore: bool
) -> list[Finding]:
    """Damage to the form itself: merged inputs, removed protection, macros."""
    out: list[Finding] = []
    if book.reads_merged:
        # Only sheets holding inputs: a merge elsewhere hides no count.  A sheet nothing is read
        # from is not parsed for this either (its damage cannot change a number; the package
        # guard has checked its bytes), so 檢核結果's 200 formula rows cost nothing here.
        ranges = {sheet: book.merged(sheet) for sheet in {where[name][0] for name in inputs}}
        for name, (ind, p, role) in inputs.items():
            sheet, row, col = where[name]
            if any(r1 <= row <= r2 and c1 <= col <= c2 for r1, c1, r2, c2 in ranges[sheet]):
                f = finding(
                    "merged_input", indicator=ind.id, input=role, period=p.id, label=ind.input(role).label
                )
                out.append(f.at(*where.address(name)))
    if restore and book.repairs_protection:
        for sheet in book.restore_protection(product_sheets(scope, book), scope.plan.options.password):
            out.append(
                finding("protection_restored", indicator=None, input=None, period=None, sheet=sheet).at(
                    sheet, None
                )
            )
    if book.has_package_info and book.info.has_vba:
        out.append(finding("vba_present", indicator=None, input=None, period=None))
    return out


def product_sheets(scope: L.Scope, book: Book) -> list[str]:
    """The sheets of ``book`` that the template made (not the metadata sheet, not staff's own)."""
    ours = {L.SHEET_GUIDE, L.SHEET_KPI, L.SHEET_ITEMS, L.SHEET_SUMMARY, L.SHEET_FINDINGS}
    ours |= {L.indicator_sheet(scope.plan, ind) for ind in scope.indicators}
    return [s for s in book.sheet_names() if s in ours]


def _progress_findings(progress, raw, where) -> list[Finding]:
    out = []
    for item, p, name in progress:
        value, notes = parse_count(raw[name])
        sheet, row, col = where[name]
        label = f"{item.name}執行進度"
        found = [
            finding(code, indicator=item.id, input="progress", period=p.id, label=label, **fields)
            for code, fields in notes
        ]
        if value is not None and not (0 <= value <= 100):
            found.append(
                finding(
                    "progress_range",
                    indicator=item.id,
                    input="progress",
                    period=p.id,
                    label=label,
                    value=value,
                )
            )
        out += [f.at(sheet, cell_address(row, col)) for f in found]
    return out


class Located(dict):
    """Defined name → (sheet, row, col), with the extent each sheet is read to.

    Sheets are read only as far as the farthest named cell, so a stray value in
    a far corner of a sheet costs nothing.
    """

    def __init__(self, where: dict[str, Cell]):
        super().__init__(where)
        rows: dict[str, int] = {}
        cols: dict[str, int] = {}
        for sheet, row, col in where.values():  # a thousand names in a return: kept plain
            if row > rows.get(sheet, 0):
                rows[sheet] = row
            if col > cols.get(sheet, 0):
                cols[sheet] = col
        self.extent: dict[str, tuple[int, int]] = {sheet: (rows[sheet], cols[sheet]) for sheet in rows}

    def address(self, name: str) -> tuple[str, str]:
        """(sheet, ``B7``) of a named cell."""
        sheet, row, col = self[name]
        return sheet, cell_address(row, col)


def _cell(book: Book, where: Located, name: str) -> Any:
    sheet, row, col = where[name]
    return at(book.grid(sheet, *where.extent[sheet]), row, col)


def _input(book: Book, where: Located, name: str) -> Any:
    """An input as staff typed it: a formula's text rather than its value.

    openpyxl shows a typed formula as its text already; a live client shows its
    value, so the adapter says which cells hold formulas (``typed_formulas``) and
    every path reports ``formula_in_input`` alike.
    """
    if book.reads_typed_formulas:
        sheet, row, col = where[name]
        formula = book.typed_formulas(sheet, *where.extent[sheet]).get((row, col))
        if formula is not None:
            return formula
    return _cell(book, where, name)


def _check_results(
    read: repairs.Reading,
    ev: Evaluation,
    formulas: dict[str, str],
    outcome: Outcome,
    *,
    write: bool,
    state: str,
) -> None:
    """Every result cell must hold its formula, or show what the engine computes.

    A file read with openpyxl is checked by formula text (and repaired when writing).
    A workbook seen only through values (live Excel, or a submission read with
    calamine) is checked by value: live, a wrong value means an overwritten formula;
    in a submission it means the results were edited (``tampered``) unless the
    inputs changed since the last calculate (``state == "stale"``), which is
    reported once instead.
    """
    book, scope, where = read.book, read.scope, read.where
    results = {(r.indicator, r.period): r for r in ev.results}
    steps = _result_steps(scope)
    # A live client computes results from a formula typed into an input, which the engine
    # refuses (formula_in_input): that finding is the verdict, not a result mismatch.
    typed = {(f.indicator, f.period) for f in ev.findings if f.code == "formula_in_input"}
    restore_formula = write and book.restores_formulas
    blank_unknown = book.blank_results_are_unknown
    for name, formula in formulas.items():
        sheet, row, col = where[name]
        grid = book.formulas(sheet, *where.extent[sheet])
        ind_id, period_id, step = steps[name]
        if grid is not None:
            held = at(grid, row, col)
            if _normal_formula(held) == _normal_formula(formula):
                continue
            code = "formula_restored" if restore_formula else "formula_overwritten"
            if restore_formula:
                book.restore_formula(sheet, row, col, formula)
                outcome.restored.append(name)
        else:
            shown = _cell(book, where, name)
            if (ind_id, period_id) in typed:
                continue
            if (shown is None and blank_unknown) or _same(
                shown, results[(ind_id, period_id)].cells.get(step)
            ):
                continue
            if step == "status" and shown == ZH_LABELS.uncalculated:
                # The 檢核 cell's value cached before calculate wrote its record (a file that
                # kpi calculate patched, awaiting recalculation on load): stale, not tampered.
                continue
            if write:
                code = "result_mismatch"
            elif state == "current":
                code = "tampered"
            else:
                continue  # stale or never calculated: reported once by _check_submitted
        f = finding(
            code, indicator=ind_id, input=step, period=period_id, cell=cell_address(row, col), sheet=sheet
        )
        outcome.findings.append(f.at(sheet, cell_address(row, col)))


def _check_submitted(
    book: Book, scope: L.Scope, ev: Evaluation, where: dict[str, Cell], outcome: Outcome, state: str
) -> None:
    """Read-only checks of what a workbook claims: was it calculated, and since its last input?"""
    sheet, row, col = where[L.STATUS_NAME]
    here = (sheet, cell_address(row, col))
    if state != "current":
        code = "not_calculated" if state == "never" else "stale"
        outcome.findings.append(finding(code, indicator=None, input=None, period=None).at(*here))
    # The analysis sentences are formulas now: _check_results compares them with the engine's.


@L.per_form
def _result_steps(scope: L.Scope) -> dict[str, tuple[str, str, str]]:
    """Defined name → (indicator id, period id, step) of every formula cell."""
    return {
        L.step_name(ind, p, step): (ind.id, p.id, step)
        for ind in scope.indicators
        for p in scope.periods
        for step, _ in indicator_computation(scope, ind, p).steps
    }


def _snapshot_value(raw: Any) -> Any:
    """An input as calculate records it: a date as the serial number a formula sees.

    Every client then writes the same number (openpyxl would write a date, a live
    client its serial), and ``EXACT`` compares both the same way.
    """
    if isinstance(raw, (datetime, date)):
        number = as_cell_number(raw)
        if number is not None:
            return int(number) if number == number.to_integral_value() else float(number)
    if isinstance(raw, float) and not math.isfinite(raw):
        return None  # 1E+400 reads as inf, which no cell can store; the count is an error anyway
    return raw


def _status_text(findings: list[Finding]) -> str:
    """What calculate found for one indicator and period; the 檢核 formula shows it while
    the inputs are unchanged and no live check fails."""
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    if errors or warnings:
        return f"錯誤 {errors} 項、警告 {warnings} 項（見檢核結果）"
    return "無誤"


def block_writes(cells: dict[Cell, Any]) -> list[tuple[str, int, int, list[list[Any]]]]:
    """Group single-cell writes into as few rectangular blocks as possible.

    Runs of adjacent columns in a row become one row; rows with the same column
    span on consecutive lines stack into one block.  Only the given cells are
    covered, so nothing else (an input in between) is ever written.
    """
    rows: dict[tuple[str, int], list[int]] = {}
    for sheet, row, col in sorted(cells):
        rows.setdefault((sheet, row), []).append(col)
    runs: list[tuple[str, int, int, int]] = []  # sheet, row, first col, last col
    for (sheet, row), cols in rows.items():
        start = prev = cols[0]
        for c in [*cols[1:], None]:
            if c is not None and c == prev + 1:
                prev = c
                continue
            runs.append((sheet, row, start, prev))
            if c is not None:
                start = prev = c
    blocks: list[tuple[str, int, int, int, int]] = []  # sheet, top, bottom, first, last
    for sheet, row, first, last in sorted(runs, key=lambda r: (r[0], r[2], r[3], r[1])):
        if blocks and blocks[-1][0] == sheet and blocks[-1][2] == row - 1 and blocks[-1][3:] == (first, last):
            blocks[-1] = (sheet, blocks[-1][1], row, first, last)
        else:
            blocks.append((sheet, row, row, first, last))
    return [
        (
            sheet,
            top,
            first,
            [[cells[(sheet, r, c)] for c in range(first, last + 1)] for r in range(top, bottom + 1)],
        )
        for sheet, top, bottom, first, last in blocks
    ]


def _write_results(
    book: Book,
    scope: L.Scope,
    ev: Evaluation,
    outcome: Outcome,
    where,
    meta: dict,
    digest: str,
    now: datetime | None,
    entries: dict[str, dict[str, dict[str, Any]]],
    state_names: dict[str, tuple[str, str, str]],
) -> State:
    """Write calculate's record and report into ``_kpi``; return the record.

    Nothing else is written (issue 22): 檢核, the status line and 檢核結果 are formulas over
    this record, so no client lifts a visible sheet's protection.  Only a repair of the
    form itself (an edited displayed target, in ``outcome.repairs``) writes elsewhere.
    """
    cells: dict[Cell, Any] = dict(outcome.repairs)
    recorded: dict[tuple[str, str], dict[str, object]] = {}
    for r in ev.results:
        mine = [f for f in outcome.findings if f.indicator == r.indicator and f.period == r.period]
        raw = entries.get(r.period, {}).get(r.indicator, {})
        held = any(f.code in FORMULA_BLIND and f.severity == "error" for f in mine)
        record = {CALC_REF: (HELD_MARK if held else "") + _status_text(mine)}
        record.update({SNAP_PREFIX + role: _snapshot_value(value) for role, value in raw.items()})
        recorded[(r.indicator, r.period)] = record
    for name, (ind_id, period_id, key) in state_names.items():
        cells[where[name]] = recorded.get((ind_id, period_id), {}).get(key)

    stamp = str(meta.get("calculated_at") or "")
    if meta.get("input_digest") != digest or not stamp:
        # A space, not "T": xlwings' remote engine mistakes "YYYY-MM-DDTHH:MM:SS" text for a date and fails.
        stamp = (now or datetime.now()).replace(microsecond=0).isoformat(sep=" ")
    sheet, row, col = where[L.RECORD_NAME]
    report = [[_status_line(stamp, outcome.findings)] + [None] * (len(L.REPORT_COLUMNS) - 1)]
    report += _findings_rows(scope.plan, outcome.findings)
    for i, line in enumerate(report):
        for j, v in enumerate(line):
            cells[(sheet, row + i, col + j)] = v
    _fill_rectangle(cells, [c for c in cells if c[0] == L.SHEET_META])  # record and report
    meta_rows = {str(v[0]): i + 1 for i, v in enumerate(book.grid(L.SHEET_META)) if v and v[0] is not None}
    cells[(L.SHEET_META, meta_rows["input_digest"], 2)] = digest
    cells[(L.SHEET_META, meta_rows["calculated_at"], 2)] = stamp
    outcome.blocks = block_writes(cells)
    written = {b[0] for b in outcome.blocks}
    sheets = [s for s in book.sheet_names() if s in written]  # workbook order: a message names the first
    with book.unprotected(sheets, scope.plan.options.password):
        for sheet, row, col, values in outcome.blocks:
            book.write(sheet, row, col, values)
    return recorded


def _fill_rectangle(cells: dict[Cell, Any], mine: list[Cell]) -> None:
    """Pad calculate's cells ``mine`` of ``_kpi`` (its record and, beside it, its report) to
    the rectangle from row 1 that holds them, so they are one write: one undo step in a live
    client.  The cells in between are empty by the template's layout."""
    bottom = max(row for _, row, _ in mine)
    left, right = min(col for *_, col in mine), max(col for *_, col in mine)
    for r in range(1, bottom + 1):
        for c in range(left, right + 1):
            cells.setdefault((L.SHEET_META, r, c), None)


def _status_line(stamp: str, findings: list[Finding]) -> str:
    """The status line 填表說明 shows (by formula) once calculate has run."""
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    return f"已於 {_roc_stamp(stamp)} 計算：錯誤 {errors} 項、警告 {warnings} 項" + (
        "。請依「檢核結果」修正後再計算。" if errors else "。"
    )


def recorded_report(book: Book) -> tuple[str, list[list[Any]]]:
    """What the last calculate recorded in ``_kpi``: (status line, findings rows without the padding).

    Each row is in :data:`~workbook.form.layout.REPORT_COLUMNS` order (序號 … 代碼); this is
    what 填表說明's status line and the 檢核結果 sheet show by formula.
    """
    sheet, row, col = book.names()[L.RECORD_NAME]
    width = len(L.REPORT_COLUMNS)
    grid = book.grid(sheet, row + L.FINDINGS_CAPACITY, col + width - 1)
    lines = [[at(grid, row + i, col + j) for j in range(width)] for i in range(L.FINDINGS_CAPACITY + 1)]
    status = lines[0][0]
    return ("" if status is None else str(status)), [
        line for line in lines[1:] if any(v not in (None, "") for v in line)
    ]


def _findings_rows(plan: Plan, findings: list[Finding]) -> list[list[Any]]:
    """The findings table (:data:`~workbook.form.layout.REPORT_COLUMNS`: zh-TW first, the code
    last): exactly FINDINGS_CAPACITY rows, blank-padded, so old rows clear."""
    period_names = {p.id: p.name for p in plan.periods}
    rows: list[list[Any]] = []
    cap = L.FINDINGS_CAPACITY
    findings = sorted(findings, key=lambda f: f.severity != "error")  # errors first, else plan order
    shown = findings if len(findings) <= cap else findings[: cap - 1]
    for n, f in enumerate(shown, start=1):
        severity = "錯誤" if f.severity == "error" else "警告"
        rows.append(
            [
                str(n),  # text, as every report cell: 檢核結果 shows it as =_kpi!…&""
                severity,
                f.message_zh,
                f.sheet or "",
                f.cell or "",
                period_names.get(f.period or "", f.period or ""),
                f.message_en,
                f.code,
            ]
        )
    if len(findings) > cap:
        rest = len(findings) - len(shown)
        rows.append(
            ["…", "", f"另有 {rest} 項未列出，請先修正上列問題", "", "", "", f"{rest} more not shown", ""]
        )
    if not rows:
        rows.append(["", "", "無檢核問題", "", "", "", "no findings", ""])
    rows += [[None] * len(L.REPORT_COLUMNS) for _ in range(cap - len(rows))]
    return rows
