"""Writing a finished document: atomically, never over an input or a non-regular file."""

from __future__ import annotations

from pathlib import Path

from workbook.formats.files import save_atomic


def save_atomic_bytes(data: bytes, path: Path) -> Path:
    """Write ``data`` to ``path`` via a temporary file and :func:`os.replace`; the old file survives a failure.

    The one atomic writer (:func:`workbook.formats.files.save_atomic`): its temporary file
    is removed on any failure, Ctrl-C included, and a full disk says so.
    """
    return save_atomic(data, Path(path))
