"""Write a report in the format its file name asks for: .odt (default), .docx or .pdf."""

from __future__ import annotations

import tempfile
from pathlib import Path

from kpi_engine.report_model import Report
from workbook.report import layout as K
from workbook.report.charts import Chart
from workbook.report.errors import ReportError

FORMATS = (".odt", ".docx", ".pdf")


def write_report(
    report: Report,
    path: str | Path,
    charts: dict[str, list[Chart]] | None = None,
    *,
    font: str | None = None,
    form: str = K.DEFAULT_FORM,
) -> Path:
    """Write ``report`` to ``path``; the suffix picks the format; ``form`` is ``review`` or ``plan``.

    .odt and .docx are set in 標楷體 (``font`` overrides), the font government
    documents use and that Windows has.  A PDF is made here, so it is set in the
    best font this machine has (:func:`layout.rendering_font`), through LibreOffice.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".odt":
        from workbook.report.odt import write_odt

        return write_odt(report, path, charts, font or K.DOCUMENT_FONT, form)
    if suffix == ".docx":
        from workbook.report.docx import write_docx

        return write_docx(report, path, charts, font or K.DOCUMENT_FONT, form)
    if suffix == ".pdf":
        return _pdf(report, path, charts, font or K.rendering_font(), form)
    raise ReportError(f"報告檔須為 .odt、.docx 或 .pdf：{path.name} / the report must be .odt, .docx or .pdf")


def _pdf(report: Report, path: Path, charts: dict[str, list[Chart]] | None, font: str, form: str) -> Path:
    from workbook.libreoffice import LibreOfficeError, convert_to_pdf, find_soffice
    from workbook.report.odt import write_odt

    if find_soffice() is None:
        raise ReportError(
            "產生 PDF 需要 LibreOffice，本機未安裝；請改存 .odt 或 .docx，或安裝 LibreOffice"
            "（Debian/Ubuntu：apt-get install libreoffice-writer） / "
            "a PDF needs LibreOffice, which is not installed; write .odt or .docx instead, or install LibreOffice"
        )
    with tempfile.TemporaryDirectory(prefix="kpi-report-") as tmp:
        odt = write_odt(report, Path(tmp) / "report.odt", charts, font, form)
        try:
            return convert_to_pdf(odt, path)
        except LibreOfficeError as exc:
            raise ReportError(
                f"LibreOffice 無法產生 PDF / LibreOffice could not make the PDF: {exc}"
            ) from None
        except OSError as exc:  # its work folder beside the PDF: name the PDF, not the folder
            from workbook.errors import SAVING, os_error

            raise os_error(exc, path, SAVING) from exc
