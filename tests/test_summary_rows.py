"""The summary's table rows, written as sheet XML in one piece (``report/summary_rows``), are
XlsxWriter's own cell-by-cell writing byte for byte, and read back cell for cell (issue 24).

The reference is XlsxWriter writing every cell itself (``TableRows._by_cell``: ``put`` per
cell, as the summary was written before), run on the same collection in the same process.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from collect_corpus import build_corpus
from python_calamine import CalamineWorkbook

from kpi_engine.consolidate import ItemRow
from workbook.collect import Collection, collect
from workbook.collect.text import cell_text
from workbook.report import summary, summary_rows
from workbook.report.summary_style import Formats

#: Staff text as it arrives: white space at the ends, controls pasted from Word, XML's own
#: characters, Excel's escape written out, a formula, lone surrogates, non-characters, emoji.
TEXTS = [
    " 前有空白",
    "後有空白 ",
    "\u3000全形空白開頭",
    "結尾換行\n",
    "中間\t定位",
    "歸位\r字元",
    "_x0041_ 是 Excel 的跳脫寫法",
    "a & b < c > d \"q\" 's'",
    '=HYPERLINK("http://example.com","點我")',
    "Word 的換行\x0b第二行",
    "響鈴\x07字元",
    "孤立代理\ud800字元",
    "非字元\ufffe\uffff",
    "表情 😀",
    "多行\n第二行\n第三行，很長很長很長很長很長很長很長很長很長很長很長很長很長很長",
    "_x005F_x0041_",
]
#: Values of every kind a table row may hold.
VALUES = [
    None,
    "",
    0,
    -0.0,
    1,
    107,
    Decimal("1.10"),
    Decimal("89.04761904761905"),
    0.1 + 0.2,
    1e20,
    2.5e-7,
    True,
    False,
    float("inf"),
    float("-inf"),
    datetime(2019, 1, 8, 9, 0),
]


def by_xlsxwriter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every row written cell by cell by XlsxWriter itself (the reference)."""
    monkeypatch.setattr(summary_rows.TableRows, "write", summary_rows.TableRows._by_cell)


def members(path: Path) -> dict[str, bytes]:
    """Every part of the package but its creation time."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def cells(path: Path) -> dict[str, list[list]]:
    """Every cell of every sheet, as python-calamine reads them."""
    wb = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    return {n: wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names}


def table(path: Path, rows: list[list]) -> Path:
    """A workbook of one summary table sheet holding ``rows``."""
    columns = [(f"欄{i}", w) for i, w in enumerate([6, 9, 16, 40, 10, 24, 8, 34][: len(rows[0])])]
    wb = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )
    summary._table_sheet(wb, Formats(wb), "表", "標題", columns, rows)
    wb.close()
    return path


@pytest.fixture(scope="module")
def coll(tmp_path_factory) -> Collection:
    """The collect corpus with both plans, staff's notes replaced by the texts above."""
    corpus = build_corpus(tmp_path_factory.mktemp("rows") / "收件")
    coll = collect([corpus.root], [corpus.plans["default"], corpus.plans["custom"]])
    assert len(coll.rows) > len(TEXTS) and coll.returns and coll.findings
    notes = TEXTS * 3
    coll.rows = [replace(row, note=notes[k]) if k < len(notes) else row for k, row in enumerate(coll.rows)]
    plan = corpus.plans["default"]
    items = [i for w in plan.work_plans for i in w.items]
    progress = [None, 0, 35.5, 100, Decimal("12.5"), "約五成"]
    coll.items = [  # Part 3 as staff type it (the corpus returns hold none)
        ItemRow(
            plan.id,
            "秘書處第一科",
            plan.year,
            "H1",
            item.id,
            progress[k % len(progress)],
            text,
            "收件/a.xlsx",
        )
        for k, (item, text) in enumerate(zip(items, TEXTS * 3, strict=False))
    ]
    return coll


def test_every_kind_of_value_is_written_as_xlsxwriter_writes_it(tmp_path, monkeypatch) -> None:
    rows = [[v, t, v, t] for v in VALUES for t in TEXTS]
    rows.append(["😀" * 17_000, "超長", None, 1])  # over XlsxWriter's 32,767: cut, by XlsxWriter
    fast = table(tmp_path / "fast.xlsx", rows)
    by_xlsxwriter(monkeypatch)
    slow = table(tmp_path / "slow.xlsx", rows)
    assert members(fast) == members(slow)
    got = cells(fast)["表"]
    assert got[2 + TEXTS.index(" 前有空白")][1] == " 前有空白"
    assert got[2 + TEXTS.index("響鈴\x07字元")][1] == cell_text("響鈴\x07字元") == "響鈴\ufffd字元"
    assert got[2 + TEXTS.index("_x0041_ 是 Excel 的跳脫寫法")][1] == "_x0041_ 是 Excel 的跳脫寫法"


def test_the_summary_is_xlsxwriters_own_bytes_and_reads_the_same(coll, tmp_path, monkeypatch) -> None:
    fast = summary.write_summary(coll, tmp_path / "fast.xlsx")
    with monkeypatch.context() as m:
        by_xlsxwriter(m)
        slow = summary.write_summary(coll, tmp_path / "slow.xlsx")
    assert members(fast) == members(slow)
    read = cells(fast)
    assert read == cells(slow)
    assert set(read) == {"彙總", "達成情形", "重要施政計畫", "繳交情形", "檢核", "檔案", "圖表"}
    notes = [line[16] for line in read["彙總"][2:]]
    # as typed, but where calamine reads Excel's escapes its own way (U+FFFE stored as _xFFFE_,
    # a typed _x005F_x0041_ as _x005F_x005F_x0041_: both are in the byte comparison above)
    plain = [k for k, t in enumerate(TEXTS) if "\ufffe" not in t and "_x005F" not in t]
    assert [notes[k] for k in plain] == [cell_text(TEXTS[k]) for k in plain]
    assert len(read["彙總"]) == len(coll.rows) + 2


def test_text_that_reads_like_rich_text_xml_is_text(tmp_path, monkeypatch) -> None:
    """XlsxWriter copies a string ``<r>…</r>`` into the sheet as rich-text XML, unescaped: a note
    typed so was lost (read back blank; Excel calls the file damaged).  It is text, like any note."""
    rows = [["<r>不是格式</r>", 1], ["<r><t>也不是</t></r>", 2]]
    got = cells(table(tmp_path / "s.xlsx", rows))["表"]
    assert [line[0] for line in got[2:]] == ["<r>不是格式</r>", "<r><t>也不是</t></r>"]
    by_xlsxwriter(monkeypatch)
    lost = cells(table(tmp_path / "xlsxwriter.xlsx", rows))["表"]
    assert [line[0] for line in lost[2:]] != ["<r>不是格式</r>", "<r><t>也不是</t></r>"]
