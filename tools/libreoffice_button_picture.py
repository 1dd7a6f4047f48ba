"""Render the README's picture of the LibreOffice 計算 button (docs/images/libreoffice-button.png).

The seed's 106 上半年 sample in a protected template, opened in a real Calc window (Xvfb) with
``kpi-workbook.oxt`` installed for all users; 「績效指標 → 計算」 chosen from the keyboard on the
procurement indicator's sheet; the screen with the message box is cropped to the menu bar, the
floating 計算 toolbar, the sheet's results and the box.  Needs LibreOffice, Xvfb and xdotool.
Run from the repository root: ``python tools/libreoffice_button_picture.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from calc_window import CalcWindow  # noqa: E402
from helpers_workbook import build_filled  # noqa: E402
from PIL import Image  # noqa: E402

from kpi_engine import load_plan  # noqa: E402
from workbook.buttons.lo_macro import TITLE  # noqa: E402
from workbook.buttons.oxt import prepare_shared  # noqa: E402
from workbook.form import layout as L  # noqa: E402

#: The part of the 1400×900 screen shown: menus, toolbars, the indicator's inputs and results to 檢核.
CROP = (0, 0, 1400, 672)


def render(out: Path = ROOT / "docs" / "images" / "libreoffice-button.png") -> Path:
    """Click 計算 in a Calc window and save the cropped screen with its message box to ``out``."""
    plan = load_plan()
    h1 = plan.period(plan.sample.period)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path, _ = build_filled(L.Scope(plan, data_year=106), {h1.id: plan.sample.entries}, work / "填報.xlsx")
        args = prepare_shared(work / "unopkg-profile", work / "shared")
        with CalcWindow(path, work / "screen", args=args) as win:
            win.go_to(L.input_name(plan.indicator("procurement_pass_rate"), h1, "numerator"))
            win.extension_menu_first_item()
            box = win.find_window(TITLE)
            win.xdotool("sleep", "1")
            shot = win.screenshot("message.png")
            win.press_enter_in(box)
        with Image.open(shot) as img:
            img.crop(CROP).save(out, optimize=True)
    return out


if __name__ == "__main__":
    print(render())
