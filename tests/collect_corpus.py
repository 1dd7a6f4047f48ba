"""A realistic pile of returned workbooks for ``kpi collect`` tests and benchmarks.

Every workbook is made the way staff make one: the real template
(:func:`~workbook.builder.write_template`), counts typed into its input cells
(:func:`~workbook.demo.fill`), :func:`~workbook.calculate.calculate` through a
:class:`~workbook.bookio.FileBook`, saved by openpyxl (so formula cells carry no
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
import io
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
from workbook import layout as L
from workbook.bookio import FileBook, cell_address
from workbook.builder import write_template
from workbook.calculate import calculate
from workbook.demo import fill

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
        tag = b'<dcterms:modified xsi:type="dcterms:W3CDTF">' + stamp + b"</dcterms:modified>"
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
