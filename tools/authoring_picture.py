"""Render the README's picture of the plan-authoring workbook (docs/images/plan-authoring*.png).

The seed's Part 2–4 are typed into an .odt (as the import tests do), imported with
``kpi plan import 施政計畫.odt -o 計畫設定.xlsx``, and the 關鍵績效指標 sheet's Part 2
and review columns are printed through LibreOffice.  Run from the repository root:
``python tools/authoring_picture.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from plan_documents import seed_blocks, write_odt  # noqa: E402

from kpi_engine import load_plan  # noqa: E402
from workbook import libreoffice as lo  # noqa: E402
from workbook.cli import main  # noqa: E402
from workbook.plan_io.authoring import KPI_COLUMNS, SHEET_KPI, SHEET_PLAN  # noqa: E402

SEED = ROOT.parent / "shared" / "seed" / "000_e82097005b831da2.txt"


def render(out_dir: Path = ROOT / "docs" / "images") -> list[Path]:
    """Write plan-authoring.png (the KPI sheet up to 待確認) and plan-authoring-plan.png (計畫)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        doc = write_odt(
            seed_blocks(SEED.read_text(encoding="utf-8"), load_plan()), work / "施政計畫.odt", header_rows=2
        )
        book = work / "計畫設定.xlsx"
        main(["plan", "import", str(doc), "-o", str(book)])
        outputs = []
        for sheet, name, last in (
            (SHEET_KPI, "plan-authoring", [c.key for c in KPI_COLUMNS].index("review") + 1),
            (SHEET_PLAN, "plan-authoring-plan", 4),
        ):
            wb = openpyxl.load_workbook(book)
            for other in wb.sheetnames:
                if other != sheet:
                    wb[other].sheet_state = "hidden"
            ws = wb[sheet]
            wb.active = wb.sheetnames.index(sheet)
            ws.print_area = f"A1:{openpyxl.utils.get_column_letter(last)}{ws.max_row}"
            copy = work / f"{name}.xlsx"
            wb.save(copy)
            pdf = lo.convert_to_pdf(copy, work / f"{name}.pdf")
            page = lo.pdf_to_pngs(pdf, work / name, dpi=110)[0]
            target = out_dir / f"{name}.png"
            target.write_bytes(page.read_bytes())
            outputs.append(target)
        return outputs


if __name__ == "__main__":
    for path in render():
        print(path)
