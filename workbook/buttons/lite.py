"""The 計算 button for Excel without a local Python: an xlwings Lite script.

xlwings Lite (the xlwings add-in from Office's add-in store) runs Python in Pyodide inside
Excel and keeps the workbook's ``main.py`` and ``requirements.txt`` in the workbook.  How it
stores them is not published (the add-in's own code is closed), so ``kpi template`` cannot write
them into the file; ``kpi addin build --lite -o DIR`` writes the two files instead, and the
coordinator pastes them into the template once (README: the one-time step).  Every copy of
the template then carries the script.

``main.py`` is self-contained: it holds the bundle (:mod:`workbook.buttons.bundle`, the engine
and its pure-Python dependencies) as base64, puts it on ``sys.path`` and runs the Excel
button's own :func:`workbook.buttons.excel.calculate` on the book xlwings Lite hands over, so
the findings and the message are those of ``kpi calculate``.  ``requirements.txt`` names only
xlwings, which Lite installs anyway.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

MAIN = "main.py"
REQUIREMENTS = "requirements.txt"
#: The function the Lite task pane runs (its Run button, or F5).
SCRIPT_NAME = "calculate"

_TEMPLATE = '''"""績效指標填報工作簿「計算」— xlwings Lite script written by `kpi addin build --lite`.

Run 「calculate」 in the xlwings Lite pane after typing the counts.  Do not edit: the engine
travels below as a zip (the KPI Workbook package and its pure-Python dependencies).
"""

import base64
import os
import sys
import tempfile

import xlwings as xw
from xlwings import script

_BUNDLE_SHA256 = "{sha}"
_BUNDLE = (
{chunks}
)


def _load_bundle():
    path = os.path.join(tempfile.gettempdir(), "kpi-workbook-" + _BUNDLE_SHA256[:16] + ".zip")
    if not os.path.exists(path):
        data = base64.b64decode("".join(_BUNDLE))
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
    if path not in sys.path:
        sys.path.append(path)


@script
def {name}(book: xw.Book):
    """績效指標 → 計算: check and calculate this workbook, then show what to do next."""
    _load_bundle()
    from workbook.buttons.excel import calculate as press

    press(book)
'''

_REQUIREMENTS = """# 績效指標填報工作簿「計算」(kpi addin build --lite): the engine travels inside main.py.
xlwings
"""


def main_py() -> str:
    """The text of the Lite ``main.py`` (the bundle inside, in lines of 100 characters)."""
    from workbook.buttons.bundle import bundle_zip

    data = bundle_zip()
    text = base64.b64encode(data).decode("ascii")
    chunks = "\n".join(f'    "{text[i : i + 100]}"' for i in range(0, len(text), 100))
    return _TEMPLATE.format(sha=hashlib.sha256(data).hexdigest(), chunks=chunks, name=SCRIPT_NAME)


def build_lite(folder: str | Path) -> tuple[Path, Path]:
    """Write ``main.py`` and ``requirements.txt`` for xlwings Lite into ``folder`` (atomically)."""
    from workbook.formats.files import save_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    main = save_atomic(main_py().encode("utf-8"), folder / MAIN)
    requirements = save_atomic(_REQUIREMENTS.encode("utf-8"), folder / REQUIREMENTS)
    return main, requirements
