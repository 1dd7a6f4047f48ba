"""The one root of every error this project raises for people to read.

A :class:`KpiError` carries a stable ``code``, its message in zh-TW and in English,
and, when known, the ``path``, ``sheet`` and ``cell`` it is about.  ``str()`` gives
``"where: zh / en"`` (``where`` being path, ``[sheet]`` and cell), so the command line
prints every error the same way, zh-TW first.  Nothing here imports a file format.
"""

from __future__ import annotations

from os import PathLike


class KpiError(Exception):
    """An error with a code and a bilingual message, naming the file, sheet and cell when known.

    ``KpiError(zh, en, path=…, sheet=…, cell=…)`` is the usual form.  Older messages
    are one text written ``"zh / en"``: ``KpiError(text)`` keeps that text as it is and
    splits it at the first ``" / "`` for ``message_zh`` and ``message_en``.
    """

    #: The default code of this class of error; an instance may carry its own.
    code: str = "unusable"

    def __init__(
        self,
        message_zh: str = "",
        message_en: str | None = None,
        *,
        code: str | None = None,
        path: str | PathLike[str] | None = None,
        sheet: str | None = None,
        cell: str | None = None,
    ):
        text = str(message_zh)
        if message_en is None:  # one "zh / en" text
            zh, sep, en = text.partition(" / ")
            message_zh, message_en, body = (zh, en, text) if sep else (text, "", text)
        else:
            body = f"{message_zh} / {message_en}" if message_en else str(message_zh)
        self.message_zh, self.message_en = str(message_zh), str(message_en)
        if code is not None:
            self.code = code
        self.path = str(path) if path is not None else None
        self.sheet, self.cell = sheet, cell
        where = self.where()
        super().__init__(f"{where}: {body}" if where else body)

    def where(self) -> str:
        """The path, ``[sheet]`` and cell this error is about ("" when none is known)."""
        return " ".join(x for x in (self.path, f"[{self.sheet}]" if self.sheet else None, self.cell) if x)
