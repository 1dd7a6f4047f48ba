"""``kpi demo``: the embedded plan's template, filled with its sample counts, calculated."""

from __future__ import annotations

from pathlib import Path

from kpi_engine import load_plan
from workbook.books.file import FileBook
from workbook.books.open import calculate_path
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.calculate import Outcome
from workbook.formats.files import check_output_target, save_atomic


def fill(book: FileBook, scope: L.Scope, entries: dict) -> None:
    """Type counts into a template's input cells, found by defined name, as staff would."""
    names = book.names()
    for period_key, by_indicator in entries.items():
        period = scope.plan.period(period_key)
        for ind_id, values in by_indicator.items():
            ind = scope.plan.indicator(ind_id)
            for role, value in values.items():
                sheet, row, col = names[L.input_name(ind, period, role)]
                book.write(sheet, row, col, [[value]])


def fill_notes(book: FileBook, scope: L.Scope, period_key: str, notes: dict[str, str]) -> None:
    """Type staff's 補充說明 into their cells, as staff would."""
    names = book.names()
    period = scope.plan.period(period_key)
    for ind_id, text in notes.items():
        sheet, row, col = names[L.notes_name(scope.plan.indicator(ind_id), period)]
        book.write(sheet, row, col, [[text]])


def run_demo(folder: Path) -> tuple[Outcome, Path, Path]:
    """Build the sample-year template, fill the sample counts and notes, calculate; return both files."""
    plan = load_plan(None)
    sample = plan.sample
    if sample is None:  # pragma: no cover - the embedded plan carries one
        raise ValueError("the embedded plan has no sample data")
    folder.mkdir(parents=True, exist_ok=True)
    scope = L.Scope(plan, unit=plan.agency, period_id=plan.period(sample.period).id, data_year=sample.year)
    # Both files are replaced if present, but never through a symlink or over a non-file.
    blank = check_output_target(folder / f"{plan.id}_{sample.year}_範本.xlsx")
    filled = check_output_target(
        folder / f"{plan.id}_{sample.year}_{plan.period(sample.period).name}_已計算.xlsx"
    )
    write_template(scope, blank)
    save_atomic(blank.read_bytes(), filled)  # a new file renamed over the name: never half a copy
    book = FileBook(filled)
    fill(book, scope, {sample.period: sample.entries})
    fill_notes(book, scope, sample.period, sample.notes)
    book.save()  # as staff save what they typed; then calculated as kpi calculate does
    return calculate_path(filled), blank, filled


def demo_report(folder: Path, filled: Path) -> list[Path]:
    """The Part 4 report of the calculated demo workbook: .odt, plus PDF and PNG with LibreOffice."""
    from workbook.collect import collect
    from workbook.libreoffice import LibreOfficeError, find_pdftoppm, find_soffice, pdf_to_pngs
    from workbook.report.document import write_report
    from workbook.report.gather import from_collection, make_report

    coll = collect([filled])
    report = make_report({p.id: p for p in coll.plans}, from_collection(coll, [filled]))
    from workbook.report.charts import charts_if_available

    charts = charts_if_available(report)
    stem = folder / f"{filled.stem.replace('_已計算', '')}_達成情形報告"
    out = [write_report(report, stem.with_suffix(".odt"), charts)]
    if find_soffice() is not None:
        try:
            pdf = stem.with_suffix(".pdf")
            write_report(report, pdf, charts)
            out.append(pdf)
            if find_pdftoppm() is not None:  # named as the folder was given, like the .odt
                out += [folder / png.name for png in pdf_to_pngs(pdf, stem, dpi=100)]
        except (LibreOfficeError, ValueError):  # the .odt is there; a picture is a bonus
            pass
    return out
