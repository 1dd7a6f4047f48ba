"""The inputs the scale benchmark works on, made once per size and kept in a folder.

For a size (``seed`` or a number of indicators) :func:`make` writes:

* ``plan.yaml`` — the embedded plan, or :func:`bench.genplan.generated_plan_yaml`;
* ``filled.xlsx`` — its template with error-free counts typed into every input cell
  (the seed: its 106 上半年 sample), as staff would type them (:func:`workbook.demo.fill`);
* ``filled.ods`` — the same workbook saved by LibreOffice as .ods, the way staff who
  fill in with LibreOffice send it back (made only when asked for: it needs LibreOffice);
* ``filled-lo.xlsx`` — that .ods saved by LibreOffice as .xlsx (only when asked for): the
  workbook as the same client writes it in each format, so that the two formats are
  compared, not two writers (``filled.xlsx`` is openpyxl's, with 2.5× less XML at 200
  indicators than LibreOffice's .ods).

Making is untimed; a file already there is reused, so ``--keep DIR`` saves minutes at
1,000 indicators.
"""

from __future__ import annotations

from pathlib import Path

from bench.genplan import generated_entries, generated_plan_yaml
from kpi_engine import parse_plan
from kpi_engine.plan_loader import default_plan_path
from workbook.books.file import FileBook
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.builder import write_template


def plan_text(size: str) -> str:
    """The plan file's text for ``size``: ``seed`` or a number of indicators."""
    if size == "seed":
        return default_plan_path().read_text(encoding="utf-8")
    return generated_plan_yaml(int(size), min(20, int(size)))


def make(size: str, folder: Path, *, ods: bool = True, libreoffice_xlsx: bool = False) -> dict[str, Path]:
    """Write (or reuse) the inputs of ``size`` in ``folder``; their paths by name (``lo.xlsx``:
    the .ods saved by LibreOffice as .xlsx, with ``libreoffice_xlsx``)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"plan": folder / "plan.yaml", "xlsx": folder / "filled.xlsx", "ods": folder / "filled.ods"}
    if not paths["plan"].exists():
        paths["plan"].write_text(plan_text(size), encoding="utf-8")
    plan = parse_plan(paths["plan"].read_text(encoding="utf-8"), source=str(paths["plan"]))
    if not paths["xlsx"].exists():
        if size == "seed":
            sample = plan.sample
            assert sample is not None
            scope = L.Scope(plan, unit=plan.agency, data_year=sample.year)
            entries = {sample.period: sample.entries}
        else:
            scope = L.Scope(plan, unit="測試單位")
            entries = {p.id: generated_entries(plan, p.id) for p in plan.periods}
        blank = folder / "blank.xlsx"
        write_template(scope, blank)
        book = FileBook(blank)
        fill(book, scope, entries)
        book.save(paths["xlsx"])
        blank.unlink()
    if ods and not paths["ods"].exists():
        from workbook.odf import convert_workbooks

        convert_workbooks([(paths["xlsx"], paths["ods"])])
    if ods and libreoffice_xlsx:
        paths["lo.xlsx"] = folder / "filled-lo.xlsx"
        if not paths["lo.xlsx"].exists():
            _saved_by_libreoffice(paths["ods"], paths["lo.xlsx"])
    if not ods:
        del paths["ods"]
    return paths


def _saved_by_libreoffice(src: Path, dst: Path) -> None:
    """``src`` opened in LibreOffice and stored as ``dst`` (its suffix names the format)."""
    from workbook.books.uno import office, store

    with office() as lo:
        doc = lo.open(src)
        try:
            store(doc, dst, inputs=[src])
        finally:
            doc.close(True)
