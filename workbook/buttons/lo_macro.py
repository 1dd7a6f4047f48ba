"""The 計算 command of the LibreOffice extension (copied into the .oxt as ``python/kpi_button.py``).

It is a UNO protocol handler (``vnd.kpi-workbook:calculate``), so the menu and toolbar find it
wherever the extension was installed: for one user, or for all users (IT's shared install).  (A script URL names the install location, ``location=user:uno_packages``, and a
shared install answered with ``KeyError: 'kpi-workbook.oxt'``.)

A click runs in LibreOffice's own Python.  LibreOffice puts ``pythonpath.zip`` beside this file on
``sys.path``: the engine and the button code (:mod:`workbook.buttons.bundle`), so the click runs
:func:`workbook.buttons.lo_button.calculate_document` in-process with nothing else installed.
Only where that cannot import (a LibreOffice whose Python is older than the engine needs) does the
document go as JSON to a Python recorded at install time (:mod:`workbook.buttons.bridge`).

Before calculating: a read-only document (an e-mail attachment) is refused with what to press; a
second click within two seconds of the last one ending (a double click, or a click queued behind
a long calculation) shows the last message again instead of calculating twice.  (A modify
listener, to repeat the message until the document changes, deadlocked: LibreOffice calls it on
its main thread while a click holds Python's lock.)  What the clerk is still typing into a cell
is entered first, as Enter would; what the click writes is no undo step, and Ctrl+Z afterwards
takes back nothing (never half a calculation).  The bundle is unpacked beside the user profile
once, so Python keeps its bytecode between sessions.  Staff never see a traceback: every problem
is a message box and a log entry.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import traceback
from typing import Any

PROTOCOL = "vnd.kpi-workbook:"
IMPLEMENTATION = "tw.kpi-workbook.form.CalculateHandler"
TITLE = "績效指標填報工作簿"
NO_DOCUMENT = "請先開啟要計算的填報工作簿，再按「計算」。（open the workbook to calculate first）"
READ_ONLY = (
    "此文件目前為唯讀（例如直接開啟電子郵件附件），無法寫入計算結果。\n"
    "請按文件上方提示列的「編輯文件」（或選單「編輯 → 編輯模式」），必要時先以「檔案 → 另存新檔」存到自己的資料夾，"
    "再按「計算」。\n（the document is read-only: press Edit Document, or Edit → Edit Mode, then 計算 again）"
)
UNEXPECTED = "計算時發生未預期的錯誤，結果未寫入。請將紀錄檔寄給系統管理者：\n{log}"
#: LibreOffice's Python cannot run the engine and no other Python was recorded: nothing the
#: clerk can install by command; the extension or LibreOffice must be updated.
NO_PYTHON = (
    "此 LibreOffice 內建的 Python（{version}）無法執行「計算」（需要 3.10 以上版本）。"
    "請資訊單位將 LibreOffice 更新為最新版本後再按「計算」；在此之前，可將工作簿寄回彙整窗口代為計算。"
    "\n（LibreOffice's own Python {version} cannot run the calculation; update LibreOffice. Details: {log}）"
)
DAMAGED = (
    "「計算」按鈕的程式元件無法載入，結果未寫入。請資訊單位重新安裝 kpi-workbook.oxt（在檔案上點兩下即可），"
    "或將工作簿寄回彙整窗口代為計算。\n（the extension's code cannot load; reinstall kpi-workbook.oxt. Details: {log}）"
)
NO_PACKAGE = (
    "按鈕設定的 Python（{python}）沒有安裝績效指標填報工作簿程式，無法計算。"
    "請資訊單位重新安裝 kpi-workbook.oxt（在檔案上點兩下即可），或將工作簿寄回彙整窗口代為計算。"
    "\n（the Python recorded by the extension does not have kpi-workbook installed; reinstall the extension）"
)

#: A click this soon after the last one on the same document ended is the same click (seconds).
AGAIN = 2.0
#: By document (RuntimeUID): when its last click ended, and what that click showed.
_last: dict[str, tuple[float, tuple[str, str]]] = {}
_running: set[str] = set()


def _logfile() -> Any:
    try:  # the bundle (LibreOffice) or the package (tests)
        from workbook.buttons import logfile
    except Exception:  # a Python too old for the bundle: log beside the temp folder
        return None
    return logfile


def _log() -> logging.Logger:
    logfile = _logfile()
    if logfile is None:
        return logging.getLogger("kpi_workbook.libreoffice_button")
    return logfile.log("kpi_workbook.libreoffice_button")


def _log_path() -> str:
    logfile = _logfile()
    return str(logfile.log_path()) if logfile is not None else "(no log)"


def _config() -> Any:
    try:
        import kpi_button_config as config
    except ImportError:
        return None
    return config


def _bridge(payload: dict) -> dict:
    """Run the recorded Python's ``workbook.buttons.bridge`` on the payload."""
    config = _config()
    python = getattr(config, "PYTHON", None)
    if not python or not os.path.exists(python):
        return {"ok": False, "severity": "error", "message": _no_python()}
    env = dict(os.environ)
    if getattr(config, "PACKAGE_ROOT", None):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (config.PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    flags = 0x08000000 if sys.platform == "win32" else 0  # CREATE_NO_WINDOW: no console flashes
    proc = subprocess.run(
        [python, "-m", "workbook.buttons.bridge"],
        input=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        capture_output=True,
        timeout=600,
        env=env,
        creationflags=flags,
    )
    try:
        return json.loads(proc.stdout.decode("utf-8"))
    except ValueError:
        err = proc.stderr.decode("utf-8", "replace")
        if "No module named" in err and "workbook" in err:
            _log().warning("bridge Python %s lacks the package:\n%s", python, err[-2000:])
            return {"ok": False, "severity": "error", "message": NO_PACKAGE.format(python=python)}
        raise RuntimeError(f"bridge exited {proc.returncode}: {err[-4000:]}") from None


def _no_python() -> str:
    if sys.version_info >= (3, 10):  # noqa: UP036 - LibreOffice's own Python may be older
        return DAMAGED.format(log=_log_path())
    version = ".".join(str(v) for v in sys.version_info[:3])
    return NO_PYTHON.format(version=version, log=_log_path())


#: Beside LibreOffice's user profile: the bundle unpacked, one folder per bundle (its digest).
UNPACKED = "kpi-workbook-bundle"
_unpacked: list[str] = []


def _profile_folder() -> str:
    """LibreOffice's user profile folder (``$(user)``): the clerk's own, writable, per user."""
    import uno
    import unohelper

    ctx = uno.getComponentContext()
    paths = ctx.ServiceManager.createInstanceWithContext("com.sun.star.util.PathSubstitution", ctx)
    return unohelper.fileUrlToSystemPath(paths.substituteVariables("$(user)", True))


def unpack_bundle(zip_path: str, folder: str) -> str | None:
    """``zip_path`` unpacked into ``folder``/<digest>, put on ``sys.path`` just before the zip.

    Python compiles a module imported from a zip on every import and never keeps the bytecode,
    so each session's first click compiled the whole engine again (0.15–0.4 s of CPU, the most
    of that click); unpacked, Python keeps it in ``__pycache__`` and only the very first click
    after an install compiles.  Unpacked once per bundle, into a temporary name renamed into
    place (a half-unpacked folder is never used); older bundles' folders are removed.  Any
    failure leaves the zip in use.  Returns the folder, or None.
    """
    try:
        import hashlib
        import shutil
        import zipfile

        with open(zip_path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:24]
        target = os.path.join(folder, digest)
        if not os.path.isdir(target):
            os.makedirs(folder, exist_ok=True)
            for old in os.listdir(folder):  # earlier versions of the extension, a dead unpacking
                shutil.rmtree(os.path.join(folder, old), ignore_errors=True)
            partial = f"{target}.{os.getpid()}.partial"
            with zipfile.ZipFile(zip_path) as zf:
                zf.extractall(partial)
            os.replace(partial, target)
        if target not in sys.path:
            where = sys.path.index(zip_path) if zip_path in sys.path else len(sys.path)
            sys.path.insert(where, target)
        return target
    except Exception:
        with contextlib.suppress(Exception):
            _log().warning("bundle not unpacked; importing from the zip\n%s", traceback.format_exc())
        return None


def _in_process() -> Any:
    """:func:`workbook.buttons.lo_button.calculate_document`, or None when it cannot import here."""
    if not _unpacked and "workbook" not in sys.modules:  # once per session, before the first import
        _unpacked.append("tried")
        zip_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pythonpath.zip")
        if zip_path in sys.path:  # the extension's component (not this package imported in tests)
            with contextlib.suppress(Exception):
                unpack_bundle(zip_path, os.path.join(_profile_folder(), UNPACKED))
    try:
        from workbook.buttons.lo_button import calculate_document
    except Exception:  # a Python older than the engine needs, or a damaged bundle
        with contextlib.suppress(Exception):
            _log().warning("in-process calculation unavailable\n%s", traceback.format_exc())
        return None
    return calculate_document


def _via_bridge(doc: Any) -> tuple[str, str]:
    from workbook.books import unocore

    python = getattr(_config(), "PYTHON", None)
    if not python or not os.path.exists(python):  # nothing to send the document to
        return _no_python(), "error"
    payload = unocore.read_document(doc)
    payload["title"] = str(getattr(doc, "Title", "") or "")
    reply = _bridge(payload)
    if reply.get("ok"):
        try:
            unocore.apply_writes(doc, reply)
        except unocore.ForeignPassword as exc:
            return reply["foreign_password"]["zh"].replace("{sheet}", exc.sheet), "error"
    return reply["message"], reply.get("severity") or ("info" if reply.get("ok") else "error")


def _key(doc: Any) -> str:
    return str(getattr(doc, "RuntimeUID", "") or id(doc))


def run(doc: Any, *, bridge: bool = False, again: bool = True) -> tuple[str, str] | None:
    """Calculate ``doc``: (message for staff, severity ``info``/``warning``/``error``).

    None when a click is already calculating this document (nothing to show).  ``again=False``:
    the document just changed (a typed value was entered), so a click soon after the last one
    is not taken for a double click.  Never raises.
    """
    if doc is None or not hasattr(doc, "Sheets"):
        return NO_DOCUMENT, "error"
    key = _key(doc)
    if key in _running:
        return None
    ended, last = _last.get(key, (float("-inf"), ("", "")))
    if again and time.monotonic() - ended < AGAIN:  # a double click (or one queued behind the first): once
        return last
    _running.add(key)
    try:
        if _read_only(doc):
            return READ_ONLY, "warning"
        with _outside_undo(doc):
            calculate = None if bridge else _in_process()
            result = calculate(doc) if calculate is not None else _via_bridge(doc)
        if result[1] != "error":
            _last[key] = (time.monotonic(), result)
        return result
    except Exception:
        with contextlib.suppress(Exception):
            _log().error("LibreOffice button failed\n%s", traceback.format_exc())
        return UNEXPECTED.format(log=_log_path()), "error"
    finally:
        _running.discard(key)


def _read_only(doc: Any) -> bool:
    with contextlib.suppress(Exception):
        return bool(doc.isReadonly())
    return False


@contextlib.contextmanager
def _outside_undo(doc: Any) -> Any:
    """Nothing the click writes goes into Edit → Undo, and Ctrl+Z afterwards takes back nothing.

    LibreOffice's undo of ``setDataArray`` (7.4) puts back only the cells that held something
    before and leaves the rest as written: inside one undo context, one Ctrl+Z after a click gave
    「尚未計算」 beside the findings, digest and stamp of the calculation it had "undone" (seen in a
    Calc window).  ``XUndoManager.lock`` does not hold (Calc turns undo back on after its first
    write), so the document's ``IsUndoEnabled`` is off while the click writes; turning it off
    also empties the undo list, as any macro's write does in Excel.
    """
    enabled = False
    with contextlib.suppress(Exception):
        enabled = bool(doc.IsUndoEnabled)
        doc.IsUndoEnabled = False
    try:
        yield
    finally:
        if enabled:
            with contextlib.suppress(Exception):
                doc.IsUndoEnabled = True


#: com.sun.star.awt.MessageBoxType by severity.
BOX = {"info": "INFOBOX", "warning": "WARNINGBOX", "error": "ERRORBOX"}


def show(ctx: Any, doc: Any, message: str, severity: str) -> None:
    """A message box over the document's window (nothing when it has none)."""
    if doc is None or not hasattr(doc, "CurrentController"):
        _log().info("no document window; message was: %s", message)
        return
    try:
        import uno

        toolkit = ctx.ServiceManager.createInstanceWithContext("com.sun.star.awt.Toolkit", ctx)
        window = doc.CurrentController.Frame.ContainerWindow
        kind = uno.Enum("com.sun.star.awt.MessageBoxType", BOX.get(severity, "INFOBOX"))
        toolkit.createMessageBox(window, kind, 1, TITLE, message).execute()  # 1 = BUTTONS_OK
    except Exception:
        _log().warning("message box failed; message was: %s\n%s", message, traceback.format_exc())


#: Calc's own "Accept" (the ✓ beside the input line): what Enter does to the cell being typed in.
ACCEPT_INPUT = ".uno:AcceptFormula"


def finish_typing(ctx: Any, doc: Any) -> bool:
    """Enter what the clerk is still typing into a cell (計算 clicked before Enter); True if anything was.

    A menu or toolbar command of an extension does not end Calc's cell edit mode (Calc's own
    commands do), so without this the click calculated without the number being typed, which
    then landed after the results.  ``.uno:AcceptFormula`` keeps the text as Enter does
    (``.uno:Cancel``/Escape would drop it) and does nothing outside edit mode.  Text a cell's
    validation refuses gets Calc's own message and stays in the cell being edited, out of the
    document, so the click calculates what the cells hold.  (Whether a cell is still being edited
    cannot be asked reliably: the command's state read over UNO still said "enabled" after the
    edit had ended.)
    """
    try:
        frame = doc.CurrentController.Frame
        undo = doc.getUndoManager()
        before = undo.getAllUndoActionTitles()
        helper = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
        helper.executeDispatch(frame, ACCEPT_INPUT, "", 0, ())
        return undo.getAllUndoActionTitles() != before  # an entered value is an undo action
    except Exception:  # no window (a hidden document), no UNO here: nothing being typed
        return False


def click(ctx: Any, doc: Any, *, bridge: bool = False) -> str:
    """One click: calculate, show the message; return it ('' when the click was ignored)."""
    typed = finish_typing(ctx, doc) if doc is not None else False
    result = run(doc, bridge=bridge, again=not typed)
    if result is None:
        return ""
    show(ctx, doc, *result)
    return result[0]


try:  # the protocol handler LibreOffice instantiates (only inside LibreOffice's Python)
    import unohelper
    from com.sun.star.frame import (  # type: ignore[import-not-found]
        DispatchResultEvent,
        XDispatch,
        XDispatchProvider,
        XNotifyingDispatch,
    )
    from com.sun.star.lang import XInitialization, XServiceInfo  # type: ignore[import-not-found]
except ImportError:
    unohelper = None

if unohelper is not None:

    class CalculateHandler(
        unohelper.Base, XInitialization, XDispatchProvider, XNotifyingDispatch, XDispatch, XServiceInfo
    ):
        """``vnd.kpi-workbook:calculate`` (the menu and the toolbar) and ``…:calculate-via-bridge``."""

        def __init__(self, ctx: Any, *args: Any):
            self.ctx = ctx
            self.frame = None

        def initialize(self, args: Any) -> None:
            if args:
                self.frame = args[0]

        def queryDispatch(self, url: Any, target: str, flags: int) -> Any:
            return self if url.Protocol == PROTOCOL else None

        def queryDispatches(self, requests: Any) -> tuple:
            return tuple(self.queryDispatch(r.FeatureURL, r.FrameName, r.SearchFlags) for r in requests)

        def _run(self, url: Any) -> str:
            doc = None
            with contextlib.suppress(Exception):
                doc = self.frame.getController().getModel()
            return click(self.ctx, doc, bridge=url.Path == "calculate-via-bridge")

        def dispatch(self, url: Any, args: Any) -> None:
            self._run(url)

        def dispatchWithNotification(self, url: Any, args: Any, listener: Any) -> None:
            message = self._run(url)
            if listener is not None:
                event = DispatchResultEvent()
                event.Source, event.State, event.Result = self, 1, message  # 1 = SUCCESS
                listener.dispatchFinished(event)

        def addStatusListener(self, listener: Any, url: Any) -> None:
            pass

        def removeStatusListener(self, listener: Any, url: Any) -> None:
            pass

        def getImplementationName(self) -> str:
            return IMPLEMENTATION

        def supportsService(self, name: str) -> bool:
            return name == "com.sun.star.frame.ProtocolHandler"

        def getSupportedServiceNames(self) -> tuple:
            return ("com.sun.star.frame.ProtocolHandler",)

    g_ImplementationHelper = unohelper.ImplementationHelper()
    g_ImplementationHelper.addImplementation(
        CalculateHandler, IMPLEMENTATION, ("com.sun.star.frame.ProtocolHandler",)
    )
