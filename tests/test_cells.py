"""The one cell-address codec (workbook.formats.cells) and the environment of LibreOffice's processes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl.utils
import pytest

from workbook import libreoffice
from workbook.formats import cells
from workbook.formats.zips import ZipRewriteError, rewrite_members

EDGES = {"A": 1, "Z": 26, "AA": 27, "AZ": 52, "BA": 53, "ZZ": 702, "AAA": 703, "XFD": 16384}


@pytest.mark.parametrize(("letters", "index"), EDGES.items())
def test_columns_round_trip_at_the_edges(letters, index):
    assert cells.column_index(letters) == index
    assert cells.column_index(letters.encode()) == index  # the byte scanners' spelling
    assert cells.column_letters(index) == letters
    assert openpyxl.utils.get_column_letter(index) == letters  # an independent oracle


def test_every_column_round_trips():
    for col in range(1, cells.MAX_COL + 1):
        letters = cells.column_letters(col)
        assert cells.column_index(letters) == col
        assert letters == openpyxl.utils.get_column_letter(col)


@pytest.mark.parametrize("letters", EDGES)
def test_cells_round_trip(letters):
    col = EDGES[letters]
    for row in (1, 7, cells.MAX_ROW):
        plain = f"{letters}{row}"
        assert cells.cell_address(row, col) == plain
        assert cells.cell_address(row, col, absolute=True) == f"${letters}${row}"
        assert cells.parse_address(plain) == (row, col)
        assert cells.parse_address(f"${letters}${row}") == (row, col)
        assert cells.split_cell(plain) == (row, col)


def test_absolute_and_mixed_addresses():
    assert cells.parse_address("$B$7") == (7, 2)
    assert cells.parse_address("B$7") == (7, 2)
    assert cells.parse_address("$b7") == (7, 2)  # any case
    assert cells.parse_address("B7:C9") == (7, 2)  # a range's first cell
    assert cells.cell_address(7, 2, absolute=True) == "$B$7"


def test_ranges():
    assert cells.parse_range("$A$1:C3") == (1, 1, 3, 3)
    assert cells.parse_range("C3:A1") == (1, 1, 3, 3)
    assert cells.parse_range("B7") == (7, 2, 7, 2)
    assert cells.range_address(1, 1, 3, 3) == "A1:C3"
    assert cells.range_address(1, 1, 3, 3, absolute=True) == "$A$1:$C$3"
    assert cells.range_address(7, 2, 7, 2) == "B7"


@pytest.mark.parametrize("bad", ["", "7", "B", "B0x", "ABCD1", "B-1", "B12345678", "表1"])
def test_not_an_address(bad):
    with pytest.raises(ValueError):
        cells.parse_address(bad)


def test_a_sheet_reference_is_spelt_exactly():
    """``split_cell`` reads a sheet part's ``r``: no ``$``, no lower case, no range."""
    for bad in ("$B$7", "b7", "B7:C9"):
        with pytest.raises(ValueError):
            cells.split_cell(bad)
    for bad in ("", "a", "ABCD", "A1"):
        with pytest.raises(ValueError):
            cells.column_index(bad)
    with pytest.raises(ValueError):
        cells.column_letters(0)


def test_the_form_re_exports_the_codec():
    from workbook.form import book

    assert book.parse_address is cells.parse_address
    assert book.cell_address is cells.cell_address


def test_the_codec_imports_nothing_but_the_standard_library():
    """LibreOffice's Python runs a copy of it (``kpi_cells``), and the Excel button imports it."""
    code = (
        "import sys; import workbook.formats.cells; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('openpyxl', 'lxml', 'kpi_engine')); "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- the one zip rewriter ---------------------------------------------------------------------


def test_rewrite_keeps_every_other_member_byte_for_byte(tmp_path):
    src = tmp_path / "a.zip"
    with zipfile.ZipFile(src, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), b"application/x", compress_type=zipfile.ZIP_STORED)
        z.writestr("one.xml", b"<a/>" * 100, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("two.xml", b"<b/>" * 100, compress_type=zipfile.ZIP_DEFLATED)
        z.comment = b"kept"
    data = src.read_bytes()
    out = rewrite_members(data, {"mimetype": b"application/y"}, dropped={"two.xml"})
    with zipfile.ZipFile(src) as before, zipfile.ZipFile(io.BytesIO(out)) as after:
        assert after.namelist() == ["mimetype", "one.xml"]
        assert after.read("mimetype") == b"application/y"
        assert after.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        assert after.read("one.xml") == before.read("one.xml")
        assert after.getinfo("one.xml").compress_size == before.getinfo("one.xml").compress_size
        assert after.comment == b"kept"
        assert after.testzip() is None
    with pytest.raises(ZipRewriteError):
        rewrite_members(data, {"three.xml": b""})


# -- the environment of LibreOffice's processes -------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="PATH order matters on POSIX only")
def test_office_env_puts_the_system_python_first(tmp_path, monkeypatch):
    """A virtual environment's python3 first on PATH must not reach LibreOffice's Python
    (unopkg crashed on the extension's script with a venv active)."""
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    fake = venv_bin / "python3"
    fake.write_text("#!/bin/sh\nexit 97\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", os.pathsep.join([str(venv_bin), os.environ.get("PATH", "")]))
    monkeypatch.setenv("VIRTUAL_ENV", str(venv_bin.parent))
    monkeypatch.setenv("PYTHONHOME", str(venv_bin.parent))
    monkeypatch.delenv("HOME", raising=False)

    env = libreoffice.office_env()
    first = env["PATH"].split(os.pathsep)
    assert first[: len(libreoffice.SYSTEM_BIN)] == list(libreoffice.SYSTEM_BIN)
    assert first.index(str(venv_bin)) > first.index("/usr/bin")
    assert "PYTHONHOME" not in env
    assert env["HOME"]  # LibreOffice needs one
    assert libreoffice.office_env(home="/nonexistent")["HOME"] == "/nonexistent"
    # what a process started the one way finds as python3 (the shell resolves it by PATH)
    found = libreoffice.run(["sh", "-c", "command -v python3 || true"], timeout=30, what="which")
    assert found.stdout.strip() != str(fake)
    if Path("/usr/bin/python3").exists():
        assert found.stdout.strip() == "/usr/bin/python3"


def test_every_libreoffice_process_is_started_the_one_way():
    """soffice (uno.office, convert/recalculate) and unopkg (install_oxt) go through libreoffice.start/run."""
    root = Path(__file__).resolve().parents[1] / "workbook"
    for path in root.rglob("*.py"):
        if path.name == "libreoffice.py":
            continue
        text = path.read_text(encoding="utf-8")
        if "soffice" in text or "unopkg" in text:
            assert "subprocess.Popen(" not in text, path
            assert "subprocess.run(" not in text, path
