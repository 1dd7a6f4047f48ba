"""A realistic pile of returned workbooks for ``kpi collect`` tests and benchmarks.

Every workbook is made the way staff make one: the real template
(:func:`~workbook.form.builder.write_template`), counts typed into its input cells
(:func:`~workbook.demo.fill`), :func:`~workbook.form.calculate.calculate` through a
:class:`~workbook.form.book.FileBook`, saved by openpyxl (so formula cells carry no
cached values).  Then some are spoiled the ways real submissions are: typing
mistakes, edited results, counts changed after calculating, never calculated,
sent twice, sent in an archive or an email, an old template, someone's own
spreadsheet, a file that is not a workbook at all.

:func:`build_corpus` writes the files and returns, for every label ``collect``
will report, what ought to be found: the classification, the finding codes (and
where the located ones are) and the raw counts that were typed, so a test can
recompute every result with :func:`kpi_engine.evaluate` on its own.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
import random
import shutil
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook
from plan_factory import indicator, plan_yaml

from kpi_engine import Plan, default_plan_path, load_plan, parse_plan
from kpi_engine.plan_loader import dump_plan
from workbook.books.file import FileBook
from workbook.demo import fill
from workbook.form import layout as L
from workbook.form.book import cell_address
from workbook.form.builder import write_template
from workbook.form.calculate import calculate

XLSX_MIME = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")

UNITS = (
    "秘書處第一科",
    "秘書處第二科",
    "秘書處第三科",
    "秘書處採購科",
    "秘書處總務科",
    "秘書處公關科",
    "秘書處國際科",
    "秘書處機要科",
    "秘書處文書科",
    "秘書處廳舍科",
    "秘書處資訊室",
    "秘書處人事室",
)
#: A unit name a CSV or summary must never turn into a live formula.
FORMULA_UNIT = '=HYPERLINK("https://example.com/x","點我")'
#: The unit whose three sections (承辦單位) each send their own workbook.
SPLIT_UNIT = "秘書處總務科"
SPLIT_OWNERS = ("採購管理業務", "廳舍管理業務", "公共關係業務")

T_H1 = datetime(2018, 7, 2, 9, 0)  # 107 上半年 returns
T_FY = datetime(2019, 1, 8, 9, 0)  # 107 全年度 returns
T_106 = datetime(2018, 1, 10, 9, 0)  # 106 annual returns (Part 4 of the 107 plan)

Entries = dict[str, dict[str, dict[str, Any]]]  # period id → indicator id → role → raw


@dataclass
class Expect:
    """What collect should report for one label."""

    label: str  # relative to the corpus root, members as "outer › inner"
    status: str
    plan: str = "default"  # default | custom | outdated | "" (not a template)
    unit: str = ""
    owner: str | None = None
    period: str | None = None  # the workbook's period scope
    year: int = 107
    entries: Entries = field(default_factory=dict)  # the final counts, as typed
    codes: set[str] = field(default_factory=set)  # exact set of finding codes
    located: list[tuple[str, str, str]] = field(default_factory=list)  # (code, sheet, cell)
    calculated_at: str = ""
    status_all_plans: str | None = None  # when the custom plan is given too
    winner: str | None = None  # for a duplicate: the label that superseded it


@dataclass
class Corpus:
    """The generated folder and what it holds."""

    root: Path
    expects: dict[str, Expect]
    plans: dict[str, Plan]
    plan_paths: dict[str, Path]
    ignored: list[str]  # files in the folder that are not submissions at all

    def counted(self, *, all_plans: bool = False) -> list[Expect]:
        """The expectations that should reach the consolidated table."""
        out = []
        for e in self.expects.values():
            status = e.status_all_plans if all_plans and e.status_all_plans else e.status
            if status in ("ok", "warnings", "errors"):
                out.append(e)
        return out


# -- counts ------------------------------------------------------------------------------


def unit_counts(unit: str, year: int) -> Entries:
    """Plausible, error-free counts of one unit for both periods (running totals agree)."""
    rng = random.Random(f"{unit}/{year}")
    h1_den = rng.randint(150, 260)
    h1_num = round(h1_den * rng.uniform(0.78, 0.97))
    fy_den = h1_den + rng.randint(100, 200)
    fy_num = h1_num + round((fy_den - h1_den) * rng.uniform(0.78, 0.97))
    e_h1_den = rng.randint(8, 25)
    e_h1_num = e_h1_den - rng.choice((0, 0, 0, 1))
    e_fy_den = e_h1_den + rng.randint(8, 25)
    e_fy_num = e_h1_num + (e_fy_den - e_h1_den) - rng.choice((0, 0, 1))
    f_h1_den = rng.randint(500, 800)
    f_h1_num = round(f_h1_den * rng.uniform(0.05, 0.13))
    f_fy_den = f_h1_den + rng.randint(400, 700)
    f_fy_num = f_h1_num + round((f_fy_den - f_h1_den) * rng.uniform(0.05, 0.13))
    s_h1 = rng.randint(40, 75)
    s_fy = s_h1 + rng.randint(40, 75)
    v_prev = rng.randint(280, 320)
    v_h1 = round(v_prev * rng.uniform(0.98, 1.12))
    v_fy = v_h1 + rng.randint(0, 20)
    return {
        "H1": {
            "volunteer_growth": {"current": v_h1, "previous": v_prev},
            "procurement_pass_rate": {"numerator": h1_num, "denominator": h1_den},
            "e_tender_rate": {"numerator": e_h1_num, "denominator": e_h1_den},
            "failed_tender_rate": {"numerator": f_h1_num, "denominator": f_h1_den},
            "safety_defects": {"count": s_h1},
        },
        "FY": {
            "volunteer_growth": {"current": v_fy, "previous": v_prev},
            "procurement_pass_rate": {"numerator": fy_num, "denominator": fy_den},
            "e_tender_rate": {"numerator": e_fy_num, "denominator": e_fy_den},
            "failed_tender_rate": {"numerator": f_fy_num, "denominator": f_fy_den},
            "safety_defects": {"count": s_fy},
        },
    }


def scoped_entries(scope: L.Scope, counts: Entries) -> Entries:
    """The part of ``counts`` a workbook of ``scope`` holds."""
    inds = {i.id for i in scope.indicators}
    return {
        p.id: {i: dict(v) for i, v in counts.get(p.id, {}).items() if i in inds}
        for p in scope.periods
        if p.id in counts
    }


def _fullwidth(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))


# -- variants: (what to do to the typed counts, expected codes with the names they sit at)
#
# Each returns (new entries, [(code, defined name or None)]).  A count typed as text
# ("１８７", "1,204", " 98 ", "8") is no number to the workbook's formulas, so in a
# workbook it is an error (number_as_text), not the lenient reading ``kpi compute`` makes.

Variant = Callable[[Entries, str], tuple[Entries, list[tuple[str, str | None]]]]


def v_fullwidth(e: Entries, p: str):
    e[p]["procurement_pass_rate"]["numerator"] = _fullwidth(e[p]["procurement_pass_rate"]["numerator"])
    return e, [("number_as_text", f"IN_procurement_pass_rate_{p}_numerator")]


def v_num_gt_den(e: Entries, p: str):
    e[p]["procurement_pass_rate"]["numerator"] = e[p]["procurement_pass_rate"]["denominator"] + 7
    return e, [("numerator_gt_denominator", f"IN_procurement_pass_rate_{p}_numerator")]


def v_approx(e: Entries, p: str):
    e[p]["safety_defects"]["count"] = "約120"
    return e, [("text", f"IN_safety_defects_{p}_count")]


def v_text_number(e: Entries, p: str):
    e[p]["e_tender_rate"]["numerator"] = str(e[p]["e_tender_rate"]["numerator"])
    return e, [("number_as_text", f"IN_e_tender_rate_{p}_numerator")]


def v_missing(e: Entries, p: str):
    e[p]["volunteer_growth"] = {"current": None, "previous": None}
    return e, [
        ("missing", f"IN_volunteer_growth_{p}_current"),
        ("missing", f"IN_volunteer_growth_{p}_previous"),
    ]


def v_thousands(e: Entries, p: str):
    e[p]["failed_tender_rate"] = {"numerator": 97, "denominator": "1,204"}
    return e, [("number_as_text", f"IN_failed_tender_rate_{p}_denominator")]


def v_whitespace(e: Entries, p: str):
    e[p]["safety_defects"]["count"] = f" {e[p]['safety_defects']['count']} "
    return e, [("number_as_text", f"IN_safety_defects_{p}_count")]


def v_half_gt_full(e: Entries, p: str):
    e["FY"]["safety_defects"]["count"] = e["H1"]["safety_defects"]["count"] - 5
    return e, [("half_gt_full", "IN_safety_defects_H1_count")]


def v_h1_only(e: Entries, p: str):
    e["FY"] = {i: dict.fromkeys(v) for i, v in e["FY"].items()}
    return e, []


def v_corrected(e: Entries, p: str):
    """A second sending with one count corrected (a duplicate with different numbers)."""
    e[p]["safety_defects"]["count"] = int(str(e[p]["safety_defects"]["count"]).strip()) + 2
    return e, []


# -- making one workbook -----------------------------------------------------------------


def make_workbook(
    path: Path,
    scope: L.Scope,
    entries: Entries,
    *,
    calculated_at: datetime | None,
    after: Callable[[FileBook, dict], list[tuple[str, str | None]]] | None = None,
    before: Callable[[FileBook], None] | None = None,
    saved_at: datetime | None = None,
) -> tuple[dict[str, tuple[str, int, int]], list[tuple[str, str | None]]]:
    """Template → typed counts → calculate (unless ``calculated_at`` is None) → save.

    ``after`` runs on the calculated book before saving and returns extra expected
    (code, defined name) pairs.  Returns the workbook's defined names and those pairs.
    """
    write_template(scope, path)
    book = FileBook(path)
    if before is not None:
        before(book)
    fill(book, scope, entries)
    if calculated_at is not None:
        calculate(book, now=calculated_at)
    extra = after(book, book.names()) if after is not None else []
    book.save()
    # openpyxl stamps "now" as the saved time; staff saved when they calculated
    stamp = saved_at if saved_at is not None else (calculated_at or T_UNSAVED)
    path.write_bytes(set_saved(path.read_bytes(), stamp))
    return book.names(), extra


#: The saved time of a workbook that was never calculated (unless a case says otherwise).
T_UNSAVED = datetime(2018, 1, 1, 8, 0)


def rezip(data: bytes, edits: dict[str, Callable[[bytes], bytes | None]]) -> bytes:
    """The package with some parts rewritten (an edit returning None drops the part)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename in edits:
                body = edits[info.filename](body)
                if body is None:
                    continue
            dst.writestr(info.filename, body)
    return out.getvalue()


def set_saved(data: bytes, when: datetime | None) -> bytes:
    """Set the workbook's own saved time (docProps/core.xml dcterms:modified); None removes it."""
    import re

    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>", b"", xml)
        if when is None:
            return xml
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        xsi = (
            b'xmlns:dcterms="http://purl.org/dc/terms/" '
            b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="dcterms:W3CDTF"'
        )
        tag = b"<dcterms:modified " + xsi + b">" + stamp + b"</dcterms:modified>"
        return xml.replace(b"</cp:coreProperties>", tag + b"</cp:coreProperties>")

    return rezip(data, {"docProps/core.xml": edit})


def _meta_row(book: FileBook, key: str) -> int:
    for i, line in enumerate(book.grid(L.SHEET_META), start=1):
        if line and line[0] == key:
            return i
    raise KeyError(key)


def tamper_sentence(name: str) -> Callable:
    def run(book: FileBook, names: dict) -> list[tuple[str, str | None]]:
        sheet, row, col = names[name]
        book.write(sheet, row, col, [["截至12月31日止，各項數據均達原訂目標值，達成率100%。"]])
        return [("tampered", name)]

    return run


def tamper_result(name: str, value: Any) -> Callable:
    def run(book: FileBook, names: dict) -> list[tuple[str, str | None]]:
        sheet, row, col = names[name]
        book.write(sheet, row, col, [[value]])  # a constant where a formula was
        return [("tampered", name)]

    return run


def change_after_calculate(entries: Entries, period: str, ind: str, role: str, value: Any) -> Callable:
    """Edit one count after calculating (the file then is stale); ``entries`` follows."""

    def run(book: FileBook, names: dict) -> list[tuple[str, str | None]]:
        sheet, row, col = names[f"IN_{ind}_{period}_{role}"]
        book.write(sheet, row, col, [[value]])
        entries[period][ind][role] = value
        return [("stale", L.STATUS_NAME)]

    return run


def set_meta(key: str, value: Any) -> Callable:
    def run(book: FileBook, names: dict) -> list[tuple[str, str | None]]:
        book.write(L.SHEET_META, _meta_row(book, key), 2, [[value]])
        return []

    return run


def _prop(tag: int, value: int) -> bytes:
    """A fixed-size property entry (MS-OXMSG 2.4.2): tag, flags (readable|writable), value."""
    return struct.pack("<IIq", tag, 6, value)


def _var(tag: int, size: int) -> bytes:
    """A variable-size property entry: its value lives in a ``__substg1.0_<tag>`` stream."""
    return struct.pack("<IIII", tag, 6, size, 0)


def outlook_msg(subject: str, body: str, attachments: list[tuple[str, bytes]]) -> bytes:
    """A minimal Outlook ``.msg`` (MS-OXMSG) holding ``attachments`` by value.

    extract-msg reads .msg files but has no API to compose one; its ``OleWriter``
    does write the compound file (MS-CFB) itself, so the message's property
    streams are laid out here by hand, the way Outlook lays them out.
    """
    import tempfile

    from extract_msg.ole_writer import OleWriter

    def text(t: str) -> bytes:
        return t.encode("utf-16-le")

    w = OleWriter()
    fields = {0x001A001F: "IPM.Note", 0x0037001F: subject, 0x1000001F: body}
    for tag, value in fields.items():
        w.addEntry(f"__substg1.0_{tag:08X}", text(value))
    w.addEntry("__nameid_version1.0", storage=True)
    for stream in ("00020102", "00030102", "00040102"):
        w.addEntry(f"__nameid_version1.0/__substg1.0_{stream}", b"")
    n = len(attachments)
    props = struct.pack("<8sIIII8s", bytes(8), 0, n, 0, n, bytes(8))
    props += b"".join(_var(tag, len(text(v)) + 2) for tag, v in fields.items())
    w.addEntry("__properties_version1.0", props)
    for i, (name, data) in enumerate(attachments):
        storage = f"__attach_version1.0_#{i:08X}"
        w.addEntry(storage, storage=True)
        w.addEntry(f"{storage}/__substg1.0_3707001F", text(name))  # PR_ATTACH_LONG_FILENAME
        w.addEntry(f"{storage}/__substg1.0_3001001F", text(name))  # PR_DISPLAY_NAME
        w.addEntry(f"{storage}/__substg1.0_37010102", data)  # PR_ATTACH_DATA_BIN
        p = bytes(8) + _prop(0x37050003, 1) + _prop(0x0E210003, i) + _prop(0x370B0003, -1)
        p += _var(0x3707001F, len(text(name)) + 2) + _var(0x3001001F, len(text(name)) + 2)
        p += _var(0x37010102, len(data))
        w.addEntry(f"{storage}/__properties_version1.0", p)
    with tempfile.TemporaryDirectory() as tmp:  # OleWriter writes to a path only
        out = Path(tmp) / "m.msg"
        w.write(out)
        return out.read_bytes()


# -- the corpus --------------------------------------------------------------------------


def outdated_plan() -> Plan:
    """The embedded plan with one target changed: same id, different fingerprint."""
    doc = yaml.safe_load(default_plan_path().read_text(encoding="utf-8"))
    doc["goals"][1]["indicators"][0]["target"] = "85%"
    return parse_plan(dump_plan(doc), source="old.yaml")


def custom_plan_text() -> str:
    """Another agency's small plan (its own id)."""
    text = plan_yaml(
        indicator("visit_rate", "ratio", "80%", weight=20),
        indicator("complaints", "count", "≤50", polarity="lower", weight=10),
    )
    return text.replace("id: test_plan", "id: other_agency_107", 1)


class _Builder:
    def __init__(self, root: Path):
        self.root = root
        self.stage = root.parent / f"{root.name}-staging"
        self.expects: dict[str, Expect] = {}
        self.plans = {"default": load_plan(), "outdated": outdated_plan()}
        self.plan_paths = {"default": default_plan_path()}
        root.parent.mkdir(parents=True, exist_ok=True)
        custom = root.parent / "other_agency_107.yaml"
        custom.write_text(custom_plan_text(), encoding="utf-8")
        self.plans["custom"] = parse_plan(custom.read_text(encoding="utf-8"), source=str(custom))
        self.plan_paths["custom"] = custom
        self.ignored: list[str] = []

    # one workbook of the embedded plan, written to dest (a corpus path or staging path)
    def workbook(
        self,
        dest: Path,
        label: str,
        *,
        unit: str,
        year: int,
        period: str | None,
        owner: str | None = None,
        variants: tuple[Variant, ...] = (),
        calculated_at: datetime | None,
        status: str,
        after: Callable | None = None,
        plan: str = "default",
        before: Callable | None = None,
        counts: Entries | None = None,
        codes: set[str] | None = None,
    ) -> Expect:
        scope = L.Scope(self.plans[plan], owner=owner, period_id=period, unit=unit, data_year=year)
        entries = scoped_entries(scope, counts if counts is not None else unit_counts(unit, year))
        pairs: list[tuple[str, str | None]] = []
        for v in variants:
            entries, found = v(entries, period or "H1")
            pairs += found
        entries = copy.deepcopy(entries)
        typed = copy.deepcopy(entries)
        if after is not None and getattr(after, "edits_entries", False):
            after = after(typed)
        if calculated_at is None:
            pairs.append(("not_calculated", L.STATUS_NAME))
        names, extra = make_workbook(
            dest, scope, entries, calculated_at=calculated_at, after=after, before=before
        )
        pairs += extra
        located = []
        for code, name in pairs:
            if name is not None:
                sheet, row, col = names[name]
                located.append((code, sheet, cell_address(row, col)))
        e = Expect(
            label,
            status,
            plan=plan,
            unit=unit,
            owner=owner,
            period=period,
            year=year,
            entries=typed,
            codes=codes if codes is not None else {c for c, _ in pairs},
            located=located,
            calculated_at=calculated_at.isoformat() if calculated_at else "",
        )
        self.expects[label] = e
        return e

    def file(self, name: str, **kw) -> Expect:
        dest = self.root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        return self.workbook(dest, name, **kw)

    def staged(self, container: str, member: str, **kw) -> bytes:
        """A workbook for a container: built in staging, returned as bytes, staging file removed."""
        self.stage.mkdir(exist_ok=True)
        dest = self.stage / Path(member).name
        self.workbook(dest, f"{container} › {member}", **kw)
        data = dest.read_bytes()
        dest.unlink()
        return data

    def other(self, name: str, data: bytes, status: str, **kw) -> None:
        (self.root / name).write_bytes(data)
        self.expects[name] = Expect(name, status, plan="", **kw)

    def build(self) -> Corpus:
        self.root.mkdir(parents=True, exist_ok=True)
        self.h1_107()
        self.fy_107()
        self.annual_106()
        self.specials()
        shutil.rmtree(self.stage, ignore_errors=True)
        return Corpus(self.root, self.expects, self.plans, self.plan_paths, self.ignored)

    # 107 上半年: one H1-only workbook per unit, two sent twice
    def h1_107(self) -> None:
        variants: dict[str, tuple[str, tuple[Variant, ...]]] = {
            "秘書處第二科": ("errors", (v_fullwidth,)),
            "秘書處第三科": ("errors", (v_num_gt_den,)),
            "秘書處採購科": ("errors", (v_approx,)),
            "秘書處公關科": ("errors", (v_text_number,)),
            "秘書處國際科": ("warnings", (v_missing,)),
        }
        for n, unit in enumerate(UNITS):
            status, vs = variants.get(unit, ("ok", ()))
            self.file(
                f"107上半年_{unit}.xlsx",
                unit=unit,
                year=107,
                period="H1",
                variants=vs,
                calculated_at=T_H1 + timedelta(hours=n),
                status=status,
            )
        # Sent again two weeks later, corrected; "(1)" sorts first, so time, not order, must decide.
        first = self.expects["107上半年_秘書處第二科.xlsx"]
        again = self.file(
            "107上半年_秘書處第二科(1).xlsx",
            unit="秘書處第二科",
            year=107,
            period="H1",
            variants=(v_corrected,),
            calculated_at=T_H1 + timedelta(days=18),
            status="ok",
        )
        first.status, first.winner = "duplicate", again.label
        # A "corrected" copy that was in fact calculated before the original: the original wins.
        older = self.file(
            "107上半年_秘書處文書科_更正.xlsx",
            unit="秘書處文書科",
            year=107,
            period="H1",
            variants=(v_corrected,),
            calculated_at=T_H1 - timedelta(days=1),
            status="duplicate",
        )
        older.winner = "107上半年_秘書處文書科.xlsx"
        self.file(
            "107上半年_formula_unit.xlsx",
            unit=FORMULA_UNIT,
            year=107,
            period="H1",
            calculated_at=T_H1 + timedelta(hours=20),
            status="ok",
            counts=unit_counts("formula", 107),
        )

    # 107 全年度: FY-only workbooks; one unit's three sections each send their own
    def fy_107(self) -> None:
        for n, unit in enumerate(UNITS):
            kw: dict[str, Any] = dict(unit=unit, year=107, period="FY", status="ok")
            at = T_FY + timedelta(hours=n)
            name = f"107全年度_{unit}.xlsx"
            if unit == SPLIT_UNIT:
                for k, owner in enumerate(SPLIT_OWNERS):
                    self.file(
                        f"107全年度_{unit}_{owner}.xlsx",
                        owner=owner,
                        calculated_at=at + timedelta(minutes=k),
                        **kw,
                    )
                continue
            if unit == "秘書處第一科":
                self.file(name, variants=(v_thousands,), calculated_at=at, **{**kw, "status": "errors"})
            elif unit == "秘書處第三科":
                self.file(name, calculated_at=None, **{**kw, "status": "warnings"})
            elif unit == "秘書處採購科":
                counts = unit_counts(unit, 107)
                changed = counts["FY"]["safety_defects"]["count"] + 5

                def stale(typed: Entries, changed=changed) -> Callable:
                    return change_after_calculate(typed, "FY", "safety_defects", "count", changed)

                stale.edits_entries = True  # type: ignore[attr-defined]
                self.file(name, calculated_at=at, after=stale, **{**kw, "status": "warnings"})
            elif unit == "秘書處公關科":
                self.file(
                    name,
                    calculated_at=at,
                    after=tamper_sentence("TXT_procurement_pass_rate_FY"),
                    **{**kw, "status": "errors"},
                )
            elif unit == "秘書處國際科":
                self.file(
                    name,
                    calculated_at=at,
                    after=tamper_result("OUT_failed_tender_rate_FY_value", 3.5),
                    **{**kw, "status": "errors"},
                )
            elif unit == "秘書處機要科":
                self.file(name, variants=(v_whitespace,), calculated_at=at, **{**kw, "status": "errors"})
            else:
                self.file(name, calculated_at=at, **kw)

    # 106 annual (both periods in one workbook, last year's targets), in a sub-folder,
    # an archive, an archive in an archive and an email
    def annual_106(self) -> None:
        def kw(unit: str, n: int, **more) -> dict:
            return dict(
                unit=unit,
                year=106,
                period=None,
                calculated_at=T_106 + timedelta(hours=n),
                status="ok",
                **more,
            )

        folder = "106年度"
        self.file(f"{folder}/106年度_秘書處第一科.xlsx", **kw("秘書處第一科", 0, variants=(v_half_gt_full,)))
        self.expects[f"{folder}/106年度_秘書處第一科.xlsx"].status = "errors"
        self.file(f"{folder}/106年度_秘書處第二科.xlsx", **kw("秘書處第二科", 1, variants=(v_h1_only,)))
        for n, unit in [*enumerate(UNITS[2:5], start=2), (3, "秘書處研考室")]:
            self.file(f"{folder}/106年度_{unit}.xlsx", **kw(unit, n))

        mname = "106年度填報_公關科_國際科.msg"
        attachments = []
        for n, unit in ((5, "秘書處公關科"), (6, "秘書處國際科")):
            member = f"106年度_{unit}.xlsx"
            attachments.append((member, self.staged(mname, member, **kw(unit, n))))
        attachments.append(("填報說明.txt", "請查收。".encode()))
        self.expects[f"{mname} › 填報說明.txt"] = Expect(f"{mname} › 填報說明.txt", "ignored", plan="")
        (self.root / mname).write_bytes(
            outlook_msg(
                "106年度績效指標填報（公關科、國際科）", "彙整窗口您好：檢送填報工作簿兩份。", attachments
            )
        )

        zname = "106年度_彙送.zip"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for n, unit in ((8, "秘書處文書科"), (9, "秘書處廳舍科")):
                member = f"106年度_{unit}.xlsx"
                z.writestr(member, self.staged(zname, member, **kw(unit, n)))
            z.writestr("說明.txt", "請查收。")
        self.expects[f"{zname} › 說明.txt"] = Expect(f"{zname} › 說明.txt", "ignored", plan="")
        (self.root / zname).write_bytes(buf.getvalue())

        outer = "轉寄_機要科.zip"
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
            member = "106年度_秘書處機要科.xlsx"
            z.writestr(member, self.staged(f"{outer} › 機要科.zip", member, **kw("秘書處機要科", 7)))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("機要科.zip", inner.getvalue())
        (self.root / outer).write_bytes(buf.getvalue())

        ename = "106年度填報_資訊室_人事室.eml"
        msg = EmailMessage()
        msg["Subject"] = "106年度績效指標填報（資訊室、人事室）"
        msg["From"] = "staff@example.gov.tw"
        msg["To"] = "kpi@example.gov.tw"
        msg.set_content("彙整窗口您好：\n檢送本室106年度填報工作簿兩份，請查收。\n")
        for n, unit in ((10, "秘書處資訊室"), (11, "秘書處人事室")):
            member = f"106年度_{unit}.xlsx"
            data = self.staged(ename, member, **kw(unit, n))
            msg.add_attachment(data, maintype=XLSX_MIME[0], subtype=XLSX_MIME[1], filename=member)
        (self.root / ename).write_bytes(msg.as_bytes())

    def specials(self) -> None:
        # another agency's plan: not collected unless its plan file is given too
        custom = self.plans["custom"]
        self.file(
            "其他計畫_秘書處第一科.xlsx",
            plan="custom",
            unit="秘書處第一科",
            year=107,
            period=None,
            calculated_at=T_H1,
            status="unknown_plan",
            counts={
                "H1": {
                    "visit_rate": {"numerator": 41, "denominator": 50},
                    "complaints": {"count": 22},
                }
            },
        )
        self.expects["其他計畫_秘書處第一科.xlsx"].status_all_plans = "ok"
        assert custom.id == "other_agency_107"
        # the same plan id with a changed target: an old template
        self.file(
            "舊範本_秘書處第二科.xlsx",
            plan="outdated",
            unit="秘書處第二科",
            year=107,
            period="FY",
            calculated_at=T_FY,
            status="outdated",
            codes=set(),
        )
        # a template of an older version of this program
        self.file(
            "舊版本_秘書處第三科.xlsx",
            unit="秘書處第三科",
            year=107,
            period="FY",
            calculated_at=T_FY,
            after=set_meta("template_version", "0"),
            status="outdated",
            codes=set(),
        )
        # a blank template sent back unfilled
        self.file(
            "106上半年_秘書處資訊室_空白範本.xlsx",
            unit="秘書處資訊室",
            year=106,
            period="H1",
            calculated_at=None,
            counts={},
            status="warnings",
            codes={"no_data", "not_calculated"},
        )
        # someone's own spreadsheet
        wb = Workbook()
        ws = wb.active
        ws.title = "工作表1"
        ws.append(["單位", "取得證照人數", "受訓總人數"])
        ws.append(["秘書處第一科", 187, 210])
        buf = io.BytesIO()
        wb.save(buf)
        self.other("自製統計表.xlsx", buf.getvalue(), "foreign")
        # not workbooks at all
        self.other("說明.xlsx", "請見附件。\n".encode(), "unreadable")
        self.other("空白.xlsx", b"", "unreadable")
        good = (self.root / "107上半年_秘書處第一科.xlsx").read_bytes()
        self.other("107上半年_秘書處廳舍科_損毀.xlsx", good[: len(good) // 2], "unreadable")
        # not a spreadsheet: listed as skipped, never read
        self.other("說明.txt", "請於期限內寄回。".encode(), "ignored")
        # left by the system, not sent by anyone: not listed (an Excel lock file beside an open workbook)
        lock = bytes([6]) + "承辦人".encode("utf-16-le").ljust(164, b"\x00")[:164]
        for name, data in (
            ("Thumbs.db", b"\x00" * 64),
            ("~$107上半年_秘書處第一科.xlsx", lock),
        ):
            (self.root / name).write_bytes(data)
            self.ignored.append(name)


def build_corpus(root: Path) -> Corpus:
    """Write the corpus into ``root`` (created) and return what it holds."""
    return _Builder(Path(root)).build()


def relative_label(source: str, root: Path) -> str:
    """A collected source label relative to the corpus root."""
    for prefix in (str(root) + "/", root.name + "/"):  # a file given by path, or found in the folder given
        if source.startswith(prefix):
            return source[len(prefix) :]
    return source


# -- the coordinator's inbox: every defect of issue 10, every email layout ----------------------
#
# Each case is one label collect must report, with the classification it must get.  Counted
# cases carry the counts and text that were typed, so a test can check that nothing was lost
# or taken from the wrong version.  Workbooks are FY-only 107 forms of units of their own, so
# the cases do not interfere unless a case means them to (versions, sections, conflicts).

INBOX_YEAR = 107
T_OLD = datetime(2019, 1, 7, 9, 0)
T_NEW = datetime(2019, 1, 9, 16, 30)
#: Placeholders typed with openpyxl (which refuses control characters), turned into OOXML escapes.
VT, BEL = "@@VT@@", "@@BEL@@"
NOTE_WITH_CONTROLS = f"約50%{VT}（詳附件）{BEL}"


@dataclass
class InboxCase:
    """What collect must report for one label of the inbox."""

    label: str
    status: str
    why: str = ""  # the defect or layout the case covers
    unit: str = ""
    counts: Entries = field(default_factory=dict)  # FY counts that must reach the table (counted only)
    texts: dict[tuple[str, str, str], Any] = field(default_factory=dict)  # staff text that must reach it
    codes: set[str] = field(default_factory=set)  # finding codes that must be among the file's
    reason: str = ""  # text the reason must contain
    winner: str = ""  # the label that replaced a duplicate


@dataclass
class Inbox:
    """The generated inbox and what it holds."""

    root: Path
    cases: dict[str, InboxCase]


def _mime_part(headers: list[str], body: bytes, *, b64: bool = True) -> bytes:
    import base64

    if b64:
        body = base64.encodebytes(body)
        headers = [*headers, "Content-Transfer-Encoding: base64"]
    return ("\r\n".join(headers) + "\r\n\r\n").encode("utf-8") + body + b"\r\n"


def _multipart(kind: str, parts: list[bytes], boundary: str, headers: tuple[str, ...] = ()) -> bytes:
    out = [*headers, f'Content-Type: multipart/{kind}; boundary="{boundary}"', ""]
    body = ("\r\n".join(out) + "\r\n").encode("utf-8")
    for p in parts:
        body += f"--{boundary}\r\n".encode() + p
    return body + f"--{boundary}--\r\n".encode()


def _mail(
    parts: list[bytes],
    *,
    date: str = "Wed, 09 Jan 2019 10:00:00 +0800",
    subject: str = "=?utf-8?B?5aGr5aCx?=",
) -> bytes:
    head = (
        "From: staff@example.gov.tw",
        "To: kpi@example.gov.tw",
        f"Subject: {subject}",
        f"Date: {date}",
        "MIME-Version: 1.0",
    )
    text = _mime_part(['Content-Type: text/plain; charset="utf-8"'], "請查收。".encode(), b64=True)
    # each message its own boundary: a forwarded message must not share its wrapper's
    boundary = f"==mail-{hashlib.sha1(b''.join(parts)).hexdigest()[:12]}=="
    return _multipart("mixed", [text, *parts], boundary, head)


def _xlsx_part(
    name_header: str, data: bytes, *, ctype: str = XLSX_MIME[0] + "/" + XLSX_MIME[1], inline: bool = False
) -> bytes:
    disp = "inline" if inline else "attachment"
    headers = [f"Content-Type: {ctype}" + (f"; {name_header}" if name_header and inline else "")]
    if not inline:
        headers.append(f"Content-Disposition: {disp}" + (f"; {name_header}" if name_header else ""))
    else:
        headers.append(f"Content-Disposition: {disp}")
    return _mime_part(headers, data)


def tnef(attachments: list[tuple[str, bytes]]) -> bytes:
    """A minimal TNEF stream (MS-OXTNEF) as Outlook's winmail.dat carries attachments."""

    def obj(level: int, name: int, kind: int, data: bytes) -> bytes:
        return (
            struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)
        )

    out = struct.pack("<IH", 0x223E9F78, 0)
    out += obj(1, 0x9006, 0x0008, struct.pack("<I", 0x10000))
    out += obj(1, 0x9007, 0x0006, struct.pack("<II", 950, 0))
    for name, data in attachments:
        out += obj(2, 0x9002, 0x0006, bytes(14))
        out += obj(2, 0x8010, 0x0001, name.encode("cp950") + b"\x00")
        out += obj(2, 0x800F, 0x0006, data)
    return out


def cached_zeros(data: bytes) -> bytes:
    """The workbook as XlsxWriter (and so pandas) writes one: every formula's cached value 0."""
    import re

    def sheet(xml: bytes) -> bytes:
        return re.sub(rb"(<f>[^<]*</f>)(?:<v>[^<]*</v>|<v\s*/>)?", rb"\1<v>0</v>", xml)

    def app(xml: bytes) -> bytes:
        xml = re.sub(rb"<Application>[^<]*</Application>", b"<Application>Microsoft Excel</Application>", xml)
        return re.sub(rb"<AppVersion>[^<]*</AppVersion>", b"", xml).replace(
            b"</Application>", b"</Application><AppVersion>12.0000</AppVersion>"
        )

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    return rezip(data, {**{n: sheet for n in sheets}, "docProps/app.xml": app})


def with_controls(data: bytes) -> bytes:
    """Turn the typed placeholders into the OOXML escapes of a vertical tab and a bell."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = [n for n in z.namelist() if n.startswith("xl/worksheets/") or n == "xl/sharedStrings.xml"]

    def edit(xml: bytes) -> bytes:
        return xml.replace(VT.encode(), b"_x000B_").replace(BEL.encode(), b"_x0007_")

    return rezip(data, {n: edit for n in parts})


def strict_ooxml(data: bytes) -> bytes:
    """The workbook part in Strict Open XML's namespace (Excel's "Strict Open XML Spreadsheet")."""

    def edit(xml: bytes) -> bytes:
        return xml.replace(
            b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
            b"http://purl.oclc.org/ooxml/spreadsheetml/main",
        )

    return rezip(data, {"xl/workbook.xml": edit})


class _InboxBuilder:
    def __init__(self, root: Path):
        self.root = root
        self.stage = root.parent / f"{root.name}-staging"
        self.stage.mkdir(parents=True, exist_ok=True)
        root.mkdir(parents=True, exist_ok=True)
        self.plan = load_plan()
        self.cases: dict[str, InboxCase] = {}
        self.n = 0

    def unit(self) -> str:
        self.n += 1
        return f"收件匣測試{self.n:02d}科"

    def workbook(
        self,
        unit: str,
        *,
        counts: Entries | None = None,
        owner: str | None = None,
        calculated: bool = True,
        saved: datetime | None = T_NEW,
        texts: dict[tuple[str, str, str], str] | None = None,
        scope_unit: str | None = None,
        before: Callable | None = None,
        keep_saved: bool = False,
    ) -> tuple[bytes, Entries, dict]:
        """A filled FY workbook of ``unit`` as bytes, with the counts and text typed."""
        scope = L.Scope(
            self.plan,
            owner=owner,
            period_id="FY",
            unit=unit if scope_unit is None else scope_unit,
            data_year=INBOX_YEAR,
        )
        entries = counts if counts is not None else scoped_entries(scope, unit_counts(unit, INBOX_YEAR))
        texts = texts or {}
        names_of = {
            "note": lambda target: L.notes_name(self.plan.indicator(target), self.plan.period("FY")),
            "progress": lambda target: L.progress_name(_item(self.plan, target), self.plan.period("FY")),
            "description": lambda target: L.progress_text_name(
                _item(self.plan, target), self.plan.period("FY")
            ),
        }

        def typing(book: FileBook) -> None:
            names = book.names()
            for (fld, _, target), value in texts.items():
                sheet, row, col = names[names_of[fld](target)]
                book.write(sheet, row, col, [[value]])
            if before is not None:
                before(book)

        dest = self.stage / f"{self.n}-{len(self.cases)}.xlsx"
        when = T_OLD if saved is None else saved
        make_workbook(
            dest, scope, entries, calculated_at=when if calculated else None, before=typing, saved_at=when
        )
        data = dest.read_bytes()
        dest.unlink()
        if saved is None and not keep_saved:
            data = set_saved(data, None)
        return data, entries, texts

    def add(self, case: InboxCase, data: bytes | None = None, *, name: str | None = None) -> InboxCase:
        if data is not None:
            path = self.root / (name or case.label)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.cases[case.label] = case
        return case

    def counted(
        self, label: str, why: str, unit: str, entries: Entries, texts: dict, status: str = "ok", **kw
    ) -> InboxCase:
        return InboxCase(label, status, why, unit, entries, texts, **kw)

    def build(self) -> Inbox:
        self.formats()
        self.mails()
        self.text_and_names()
        self.versions()
        self.sections_and_units()
        self.producers()
        self.odds()
        shutil.rmtree(self.stage, ignore_errors=True)
        return Inbox(self.root, self.cases)

    # more of what turns up in an inbox, none of it a workbook to count
    def odds(self) -> None:
        def add(
            label: str, status: str, why: str, data: bytes | None, name: str | None = None, reason: str = ""
        ) -> None:
            self.add(InboxCase(label, status, why, reason=reason), data, name=name)

        add("空檔案.xlsx", "unreadable", "an empty file", b"", reason="空的")
        add(
            "壞\u202e\x1b[2J名.xlsx",
            "unreadable",
            "defect 11: a name that would reorder or clear a terminal",
            b"",
        )
        add("會議紀錄.pdf", "ignored", "not a spreadsheet", b"%PDF-1.4\n", reason="略過")
        add("匯出.csv", "unsupported", "defect 2: CSV", "單位,人數\n".encode(), reason="格式不支援")
        add("蘋果.numbers", "unsupported", "defect 2: Apple Numbers", _zip_with({"Index/Document.iwa": b"x"}))
        add("壞掉.zip", "unreadable", "a damaged archive", b"PK\x03\x04" + bytes(64), reason="損毀")
        add("空壓縮.zip", "ignored", "an empty archive is listed", _zip_with({}), reason="沒有")
        add(
            "無附件.eml",
            "ignored",
            "an email sent without its attachment is listed",
            _mail([]),
            reason="沒有",
        )
        add("壞掉.msg", "unreadable", "a damaged Outlook message", b"not an OLE file")
        enc = bytearray(_zip_with({"加密.xlsx": b"PK\x03\x04secret"}))
        enc[6] |= 1  # the local header's "encrypted" flag
        enc[enc.rindex(b"PK\x01\x02") + 8] |= 1  # and the central directory's
        add(
            "加密.zip › 加密.xlsx",
            "unreadable",
            "an encrypted archive member",
            bytes(enc),
            name="加密.zip",
            reason="加密",
        )
        add(
            "winmail.dat › 說明.txt",
            "ignored",
            "a TNEF file saved by itself",
            tnef([("說明.txt", b"hello")]),
            name="winmail.dat",
        )
        inner = _zip_with({"深層.zip": _zip_with({"最深.xlsx": b"PK"})})
        three = _zip_with({"中層.zip": inner})
        add(
            "三層.zip › 中層.zip › 深層.zip",
            "unreadable",
            "archives nested too deep",
            three,
            name="三層.zip",
            reason="多層",
        )
        mail = _mail(
            [
                _mime_part(
                    [
                        "Content-Type: application/vnd.ms-excel",
                        'Content-Disposition: attachment; filename="舊.xls"',
                    ],
                    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
                ),
                _mime_part(
                    [
                        "Content-Type: application/x-7z-compressed",
                        'Content-Disposition: attachment; filename="包.7z"',
                    ],
                    b"7z\xbc\xaf\x27\x1c" + bytes(8),
                ),
                _mime_part(
                    [
                        "Content-Type: application/pkcs7-signature",
                        'Content-Disposition: attachment; filename="smime.p7s"',
                    ],
                    b"\x30\x82",
                ),
            ]
        )
        self.add(
            InboxCase(
                "附件格式.eml › 舊.xls", "unsupported", "defect 2: .xls attached", reason="另存為 .xlsx"
            ),
            mail,
            name="附件格式.eml",
        )
        self.add(InboxCase("附件格式.eml › 包.7z", "unsupported", "defect 2: .7z attached", reason="解壓縮"))
        self.add(InboxCase("附件格式.eml › smime.p7s", "ignored", "a signature is listed"))

    # defect 2: formats, odd names
    def formats(self) -> None:
        from workbook.formats.guard import _OLE

        for name, data in (
            ("舊格式.xls", _OLE + bytes(504)),
            ("二進位.xlsb", _zip_with({"xl/workbook.bin": b"\x00"})),
            ("壓縮檔.7z", b"7z\xbc\xaf\x27\x1c" + bytes(32)),
            ("壓縮檔.rar", b"Rar!\x1a\x07\x00" + bytes(32)),
        ):
            self.add(InboxCase(name, "unsupported", "defect 2: format", reason="格式不支援"), data)
        # issue 23: named for what they are, in the words kpi check uses (formats/kinds.py)
        flat = (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document '
            b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.3" '
            b'office:mimetype="application/vnd.oasis.opendocument.spreadsheet"></office:document>'
        )
        self.add(InboxCase("平面.fods", "unsupported", "issue 23: flat ODF", reason="扁平 ODF"), flat)
        for name, kind, words in (
            ("公文.odt", "text", "ODF 文字文件"),
            ("簡報.odp", "presentation", "ODF 簡報"),
        ):
            doc = odf_document(kind)
            self.add(
                InboxCase(
                    name, "ignored", "issue 23: an ODF document, not listed part by part", reason=words
                ),
                doc,
            )
        # an .odt with no suffix, and one in an archive: named too, never opened as an archive
        self.add(
            InboxCase("來函", "ignored", "issue 23: an ODF text without a suffix", reason="ODF 文字文件"),
            odf_document("text"),
        )
        self.add(
            InboxCase(
                "來函.zip › 函.odt", "ignored", "issue 23: an ODF text in an archive", reason="ODF 文字文件"
            ),
            _zip_with({"函.odt": odf_document("text")}),
            name="來函.zip",
        )
        # an .ods is read (issue 12); this one has no manifest, so the guard refuses it
        ods = _zip_with({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"})
        self.add(InboxCase("ODF試算表.ods", "unreadable", "an .ods without a manifest", reason="清單"), ods)
        for name in ("尾端空白.xlsx ", "尾端句點.xlsx."):
            unit = self.unit()
            data, entries, texts = self.workbook(unit)
            self.add(self.counted(name, "defect 2: trailing space or dot", unit, entries, texts), data)
        # an archive of unsupported things and a readme: every member listed
        buf = io.BytesIO()
        unit = self.unit()
        data, entries, texts = self.workbook(unit)
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("舊檔.xls", _OLE + bytes(504))
            z.writestr("另一份.rar", b"Rar!\x1a\x07\x00")
            z.writestr("讀我.txt", "說明")
            z.writestr("__MACOSX/._填報.xlsx", b"\x00\x05\x16\x07")
            z.writestr("填報.xlsx", data)
        self.add(
            buf
            and InboxCase(
                "混合.zip › 舊檔.xls", "unsupported", "defect 2: member format", reason="格式不支援"
            ),
            buf.getvalue(),
            name="混合.zip",
        )
        self.add(
            InboxCase("混合.zip › 另一份.rar", "unsupported", "defect 2: member format", reason="格式不支援")
        )
        self.add(InboxCase("混合.zip › 讀我.txt", "ignored", "defect 2: member listed"))
        self.add(self.counted("混合.zip › 填報.xlsx", "archive member", unit, entries, texts))

    # defect 2 and 7: email layouts
    def mails(self) -> None:
        mime = XLSX_MIME[0] + "/" + XLSX_MIME[1]

        def one(label: str, why: str, parts: Callable[[bytes], list[bytes]], member: str, **mail) -> None:
            unit = self.unit()
            data, entries, texts = self.workbook(unit)
            self.add(
                self.counted(f"{label} › {member}", why, unit, entries, texts),
                _mail(parts(data), **mail),
                name=label,
            )

        one("一般.eml", "plain attachment", lambda d: [_xlsx_part('filename="填報.xlsx"', d)], "填報.xlsx")
        one(
            "轉寄.eml",
            "defect 2: forwarded (message/rfc822)",
            lambda d: [
                _mime_part(
                    ["Content-Type: message/rfc822", "Content-Disposition: inline"],
                    _mail([_xlsx_part('filename="原件.xlsx"', d)], date="Tue, 08 Jan 2019 09:00:00 +0800"),
                    b64=False,
                )
            ],
            "原件.xlsx",
        )
        one(
            "AppleMail.eml",
            "defect 2: Apple Mail (inline, name only in Content-Type, inside alternative)",
            lambda d: [
                _multipart(
                    "alternative",
                    [
                        _mime_part(
                            ["Content-Type: text/plain; charset=us-ascii"], b"see attached", b64=False
                        ),
                        _multipart(
                            "related",
                            [
                                _mime_part(
                                    ["Content-Type: text/html; charset=us-ascii"], b"<p>x</p>", b64=False
                                ),
                                _mime_part(
                                    [
                                        f'Content-Type: {mime}; x-unix-mode=0644; name="Apple.xlsx"',
                                        "Content-Disposition: inline",
                                    ],
                                    d,
                                ),
                            ],
                            "==rel==",
                        ),
                    ],
                    "==alt==",
                )
            ],
            "Apple.xlsx",
        )
        one(
            "閘道包裝.eml",
            "defect 2: wrapped by a mail gateway (disclaimer + the original as an attachment)",
            lambda d: [
                _mime_part(
                    [
                        "Content-Type: message/rfc822",
                        'Content-Disposition: attachment; filename="original.eml"',
                    ],
                    _mail([_xlsx_part('filename="閘道.xlsx"', d)]),
                    b64=False,
                )
            ],
            "original.eml › 閘道.xlsx",
        )
        one(
            "winmail.eml",
            "defect 2: TNEF winmail.dat",
            lambda d: [
                _mime_part(
                    [
                        "Content-Type: application/ms-tnef; name=winmail.dat",
                        'Content-Disposition: attachment; filename="winmail.dat"',
                    ],
                    tnef([("TNEF填報.xlsx", d)]),
                )
            ],
            "winmail.dat › TNEF填報.xlsx",
        )
        one(
            "無檔名.eml",
            "defect 2: nameless attachment with a spreadsheet type",
            lambda d: [_mime_part([f"Content-Type: {mime}", "Content-Disposition: attachment"], d)],
            "未命名附件1.xlsx",
        )
        one(
            "怪字集.eml",
            "defect 7: unknown charset x-user-defined",
            lambda d: [
                _mime_part(['Content-Type: text/plain; charset="x-user-defined"'], b"\xa4\xa4", b64=False),
                _xlsx_part('filename="=?x-user-defined?B?YWJj?=.xlsx"', d),
            ],
            "abc.xlsx",
        )
        one(
            "big5附件.eml",
            "defect 7: charset=big5 on a base64 attachment",
            lambda d: [
                _mime_part(
                    [
                        'Content-Type: text/plain; charset="big5"; name="b5.xlsx"',
                        'Content-Disposition: attachment; filename="b5.xlsx"',
                    ],
                    d,
                )
            ],
            "b5.xlsx",
        )
        import base64

        b64 = lambda text, enc: base64.b64encode(text.encode(enc)).decode()  # noqa: E731
        one(
            "Big5檔名.eml",
            "defect 7: RFC 2047 Big5 name",
            lambda d: [_xlsx_part(f'filename="=?big5?B?{b64("秘書處填報.xlsx", "big5")}?="', d)],
            "秘書處填報.xlsx",
        )
        one(
            "GB2312檔名.eml",
            "defect 7: RFC 2047 GB2312 name",
            lambda d: [_xlsx_part(f'filename="=?gb2312?B?{b64("简体填报.xlsx", "gb2312")}?="', d)],
            "简体填报.xlsx",
        )
        one(
            "RFC2231檔名.eml",
            "defect 7: RFC 2231 name",
            lambda d: [_xlsx_part("filename*=utf-8''%E7%B8%BD%E5%8B%99%E7%A7%91.xlsx", d)],
            "總務科.xlsx",
        )
        one(
            "RFC2231續行.eml",
            "defect 7: RFC 2231 continuation in Big5",
            lambda d: [_xlsx_part("filename*0*=big5''%AF%B5%AE%D1; filename*1*=%B3B.xlsx", d)],
            "秘書處.xlsx",
        )
        # 3,000 nested multiparts: refused with a reason, never a RecursionError
        deep = b"MIME-Version: 1.0\r\n"
        for i in range(3000):
            deep += f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
        deep += b"Content-Type: text/plain\r\n\r\nhi\r\n" + b"".join(
            f"--b{i}--\r\n".encode() for i in reversed(range(3000))
        )
        self.add(
            InboxCase("巢狀3000層.eml", "unreadable", "defect 7: nested 3,000 deep", reason="巢狀"), deep
        )
        # an Outlook message whose workbook is an attachment, and a .msg inside a zip
        unit = self.unit()
        data, entries, texts = self.workbook(unit)
        self.add(
            self.counted("Outlook.msg › 填報.xlsx", "Outlook .msg", unit, entries, texts),
            outlook_msg("填報", "請查收", [("填報.xlsx", data), ("簽名檔.png", b"\x89PNG")]),
            name="Outlook.msg",
        )
        self.add(InboxCase("Outlook.msg › 簽名檔.png", "ignored", "attachment listed"))
        unit = self.unit()
        data, entries, texts = self.workbook(unit)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("寄件.eml", _mail([_xlsx_part('filename="壓縮內郵件.xlsx"', data)]))
        self.add(
            self.counted(
                "郵件壓縮.zip › 寄件.eml › 壓縮內郵件.xlsx", "an email inside a zip", unit, entries, texts
            ),
            buf.getvalue(),
            name="郵件壓縮.zip",
        )

    # defect 1 and 7: control characters, names
    def text_and_names(self) -> None:
        unit = self.unit()
        texts = {
            ("note", "FY", "procurement_pass_rate"): NOTE_WITH_CONTROLS,
            ("description", "FY", _first_item(self.plan)): f"第一行{VT}第二行",
        }
        data, entries, _ = self.workbook(unit, texts=texts)
        want = {k: v.replace(VT, "\x0b").replace(BEL, "\x07") for k, v in texts.items()}
        self.add(
            self.counted(
                "控制字元.xlsx",
                "defect 1: control characters in cells (typed after calculating, so stale)",
                unit,
                entries,
                want,
                status="warnings",
                codes={"stale"},
            ),
            with_controls(data),
        )
        unit = self.unit()
        data, entries, texts = self.workbook(unit)
        self.add(
            self.counted(
                "響鈴\x07\u202e名稱.xlsx",
                "defect 1: control and bidi characters in a file name",
                unit,
                entries,
                texts,
            ),
            data,
        )
        unit = self.unit()
        data, entries, texts = self.workbook(unit)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("成員\x1b[31m.xlsx", data)
        self.add(
            self.counted(
                "控制字元成員.zip › 成員\x1b[31m.xlsx",
                "defect 1: control characters in a member name",
                unit,
                entries,
                texts,
            ),
            buf.getvalue(),
            name="控制字元成員.zip",
        )
        # a Big5 member name without the UTF-8 flag (Windows zip tools in Taiwan)
        unit = self.unit()
        data, entries, texts = self.workbook(unit)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(zipfile.ZipInfo("abcd.xlsx"), data)
        raw = buf.getvalue().replace(b"abcd.xlsx", "填報".encode("cp950") + b".xlsx", 2)  # same length
        self.add(
            self.counted("大五碼成員.zip › 填報.xlsx", "defect 7: Big5 member name", unit, entries, texts),
            raw,
            name="大五碼成員.zip",
        )
        # names on disk that are not UTF-8: Big5 bytes (recovered) and bytes of no encoding (escaped)
        for raw_name, label in (
            ("秘書處".encode("cp950") + b".xlsx", "秘書處.xlsx"),
            (b"\xff\xfe\xfd.xlsx", "\\xff\\xfe\\xfd.xlsx"),
        ):
            unit = self.unit()
            data, entries, texts = self.workbook(unit)
            with open(os.path.join(os.fsencode(self.root), raw_name), "wb") as fh:
                fh.write(data)
            self.add(
                self.counted(label, "defect 7: a file name on disk that is not UTF-8", unit, entries, texts)
            )

    # defect 5: the newest version by saved time, then email Date, then mtime
    def versions(self) -> None:
        unit = self.unit()
        old, _, _ = self.workbook(unit, saved=T_OLD)
        corrected = copy.deepcopy(
            scoped_entries(
                L.Scope(self.plan, period_id="FY", unit=unit, data_year=INBOX_YEAR),
                unit_counts(unit, INBOX_YEAR),
            )
        )
        corrected["FY"]["safety_defects"]["count"] += 7
        new, entries, texts = self.workbook(unit, counts=corrected, calculated=False, saved=T_NEW)
        # "z" sorts last and "a" first: order must not decide
        self.add(
            InboxCase(
                "版本/z_舊版_已計算.xlsx",
                "duplicate",
                "defect 5: an older calculated file",
                unit,
                winner="版本/a_更正_未計算.xlsx",
            ),
            old,
        )
        self.add(
            self.counted(
                "版本/a_更正_未計算.xlsx",
                "defect 5: a newer uncalculated correction wins",
                unit,
                entries,
                texts,
                status="warnings",
                codes={"not_calculated"},
            ),
            new,
        )
        # no saved time: the email's Date decides
        unit = self.unit()
        older, _, _ = self.workbook(unit, saved=None)
        fixed = copy.deepcopy(
            scoped_entries(
                L.Scope(self.plan, period_id="FY", unit=unit, data_year=INBOX_YEAR),
                unit_counts(unit, INBOX_YEAR),
            )
        )
        fixed["FY"]["safety_defects"]["count"] += 3
        newer, entries, texts = self.workbook(unit, counts=fixed, saved=None)
        self.add(
            InboxCase(
                "日期/a_早寄.eml › 填報.xlsx",
                "duplicate",
                "defect 5: the earlier email",
                unit,
                winner="日期/b_晚寄.eml › 填報.xlsx",
            ),
            _mail([_xlsx_part('filename="填報.xlsx"', older)], date="Mon, 14 Jan 2019 09:00:00 +0800"),
            name="日期/a_早寄.eml",
        )
        self.add(
            self.counted(
                "日期/b_晚寄.eml › 填報.xlsx", "defect 5: the later email's Date wins", unit, entries, texts
            ),
            _mail([_xlsx_part('filename="填報.xlsx"', newer)], date="Tue, 15 Jan 2019 09:00:00 +0800"),
            name="日期/b_晚寄.eml",
        )
        # neither: the file's modification time
        unit = self.unit()
        older, _, _ = self.workbook(unit, saved=None)
        fixed = copy.deepcopy(
            scoped_entries(
                L.Scope(self.plan, period_id="FY", unit=unit, data_year=INBOX_YEAR),
                unit_counts(unit, INBOX_YEAR),
            )
        )
        fixed["FY"]["safety_defects"]["count"] += 4
        newer, entries, texts = self.workbook(unit, counts=fixed, saved=None)
        self.add(
            InboxCase(
                "時間/b_較舊.xlsx", "duplicate", "defect 5: the older mtime", unit, winner="時間/a_較新.xlsx"
            ),
            older,
        )
        self.add(
            self.counted("時間/a_較新.xlsx", "defect 5: the newer mtime wins", unit, entries, texts), newer
        )
        os.utime(self.root / "時間/b_較舊.xlsx", (1_500_000_000, 1_500_000_000))
        os.utime(self.root / "時間/a_較新.xlsx", (1_600_000_000, 1_600_000_000))

    # defects 3, 4 and 9: sections sharing one template, conflicts, units, staff text
    def sections_and_units(self) -> None:
        unit = self.unit()
        full = scoped_entries(
            L.Scope(self.plan, period_id="FY", unit=unit, data_year=INBOX_YEAR), unit_counts(unit, INBOX_YEAR)
        )
        merged: Entries = {"FY": {}}
        for k, owner in enumerate(self.plan.owners):
            mine = {"FY": {i: v for i, v in full["FY"].items() if self.plan.indicator(i).owner == owner}}
            merged["FY"].update(mine["FY"])
            data, _, _ = self.workbook(unit, counts=mine, saved=T_OLD + timedelta(hours=k))
            self.add(
                InboxCase(
                    f"分工/{owner}.xlsx",
                    "ok",
                    "defect 4: sections fill their own part of one template",
                    unit,
                    counts=mine,
                ),
                data,
            )
        self.section_counts = (unit, merged)
        # two sections type different numbers for one input: a conflict naming both files
        unit = self.unit()
        base = scoped_entries(
            L.Scope(self.plan, period_id="FY", unit=unit, data_year=INBOX_YEAR), unit_counts(unit, INBOX_YEAR)
        )
        a = {
            "FY": {
                "procurement_pass_rate": base["FY"]["procurement_pass_rate"],
                "safety_defects": base["FY"]["safety_defects"],
            }
        }
        b = {
            "FY": {
                "e_tender_rate": base["FY"]["e_tender_rate"],
                "safety_defects": {"count": base["FY"]["safety_defects"]["count"] + 9},
            }
        }
        da, _, _ = self.workbook(unit, counts=a, saved=T_OLD)
        db, _, _ = self.workbook(unit, counts=b, saved=T_NEW)
        self.add(
            InboxCase(
                "衝突/甲.xlsx", "errors", "defect 4: conflicting numbers (older)", unit, codes={"conflict"}
            ),
            da,
        )
        self.add(
            InboxCase(
                "衝突/乙.xlsx",
                "errors",
                "defect 4: conflicting numbers (newer, taken)",
                unit,
                codes={"conflict"},
            ),
            db,
        )
        self.conflict = (unit, {"FY": {**a["FY"], **b["FY"]}})
        # a template made without --unit: staff type the unit in its 填報單位 cell
        unit = self.unit()

        def type_unit(book: FileBook, unit: str = unit) -> None:
            sheet, row, col = book.names()[L.UNIT_NAME]
            book.write(sheet, row, col, [[unit]])

        data, entries, texts = self.workbook(unit, scope_unit="", before=type_unit)
        self.add(
            self.counted(
                "無單位範本_已填.xlsx", "defect 3: unit typed in the 填報單位 cell", unit, entries, texts
            ),
            data,
        )
        for name in ("無單位範本_甲.xlsx", "無單位範本_乙.xlsx"):
            data, _, _ = self.workbook(self.unit(), scope_unit="")
            self.add(
                InboxCase(
                    name,
                    "errors",
                    "defect 3: no unit is an error naming the file, never a duplicate",
                    codes={"unit_missing"},
                ),
                data,
            )
        # staff's own text: notes, 執行進度 and 執行情形 reach the summary
        unit = self.unit()
        items = [i.id for w in self.plan.work_plans for i in w.items]
        texts = {("note", "FY", ind.id): f"{ind.name}：本科自行補充說明。" for ind in self.plan.indicators}
        for n, item in enumerate(items):
            texts[("progress", "FY", item)] = 50 + n
            texts[("description", "FY", item)] = f"第{n + 1}項執行情形：辦理說明會 {n + 2} 場。"
        data, entries, _ = self.workbook(unit, texts=texts)
        self.add(self.counted("文字說明.xlsx", "defect 9: staff text", unit, entries, texts), data)

    # defects 8 and 10: summaries, producers, big staff sheets, Strict OOXML
    def producers(self) -> None:
        unit = self.unit()
        data, entries, texts = self.workbook(unit)
        self.add(
            self.counted(
                "XlsxWriter重存.xlsx", "defect 10: cached zeros are no tampering", unit, entries, texts
            ),
            cached_zeros(data),
        )
        unit = self.unit()

        def big_sheet(book: FileBook) -> None:
            ws = book.wb.create_sheet("自行統計")
            for r in range(20_000):
                ws.append([r, f"案件{r}", r * 2, r % 7, "備註", r, r, r, r, r])

        data, entries, texts = self.workbook(unit, before=big_sheet)
        self.add(
            self.counted(
                "自行統計2萬列.xlsx",
                "defect 10: a 20,000 × 10 staff sheet passes the guard",
                unit,
                entries,
                texts,
            ),
            data,
        )
        data, _, _ = self.workbook(self.unit())
        self.add(
            InboxCase("Strict格式.xlsx", "unsupported", "defect 10: Strict OOXML", reason="Strict"),
            strict_ooxml(data),
        )


def odf_document(kind: str) -> bytes:
    """An OpenDocument package of ``kind`` (text, presentation) as LibreOffice lays it out."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("mimetype", f"application/vnd.oasis.opendocument.{kind}", compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", b'<?xml version="1.0"?><office:document-content/>')
        z.writestr("styles.xml", b'<?xml version="1.0"?><office:document-styles/>')
        z.writestr("META-INF/manifest.xml", b'<?xml version="1.0"?><manifest:manifest/>')
    return buf.getvalue()


def _zip_with(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return buf.getvalue()


def _item(plan: Plan, item_id: str):
    return next(i for w in plan.work_plans for i in w.items if i.id == item_id)


def _first_item(plan: Plan) -> str:
    return plan.work_plans[0].items[0].id


def build_inbox(root: Path) -> Inbox:
    """Write the inbox corpus into ``root`` and return its cases."""
    return _InboxBuilder(Path(root)).build()
