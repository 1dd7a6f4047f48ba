"""The 計算 macro of the LibreOffice extension (copied into the .oxt as ``kpi_button.py``).

It runs inside LibreOffice's own Python, so it imports nothing from this package
unless that Python happens to have it: then :func:`workbook.buttons.lo_button.calculate_document`
runs in-process.  Otherwise the document goes as JSON to the Python configured at
build time (``kpi_button_config.PYTHON``) running :mod:`workbook.buttons.bridge`, and
the reply is applied with the same UNO code (``kpi_unocore``, a copy of
:mod:`workbook.books.unocore`).  Staff never see a traceback: every problem
becomes a message box, and details go to the log file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import traceback
from typing import Any

try:  # inside LibreOffice: the extension's copy (python/pythonpath/kpi_logfile.py)
    from kpi_logfile import log, log_path  # type: ignore[import-not-found]
except ImportError:  # the package (tests, or a LibreOffice Python that has it)
    from workbook.buttons.logfile import log, log_path

TITLE = "績效指標填報工作簿"
UNEXPECTED = "計算時發生未預期的錯誤，結果未寫入。請將紀錄檔寄給系統管理者：\n{log}"
NO_PYTHON = (
    "找不到計算用的 Python：{python}\n請在命令提示字元執行 kpi addin install --libreoffice 重新安裝按鈕。"
    "\n（the configured Python is missing; run kpi addin install --libreoffice again）"
)


def _log() -> logging.Logger:
    return log("kpi_workbook.libreoffice_button")


def _bridge(payload: dict) -> dict:
    """Run the configured Python's ``workbook.buttons.bridge`` on the payload."""
    import kpi_button_config as config

    env = dict(os.environ)
    if config.PACKAGE_ROOT:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (config.PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    flags = 0x08000000 if sys.platform == "win32" else 0  # CREATE_NO_WINDOW: no console flashes
    try:
        proc = subprocess.run(
            [config.PYTHON, "-m", "workbook.buttons.bridge"],
            input=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            capture_output=True,
            timeout=600,
            env=env,
            creationflags=flags,
        )
    except FileNotFoundError:
        return {"ok": False, "message": NO_PYTHON.format(python=config.PYTHON)}
    try:
        return json.loads(proc.stdout.decode("utf-8"))
    except ValueError:
        raise RuntimeError(
            f"bridge exited {proc.returncode}: {proc.stderr.decode('utf-8', 'replace')[-4000:]}"
        ) from None


NO_DOCUMENT = "請先開啟要計算的填報工作簿，再按「計算」。（open the workbook to calculate first）"


def run(doc: Any, *, bridge: bool = False) -> str:
    """Calculate ``doc``; the message for staff (never raises)."""
    if doc is None or not hasattr(doc, "Sheets"):
        return NO_DOCUMENT
    try:
        if not bridge:
            try:
                from workbook.buttons.lo_button import calculate_document
            except Exception:  # not importable here (or a dependency is missing): use the bridge
                pass
            else:
                return calculate_document(doc)
        import kpi_unocore

        payload = kpi_unocore.read_document(doc)
        payload["title"] = str(getattr(doc, "Title", "") or "")
        reply = _bridge(payload)
        if reply.get("ok"):
            try:
                kpi_unocore.apply_writes(doc, reply)
            except kpi_unocore.ForeignPassword as exc:
                return reply["foreign_password"]["zh"].replace("{sheet}", exc.sheet)
        return reply["message"]
    except Exception:
        with contextlib.suppress(Exception):
            _log().error("LibreOffice button failed\n%s", traceback.format_exc())
        return UNEXPECTED.format(log=log_path())


def show(doc: Any, message: str) -> None:
    """A message box over the document's window (nothing when it has none)."""
    if doc is None or not hasattr(doc, "CurrentController"):
        _log().info("no document window; message was: %s", message)
        return
    try:
        import uno

        ctx = _context().getComponentContext()
        toolkit = ctx.ServiceManager.createInstanceWithContext("com.sun.star.awt.Toolkit", ctx)
        window = doc.CurrentController.Frame.ContainerWindow
        kind = uno.Enum("com.sun.star.awt.MessageBoxType", "INFOBOX")
        toolkit.createMessageBox(window, kind, 1, TITLE, message).execute()  # 1 = BUTTONS_OK
    except Exception:
        _log().warning("message box failed; message was: %s\n%s", message, traceback.format_exc())


def _context() -> Any:
    return globals()["XSCRIPTCONTEXT"]  # set by LibreOffice's Python script provider


def calculate(*args: Any) -> str:
    """績效指標 → 計算: calculate the current document, show and return the message."""
    doc = _context().getDocument()
    message = run(doc)
    show(doc, message)
    return message


def calculate_via_bridge(*args: Any) -> str:
    """The same, always through the bridge (what Windows runs; tests call it)."""
    doc = _context().getDocument()
    message = run(doc, bridge=True)
    show(doc, message)
    return message


g_exportedScripts = (calculate, calculate_via_bridge)
