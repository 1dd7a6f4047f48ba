"""Build and install the LibreOffice extension that holds the 計算 button.

``kpi-workbook.oxt`` adds 「績效指標 → 計算」 to Calc's menu bar and a 計算 toolbar
button (``Addons.xcu``, spreadsheet documents only).  Both run the Python macro
``python/kpi_button.py`` (:mod:`workbook.buttons.lo_macro`) through the script URL
below.  ``python/pythonpath`` holds copies of :mod:`workbook.books.unocore` and the
cell codec it uses, :mod:`workbook.formats.cells` (``kpi_unocore.py``, ``kpi_cells.py``), the
log file shared with the Excel button, :mod:`workbook.buttons.logfile` (``kpi_logfile.py``), and
``kpi_button_config.py``, which names the Python that runs the bridge (the one
that builds the extension, like ``Interpreter_Win`` in the Excel add-in).
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from kpi_engine.errors import KpiError
from workbook import libreoffice

OXT_NAME = "kpi-workbook.oxt"
IDENTIFIER = "tw.kpi-workbook.form.calculate"
VERSION = "1.0.0"
SCRIPT = "kpi_button.py"
#: What the menu and toolbar run; ``location=user:uno_packages`` finds the installed extension.
SCRIPT_URL = (
    f"vnd.sun.star.script:{OXT_NAME}|python|{SCRIPT}$calculate?language=Python&location=user:uno_packages"
)
BRIDGE_URL = SCRIPT_URL.replace("$calculate?", "$calculate_via_bridge?")
CALC = "com.sun.star.sheet.SpreadsheetDocument"


class OxtError(KpiError):
    """The extension cannot be built or installed; the message is for people (zh-TW and English)."""

    code = "extension"


def _merge_item(url: str, title_zh: str) -> str:
    # zh-TW labels whatever the interface language: the default value (no xml:lang) is the
    # one an English or other interface falls back to.
    return f"""
          <prop oor:name="URL" oor:type="xs:string"><value>{escape(url)}</value></prop>
          <prop oor:name="Title" oor:type="xs:string"><value xml:lang="zh-TW">{title_zh}</value><value>{title_zh}</value></prop>
          <prop oor:name="Target" oor:type="xs:string"><value>_self</value></prop>
          <prop oor:name="Context" oor:type="xs:string"><value>{CALC}</value></prop>"""


ADDONS_XCU = f"""<?xml version="1.0" encoding="UTF-8"?>
<oor:component-data xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    oor:name="Addons" oor:package="org.openoffice.Office">
  <node oor:name="AddonUI">
    <node oor:name="OfficeMenuBar">
      <node oor:name="{IDENTIFIER}.menu" oor:op="replace">
        <prop oor:name="Title" oor:type="xs:string"><value xml:lang="zh-TW">績效指標</value><value>績效指標</value></prop>
        <prop oor:name="Context" oor:type="xs:string"><value>{CALC}</value></prop>
        <node oor:name="Submenu">
          <node oor:name="m1" oor:op="replace">{_merge_item(SCRIPT_URL, "計算")}
          </node>
        </node>
      </node>
    </node>
    <node oor:name="OfficeToolBar">
      <node oor:name="{IDENTIFIER}.toolbar" oor:op="replace">
        <node oor:name="t1" oor:op="replace">{_merge_item(SCRIPT_URL, "計算")}
        </node>
      </node>
    </node>
  </node>
</oor:component-data>
"""

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="http://openoffice.org/2001/manifest">
  <manifest:file-entry manifest:full-path="Addons.xcu" manifest:media-type="application/vnd.sun.star.configuration-data"/>
  <manifest:file-entry manifest:full-path="python" manifest:media-type="application/vnd.sun.star.framework-script"/>
</manifest:manifest>
"""

DESCRIPTION = f"""<?xml version="1.0" encoding="UTF-8"?>
<description xmlns="http://openoffice.org/extensions/description/2006" xmlns:xlink="http://www.w3.org/1999/xlink">
  <identifier value="{IDENTIFIER}"/>
  <version value="{VERSION}"/>
  <display-name>
    <name lang="zh-TW">績效指標填報工作簿「計算」按鈕</name>
    <name lang="en">KPI Workbook Calculate button</name>
  </display-name>
  <dependencies>
    <lo:LibreOffice-minimal-version xmlns:lo="http://libreoffice.org/extensions/description/2011"
        lo:name="LibreOffice 6.0" value="6.0"/>
  </dependencies>
</description>
"""


def _config(interpreter: str, package_root: str | None) -> str:
    return (
        '"""Written by kpi addin build --libreoffice: the Python that runs the bridge."""\n'
        f"PYTHON = {interpreter!r}\n"
        f"PACKAGE_ROOT = {package_root!r}\n"
    )


def _package_root() -> str | None:
    """The folder holding the ``workbook`` package when it is not in site-packages (a checkout)."""
    root = Path(__file__).resolve().parents[2]
    return None if "site-packages" in root.parts or "dist-packages" in root.parts else str(root)


def build_oxt(folder: str | Path, *, interpreter: str | None = None) -> Path:
    """Write ``kpi-workbook.oxt`` into ``folder`` (atomically) and return its path."""
    from workbook.books import unocore
    from workbook.buttons import lo_macro, logfile
    from workbook.formats import cells
    from workbook.formats.files import save_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / OXT_NAME
    parts = {
        "META-INF/manifest.xml": MANIFEST,
        "description.xml": DESCRIPTION,
        "Addons.xcu": ADDONS_XCU,
        f"python/{SCRIPT}": Path(lo_macro.__file__).read_text(encoding="utf-8"),
        "python/pythonpath/kpi_unocore.py": Path(unocore.__file__).read_text(encoding="utf-8"),
        "python/pythonpath/kpi_cells.py": Path(cells.__file__).read_text(encoding="utf-8"),
        "python/pythonpath/kpi_logfile.py": Path(logfile.__file__).read_text(encoding="utf-8"),
        "python/pythonpath/kpi_button_config.py": _config(interpreter or sys.executable, _package_root()),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as oxt:
        for name, text in parts.items():
            oxt.writestr(name, text.encode("utf-8"))
    return save_atomic(out.getvalue(), target)


def find_unopkg() -> str | None:
    """LibreOffice's extension manager on the command line, beside soffice."""
    soffice = libreoffice.find_soffice()
    if soffice:
        for name in ("unopkg", "unopkg.com", "unopkg.exe"):
            candidate = Path(os.path.realpath(soffice)).parent / name
            if candidate.is_file():
                return str(candidate)
    return shutil.which("unopkg")


def install_oxt(
    *, profile: Path | None = None, interpreter: str | None = None, run_as: str | None = None
) -> Path:
    """Build the extension and install it for the current user with ``unopkg add``.

    ``profile`` installs into that LibreOffice user profile instead, and ``run_as``
    runs unopkg as that user through ``setpriv`` (tests in a root container: unopkg
    refuses to install for root).
    """
    if run_as is None and hasattr(os, "geteuid") and os.geteuid() == 0:
        raise OxtError(
            "unopkg 不允許以 root（系統管理者）身分為個人安裝擴充套件，請以一般使用者身分執行 "
            "kpi addin install --libreoffice。 / unopkg refuses to install a user extension as root; "
            "run this as the user who uses LibreOffice."
        )
    unopkg = find_unopkg()
    if unopkg is None:
        raise OxtError(
            "找不到 LibreOffice 的 unopkg，無法安裝按鈕。請安裝 LibreOffice（Windows 請由 libreoffice.org 下載；"
            "Debian/Ubuntu：apt-get install libreoffice-calc-nogui），或在 LibreOffice 中以「工具 → 擴充套件管理員」"
            "加入 kpi addin build --libreoffice 產生的 .oxt 檔。"
            " / LibreOffice's unopkg was not found: install LibreOffice, or add the .oxt from "
            "Tools → Extension Manager."
        )
    folder = Path(tempfile.mkdtemp(prefix="kpi-oxt-"))
    try:
        built = build_oxt(folder, interpreter=interpreter)
        cmd = [unopkg, "add", "--force", "--suppress-license", str(built)]
        if profile is not None:
            cmd.append(f"-env:UserInstallation={Path(profile).absolute().as_uri()}")
        if run_as is not None:
            shutil.chown(folder, run_as)
            shutil.chown(built, run_as)
            cmd = ["setpriv", f"--reuid={run_as}", f"--regid={_group(run_as)}", "--clear-groups", *cmd]
        # LibreOffice's environment (system python3 first on PATH: unopkg's Python registers the
        # extension's script, and a virtual environment's python3 would make it fail)
        env = libreoffice.office_env(home=tempfile.gettempdir() if run_as is not None else None)
        try:
            proc = libreoffice.run(cmd, timeout=180, what="unopkg", env=env)
        except libreoffice.LibreOfficeError as exc:
            raise OxtError(f"unopkg 無法執行 / unopkg could not run: {exc}") from exc
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip()[-1500:]
            raise OxtError(
                "unopkg 安裝按鈕失敗。請先關閉所有 LibreOffice 視窗後再試一次。"
                f" / unopkg failed (close LibreOffice and try again): {detail}"
            )
        return Path(OXT_NAME)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _group(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def prepare_profile(profile: Path) -> Path:
    """A fresh LibreOffice profile in ``profile`` with the extension installed by unopkg.

    For tests and benchmarks.  unopkg refuses to install for root, so in a root
    container the profile is handed to ``nobody`` for the install (root's soffice can
    still use it).
    """
    profile = Path(profile)
    libreoffice.write_profile(profile)
    run_as = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        run_as = "nobody"
        for folder, dirs, files in os.walk(profile):
            for entry in [folder, *(os.path.join(folder, x) for x in dirs + files)]:
                shutil.chown(entry, run_as)
        for parent in profile.resolve().parents:  # nobody must be able to reach the profile
            if parent == Path(parent.anchor):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    install_oxt(profile=profile, run_as=run_as)
    if not any(profile.glob(f"user/uno_packages/cache/uno_packages/*/{OXT_NAME}")):
        raise OxtError(f"unopkg 未安裝擴充套件 / unopkg installed nothing into {profile}")
    return profile
