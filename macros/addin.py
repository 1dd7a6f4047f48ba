"""Build and install the ribbon add-in that holds the 「計算」 button.

The add-in is xlwings' own ``quickstart_addin_ribbon.xlam`` with its VBA untouched
(``vbaProject.bin`` is copied byte for byte).  We change three parts only:

* ``customUI/customUI.xml``: a zh-TW tab with one large 「計算」 button whose
  ``onAction`` is ``RibbonMyAddin.RunMain``, the template's only callback;
* ``xl/workbook.xml``: the configuration sheet ``_myaddin.conf`` is renamed
  ``myaddin.conf``, which is the name the add-in reads;
* ``xl/worksheets/sheet1.xml``: ``Interpreter_Win`` / ``Interpreter_Mac`` are set to
  the Python that runs the build, so the button runs this installation.

``RunMain`` imports the module named after the add-in file and calls its
``main()``, so the file is named after this package's :mod:`macros`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

ADDIN_NAME = "macros.xlam"  # RunMain runs `import macros; macros.main()`
TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
CALLBACK = "RibbonMyAddin.RunMain"

CUSTOM_UI = f"""<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">
  <ribbon>
    <tabs>
      <tab id="kpiTab" label="績效指標">
        <group id="kpiGroup" label="績效指標填報">
          <button id="kpiCalculate" label="計算" size="large" imageMso="CalculateNow"
                  screentip="計算績效指標" supertip="檢核填報數據，計算實際值、達成率、燈號並產生分析文字。"
                  onAction="{CALLBACK}" />
        </group>
      </tab>
    </tabs>
  </ribbon>
</customUI>
"""


class AddinError(Exception):
    """The add-in cannot be built or installed; the message is for people."""


def template_path() -> Path:
    """xlwings' ribbon add-in template, as installed with xlwings."""
    import xlwings

    path = Path(xlwings.__file__).parent / TEMPLATE_NAME
    if not path.is_file():
        raise AddinError(f"找不到 xlwings 的增益集範本 / xlwings add-in template not found: {path}")
    return path


def _set_interpreter(sheet_xml: str, interpreter: str) -> str:
    """Fill B1 (Interpreter_Win) and B2 (Interpreter_Mac) of the configuration sheet."""
    for row in (1, 2):
        old = f'<row r="{row}" spans="1:1" ht="15.75"><c r="A{row}" s="1" t="s"><v>{5 + row}</v></c></row>'
        if old not in sheet_xml:
            raise AddinError("xlwings 增益集範本的設定工作表格式不符 / unexpected add-in config sheet layout")
        cell = f'<c r="B{row}" s="1" t="inlineStr"><is><t>{escape(interpreter)}</t></is></c>'
        sheet_xml = sheet_xml.replace(
            old, old.replace('spans="1:1"', 'spans="1:2"').replace("</row>", cell + "</row>")
        )
    return sheet_xml


def build_addin(folder: str | Path, *, interpreter: str | None = None) -> Path:
    """Write ``macros.xlam`` into ``folder`` and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ADDIN_NAME
    interpreter = interpreter or sys.executable
    fd, tmp = tempfile.mkstemp(suffix=".xlam.tmp", dir=folder)
    os.close(fd)
    try:
        with zipfile.ZipFile(template_path()) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename == "customUI/customUI.xml":
                    data = CUSTOM_UI.encode("utf-8")
                elif info.filename == "xl/workbook.xml":
                    data = data.replace(b'name="_myaddin.conf"', b'name="myaddin.conf"')
                elif info.filename == "xl/worksheets/sheet1.xml":
                    data = _set_interpreter(data.decode("utf-8"), interpreter).encode("utf-8")
                dst.writestr(info, data)  # same name, date and compression; vbaProject.bin verbatim
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def startup_folder() -> Path:
    """Excel's start-up folder (XLSTART), as ``xlwings addin install`` finds it."""
    if sys.platform not in ("win32", "darwin"):
        raise AddinError(
            "本機沒有 Microsoft Excel（僅支援 Windows 與 macOS），無法安裝增益集；"
            "請在使用 Excel 的電腦上執行 kpi addin install。"
            " / Microsoft Excel is not available on this machine (Windows or macOS only)."
        )
    try:
        import xlwings as xw

        app = xw.apps.active if xw.apps else xw.App(visible=False)
        return Path(app.startup_path)
    except Exception as exc:  # Excel missing or refusing automation
        raise AddinError(
            f"無法連線 Excel 取得啟動資料夾 / cannot reach Excel to find XLSTART: {exc}"
        ) from exc


def install_addin(folder: Path | None = None) -> Path:
    """Build the add-in and copy it into Excel's start-up folder; return the installed path."""
    target_dir = folder or startup_folder()
    with tempfile.TemporaryDirectory() as tmp:
        built = build_addin(tmp)
        target_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copyfile(built, target_dir / ADDIN_NAME))
