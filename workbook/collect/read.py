"""Reading one submitted workbook: classify, recompute, and keep staff's own text.

Nothing submitted is trusted: every indicator is recomputed from the counts and
every check runs again.  Besides the counts we keep what staff wrote (補充說明,
重要施政計畫 執行進度 and 執行情形), the workbook's own saved time (which decides
the newest version) and which program saved it last (which decides whether its
cached results can be compared at all).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import datetime, timedelta, timezone
from typing import Any
from xml.etree import ElementTree as _StdElementTree

from defusedxml import ElementTree

from kpi_engine import Plan
from kpi_engine.consolidate import Submission
from kpi_engine.findings import Finding, finding
from workbook.books.calamine import CalamineBook
from workbook.books.ods import OdsBook
from workbook.collect.item import Item, split_sent
from workbook.form import layout as L
from workbook.form.book import at, parse_address
from workbook.form.calculate import calculate, read_meta
from workbook.formats.files import DamagedFileError, UnsupportedFormatError, WorkbookFileError
from workbook.formats.guard import inspect, use_zlib_ng

_MODIFIED = re.compile(rb"<dcterms:modified[^>]*>([^<]{10,40})</dcterms:modified>")
#: An ODF package's saved time (meta.xml): local time, often without a zone.
_ODF_SAVED = re.compile(rb"<dc:date>([^<]{10,40})</dc:date>")
#: A naive ODF time is taken in the coordinator's zone (LibreOffice writes local time).
_TAIPEI = timezone(timedelta(hours=8))
_ISO = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,]\d+)?(Z|[+-]\d\d:\d\d)?$")
#: Metadata parts read for the saved time and producer are small; a bigger one is not read.
MAX_PROPS_BYTES = 256 * 1024

use_zlib_ng()  # collect guards many packages: its faster inflating pays for its loading


def read_item(item: Item, plans: list[Plan]) -> Submission:
    """One inbox item as a classified submission. Never raises for a bad file."""
    if item.data is None:
        sub = Submission(item.label, "", 0, item.status or "unreadable", item.reason)
    else:
        sub = read_submission(item.label, item.data, plans)
    (sub.sent_at, sub.sent_shown), sub.mtime = split_sent(item.sent_at), item.mtime
    return sub


def read_submission(label: str, data: bytes | Exception, plans: list[Plan]) -> Submission:
    """Read, recompute and classify one submitted workbook. Never raises for a bad file."""
    try:
        return _read(label, data, plans)
    except Exception as exc:  # a last resort: one bad file must never stop a collect
        sub = Submission(label, hashlib.sha256(data).hexdigest() if isinstance(data, bytes) else "", 0)
        sub.status = "unreadable"
        sub.reason = f"無法讀取（{type(exc).__name__}）/ cannot read: {type(exc).__name__}: {exc}"[:500]
        return sub


def _refused(sub: Submission, exc: WorkbookFileError) -> Submission:
    """``sub`` classified by the guard's refusal: a format we do not read, or unreadable."""
    sub.status = "unsupported" if isinstance(exc, UnsupportedFormatError) else "unreadable"
    sub.reason = f"{exc.message_zh} / {exc.message_en}"
    return sub


def package_props(data: bytes, kept: dict[str, bytes] | None = None) -> tuple[str, str, str]:
    """(saved time, producer, producer version) from a package's small parts.

    ``kept``: those parts as the guard kept them (:data:`workbook.formats.guard.KEPT_PARTS`);
    without it they are read from ``data``.
    """
    try:
        parts = kept if kept is not None else _small_parts(data)
    except Exception:  # the guard reports a damaged package in its own words
        return "", "", ""
    saved = app = version = ""
    core, props = parts.get("docProps/core.xml"), parts.get("docProps/app.xml")
    if core is not None and len(core) < MAX_PROPS_BYTES:
        m = _MODIFIED.search(core)
        if m:
            saved = m.group(1).decode("ascii", "replace").strip().replace("T", " ").rstrip("Z")[:19]
    if props is not None and len(props) < MAX_PROPS_BYTES:
        app, version = _producer(props, vouched=kept is not None)
    return saved, app, version


def _producer(props: bytes, *, vouched: bool) -> tuple[str, str]:
    """(Application, AppVersion) of app.xml; ("", "") for a damaged one.

    ``vouched``: the guard has read this part and refused any DTD in it, so there is no
    entity to expand and the standard library's parser is as safe as defusedxml's wrapper
    around it, at a quarter of the cost (it was a twentieth of a return's read).
    """
    try:
        root = (_StdElementTree if vouched else ElementTree).fromstring(props)
    except Exception:  # a producer's damaged app.xml says nothing about the numbers
        return "", ""
    app = version = ""
    for el in root:
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "Application":
            app = (el.text or "").strip()
        elif tag == "AppVersion":
            version = (el.text or "").strip()
    return app, version


def odf_saved(data: bytes) -> str:
    """An .ods's saved time (``meta.xml`` ``dc:date``) in UTC, as :func:`package_props` gives an .xlsx's."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            info = z.getinfo("meta.xml")
            if info.file_size >= MAX_PROPS_BYTES:
                return ""
            m = _ODF_SAVED.search(z.read(info))
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, ValueError):
        return ""
    if not m:
        return ""
    parts = _ISO.match(m.group(1).decode("ascii", "replace").strip())
    if not parts:
        return ""
    zone = parts.group(2) or ""
    try:
        when = datetime.fromisoformat(parts.group(1) + ("+00:00" if zone == "Z" else zone))
    except ValueError:  # a damaged date says nothing about which version is newer
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=_TAIPEI)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _small_parts(data: bytes) -> dict[str, bytes]:
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = {i.filename: i for i in z.infolist()}
        for name in ("docProps/core.xml", "docProps/app.xml"):
            if name in infos and infos[name].file_size < MAX_PROPS_BYTES:
                out[name] = z.read(name)
    return out


def trusted_cache(app: str, version: str) -> bool:
    """Whether a producer saves computed results: Excel and LibreOffice do; openpyxl and
    XlsxWriter (so pandas) save none or 0 for every formula, which proves nothing."""
    if app.startswith("LibreOffice"):
        return True
    return app == "Microsoft Excel" and version not in ("", "12.0000")


def _read(label: str, data: bytes | Exception, plans: list[Plan]) -> Submission:
    if isinstance(data, Exception):
        return Submission(label, "", 0, "unreadable", f"無法讀取 / cannot read: {data}")
    sub = Submission(label, hashlib.sha256(data).hexdigest(), len(data))
    info = None
    if not label.lower().endswith(".ods"):
        try:
            info = inspect(data, label)  # once: its pass keeps the small parts read next
        except WorkbookFileError as exc:  # Strict OOXML, too: the guard names every format we do not read
            return _refused(sub, exc)
    sub.saved_at, app, version = package_props(data, info.kept if info else None)
    if info is None:  # an .ods keeps its saved time in meta.xml
        sub.saved_at = odf_saved(data)
    try:
        # values only; a formula typed into a count is still seen (``typed_formulas``), as calculate sees it
        book = CalamineBook(data, label, info=info) if info else OdsBook(data, label)
    except WorkbookFileError as exc:
        return _refused(sub, exc)
    if L.SUMMARY_MARK in book.names():
        sub.status = "summary"
        sub.reason = (
            "先前 kpi collect 產生的彙總檔，不是填報工作簿，略過 / a summary written by kpi collect; skipped"
        )
        return sub
    try:
        meta = read_meta(book)
    except WorkbookFileError as exc:
        sub.status = "unreadable" if isinstance(exc, DamagedFileError) else "foreign"
        sub.reason = f"{exc.message_zh} / {exc.message_en}"
        return sub
    sub.plan_id = str(meta.get("plan_id") or "")
    sub.fingerprint = str(meta.get("plan_fingerprint") or "")
    sub.unit, sub.owner = str(meta.get("unit") or "").strip(), str(meta.get("owner") or "")
    sub.period = str(meta.get("period") or "")
    # Stamps were once written with "T"; a spreadsheet may also hand one back as a datetime.
    sub.calculated_at = str(meta.get("calculated_at") or "").replace("T", " ")
    plan = next((p for p in plans if p.fingerprint == sub.fingerprint), None)
    if str(meta.get("template_version")) != L.TEMPLATE_VERSION:
        version_seen = meta.get("template_version")
        sub.status = "outdated"
        sub.reason = (
            f"範本版本 {version_seen}，現行 {L.TEMPLATE_VERSION} / template version {version_seen}, "
            f"current {L.TEMPLATE_VERSION}"
        )
        return sub
    if plan is None:
        sub.status, sub.reason = _not_ours(sub.plan_id, str(meta.get("plan_text") or ""), plans)
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
    sub.texts = staff_texts(book, outcome.scope)
    reported |= {period for _, period, _ in sub.texts}
    sub.results = [r for r in outcome.evaluation.results if r.period in reported]
    sub.findings = outcome.findings
    if not trusted_cache(app, version):
        sub.findings = [f for f in sub.findings if not _untrusted_zero(book, f)]
    if not reported:
        sub.findings.append(finding("no_data", indicator=None, input=None, period=None))
    _check_unit(book, plan, sub)
    sub.classify()
    return sub


_PLAN_FIELD = re.compile(r"^(agency|year):[ \t]*['\"]?([^'\"\n#]*?)['\"]?[ \t]*(?:#.*)?$", re.M)


def _not_ours(plan_id: str, text: str, plans: list[Plan]) -> tuple[str, str]:
    """Why a workbook matches none of the plans: an older template of one of them (outdated),
    or another plan, agency or year (unknown_plan) — never merged into ours either way."""
    fields = dict(_PLAN_FIELD.findall(text[:20000]))
    agency, year = fields.get("agency", "").strip(), fields.get("year", "").strip()
    same = [p for p in plans if p.id == plan_id]
    if same and all(agency in ("", p.agency) and year in ("", str(p.year)) for p in same):
        return "outdated", f"計畫 {plan_id} 的範本已更新，請改用新範本 / the plan's template has changed"
    names = "、".join(p.source or p.agency for p in plans)
    whose = f"{agency} {year} 年度".strip() if agency or year else plan_id
    return (
        "unknown_plan",
        f"另一計畫（{whose}，代碼 {plan_id}）不在本次彙整範圍（已比對：{names}）"
        f" / another plan ({whose}, id {plan_id}) is not among those given (looked for: {names})",
    )


def _untrusted_zero(book: CalamineBook, f: Finding) -> bool:
    """A ``tampered`` result showing 0 or nothing, from a producer whose cached values prove nothing.

    The analysis and 檢核 cells are formulas too (template version 2), so they are no exception.
    """
    if f.code != "tampered" or not f.sheet or not f.cell:
        return False
    row, col = parse_address(f.cell)
    shown = at(book.grid(f.sheet), row, col)
    return shown in (None, "", 0)


def _named(book: CalamineBook, names: dict, name: str) -> Any:
    if name not in names:
        return None
    sheet, row, col = names[name]
    try:
        return at(book.grid(sheet), row, col)
    except (KeyError, IndexError, WorkbookFileError):
        return None


def staff_texts(book: CalamineBook, scope: L.Scope) -> dict[tuple[str, str, str], Any]:
    """What staff wrote themselves: 補充說明, 執行進度, 執行情形 (blank cells left out)."""
    names = book.names()
    out: dict[tuple[str, str, str], Any] = {}
    for p in scope.periods:
        for ind in scope.indicators:
            out[("note", p.id, ind.id)] = _named(book, names, L.notes_name(ind, p))
        for item in scope.items:
            out[("progress", p.id, item.id)] = _named(book, names, L.progress_name(item, p))
            out[("description", p.id, item.id)] = _named(book, names, L.progress_text_name(item, p))
    return {
        k: (v.strip() if isinstance(v, str) else v)
        for k, v in out.items()
        if v not in (None, "") and str(v).strip()
    }


def _check_unit(book: CalamineBook, plan: Plan, sub: Submission) -> None:
    """A unit from the metadata, else from the 填報單位 cell; none is an error naming the file."""
    if not sub.unit:
        typed = _named(book, book.names(), L.UNIT_NAME)
        sub.unit = str(typed).strip() if typed is not None else ""
    if not sub.unit:
        names = book.names()
        where = names.get(L.UNIT_NAME) or names.get(L.STATUS_NAME)
        f = finding("unit_missing", indicator=None, input=None, period=None, file=sub.source)
        if where is not None:
            from workbook.form.book import cell_address

            f = f.at(where[0], cell_address(where[1], where[2]))
        sub.findings.append(f)
    elif plan.units and sub.unit not in plan.units:
        sub.findings.append(finding("unit_unknown", indicator=None, input=None, period=None, unit=sub.unit))
