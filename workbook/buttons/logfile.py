"""The buttons' log file, shared by the Excel button and the LibreOffice macro.

Standard library only: the extension's command logs through it from its bundle, in
LibreOffice's own Python, even before it knows whether the engine can run there.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

LOG_NAME = "kpi-workbook.log"


def log_path() -> Path:
    """Where the buttons write details of what went wrong."""
    base = os.environ.get("LOCALAPPDATA") or tempfile.gettempdir()
    folder = Path(base) / "kpi-workbook"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / LOG_NAME


def log(name: str) -> logging.Logger:
    """The file logger ``name`` writing to :func:`log_path` (one handler, however often asked)."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.FileHandler(log_path(), encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    return logger
