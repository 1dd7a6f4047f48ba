"""Render the README's printed pictures: the seed report in both forms (管考 ``review`` and the
plan's ``plan``), a 6-unit report, a two-year report, the printed indicator sheet and 達成情形 of
the calculated demo workbook, and the plan workbook's KPI table as it prints.

    python tools/report_images.py [OUT_DIR]      (default docs/images)

Needs LibreOffice and poppler (pdftoppm).  Every picture is the real output of
``kpi report`` turned into PDF by LibreOffice and into PNG by pdftoppm.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from report_support import COUNTS_107, make_workbook  # noqa: E402

from kpi_engine import load_plan  # noqa: E402
from workbook.cli import main  # noqa: E402
from workbook.demo import run_demo  # noqa: E402
from workbook.libreoffice import pdf_to_pngs  # noqa: E402

UNITS = {  # six district offices with the same plan; counts chosen to show every light
    "北區區公所": {
        "procurement_pass_rate": (180, 200),
        "e_tender_rate": (12, 12),
        "failed_tender_rate": (40, 600),
        "safety_defects": 50,
        "volunteer_growth": (108, 100),
    },
    "南區區公所": {
        "procurement_pass_rate": (150, 200),
        "e_tender_rate": (11, 12),
        "failed_tender_rate": (70, 560),
        "safety_defects": 70,
        "volunteer_growth": (103, 100),
    },
    "東區區公所": {
        "procurement_pass_rate": (170, 200),
        "e_tender_rate": (10, 10),
        "failed_tender_rate": (66, 600),
        "safety_defects": 58,
        "volunteer_growth": (110, 100),
    },
    "西區區公所": {
        "procurement_pass_rate": (120, 200),
        "e_tender_rate": (8, 10),
        "failed_tender_rate": (90, 600),
        "safety_defects": 80,
        "volunteer_growth": (95, 100),
    },
    "中區區公所": {
        "procurement_pass_rate": (166, 200),
        "e_tender_rate": (9, 10),
        "failed_tender_rate": (68, 600),
        "safety_defects": 61,
        "volunteer_growth": (107, 100),
    },
    "北屯區公所": {
        "procurement_pass_rate": (190, 200),
        "e_tender_rate": (20, 20),
        "failed_tender_rate": (30, 600),
        "safety_defects": 40,
        "volunteer_growth": (115, 100),
    },
}


def entries(counts: dict) -> dict:
    roles = {
        "procurement_pass_rate": ("numerator", "denominator"),
        "e_tender_rate": ("numerator", "denominator"),
        "failed_tender_rate": ("numerator", "denominator"),
        "volunteer_growth": ("current", "previous"),
    }
    out = {}
    for ind, v in counts.items():
        out[ind] = {"count": v} if ind == "safety_defects" else dict(zip(roles[ind], v, strict=True))
    return out


def render(odt_args: list[str], out: Path, stem: str, pages: int | None = None) -> list[Path]:
    pdf = out.parent / f".{stem}.pdf"
    assert main([*odt_args, "-o", str(pdf)]) == 0
    pngs = pdf_to_pngs(pdf, out / stem, dpi=90)
    pdf.unlink()
    for extra in pngs[pages:] if pages else []:
        extra.unlink()
    return pngs[:pages] if pages else pngs


def printed_sheets(xlsx: Path, tmp: Path, out: Path, wanted: dict[str, str], dpi: int = 80) -> list[Path]:
    """Print ``xlsx`` through LibreOffice; keep the first page of each sheet in ``wanted``
    (sheet name → picture stem), found by the sheet name its footer prints."""
    import shutil
    import subprocess

    from workbook.libreoffice import convert_to_pdf

    pdf = convert_to_pdf(xlsx, tmp / f"{xlsx.stem}.pdf")
    pages = pdf_to_pngs(pdf, tmp / f"{xlsx.stem}-page", dpi=dpi)
    made = []
    for sheet, stem in wanted.items():
        for n, png in enumerate(pages, start=1):
            text = subprocess.run(
                ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True, text=True
            ).stdout
            tail = [line.strip() for line in text.splitlines() if line.strip()][-2:]
            if any(line.startswith(sheet) for line in tail):  # the footer: the sheet name, 第 n 頁
                made.append(Path(shutil.copy(png, out / f"{stem}.png")))
                break
        else:
            raise SystemExit(f"no printed page of {sheet} in {pdf}")
    return made


def plan_workbook_print(tmp: Path, out: Path) -> list[Path]:
    """The first printed page of the plan workbook's KPI table (``kpi plan export``)."""
    import shutil

    from workbook.libreoffice import convert_to_pdf

    book = tmp / "plan.xlsx"
    assert main(["plan", "export", "-o", str(book)]) == 0
    pdf = convert_to_pdf(book, tmp / "plan.pdf")
    pages = pdf_to_pngs(pdf, tmp / "plan-page", dpi=70)
    first_kpi = next(p for p in pages if "關鍵績效指標" in _page_text(pdf, pages.index(p) + 1))
    return [Path(shutil.copy(first_kpi, out / "plan-workbook-print.png"))]


def _page_text(pdf: Path, n: int) -> str:
    import subprocess

    return subprocess.run(
        ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True, text=True
    ).stdout


def summary_charts(units: Path, tmp: Path, out: Path) -> list[Path]:
    """The summary workbook's 圖表 sheet alone, printed by LibreOffice."""
    import openpyxl

    from workbook.libreoffice import convert_to_pdf

    summary = tmp / "summary.xlsx"
    assert main(["collect", str(units), "-o", str(summary)]) in (0, 1)
    wb = openpyxl.load_workbook(summary)
    for name in wb.sheetnames:
        if name != "圖表":
            del wb[name]
    wb.save(tmp / "charts.xlsx")
    pdf = convert_to_pdf(tmp / "charts.xlsx", tmp / "charts.pdf")
    pages = pdf_to_pngs(pdf, out / "summary-charts", dpi=70)
    for extra in pages[1:]:
        extra.unlink()
    return pages[:1]


def run(out: Path) -> list[Path]:
    plan = load_plan()
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _, _, seed = run_demo(tmp / "demo")
        made += render(["report", str(seed)], out, "report-seed", pages=1)
        made += render(["report", str(seed), "--form", "plan"], out, "report-seed-plan", pages=1)
        made += printed_sheets(
            seed,
            tmp,
            out,
            {"二-1 本府採購專業人員基礎班訓練及格率": "demo-indicator", "達成情形": "demo-achievement"},
        )
        made += plan_workbook_print(tmp, out)
        ods = tmp / "template.ods"  # the blank .ods template, as LibreOffice prints it
        assert main(["template", "-o", str(ods), "--year", "106"]) == 0
        made += printed_sheets(ods, tmp, out, {"二-1 本府採購專業人員基礎班訓練及格率": "ods-template"})
        units = tmp / "units"
        units.mkdir()
        for unit, counts in UNITS.items():
            make_workbook(
                plan, units, f"{unit}.xlsx", year=107, period="H1", unit=unit, entries=entries(counts)
            )
        made += render(["report", str(units)], out, "report-6units", pages=2)
        made += summary_charts(units, tmp, out)
        db = tmp / "kpi.sqlite"
        y107 = make_workbook(
            plan,
            tmp,
            "107.xlsx",
            year=107,
            entries=COUNTS_107,
            notes={"e_tender_rate": "一件採購因系統維護改以紙本領標。"},
        )
        for wb in (seed, y107):
            assert main(["collect", str(wb), "-o", str(tmp / f"s-{wb.stem}.xlsx"), "--archive", str(db)]) == 0
        made += render(
            ["report", "--archive", str(db), "--year", "107", "--compare", "106"],
            out,
            "report-2years",
            pages=2,
        )
    return made


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "images"
    for path in run(target):
        print(path)
