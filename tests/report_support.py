"""Helpers for the report and archive tests: read documents back, make calculated workbooks."""

from __future__ import annotations

from pathlib import Path

from workbook.books.file import FileBook
from workbook.demo import fill, fill_notes
from workbook.form import layout as L
from workbook.form.builder import write_template
from workbook.form.calculate import calculate

COUNTS_107 = {
    "volunteer_growth": {"current": 108, "previous": 100},
    "procurement_pass_rate": {"numerator": 180, "denominator": 200},
    "e_tender_rate": {"numerator": 9, "denominator": 10},
    "failed_tender_rate": {"numerator": 64, "denominator": 640},
    "safety_defects": {"count": 70},
}


def make_workbook(plan, folder, name, *, year, period="H1", unit=None, entries, notes=None, now=None):
    """A calculated workbook of one unit, as staff would return it."""
    scope = L.Scope(plan, unit=unit or plan.agency, period_id=plan.period(period).id, data_year=year)
    path = write_template(scope, folder / name)
    book = FileBook(path)
    fill(book, scope, {period: entries})
    if notes:
        fill_notes(book, scope, period, notes)
    calculate(book, now=now)
    book.save()
    if now is not None:  # staff saved when they calculated: the saved time decides the newest version
        from collect_corpus import set_saved

        path.write_bytes(set_saved(path.read_bytes(), now))
    return path


def odt_tables(path: Path) -> list[list[list[str]]]:
    """Every table of an .odt as rows of cell texts (paragraphs joined by a space); merged cells are ''."""
    from odf import teletype
    from odf.opendocument import load
    from odf.table import Table, TableRow

    doc = load(str(path))
    out = []
    for table in doc.getElementsByType(Table):
        rows = []
        for row in table.getElementsByType(TableRow):
            cells = []
            for node in row.childNodes:
                if node.qname[1] == "covered-table-cell":
                    cells.append("")
                elif node.qname[1] == "table-cell":
                    paras = [teletype.extractText(p) for p in node.childNodes if p.qname[1] == "p"]
                    cells.append(" ".join(paras))
            rows.append(cells)
        out.append(rows)
    return out


def docx_tables(path: Path) -> list[list[list[str]]]:
    """Every table of a .docx as rows of cell texts; a vertically merged cell repeats only once."""
    import docx

    doc = docx.Document(str(path))
    out = []
    for table in doc.tables:
        rows, above = [], []
        for row in table.rows:
            cells = []
            for i, cell in enumerate(row.cells):
                same = i < len(above) and above[i] is cell._tc
                cells.append("" if same else " ".join(p.text for p in cell.paragraphs if p.text))
            above = [c._tc for c in row.cells]
            rows.append(cells)
        out.append(rows)
    return out
