"""Staff's own text (補充說明, 執行進度, 執行情形) of the files a collect counted.

Until collect carries staff text in its rows, :func:`staff_text` reads it from the
winning files' named cells (NOTE_*, PROG_*, DESC_*) itself; it is the one function to
swap when collect does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from kpi_engine.checks import parse_count
from kpi_engine.consolidate import COUNTED, Submission
from workbook.books.calamine import CalamineBook
from workbook.collect import Collection, iter_sources
from workbook.form import layout as L
from workbook.form.book import Book
from workbook.form.calculate import resolve_scope
from workbook.formats.files import WorkbookFileError

#: (plan id, unit, year, period id) — one unit's report of one period.
Key = tuple[str, str, int, str]


@dataclass
class StaffText:
    """What staff wrote for one unit and period."""

    notes: dict[str, str] = field(default_factory=dict)  # indicator id → 補充說明
    progress: dict[str, tuple[Decimal | None, str]] = field(
        default_factory=dict
    )  # item id → (執行進度, 執行情形)


def read_staff_text(book: Book, plans: list) -> tuple[L.Scope, dict[str, StaffText]]:
    """Staff text of one workbook, per period id (blank cells left out)."""
    scope, _ = resolve_scope(book, plans)
    names = book.names()
    grids: dict[str, list] = {}

    def value(name: str):
        if name not in names:
            return None
        sheet, row, col = names[name]
        if sheet not in grids:
            grids[sheet] = book.grid(sheet)
        grid = grids[sheet]
        if row - 1 < len(grid) and col - 1 < len(grid[row - 1]):
            return grid[row - 1][col - 1]
        return None

    out: dict[str, StaffText] = {}
    for p in scope.periods:
        text = StaffText()
        for ind in scope.indicators:
            note = value(L.notes_name(ind, p))
            if note is not None and str(note).strip():
                text.notes[ind.id] = str(note).strip()
        for item in scope.items:
            prog, _ = parse_count(value(L.progress_name(item, p)))
            desc = value(L.progress_text_name(item, p))
            desc = "" if desc is None else str(desc).strip()
            if prog is not None or desc:
                text.progress[item.id] = (prog, desc)
        out[p.id] = text
    return scope, out


def per_file_text(
    coll: Collection, paths: Iterable[str | Path]
) -> Iterator[tuple[Submission, L.Scope, dict[str, StaffText]]]:
    """(submission, scope, staff text per period id) of every counted or superseded file."""
    wanted = {s.source: s for s in coll.submissions if s.status in COUNTED or s.status == "duplicate"}
    for label, data in iter_sources(paths):
        sub = wanted.get(label)
        if sub is None or not isinstance(data, bytes) or hashlib.sha256(data).hexdigest() != sub.sha256:
            continue
        try:
            scope, by_period = read_staff_text(CalamineBook(data, label), coll.plans)
        except WorkbookFileError:
            continue
        yield sub, scope, by_period


def staff_text(coll: Collection, paths: Iterable[str | Path]) -> dict[Key, StaffText]:
    """Staff text per unit and period, from the files whose rows the collect kept.

    A note follows its indicator's winning file; Part 3 text comes from the newest
    counted file of the unit that has any (files are visited in collect's order).
    """
    winners = {(r.plan_id, r.unit, r.year, r.result.period, r.result.indicator): r.source for r in coll.rows}
    found: dict[Key, StaffText] = {}
    for sub, scope, by_period in per_file_text(coll, paths):
        label = sub.source
        for pid, text in by_period.items():
            key = (scope.plan.id, sub.unit, scope.year, pid)
            into = found.setdefault(key, StaffText())
            for ind_id, note in text.notes.items():
                if winners.get((*key, ind_id)) == label:
                    into.notes[ind_id] = note
            if sub.status in COUNTED:
                into.progress.update(text.progress)
    return found
