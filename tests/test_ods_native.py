"""``kpi calculate FILE.ods`` without LibreOffice: the .ods cell patcher (issue 12, issue 11).

Filled templates are stored as .ods by LibreOffice, with what a clerk adds there: a
comment on a count, a drawing on an indicator sheet, a sheet of their own.  Then:

* calculated cell by cell (:func:`workbook.books.open.file_engine`), every zip
  member but ``content.xml`` is byte-identical, and so is every input cell's element;
* LibreOffice, opening the result and recalculating every formula, shows exactly what
  the file already shows (the cached results written are the formulas' results);
* the outcome equals calculating the same file inside LibreOffice;
* what only LibreOffice can do (put back an overwritten formula) falls back to it, and
  a sheet protected with the clerk's own password is refused.

The patcher itself is tested on hand-built ``content.xml`` (runs of repeated rows and
cells, comments, drawings, spaces and control characters).
"""

from __future__ import annotations

import re
import shutil
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import kpi
from helpers_workbook import INPUT_PREFIXES, build_filled
from test_libreoffice_oracle import DATE_ENTRIES, SEED_NOTE, TEXT_ENTRIES

from kpi_engine import load_plan
from workbook import libreoffice as lo
from workbook.books.ods import OdsBook
from workbook.books.open import file_engine
from workbook.form import layout as L
from workbook.form.calculate import calculate
from workbook.formats.ods_patch import Cached, OdsPatchError, patch_content

NOW = datetime(2018, 7, 10, 9, 30)
STAFF_SHEET = "承辦人備註"
COMMENT = "承辦人註記：含補訓名單"


def _staff_content(doc: Any, uno: Any, sheet: str, row: int, col: int) -> None:
    """A comment on a count, a rectangle on its sheet, a sheet of the clerk's own."""
    ws = doc.Sheets.getByName(sheet)
    address = uno.createUnoStruct("com.sun.star.table.CellAddress")
    address.Sheet, address.Column, address.Row = doc.Sheets.ElementNames.index(sheet), col - 1, row - 1
    ws.getAnnotations().insertNew(address, COMMENT)
    shape = doc.createInstance("com.sun.star.drawing.RectangleShape")
    ws.DrawPage.add(shape)
    size = uno.createUnoStruct("com.sun.star.awt.Size")
    size.Width, size.Height = 3000, 1500
    shape.setSize(size)
    doc.Sheets.insertNewByName(STAFF_SHEET, doc.Sheets.Count)
    doc.Sheets.getByName(STAFF_SHEET).getCellByPosition(0, 0).setString("聯絡窗口：分機 1234")


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> list[dict[str, Any]]:
    """Filled .ods files, calculated cell by cell and inside LibreOffice, and LibreOffice's recalculation."""
    lo.require_soffice()
    from workbook.books.uno import UnoBook, import_uno, office, store

    uno = import_uno()
    plan = load_plan()
    folder = tmp_path_factory.mktemp("ods_native")
    h1, fy = plan.period(plan.sample.period), plan.period("FY")
    cases = [
        ("seed", L.Scope(plan, period_id=None, data_year=106, unit="秘書處"), {h1.id: plan.sample.entries}),
        ("text", L.Scope(plan, period_id=h1.id, data_year=106, unit="秘書處"), {h1.id: TEXT_ENTRIES}),
        ("date", L.Scope(plan, period_id=fy.id, data_year=106, unit="秘書處"), {fy.id: DATE_ENTRIES}),
    ]
    out = []
    for key, scope, entries in cases:
        period = scope.plan.period(next(iter(entries)))
        note = L.notes_name(plan.indicator("procurement_pass_rate"), period)
        path, _ = build_filled(scope, entries, folder / f"{key}.xlsx", notes={note: SEED_NOTE})
        out.append({"key": key, "scope": scope, "xlsx": path, "note": note})
    with office() as session:
        for m in out:
            doc = session.open(m["xlsx"])
            try:
                names = UnoBook(doc).names()
                ind = plan.indicator("procurement_pass_rate")
                period = m["scope"].periods[0]
                sheet, row, col = names[L.input_name(ind, period, "numerator")]
                _staff_content(doc, uno, sheet, row, col)
                m["ods"] = store(doc, m["xlsx"].with_suffix(".ods"))
            finally:
                doc.close(True)
            m["before"] = m["ods"].read_bytes()
            m["native"] = m["ods"].with_name(f"{m['key']}.native.ods")
            shutil.copyfile(m["ods"], m["native"])
            done = file_engine(m["native"], now=NOW)
            assert done is not None, m["key"]  # calculated cell by cell, not through LibreOffice
            m["native_outcome"] = done
            doc = session.open(m["ods"])
            try:
                m["lo_outcome"] = calculate(UnoBook(doc), now=NOW)
            finally:
                doc.close(True)
            doc = session.open(m["native"])  # recalculated on load: every formula computed afresh
            try:
                m["relo"] = store(doc, m["native"].with_name(f"{m['key']}.relo.ods"))
            finally:
                doc.close(True)
    return out


# -- what the file keeps ---------------------------------------------------------------------------


def test_every_part_but_content_is_byte_identical(made) -> None:
    for m in made:
        with zipfile.ZipFile(m["ods"]) as a, zipfile.ZipFile(m["native"]) as b:
            assert [i.filename for i in a.infolist()] == [i.filename for i in b.infolist()], m["key"]
            changed = [i.filename for i in a.infolist() if a.read(i.filename) != b.read(i.filename)]
            assert changed == ["content.xml"], m["key"]
            # copied, not re-compressed: the same method, size and CRC as stored
            stored = [(i.filename, i.compress_type, i.compress_size, i.CRC) for i in a.infolist()]
            kept = [(i.filename, i.compress_type, i.compress_size, i.CRC) for i in b.infolist()]
            assert [x for x in stored if x[0] != "content.xml"] == [x for x in kept if x[0] != "content.xml"]


def _elements(data: bytes) -> dict[tuple[str, int, int], str]:
    """The text of each cell element in content.xml (a repeated run: each of its cells,
    without the repeat count), found independently of the patcher by an XML-level walk."""
    xml = zipfile.ZipFile(__import__("io").BytesIO(data)).read("content.xml").decode()
    tables = re.finditer(r'<table:table [^>]*?table:name="([^"]*)".*?</table:table>', xml, re.S)
    out = {}
    for t in tables:
        sheet, row = t.group(1), 1
        for r in re.finditer(r"<table:table-row(?=[\s/>])([^>]*?)>(.*?)</table:table-row>", t.group(0), re.S):
            rep_r = int((re.search(r'number-rows-repeated="(\d+)"', r.group(1)) or [0, 1])[1])
            col = 1
            cells = re.finditer(
                r"<table:(?:covered-)?table-cell(?=[\s/>])([^>]*?)(?:/>|>.*?</table:(?:covered-)?table-cell>)",
                r.group(2),
                re.S,
            )
            for c in cells:
                rep_c = int((re.search(r'number-columns-repeated="(\d+)"', c.group(1)) or [0, 1])[1])
                text = re.sub(r' table:number-columns-repeated="\d+"', "", c.group(0))
                if rep_r < 100 and rep_c < 100:
                    for dr in range(rep_r):
                        for dc in range(rep_c):
                            out[(sheet, row + dr, col + dc)] = text
                col += rep_c
            row += rep_r
    return out


def test_input_cells_are_byte_identical(made) -> None:
    for m in made:
        names = OdsBook(m["before"]).names()
        inputs = [w for n, w in names.items() if n.startswith(INPUT_PREFIXES)]
        before, after = _elements(m["before"]), _elements(m["native"].read_bytes())
        assert len(inputs) > 10 and all(w in before for w in inputs), m["key"]
        assert [w for w in inputs if before[w] != after.get(w)] == [], m["key"]
        commented = [w for w in inputs if COMMENT in before[w]]
        assert len(commented) == 1 and COMMENT in after[commented[0]], m["key"]


def test_staff_content_survives(made) -> None:
    for m in made:
        book = OdsBook(m["native"].read_bytes(), "native.ods")
        assert book.grid(STAFF_SHEET)[0][0] == "聯絡窗口：分機 1234"
        content = zipfile.ZipFile(m["native"]).read("content.xml").decode()
        assert content.count("<draw:rect") == 1 and content.count(COMMENT) == 1
        assert book.hidden_sheets() == [L.SHEET_META]


# -- what the file shows ---------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) < 1e-9
    return (a in (None, "") and b in (None, "")) or a == b


def _assert_shows_the_same(mine: Path, theirs: Path) -> int:
    """Every cell of every sheet of two .ods files holds the same value; how many are not empty."""
    a_book, b_book = OdsBook(mine.read_bytes(), mine.name), OdsBook(theirs.read_bytes(), theirs.name)
    filled = 0
    for sheet in a_book.sheet_names():
        a, b = a_book.grid(sheet), b_book.grid(sheet)
        for r in range(max(len(a), len(b))):
            ra, rb = (a[r] if r < len(a) else []), (b[r] if r < len(b) else [])
            for c in range(max(len(ra), len(rb))):
                va, vb = (ra[c] if c < len(ra) else None), (rb[c] if c < len(rb) else None)
                assert _same(va, vb), (mine.name, sheet, r + 1, c + 1, va, vb)
                filled += va not in (None, "")
    return filled


def test_libreoffice_recalculating_shows_what_the_file_shows(made) -> None:
    """Every cell of every sheet: the results written are what the formulas compute."""
    compared = 0
    for m in made:
        compared += _assert_shows_the_same(m["native"], m["relo"])
    assert compared > 1000


def test_known_answers_in_the_calculated_ods(made) -> None:
    m = next(x for x in made if x["key"] == "seed")
    book = OdsBook(m["native"].read_bytes(), "native.ods")
    plan = m["scope"].plan
    h1 = plan.period(plan.sample.period)
    values = {
        ind_id: book.grid(s)[r - 1][c - 1]
        for ind_id in ("procurement_pass_rate", "e_tender_rate", "failed_tender_rate")
        for s, r, c in [book.names()[L.result_name(plan.indicator(ind_id), h1, "value")]]
    }
    assert values == {"procurement_pass_rate": 89.05, "e_tender_rate": 100, "failed_tender_rate": 7.47}
    sentence = book.names()[L.sentence_name(plan.indicator("procurement_pass_rate"), h1)]
    assert "及格率89.05%(187人/210人)" in book.grid(sentence[0])[sentence[1] - 1][sentence[2] - 1]


def test_the_date_is_held_in_the_ods_too(made) -> None:
    m = next(x for x in made if x["key"] == "date")
    relo = OdsBook(m["relo"].read_bytes(), "relo.ods")
    plan = m["scope"].plan
    fy = plan.period("FY")
    for ind_id in DATE_ENTRIES:
        s, r, c = relo.names()[L.sentence_name(plan.indicator(ind_id), fy)]
        assert "填報數據有誤" in relo.grid(s)[r - 1][c - 1]


def test_outcome_equals_calculating_inside_libreoffice(made) -> None:
    def located(outcome):
        return sorted((f.code, f.sheet or "", f.cell or "", f.indicator or "") for f in outcome.findings)

    for m in made:
        assert located(m["native_outcome"]) == located(m["lo_outcome"]), m["key"]
        a = {(r.indicator, r.period): r.cells for r in m["native_outcome"].evaluation.results}
        b = {(r.indicator, r.period): r.cells for r in m["lo_outcome"].evaluation.results}
        assert a == b, m["key"]


# -- what only LibreOffice can do ------------------------------------------------------------------


def test_an_overwritten_formula_is_put_back_through_libreoffice(made, tmp_path) -> None:
    m = next(x for x in made if x["key"] == "seed")
    path = tmp_path / "overwritten.ods"
    shutil.copyfile(m["native"], path)
    plan = m["scope"].plan
    h1 = plan.period(plan.sample.period)
    name = L.result_name(plan.indicator("procurement_pass_rate"), h1, "value")
    where = OdsBook(path.read_bytes()).names()[name]
    path.write_bytes(_patched(path.read_bytes(), {where: 99}))
    assert file_engine(path, now=NOW) is None and path.read_bytes() != m["native"].read_bytes()
    proc = kpi("calculate", path.name, "--json", cwd=tmp_path)  # falls back to LibreOffice
    assert proc.returncode in (0, 1), proc.stderr
    book = OdsBook(path.read_bytes(), str(path), formulas_visible=True)
    s, r, c = where
    assert str(book.grid(s)[r - 1][c - 1]).startswith("=IF(")
    assert OdsBook(path.read_bytes()).grid(s)[r - 1][c - 1] == 89.05


def _patched(data: bytes, cells: dict) -> bytes:
    from workbook.formats.ods_patch import patch_ods

    return patch_ods(data, cells)


def test_a_clerks_own_password_stops_nothing(made, tmp_path) -> None:
    # Issue 22: calculate writes only the system sheet, so a clerk's own sheet password is kept.
    m = next(x for x in made if x["key"] == "seed")
    path = tmp_path / "locked.ods"
    with zipfile.ZipFile(m["ods"]) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "content.xml":
                data = data.replace(
                    f'table:name="{L.SHEET_FINDINGS}"'.encode(),
                    f'table:name="{L.SHEET_FINDINGS}" table:protection-key="bm90IHRoZSBwbGFu"'.encode(),
                )
            dst.writestr(info, data)
    proc = kpi("calculate", path.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(path) as done:
        content = done.read("content.xml")
    assert f'table:name="{L.SHEET_FINDINGS}" table:protection-key="bm90IHRoZSBwbGFu"'.encode() in content


# -- the patcher on hand-built content ------------------------------------------------------------

DOC = (
    '<office:document-content xmlns:office="o" xmlns:table="t" xmlns:text="x">'
    "<office:body><office:spreadsheet>"
    '<table:table table:name="A &amp; B" table:style-name="ta1">'
    '<table:table-column table:number-columns-repeated="4"/>'
    '<table:table-row table:style-name="ro1">'
    '<table:table-cell table:style-name="ce1" office:value-type="float" office:value="187" '
    'calcext:value-type="float"><text:p>187</text:p></table:table-cell>'
    '<table:table-cell table:number-columns-repeated="3" table:style-name="ce2"/></table:table-row>'
    '<table:table-row table:number-rows-repeated="4"><table:table-cell table:number-columns-repeated="2"/>'
    '<table:table-cell table:formula="of:=[.A1]" office:value-type="float" office:value="1">'
    "<office:annotation><text:p>staff</text:p></office:annotation><text:p>1</text:p></table:table-cell>"
    "</table:table-row>"
    "</table:table></office:spreadsheet></office:body></office:document-content>"
)


def test_patcher_splits_runs_and_keeps_the_rest() -> None:
    out = patch_content(
        DOC, {("A & B", 1, 3): "找到  2 項\n第二行", ("A & B", 3, 2): 5, ("A & B", 3, 3): Cached("x")}
    )
    assert out.startswith(DOC[: DOC.index('<table:table-cell table:number-columns-repeated="3"')])
    row1 = (
        '<table:table-cell table:style-name="ce2"/>'
        '<table:table-cell table:style-name="ce2" office:value-type="string" calcext:value-type="string">'
        "<text:p>找到 <text:s/>2 項</text:p><text:p>第二行</text:p></table:table-cell>"
        '<table:table-cell table:style-name="ce2"/>'
    )
    assert row1 in out
    # rows 2-5 were one run: row 2 stays as it was, row 3 is written, rows 4-5 stay a run of two
    assert out.count('table:number-rows-repeated="2"') == 1 and 'number-rows-repeated="4"' not in out
    assert (
        '<table:table-cell table:formula="of:=[.A1]" office:value-type="string" office:string-value="x" '
        'calcext:value-type="string"><office:annotation><text:p>staff</text:p></office:annotation>'
        "<text:p>x</text:p></table:table-cell>"
    ) in out
    assert out.count("<office:annotation>") == 3  # row 2, row 3 and the run 4-5 keep their comment


def test_patcher_adds_cells_past_a_rows_end_and_writes_what_xml_cannot_carry() -> None:
    out = patch_content(
        DOC, {("A & B", 1, 7): " 前導空白\x0b與控制字元", ("A & B", 1, 8): None, ("A & B", 1, 9): 7.5}
    )
    assert (
        '<table:table-cell table:number-columns-repeated="2"/><table:table-cell office:value-type="string" '
        'calcext:value-type="string"><text:p><text:s/>前導空白 與控制字元</text:p></table:table-cell>'
        '<table:table-cell/><table:table-cell office:value-type="float" office:value="7.5" '
        'calcext:value-type="float"><text:p>7.5</text:p></table:table-cell></table:table-row>'
    ) in out


def test_patcher_adds_rows_past_a_tables_end() -> None:
    out = patch_content(DOC, {("A & B", 8, 2): "新列", ("A & B", 9, 1): 3})
    assert (
        "</table:table-row>"  # the run of rows 2-5 as it was, then rows 6-7 empty, 8 and 9 written
        '<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>'
        '<table:table-row><table:table-cell/><table:table-cell office:value-type="string" '
        'calcext:value-type="string"><text:p>新列</text:p></table:table-cell></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="float" office:value="3" '
        'calcext:value-type="float"><text:p>3</text:p></table:table-cell></table:table-row></table:table>'
    ) in out
    assert out.startswith(DOC[: DOC.index("</table:table>")])


@pytest.mark.parametrize(
    ("doc", "cells"),
    [
        (DOC.replace("<text:p>187</text:p>", "<draw:frame/>"), {("A & B", 1, 1): 1}),  # a picture in the cell
        (re.sub(r"<table:table-row.*</table:table-row>", "", DOC), {("A & B", 1, 1): 1}),  # no rows at all
        (DOC, {("nope", 1, 1): 1}),
        (DOC, {("A & B", 1, 1): Cached(1)}),  # a cached result for a cell with no formula
        (DOC.replace('table:style-name="ce1"', "table:style-name='ce1'"), {("A & B", 1, 1): 1}),
        (DOC.replace("office:spreadsheet", "o:spreadsheet"), {("A & B", 1, 1): 1}),
    ],
)
def test_patcher_refuses_what_it_cannot_do(doc: str, cells: dict) -> None:
    with pytest.raises(OdsPatchError):
        patch_content(doc, cells)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda xml: xml.replace(b"<office:body>", b"<office:body><!-- <table:table-row> -->"), "a comment"),
        (lambda xml: xml.replace(b'office:value="187"', b'office:value="187" x="a>b"', 1), "a > in a value"),
    ],
)
def test_a_package_whose_tags_could_be_misread_is_left_to_libreoffice(made, change, why) -> None:
    """The patcher refuses what it could misread (the caller then uses LibreOffice)."""
    import io

    from workbook.formats.ods_patch import patch_ods

    m = next(x for x in made if x["key"] == "seed")
    with zipfile.ZipFile(io.BytesIO(m["before"])) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name, data in parts.items():
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            dst.writestr(name, change(data) if name == "content.xml" else data, compress_type=method)
    changed = out.getvalue()
    assert zipfile.ZipFile(io.BytesIO(changed)).read("content.xml") != parts["content.xml"], why
    plan = m["scope"].plan
    h1 = plan.period(plan.sample.period)
    sheet, row, col = OdsBook(m["before"]).names()[
        L.input_name(plan.indicator("procurement_pass_rate"), h1, "numerator")
    ]
    assert patch_ods(m["before"], {(sheet, row, col + 1): "x"})  # the row of the 187 the change edits
    with pytest.raises(OdsPatchError):
        patch_ods(changed, {(sheet, row, col + 1): "x"})


def test_an_ods_calculate_needs_no_libreoffice(made, tmp_path, monkeypatch, capsys) -> None:
    """With no LibreOffice to be found, ``kpi calculate FILE.ods`` still calculates (cell by cell)."""
    import workbook.books.uno
    import workbook.libreoffice
    from workbook.cli import main

    for module in (workbook.libreoffice, workbook.books.uno):
        monkeypatch.setattr(module, "find_soffice", lambda: None)
    m = next(x for x in made if x["key"] == "seed")
    path = tmp_path / "填報.ods"
    shutil.copyfile(m["ods"], path)
    assert main(["calculate", str(path)]) == 0
    assert "已儲存 / saved" in capsys.readouterr().out
    native, now = _elements(m["native"].read_bytes()), _elements(path.read_bytes())
    differ = {w for w in native.keys() | now.keys() if native.get(w) != now.get(w)}
    book = OdsBook(path.read_bytes())
    status, meta = book.names()[L.STATUS_NAME], book.grid(L.SHEET_META)
    stamp = next(i + 1 for i, line in enumerate(meta) if line and line[0] == "calculated_at")
    record = book.names()[L.RECORD_NAME]  # the status line calculate recorded, which `status` shows
    assert differ == {status, record, (L.SHEET_META, stamp, 2)}  # only the time of calculation


def test_collect_takes_a_cell_by_cell_ods_as_one_calculated_in_libreoffice(made, tmp_path) -> None:
    from workbook.books.uno import office, store
    from workbook.collect import collect

    m = next(x for x in made if x["key"] == "seed")
    with office() as session:  # the same file calculated inside LibreOffice, for comparison
        from workbook.books.uno import UnoBook

        doc = session.open(m["ods"])
        try:
            calculate(UnoBook(doc), now=NOW)
            in_lo = store(doc, tmp_path / "in_lo.ods")
        finally:
            doc.close(True)
    native, lo_calc = collect([m["native"]]), collect([in_lo])
    assert [s.status for s in native.submissions] == [s.status for s in lo_calc.submissions] == ["warnings"]
    rows = [[{k: v for k, v in r.items() if k != "file"} for r in c.table()] for c in (native, lo_calc)]
    assert rows[0] == rows[1] and len(rows[0]) >= 4


# -- random sequences of what staff and calculate do (issue 11, part 5, for .ods) -------------------

SEQUENCES = 6


def _typed(rng, role_cells: list[tuple[str, int, int]]) -> dict:
    """A clerk's typing: a few counts, some odd (text, negative, a fraction, blank)."""
    picks = rng.sample(role_cells, rng.randint(1, 3))
    choices = [
        lambda: rng.randint(0, 900),
        lambda: "abc",
        lambda: -rng.randint(1, 9),
        lambda: 12.5,
        lambda: None,
    ]
    return {w: rng.choice(choices)() for w in picks}


def test_random_sequences_keep_inputs_and_foreign_content(made, tmp_path) -> None:
    """Type, calculate, edit the clerk's own sheet, calculate again, in random order; then a
    re-save through LibreOffice and a last calculate.  After every calculate every zip member
    but content.xml, every input cell element and the clerk's cells are unchanged; LibreOffice,
    recalculating, shows what the file shows."""
    import random

    from workbook.books.uno import office, store
    from workbook.formats.ods_patch import patch_ods

    m = next(x for x in made if x["key"] == "seed")
    names = OdsBook(m["before"]).names()
    inputs = [w for n, w in names.items() if n.startswith(INPUT_PREFIXES)]
    counts = [w for n, w in names.items() if n.startswith("IN_")]
    files = []
    for seed in range(SEQUENCES):
        rng = random.Random(seed)
        path = tmp_path / f"seq{seed}.ods"
        shutil.copyfile(m["ods"], path)
        steps = [rng.choice(["type", "calculate", "staff"]) for _ in range(4)] + ["calculate"]
        for i, step in enumerate(steps):
            before = path.read_bytes()
            if step == "type":
                path.write_bytes(patch_ods(before, _typed(rng, counts)))
            elif step == "staff":
                path.write_bytes(patch_ods(before, {(STAFF_SHEET, 2 + i, 1): f"第 {i} 步的備註  (含空白)"}))
            else:
                done = file_engine(path, now=NOW)
                assert done is not None, (seed, steps)
                after = path.read_bytes()
                with zipfile.ZipFile(path) as z, zipfile.ZipFile(__import__("io").BytesIO(before)) as b:
                    assert [n for n in b.namelist() if b.read(n) != z.read(n)] in ([], ["content.xml"])
                old, new = _elements(before), _elements(after)
                assert [w for w in inputs if old.get(w) != new.get(w)] == [], (seed, steps)
                staff = [w for w in old if w[0] == STAFF_SHEET]
                assert [w for w in staff if old[w] != new.get(w)] == [], (seed, steps)
        files.append(path)
    with office() as session:
        for path in files:
            doc = session.open(path)  # recalculated on load
            try:
                relo = store(doc, path.with_suffix(".relo.ods"))
                resaved = store(doc, path.with_suffix(".resaved.ods"))  # the clerk saves in LibreOffice
            finally:
                doc.close(True)
            _assert_shows_the_same(path, relo)
            mine = OdsBook(path.read_bytes())
            assert file_engine(resaved, now=NOW) is not None
            again = OdsBook(resaved.read_bytes())
            for s, r, c in inputs:
                grid = mine.grid(s)
                want = grid[r - 1][c - 1] if r <= len(grid) and c <= len(grid[r - 1]) else None
                got_grid = again.grid(s)
                got = got_grid[r - 1][c - 1] if r <= len(got_grid) and c <= len(got_grid[r - 1]) else None
                assert _same(want, got), (path.name, s, r, c)
