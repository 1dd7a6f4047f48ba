"""Build and install the LibreOffice extension that holds the 計算 button.

``kpi-workbook.oxt`` adds 「績效指標 → 計算」 to Calc's menu bar and a 計算 toolbar
button (``Addons.xcu``, spreadsheet documents only).  Both dispatch :data:`COMMAND_URL`, which
the extension's protocol handler (``python/kpi_button.py``, :mod:`workbook.buttons.lo_macro`,
registered by ``ProtocolHandler.xcu``) answers wherever the extension is installed, for one
user or for all (``unopkg add --shared``).  ``python/pythonpath.zip`` is the bundle
(:mod:`workbook.buttons.bundle`): the engine and the button code, so a click runs in
LibreOffice's own Python with nothing else installed.  ``python/pythonpath/kpi_button_config.py``
may name a Python for the bridge (:mod:`workbook.buttons.bridge`), used only where LibreOffice's
Python cannot run the bundle; ``kpi addin build --libreoffice`` records none.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from kpi_engine.errors import KpiError
from workbook import libreoffice
from workbook.buttons.lo_macro import IMPLEMENTATION as HANDLER
from workbook.buttons.lo_macro import PROTOCOL

OXT_NAME = "kpi-workbook.oxt"
IDENTIFIER = "tw.kpi-workbook.form.calculate"
VERSION = "2.0.0"
SCRIPT = "kpi_button.py"
#: What the menu and toolbar dispatch: no install location in it.
COMMAND_URL = f"{PROTOCOL}calculate"
#: The same click, always through the bridge (tests).
BRIDGE_URL = f"{PROTOCOL}calculate-via-bridge"
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
          <node oor:name="m1" oor:op="replace">{_merge_item(COMMAND_URL, "計算")}
          </node>
        </node>
      </node>
    </node>
    <node oor:name="OfficeToolBar">
      <node oor:name="{IDENTIFIER}.toolbar" oor:op="replace">
        <node oor:name="t1" oor:op="replace">{_merge_item(COMMAND_URL, "計算")}
        </node>
      </node>
    </node>
  </node>
</oor:component-data>
"""

PROTOCOL_HANDLER_XCU = f"""<?xml version="1.0" encoding="UTF-8"?>
<oor:component-data xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    oor:name="ProtocolHandler" oor:package="org.openoffice.Office">
  <node oor:name="HandlerSet">
    <node oor:name="{HANDLER}" oor:op="replace">
      <prop oor:name="Protocols" oor:type="oor:string-list"><value>{PROTOCOL}*</value></prop>
    </node>
  </node>
</oor:component-data>
"""

MANIFEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="http://openoffice.org/2001/manifest">
  <manifest:file-entry manifest:full-path="Addons.xcu" manifest:media-type="application/vnd.sun.star.configuration-data"/>
  <manifest:file-entry manifest:full-path="ProtocolHandler.xcu" manifest:media-type="application/vnd.sun.star.configuration-data"/>
  <manifest:file-entry manifest:full-path="python/{SCRIPT}" manifest:media-type="application/vnd.sun.star.uno-component;type=Python"/>
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


def _config(interpreter: str | None, package_root: str | None) -> str:
    return (
        '"""Written by kpi addin build/install --libreoffice: a Python for the bridge, if any."""\n'
        f"PYTHON = {interpreter!r}\n"
        f"PACKAGE_ROOT = {package_root!r}\n"
    )


def _package_root() -> str | None:
    """The folder holding the ``workbook`` package when it is not in site-packages (a checkout)."""
    root = Path(__file__).resolve().parents[2]
    return None if "site-packages" in root.parts or "dist-packages" in root.parts else str(root)


def build_oxt(folder: str | Path, *, interpreter: str | None = None) -> Path:
    """Write ``kpi-workbook.oxt`` into ``folder`` (atomically) and return its path.

    ``interpreter``: a Python with this package for the bridge (none by default: the
    bundle runs in LibreOffice's own Python).
    """
    from workbook.buttons import lo_macro
    from workbook.buttons.bundle import bundle_zip
    from workbook.formats.files import save_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / OXT_NAME
    parts: dict[str, str | bytes] = {
        "META-INF/manifest.xml": MANIFEST,
        "description.xml": DESCRIPTION,
        "Addons.xcu": ADDONS_XCU,
        "ProtocolHandler.xcu": PROTOCOL_HANDLER_XCU,
        f"python/{SCRIPT}": Path(lo_macro.__file__).read_text(encoding="utf-8"),
        "python/pythonpath.zip": bundle_zip(),
        "python/pythonpath/kpi_button_config.py": _config(
            interpreter, _package_root() if interpreter else None
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as oxt:
        for name, data in parts.items():
            oxt.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
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


def shared_cache_args(cache: Path) -> list[str]:
    """soffice/unopkg arguments that move the all-users extension store to ``cache``.

    ``unopkg add --shared`` writes into LibreOffice's installation (``UNO_SHARED_PACKAGES_CACHE``),
    which every LibreOffice on the machine reads; tests and the bench point that bootstrap
    variable at a folder of their own instead, on unopkg's and soffice's command lines alike.
    """
    return [f"-env:UNO_SHARED_PACKAGES_CACHE={Path(cache).absolute().as_uri()}"]


def install_oxt(
    *,
    profile: Path | None = None,
    interpreter: str | None = None,
    run_as: str | None = None,
    shared: bool = False,
    extra_args: tuple[str, ...] = (),
) -> Path:
    """Build the extension and install it with ``unopkg add`` for the current user.

    ``shared`` installs it for all users (``unopkg add --shared``, as IT deploys it; root may).
    ``profile`` uses that LibreOffice user profile, ``run_as`` runs unopkg as that user through
    ``setpriv`` (tests in a root container: unopkg refuses a user install for root), and
    ``extra_args`` go to unopkg (:func:`shared_cache_args`).
    """
    if not shared and run_as is None and hasattr(os, "geteuid") and os.geteuid() == 0:
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
        cmd = [unopkg, "add", *(["--shared"] if shared else []), "--force", "--suppress-license", str(built)]
        cmd += extra_args
        if profile is not None:
            cmd.append(f"-env:UserInstallation={Path(profile).absolute().as_uri()}")
        if run_as is not None:
            shutil.chown(folder, run_as)
            shutil.chown(built, run_as)
            cmd = ["setpriv", f"--reuid={run_as}", f"--regid={_group(run_as)}", "--clear-groups", *cmd]
        # LibreOffice's environment (system python3 first on PATH: unopkg's Python registers the
        # extension's script, and a virtual environment's python3 would make it fail)
        # (run as another user: a home of its own, never one shared with another unopkg running)
        env = libreoffice.office_env(home=str(folder) if run_as is not None else None)
        try:
            proc = libreoffice.run(cmd, timeout=180, what="unopkg", env=env, owner=run_as)
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


def prepare_profile(profile: Path, *, interpreter: str | None = None) -> Path:
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
    install_oxt(profile=profile, run_as=run_as, interpreter=interpreter)
    if not any(profile.glob(f"user/uno_packages/cache/uno_packages/*/{OXT_NAME}")):
        raise OxtError(f"unopkg 未安裝擴充套件 / unopkg installed nothing into {profile}")
    return profile


def prepare_shared(profile: Path, cache: Path) -> list[str]:
    """A fresh profile in ``profile`` and the extension installed for all users into ``cache``.

    For tests and benchmarks: ``unopkg add --shared`` with the shared store moved to ``cache``
    (:func:`shared_cache_args`); returns the arguments soffice needs to see it.
    """
    libreoffice.write_profile(Path(profile))
    args = shared_cache_args(cache)
    Path(cache).mkdir(parents=True, exist_ok=True)
    install_oxt(profile=Path(profile), shared=True, extra_args=tuple(args))
    if not any(Path(cache).glob(f"uno_packages/*/{OXT_NAME}")):
        raise OxtError(f"unopkg 未安裝擴充套件 / unopkg installed nothing into {cache}")
    return args
