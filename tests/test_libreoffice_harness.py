"""Tests for workbook.libreoffice: LibreOffice really recalculates, and is forced to.

openpyxl is used only to build inputs and to read outputs; every computed
value asserted here was produced by LibreOffice.  Tests needing LibreOffice
call ``require_soffice()`` and skip cleanly when it is absent (or fail, with
``KPI_REQUIRE_LIBREOFFICE=1``).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName

from workbook import libreoffice as lo

SHEET = "指標"
GREEN, RED = "綠", "紅"


@pytest.fixture
def soffice() -> str:
    """Path of soffice, or skip (fail under KPI_REQUIRE_LIBREOFFICE=1)."""
    return lo.require_soffice()


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def build_kpi_workbook(path: Path, actual: float = 187, target: float = 210) -> Path:
    """A small KPI sheet: inputs, formulas, a defined name, CJK text results.

    openpyxl stores the formulas with *no* cached values.
    """
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["A1"] = actual
    ws["B1"] = target
    ws["C1"] = "=ROUND(A1*100/B1,2)"  # achievement rate (%)
    # IF / ISNUMBER / MIN / MAX / CHOOSE: clamp to [0, 100], then grade 1..3.
    ws["D1"] = '=IF(ISNUMBER(C1),MIN(MAX(C1,0),100),"")'
    ws["E1"] = '=CHOOSE(IF(D1>=90,1,IF(D1>=Threshold,2,3)),"優","良","待改善")'
    ws["F1"] = f'=IF(C1>=83,"{GREEN}","{RED}")'
    ws["G1"] = "=ROUND(A1/Target*100,1)"  # workbook-scoped name -> cell
    ws["H1"] = '=IF(ISNUMBER(Z1),Z1,"未填")'  # empty input -> text branch
    wb.defined_names["Threshold"] = DefinedName("Threshold", attr_text="83")
    wb.defined_names["Target"] = DefinedName("Target", attr_text=f"'{SHEET}'!$B$1")
    wb.save(path)
    return path


def build_rounding_workbook(path: Path) -> Path:
    """ROUND on exact (decimal) halves, where Excel and Python disagree."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "=ROUND(0.125,2)"
    ws["A2"] = "=ROUND(1.005,2)"
    ws["A3"] = "=ROUND(-2.5,0)"
    ws["A4"] = "=ROUND(2.675,2)"
    ws["A5"] = "=ROUND(2.5,0)"
    wb.save(path)
    return path


def inject_cached_values(path: Path, values: dict[str, str]) -> None:
    """Give formula cells of the first sheet a (wrong) cached ``<v>`` value.

    openpyxl writes formula cells as ``<c r="C1"><f>...</f><v /></c>``; the
    empty ``<v>`` is replaced by ``<v>{value}</v>``.  The zip is rewritten in
    place, member order preserved.
    """
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info.filename)) for info in zin.infolist()]
    patched = []
    for info, data in members:
        if info.filename == sheet:
            xml = data.decode("utf-8")
            for ref, value in values.items():
                pattern = rf'(<c r="{ref}"(?:\s[^>]*)?>)(<f>[^<]*</f>)(?:<v\s*/>|<v>[^<]*</v>)?(</c>)'
                xml, count = re.subn(pattern, rf"\g<1>\g<2><v>{value}</v>\g<3>", xml)
                assert count == 1, f"formula cell {ref} not found in {sheet}"
            data = xml.encode("utf-8")
        patched.append((info, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in patched:
            zout.writestr(info, data)


def values(path: Path, *refs: str, sheet: str | None = None) -> list[object]:
    """Cached values of *refs*, as openpyxl reads them (``data_only=True``)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb[sheet] if sheet else wb.active
    return [ws[ref].value for ref in refs]


# --------------------------------------------------------------------------
# 1. openpyxl output (no cached values) gets LibreOffice's results
# --------------------------------------------------------------------------


def test_recalculate_fills_values_of_openpyxl_formulas(soffice: str, tmp_path: Path) -> None:
    src = build_kpi_workbook(tmp_path / "kpi.xlsx")
    assert values(src, "C1", "F1", sheet=SHEET) == [None, None]  # openpyxl computes nothing

    dst = lo.recalculate(src, tmp_path / "out" / "kpi.recalc.xlsx")

    assert dst == tmp_path / "out" / "kpi.recalc.xlsx"
    c1, d1, e1, f1, g1, h1 = values(dst, "C1", "D1", "E1", "F1", "G1", "H1", sheet=SHEET)
    assert c1 == 89.05  # 187*100/210 = 89.0476...
    assert d1 == 89.05
    assert e1 == "良"  # 83 <= 89.05 < 90, via the Threshold name
    assert f1 == GREEN
    assert g1 == 89.0  # via the Target name
    assert h1 == "未填"

    # The formulas and the defined names survive the round trip.
    wb = openpyxl.load_workbook(dst)
    assert wb[SHEET]["C1"].value == "=ROUND(A1*100/B1,2)"
    assert {"Threshold", "Target"} <= set(wb.defined_names)
    # No lock file or temp dir left beside the source or the output.
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["kpi.recalc.xlsx", "kpi.xlsx", "out"]


def test_recalculate_red_branch_and_in_place(soffice: str, tmp_path: Path) -> None:
    """src == dst is allowed (atomic replace); the other IF branch is taken."""
    path = build_kpi_workbook(tmp_path / "kpi.xlsx", actual=150, target=210)
    lo.recalculate(path, path)
    assert values(path, "C1", "E1", "F1", sheet=SHEET) == [71.43, "待改善", RED]


# --------------------------------------------------------------------------
# 2. stale cached values are NOT trusted: OOXMLRecalcMode=0 works
# --------------------------------------------------------------------------


def _stale_workbook(tmp_path: Path) -> Path:
    src = build_kpi_workbook(tmp_path / "stale.xlsx")
    # C1 and its dependant D1 carry a wrong cached value; F1 (also dependent
    # on C1) has none.
    inject_cached_values(src, {"C1": "999", "D1": "999"})
    assert values(src, "C1", "D1", sheet=SHEET) == [999, 999]  # the lie is really there
    return src


def test_stale_cached_value_is_recomputed(soffice: str, tmp_path: Path) -> None:
    src = _stale_workbook(tmp_path)
    dst = lo.recalculate(src, tmp_path / "fresh.xlsx")
    assert values(dst, "C1", "D1", "F1", sheet=SHEET) == [89.05, 89.05, GREEN]


def test_control_without_recalc_setting_stale_value_survives(
    soffice: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control experiment: the profile setting is what forces recalculation.

    With a profile that does not set OOXMLRecalcMode (LibreOffice's default is
    1 = never recalculate files that claim to come from Excel, which openpyxl's
    docProps/app.xml does), LibreOffice keeps the stale 999.  If this ever
    stops holding, the stale-cache test above no longer proves anything.
    """
    neutral = re.sub(r"<item .*?</item>\n?", "", lo.RECALC_XCU, flags=re.DOTALL)
    assert "RecalcMode" not in neutral
    monkeypatch.setattr(lo, "RECALC_XCU", neutral)
    src = _stale_workbook(tmp_path)
    dst = lo.recalculate(src, tmp_path / "not-forced.xlsx")
    assert values(dst, "C1", sheet=SHEET) == [999]


def test_rounding_of_exact_halves_is_excel_style(soffice: str, tmp_path: Path) -> None:
    # Results of LibreOffice 7.4.7.2 (Debian 12), which match Excel:
    #   ROUND(0.125,2) -> 0.13   (Python round: 0.12, half-to-even)
    #   ROUND(1.005,2) -> 1.01   (Python round: 1.0, 1.005 is 1.00499999... in binary)
    #   ROUND(-2.5,0)  -> -3     (half away from zero; Python round: -2)
    #   ROUND(2.675,2) -> 2.68   (Python round: 2.67, 2.675 is 2.67499999... in binary)
    #   ROUND(2.5,0)   -> 3      (Python round: 2)
    # LibreOffice rounds the decimal value as shown (rtl::math::round snaps
    # near-halves), so Python's round() must not be used to predict these.
    src = build_rounding_workbook(tmp_path / "round.xlsx")
    inject_cached_values(src, {"A1": "999", "A4": "999"})
    dst = lo.recalculate(src, tmp_path / "round.out.xlsx")
    assert values(dst, "A1", "A2", "A3", "A4", "A5") == [0.13, 1.01, -3, 2.68, 3]


# --------------------------------------------------------------------------
# 3. parallel workers: one private profile each
# --------------------------------------------------------------------------


def test_parallel_recalculations_use_distinct_profiles(soffice: str, tmp_path: Path) -> None:
    jobs = {
        "a": (187, 210, 89.05, GREEN),
        "b": (150, 210, 71.43, RED),
        "c": (210, 210, 100.0, GREEN),
    }
    srcs = {k: build_kpi_workbook(tmp_path / f"{k}.xlsx", a, t) for k, (a, t, *_) in jobs.items()}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {k: pool.submit(lo.recalculate, src, tmp_path / f"{k}.out.xlsx") for k, src in srcs.items()}
        results = {k: f.result(timeout=300) for k, f in futures.items()}
    for key, (_, _, rate, light) in jobs.items():
        assert values(results[key], "C1", "F1", sheet=SHEET) == [rate, light], key


def test_parallel_recalculations_of_the_same_source(soffice: str, tmp_path: Path) -> None:
    src = _stale_workbook(tmp_path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        outs = list(pool.map(lambda i: lo.recalculate(src, tmp_path / f"same{i}.xlsx"), [0, 1]))
    for out in outs:
        assert values(out, "C1", "F1", sheet=SHEET) == [89.05, GREEN]


# --------------------------------------------------------------------------
# 4. rendering: PDF, then PNG pages
# --------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_pdf_and_png_rendering(soffice: str, tmp_path: Path) -> None:
    lo.require_pdftoppm()
    src = _stale_workbook(tmp_path)  # the PDF must show recomputed values too
    pdf = lo.convert_to_pdf(src, tmp_path / "kpi.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"

    pdftotext = shutil.which("pdftotext")
    if pdftotext:  # shipped with pdftoppm in poppler-utils
        text = subprocess.run(
            [pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "89.05" in text
        assert "999" not in text
        assert GREEN in text  # the CJK glyph made it into the PDF text layer

    pngs = lo.pdf_to_pngs(pdf, tmp_path / "png" / "kpi", dpi=80)
    assert len(pngs) >= 1
    assert pngs[0].name == "kpi-1.png"
    width, height = _png_size(pngs[0])
    assert width > 100 and height > 100  # A4 at 80 dpi is about 661 x 935

    # A second run returns only its own pages, even with files already there.
    again = lo.pdf_to_pngs(pdf, tmp_path / "png" / "kpi", dpi=40)
    assert [p.name for p in again] == [p.name for p in pngs]
    assert _png_size(again[0])[0] < width


# --------------------------------------------------------------------------
# failures
# --------------------------------------------------------------------------


def test_unloadable_file_raises_and_keeps_existing_dst(soffice: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"this is not a workbook")
    dst = tmp_path / "dst.xlsx"
    dst.write_bytes(b"previous good output")
    # soffice exits 0 here; the missing output file is what reveals the failure.
    with pytest.raises(lo.LibreOfficeError, match="failed to convert") as info:
        lo.recalculate(bad, dst)
    # What LibreOffice prints depends on its installed modules: Calc alone says the file
    # "could not be loaded"; with Writer installed it opens the text in Writer and the Calc
    # export filter aborts. Either way its own words reach the error.
    stderr = info.value.stderr
    assert "could not be loaded" in stderr or "Application Error" in stderr, stderr
    assert dst.read_bytes() == b"previous good output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx", "dst.xlsx"]


def test_timeout_raises(soffice: str, tmp_path: Path) -> None:
    src = build_kpi_workbook(tmp_path / "kpi.xlsx")
    with pytest.raises(lo.LibreOfficeError, match="timed out") as info:
        lo.recalculate(src, tmp_path / "never.xlsx", timeout=0.2)
    assert info.value.returncode is None
    assert not (tmp_path / "never.xlsx").exists()


def test_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported format"):
        lo.recalculate(tmp_path / "x.xlsx", tmp_path / "y.csv", fmt="csv")
    with pytest.raises(FileNotFoundError):
        lo.recalculate(tmp_path / "missing.xlsx", tmp_path / "y.xlsx")
    with pytest.raises(FileNotFoundError):
        lo.pdf_to_pngs(tmp_path / "missing.pdf", tmp_path / "p")


# --------------------------------------------------------------------------
# require_soffice(): skip normally, fail when LibreOffice is mandatory
# --------------------------------------------------------------------------


def test_require_soffice_skips_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lo, "find_soffice", lambda: None)
    monkeypatch.delenv("KPI_REQUIRE_LIBREOFFICE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install libreoffice-calc-nogui"):
        lo.require_soffice()


def test_require_soffice_fails_when_mandatory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lo, "find_soffice", lambda: None)
    monkeypatch.setenv("KPI_REQUIRE_LIBREOFFICE", "1")
    with pytest.raises(pytest.fail.Exception, match="not installed"):
        lo.require_soffice()


def test_require_soffice_returns_path_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lo, "find_soffice", lambda: "/opt/lo/soffice")
    assert lo.require_soffice() == "/opt/lo/soffice"


def test_recalc_profile_settings() -> None:
    """The seeded registry file names the documented Calc load options."""
    xcu = lo.RECALC_XCU
    for prop in ("OOXMLRecalcMode", "ODFRecalcMode"):
        assert re.search(
            r'<item oor:path="/org\.openoffice\.Office\.Calc/Formula/Load">'
            rf'<prop oor:name="{prop}" oor:op="fuse"><value>0</value></prop></item>',
            xcu,
        ), prop
