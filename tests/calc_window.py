"""A real LibreOffice Calc window on a virtual screen (Xvfb), typed into with the keyboard (xdotool).

Nothing here writes a cell through UNO or a file library: every value reaches the sheet the
way a clerk's does, so LibreOffice's AutoInput, validation and conditional formats all take
part.  Cells are reached through the Name Box (Ctrl+Shift+F5), by their defined names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from workbook import libreoffice as lo

#: A fresh profile that opens no first-run dialog or tip of the day and saves .xlsx without
#: asking to keep the format.  AutoInput stays on, as LibreOffice installs it.
PROFILE_XCU = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc">\
<prop oor:name="ShowTipOfTheDay" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc">\
<prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Save/Document">\
<prop oor:name="WarnAlienFormat" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""
SCREEN = (1400, 900)


def require_tools() -> None:
    """Skip (fail under ``KPI_REQUIRE_LIBREOFFICE=1``) without soffice, Xvfb or xdotool."""
    lo.require_soffice()
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not installed; apt-get install xvfb xdotool"
        if os.environ.get("KPI_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail(message)
        pytest.skip(message)


class CalcWindow:
    """One document open in a LibreOffice window of its own on a screen of its own."""

    def __init__(
        self,
        path: Path,
        work: Path,
        *,
        timeout: float = 90,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        """``args``: more soffice arguments (``-env:…``, e.g. a shared extension store); ``env``:
        more environment variables for soffice."""
        self.path, self.work = Path(path), Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        read, write = os.pipe()
        self.xvfb = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write),
                "-screen",
                "0",
                f"{SCREEN[0]}x{SCREEN[1]}x24",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        number = b""
        while not number.endswith(b"\n"):
            chunk = os.read(read, 1)
            if not chunk:
                raise RuntimeError("Xvfb did not start")
            number += chunk
        os.close(read)
        self.display = ":" + number.decode().strip()
        self.env = dict(lo.office_env(), DISPLAY=self.display, SAL_USE_VCLPLUGIN="gen")
        office_env = dict(self.env, **(env or {}))
        profile = self.work / "profile"
        (profile / "user").mkdir(parents=True, exist_ok=True)
        (profile / "user" / "registrymodifications.xcu").write_text(PROFILE_XCU, encoding="utf-8")
        self.office = subprocess.Popen(
            [
                lo.require_soffice(),
                f"-env:UserInstallation={profile.as_uri()}",
                "--norestore",
                "--nologo",
                *args,
                str(self.path),
            ],
            env=office_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self._wait_for(f"{self.path.name} - LibreOffice Calc", timeout)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> CalcWindow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def xdotool(self, *args: str) -> str:
        """Run one xdotool command (a chain of its commands) on this screen."""
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=120)
        return done.stdout

    def _wait_for(self, title: str, timeout: float) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.xdotool("search", "--name", title).split():
                time.sleep(2)  # the window is mapped; let the document finish loading
                return
            if self.office.poll() is not None and self.office.returncode != 0:
                raise RuntimeError(f"soffice exited with {self.office.returncode}")
            time.sleep(0.5)
        self.screenshot("timeout.png")
        raise TimeoutError(f"no window {title!r} after {timeout:g} s (screenshot in {self.work})")

    def go_to(self, name: str) -> None:
        """Select the cell a defined name points at, through the Name Box, as a person would."""
        self.xdotool("key", "--clearmodifiers", "ctrl+shift+F5", "sleep", "0.2", "key", "ctrl+a")
        self.xdotool("type", "--delay", "8", name)  # ``type`` takes every argument after it as text
        self.xdotool("key", "Return", "sleep", "0.3")

    def type_into(self, name: str, text: str) -> None:
        """Go to ``name``, type ``text`` on the keyboard and press Enter."""
        self.go_to(name)
        self.xdotool("type", "--delay", "25", text)
        self.xdotool("sleep", "0.1", "key", "Return", "sleep", "0.2")

    def find_window(self, title: str, *, timeout: float = 180) -> str:
        """The id of the visible window titled ``title`` (a dialog, a message box), once it shows."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = self.xdotool("search", "--onlyvisible", "--name", title).split()
            if found:
                return found[0]
            time.sleep(0.3)
        self.screenshot("no-window.png")
        raise TimeoutError(f"no window {title!r} after {timeout:g} s (screenshot in {self.work})")

    def press_enter_in(self, window: str, *, timeout: float = 30) -> None:
        """Focus ``window`` (a message box), press Enter (its OK) and wait until it is gone."""
        self.xdotool("windowfocus", "--sync", window, "key", "Return")
        end = time.monotonic() + timeout
        while window in self.xdotool("search", "--onlyvisible", "--name", "").split():
            if time.monotonic() > end:
                raise TimeoutError(f"window {window} did not close")
            time.sleep(0.3)

    def extension_menu_first_item(self) -> None:
        """Choose the first item of the menu an extension adds before 視窗 (Window), by keyboard:
        F10, then Left from the first menu wraps to 說明 (Help), then 視窗, then the extension's."""
        self.xdotool("key", "F10", "sleep", "0.3")
        for _ in range(3):
            self.xdotool("key", "Left", "sleep", "0.2")
        self.xdotool("key", "Return", "sleep", "0.5", "key", "Return")

    def save(self, timeout: float = 60) -> None:
        """Ctrl+S (the profile keeps .xlsx without asking); wait until the file is written."""
        before = self.path.stat().st_mtime_ns
        self.xdotool("key", "--clearmodifiers", "ctrl+s")
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            time.sleep(1)
            if self.path.stat().st_mtime_ns != before:
                time.sleep(2)  # written; let the rename settle
                return
        self.screenshot("save-timeout.png")
        raise TimeoutError(f"{self.path.name} was not saved (screenshot in {self.work})")

    def screenshot(self, name: str) -> Path:
        """A PNG of the whole screen, in the work folder."""
        from PIL import ImageGrab  # Pillow, with X11 support, comes with openpyxl's test extras

        out = self.work / name
        ImageGrab.grab(xdisplay=self.display).save(out)
        return out

    def close(self) -> None:
        """End LibreOffice (unsaved changes dropped) and the screen."""
        lo.kill(self.office)  # its whole process group: soffice starts soffice.bin
        self.xvfb.kill()
        self.xvfb.wait(timeout=30)
