"""The buttons' Python bundle: the engine and its pure-Python dependencies in one zip.

A clerk's PC has an office suite and no Python of ours: LibreOffice runs the extension in
its own Python, xlwings Lite runs the script in Pyodide.  Both get this zip on ``sys.path``
(LibreOffice adds ``pythonpath.zip`` beside the extension's component; the Lite script
unpacks it from ``main.py``), so a click runs :mod:`workbook.form.calculate` itself, with the
plan the workbook carries.  The zip holds source only: this package (``kpi_engine``,
``templates``, ``workbook``) and PyYAML without its C extension.  No jsonschema: the plan a
workbook carries is trusted by its fingerprint (:func:`kpi_engine.plan_loader.parse_plan`),
so the schema, and jsonschema's compiled rpds-py, are never needed on a click.  Where a real
package is installed it comes first on ``sys.path`` and wins.  The entries are dated
1980-01-01, so a build is reproducible.
"""

from __future__ import annotations

import importlib.util
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

#: This package's top-level packages, all of them (a click imports only what it needs).
PROJECT = ("kpi_engine", "templates", "workbook")
#: Pure-Python dependencies of a click: the plan a workbook carries is YAML.
THIRD_PARTY = ("yaml",)
#: Only sources and the data files the code reads (the plan schema).
SUFFIXES = (".py", ".json", ".yaml")
SKIP_DIRS = {"__pycache__", "tests", "benchmarks"}
_DATE = (1980, 1, 1, 0, 0, 0)


class BundleError(RuntimeError):
    """A package the bundle needs is not installed where the bundle is built."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise BundleError(f"{name} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _files(name: str) -> Iterator[tuple[str, Path]]:
    root = _package_dir(name)
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and path.suffix in SUFFIXES and not SKIP_DIRS & set(rel.parts[:-1]):
            yield f"{name}/{rel.as_posix()}", path


def members() -> Iterator[tuple[str, bytes]]:
    """(name in the zip, bytes) of everything the bundle holds, in a stable order."""
    for name in (*PROJECT, *THIRD_PARTY):
        for arcname, path in _files(name):
            yield arcname, path.read_bytes()


def bundle_zip() -> bytes:
    """The bundle as zip bytes (deflated; importable with ``zipimport``)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in members():
            info = zipfile.ZipInfo(arcname, _DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return out.getvalue()
