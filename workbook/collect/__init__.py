"""``kpi collect``: read the workbooks staff send back and consolidate them.

Sources may be workbooks, folders (searched recursively), ``.zip`` archives and saved
emails (``.eml``, ``.msg``, TNEF ``winmail.dat``).  Attachments are read from memory
and never written anywhere.  Every file given, and every member or attachment found,
is listed with a classification and a reason.  Nothing submitted is trusted: every
indicator is recomputed from the submitted counts and every check runs again.

A folder is read in parallel on every core: files go to worker processes in
chunks, each worker holds one file at a time, and results come back in the order
the files were found, so the output is the same however many cores there are.

Modules: :mod:`.item` (items, limits, kinds of file), :mod:`.inbox` (folders and archives;
the one that recurses), :mod:`.mail` (emails),
:mod:`.read` (one workbook), :mod:`.text` (text made safe for cells and terminals);
the merge itself is :func:`kpi_engine.consolidate.build_ledger`.

Each return is read once.  What the summary, ``kpi report``, the archive and rollover
show all comes from the one :class:`Collection` built here (its ledger of input cells
with provenance, staff text, findings and expected returns); nothing reads a return twice.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from kpi_engine import Plan, load_plan
from kpi_engine.consolidate import RETURN_STATUSES, Cell, ItemRow, Return, Row, Submission, build_ledger
from kpi_engine.errors import KpiError
from kpi_engine.findings import Finding
from workbook.collect.inbox import expand_file, walk
from workbook.collect.item import Item
from workbook.collect.read import read_item, read_submission
from workbook.collect.text import terminal_text
from workbook.errors import os_error
from workbook.interrupts import no_interrupt

__all__ = [
    "Collection",
    "Item",
    "collect",
    "inputs_of",
    "iter_items",
    "iter_sources",
    "read_item",
    "read_submission",
    "rich_progress",
]

#: Below this many files a folder is read in this process (starting workers costs more).
PARALLEL_MIN_FILES = 24
#: Files sent to a worker at a time: large enough to amortise the round trip, small enough to balance.
CHUNK_FILES = 8


class PlanClashError(KpiError):
    """Two plans given share an id but are not the same plan."""

    code = "plan_clash"


@dataclass
class Collection:
    """Everything a collect found: every file, and the one ledger built from them."""

    plans: list[Plan]
    submissions: list[Submission] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    items: list[ItemRow] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)  # every input and text cell, with provenance
    returns: list[Return] = field(default_factory=list)  # every return the plans expect
    #: The plans were named by the user: a plan nothing came of is owed in full (not the default's).
    plans_named: bool = True

    def consolidate(self, *, due: date | None = None, today: date | None = None) -> Collection:
        """(Re)build the ledger from the submissions: rows, Part 3, cells and expected returns."""
        ledger = build_ledger(
            self.submissions, self.plans, due=due, today=today, silent_plans=self.plans_named
        )
        self.rows, self.items, self.cells, self.returns = (
            ledger.rows,
            ledger.items,
            ledger.cells,
            ledger.returns,
        )
        return self

    @property
    def missing(self) -> list[Return]:
        """Expected returns not (or not wholly) returned: 未繳, 逾期 and 部分."""
        return [r for r in self.returns if r.status != "returned"]

    @property
    def findings(self) -> list[tuple[Submission, Finding]]:
        """Every finding of every counted or duplicate file, with its file."""
        return [(s, f) for s in self.submissions for f in s.findings]

    def plan(self, plan_id: str) -> Plan:
        """A collected plan by id."""
        return next(p for p in self.plans if p.id == plan_id)

    def table(self) -> list[dict[str, Any]]:
        """The consolidated table as plain records (one per unit × indicator × period)."""
        return list(self.records())

    def records(self) -> Iterator[dict[str, Any]]:
        """:meth:`table`'s records one at a time: a writer streaming them holds one, not all."""
        known: dict[tuple[str, str, str], tuple[dict[str, Any], list[tuple[str, str, str, str]]]] = {}
        for row in self.rows:
            r = row.result
            key = (row.plan_id, r.indicator, r.period)
            if key not in known:  # what the plan says of it, the same on every unit's row
                plan = self.plan(row.plan_id)
                ind = plan.indicator(r.indicator)
                said = {
                    "owner": ind.owner,
                    "period": plan.period(r.period).name,
                    "goal": plan.goal_of(ind.id).name,
                    "indicator_id": ind.id,
                    "indicator": ind.name,
                }
                inputs = [
                    (f"input{n}_label", s.label, f"input{n}", s.role) for n, s in enumerate(ind.inputs, 1)
                ]
                known[key] = (said, inputs)
            said, inputs = known[key]
            rec: dict[str, Any] = {"plan": row.plan_id, "year": row.year, "unit": row.unit, **said}
            for label_key, label, value_key, role in inputs:
                rec[label_key] = label
                rec[value_key] = _plain(r.inputs.get(role))
            rec.update(
                value=_plain(r.value),
                target=r.target,
                achieved=r.achieved,
                # 達成情形 as the workbook shows it: also 符合進度/進度落後 before year end, 資料有誤.
                achieved_text=str(r.cells.get("achieved") or ""),
                achievement_rate=_plain(r.achievement_rate),
                light=r.light,
                at_risk=r.at_risk,
                projection=_plain(r.projection),
                sentence=r.sentence,
                note=row.note,
                file=row.source,
            )
            yield rec

    def item_table(self) -> list[dict[str, Any]]:
        """Part 3 (重要施政計畫) as plain records: unit × item × period with staff's progress and text."""
        out = []
        for row in self.items:
            plan = self.plan(row.plan_id)
            found = [(w, i) for w in plan.work_plans for i in w.items if i.id == row.item]
            work, item = found[0] if found else (None, None)
            out.append(
                {
                    "plan": row.plan_id,
                    "year": row.year,
                    "unit": row.unit,
                    "period": plan.period(row.period).name,
                    "work_plan": work.name if work else "",
                    "item_id": row.item,
                    "item": f"{item.number}. {item.name}" if item else row.item,
                    "progress": _progress(row.progress),
                    "description": row.description,
                    "file": row.source,
                }
            )
        return out

    def return_table(self) -> list[dict[str, Any]]:
        """Every expected return (unit × section × period) with 已繳, 部分, 未繳 or 逾期."""
        return list(self.return_records())

    def return_records(self) -> Iterator[dict[str, Any]]:
        """:meth:`return_table`'s records one at a time (a writer streaming them holds one)."""
        for r in self.returns:
            plan = self.plan(r.plan_id)
            yield {
                "plan": r.plan_id,
                "year": r.year,
                "period": plan.period(r.period).name if r.period else "",
                "unit": r.unit,
                "owner": r.owner,
                "status": r.status,
                "status_zh": RETURN_STATUSES[r.status],
                "indicators": [plan.indicator(i).name for i in r.indicators],
                "blank": [plan.indicator(i).name for i in r.blank],
                "weight": _plain(r.weight),
                "files": list(r.sources),
            }

    def cell_table(self) -> list[dict[str, Any]]:
        """The ledger: every winning cell, its file and time, and what it replaced."""
        return [
            {
                "plan": c.plan_id,
                "year": c.year,
                "unit": c.unit,
                "period": c.period,
                "field": c.field,
                "target": c.target,
                "input": c.role,
                "value": _cell_value(c.value),
                "file": c.source,
                "time": c.when,
                "replaced": _cell_value(c.replaced),
                "replaced_file": c.replaced_source,
            }
            for c in self.cells
        ]

    def dataframe(self):
        """The consolidated table as a pandas DataFrame, for analysts."""
        import pandas as pd  # only analysts pay for pandas

        return pd.DataFrame.from_records(self.table())

    def items_dataframe(self):
        """Part 3 as a pandas DataFrame, for analysts."""
        import pandas as pd

        return pd.DataFrame.from_records(self.item_table())

    def file_table(self) -> list[dict[str, Any]]:
        """Every file, member and attachment found, with its classification and reason."""
        return [
            {
                "source": s.source,
                "sha256": s.sha256,
                "status": s.status,
                "reason": s.reason,
                "plan": s.plan_id,
                "unit": s.unit,
                "owner": s.owner,
                "period": s.period,
                "calculated_at": s.calculated_at,
                "saved_at": s.saved_at,
                "sent_at": s.sent_at,
                "sent_shown": s.sent_shown,
                "mtime": s.mtime,
            }
            for s in self.submissions
        ]

    def to_dict(self) -> dict:
        """JSON-ready summary: files, rows, Part 3 items, findings, expected returns, the cells."""
        return {
            "files": self.file_table(),
            "rows": self.table(),
            "items": self.item_table(),
            "findings": [{"file": s.source, **f.to_dict()} for s, f in self.findings],
            "returns": self.return_table(),
            "cells": self.cell_table(),
        }


def _progress(v: Any) -> Any:
    """執行進度 as typed: a whole number stays whole (calamine reads every number as a float)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return _plain(v) if hasattr(v, "to_integral_value") else v


def _cell_value(v: Any) -> Any:
    """A cell's value for JSON: numbers plain, text as typed."""
    return v if isinstance(v, str) else _plain(v)


def _plain(d: Any) -> Any:
    if d is None:
        return None
    if isinstance(d, (int, float)):
        return d
    return int(d) if d == d.to_integral_value() else float(d)


# -- reading ------------------------------------------------------------------------------


def iter_items(paths: Iterable[str | Path]) -> Iterator[Item]:
    """Every item under ``paths`` in order: workbooks as bytes, everything else classified."""
    for task in walk(paths):
        if isinstance(task, Item):
            yield task
        else:
            yield from expand_file(*task)


def iter_sources(paths: Iterable[str | Path]) -> Iterator[tuple[str, bytes]]:
    """``(label, bytes)`` of every workbook under ``paths``, labelled as in :func:`collect`."""
    for item in iter_items(paths):
        if item.data is not None:
            yield item.label, item.data


def inputs_of(paths: Iterable[str | Path]) -> list[Path]:
    """Every file on disk a collect of ``paths`` reads (an output must be none of them)."""
    return [t[0] for t in walk(paths) if not isinstance(t, Item)]


def require_inputs(paths: Iterable[str | Path]) -> None:
    """Refuse, before any work, inputs that do not exist (every one named, as the OS would say)."""
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        names = ", ".join(terminal_text(str(p)) for p in missing)
        raise os_error(
            FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT)),
            names,
            ("無法讀取檔案", "cannot read the file"),
        )


_plans: list[Plan] = []


def _init_worker(plans: list[Plan]) -> None:
    global _plans
    _plans = plans
    # Ctrl-C reaches the whole process group: the parent stops the collect and says so
    # (kpi's one handler); a worker printing its own KeyboardInterrupt would be a traceback.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_task(task: tuple[Path, str] | Item, plans: list[Plan]) -> list[Submission]:
    if isinstance(task, Item):
        return [_slim(read_item(task, plans))]
    out = []
    try:
        for item in expand_file(*task):
            out.append(_slim(read_item(item, plans)))
    except Exception as exc:  # a last resort: one bad container must never stop a collect
        reason = f"無法讀取（{type(exc).__name__}）/ cannot read: {type(exc).__name__}: {exc}"[:500]
        out.append(read_item(Item(task[1], status="unreadable", reason=reason), plans))
    return out


def _read_chunk(chunk: list[tuple[Path, str] | Item]) -> list[list[Submission]]:
    return [_read_task(task, _plans) for task in chunk]


def _slim(sub: Submission) -> Submission:
    """Drop what consolidation never needs (each step's cell value but 達成情形), so results stay small."""
    # 達成情形 as shown (符合進度, 進度落後, 目標值待設定) is a word the summary prints; the rest is not read
    sub.results = [replace(r, cells={"achieved": r.cells.get("achieved", "")}) for r in sub.results]
    return sub


def _stream(tasks: list, plans: list[Plan], workers: int) -> Iterator[list[Submission]]:
    if workers <= 1 or len(tasks) < PARALLEL_MIN_FILES:
        for task in tasks:
            yield _read_task(task, plans)
        return
    chunks = [tasks[i : i + CHUNK_FILES] for i in range(0, len(tasks), CHUNK_FILES)]
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(plans,))
    try:
        # map keeps the order of the chunks, so the output does not depend on the cores
        for done in pool.map(_read_chunk, chunks):
            yield from done
    except BaseException:  # Ctrl-C or a failure: drop the chunks not started; workers end their own
        # …and wait for them with Ctrl-C ignored: a second one cut into the pool's shutdown and
        # left a worker waiting for ever on the queue's lock (and kpi hanging at exit).
        with no_interrupt():
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()


def check_plans(plans: list[Plan]) -> None:
    """Refuse two different plans sharing one id: their returns could not be told apart."""
    seen: dict[str, Plan] = {}
    for plan in plans:
        other = seen.setdefault(plan.id, plan)
        if other is not plan and other.fingerprint != plan.fingerprint:
            a, b = other.source or other.agency, plan.source or plan.agency
            raise PlanClashError(
                f"兩個計畫使用相同代碼 {plan.id}（{a}；{b}），請修改其中一個計畫的 id 後重新產生範本",
                f"two plans share the id {plan.id} ({a}; {b}); give one of them another id",
                code="plan_clash",
            )


def collect(
    paths: Iterable[str | Path],
    plans: list[Plan] | None = None,
    *,
    progress: Callable[[Iterable], Iterable] | None = None,
    workers: int | None = None,
    due: date | None = None,
) -> Collection:
    """Read every workbook under ``paths`` once, recompute, classify and build the ledger.

    ``plans`` defaults to the embedded plan.  ``progress`` wraps the stream of
    ``(label, submission)`` pairs (e.g. :func:`rich_progress`).  ``workers`` is the
    number of processes (default: every core; 1 reads in this process).  ``due``: the
    date returns were due (a return still missing after it is 逾期).
    """
    check_plans(plans or [])
    given = list({p.fingerprint: p for p in plans or []}.values())  # one plan given twice counts once
    coll = Collection(given or [load_plan()], plans_named=bool(given))
    plans = coll.plans
    tasks = list(walk(paths))
    workers = workers if workers is not None else (os.cpu_count() or 1)
    stream: Iterable[tuple[str, Submission]] = (
        (sub.source, sub) for subs in _stream(tasks, plans, workers) for sub in subs
    )
    if progress is not None:
        stream = progress(stream)
    for _, sub in stream:
        coll.submissions.append(sub)
    return coll.consolidate(due=due)


def rich_progress(stream: Iterable) -> Iterable:
    """A progress bar on a terminal; a line per 100 files otherwise (both on stderr)."""
    if not sys.stderr.isatty():
        return _progress_lines(stream)
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    def run() -> Iterator:
        console = Console(stderr=True)
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), transient=True, console=console
        ) as bar:
            task = bar.add_task("讀取中 / reading", total=None)
            for n, item in enumerate(stream, start=1):
                name = terminal_text(Path(str(item[0])).name).replace("[", "\\[")
                bar.update(task, description=f"讀取中 / reading {n}: {name}")
                yield item

    return run()


#: Without a terminal, a line on stderr every this many files.
PROGRESS_EVERY = 100


def _progress_lines(stream: Iterable) -> Iterator:
    n = 0
    for n, item in enumerate(stream, start=1):
        if n % PROGRESS_EVERY == 0:
            print(f"已讀取 {n} 個檔案 / {n} files read", file=sys.stderr, flush=True)
        yield item
