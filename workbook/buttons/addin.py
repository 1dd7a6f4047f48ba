"""Build and install the ribbon add-in that holds the 「計算」 button.

The add-in is xlwings' own ``quickstart_addin_ribbon.xlam`` with its VBA untouched
(``vbaProject.bin`` is copied byte for byte).  We change three parts only:

* ``customUI/customUI.xml``: a zh-TW tab with one large 「計算」 button whose
  ``onAction`` is ``RibbonMyAddin.RunMain``, the template's only callback;
* ``xl/workbook.xml``: the configuration sheet ``_myaddin.conf`` is renamed
  ``myaddin.conf``, which is the name the add-in reads;
* ``xl/worksheets/sheet1.xml``: ``Interpreter_Win`` / ``Interpreter_Mac`` name this
  installation's ``kpi-excel-python`` launcher (:mod:`workbook.buttons.launch`, which keeps
  pandas out of the click's process before ``RunPython``'s ``import xlwings.utils``
  can load it), or the Python that runs the build where the launcher is missing; and a
  10th row ``ADD_WORKBOOK_TO_PYTHONPATH`` = FALSE, because a workbook opened from
  OneDrive or SharePoint has a URL for a name, which ``prepare_sys_path`` fails on
  (and the package is installed, so nothing needs the workbook's folder).

``RunMain`` imports the module named after the add-in file and calls its
``main()``, so the file is named after this package's :mod:`macros`.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from kpi_engine.errors import KpiError
from workbook.errors import os_words
from workbook.formats.files import save_atomic
from workbook.formats.zips import rewrite_members

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


class AddinError(KpiError):
    """The add-in cannot be built or installed; the message is for people."""

    code = "addin"


def template_path() -> Path:
    """xlwings' ribbon add-in template, as installed with xlwings."""
    import xlwings

    path = Path(xlwings.__file__).parent / TEMPLATE_NAME
    if not path.is_file():
        raise AddinError(f"找不到 xlwings 的增益集範本 / xlwings add-in template not found: {path}")
    return path


LAUNCHER = "kpi-excel-python"
#: The configuration key added as row 10 (GetConfigFromSheet reads column A down to the
#: first blank cell, so the row must follow Show Console directly).
NO_WORKBOOK_PATH = "ADD_WORKBOOK_TO_PYTHONPATH"


def default_interpreter() -> str:
    """The ``kpi-excel-python`` launcher beside this Python's scripts, else this Python."""
    import sysconfig

    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        for name in (LAUNCHER + ".exe", LAUNCHER):
            candidate = Path(folder) / name
            if candidate.is_file():
                return str(candidate)
    found = shutil.which(LAUNCHER)
    return found or sys.executable


def _set_interpreter(sheet_xml: str, interpreter: str) -> str:
    """Fill B1 (Interpreter_Win) and B2 (Interpreter_Mac); add ADD_WORKBOOK_TO_PYTHONPATH FALSE."""
    for row in (1, 2):
        old = f'<row r="{row}" spans="1:1" ht="15.75"><c r="A{row}" s="1" t="s"><v>{5 + row}</v></c></row>'
        if old not in sheet_xml:
            raise AddinError("xlwings 增益集範本的設定工作表格式不符 / unexpected add-in config sheet layout")
        cell = f'<c r="B{row}" s="1" t="inlineStr"><is><t>{escape(interpreter)}</t></is></c>'
        sheet_xml = sheet_xml.replace(
            old, old.replace('spans="1:1"', 'spans="1:2"').replace("</row>", cell + "</row>")
        )
    row9 = '<c r="B9" s="1" t="b"><v>0</v></c></row>'
    if row9 not in sheet_xml:
        raise AddinError("xlwings 增益集範本的設定工作表格式不符 / unexpected add-in config sheet layout")
    row10 = (
        '<row r="10" spans="1:2" ht="15.75">'
        f'<c r="A10" s="1" t="inlineStr"><is><t>{NO_WORKBOOK_PATH}</t></is></c>'
        '<c r="B10" s="1" t="b"><v>0</v></c></row>'
    )
    return sheet_xml.replace(row9, row9 + row10)


def build_addin(folder: str | Path, *, interpreter: str | None = None) -> Path:
    """Write ``macros.xlam`` into ``folder`` and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ADDIN_NAME
    interpreter = interpreter or default_interpreter()
    data = template_path().read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        workbook = src.read("xl/workbook.xml")
        sheet = src.read("xl/worksheets/sheet1.xml").decode("utf-8")
    replaced = {
        "customUI/customUI.xml": CUSTOM_UI.encode("utf-8"),
        "xl/workbook.xml": workbook.replace(b'name="_myaddin.conf"', b'name="myaddin.conf"'),
        "xl/worksheets/sheet1.xml": _set_interpreter(sheet, interpreter).encode("utf-8"),
    }
    # every other member (vbaProject.bin above all) copied as its compressed bytes
    return save_atomic(rewrite_members(data, replaced), target)


def startup_folder() -> Path:
    """Excel's start-up folder (XLSTART), as ``xlwings addin install`` finds it.

    A running Excel is asked; otherwise a hidden Excel is started for the question
    and closed again, so no invisible Excel stays behind holding files.
    """
    if sys.platform not in ("win32", "darwin"):
        raise AddinError(
            "本機沒有 Microsoft Excel（僅支援 Windows 與 macOS），無法安裝增益集；"
            "請在使用 Excel 的電腦上執行 kpi addin install。"
            " / Microsoft Excel is not available on this machine (Windows or macOS only)."
        )
    started = None
    try:
        import xlwings as xw

        if xw.apps:
            app = xw.apps.active
        else:
            app = started = xw.App(visible=False, add_book=False)
        return Path(app.startup_path)
    except Exception as exc:  # Excel missing, not registered, or refusing automation
        raise AddinError(
            "找不到可用的 Microsoft Excel（未安裝或無法啟動），無法取得啟動資料夾；"
            "請確認已安裝 Excel 並開啟過一次後再執行 kpi addin install。"
            f" / cannot reach Microsoft Excel to find its start-up folder (XLSTART): {exc}"
        ) from exc
    finally:
        if started is not None:
            try:
                started.quit()
            except Exception:  # a hidden Excel that will not quit is killed
                with contextlib.suppress(Exception):
                    started.kill()


def install_addin(folder: Path | None = None) -> Path:
    """Build the add-in and copy it into Excel's start-up folder; return the installed path.

    A copy that cannot be made (the add-in is open in a running Excel, which locks the
    file, or the folder is not writable) is an :class:`AddinError` saying what to do.
    """
    target_dir = folder or startup_folder()
    target = target_dir / ADDIN_NAME
    try:
        with tempfile.TemporaryDirectory() as tmp:
            built = build_addin(tmp)
            target_dir.mkdir(parents=True, exist_ok=True)
            return Path(shutil.copyfile(built, target))
    except PermissionError as exc:
        raise AddinError(
            f"無法寫入 {target}：檔案正被 Excel 使用或沒有寫入權限。請關閉所有 Excel 視窗後再執行 kpi addin install。"
            f" / cannot write {target}: it is open in Excel or the folder is not writable; "
            "close every Excel window and run kpi addin install again"
        ) from exc
    except OSError as exc:
        raise AddinError(
            "無法安裝增益集到 {0}：{1} / cannot install the add-in into {0}: {2}".format(
                target_dir, *os_words(exc)
            )
        ) from exc
