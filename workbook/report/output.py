"""Writing a finished document: atomically, never over an input or a non-regular file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from workbook.formats.files import WorkbookFileError, _mode_for, check_writable


def save_atomic_bytes(data: bytes, path: Path) -> Path:
    """Write ``data`` to ``path`` via a temporary file and :func:`os.replace`; the old file survives a failure."""
    path = Path(path)
    check_writable(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.stem}-", suffix=f"{path.suffix}.tmp", dir=path.parent or "."
        )
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise WorkbookFileError(
            f"無法儲存檔案（原檔未變更）：{exc.strerror or exc}",
            f"cannot save (the original is unchanged): {exc}",
            path=path,
        ) from exc
    return path
