"""``kpi collect``: read the workbooks staff send back and consolidate them.

Sources may be workbooks, folders (searched recursively), ``.zip`` archives and saved
emails (``.eml`` with the standard library, ``.msg`` with extract-msg).  Attachments
are read from memory and never written anywhere.  Nothing submitted is trusted:
every indicator is recomputed from the submitted counts and every check runs again.
Files are read one at a time, so memory stays flat however many there are.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpi_engine import Plan, load_plan
from kpi_engine.consolidate import Row, Submission, consolidate
from kpi_engine.findings import Finding, finding

from . import layout as L
from .calculate import calculate, read_meta
from .fastread import CalamineBook
from .files import DamagedFileError, WorkbookFileError

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
CONTAINER_SUFFIXES = (".zip", ".eml", ".msg")
#: An attachment or archive member larger than this is not a staff workbook.
MAX_MEMBER_BYTES = 50 * 1024 * 1024


@dataclass
class Collection:
    """Everything a collect found: every file, and the consolidated rows."""

    plans: list[Plan]
    submissions: list[Submission] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    @property
    def findings(self) -> list[tuple[Submission, Finding]]:
        """Every finding of every counted or duplicate file, with its file."""
        return [(s, f) for s in self.submissions for f in s.findings]

    def plan(self, plan_id: str) -> Plan:
        """A collected plan by id."""
        return next(p for p in self.plans if p.id == plan_id)

    def table(self) -> list[dict[str, Any]]:
        """The consolidated table as plain records (one per unit × indicator × period)."""
        out = []
        for row in self.rows:
            plan = self.plan(row.plan_id)
            ind = plan.indicator(row.result.indicator)
            r = row.result
            rec: dict[str, Any] = {
                "plan": row.plan_id,
                "year": row.year,
                "unit": row.unit,
                "owner": ind.owner,
                "period": plan.period(r.period).name,
                "goal": plan.goal_of(ind.id).name,
                "indicator_id": ind.id,
                "indicator": ind.name,
            }
            for n, spec in enumerate(ind.inputs, start=1):
                rec[f"input{n}_label"] = spec.label
                rec[f"input{n}"] = _plain(r.inputs.get(spec.role))
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
                file=row.source,
            )
            out.append(rec)
        return out

    def dataframe(self):
        """The consolidated table as a pandas DataFrame, for analysts."""
        import pandas as pd  # only analysts pay for pandas

        return pd.DataFrame.from_records(self.table())

    def to_dict(self) -> dict:
        """JSON-ready summary: files with their classification, rows, findings."""
        return {
            "files": [
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
                }
                for s in self.submissions
            ],
            "rows": self.table(),
            "findings": [{"file": s.source, **f.to_dict()} for s, f in self.findings],
        }


def _plain(d: Any) -> Any:
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


# -- sources --------------------------------------------------------------------------


def iter_sources(paths: Iterable[str | Path]) -> Iterator[tuple[str, bytes | Exception]]:
    """Yield ``(label, bytes)`` for every workbook found, or ``(label, error)``."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # Labels name the folder given and the path inside it: short, and still unambiguous.
            top = path.resolve().name
            for child in sorted(path.rglob("*")):
                if child.name.startswith("~$"):  # Excel's lock file of a workbook someone has open
                    continue
                if child.is_file() and child.suffix.lower() in WORKBOOK_SUFFIXES + CONTAINER_SUFFIXES:
                    yield from _from_file(child, f"{top}/{child.relative_to(path).as_posix()}")
        else:
            yield from _from_file(path, str(path))


def _from_file(path: Path, label: str) -> Iterator[tuple[str, bytes | Exception]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield label, exc
        return
    suffix = path.suffix.lower()
    if suffix == ".zip":
        yield from _from_zip(label, data)
    elif suffix == ".eml":
        yield from _from_eml(label, data)
    elif suffix == ".msg":
        yield from _from_msg(label, path)
    else:
        yield label, data


def _wanted(name: str) -> bool:
    return name.lower().endswith((*WORKBOOK_SUFFIXES, ".zip"))


def _nested(label: str, name: str, data: bytes) -> Iterator[tuple[str, bytes | Exception]]:
    inner = f"{label} › {name}"
    if name.lower().endswith(".zip"):
        yield from _from_zip(inner, data, depth=1)
    else:
        yield inner, data


def _from_zip(label: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, bytes | Exception]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [i for i in archive.infolist() if not i.is_dir() and _wanted(i.filename)]
    except (zipfile.BadZipFile, OSError) as exc:
        yield label, exc
        return
    for info in members:
        member = f"{label} › {info.filename}"
        if info.file_size > MAX_MEMBER_BYTES:
            yield member, ValueError(f"member too large: {info.file_size} bytes")
        elif info.filename.lower().endswith(".zip") and depth:
            yield member, ValueError("nested archives deeper than one level are not read")
        else:
            try:
                yield from _nested(label, info.filename, archive.read(info))
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                yield member, exc


def _from_eml(label: str, data: bytes) -> Iterator[tuple[str, bytes | Exception]]:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    for part in msg.iter_attachments():
        name = part.get_filename() or ""
        if _wanted(name):
            payload = part.get_content()
            yield from _nested(label, name, payload if isinstance(payload, bytes) else payload.encode())


def _from_msg(label: str, path: Path) -> Iterator[tuple[str, bytes | Exception]]:
    try:
        import extract_msg

        msg = extract_msg.openMsg(str(path))
    except Exception as exc:  # extract-msg raises its own types for a bad file
        yield label, exc
        return
    try:
        for att in msg.attachments:
            name = getattr(att, "longFilename", None) or getattr(att, "shortFilename", None) or ""
            data = getattr(att, "data", None)
            if _wanted(name) and isinstance(data, bytes):
                yield from _nested(label, name, data)
    finally:
        msg.close()


# -- reading one workbook ---------------------------------------------------------------


def read_submission(label: str, data: bytes | Exception, plans: list[Plan]) -> Submission:
    """Read, recompute and classify one submitted workbook. Never raises for a bad file."""
    try:
        return _read_submission(label, data, plans)
    except Exception as exc:  # a last resort: one bad file must never stop a collect
        sub = Submission(label, hashlib.sha256(data).hexdigest() if isinstance(data, bytes) else "", 0)
        sub.status = "unreadable"
        sub.reason = f"無法讀取（{type(exc).__name__}）/ cannot read: {type(exc).__name__}: {exc}"[:500]
        return sub


def _read_submission(label: str, data: bytes | Exception, plans: list[Plan]) -> Submission:
    if isinstance(data, Exception):
        return Submission(label, "", 0, "unreadable", f"無法讀取 / cannot read: {data}")
    sub = Submission(label, hashlib.sha256(data).hexdigest(), len(data))
    try:
        book = CalamineBook(data, label)
    except WorkbookFileError as exc:
        sub.status, sub.reason = "unreadable", f"{exc.message_zh} / {exc.message_en}"
        return sub
    try:
        meta = read_meta(book)
    except WorkbookFileError as exc:
        sub.status = "unreadable" if isinstance(exc, DamagedFileError) else "foreign"
        sub.reason = f"{exc.message_zh} / {exc.message_en}"
        return sub
    sub.plan_id = str(meta.get("plan_id") or "")
    sub.fingerprint = str(meta.get("plan_fingerprint") or "")
    sub.unit, sub.owner = str(meta.get("unit") or ""), str(meta.get("owner") or "")
    sub.period = str(meta.get("period") or "")
    # Stamps were once written with "T"; a spreadsheet may also hand one back as a datetime.
    sub.calculated_at = str(meta.get("calculated_at") or "").replace("T", " ")
    plan = next((p for p in plans if p.fingerprint == sub.fingerprint), None)
    if str(meta.get("template_version")) != L.TEMPLATE_VERSION:
        version = meta.get("template_version")
        sub.status = "outdated"
        sub.reason = f"範本版本 {version}，現行 {L.TEMPLATE_VERSION} / template version {version}, current {L.TEMPLATE_VERSION}"
        return sub
    if plan is None:
        known = any(p.id == sub.plan_id for p in plans)
        sub.status = "outdated" if known else "unknown_plan"
        sub.reason = (
            f"計畫 {sub.plan_id} 的範本已更新，請改用新範本 / the plan's template has changed"
            if known
            else f"計畫 {sub.plan_id} 不在本次彙整範圍 / plan not among those given"
        )
        return sub
    try:
        outcome = calculate(book, plans=[plan], write=False)
    except WorkbookFileError as exc:
        sub.status, sub.reason = "errors", f"{exc.message_zh} / {exc.message_en}"
        sub.findings = [
            Finding(
                "unusable", "error", None, None, None, exc.message_zh, exc.message_en, exc.sheet, exc.cell
            )
        ]
        return sub
    sub.year = outcome.scope.year
    reported = {r.period for r in outcome.evaluation.results if any(v is not None for v in r.inputs.values())}
    sub.results = [r for r in outcome.evaluation.results if r.period in reported]
    sub.findings = outcome.findings
    if not reported:
        sub.findings.append(finding("no_data", indicator=None, input=None, period=None))
    sub.classify()
    return sub


def collect(
    paths: Iterable[str | Path],
    plans: list[Plan] | None = None,
    *,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> Collection:
    """Read every workbook under ``paths``, recompute, classify and consolidate.

    ``plans`` defaults to the embedded plan.  ``progress`` wraps the stream of
    files (e.g. a rich progress bar).
    """
    plans = plans or [load_plan()]
    coll = Collection(plans)
    stream: Iterable[tuple[str, bytes | Exception]] = iter_sources(paths)
    if progress is not None:
        stream = progress(stream)
    for label, data in stream:
        coll.submissions.append(read_submission(label, data, plans))
    coll.rows = consolidate(coll.submissions, plans)
    return coll


def rich_progress(stream: Iterable) -> Iterable:
    """A progress bar on a terminal; nothing when output is piped."""
    if not sys.stderr.isatty():
        return stream
    from rich.progress import Progress, SpinnerColumn, TextColumn

    def run() -> Iterator:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True) as bar:
            task = bar.add_task("讀取中 / reading", total=None)
            for n, item in enumerate(stream, start=1):
                bar.update(task, description=f"讀取中 / reading {n}: {Path(str(item[0])).name}")
                yield item

    return run()
